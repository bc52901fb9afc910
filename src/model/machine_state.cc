#include "model/machine_state.h"

namespace orb {

std::string_view MachineStateName(MachineState s) {
  switch (s) {
    case MachineState::kPending: return "pending";
    case MachineState::kRunning: return "running";
    case MachineState::kStopping: return "stopping";
    case MachineState::kStopped: return "stopped";
    case MachineState::kShuttingDown: return "shutting-down";
    case MachineState::kTerminated: return "terminated";
    case MachineState::kFailed: return "failed";
    case MachineState::kGone: return "gone";
  }
  return "failed";
}

std::optional<MachineState> ParseMachineState(std::string_view name) {
  for (MachineState s : kAllMachineStates) {
    if (MachineStateName(s) == name) return s;
  }
  if (name == "shutting_down") return MachineState::kShuttingDown;
  return std::nullopt;
}

bool IsFinalMachineState(MachineState s) {
  return s == MachineState::kTerminated || s == MachineState::kFailed || s == MachineState::kGone;
}

std::string_view MachineResultName(MachineResult r) {
  switch (r) {
    case MachineResult::kExecuting: return "executing";
    case MachineResult::kSucceed: return "succeed";
    case MachineResult::kFail: return "fail";
  }
  return "fail";
}

std::optional<MachineResult> ParseMachineResult(std::string_view name) {
  for (MachineResult r : kAllMachineResults) {
    if (MachineResultName(r) == name) return r;
  }
  return std::nullopt;
}

MachineResult AcquireResult(MachineState state, bool addressable, MachineResult previous) {
  if (previous != MachineResult::kExecuting) return previous;
  switch (state) {
    case MachineState::kPending:
      return MachineResult::kExecuting;
    case MachineState::kRunning:
      return addressable ? MachineResult::kSucceed : MachineResult::kExecuting;
    case MachineState::kStopping:
    case MachineState::kStopped:
    case MachineState::kShuttingDown:
    case MachineState::kTerminated:
    case MachineState::kFailed:
    case MachineState::kGone:
      return MachineResult::kFail;
  }
  return MachineResult::kFail;
}

MachineResult ReturnResult(MachineState state, bool terminate_refused, MachineResult previous) {
  if (previous != MachineResult::kExecuting) return previous;
  if (IsFinalMachineState(state)) return MachineResult::kSucceed;
  return terminate_refused ? MachineResult::kFail : MachineResult::kExecuting;
}

}  // namespace orb
