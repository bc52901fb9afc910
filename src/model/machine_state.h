#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace orb {

// The life of one cloud machine as orb tracks it. The first six are the EC2
// instance states; kFailed is orb's own verdict for a machine that will never be
// usable (launch error, died while booting, boot timeout); kGone is a machine the
// cloud no longer knows at all (describe answers "not found" past the grace period).
enum class MachineState {
  kPending,
  kRunning,
  kStopping,
  kStopped,
  kShuttingDown,
  kTerminated,
  kFailed,
  kGone,
};

// Every MachineState, for table-driven code and tests.
inline constexpr std::array<MachineState, 8> kAllMachineStates = {
    MachineState::kPending,  MachineState::kRunning,      MachineState::kStopping,
    MachineState::kStopped,  MachineState::kShuttingDown, MachineState::kTerminated,
    MachineState::kFailed,   MachineState::kGone};

// The wire name of a state, as HostFactory shows it in a machine's `status`
// ("pending", "running", "shutting-down", "terminated", "failed", "gone", ...).
std::string_view MachineStateName(MachineState s);

// Parses a wire name (also the EC2 spellings "shutting-down"/"shutting_down").
// Returns nullopt for anything else.
std::optional<MachineState> ParseMachineState(std::string_view name);

// True when the machine can never run again (terminated, failed, gone).
bool IsFinalMachineState(MachineState s);

// HostFactory's per-machine `result` in getRequestStatus.
enum class MachineResult { kExecuting, kSucceed, kFail };

// Every MachineResult, for table-driven code and tests.
inline constexpr std::array<MachineResult, 3> kAllMachineResults = {
    MachineResult::kExecuting, MachineResult::kSucceed, MachineResult::kFail};

// "executing", "succeed" or "fail".
std::string_view MachineResultName(MachineResult r);

// Parses "executing"/"succeed"/"fail"; nullopt otherwise.
std::optional<MachineResult> ParseMachineResult(std::string_view name);

// The result of a machine within its acquire (create) request.
//
// `previous` is the result last reported for this machine in this request.
// Results are sticky: once kSucceed or kFail was reported, it is reported again
// whatever the machine does later (a host HostFactory took stays taken; its later
// loss is reported by getReturnRequests, not by rewriting history).
// Otherwise: kSucceed once the machine is running and `addressable` (it has its
// host name and private IP); kExecuting while pending, or running but not yet
// addressable; kFail once it stopped, is shutting down, terminated, failed or gone
// before it ever succeeded.
MachineResult AcquireResult(MachineState state, bool addressable, MachineResult previous);

// The result of a machine within its return request.
//
// Sticky like AcquireResult. kSucceed once the machine is in a final state
// (terminated, failed or gone: a machine the cloud no longer knows is returned);
// kFail when `terminate_refused` (the cloud refused to terminate it for a reason
// retrying cannot fix, e.g. termination protection) and it is not yet final;
// kExecuting otherwise (still running, stopping or shutting down).
MachineResult ReturnResult(MachineState state, bool terminate_refused, MachineResult previous);

}  // namespace orb
