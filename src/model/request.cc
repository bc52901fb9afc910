#include "model/request.h"

#include "common/uuid.h"

namespace orb {

std::string_view RequestKindName(RequestKind k) {
  return k == RequestKind::kAcquire ? "acquire" : "return";
}

std::optional<RequestKind> ParseRequestKind(std::string_view name) {
  if (name == "acquire") return RequestKind::kAcquire;
  if (name == "return") return RequestKind::kReturn;
  return std::nullopt;
}

std::string_view RequestIdPrefix(RequestKind k) {
  return k == RequestKind::kAcquire ? "req-" : "ret-";
}

std::optional<RequestKind> KindOfRequestId(std::string_view id) {
  if (id.size() > 4 && id.substr(0, 4) == "req-") return RequestKind::kAcquire;
  if (id.size() > 4 && id.substr(0, 4) == "ret-") return RequestKind::kReturn;
  return std::nullopt;
}

std::string NewRequestId(RequestKind k) {
  return std::string(RequestIdPrefix(k)) + NewUuid();
}

std::string_view RequestStatusName(RequestStatus s) {
  switch (s) {
    case RequestStatus::kRunning: return "running";
    case RequestStatus::kComplete: return "complete";
    case RequestStatus::kCompleteWithError: return "complete_with_error";
  }
  return "complete_with_error";
}

std::optional<RequestStatus> ParseRequestStatus(std::string_view name) {
  for (RequestStatus s : kAllRequestStatuses) {
    if (RequestStatusName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsTerminal(RequestStatus s) { return s != RequestStatus::kRunning; }

std::string_view LaunchStateName(LaunchState s) {
  switch (s) {
    case LaunchState::kIntent: return "intent";
    case LaunchState::kSubmitted: return "submitted";
    case LaunchState::kSettled: return "settled";
  }
  return "intent";
}

std::optional<LaunchState> ParseLaunchState(std::string_view name) {
  for (LaunchState s : {LaunchState::kIntent, LaunchState::kSubmitted, LaunchState::kSettled}) {
    if (LaunchStateName(s) == name) return s;
  }
  return std::nullopt;
}

void Tally(RequestProgress& progress, MachineResult result, int weight) {
  switch (result) {
    case MachineResult::kExecuting: ++progress.executing; break;
    case MachineResult::kSucceed: progress.succeeded_units += weight; break;
    case MachineResult::kFail: ++progress.failed; break;
  }
}

RequestStatus DecideRequestStatus(RequestKind kind, RequestStatus current,
                                  const RequestProgress& p) {
  if (IsTerminal(current)) return current;
  if (p.executing > 0) return RequestStatus::kRunning;
  if (kind == RequestKind::kReturn) {
    return p.failed > 0 ? RequestStatus::kCompleteWithError : RequestStatus::kComplete;
  }
  if (p.failed == 0 && p.succeeded_units >= p.requested_units && p.requested_units > 0) {
    return RequestStatus::kComplete;
  }
  if (p.launch_state != LaunchState::kSettled && !p.expired) return RequestStatus::kRunning;
  return RequestStatus::kCompleteWithError;
}

std::optional<std::string> WhyNotCancelable(const Request& request) {
  if (request.kind != RequestKind::kAcquire) {
    return "request " + request.request_id +
           " is a return request: only an acquire request can be canceled";
  }
  if (IsTerminal(request.status)) {
    return "request " + request.request_id + " has already ended (" +
           std::string(RequestStatusName(request.status)) + "); return its machines instead";
  }
  return std::nullopt;
}

}  // namespace orb
