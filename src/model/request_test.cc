#include "model/request.h"

#include <gtest/gtest.h>

#include <set>

namespace orb {
namespace {

using St = RequestStatus;

TEST(RequestIdTest, KindsAndPrefixes) {
  std::string req = NewRequestId(RequestKind::kAcquire);
  std::string ret = NewRequestId(RequestKind::kReturn);
  EXPECT_EQ(req.substr(0, 4), "req-");
  EXPECT_EQ(ret.substr(0, 4), "ret-");
  EXPECT_EQ(req.size(), 4u + 36u);
  EXPECT_EQ(KindOfRequestId(req), RequestKind::kAcquire);
  EXPECT_EQ(KindOfRequestId(ret), RequestKind::kReturn);
  EXPECT_FALSE(KindOfRequestId("req-").has_value());
  EXPECT_FALSE(KindOfRequestId("i-0123").has_value());
  EXPECT_FALSE(KindOfRequestId("").has_value());
}

TEST(RequestIdTest, IdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(NewRequestId(RequestKind::kAcquire));
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(RequestStatusTest, NamesRoundTrip) {
  EXPECT_EQ(RequestStatusName(St::kRunning), "running");
  EXPECT_EQ(RequestStatusName(St::kComplete), "complete");
  EXPECT_EQ(RequestStatusName(St::kCompleteWithError), "complete_with_error");
  for (St s : kAllRequestStatuses) EXPECT_EQ(ParseRequestStatus(RequestStatusName(s)), s);
  EXPECT_FALSE(ParseRequestStatus("completed").has_value());
  EXPECT_FALSE(IsTerminal(St::kRunning));
  EXPECT_TRUE(IsTerminal(St::kComplete));
  EXPECT_TRUE(IsTerminal(St::kCompleteWithError));
  for (LaunchState l : {LaunchState::kIntent, LaunchState::kSubmitted, LaunchState::kSettled}) {
    EXPECT_EQ(ParseLaunchState(LaunchStateName(l)), l);
  }
  EXPECT_EQ(ParseRequestKind("acquire"), RequestKind::kAcquire);
  EXPECT_EQ(ParseRequestKind("return"), RequestKind::kReturn);
  EXPECT_FALSE(ParseRequestKind("create").has_value());
}

TEST(TallyTest, CountsUnitsAndMachines) {
  RequestProgress p;
  Tally(p, MachineResult::kSucceed, 4);
  Tally(p, MachineResult::kSucceed, 1);
  Tally(p, MachineResult::kExecuting, 2);
  Tally(p, MachineResult::kFail, 8);
  EXPECT_EQ(p.succeeded_units, 5);
  EXPECT_EQ(p.executing, 1);
  EXPECT_EQ(p.failed, 1);
}

RequestProgress Acquire(int requested, int succeeded, int executing, int failed,
                        LaunchState launch, bool expired = false) {
  RequestProgress p;
  p.requested_units = requested;
  p.succeeded_units = succeeded;
  p.executing = executing;
  p.failed = failed;
  p.launch_state = launch;
  p.expired = expired;
  return p;
}

struct AcquireCase {
  const char* what;
  RequestProgress progress;
  St expected;
};

TEST(DecideRequestStatusTest, AcquireTable) {
  using L = LaunchState;
  const AcquireCase cases[] = {
      {"intent only, nothing launched yet", Acquire(3, 0, 0, 0, L::kIntent), St::kRunning},
      {"submitted, no machine visible yet", Acquire(3, 0, 0, 0, L::kSubmitted), St::kRunning},
      {"some booting", Acquire(3, 1, 2, 0, L::kSubmitted), St::kRunning},
      {"all booting, settled", Acquire(3, 0, 3, 0, L::kSettled), St::kRunning},
      {"all succeeded", Acquire(3, 3, 0, 0, L::kSettled), St::kComplete},
      {"all succeeded before settle", Acquire(3, 3, 0, 0, L::kSubmitted), St::kComplete},
      {"weighted overshoot", Acquire(3, 4, 0, 0, L::kSettled), St::kComplete},
      {"fewer than asked, settled", Acquire(3, 2, 0, 0, L::kSettled), St::kCompleteWithError},
      {"fewer than asked, still launching", Acquire(3, 2, 0, 0, L::kSubmitted), St::kRunning},
      {"a failure, rest succeeded", Acquire(3, 3, 0, 1, L::kSettled), St::kCompleteWithError},
      {"a failure while others boot", Acquire(3, 1, 1, 1, L::kSettled), St::kRunning},
      {"launch failed outright", Acquire(3, 0, 0, 0, L::kSettled), St::kCompleteWithError},
      {"expired, nothing booting", Acquire(3, 1, 0, 0, L::kSubmitted, true),
       St::kCompleteWithError},
      {"expired but a machine still boots", Acquire(3, 1, 1, 0, L::kSubmitted, true),
       St::kRunning},
      {"expired with everything done", Acquire(3, 3, 0, 0, L::kSubmitted, true), St::kComplete},
      {"zero units requested", Acquire(0, 0, 0, 0, L::kSettled), St::kCompleteWithError},
  };
  for (const AcquireCase& c : cases) {
    EXPECT_EQ(DecideRequestStatus(RequestKind::kAcquire, St::kRunning, c.progress), c.expected)
        << c.what;
  }
}

TEST(DecideRequestStatusTest, ReturnTable) {
  auto ret = [](int succeeded, int executing, int failed) {
    RequestProgress p;
    p.succeeded_units = succeeded;
    p.executing = executing;
    p.failed = failed;
    return p;
  };
  EXPECT_EQ(DecideRequestStatus(RequestKind::kReturn, St::kRunning, ret(0, 2, 0)), St::kRunning);
  EXPECT_EQ(DecideRequestStatus(RequestKind::kReturn, St::kRunning, ret(1, 1, 0)), St::kRunning);
  EXPECT_EQ(DecideRequestStatus(RequestKind::kReturn, St::kRunning, ret(1, 1, 1)), St::kRunning);
  EXPECT_EQ(DecideRequestStatus(RequestKind::kReturn, St::kRunning, ret(2, 0, 0)), St::kComplete);
  EXPECT_EQ(DecideRequestStatus(RequestKind::kReturn, St::kRunning, ret(1, 0, 1)),
            St::kCompleteWithError);
  // A return of machines that were all already gone has nothing to wait for.
  EXPECT_EQ(DecideRequestStatus(RequestKind::kReturn, St::kRunning, ret(0, 0, 0)), St::kComplete);
}

// Terminal statuses never change, whatever the machines do afterwards: every
// (terminal current status, kind, progress) combination keeps the status.
TEST(DecideRequestStatusTest, TerminalStatusesAreSticky) {
  using L = LaunchState;
  for (St current : {St::kComplete, St::kCompleteWithError}) {
    for (RequestKind kind : {RequestKind::kAcquire, RequestKind::kReturn}) {
      for (int executing : {0, 1}) {
        for (int failed : {0, 1}) {
          for (int succeeded : {0, 3}) {
            for (L launch : {L::kIntent, L::kSubmitted, L::kSettled}) {
              for (bool expired : {false, true}) {
                RequestProgress p = Acquire(3, succeeded, executing, failed, launch, expired);
                EXPECT_EQ(DecideRequestStatus(kind, current, p), current);
              }
            }
          }
        }
      }
    }
  }
}

// Never terminal while any machine is executing, for every other input.
TEST(DecideRequestStatusTest, NeverTerminalWhileProvisioning) {
  using L = LaunchState;
  for (RequestKind kind : {RequestKind::kAcquire, RequestKind::kReturn}) {
    for (int failed : {0, 2}) {
      for (int succeeded : {0, 3, 10}) {
        for (L launch : {L::kIntent, L::kSubmitted, L::kSettled}) {
          for (bool expired : {false, true}) {
            RequestProgress p = Acquire(3, succeeded, 1, failed, launch, expired);
            EXPECT_EQ(DecideRequestStatus(kind, St::kRunning, p), St::kRunning);
          }
        }
      }
    }
  }
}

TEST(WhyNotCancelableTest, OnlyAnAcquireRequestThatHasNotEnded) {
  Request r;
  r.request_id = "req-1";
  r.kind = RequestKind::kAcquire;
  r.status = RequestStatus::kRunning;
  EXPECT_FALSE(WhyNotCancelable(r).has_value());

  r.status = RequestStatus::kCompleteWithError;
  auto ended = WhyNotCancelable(r);
  ASSERT_TRUE(ended.has_value());
  EXPECT_NE(ended->find("req-1 has already ended (complete_with_error)"), std::string::npos)
      << *ended;
  EXPECT_NE(ended->find("return its machines instead"), std::string::npos);

  r.request_id = "ret-1";
  r.kind = RequestKind::kReturn;
  r.status = RequestStatus::kRunning;
  auto giving_back = WhyNotCancelable(r);
  ASSERT_TRUE(giving_back.has_value());
  EXPECT_NE(giving_back->find("ret-1 is a return request"), std::string::npos) << *giving_back;
}

}  // namespace
}  // namespace orb
