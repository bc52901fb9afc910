#include "model/machine_state.h"

#include <gtest/gtest.h>

namespace orb {
namespace {

using S = MachineState;
using R = MachineResult;

TEST(MachineStateTest, NamesRoundTrip) {
  for (S s : kAllMachineStates) {
    auto parsed = ParseMachineState(MachineStateName(s));
    ASSERT_TRUE(parsed.has_value()) << MachineStateName(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(MachineStateName(S::kShuttingDown), "shutting-down");
  EXPECT_EQ(ParseMachineState("shutting_down"), S::kShuttingDown);
  EXPECT_FALSE(ParseMachineState("Running").has_value());
  EXPECT_FALSE(ParseMachineState("").has_value());
}

TEST(MachineStateTest, ResultNamesRoundTrip) {
  EXPECT_EQ(MachineResultName(R::kExecuting), "executing");
  EXPECT_EQ(MachineResultName(R::kSucceed), "succeed");
  EXPECT_EQ(MachineResultName(R::kFail), "fail");
  for (R r : kAllMachineResults) EXPECT_EQ(ParseMachineResult(MachineResultName(r)), r);
  EXPECT_FALSE(ParseMachineResult("success").has_value());
}

TEST(MachineStateTest, FinalStates) {
  for (S s : kAllMachineStates) {
    bool expected = s == S::kTerminated || s == S::kFailed || s == S::kGone;
    EXPECT_EQ(IsFinalMachineState(s), expected) << MachineStateName(s);
  }
}

// The acquire rule for a machine that has not been reported yet, written out
// row by row: (state, addressable) -> result.
struct AcquireRow {
  S state;
  bool addressable;
  R expected;
};

const AcquireRow kAcquireTable[] = {
    {S::kPending, false, R::kExecuting},     {S::kPending, true, R::kExecuting},
    {S::kRunning, false, R::kExecuting},     {S::kRunning, true, R::kSucceed},
    {S::kStopping, false, R::kFail},         {S::kStopping, true, R::kFail},
    {S::kStopped, false, R::kFail},          {S::kStopped, true, R::kFail},
    {S::kShuttingDown, false, R::kFail},     {S::kShuttingDown, true, R::kFail},
    {S::kTerminated, false, R::kFail},       {S::kTerminated, true, R::kFail},
    {S::kFailed, false, R::kFail},           {S::kFailed, true, R::kFail},
    {S::kGone, false, R::kFail},             {S::kGone, true, R::kFail},
};

TEST(AcquireResultTest, TableCoversEveryStateAndIsObeyed) {
  int rows = 0;
  for (S s : kAllMachineStates) {
    for (bool addressable : {false, true}) {
      bool found = false;
      for (const AcquireRow& row : kAcquireTable) {
        if (row.state != s || row.addressable != addressable) continue;
        found = true;
        ++rows;
        EXPECT_EQ(AcquireResult(s, addressable, R::kExecuting), row.expected)
            << MachineStateName(s) << " addressable=" << addressable;
      }
      EXPECT_TRUE(found) << "no table row for " << MachineStateName(s);
    }
  }
  EXPECT_EQ(rows, 16);
}

TEST(AcquireResultTest, ReportedResultsAreStickyWhateverHappensNext) {
  for (R previous : {R::kSucceed, R::kFail}) {
    for (S s : kAllMachineStates) {
      for (bool addressable : {false, true}) {
        EXPECT_EQ(AcquireResult(s, addressable, previous), previous)
            << MachineStateName(s) << " after " << MachineResultName(previous);
      }
    }
  }
}

// Every pair of observed states (first poll, second poll): the second poll
// reports what the first decided once it was decided, else what the second says.
TEST(AcquireResultTest, EveryPairOfSuccessiveStates) {
  for (S first : kAllMachineStates) {
    for (S second : kAllMachineStates) {
      R after_first = AcquireResult(first, true, R::kExecuting);
      R after_second = AcquireResult(second, true, after_first);
      if (after_first != R::kExecuting) {
        EXPECT_EQ(after_second, after_first)
            << MachineStateName(first) << " -> " << MachineStateName(second);
      } else {
        EXPECT_EQ(after_second, AcquireResult(second, true, R::kExecuting))
            << MachineStateName(first) << " -> " << MachineStateName(second);
      }
    }
  }
  // The cases that matter most, spelled out: a spot host lost after HostFactory
  // took it stays "succeed"; one that died while booting is "fail" for good.
  EXPECT_EQ(AcquireResult(S::kTerminated, true, AcquireResult(S::kRunning, true, R::kExecuting)),
            R::kSucceed);
  EXPECT_EQ(AcquireResult(S::kRunning, true, AcquireResult(S::kTerminated, false, R::kExecuting)),
            R::kFail);
}

struct ReturnRow {
  S state;
  bool refused;
  R expected;
};

const ReturnRow kReturnTable[] = {
    {S::kPending, false, R::kExecuting},      {S::kPending, true, R::kFail},
    {S::kRunning, false, R::kExecuting},      {S::kRunning, true, R::kFail},
    {S::kStopping, false, R::kExecuting},     {S::kStopping, true, R::kFail},
    {S::kStopped, false, R::kExecuting},      {S::kStopped, true, R::kFail},
    {S::kShuttingDown, false, R::kExecuting}, {S::kShuttingDown, true, R::kFail},
    {S::kTerminated, false, R::kSucceed},     {S::kTerminated, true, R::kSucceed},
    {S::kFailed, false, R::kSucceed},         {S::kFailed, true, R::kSucceed},
    {S::kGone, false, R::kSucceed},           {S::kGone, true, R::kSucceed},
};

TEST(ReturnResultTest, TableCoversEveryStateAndIsObeyed) {
  int rows = 0;
  for (S s : kAllMachineStates) {
    for (bool refused : {false, true}) {
      for (const ReturnRow& row : kReturnTable) {
        if (row.state != s || row.refused != refused) continue;
        ++rows;
        EXPECT_EQ(ReturnResult(s, refused, R::kExecuting), row.expected)
            << MachineStateName(s) << " refused=" << refused;
      }
    }
  }
  EXPECT_EQ(rows, 16);
}

TEST(ReturnResultTest, ReportedResultsAreSticky) {
  for (R previous : {R::kSucceed, R::kFail}) {
    for (S s : kAllMachineStates) {
      for (bool refused : {false, true}) {
        EXPECT_EQ(ReturnResult(s, refused, previous), previous) << MachineStateName(s);
      }
    }
  }
}

TEST(ReturnResultTest, EveryPairOfSuccessiveStates) {
  for (S first : kAllMachineStates) {
    for (S second : kAllMachineStates) {
      R after_first = ReturnResult(first, false, R::kExecuting);
      R after_second = ReturnResult(second, false, after_first);
      R expected = after_first != R::kExecuting ? after_first
                                                : ReturnResult(second, false, R::kExecuting);
      EXPECT_EQ(after_second, expected)
          << MachineStateName(first) << " -> " << MachineStateName(second);
    }
  }
  // Once terminated, a return stays succeeded even if a stale describe says running.
  EXPECT_EQ(ReturnResult(S::kRunning, false, ReturnResult(S::kTerminated, false, R::kExecuting)),
            R::kSucceed);
}

}  // namespace
}  // namespace orb
