// Fuzz target autoscaling_response: the Auto Scaling and STS Query-protocol answers
// (XML, <ActionResult> wrapped, <member> lists), as AwsClient, AutoScalingClient
// and StsClient read them: DescribeAutoScalingGroups (mixed instances policies,
// instances, tags), DescribeScalingActivities, TerminateInstanceInAutoScalingGroup,
// the group changes, GetCallerIdentity and AssumeRole, and the <ErrorResponse>
// answers of each.
//
// Input layout and the checks shared by the AWS targets: see aws_fake.h. Besides,
// DescribeScalingActivities returns at most the activities asked for, and the
// credentials AssumeRole returns are complete.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "aws_fake.h"
#include "provider/aws/autoscaling_client.h"
#include "provider/aws/sts_client.h"

namespace {

using orb::fuzz::FakeAws;

orb::AutoScalingGroupRequest GroupRequest() {
  orb::AutoScalingGroupRequest r;
  r.name = "orb-req-1";
  r.launch_template = orb::LaunchTemplateSpec{.id = "lt-1", .version = "$Latest"};
  r.min_size = 0;
  r.max_size = 4;
  r.desired_capacity = 2;
  r.subnet_ids = {"subnet-1", "subnet-2"};
  r.tags = {{"orb:request-id", "req-1", true}};
  return r;
}

void Call(FakeAws& aws, int op) {
  orb::AutoScalingClient asg(aws.client());
  orb::StsClient sts(aws.client());
  switch (op) {
    case 0:
      aws.Run("CreateAutoScalingGroup", [&] { asg.CreateAutoScalingGroup(GroupRequest()); });
      break;
    case 1:
      aws.Run("UpdateAutoScalingGroup", [&] { asg.UpdateAutoScalingGroup(GroupRequest()); });
      break;
    case 2:
      aws.Run("DeleteAutoScalingGroup", [&] { asg.DeleteAutoScalingGroup("orb-req-1", true); });
      break;
    case 3:
      aws.Run("DescribeAutoScalingGroups", [&] { asg.DescribeAutoScalingGroups({"orb-req-1"}); });
      break;
    case 4:
      aws.Run("DescribeAutoScalingGroups(filter)", [&] {
        asg.DescribeAutoScalingGroups({}, {{"tag:orb:broker-id", {"b-1"}}}, 1);
      });
      break;
    case 5:
      aws.Run("SetDesiredCapacity", [&] { asg.SetDesiredCapacity("orb-req-1", 3); });
      break;
    case 6:
      aws.Run("TerminateInstanceInAutoScalingGroup",
              [&] { asg.TerminateInstanceInAutoScalingGroup("i-0123456789abcdef0", true); });
      break;
    case 7:
      aws.Run("DetachInstances", [&] {
        std::vector<std::string> ids;
        for (int i = 0; i < 25; ++i) ids.push_back("i-" + std::to_string(i));
        asg.DetachInstances("orb-req-1", ids, true);
      });
      break;
    case 8:
      aws.Run("CreateOrUpdateTags", [&] {
        asg.CreateOrUpdateTags("orb-req-1", {{"orb:broker-id", "b-1", false}});
      });
      break;
    case 9:
      aws.Run("DescribeScalingActivities", [&] {
        auto activities = asg.DescribeScalingActivities("orb-req-1", 3);
        ORB_FUZZ_CHECK(activities.size() <= 3, std::to_string(activities.size()));
      });
      break;
    case 10:
      aws.Run("GetCallerIdentity", [&] { sts.GetCallerIdentity(); });
      break;
    default:
      aws.Run("AssumeRole", [&] {
        orb::AssumeRoleRequest r;
        r.role_arn = "arn:aws:iam::123456789012:role/orb";
        r.session_name = "orb-fuzz";
        const orb::AssumedRole role = sts.AssumeRole(r);
        ORB_FUZZ_CHECK(
            !role.credentials.access_key_id.empty() && !role.credentials.secret_access_key.empty(),
            "AssumeRole returned incomplete credentials");
      });
      break;
  }
}

constexpr int kCalls = 12;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  orb::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FakeAws aws(data, size);
  if (!aws.ok()) return 0;
  Call(aws, aws.op() % kCalls);
  return 0;
}
