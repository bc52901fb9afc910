// Plan-level tests of the fleet and group handlers: PlanLaunch builds the exact call
// without sending it, so a provider pointed at an unreachable endpoint shows the Query
// parameters each template field becomes.

#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "common/error.h"
#include "provider/aws/aws_provider.h"

namespace orb {
namespace {

using Params = std::map<std::string, std::string>;

AwsProviderOptions Options(const std::string& endpoint) {
  AwsProviderOptions o;
  o.name = "plan-test";
  o.client.region = "us-east-1";
  o.client.endpoint_url = endpoint;
  o.client.max_attempts = 1;
  o.credentials.access_key_id = "AKIDPLANTEST";
  o.credentials.secret_access_key = "plan-test-secret";
  o.credentials.environment = std::map<std::string, std::string>{};
  return o;
}

LaunchOrder Order(Template t, int units) {
  LaunchOrder order;
  order.request_id = "req-1";
  order.client_token = "req-1-token";
  order.units = units;
  order.templ = std::move(t);
  order.tags = {{"orb:request-id", "req-1"}};
  return order;
}

Template Base(ProviderApi api) {
  Template t;
  t.template_id = "T";
  t.source_file = "templates.json";
  t.provider_api = api;
  t.image_id = "ami-0123456789abcdef0";
  t.subnet_ids = {"subnet-a", "subnet-b"};
  return t;
}

// The parameters of the plan's `key` call ("fleet", "group").
Params CallOf(const LaunchPlan& plan, const std::string& key) {
  Params out;
  for (const nlohmann::json& pair : plan.body.at(key)) out[pair[0]] = pair[1];
  return out;
}

Params Plan(const LaunchOrder& order, const std::string& key) {
  AwsProvider provider(Options("http://127.0.0.1:9"));  // nothing listens: nothing is sent
  LaunchPlan plan = provider.PlanLaunch(order);
  EXPECT_EQ(provider.CallCount(), 0) << "planning calls nothing";
  return CallOf(plan, key);
}

constexpr const char* kLt = "LaunchTemplateConfigs.1.Overrides.";

TEST(Ec2FleetPlanTest, PrioritiesPercentOnDemandContextAndReservationsBecomeTheCall) {
  Template t = Base(ProviderApi::kEc2Fleet);
  t.fleet_type = FleetType::kInstant;
  t.price_type = PriceType::kSpot;
  t.vm_types = {{"c5.large", 1}, {"c5.xlarge", 2}};
  t.vm_types_priority = {{"c5.xlarge", 0}, {"c5.large", 1}};
  t.percent_on_demand = 30;
  t.context = "ctx-1";
  t.capacity_reservation_preference = "use-capacity-reservations-first";
  LaunchOrder order = Order(t, 10);
  order.avoid_pools = {"c5.large|subnet-b|spot", "c5.large|subnet-b|ondemand"};
  Params p = Plan(order, "fleet");
  EXPECT_EQ(p["TargetCapacitySpecification.TotalTargetCapacity"], "10");
  EXPECT_EQ(p["TargetCapacitySpecification.OnDemandTargetCapacity"], "3");
  EXPECT_EQ(p["TargetCapacitySpecification.SpotTargetCapacity"], "7");
  EXPECT_EQ(p["TargetCapacitySpecification.DefaultTargetCapacityType"], "spot");
  EXPECT_EQ(p["SpotOptions.AllocationStrategy"], "capacity-optimized-prioritized");
  EXPECT_EQ(p["OnDemandOptions.AllocationStrategy"], "prioritized");
  EXPECT_EQ(p["OnDemandOptions.CapacityReservationOptions.UsageStrategy"],
            "use-capacity-reservations-first");
  EXPECT_EQ(p["Context"], "ctx-1");
  EXPECT_EQ(p["ClientToken"], "req-1-token");
  // c5.large in subnet-b failed recently in both markets: left out.
  EXPECT_EQ(p[std::string(kLt) + "1.InstanceType"], "c5.large");
  EXPECT_EQ(p[std::string(kLt) + "1.SubnetId"], "subnet-a");
  EXPECT_EQ(p[std::string(kLt) + "1.WeightedCapacity"], "1");
  EXPECT_EQ(p[std::string(kLt) + "1.Priority"], "1");
  EXPECT_EQ(p[std::string(kLt) + "2.InstanceType"], "c5.xlarge");
  EXPECT_EQ(p[std::string(kLt) + "2.WeightedCapacity"], "2");
  EXPECT_EQ(p[std::string(kLt) + "2.Priority"], "0");
  EXPECT_EQ(p[std::string(kLt) + "3.SubnetId"], "subnet-b");
  EXPECT_EQ(p.count(std::string(kLt) + "4.InstanceType"), 0u);
}

TEST(Ec2FleetPlanTest, OnDemandTemplateWithoutPrioritiesKeepsTheDefaults) {
  Template t = Base(ProviderApi::kEc2Fleet);
  t.fleet_type = FleetType::kRequest;
  t.vm_types = {{"t3.micro", 1}};
  Params p = Plan(Order(t, 4), "fleet");
  EXPECT_EQ(p["TargetCapacitySpecification.DefaultTargetCapacityType"], "on-demand");
  EXPECT_EQ(p.count("TargetCapacitySpecification.OnDemandTargetCapacity"), 0u);
  EXPECT_EQ(p["OnDemandOptions.AllocationStrategy"], "lowest-price");
  EXPECT_EQ(p.count("SpotOptions.AllocationStrategy"), 0u);
  EXPECT_EQ(p.count(std::string(kLt) + "1.Priority"), 0u);
  EXPECT_EQ(p.count("Context"), 0u);
  EXPECT_EQ(p.count("OnDemandOptions.CapacityReservationOptions.UsageStrategy"), 0u);
}

TEST(Ec2FleetPlanTest, OnDemandTypesAndAllocationStrategyOnDemand) {
  Template t = Base(ProviderApi::kEc2Fleet);
  t.subnet_ids = {"subnet-a"};
  t.price_type = PriceType::kSpot;
  t.vm_types = {{"c5.large", 1}};
  t.vm_types_on_demand = {{"m5.large", 1}};
  t.percent_on_demand = 50;
  t.allocation_strategy_on_demand = "lowestPrice";
  Params p = Plan(Order(t, 4), "fleet");
  EXPECT_EQ(p[std::string(kLt) + "1.InstanceType"], "c5.large");
  EXPECT_EQ(p[std::string(kLt) + "1.Priority"], "1");
  EXPECT_EQ(p[std::string(kLt) + "2.InstanceType"], "m5.large");
  EXPECT_EQ(p[std::string(kLt) + "2.Priority"], "0") << "the on-demand type ranks first";
  EXPECT_EQ(p["OnDemandOptions.AllocationStrategy"], "lowest-price") << "as written";
  EXPECT_EQ(p["TargetCapacitySpecification.OnDemandTargetCapacity"], "2");
}

TEST(Ec2FleetPlanTest, AttributeBasedSelectionReplacesInstanceTypes) {
  Template t = Base(ProviderApi::kEc2Fleet);
  t.vm_types = {{"c5.large", 1}};
  t.abis_instance_requirements = {{"VCpuCount", {{"Min", 2}, {"Max", 4}}},
                                  {"MemoryMiB", {{"Min", 2048}}},
                                  {"CpuManufacturers", {"intel"}}};
  Params p = Plan(Order(t, 2), "fleet");
  EXPECT_EQ(p.count(std::string(kLt) + "1.InstanceType"), 0u);
  EXPECT_EQ(p[std::string(kLt) + "1.InstanceRequirements.VCpuCount.Min"], "2");
  EXPECT_EQ(p[std::string(kLt) + "1.InstanceRequirements.VCpuCount.Max"], "4");
  EXPECT_EQ(p[std::string(kLt) + "1.InstanceRequirements.MemoryMiB.Min"], "2048");
  EXPECT_EQ(p[std::string(kLt) + "1.InstanceRequirements.CpuManufacturer.1"], "intel");
  EXPECT_EQ(p[std::string(kLt) + "2.SubnetId"], "subnet-b");
}

TEST(Ec2FleetPlanTest, UnusableRequirementsOrReservationsOnARequestFleetNameTheField) {
  Template t = Base(ProviderApi::kEc2Fleet);
  t.abis_instance_requirements = {{"VCpuCount", {{"Min", 2}}}};
  try {
    Plan(Order(t, 2), "fleet");
    FAIL() << "expected a template error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_NE(std::string(e.what()).find("template 'T' field 'abisInstanceRequirements'"),
              std::string::npos)
        << e.what();
  }
  t = Base(ProviderApi::kEc2Fleet);
  t.vm_types = {{"c5.large", 1}};
  t.fleet_type = FleetType::kMaintain;
  t.capacity_reservation_preference = "use-capacity-reservations-first";
  EXPECT_THROW(Plan(Order(t, 2), "fleet"), Error);
}

TEST(SpotFleetPlanTest, PrioritiesOnDemandPartContextAndRequirements) {
  Template t = Base(ProviderApi::kSpotFleet);
  t.fleet_type = FleetType::kRequest;
  t.price_type = PriceType::kSpot;
  t.fleet_role = "arn:aws:iam::123456789012:role/spot-fleet";
  t.vm_types = {{"c5.large", 2}, {"m5.large", 2}};
  t.vm_types_priority = {{"m5.large", 3}};
  t.percent_on_demand = 25;
  t.context = "ctx-2";
  LaunchOrder order = Order(t, 8);
  order.avoid_pools = {"c5.large|subnet-a|spot"};
  Params p = Plan(order, "fleet");
  const std::string c = "SpotFleetRequestConfig.";
  const std::string o = c + "LaunchTemplateConfigs.1.Overrides.";
  EXPECT_EQ(p[c + "IamFleetRole"], "arn:aws:iam::123456789012:role/spot-fleet");
  EXPECT_EQ(p[c + "TargetCapacity"], "8");
  EXPECT_EQ(p[c + "OnDemandTargetCapacity"], "2");
  EXPECT_EQ(p[c + "OnDemandAllocationStrategy"], "prioritized");
  EXPECT_EQ(p[c + "AllocationStrategy"], "capacityOptimizedPrioritized");
  EXPECT_EQ(p[c + "Context"], "ctx-2");
  // c5.large in subnet-a failed for spot, but the fleet also buys on demand: kept.
  EXPECT_EQ(p[o + "1.InstanceType"], "c5.large");
  EXPECT_EQ(p[o + "1.SubnetId"], "subnet-a");
  EXPECT_EQ(p.count(o + "1.Priority"), 0u);
  EXPECT_EQ(p[o + "3.InstanceType"], "m5.large");
  EXPECT_EQ(p[o + "3.Priority"], "3");

  t.percent_on_demand.reset();
  t.vm_types_priority.clear();
  t.abis_instance_requirements = {{"VCpuCount", {{"Min", 2}}},
                                  {"MemoryMiB", {{"Min", 1024}}},
                                  {"CpuManufacturers", {"amd"}}};
  order = Order(t, 8);
  order.avoid_pools = {"c5.large|subnet-a|spot"};
  p = Plan(order, "fleet");
  EXPECT_EQ(p.count(c + "OnDemandTargetCapacity"), 0u);
  EXPECT_EQ(p.count(c + "OnDemandAllocationStrategy"), 0u);
  EXPECT_EQ(p[c + "AllocationStrategy"], "priceCapacityOptimized");
  EXPECT_EQ(p[o + "1.InstanceRequirements.CpuManufacturerSet.1"], "amd");
  EXPECT_EQ(p[o + "1.InstanceRequirements.VCpuCount.Min"], "2");
  EXPECT_EQ(p.count(o + "1.InstanceType"), 0u);
}

TEST(AsgPlanTest, SpotGroupSplitsOnDemandByPercentOverEverySubnetInPriorityOrder) {
  Template t = Base(ProviderApi::kAsg);
  t.price_type = PriceType::kSpot;
  t.vm_types = {{"c5.large", 1}, {"m5.large", 2}};
  t.vm_types_priority = {{"m5.large", 0}, {"c5.large", 1}};
  t.percent_on_demand = 40;
  t.context = "ctx-3";
  Params p = Plan(Order(t, 6), "group");
  const std::string m = "MixedInstancesPolicy.";
  EXPECT_EQ(p["VPCZoneIdentifier"], "subnet-a,subnet-b");
  EXPECT_EQ(p["Context"], "ctx-3");
  EXPECT_EQ(p["DesiredCapacity"], "6");
  EXPECT_EQ(p[m + "InstancesDistribution.OnDemandPercentageAboveBaseCapacity"], "40");
  EXPECT_EQ(p[m + "InstancesDistribution.SpotAllocationStrategy"],
            "capacity-optimized-prioritized");
  EXPECT_EQ(p[m + "InstancesDistribution.OnDemandAllocationStrategy"], "prioritized");
  EXPECT_EQ(p[m + "LaunchTemplate.Overrides.member.1.InstanceType"], "m5.large");
  EXPECT_EQ(p[m + "LaunchTemplate.Overrides.member.1.WeightedCapacity"], "2");
  EXPECT_EQ(p[m + "LaunchTemplate.Overrides.member.2.InstanceType"], "c5.large");
}

TEST(AsgPlanTest, RequirementsGoInTheOverrideWithAutoScalingsListSpelling) {
  Template t = Base(ProviderApi::kAsg);
  t.vm_types = {{"c5.large", 1}};
  t.abis_instance_requirements = {{"VCpuCount", {{"Min", 2}}},
                                  {"MemoryMiB", {{"Min", 1024}}},
                                  {"InstanceGenerations", {"current"}}};
  Params p = Plan(Order(t, 3), "group");
  const std::string o = "MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.";
  EXPECT_EQ(p[o + "InstanceRequirements.VCpuCount.Min"], "2");
  EXPECT_EQ(p[o + "InstanceRequirements.InstanceGenerations.member.1"], "current");
  EXPECT_EQ(p.count(o + "InstanceType"), 0u);
  EXPECT_EQ(p.count("MixedInstancesPolicy.InstancesDistribution.OnDemandAllocationStrategy"), 0u)
      << "Auto Scaling refuses prioritized with InstanceRequirements; its default applies";
}

// An instant fleet's per-pool capacity errors come back as failed pools, so that the
// broker leaves those pools out for a while.
TEST(Ec2FleetLaunchTest, InstantFleetCapacityErrorsAreReportedAsFailedPools) {
  httplib::Server server;
  server.Post("/", [](const httplib::Request& req, httplib::Response& res) {
    const std::string action = req.get_param_value("Action");
    std::string xml;
    if (action == "CreateLaunchTemplate") {
      xml = "<CreateLaunchTemplateResponse><launchTemplate><launchTemplateId>lt-1"
            "</launchTemplateId><launchTemplateName>orb-req-1</launchTemplateName>"
            "</launchTemplate></CreateLaunchTemplateResponse>";
    } else if (action == "CreateFleet") {
      xml =
          "<CreateFleetResponse><fleetId>fleet-1</fleetId><errorSet>"
          "<item><launchTemplateAndOverrides><overrides><instanceType>c5.large</instanceType>"
          "<subnetId>subnet-a</subnetId></overrides></launchTemplateAndOverrides>"
          "<lifecycle>spot</lifecycle><errorCode>InsufficientInstanceCapacity</errorCode>"
          "<errorMessage>no c5.large capacity</errorMessage></item>"
          "<item><launchTemplateAndOverrides><overrides><instanceType>m5.large</instanceType>"
          "<subnetId>subnet-b</subnetId></overrides></launchTemplateAndOverrides>"
          "<lifecycle>on-demand</lifecycle><errorCode>VcpuLimitExceeded</errorCode>"
          "<errorMessage>vCPU limit</errorMessage></item>"
          "<item><launchTemplateAndOverrides><overrides><instanceType>r5.large</instanceType>"
          "</overrides></launchTemplateAndOverrides><lifecycle>spot</lifecycle>"
          "<errorCode>InvalidParameterValue</errorCode><errorMessage>bad</errorMessage></item>"
          "</errorSet><fleetInstanceSet/></CreateFleetResponse>";
    } else if (action == "DescribeInstances") {
      xml = "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>";
    } else if (action == "DeleteLaunchTemplate") {
      xml = "<DeleteLaunchTemplateResponse><launchTemplate><launchTemplateId>lt-1"
            "</launchTemplateId></launchTemplate></DeleteLaunchTemplateResponse>";
    } else {
      res.status = 400;
      xml = "<Response><Errors><Error><Code>Unexpected</Code><Message>" + action +
            "</Message></Error></Errors></Response>";
    }
    res.set_content(xml, "text/xml;charset=UTF-8");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { server.listen_after_bind(); });
  LaunchResult result;
  {
    AwsProvider provider(Options("http://127.0.0.1:" + std::to_string(port)));
    Template t = Base(ProviderApi::kEc2Fleet);
    t.price_type = PriceType::kSpot;
    t.vm_types = {{"c5.large", 1}, {"m5.large", 1}, {"r5.large", 1}};
    t.percent_on_demand = 50;
    result = provider.Launch(provider.PlanLaunch(Order(t, 2)));
  }
  server.stop();
  thread.join();
  ASSERT_EQ(result.failed_pools.size(), 2u) << "a parameter error is no pool failure";
  EXPECT_EQ(result.failed_pools[0].pool, "c5.large|subnet-a|spot");
  EXPECT_EQ(result.failed_pools[0].kind, "capacity");
  EXPECT_EQ(result.failed_pools[1].pool, "m5.large|subnet-b|ondemand");
  EXPECT_EQ(result.failed_pools[1].kind, "quota");
  EXPECT_NE(result.message.find("InsufficientInstanceCapacity"), std::string::npos);
  EXPECT_TRUE(result.settled);
}

TEST(Ec2FleetPlanTest, TemplatesOwnLaunchTemplateIsUsedAsIs) {
  Template t = Base(ProviderApi::kEc2Fleet);
  t.fleet_type = FleetType::kRequest;
  t.image_id.clear();
  t.launch_template_id = "lt-0123456789abcdef0";
  t.launch_template_version = "7";
  t.vm_types = {{"c5.large", 1}};
  AwsProvider provider(Options("http://127.0.0.1:9"));
  LaunchPlan plan = provider.PlanLaunch(Order(t, 2));
  EXPECT_TRUE(plan.body.at("launch_template").is_null()) << "no launch template is made";
  Params p = CallOf(plan, "fleet");
  EXPECT_EQ(p["LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId"],
            "lt-0123456789abcdef0");
  EXPECT_EQ(p["LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version"], "7");
  EXPECT_EQ(p.count("LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateName"),
            0u);
}

TEST(LaunchSpecTest, UserDataOverSixteenKilobytesIsATemplateError) {
  Template t = Base(ProviderApi::kRunInstances);
  t.vm_types = {{"c5.large", 1}};
  t.user_data = std::string(16 * 1024, 'x');
  AwsProvider provider(Options("http://127.0.0.1:9"));
  EXPECT_NO_THROW(provider.PlanLaunch(Order(t, 1))) << "exactly 16 KB is accepted";
  t.user_data.push_back('x');
  try {
    provider.PlanLaunch(Order(t, 1));
    FAIL() << "user data over 16 KB must be refused before anything is sent";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_NE(std::string(e.what()).find("template 'T' field 'userData'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("16385 bytes"), std::string::npos) << e.what();
  }
  EXPECT_EQ(provider.CallCount(), 0);
}

}  // namespace
}  // namespace orb
