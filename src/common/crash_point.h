#pragma once

// Crash points: named places in the acquire and return protocols where the fault
// campaign kills the process, exactly as `kill -9` at that moment would.
//
// The environment variable ORB_CRASH_AT names one point, optionally with the hit
// to crash on: `ORB_CRASH_AT=acquire.after_answer` or `ORB_CRASH_AT=aws.answered.RunInstances:2`
// (the second time that point is reached). Unset, a crash point costs one branch.
// Operators never set it; the reliability tests do (docs/reliability.md lists the
// points).

#include <string_view>

namespace orb {

// Kills this process with SIGKILL when ORB_CRASH_AT names `point` and this is the
// hit it names; otherwise returns at once.
void CrashPoint(std::string_view point);

}  // namespace orb
