// Ec2Client against moto (the AWS emulator on loopback), one test per call, plus
// the batching rules (id chunking, pagination, partial TerminateInstances) and a
// recorded AWS answer for ModifyFleet, which moto lacks.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/error.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/ec2_client.h"
#include "support/moto_server.h"

// Debian's cpp-httplib is a compiled library built with OpenSSL support, which
// changes the layout of its classes: declare the same here.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <httplib.h>

namespace orb {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;

// An Amazon Linux AMI moto ships in every region.
constexpr const char* kImage = "ami-760aaa0f";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Builders for the request pieces the tests use.
LaunchTemplateSpec Lt(const std::string& id, const std::string& version) {
  LaunchTemplateSpec s;
  s.id = id;
  s.version = version;
  return s;
}

FleetOverride Pool(const std::string& type, const std::string& subnet, double weight,
                   std::optional<double> priority = std::nullopt, const std::string& price = "") {
  FleetOverride o;
  o.instance_type = type;
  o.subnet_id = subnet;
  o.weighted_capacity = weight;
  o.priority = priority;
  o.max_price = price;
  return o;
}

BlockDeviceMapping RootVolume(int size_gib, const std::string& type) {
  BlockDeviceMapping d;
  d.device_name = "/dev/xvda";
  d.volume_size_gib = size_gib;
  d.volume_type = type;
  d.delete_on_termination = true;
  return d;
}

// Runs `server` on a free loopback port until destroyed.
class LoopbackServer {
 public:
  explicit LoopbackServer(httplib::Server& server) : server_(server) {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server& server_;
  int port_ = 0;
  std::thread thread_;
};

class Ec2MotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MotoServer::Shared().Reset();
    aws_ = std::make_unique<AwsClient>(
        testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint()));
    ec2_ = std::make_unique<Ec2Client>(*aws_);
  }

  long long Calls() const { return aws_->stats().calls; }

  // A default subnet of the region's default VPC.
  Subnet DefaultSubnet() {
    auto subnets = ec2_->DescribeSubnets({}, {{"default-for-az", {"true"}}});
    EXPECT_THAT(subnets, Not(IsEmpty()));
    return subnets.empty() ? Subnet{} : subnets.front();
  }

  // Launches `count` plain instances in one reservation, tagged `tags`.
  std::vector<std::string> Launch(int count, const std::vector<Tag>& tags = {},
                                  const std::string& token = "") {
    RunInstancesRequest r;
    r.client_token = token.empty() ? "tok-" + std::to_string(++token_seq_) : token;
    r.image_id = kImage;
    r.instance_type = "t3.micro";
    r.min_count = r.max_count = count;
    if (!tags.empty()) r.tag_specifications = {{"instance", tags}};
    std::vector<std::string> ids;
    for (const Instance& i : ec2_->RunInstances(r).instances) ids.push_back(i.instance_id);
    return ids;
  }

  // A launch template for t3.micro instances of kImage.
  LaunchTemplate MakeLaunchTemplate(const std::string& name) {
    CreateLaunchTemplateRequest r;
    r.client_token = "lt-token-" + name;
    r.launch_template_name = name;
    r.data.image_id = kImage;
    r.data.instance_type = "t3.micro";
    return ec2_->CreateLaunchTemplate(r);
  }

  std::unique_ptr<AwsClient> aws_;
  std::unique_ptr<Ec2Client> ec2_;
  int token_seq_ = 0;
};

// ---------------------------------------------------------------------------
// Instances

TEST_F(Ec2MotoTest, RunInstancesLaunchesTaggedInstancesInTheSubnet) {
  const Subnet subnet = DefaultSubnet();
  const auto groups =
      ec2_->DescribeSecurityGroups({}, {{"group-name", {"default"}}, {"vpc-id", {subnet.vpc_id}}});
  ASSERT_THAT(groups, SizeIs(1));
  RunInstancesRequest r;
  r.client_token = "req-1-attempt";
  r.image_id = kImage;
  r.instance_type = "t3.micro";
  r.min_count = r.max_count = 2;
  r.subnet_id = subnet.subnet_id;
  r.security_group_ids = {groups[0].group_id};
  r.user_data = "#!/bin/sh\necho hello\n";
  r.block_device_mappings = {RootVolume(20, "gp3")};
  r.http_tokens = "required";
  r.tag_specifications = {{"instance", {{"orb:request-id", "req-1"}, {"Name", "worker"}}}};

  const EpochSeconds before = NowSeconds();
  const RunInstancesResult result = ec2_->RunInstances(r);

  EXPECT_THAT(result.reservation_id, StartsWith("r-"));
  ASSERT_THAT(result.instances, SizeIs(2));
  for (const Instance& i : result.instances) {
    EXPECT_THAT(i.instance_id, StartsWith("i-"));
    EXPECT_EQ(i.state, "pending");
    EXPECT_EQ(i.instance_type, "t3.micro");
    EXPECT_EQ(i.subnet_id, subnet.subnet_id);
    EXPECT_EQ(i.vpc_id, subnet.vpc_id);
    EXPECT_EQ(i.availability_zone, subnet.availability_zone);
    EXPECT_EQ(i.image_id, kImage);
    EXPECT_FALSE(i.private_ip.empty());
    EXPECT_FALSE(i.private_dns_name.empty());
    EXPECT_EQ(i.lifecycle, "");
    EXPECT_EQ(i.reservation_id, result.reservation_id);
    EXPECT_NEAR(static_cast<double>(i.launch_time), static_cast<double>(before), 120.0);
    EXPECT_EQ(TagValue(i.tags, "orb:request-id"), "req-1");
    EXPECT_EQ(TagValue(i.tags, "Name"), "worker");
  }
}

TEST_F(Ec2MotoTest, RunInstancesWithSpotOptionsLaunchesSpotInstances) {
  RunInstancesRequest r;
  r.client_token = "spot-1";
  r.image_id = kImage;
  r.instance_type = "t3.micro";
  SpotMarketOptions spot;
  spot.max_price = "0.05";
  spot.spot_instance_type = "one-time";
  spot.instance_interruption_behavior = "terminate";
  r.spot = spot;
  const RunInstancesResult result = ec2_->RunInstances(r);
  ASSERT_THAT(result.instances, SizeIs(1));
  EXPECT_EQ(result.instances[0].lifecycle, "spot");
}

TEST_F(Ec2MotoTest, CallsThatCreateCapacityRefuseToRunWithoutAClientToken) {
  const long long calls = Calls();
  RunInstancesRequest run;
  run.image_id = kImage;
  try {
    ec2_->RunInstances(run);
    FAIL() << "RunInstances without a ClientToken was sent";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_THAT(e.what(), HasSubstr("ClientToken"));
  }
  EXPECT_THROW(ec2_->CreateFleet(CreateFleetRequest{}), Error);
  EXPECT_THROW(ec2_->RequestSpotFleet(SpotFleetRequestConfig{}), Error);
  EXPECT_THROW(ec2_->CreateLaunchTemplate(CreateLaunchTemplateRequest{}), Error);
  run.client_token = std::string(65, 'x');
  EXPECT_THROW(ec2_->RunInstances(run), Error);
  run.client_token = "ok";
  run.user_data = std::string(16 * 1024 + 1, 'u');
  EXPECT_THROW(ec2_->RunInstances(run), Error);
  EXPECT_EQ(Calls(), calls) << "nothing may reach AWS";
}

TEST_F(Ec2MotoTest, DescribeInstancesByFilterFollowsEveryPage) {
  std::vector<std::string> launched;
  for (int i = 0; i < 12; ++i) {
    auto ids = Launch(1, {{"orb:test", "paging"}});
    launched.insert(launched.end(), ids.begin(), ids.end());
  }
  Launch(2, {{"orb:test", "other"}});

  const long long calls = Calls();
  const auto instances = ec2_->DescribeInstancesByFilter({{"tag:orb:test", {"paging"}}}, 5);
  std::vector<std::string> seen;
  for (const Instance& i : instances) seen.push_back(i.instance_id);
  EXPECT_THAT(seen, UnorderedElementsAreArray(launched));
  // moto pages by reservation (one instance each here): 5 + 5 + 2.
  EXPECT_EQ(Calls() - calls, 3);
}

TEST_F(Ec2MotoTest, DescribeInstancesByIdSplitsIdsIntoCallsOfAtMost1000) {
  const auto ids = Launch(2500);
  ASSERT_THAT(ids, SizeIs(2500));
  const long long calls = Calls();
  const auto start = std::chrono::steady_clock::now();
  const DescribeInstancesResult result = ec2_->DescribeInstancesById(ids);
  std::printf(
      "[ measure  ] DescribeInstances of 2500 ids against moto: %lld calls, %.0f ms\n",
      Calls() - calls,
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  EXPECT_EQ(Calls() - calls, 3);
  EXPECT_THAT(result.not_found, IsEmpty());
  std::set<std::string> found;
  for (const Instance& i : result.instances) found.insert(i.instance_id);
  EXPECT_EQ(found, std::set<std::string>(ids.begin(), ids.end()));
}

TEST_F(Ec2MotoTest, DescribeInstancesByIdReportsUnknownIdsInsteadOfFailing) {
  const auto ids = Launch(3);
  const std::vector<std::string> asked = {
      ids[0], "i-0123456789abcdef0", ids[1], "i-0fedcba9876543210", ids[2], ids[0]};
  const DescribeInstancesResult result = ec2_->DescribeInstancesById(asked);
  std::vector<std::string> found;
  for (const Instance& i : result.instances) found.push_back(i.instance_id);
  EXPECT_THAT(found, UnorderedElementsAreArray(ids));
  EXPECT_THAT(result.not_found, ElementsAre("i-0123456789abcdef0", "i-0fedcba9876543210"));
}

TEST_F(Ec2MotoTest, DescribeInstancesByIdOfNothingDescribesNothing) {
  Launch(2);
  const long long calls = Calls();
  const DescribeInstancesResult result = ec2_->DescribeInstancesById({});
  EXPECT_THAT(result.instances, IsEmpty());
  EXPECT_EQ(Calls(), calls);
}

TEST_F(Ec2MotoTest, DescribeInstanceStatusSplitsIdsIntoCallsOfAtMost100) {
  const auto ids = Launch(250);
  const long long calls = Calls();
  const DescribeInstanceStatusResult result = ec2_->DescribeInstanceStatus(ids);
  EXPECT_EQ(Calls() - calls, 3);
  EXPECT_THAT(result.not_found, IsEmpty());
  ASSERT_THAT(result.statuses, SizeIs(250));
  std::set<std::string> seen;
  for (const InstanceStatus& s : result.statuses) {
    seen.insert(s.instance_id);
    EXPECT_EQ(s.state, "running");
    EXPECT_FALSE(s.availability_zone.empty());
  }
  EXPECT_EQ(seen, std::set<std::string>(ids.begin(), ids.end()));
}

TEST_F(Ec2MotoTest, TerminateInstancesSetsAsideUnknownIdsAndTerminatesTheRest) {
  const auto ids = Launch(3);
  const std::string unknown1 = "i-0123456789abcdef0", unknown2 = "i-0fedcba9876543210";
  const long long calls = Calls();
  const TerminateInstancesResult result =
      ec2_->TerminateInstances({ids[0], unknown1, ids[1], unknown2, ids[2]});
  // The first call fails as a whole on the unknown ids; AWS names them, so one
  // retry with the rest is enough.
  EXPECT_EQ(Calls() - calls, 2);
  EXPECT_THAT(result.not_found, UnorderedElementsAreArray({unknown1, unknown2}));
  EXPECT_THAT(result.failed, IsEmpty());
  std::vector<std::string> terminating;
  for (const InstanceStateChange& c : result.terminating) {
    terminating.push_back(c.instance_id);
    EXPECT_EQ(c.previous_state, "running");
    EXPECT_THAT(c.current_state, ::testing::AnyOf("shutting-down", "terminated"));
  }
  EXPECT_THAT(terminating, UnorderedElementsAreArray(ids));
  for (const Instance& i : ec2_->DescribeInstancesById(ids).instances) {
    EXPECT_EQ(i.state, "terminated") << i.instance_id;
  }
}

TEST_F(Ec2MotoTest, TerminateInstancesOfOnlyUnknownIdsReportsThemAll) {
  const TerminateInstancesResult result =
      ec2_->TerminateInstances({"i-0123456789abcdef0", "i-0fedcba9876543210"});
  EXPECT_THAT(result.terminating, IsEmpty());
  EXPECT_THAT(result.not_found, ElementsAre("i-0123456789abcdef0", "i-0fedcba9876543210"));
}

TEST_F(Ec2MotoTest, TagsRoundTrip) {
  const auto ids = Launch(2);
  ec2_->CreateTags(ids, {{"orb:request-id", "req-7"}, {"team", "hpc"}});
  ec2_->CreateTags(ids, {{"team", "cae"}});
  const auto instances = ec2_->DescribeInstancesById(ids).instances;
  ASSERT_THAT(instances, SizeIs(2));
  for (const Instance& i : instances) {
    EXPECT_EQ(TagValue(i.tags, "orb:request-id"), "req-7");
    EXPECT_EQ(TagValue(i.tags, "team"), "cae");
  }
  const auto by_tag = ec2_->DescribeInstancesByFilter({{"tag:orb:request-id", {"req-7"}}});
  EXPECT_THAT(by_tag, SizeIs(2));
}

// ---------------------------------------------------------------------------
// Instance types, prices, images, network

TEST_F(Ec2MotoTest, DescribeInstanceTypesReportsCpuMemoryAndArchitecture) {
  const auto types = ec2_->DescribeInstanceTypes({"t3.micro", "m5.large", "m6g.large"});
  ASSERT_THAT(types, SizeIs(3));
  std::map<std::string, Ec2InstanceType> by_name;
  for (const auto& t : types) by_name[t.instance_type] = t;
  EXPECT_EQ(by_name["t3.micro"].vcpus, 2);
  EXPECT_EQ(by_name["t3.micro"].memory_mib, 1024);
  EXPECT_THAT(by_name["t3.micro"].architectures, Contains("x86_64"));
  EXPECT_EQ(by_name["m5.large"].memory_mib, 8192);
  EXPECT_THAT(by_name["m6g.large"].architectures, Contains("arm64"));
  EXPECT_THAT(by_name["m5.large"].usage_classes, Contains("spot"));
}

TEST_F(Ec2MotoTest, DescribeSpotPriceHistoryReportsPricesPerZone) {
  SpotPriceQuery q;
  q.instance_types = {"t3.micro"};
  q.max_results = 2;  // forces pagination
  const auto prices = ec2_->DescribeSpotPriceHistory(q);
  ASSERT_THAT(prices, Not(IsEmpty()));
  std::set<std::string> zones;
  for (const SpotPrice& p : prices) {
    EXPECT_EQ(p.instance_type, "t3.micro");
    EXPECT_GT(p.price, 0);
    EXPECT_GT(p.timestamp, 0);
    zones.insert(p.availability_zone);
  }
  EXPECT_GT(zones.size(), 1u);
}

TEST_F(Ec2MotoTest, DescribeImagesFindsAnImageByName) {
  ImageQuery q;
  q.owners = {"amazon"};
  q.filters = {{"name", {"amzn-ami-hvm-2017.09.1.20171103-x86_64-gp2"}}};
  const auto images = ec2_->DescribeImages(q);
  ASSERT_THAT(images, SizeIs(1));
  EXPECT_EQ(images[0].image_id, kImage);
  EXPECT_EQ(images[0].state, "available");
  EXPECT_EQ(images[0].architecture, "x86_64");
  EXPECT_EQ(images[0].root_device_name, "/dev/xvda");
  EXPECT_GT(images[0].creation_date, 0);
  q.filters.clear();
  q.image_ids = {kImage};
  EXPECT_THAT(ec2_->DescribeImages(q), SizeIs(1));
}

TEST_F(Ec2MotoTest, DescribeVpcsSubnetsAndSecurityGroupsOfTheDefaultVpc) {
  const auto vpcs = ec2_->DescribeVpcs({}, {{"is-default", {"true"}}});
  ASSERT_THAT(vpcs, SizeIs(1));
  EXPECT_TRUE(vpcs[0].is_default);
  EXPECT_THAT(vpcs[0].vpc_id, StartsWith("vpc-"));
  EXPECT_FALSE(vpcs[0].cidr_block.empty());
  EXPECT_THAT(ec2_->DescribeVpcs({vpcs[0].vpc_id}), SizeIs(1));

  const auto subnets = ec2_->DescribeSubnets({}, {{"vpc-id", {vpcs[0].vpc_id}}});
  ASSERT_THAT(subnets, Not(IsEmpty()));
  std::set<std::string> zones;
  for (const Subnet& s : subnets) {
    EXPECT_EQ(s.vpc_id, vpcs[0].vpc_id);
    EXPECT_GT(s.available_ip_address_count, 0);
    zones.insert(s.availability_zone);
  }
  EXPECT_GT(zones.size(), 1u);
  EXPECT_THAT(ec2_->DescribeSubnets({subnets[0].subnet_id}), SizeIs(1));

  const auto groups = ec2_->DescribeSecurityGroups({}, {{"vpc-id", {vpcs[0].vpc_id}}});
  ASSERT_THAT(groups, Not(IsEmpty()));
  EXPECT_EQ(groups[0].vpc_id, vpcs[0].vpc_id);
  EXPECT_THAT(ec2_->DescribeSecurityGroups({groups[0].group_id}), SizeIs(1));
}

// ---------------------------------------------------------------------------
// Launch templates

TEST_F(Ec2MotoTest, LaunchTemplateLifecycle) {
  CreateLaunchTemplateRequest create;
  create.client_token = "lt-1";
  create.launch_template_name = "orb-hpc";
  create.version_description = "first";
  create.data.image_id = kImage;
  create.data.instance_type = "c5.large";
  create.data.user_data = "#!/bin/sh\n";
  create.data.http_tokens = "required";
  create.data.block_device_mappings = {RootVolume(30, "gp3")};
  create.data.tag_specifications = {{"instance", {{"orb:template", "hpc"}}}};
  create.tags = {{"orb:managed", "true"}};
  const LaunchTemplate lt = ec2_->CreateLaunchTemplate(create);
  EXPECT_THAT(lt.launch_template_id, StartsWith("lt-"));
  EXPECT_EQ(lt.launch_template_name, "orb-hpc");
  EXPECT_EQ(lt.default_version, 1);
  EXPECT_EQ(lt.latest_version, 1);

  CreateLaunchTemplateVersionRequest version;
  version.client_token = "lt-1-v2";
  version.launch_template_id = lt.launch_template_id;
  version.source_version = "1";
  version.data.instance_type = "c5.xlarge";
  const LaunchTemplateVersion v2 = ec2_->CreateLaunchTemplateVersion(version);
  EXPECT_EQ(v2.launch_template_id, lt.launch_template_id);
  EXPECT_EQ(v2.version_number, 2);
  EXPECT_FALSE(v2.default_version);

  const auto by_name = ec2_->DescribeLaunchTemplates({}, {"orb-hpc"});
  ASSERT_THAT(by_name, SizeIs(1));
  EXPECT_EQ(by_name[0].launch_template_id, lt.launch_template_id);
  EXPECT_EQ(by_name[0].latest_version, 2);
  EXPECT_EQ(by_name[0].default_version, 1);
  EXPECT_EQ(TagValue(by_name[0].tags, "orb:managed"), "true");
  EXPECT_THAT(ec2_->DescribeLaunchTemplates({lt.launch_template_id}, {}), SizeIs(1));

  const LaunchTemplate deleted = ec2_->DeleteLaunchTemplate(Lt(lt.launch_template_id, ""));
  EXPECT_EQ(deleted.launch_template_id, lt.launch_template_id);
  EXPECT_THAT(ec2_->DescribeLaunchTemplates({}, {}, {{"launch-template-name", {"orb-hpc"}}}),
              IsEmpty());
}

TEST_F(Ec2MotoTest, RunInstancesFromALaunchTemplate) {
  CreateLaunchTemplateRequest create;
  create.client_token = "lt-run";
  create.launch_template_name = "orb-run";
  create.data.image_id = kImage;
  create.data.instance_type = "t3.micro";
  create.data.tag_specifications = {{"instance", {{"orb:template", "run"}}}};
  const LaunchTemplate lt = ec2_->CreateLaunchTemplate(create);
  RunInstancesRequest r;
  r.client_token = "from-lt";
  r.launch_template = Lt(lt.launch_template_id, "$Latest");
  const auto result = ec2_->RunInstances(r);
  ASSERT_THAT(result.instances, SizeIs(1));
  // moto takes the image and the instance tags from the template (not its type).
  EXPECT_EQ(result.instances[0].image_id, kImage);
  EXPECT_EQ(TagValue(result.instances[0].tags, "orb:template"), "run");
}

// ---------------------------------------------------------------------------
// EC2 Fleet

CreateFleetRequest FleetRequest(const LaunchTemplate& lt, const std::string& type, int total,
                                const std::string& capacity_type, const Subnet& subnet) {
  CreateFleetRequest r;
  r.client_token = "fleet-" + type + "-" + std::to_string(total);
  r.type = type;
  r.launch_template_configs = {
      {Lt(lt.launch_template_id, "$Default"),
       {Pool("t3.micro", subnet.subnet_id, 1, 1), Pool("t3.small", subnet.subnet_id, 2, 2)}}};
  r.target_capacity.total = total;
  r.target_capacity.default_target_capacity_type = capacity_type;
  r.spot_allocation_strategy = "price-capacity-optimized";
  r.on_demand_allocation_strategy = "prioritized";
  r.tag_specifications = {{"fleet", {{"orb:request-id", "req-f"}}}};
  if (type == "instant")
    r.tag_specifications.push_back({"instance", {{"orb:request-id", "req-f"}}});
  return r;
}

TEST_F(Ec2MotoTest, CreateFleetInstantLaunchesAtOnceAndDescribeFleetsReportsIt) {
  const LaunchTemplate lt = MakeLaunchTemplate("orb-fleet");
  const Subnet subnet = DefaultSubnet();
  const CreateFleetResult result =
      ec2_->CreateFleet(FleetRequest(lt, "instant", 3, "on-demand", subnet));
  EXPECT_THAT(result.fleet_id, StartsWith("fleet-"));
  EXPECT_THAT(result.errors, IsEmpty());
  const auto ids = result.InstanceIds();
  EXPECT_THAT(ids, Not(IsEmpty()));
  for (const FleetInstances& s : result.instances) {
    EXPECT_EQ(s.pool.lifecycle, "on-demand");
    EXPECT_FALSE(s.instance_type.empty());
  }
  const auto described = ec2_->DescribeInstancesById(ids);
  EXPECT_THAT(described.not_found, IsEmpty());

  const auto fleets = ec2_->DescribeFleets({result.fleet_id});
  ASSERT_THAT(fleets, SizeIs(1));
  EXPECT_EQ(fleets[0].fleet_id, result.fleet_id);
  EXPECT_EQ(fleets[0].type, "instant");
  EXPECT_EQ(fleets[0].target_capacity.total, 3);
  EXPECT_EQ(fleets[0].target_capacity.default_target_capacity_type, "on-demand");
  EXPECT_EQ(TagValue(fleets[0].tags, "orb:request-id"), "req-f");
  EXPECT_EQ(fleets[0].state, "active");
}

TEST_F(Ec2MotoTest, MaintainFleetInstancesAreListedAndDeletingTerminatesThem) {
  const LaunchTemplate lt = MakeLaunchTemplate("orb-maintain");
  const Subnet subnet = DefaultSubnet();
  CreateFleetRequest request = FleetRequest(lt, "maintain", 2, "spot", subnet);
  request.target_capacity.spot = 2;
  request.target_capacity.on_demand = 0;
  const CreateFleetResult created = ec2_->CreateFleet(request);
  ASSERT_THAT(created.fleet_id, StartsWith("fleet-"));

  const auto instances = ec2_->DescribeFleetInstances(created.fleet_id);
  ASSERT_THAT(instances, Not(IsEmpty()));
  for (const FleetInstance& i : instances) {
    EXPECT_THAT(i.instance_id, StartsWith("i-"));
    EXPECT_THAT(i.spot_instance_request_id, StartsWith("sir-"));
    EXPECT_EQ(i.instance_health, "healthy");
    EXPECT_FALSE(i.instance_type.empty());
  }
  const auto fleets = ec2_->DescribeFleets({}, {});
  ASSERT_THAT(fleets, SizeIs(1));
  EXPECT_EQ(fleets[0].type, "maintain");
  EXPECT_EQ(fleets[0].target_capacity.default_target_capacity_type, "spot");

  // Spot capacity goes through spot instance requests.
  const auto requests = ec2_->DescribeSpotInstanceRequests({});
  ASSERT_THAT(requests, Not(IsEmpty()));
  ASSERT_EQ(requests.size(), instances.size());
  for (const SpotInstanceRequest& s : requests) {
    EXPECT_THAT(s.spot_instance_request_id, StartsWith("sir-"));
    EXPECT_EQ(s.state, "active");
    EXPECT_EQ(s.status_code, "fulfilled");
    EXPECT_THAT(s.instance_id, StartsWith("i-"));
    EXPECT_FALSE(s.instance_type.empty());
  }
  EXPECT_THAT(ec2_->DescribeSpotInstanceRequests({requests[0].spot_instance_request_id}),
              SizeIs(1));

  const auto deleted = ec2_->DeleteFleets({created.fleet_id}, /*terminate_instances=*/true);
  ASSERT_THAT(deleted, SizeIs(1));
  EXPECT_EQ(deleted[0].fleet_id, created.fleet_id);
  EXPECT_EQ(deleted[0].error_code, "");
  EXPECT_EQ(deleted[0].current_state, "deleted_terminating");
  EXPECT_EQ(deleted[0].previous_state, "active");
}

// ModifyFleet: moto has no ModifyFleet, so the call is checked against an answer
// shaped as AWS sends it, served on loopback; the request is checked too.
TEST(Ec2RecordedTest, ModifyFleetSendsTheNewTargetAndReadsAwsAnswer) {
  const std::string answer = ReadFile(std::string(ORB_TEST_DATA_DIR) + "/aws/modify_fleet.xml");
  ASSERT_FALSE(answer.empty());
  httplib::Server server;
  std::string body;
  std::string authorization;
  server.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    body = req.body;
    authorization = req.get_header_value("Authorization");
    res.set_content(answer, "text/xml;charset=UTF-8");
  });
  bool accepted = false;
  {
    LoopbackServer loopback(server);
    AwsClient aws = testing::MakeTestAwsClient(loopback.endpoint());
    Ec2Client ec2(aws);
    ModifyFleetRequest r;
    r.fleet_id = "fleet-73fbd2ce-aa30-494c-8788-1cee4EXAMPLE";
    TargetCapacitySpec target;
    target.total = 20;
    target.default_target_capacity_type = "spot";
    r.target_capacity = target;
    r.excess_capacity_termination_policy = "no-termination";
    accepted = ec2.ModifyFleet(r);
  }

  EXPECT_TRUE(accepted);
  EXPECT_THAT(body, HasSubstr("Action=ModifyFleet"));
  EXPECT_THAT(body, HasSubstr("FleetId=fleet-73fbd2ce-aa30-494c-8788-1cee4EXAMPLE"));
  EXPECT_THAT(body, HasSubstr("TargetCapacitySpecification.TotalTargetCapacity=20"));
  EXPECT_THAT(body, HasSubstr("TargetCapacitySpecification.DefaultTargetCapacityType=spot"));
  EXPECT_THAT(body, HasSubstr("ExcessCapacityTerminationPolicy=no-termination"));
  EXPECT_THAT(authorization, StartsWith("AWS4-HMAC-SHA256 Credential="));
}

// An instant fleet that got part of its capacity: the pools that failed and the
// instances launched, as AWS reports them (moto's answer names no pools).
TEST(Ec2RecordedTest, CreateFleetReadsFailedPoolsAndLaunchedInstances) {
  const std::string answer =
      ReadFile(std::string(ORB_TEST_DATA_DIR) + "/aws/create_fleet_instant_partial.xml");
  ASSERT_FALSE(answer.empty());
  httplib::Server server;
  std::string body;
  server.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    body = req.body;
    res.set_content(answer, "text/xml;charset=UTF-8");
  });
  CreateFleetResult result;
  {
    LoopbackServer loopback(server);
    AwsClient aws = testing::MakeTestAwsClient(loopback.endpoint());
    Ec2Client ec2(aws);
    CreateFleetRequest r;
    r.client_token = "req-9-0";
    r.launch_template_configs = {
        {Lt("lt-0a1b2c3d4e5f60718", "3"),
         {Pool("c5.large", "subnet-0a1b2c3d", 1, 1), Pool("c5.xlarge", "subnet-4e5f6a7b", 2, 2)}}};
    r.target_capacity.total = 4;
    r.target_capacity.spot = 4;
    r.target_capacity.default_target_capacity_type = "spot";
    r.spot_allocation_strategy = "capacity-optimized-prioritized";
    r.spot_min_target_capacity = 1;
    r.tag_specifications = {{"instance", {{"orb:request-id", "req-9"}}}};
    result = ec2.CreateFleet(r);
  }
  EXPECT_EQ(result.fleet_id, "fleet-5d8f1a2b-3c4d-4e5f-a6b7-c8d9e0f1a2b3");
  ASSERT_THAT(result.errors, SizeIs(1));
  const FleetError& e = result.errors[0];
  EXPECT_EQ(e.error_code, "InsufficientInstanceCapacity");
  EXPECT_THAT(e.error_message, HasSubstr("c5.large capacity"));
  EXPECT_EQ(e.pool.lifecycle, "spot");
  EXPECT_EQ(e.pool.launch_template.id, "lt-0a1b2c3d4e5f60718");
  EXPECT_EQ(e.pool.launch_template.version, "3");
  EXPECT_EQ(e.pool.override.instance_type, "c5.large");
  EXPECT_EQ(e.pool.override.subnet_id, "subnet-0a1b2c3d");
  ASSERT_THAT(result.instances, SizeIs(1));
  EXPECT_EQ(result.instances[0].instance_type, "c5.xlarge");
  EXPECT_EQ(result.instances[0].pool.override.availability_zone, "us-east-1b");
  EXPECT_EQ(result.instances[0].pool.override.weighted_capacity, 2.0);
  EXPECT_EQ(result.instances[0].pool.override.priority, 2.0);
  EXPECT_THAT(result.InstanceIds(), ElementsAre("i-0123456789abcdef0", "i-0fedcba9876543210"));

  for (const char* param :
       {"Action=CreateFleet", "ClientToken=req-9-0", "Type=instant",
        "LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId=lt-0a1b2c3d4e5f60718",
        "LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=3",
        "LaunchTemplateConfigs.1.Overrides.2.InstanceType=c5.xlarge",
        "LaunchTemplateConfigs.1.Overrides.2.WeightedCapacity=2",
        "LaunchTemplateConfigs.1.Overrides.2.Priority=2",
        "TargetCapacitySpecification.TotalTargetCapacity=4",
        "TargetCapacitySpecification.SpotTargetCapacity=4",
        "SpotOptions.AllocationStrategy=capacity-optimized-prioritized",
        "SpotOptions.MinTargetCapacity=1", "TagSpecification.1.ResourceType=instance",
        "TagSpecification.1.Tag.1.Key=orb%3Arequest-id", "TagSpecification.1.Tag.1.Value=req-9"}) {
    EXPECT_THAT(body, HasSubstr(param));
  }
}

// When AWS's error names only some of the bad ids, the rest is retried one id
// per call, so that good ids are still terminated and every bad one reported.
// A stand-in EC2 on loopback names only the first unknown id of each call.
TEST(Ec2RecordedTest, TerminateInstancesFallsBackToOneIdPerCall) {
  const std::set<std::string> known = {"i-00000000000000001", "i-00000000000000002",
                                       "i-00000000000000003"};
  httplib::Server server;
  int calls = 0;
  server.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    std::vector<std::string> ids;
    std::stringstream body(req.body);
    for (std::string pair; std::getline(body, pair, '&');) {
      if (pair.rfind("InstanceId.", 0) == 0) ids.push_back(pair.substr(pair.find('=') + 1));
    }
    for (const std::string& id : ids) {
      if (known.count(id)) continue;
      const bool malformed = id.rfind("i-", 0) != 0;
      res.status = 400;
      res.set_content(
          std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>") +
              (malformed ? "InvalidInstanceID.Malformed" : "InvalidInstanceID.NotFound") +
              "</Code><Message>" +
              (malformed ? "Invalid id: \"" + id + "\""
                         : "The instance ID '" + id + "' does not exist") +
              "</Message></Error></Errors><RequestID>r-1</RequestID></Response>",
          "text/xml");
      return;
    }
    std::string items;
    for (const std::string& id : ids) {
      items += "<item><instanceId>" + id +
               "</instanceId><currentState><code>32</code><name>shutting-down</name></currentState>"
               "<previousState><code>16</code><name>running</name></previousState></item>";
    }
    res.set_content(
        "<TerminateInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
        "<requestId>r-2</requestId><instancesSet>" +
            items + "</instancesSet></TerminateInstancesResponse>",
        "text/xml");
  });
  TerminateInstancesResult result;
  {
    LoopbackServer loopback(server);
    AwsClient aws = testing::MakeTestAwsClient(loopback.endpoint());
    Ec2Client ec2(aws);
    result =
        ec2.TerminateInstances({"i-00000000000000001", "i-0000000000000dead", "i-00000000000000002",
                                "bogus", "i-0000000000000beef", "i-00000000000000003"});
  }
  std::vector<std::string> terminating;
  for (const auto& c : result.terminating) terminating.push_back(c.instance_id);
  EXPECT_THAT(terminating, UnorderedElementsAreArray({"i-00000000000000001", "i-00000000000000002",
                                                      "i-00000000000000003"}));
  EXPECT_THAT(result.not_found,
              UnorderedElementsAreArray({"i-0000000000000dead", "i-0000000000000beef"}));
  ASSERT_THAT(result.failed, SizeIs(1));
  EXPECT_EQ(result.failed[0].instance_id, "bogus");
  EXPECT_EQ(result.failed[0].code, "InvalidInstanceID.Malformed");
  // 1 (all) + 1 (without the named id) + 5 (one per remaining id).
  EXPECT_EQ(calls, 7);
}

// ---------------------------------------------------------------------------
// Spot Fleet

TEST_F(Ec2MotoTest, SpotFleetLifecycle) {
  const LaunchTemplate lt = MakeLaunchTemplate("orb-spot-fleet");
  const Subnet subnet = DefaultSubnet();
  SpotFleetRequestConfig c;
  c.client_token = "sfr-token";
  c.iam_fleet_role = "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role";
  c.type = "maintain";
  c.launch_template_configs = {
      {Lt(lt.launch_template_id, "1"), {Pool("t3.micro", subnet.subnet_id, 1, {}, "0.05")}}};
  c.target_capacity = 3;
  c.allocation_strategy = "capacityOptimized";
  c.valid_until = NowSeconds() + 3600;
  c.tag_specifications = {{"spot-fleet-request", {{"orb:request-id", "req-s"}}}};
  const std::string id = ec2_->RequestSpotFleet(c);
  EXPECT_THAT(id, StartsWith("sfr-"));

  auto requests = ec2_->DescribeSpotFleetRequests({id});
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_EQ(requests[0].spot_fleet_request_id, id);
  EXPECT_EQ(requests[0].target_capacity, 3);
  EXPECT_EQ(requests[0].iam_fleet_role, c.iam_fleet_role);
  EXPECT_EQ(TagValue(requests[0].tags, "orb:request-id"), "req-s");
  EXPECT_EQ(requests[0].allocation_strategy, "capacityOptimized");
  EXPECT_THAT(requests[0].state, ::testing::AnyOf("submitted", "active"));
  EXPECT_THAT(ec2_->DescribeSpotFleetRequests({}), SizeIs(1));

  const auto instances = ec2_->DescribeSpotFleetInstances(id);
  EXPECT_THAT(instances, SizeIs(3));

  ModifySpotFleetRequestRequest m;
  m.spot_fleet_request_id = id;
  m.target_capacity = 1;
  EXPECT_TRUE(ec2_->ModifySpotFleetRequest(m));
  requests = ec2_->DescribeSpotFleetRequests({id});
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_EQ(requests[0].target_capacity, 1);

  const auto cancelled = ec2_->CancelSpotFleetRequests({id}, /*terminate_instances=*/true);
  ASSERT_THAT(cancelled, SizeIs(1));
  EXPECT_EQ(cancelled[0].fleet_id, id);
  EXPECT_EQ(cancelled[0].error_code, "");
  EXPECT_EQ(cancelled[0].current_state, "cancelled_terminating");
}

// ---------------------------------------------------------------------------
// How fast moto answers, for the issue notes (printed, not asserted).

TEST_F(Ec2MotoTest, MeasureDescribeInstancesCallsPerSecond) {
  const auto ids = Launch(10);
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500)) {
    ec2_->DescribeInstancesById(ids);
    ++calls;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measure  ] DescribeInstances (10 ids) against moto: %.1f calls/s\n",
              calls / seconds);
}

}  // namespace
}  // namespace orb
