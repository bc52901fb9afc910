#include "model/template.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace orb {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(TemplateModelTest, ParseProviderApiAcceptsAnyCasingAndSeparators) {
  for (const char* s :
       {"RunInstances", "runinstances", "RUN_INSTANCES", "run-instances", "Run Instances"}) {
    EXPECT_EQ(ParseProviderApi(s), ProviderApi::kRunInstances) << s;
  }
  for (const char* s : {"EC2Fleet", "ec2fleet", "ec2_fleet", "EC2-FLEET", "Ec2 Fleet"}) {
    EXPECT_EQ(ParseProviderApi(s), ProviderApi::kEc2Fleet) << s;
  }
  for (const char* s : {"SpotFleet", "spotfleet", "spot_fleet", "SPOT-FLEET"}) {
    EXPECT_EQ(ParseProviderApi(s), ProviderApi::kSpotFleet) << s;
  }
  for (const char* s : {"ASG", "asg", "AutoScalingGroup", "auto_scaling_group"}) {
    EXPECT_EQ(ParseProviderApi(s), ProviderApi::kAsg) << s;
  }
}

TEST(TemplateModelTest, ParseProviderApiRejectsOtherNames) {
  for (const char* s : {"", "Lambda", "EC2FleetX", "spot", "RunInstance"}) {
    EXPECT_EQ(ParseProviderApi(s), std::nullopt) << s;
  }
}

TEST(TemplateModelTest, ProviderApiNamesRoundTrip) {
  for (ProviderApi api : {ProviderApi::kRunInstances, ProviderApi::kEc2Fleet,
                          ProviderApi::kSpotFleet, ProviderApi::kAsg}) {
    EXPECT_EQ(ParseProviderApi(ProviderApiName(api)), api) << ProviderApiName(api);
  }
  EXPECT_EQ(ProviderApiName(ProviderApi::kEc2Fleet), "EC2Fleet");
  EXPECT_EQ(ProviderApiName(ProviderApi::kAsg), "ASG");
}

TEST(TemplateModelTest, ParseFleetTypeInAnyCasing) {
  EXPECT_EQ(ParseFleetType("instant"), FleetType::kInstant);
  EXPECT_EQ(ParseFleetType("INSTANT"), FleetType::kInstant);
  EXPECT_EQ(ParseFleetType("Request"), FleetType::kRequest);
  EXPECT_EQ(ParseFleetType("mainTain"), FleetType::kMaintain);
  EXPECT_EQ(ParseFleetType(""), std::nullopt);
  EXPECT_EQ(ParseFleetType("maintained"), std::nullopt);
  EXPECT_EQ(ParseFleetType("spot"), std::nullopt);
  for (FleetType t : {FleetType::kInstant, FleetType::kRequest, FleetType::kMaintain}) {
    EXPECT_EQ(ParseFleetType(FleetTypeName(t)), t);
  }
}

TEST(TemplateModelTest, ParsePriceTypeInAnyCasing) {
  for (const char* s : {"ondemand", "OnDemand", "on-demand", "ON_DEMAND", "On Demand"}) {
    EXPECT_EQ(ParsePriceType(s), PriceType::kOnDemand) << s;
  }
  EXPECT_EQ(ParsePriceType("spot"), PriceType::kSpot);
  EXPECT_EQ(ParsePriceType("SPOT"), PriceType::kSpot);
  EXPECT_EQ(ParsePriceType(""), std::nullopt);
  EXPECT_EQ(ParsePriceType("reserved"), std::nullopt);
  EXPECT_EQ(PriceTypeName(PriceType::kOnDemand), "ondemand");
  EXPECT_EQ(PriceTypeName(PriceType::kSpot), "spot");
}

TEST(TemplateModelTest, ValidTemplateIds) {
  for (const char* id : {"a", "Z", "0", "OnDemand-M5", "spot_fleet_1", "A-b_9",
                         "1234567890123456789012345678901234567890123456789012345678901234"}) {
    EXPECT_TRUE(IsValidTemplateId(id)) << id;
  }
}

TEST(TemplateModelTest, InvalidTemplateIds) {
  const std::string too_long(65, 'a');
  for (const std::string& id :
       {std::string(), too_long, std::string("has space"), std::string("dot.id"),
        std::string("slash/id"), std::string("semi;colon"), std::string("tab\tid"),
        std::string("caf\xc3\xa9"), std::string("nul\0id", 6), std::string(" lead")}) {
    EXPECT_FALSE(IsValidTemplateId(id)) << id;
  }
}

TEST(TemplateModelTest, FindAttributeAndInstanceTypeNames) {
  Template t;
  EXPECT_EQ(t.FindAttribute("ncpus"), nullptr);
  EXPECT_THAT(t.InstanceTypeNames(), IsEmpty());
  t.attributes = {{"type", "String", "X86_64"}, {"ncpus", "Numeric", "4"}};
  t.vm_types = {{"m5.xlarge", 2}, {"m5.large", 1}};
  ASSERT_NE(t.FindAttribute("ncpus"), nullptr);
  EXPECT_EQ(t.FindAttribute("ncpus")->value, "4");
  EXPECT_EQ(t.FindAttribute("NCPUS"), nullptr);  // HostFactory names are case-sensitive
  EXPECT_THAT(t.InstanceTypeNames(), ElementsAre("m5.xlarge", "m5.large"));  // file order
}

}  // namespace
}  // namespace orb
