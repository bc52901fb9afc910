#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "model/machine.h"

namespace orb {

// Acquire ("req-...") asks for machines; return ("ret-...") gives them back.
enum class RequestKind { kAcquire, kReturn };

// "acquire" or "return".
std::string_view RequestKindName(RequestKind k);

// Parses "acquire"/"return"; nullopt otherwise.
std::optional<RequestKind> ParseRequestKind(std::string_view name);

// Returns the id prefix of a kind: "req-" or "ret-".
std::string_view RequestIdPrefix(RequestKind k);

// The kind an id names by its prefix, or nullopt for an id of neither form.
std::optional<RequestKind> KindOfRequestId(std::string_view id);

// Returns a new unique request id of the given kind ("req-<uuid>" / "ret-<uuid>").
std::string NewRequestId(RequestKind k);

// HostFactory's request `status`. Only kRunning can change; the other two are
// terminal and sticky.
enum class RequestStatus { kRunning, kComplete, kCompleteWithError };

// Every RequestStatus, for table-driven code and tests.
inline constexpr std::array<RequestStatus, 3> kAllRequestStatuses = {
    RequestStatus::kRunning, RequestStatus::kComplete, RequestStatus::kCompleteWithError};

// "running", "complete" or "complete_with_error".
std::string_view RequestStatusName(RequestStatus s);

// Parses a RequestStatusName; nullopt otherwise.
std::optional<RequestStatus> ParseRequestStatus(std::string_view name);

// True for kComplete and kCompleteWithError.
bool IsTerminal(RequestStatus s);

// Where the cloud side of an acquire request stands.
enum class LaunchState {
  kIntent,     // intent and idempotency token recorded; the launch call may not be sent yet
  kSubmitted,  // the cloud accepted the launch; more machines may still appear
  kSettled,    // the cloud will add no more machines (all launched, or it gave up)
};

// "intent", "submitted" or "settled".
std::string_view LaunchStateName(LaunchState s);

// Parses a LaunchStateName; nullopt otherwise.
std::optional<LaunchState> ParseLaunchState(std::string_view name);

// Request::acknowledged_at of a request the reconciler abandoned.
inline constexpr EpochSeconds kAbandoned = -1;

// One acquire or return request. Plain data; the store keeps it and the broker
// decides its fields.

struct Request {
  std::string request_id;  // "req-<uuid>" or "ret-<uuid>"
  RequestKind kind = RequestKind::kAcquire;
  std::string template_id;    // acquire only
  std::string provider_name;  // provider instance, e.g. "awsinst"
  int requested_count = 0;    // acquire: capacity units asked for; return: machines given
  RequestStatus status = RequestStatus::kRunning;
  LaunchState launch_state = LaunchState::kIntent;  // acquire only
  std::string client_token;    // idempotency token sent with the launch call
  std::string message;         // news for the user (errors, reasons)
  EpochSeconds created_at = 0;
  EpochSeconds updated_at = 0;
  EpochSeconds deadline = 0;   // after this the broker expires it; 0 = none
  std::string provider_data;   // provider's own JSON (fleet ids, launch body), opaque here
  // When a caller was told the request's id: the call that created it answered, or a
  // status call named it. 0 = never (the creating process died first); kAbandoned =
  // the reconciler gave its machines back because nobody knows the request.
  EpochSeconds acknowledged_at = 0;
  long long version = 0;       // optimistic-concurrency counter kept by the store
};

// What a request's machines add up to, the input of DecideRequestStatus.
struct RequestProgress {
  int requested_units = 0;  // acquire: units asked for (ignored for return)
  int succeeded_units = 0;  // sum of weights of machines whose result is kSucceed
  int executing = 0;        // machines whose result is kExecuting
  int failed = 0;           // machines whose result is kFail
  LaunchState launch_state = LaunchState::kIntent;  // acquire only
  bool expired = false;     // the request's deadline has passed
};

// Adds one machine's result (for its request's kind) to a progress tally.
void Tally(RequestProgress& progress, MachineResult result, int weight);

// Decides a request's status from its current status and its machines.
//
// Terminal statuses are sticky: a kComplete or kCompleteWithError `current` is
// returned unchanged. A request is never terminal while any machine is executing
// (machines still booting would be orphaned), even when expired: the broker must
// first fail or terminate them.
// Acquire: kComplete once succeeded units reach the requested units with no
// failure; otherwise kRunning while the launch is not settled and not expired;
// then kCompleteWithError (fewer machines than asked, or failures).
// Return: kComplete when every machine succeeded, kCompleteWithError when any
// failed, once none is executing.
RequestStatus DecideRequestStatus(RequestKind kind, RequestStatus current,
                                  const RequestProgress& progress);

// Why `request` cannot be canceled, for the caller to read ("request <id> is a return
// request: ..." or "... has already ended (<status>); return its machines instead"),
// or nullopt when it can: only an acquire request that has not ended. The one rule
// behind a cancel and its dry run.
std::optional<std::string> WhyNotCancelable(const Request& request);

}  // namespace orb
