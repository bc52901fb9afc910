// EventBridge's EC2 events, as AWS documents them ("Spot Instance interruption
// notices", "EC2 instance rebalance recommendations"), read into notices.

#include "provider/aws/interruption_event.h"

#include <gtest/gtest.h>

#include <string>

#include "common/clock.h"

namespace orb {
namespace {

// The documented example of a spot interruption warning.
const std::string kWarning = R"({
  "version": "0",
  "id": "12345678-1234-1234-1234-123456789012",
  "detail-type": "EC2 Spot Instance Interruption Warning",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2026-11-27T12:00:00Z",
  "region": "us-east-2",
  "resources": ["arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "instance-action": "stop"}
})";

// The documented example of a rebalance recommendation.
const std::string kRebalance = R"({
  "version": "0",
  "id": "12345678-1234-1234-1234-123456789012",
  "detail-type": "EC2 Instance Rebalance Recommendation",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2026-11-27T12:00:00Z",
  "region": "us-east-2",
  "resources": ["arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0"}
})";

constexpr long long kNoonUtc = 1795780800;  // 2026-11-27T12:00:00Z

TEST(InterruptionEventTest, SpotWarningTakesEffectTwoMinutesAfterItsTime) {
  auto n = ParseInterruptionEvent(kWarning, 120);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->machine_id, "i-1234567890abcdef0");
  EXPECT_EQ(n->action, "stop");
  EXPECT_EQ(n->takes_effect_at, kNoonUtc + 120);
  EXPECT_NE(n->detail.find("EC2 Spot Instance Interruption Warning"), std::string::npos);
}

TEST(InterruptionEventTest, RebalanceRecommendationGetsTheConfiguredGrace) {
  auto n = ParseInterruptionEvent(kRebalance, 600);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->action, "rebalance");
  EXPECT_EQ(n->takes_effect_at, kNoonUtc + 600);
  EXPECT_FALSE(ParseInterruptionEvent(kRebalance, -1).has_value())
      << "a negative grace ignores rebalance recommendations";
}

TEST(InterruptionEventTest, AnythingElseIsNoNotice) {
  for (const std::string& body :
       {std::string(""), std::string("not json"), std::string("[1,2]"), std::string("{}"),
        std::string(R"({"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification",)"
                    R"("detail":{"instance-id":"i-1","state":"running"}})"),
        std::string(R"({"source":"aws.ec2","detail-type":"EC2 Instance Rebalance Recommendation",)"
                    R"("detail":{"instance-id":42}})"),
        std::string(R"({"source":"aws.s3","detail-type":"EC2 Spot Instance Interruption Warning",)"
                    R"("detail":{"instance-id":"i-1"}})"),
        std::string(R"({"source":"aws.ec2","detail-type":"EC2 Spot Instance Interruption Warning",)"
                    R"("detail":"i-1"})")}) {
    EXPECT_FALSE(ParseInterruptionEvent(body, 120).has_value()) << body;
  }
}

TEST(InterruptionEventTest, UnknownActionIsTakenAsTerminateAndBadTimeAsNow) {
  const std::string body =
      R"({"source":"aws.ec2","detail-type":"EC2 Spot Instance Interruption Warning",)"
      R"("time":"yesterday","detail":{"instance-id":"i-9","instance-action":"explode"}})";
  auto n = ParseInterruptionEvent(body, 120);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->action, "terminate");
  EXPECT_NEAR(static_cast<double>(n->takes_effect_at), static_cast<double>(NowSeconds() + 120), 5);
}

}  // namespace
}  // namespace orb
