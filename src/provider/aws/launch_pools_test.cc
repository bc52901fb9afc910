#include "provider/aws/launch_pools.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace orb {
namespace {

Template TwoTypesTwoSubnets() {
  Template t;
  t.template_id = "T";
  t.vm_types = {{"c5.large", 2}, {"m5.large", 1}};
  t.subnet_ids = {"subnet-a", "subnet-b"};
  return t;
}

std::vector<std::string> Keys(const std::vector<LaunchPool>& pools) {
  std::vector<std::string> keys;
  for (const LaunchPool& p : pools) keys.push_back(p.Key());
  return keys;
}

TEST(LaunchPoolsTest, TypesInFileOrderEachInEverySubnet) {
  EXPECT_EQ(Keys(OrderedPools(TwoTypesTwoSubnets(), {}, false)),
            (std::vector<std::string>{"c5.large|subnet-a|ondemand", "c5.large|subnet-b|ondemand",
                                      "m5.large|subnet-a|ondemand",
                                      "m5.large|subnet-b|ondemand"}));
}

TEST(LaunchPoolsTest, PriorityOrdersTypesLowestFirstAndUnlistedLast) {
  Template t = TwoTypesTwoSubnets();
  t.vm_types.emplace_back("r5.large", 1);
  t.vm_types_priority = {{"r5.large", 1}, {"m5.large", 2}};
  t.subnet_ids = {"subnet-a"};
  EXPECT_EQ(Keys(OrderedPools(t, {}, false)),
            (std::vector<std::string>{"r5.large|subnet-a|ondemand", "m5.large|subnet-a|ondemand",
                                      "c5.large|subnet-a|ondemand"}));
}

TEST(LaunchPoolsTest, RecentlyFailedPoolsAreTriedLastNotDropped) {
  std::vector<LaunchPool> pools =
      OrderedPools(TwoTypesTwoSubnets(), {"c5.large|subnet-a|ondemand", "not|a|pool"}, false);
  ASSERT_EQ(pools.size(), 4u);
  EXPECT_EQ(pools.front().Key(), "c5.large|subnet-b|ondemand");
  EXPECT_EQ(pools.back().Key(), "c5.large|subnet-a|ondemand");
}

TEST(LaunchPoolsTest, SpotTemplateKeepsItsPriceAndFallsBackOnDemandOnlyWhenAsked) {
  Template t = TwoTypesTwoSubnets();
  t.price_type = PriceType::kSpot;
  t.max_spot_price = 0.25;
  t.subnet_ids = {"subnet-a"};
  std::vector<LaunchPool> spot_only = OrderedPools(t, {}, false);
  ASSERT_EQ(spot_only.size(), 2u);
  for (const LaunchPool& p : spot_only) {
    EXPECT_TRUE(p.spot);
    EXPECT_EQ(p.max_price, "0.25");
  }
  std::vector<LaunchPool> with_fallback = OrderedPools(t, {}, true);
  EXPECT_EQ(Keys(with_fallback),
            (std::vector<std::string>{"c5.large|subnet-a|spot", "m5.large|subnet-a|spot",
                                      "c5.large|subnet-a|ondemand", "m5.large|subnet-a|ondemand"}));
  EXPECT_EQ(with_fallback[2].max_price, "") << "on-demand pools carry no spot price";
}

TEST(LaunchPoolsTest, TemplateWithoutTypesUsesTheLaunchTemplatesOwn) {
  Template t;
  std::vector<LaunchPool> pools = OrderedPools(t, {}, false);
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0].instance_type, "");
  EXPECT_EQ(pools[0].subnet_id, "");
}

TEST(LaunchPoolsTest, WeightedCapacityArithmetic) {
  EXPECT_EQ(InstancesFor(5, 2), 3) << "5 units of weight 2 need 3 instances (6 units)";
  EXPECT_EQ(InstancesFor(4, 2), 2);
  EXPECT_EQ(InstancesFor(1, 8), 1);
  EXPECT_EQ(InstancesFor(7, 1), 7);
  EXPECT_EQ(InstancesFor(7, 0), 7) << "a weight below 1 counts as 1";
  EXPECT_EQ(InstancesFor(0, 4), 0);
}

TEST(LaunchPoolsTest, LargeLaunchIsSplitIntoCallsOfAtMostTheLimit) {
  std::vector<LaunchPool> pools = OrderedPools(TwoTypesTwoSubnets(), {}, false);
  // c5.large weighs 2: 1000 instances per call cover 2000 units.
  LaunchStep first = FirstStep(pools, 4500, 1000);
  EXPECT_EQ(first.units, 2000);
  EXPECT_EQ(first.remaining, 2500);
  std::optional<LaunchStep> second = NextStep(pools, first, 2000, false, 0, 1000, nullptr);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->step, 1);
  EXPECT_EQ(second->pool, 0) << "a pool that gave everything is used again";
  EXPECT_EQ(second->units, 2000);
  EXPECT_EQ(second->remaining, 500);
  std::optional<LaunchStep> third = NextStep(pools, *second, 2000, false, 0, 1000, nullptr);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->units, 500);
  EXPECT_EQ(third->remaining, 0);
  EXPECT_EQ(InstancesFor(third->units, pools[third->pool].weight), 250);
  EXPECT_FALSE(NextStep(pools, *third, 500, false, 0, 1000, nullptr));
}

TEST(LaunchPoolsTest, ShortPoolPassesWhatItLackedToTheNextPool) {
  std::vector<LaunchPool> pools = OrderedPools(TwoTypesTwoSubnets(), {}, false);
  LaunchStep first = FirstStep(pools, 10, 1000);  // 5 instances of c5.large
  // It gave 3 instances (6 units): 4 units go to c5.large in subnet-b.
  std::optional<LaunchStep> next = NextStep(pools, first, 6, true, 0, 1000, nullptr);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->pool, 1);
  EXPECT_EQ(next->units, 4);
  // That pool fails outright: the 4 units go to m5.large (weight 1): 4 instances.
  next = NextStep(pools, *next, 0, true, 0, 1000, nullptr);
  ASSERT_TRUE(next);
  EXPECT_EQ(pools[next->pool].instance_type, "m5.large");
  EXPECT_EQ(InstancesFor(next->units, pools[next->pool].weight), 4);
  // Launching more units than asked (a heavy type) ends the launch.
  EXPECT_FALSE(NextStep(pools, *next, 5, false, 0, 1000, nullptr));
}

TEST(LaunchPoolsTest, NoPoolLeftIsReported) {
  std::vector<LaunchPool> pools = OrderedPools(TwoTypesTwoSubnets(), {}, false);
  LaunchStep at = FirstStep(pools, 3, 1000);
  at.pool = 3;  // the last pool
  bool out_of_pools = false;
  EXPECT_FALSE(NextStep(pools, at, 1, true, 0, 1000, &out_of_pools));
  EXPECT_TRUE(out_of_pools);
  EXPECT_FALSE(NextStep(pools, at, 3, true, 0, 1000, &out_of_pools));
  EXPECT_FALSE(out_of_pools) << "nothing remains: not a shortage";
}

TEST(LaunchPoolsTest, SpotFailuresSwitchToOnDemandAfterTheThreshold) {
  Template t = TwoTypesTwoSubnets();
  t.price_type = PriceType::kSpot;
  std::vector<LaunchPool> pools = OrderedPools(t, {}, true);  // 4 spot, then 4 on demand
  LaunchStep at = FirstStep(pools, 4, 1000);
  std::optional<LaunchStep> next = NextStep(pools, at, 0, true, 2, 1000, nullptr);
  ASSERT_TRUE(next);
  EXPECT_TRUE(pools[next->pool].spot) << "one failure of two allowed: still spot";
  EXPECT_EQ(next->spot_failures, 1);
  next = NextStep(pools, *next, 0, true, 2, 1000, nullptr);
  ASSERT_TRUE(next);
  EXPECT_FALSE(pools[next->pool].spot) << "the second spot failure switches to on demand";
  EXPECT_EQ(next->pool, 4) << "the first on-demand pool";
}

TEST(LaunchPoolsTest, StoredFormsRoundTripAndDamageIsAStoreError) {
  LaunchPool p{"c5.large", "subnet-a", 2, true, "0.1"};
  LaunchPool back = LaunchPool::FromJson(p.ToJson());
  EXPECT_EQ(back.Key(), p.Key());
  EXPECT_EQ(back.weight, 2);
  EXPECT_EQ(back.max_price, "0.1");
  LaunchStep s{3, 1, 40, 60, 2};
  LaunchStep s2 = LaunchStep::FromJson(s.ToJson());
  EXPECT_EQ(s2.step, 3);
  EXPECT_EQ(s2.remaining, 60);
  EXPECT_EQ(s2.spot_failures, 2);
  try {
    LaunchStep::FromJson(nlohmann::json{{"step", "x"}});
    FAIL() << "a damaged step must not be read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStore);
  }
}

}  // namespace
}  // namespace orb
