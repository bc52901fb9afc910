#include "provider/aws/fleet_overrides.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace orb {
namespace {

std::vector<std::string> Pools(const std::vector<FleetOverride>& overrides) {
  std::vector<std::string> out;
  for (const FleetOverride& o : overrides) {
    out.push_back(o.instance_type + "@" + o.subnet_id + " w" +
                  std::to_string(static_cast<int>(o.weighted_capacity.value_or(0))) + " p" +
                  (o.priority ? std::to_string(static_cast<int>(*o.priority)) : "-"));
  }
  return out;
}

Template Weighted() {
  Template t;
  t.template_id = "W";
  t.vm_types = {{"c5.large", 2}, {"c5.xlarge", 4}};
  t.subnet_ids = {"subnet-a", "subnet-b"};
  return t;
}

TEST(SplitOnDemandTest, FloorsTheOnDemandShareAndGivesSpotTheRest) {
  EXPECT_EQ(SplitOnDemand(10, 30).on_demand, 3);
  EXPECT_EQ(SplitOnDemand(10, 30).spot, 7);
  EXPECT_EQ(SplitOnDemand(7, 50).on_demand, 3) << "3.5 units on demand round down";
  EXPECT_EQ(SplitOnDemand(7, 50).spot, 4);
  EXPECT_EQ(SplitOnDemand(1, 99).on_demand, 0);
  EXPECT_EQ(SplitOnDemand(1, 99).spot, 1);
  EXPECT_EQ(SplitOnDemand(5, 100).on_demand, 5);
  EXPECT_EQ(SplitOnDemand(5, 100).spot, 0);
  EXPECT_EQ(SplitOnDemand(5, 0).spot, 5);
}

TEST(SplitOnDemandTest, LargeCountsDoNotOverflowAndOutOfRangePercentsAreClamped) {
  const CapacitySplit big = SplitOnDemand(2000000000, 37);
  EXPECT_EQ(big.on_demand, 740000000);
  EXPECT_EQ(big.on_demand + big.spot, 2000000000);
  EXPECT_EQ(SplitOnDemand(10, 150).on_demand, 10);
  EXPECT_EQ(SplitOnDemand(10, -5).on_demand, 0);
  EXPECT_EQ(SplitOnDemand(0, 50).on_demand + SplitOnDemand(0, 50).spot, 0);
}

TEST(SplitOnDemandTest, WeightedUnitsSplitInUnitsNotInstances) {
  // 12 units of weight-4 instances at 25% on demand: 3 units on demand (AWS then
  // launches one weight-4 instance for them), 9 spot.
  Template t = Weighted();
  t.price_type = PriceType::kSpot;
  t.percent_on_demand = 25;
  const CapacitySplit s = TemplateSplit(t, 12);
  EXPECT_EQ(s.on_demand, 3);
  EXPECT_EQ(s.spot, 9);
  t.price_type = PriceType::kOnDemand;
  EXPECT_EQ(TemplateSplit(t, 12).on_demand, 12) << "an on-demand template buys no spot";
  EXPECT_EQ(TemplateSplit(t, 12).spot, 0);
}

TEST(FleetOverridesTest, EveryTypeInEverySubnetWithItsWeightAndNoPriorityUnlessWritten) {
  EXPECT_EQ(Pools(FleetOverrides(Weighted(), {true, false}, {}, nullptr)),
            (std::vector<std::string>{"c5.large@subnet-a w2 p-", "c5.large@subnet-b w2 p-",
                                      "c5.xlarge@subnet-a w4 p-", "c5.xlarge@subnet-b w4 p-"}));
  EXPECT_FALSE(HasPriorities(FleetOverrides(Weighted(), {true, false}, {}, nullptr)));
}

TEST(FleetOverridesTest, WrittenPrioritiesAreSentAsWritten) {
  Template t = Weighted();
  t.subnet_ids = {"subnet-a"};
  t.vm_types_priority = {{"c5.xlarge", 1}};
  std::vector<FleetOverride> o = FleetOverrides(t, {false, true}, {}, nullptr);
  EXPECT_EQ(Pools(o), (std::vector<std::string>{"c5.large@subnet-a w2 p-",
                                                "c5.xlarge@subnet-a w4 p1"}));
  EXPECT_TRUE(HasPriorities(o));
}

TEST(FleetOverridesTest, OnDemandTypesJoinAndRankFirstOnlyWhenTheFleetBuysOnDemand) {
  Template t = Weighted();
  t.subnet_ids = {"subnet-a"};
  t.vm_types_priority = {{"c5.xlarge", 0}, {"c5.large", 1}};
  t.vm_types_on_demand = {{"m5.large", 2}, {"c5.large", 2}};
  EXPECT_EQ(Pools(FleetOverrides(t, {true, true}, {}, nullptr)),
            (std::vector<std::string>{"c5.large@subnet-a w2 p0", "c5.xlarge@subnet-a w4 p2",
                                      "m5.large@subnet-a w2 p1"}));
  EXPECT_EQ(Pools(FleetOverrides(t, {false, true}, {}, nullptr)),
            (std::vector<std::string>{"c5.large@subnet-a w2 p1", "c5.xlarge@subnet-a w4 p0"}))
      << "a fleet without an on-demand part ignores vmTypesOnDemand";
}

TEST(FleetOverridesTest, OnDemandTypeWithAnotherWeightIsATemplateError) {
  Template t = Weighted();
  t.vm_types_on_demand = {{"c5.large", 3}};
  try {
    FleetOverrides(t, {true, false}, {}, nullptr);
    FAIL() << "expected a template error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'vmTypesOnDemand'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("c5.large"), std::string::npos) << e.what();
  }
}

TEST(FleetOverridesTest, RecentlyFailedPoolsAreLeftOutForTheMarketsTheFleetBuysIn) {
  const std::vector<std::string> avoid = {"c5.large|subnet-a|spot", "c5.xlarge|subnet-b|ondemand"};
  EXPECT_EQ(Pools(FleetOverrides(Weighted(), {false, true}, avoid, nullptr)),
            (std::vector<std::string>{"c5.large@subnet-b w2 p-", "c5.xlarge@subnet-a w4 p-",
                                      "c5.xlarge@subnet-b w4 p-"}));
  // A fleet that also buys on demand still uses c5.large in subnet-a for that.
  EXPECT_EQ(FleetOverrides(Weighted(), {true, true}, avoid, nullptr).size(), 4u);
}

TEST(FleetOverridesTest, AvoidingEveryPoolKeepsThemAll) {
  Template t = Weighted();
  t.subnet_ids = {};
  const std::vector<std::string> avoid = {"c5.large||ondemand", "c5.xlarge||ondemand"};
  EXPECT_EQ(Pools(FleetOverrides(t, {true, false}, avoid, nullptr)),
            (std::vector<std::string>{"c5.large@ w2 p-", "c5.xlarge@ w4 p-"}));
}

TEST(FleetOverridesTest, RequirementsReplaceTypesOnePerSubnetWithTheSpotPrice) {
  Template t = Weighted();
  t.max_spot_price = 0.5;
  const nlohmann::json req = {{"VCpuCount", {{"Min", 2}}}, {"MemoryMiB", {{"Min", 4096}}}};
  std::vector<FleetOverride> o = FleetOverrides(t, {false, true}, {}, req);
  ASSERT_EQ(o.size(), 2u);
  for (const FleetOverride& x : o) {
    EXPECT_EQ(x.instance_type, "");
    EXPECT_EQ(x.instance_requirements, req);
    EXPECT_EQ(x.max_price, "0.5");
  }
  EXPECT_EQ(o[1].subnet_id, "subnet-b");
}

TEST(ChooseStrategiesTest, PrioritiesSelectThePrioritizedStrategiesUnlessOneIsWritten) {
  Template t;
  t.price_type = PriceType::kSpot;
  EXPECT_EQ(ChooseStrategies(t, true, false).spot, "capacity-optimized-prioritized");
  EXPECT_EQ(ChooseStrategies(t, true, false).on_demand, "prioritized");
  EXPECT_EQ(ChooseStrategies(t, true, true).spot, "capacityOptimizedPrioritized");
  EXPECT_EQ(ChooseStrategies(t, false, false).spot, "price-capacity-optimized");
  EXPECT_EQ(ChooseStrategies(t, false, false).on_demand, "lowest-price");
  EXPECT_EQ(ChooseStrategies(t, false, true).on_demand, "lowestPrice");
  t.allocation_strategy = "lowestPrice";
  t.allocation_strategy_on_demand = "LOWEST_PRICE";
  EXPECT_EQ(ChooseStrategies(t, true, false).spot, "lowest-price");
  EXPECT_EQ(ChooseStrategies(t, true, false).on_demand, "lowest-price");
  EXPECT_EQ(ChooseStrategies(t, true, true).on_demand, "lowestPrice");
}

TEST(ChooseStrategiesTest, OnDemandTemplateTakesAnOnDemandAllocationStrategy) {
  Template t;
  t.allocation_strategy = "Prioritized";
  EXPECT_EQ(ChooseStrategies(t, false, false).on_demand, "prioritized");
  t.allocation_strategy = "capacityOptimized";  // a spot strategy: not for on demand
  EXPECT_EQ(ChooseStrategies(t, false, false).on_demand, "lowest-price");
}

}  // namespace
}  // namespace orb
