#include "provider/aws/pacing.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace orb {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

long long MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

TEST(TokenBucketTest, BurstIsFreeThenCallsWaitForRefill) {
  TokenBucket bucket(5, 100);  // 5 at once, then one every 10 ms
  auto start = Clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.Acquire(1, milliseconds(0)));
  EXPECT_LT(MillisSince(start), 8);
  // The bucket is empty: a caller unwilling to wait is refused and takes nothing.
  EXPECT_FALSE(bucket.Acquire(1, milliseconds(0)));
  // Five more take about 50 ms of refill.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.Acquire(1, milliseconds(1000)));
  long long elapsed = MillisSince(start);
  EXPECT_GE(elapsed, 40);
  EXPECT_LT(elapsed, 500);
}

TEST(TokenBucketTest, RefusesWhenTheWaitWouldExceedTheCap) {
  TokenBucket bucket(1, 10);  // one token every 100 ms
  ASSERT_TRUE(bucket.Acquire(1, milliseconds(0)));
  auto start = Clock::now();
  EXPECT_FALSE(bucket.Acquire(1, milliseconds(20)));  // would wait ~100 ms
  EXPECT_LT(MillisSince(start), 15);                  // refused at once, without waiting
  EXPECT_FALSE(bucket.Acquire(1, milliseconds(20)));  // and it took nothing
}

TEST(TokenBucketTest, RefillIsCappedAtCapacity) {
  TokenBucket bucket(3, 1000);
  std::this_thread::sleep_for(milliseconds(20));  // would refill 20 without the cap
  EXPECT_DOUBLE_EQ(bucket.Available(), 3);
  ASSERT_TRUE(bucket.Acquire(3, milliseconds(0)));
  EXPECT_LT(bucket.Available(), 1);
}

TEST(TokenBucketTest, ConcurrentCallersQueueBehindEachOther) {
  TokenBucket bucket(2, 100);  // 2 free, then 10 ms each
  std::atomic<int> granted{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        if (bucket.Acquire(1, milliseconds(2000))) granted++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted, 12);
  // 10 calls beyond the burst at 100 per second: about 100 ms, never much less.
  EXPECT_GE(MillisSince(start), 85);
}

TEST(TokenBucketTest, ZeroRefillNeverWaitsForever) {
  TokenBucket bucket(1, 0);
  EXPECT_TRUE(bucket.Acquire(1, milliseconds(10)));
  auto start = Clock::now();
  EXPECT_FALSE(bucket.Acquire(1, milliseconds(10000)));
  EXPECT_LT(MillisSince(start), 50);
}

TEST(BackoffTest, DelaysStayWithinTheCappedExponentialBound) {
  Backoff backoff(milliseconds(100), milliseconds(1000));
  for (int attempt = 0; attempt < 10; ++attempt) {
    long long bound = std::min<long long>(1000, 100LL << attempt);
    for (int i = 0; i < 200; ++i) {
      milliseconds d = backoff.Delay(attempt);
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d.count(), bound) << "attempt " << attempt;
    }
  }
  // Huge attempt numbers do not overflow past the cap.
  EXPECT_LE(backoff.Delay(1000).count(), 1000);
}

TEST(BackoffTest, JitterSpreadsRetriesOverTheWholeRange) {
  Backoff backoff(milliseconds(1000), milliseconds(1000));
  long long low = 1000, high = 0;
  for (int i = 0; i < 500; ++i) {
    long long d = backoff.Delay(0).count();
    low = std::min(low, d);
    high = std::max(high, d);
  }
  // Full jitter: draws cover [0, 1000], not a fixed schedule.
  EXPECT_LT(low, 100);
  EXPECT_GT(high, 900);
}

TEST(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  CircuitBreaker breaker(3, milliseconds(10000));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.RecordFailure();
  }
  EXPECT_FALSE(breaker.IsOpen());
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  EXPECT_TRUE(breaker.IsOpen());
  EXPECT_FALSE(breaker.Allow());
  EXPECT_GT(breaker.RemainingOpen().count(), 9000);
}

TEST(CircuitBreakerTest, ASuccessResetsTheFailureCount) {
  CircuitBreaker breaker(3, milliseconds(10000));
  breaker.RecordFailure();
  breaker.RecordFailure();
  breaker.RecordSuccess();
  breaker.RecordFailure();
  breaker.RecordFailure();
  EXPECT_FALSE(breaker.IsOpen());
  EXPECT_TRUE(breaker.Allow());
}

TEST(CircuitBreakerTest, HalfOpenLetsOneTrialThroughAndItsOutcomeDecides) {
  CircuitBreaker breaker(1, milliseconds(30));
  breaker.RecordFailure();
  EXPECT_FALSE(breaker.Allow());
  std::this_thread::sleep_for(milliseconds(40));
  EXPECT_FALSE(breaker.IsOpen());
  EXPECT_TRUE(breaker.Allow());   // the trial
  EXPECT_FALSE(breaker.Allow());  // others still fail fast while it runs
  breaker.RecordFailure();        // the trial failed: open again for a full period
  EXPECT_TRUE(breaker.IsOpen());
  EXPECT_FALSE(breaker.Allow());
  std::this_thread::sleep_for(milliseconds(40));
  EXPECT_TRUE(breaker.Allow());
  breaker.RecordSuccess();  // the trial succeeded: closed
  EXPECT_FALSE(breaker.IsOpen());
  EXPECT_TRUE(breaker.Allow());
  EXPECT_TRUE(breaker.Allow());
}

TEST(ApiFamilyTest, MapsActionsToAwsThrottlingBuckets) {
  EXPECT_EQ(ApiFamily("ec2", "RunInstances"), "run_instances");
  EXPECT_EQ(ApiFamily("ec2", "TerminateInstances"), "terminate_instances");
  EXPECT_EQ(ApiFamily("ec2", "CreateTags"), "create_tags");
  EXPECT_EQ(ApiFamily("ec2", "DeleteTags"), "create_tags");
  EXPECT_EQ(ApiFamily("ec2", "DescribeSpotFleetInstances"), "describe_spot_fleet_instances");
  EXPECT_EQ(ApiFamily("ec2", "DescribeInstances"), "describe");
  EXPECT_EQ(ApiFamily("ec2", "DescribeSpotFleetRequests"), "describe");
  EXPECT_EQ(ApiFamily("ec2", "GetConsoleOutput"), "describe");
  EXPECT_EQ(ApiFamily("ec2", "CreateFleet"), "mutating");
  EXPECT_EQ(ApiFamily("ec2", "RequestSpotFleet"), "mutating");
  EXPECT_EQ(ApiFamily("ec2", "DeleteFleets"), "mutating");
  EXPECT_EQ(ApiFamily("autoscaling", "CreateAutoScalingGroup"), "autoscaling");
  EXPECT_EQ(ApiFamily("autoscaling", "DescribeAutoScalingGroups"), "autoscaling");
  EXPECT_EQ(ApiFamily("sts", "AssumeRole"), "sts");
  EXPECT_EQ(ApiFamily("dynamodb", "PutItem"), "dynamodb");
  EXPECT_EQ(ApiFamily("sqs", "SendMessage"), "sqs");
}

}  // namespace
}  // namespace orb
