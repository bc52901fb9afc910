#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "provider/aws/aws_context.h"
#include "provider/provider.h"

namespace orb {

// What every handler derives from a launch order the same way: the image, tags,
// user data, market options and instance profile of the machines to launch.
struct LaunchSpec {
  const LaunchOrder* order = nullptr;
  std::string image;  // AMI id, or "resolve:ssm:<path>" for EC2 to resolve at launch
  std::optional<LaunchTemplateSpec> launch_template;  // the template's own, if given
  std::vector<Tag> tags;                               // orb's tags, then the template's
  std::string user_data;
  std::optional<SpotMarketOptions> spot;  // set for spot templates
  std::string profile_arn;
  std::string profile_name;
  std::vector<BlockDeviceMapping> root_volume;  // empty when the template sets none

  const Template& templ() const { return order->templ; }
};

// Derives the spec of `order`. Reads the template's user-data script and, when the
// template sizes the root volume, asks EC2 for the AMI's root device name. Throws
// Error(kInvalidConfig) naming the template and field for a template that cannot
// launch.
LaunchSpec MakeLaunchSpec(const LaunchOrder& order, AwsContext& context);

// Throws Error(kInvalidConfig) naming the template's file, id and `field`.
[[noreturn]] void ThrowTemplateError(const Template& t, const std::string& field,
                                     const std::string& message);

// The launch template a fleet or group of one request launches from, named `name`
// and created with the request's token (so a replay finds the same one).
CreateLaunchTemplateRequest RequestLaunchTemplate(const LaunchSpec& spec, const std::string& name);

// Creates the launch template of a stored plan (`params`; null = none to create).
// A replay after a crash finds the one made the first time.
void EnsureLaunchTemplate(Ec2Client& ec2, const nlohmann::json& params);

// Deletes the launch template named `name`, logging (not throwing) a failure: it
// only costs a leftover template.
void DeleteLaunchTemplateQuietly(Ec2Client& ec2, const std::string& name);

// EC2 Fleet's and Auto Scaling's spelling of an allocation strategy written in any
// casing; the default is price-capacity-optimized for spot, lowest-price otherwise.
std::string Ec2AllocationStrategy(const std::string& written, bool spot);

// Spot Fleet's spelling of an allocation strategy written in any casing.
std::string SpotFleetAllocationStrategy(const std::string& written);

// Adds to `state` the live instances carrying `request_id`'s tag that the group's own
// member list left out (an answer can lag or be bounded; an emulator may list one
// instance per pool): a machine the cloud launched for the request is never left
// untracked.
void AddTaggedMembers(AwsContext& context, const std::string& group_id,
                      const std::string& request_id, GroupState& state);

}  // namespace orb
