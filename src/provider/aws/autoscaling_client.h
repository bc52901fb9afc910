#pragma once

// Typed Auto Scaling calls on top of AwsClient::CallQuery. Failures are AwsError
// (AWS refused, or the last retry failed).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "provider/aws/aws_client.h"
#include "provider/aws/aws_types.h"

namespace orb {

// A tag on an Auto Scaling group, optionally copied to the instances it launches.
struct AsgTag {
  std::string key;
  std::string value;
  bool propagate_at_launch = true;
};

// One instance type a mixed-instances group may launch.
struct AsgOverride {
  std::string instance_type;
  std::string weighted_capacity;  // "" = 1; a whole number as text, as AWS takes it
  std::optional<LaunchTemplateSpec> launch_template;  // for this type only
  // Attribute-based selection instead of `instance_type`: AWS's InstanceRequirements
  // as NormalizeInstanceRequirements returns it (null = none).
  nlohmann::json instance_requirements;
};

// How a mixed-instances group splits capacity between on-demand and spot.
struct InstancesDistribution {
  std::string on_demand_allocation_strategy;  // prioritized | lowest-price
  std::optional<int> on_demand_base_capacity;
  std::optional<int> on_demand_percentage_above_base_capacity;  // 0 = all spot
  std::string spot_allocation_strategy;    // price-capacity-optimized | capacity-optimized |
                                           // capacity-optimized-prioritized | lowest-price
  std::optional<int> spot_instance_pools;  // lowest-price only
  std::string spot_max_price;              // "" = the on-demand price
};

// A group that launches several instance types from one launch template.
struct MixedInstancesPolicy {
  LaunchTemplateSpec launch_template;
  std::vector<AsgOverride> overrides;
  InstancesDistribution distribution;
};

// CreateAutoScalingGroup / UpdateAutoScalingGroup. Set `launch_template` or
// `mixed_instances_policy`. UpdateAutoScalingGroup sends only what is set (sizes
// below zero are left unchanged) and ignores `tags`.
struct AutoScalingGroupRequest {
  std::string name;
  std::optional<LaunchTemplateSpec> launch_template;
  std::optional<MixedInstancesPolicy> mixed_instances_policy;
  int min_size = -1;
  int max_size = -1;
  int desired_capacity = -1;            // -1 = unset (AWS then uses min_size)
  std::string desired_capacity_type;    // "" | units | vcpu | memory-mib
  std::vector<std::string> subnet_ids;  // sent as VPCZoneIdentifier "subnet-a,subnet-b"
  std::vector<std::string> availability_zones;
  std::optional<bool> new_instances_protected_from_scale_in;
  std::optional<bool> capacity_rebalance;
  std::vector<std::string> termination_policies;
  std::string health_check_type;  // EC2 | ELB
  std::optional<int> health_check_grace_period;
  std::optional<int> default_cooldown;
  std::string context;       // the group's Context; "" = unset
  std::vector<AsgTag> tags;  // CreateAutoScalingGroup only
};

// One instance of a group.
struct AsgInstance {
  std::string instance_id;
  std::string instance_type;
  std::string availability_zone;
  std::string lifecycle_state;  // Pending | InService | Terminating | Terminated | ...
  std::string health_status;    // Healthy | Unhealthy
  bool protected_from_scale_in = false;
  std::string weighted_capacity;
  LaunchTemplateSpec launch_template;
};

// An Auto Scaling group as DescribeAutoScalingGroups reports it.
struct AutoScalingGroup {
  std::string name;
  std::string arn;
  std::optional<LaunchTemplateSpec> launch_template;
  std::optional<MixedInstancesPolicy> mixed_instances_policy;
  int min_size = 0;
  int max_size = 0;
  int desired_capacity = 0;
  std::string desired_capacity_type;
  std::vector<std::string> availability_zones;
  std::vector<std::string> subnet_ids;  // from VPCZoneIdentifier
  std::vector<AsgInstance> instances;
  std::vector<AsgTag> tags;
  bool new_instances_protected_from_scale_in = false;
  std::string status;  // "Delete in progress" while being deleted, else ""
  EpochSeconds created_time = 0;
};

// A scaling activity (a launch or termination the group did or tried).
struct ScalingActivity {
  std::string activity_id;
  std::string group_name;
  std::string description;  // "Launching a new EC2 instance: i-..."
  std::string cause;
  std::string status_code;     // Successful | Failed | Cancelled | InProgress | ...
  std::string status_message;  // why it failed, e.g. an InsufficientInstanceCapacity text
  int progress = 0;
  EpochSeconds start_time = 0;
  EpochSeconds end_time = 0;
};

// The Auto Scaling calls orb makes. Thread-safe as AwsClient is.
class AutoScalingClient {
 public:
  // Uses `aws` (not owned; must outlive this client) for every call.
  explicit AutoScalingClient(AwsClient& aws) : aws_(aws) {}

  // Creates a group. Auto Scaling takes no ClientToken, so the call is never
  // retried once it may have reached AWS; after a lost answer the caller finds
  // the group by name (AlreadyExists means it was created).
  void CreateAutoScalingGroup(const AutoScalingGroupRequest& request);

  // The exact wire parameters of CreateAutoScalingGroup (stored before sending).
  static QueryParams BuildCreateAutoScalingGroup(const AutoScalingGroupRequest& request);

  // Sends CreateAutoScalingGroup with exactly `params`.
  void CreateAutoScalingGroup(const QueryParams& params);

  // Changes what is set in `request` (not its tags).
  void UpdateAutoScalingGroup(const AutoScalingGroupRequest& request);

  // Deletes a group; `force_delete` also terminates its instances.
  void DeleteAutoScalingGroup(const std::string& name, bool force_delete);

  // Describes groups by name (all groups when `names` and `filters` are empty),
  // `page_size` (1..100) per call, following every page. Filters: "tag-key",
  // "tag-value", "tag:<key>".
  std::vector<AutoScalingGroup> DescribeAutoScalingGroups(const std::vector<std::string>& names,
                                                          const std::vector<Filter>& filters = {},
                                                          int page_size = 100);

  // Sets a group's desired capacity.
  void SetDesiredCapacity(const std::string& name, int desired_capacity,
                          bool honor_cooldown = false);

  // Terminates one instance of a group, lowering its desired capacity when
  // `decrement_desired_capacity` (else the group replaces it). Never retried once
  // it may have reached AWS.
  ScalingActivity TerminateInstanceInAutoScalingGroup(const std::string& instance_id,
                                                      bool decrement_desired_capacity);

  // Takes instances out of a group (20 per call, AWS's limit), lowering its desired
  // capacity when `decrement_desired_capacity`; the instances keep running until
  // terminated. Throws AwsError for the first chunk AWS refuses.
  void DetachInstances(const std::string& group_name, const std::vector<std::string>& instance_ids,
                       bool decrement_desired_capacity);

  // Adds or overwrites tags on a group.
  void CreateOrUpdateTags(const std::string& group_name, const std::vector<AsgTag>& tags);

  // The group's most recent activities, newest first, at most `max_activities`.
  std::vector<ScalingActivity> DescribeScalingActivities(const std::string& group_name,
                                                         int max_activities = 100);

 private:
  AwsClient& aws_;
};

}  // namespace orb
