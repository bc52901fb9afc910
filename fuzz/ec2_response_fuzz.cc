// Fuzz target ec2_response: EC2's Query-protocol answers (XML), as AwsClient and
// Ec2Client read them: DescribeInstances, RunInstances, DescribeInstanceStatus,
// TerminateInstances, CreateFleet, DescribeFleets, DescribeFleetInstances,
// DeleteFleets, ModifyFleet, RequestSpotFleet, DescribeSpotFleetRequests,
// DescribeSpotFleetInstances, ModifySpotFleetRequest, CancelSpotFleetRequests,
// CreateTags, DescribeInstanceTypes, DescribeSpotPriceHistory, the launch template
// calls, DescribeImages/Subnets/SecurityGroups/Vpcs/SpotInstanceRequests, and the
// error answers of each (<Response><Errors>..., HTML, truncated bodies).
//
// Input layout and the checks shared by the AWS targets: see aws_fake.h. Besides,
// ids reported as not found or refused are ids that were asked about.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "aws_fake.h"
#include "provider/aws/ec2_client.h"
#include "provider/aws/instance_type_catalog.h"

namespace {

using orb::fuzz::FakeAws;
using orb::fuzz::Within;

const std::vector<std::string> kIds = {"i-0123456789abcdef0", "i-0fedcba9876543210", "i-1"};

orb::FleetLaunchTemplateConfig LaunchConfig() {
  orb::FleetLaunchTemplateConfig c;
  c.launch_template.id = "lt-0123456789abcdef0";
  c.launch_template.version = "$Latest";
  orb::FleetOverride o;
  o.instance_type = "m5.large";
  o.subnet_id = "subnet-1";
  o.weighted_capacity = 1;
  c.overrides.push_back(o);
  return c;
}

void Call(FakeAws& aws, orb::Ec2Client& ec2, int op) {
  switch (op) {
    case 0:
      aws.Run("RunInstances", [&] {
        orb::RunInstancesRequest r;
        r.client_token = "req-fuzz-token";
        r.image_id = "ami-0123456789abcdef0";
        r.instance_type = "m5.large";
        r.min_count = 1;
        r.max_count = 2;
        r.tag_specifications = {{"instance", {{"orb:request-id", "req-1"}}}};
        ec2.RunInstances(r);
      });
      break;
    case 1:
      aws.Run("DescribeInstancesById", [&] {
        auto r = ec2.DescribeInstancesById(kIds);
        ORB_FUZZ_CHECK(Within(r.not_found, kIds), "not_found names an id not asked about");
      });
      break;
    case 2:
      aws.Run("DescribeInstancesByFilter", [&] {
        ec2.DescribeInstancesByFilter({{"tag:orb:request-id", {"req-1"}}}, 5);
      });
      break;
    case 3:
      aws.Run("DescribeInstanceStatus", [&] {
        auto r = ec2.DescribeInstanceStatus(kIds);
        ORB_FUZZ_CHECK(Within(r.not_found, kIds), "not_found names an id not asked about");
      });
      break;
    case 4:
      aws.Run("TerminateInstances", [&] {
        auto r = ec2.TerminateInstances(kIds);
        ORB_FUZZ_CHECK(Within(r.not_found, kIds), "not_found names an id not asked about");
        std::vector<std::string> failed;
        for (const auto& f : r.failed) failed.push_back(f.instance_id);
        ORB_FUZZ_CHECK(Within(failed, kIds), "failed names an id not asked about");
      });
      break;
    case 5:
      aws.Run("CreateFleet", [&] {
        orb::CreateFleetRequest r;
        r.client_token = "req-fuzz-token";
        r.launch_template_configs = {LaunchConfig()};
        r.target_capacity.total = 2;
        r.target_capacity.default_target_capacity_type = "spot";
        auto result = ec2.CreateFleet(r);
        result.InstanceIds();
      });
      break;
    case 6:
      aws.Run("DescribeFleets", [&] { ec2.DescribeFleets({"fleet-1"}); });
      break;
    case 7:
      aws.Run("DescribeFleetInstances", [&] { ec2.DescribeFleetInstances("fleet-1"); });
      break;
    case 8:
      aws.Run("DeleteFleets", [&] { ec2.DeleteFleets({"fleet-1", "fleet-2"}, true); });
      break;
    case 9:
      aws.Run("ModifyFleet", [&] {
        orb::ModifyFleetRequest r;
        r.fleet_id = "fleet-1";
        r.target_capacity = orb::TargetCapacitySpec{.total = 1};
        ec2.ModifyFleet(r);
      });
      break;
    case 10:
      aws.Run("RequestSpotFleet", [&] {
        orb::SpotFleetRequestConfig c;
        c.client_token = "req-fuzz-token";
        c.iam_fleet_role = "arn:aws:iam::123456789012:role/fleet";
        c.launch_template_configs = {LaunchConfig()};
        c.target_capacity = 2;
        ec2.RequestSpotFleet(c);
      });
      break;
    case 11:
      aws.Run("DescribeSpotFleetRequests", [&] { ec2.DescribeSpotFleetRequests({"sfr-1"}); });
      break;
    case 12:
      aws.Run("DescribeSpotFleetInstances", [&] { ec2.DescribeSpotFleetInstances("sfr-1"); });
      break;
    case 13:
      aws.Run("ModifySpotFleetRequest", [&] {
        orb::ModifySpotFleetRequestRequest r;
        r.spot_fleet_request_id = "sfr-1";
        r.target_capacity = 1;
        ec2.ModifySpotFleetRequest(r);
      });
      break;
    case 14:
      aws.Run("CancelSpotFleetRequests", [&] {
        ec2.CancelSpotFleetRequests({"sfr-1", "sfr-2"}, true);
      });
      break;
    case 15:
      aws.Run("CreateTags", [&] { ec2.CreateTags(kIds, {{"orb:broker-id", "b-1"}}); });
      break;
    case 16:
      aws.Run("DescribeInstanceTypes", [&] {
        ec2.DescribeInstanceTypes({"m5.large", "c5.xlarge"});
      });
      break;
    case 17:
      aws.Run("Ec2InstanceTypeFetch", [&] {
        orb::Ec2InstanceTypeFetch(ec2)({"m5.large", "x9.huge"});
      });
      break;
    case 18:
      aws.Run("DescribeSpotPriceHistory", [&] {
        orb::SpotPriceQuery q;
        q.instance_types = {"m5.large"};
        q.product_descriptions = {"Linux/UNIX"};
        ec2.DescribeSpotPriceHistory(q);
      });
      break;
    case 19:
      aws.Run("CreateLaunchTemplate", [&] {
        orb::CreateLaunchTemplateRequest r;
        r.client_token = "req-fuzz-token";
        r.launch_template_name = "orb-req-1";
        r.data.image_id = "ami-0123456789abcdef0";
        r.data.instance_type = "m5.large";
        ec2.CreateLaunchTemplate(r);
      });
      break;
    case 20:
      aws.Run("CreateLaunchTemplateVersion", [&] {
        orb::CreateLaunchTemplateVersionRequest r;
        r.client_token = "req-fuzz-token";
        r.launch_template_id = "lt-0123456789abcdef0";
        r.data.image_id = "ami-0123456789abcdef0";
        ec2.CreateLaunchTemplateVersion(r);
      });
      break;
    case 21:
      aws.Run("DescribeLaunchTemplates", [&] { ec2.DescribeLaunchTemplates({"lt-1"}, {}); });
      break;
    case 22:
      aws.Run("DeleteLaunchTemplate",
              [&] { ec2.DeleteLaunchTemplate(orb::LaunchTemplateSpec{.id = "lt-1"}); });
      break;
    case 23:
      aws.Run("DescribeImages", [&] {
        orb::ImageQuery q;
        q.image_ids = {"ami-0123456789abcdef0"};
        ec2.DescribeImages(q);
      });
      break;
    case 24:
      aws.Run("DescribeSubnets", [&] { ec2.DescribeSubnets({"subnet-1"}); });
      break;
    case 25:
      aws.Run("DescribeSecurityGroups", [&] { ec2.DescribeSecurityGroups({"sg-1"}); });
      break;
    case 26:
      aws.Run("DescribeVpcs", [&] { ec2.DescribeVpcs({"vpc-1"}); });
      break;
    default:
      aws.Run("DescribeSpotInstanceRequests", [&] { ec2.DescribeSpotInstanceRequests({"sir-1"}); });
      break;
  }
}

constexpr int kCalls = 28;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  orb::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FakeAws aws(data, size);
  if (!aws.ok()) return 0;
  orb::Ec2Client ec2(aws.client());
  Call(aws, ec2, aws.op() % kCalls);
  return 0;
}
