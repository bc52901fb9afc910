#include "provider/aws/autoscaling_client.h"

#include <algorithm>
#include <utility>

#include "common/strings.h"
#include "provider/aws/aws_xml.h"
#include "provider/aws/instance_requirements.h"

namespace orb {
namespace {

namespace x = aws_xml;

std::string Bool(bool b) { return b ? "true" : "false"; }

void AddIf(QueryParams& p, const std::string& name, const std::string& value) {
  if (!value.empty()) p.Add(name, value);
}

void AddIf(QueryParams& p, const std::string& name, const std::optional<int>& value) {
  if (value) p.Add(name, std::to_string(*value));
}

void AddIf(QueryParams& p, const std::string& name, const std::optional<bool>& value) {
  if (value) p.Add(name, Bool(*value));
}

void AddLaunchTemplate(QueryParams& p, const std::string& prefix, const LaunchTemplateSpec& lt) {
  AddIf(p, prefix + ".LaunchTemplateId", lt.id);
  if (lt.id.empty()) AddIf(p, prefix + ".LaunchTemplateName", lt.name);
  AddIf(p, prefix + ".Version", lt.version);
}

void AddMixedInstancesPolicy(QueryParams& p, const MixedInstancesPolicy& m) {
  const std::string lt = "MixedInstancesPolicy.LaunchTemplate";
  AddLaunchTemplate(p, lt + ".LaunchTemplateSpecification", m.launch_template);
  for (std::size_t i = 0; i < m.overrides.size(); ++i) {
    const AsgOverride& o = m.overrides[i];
    const std::string op = lt + ".Overrides.member." + std::to_string(i + 1);
    AddIf(p, op + ".InstanceType", o.instance_type);
    AddIf(p, op + ".WeightedCapacity", o.weighted_capacity);
    AddInstanceRequirements(p, op + ".InstanceRequirements", o.instance_requirements,
                            RequirementsDialect::kAutoScaling);
    if (o.launch_template) {
      AddLaunchTemplate(p, op + ".LaunchTemplateSpecification", *o.launch_template);
    }
  }
  const std::string d = "MixedInstancesPolicy.InstancesDistribution";
  const InstancesDistribution& dist = m.distribution;
  AddIf(p, d + ".OnDemandAllocationStrategy", dist.on_demand_allocation_strategy);
  AddIf(p, d + ".OnDemandBaseCapacity", dist.on_demand_base_capacity);
  AddIf(p, d + ".OnDemandPercentageAboveBaseCapacity",
        dist.on_demand_percentage_above_base_capacity);
  AddIf(p, d + ".SpotAllocationStrategy", dist.spot_allocation_strategy);
  AddIf(p, d + ".SpotInstancePools", dist.spot_instance_pools);
  AddIf(p, d + ".SpotMaxPrice", dist.spot_max_price);
}

void AddTags(QueryParams& p, const std::string& group, const std::vector<AsgTag>& tags) {
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const std::string t = "Tags.member." + std::to_string(i + 1);
    p.Add(t + ".ResourceId", group);
    p.Add(t + ".ResourceType", "auto-scaling-group");
    p.Add(t + ".Key", tags[i].key);
    p.Add(t + ".Value", tags[i].value);
    p.Add(t + ".PropagateAtLaunch", Bool(tags[i].propagate_at_launch));
  }
}

// The parameters CreateAutoScalingGroup and UpdateAutoScalingGroup share.
QueryParams GroupParams(const AutoScalingGroupRequest& r) {
  QueryParams p;
  p.Add("AutoScalingGroupName", r.name);
  if (r.launch_template) AddLaunchTemplate(p, "LaunchTemplate", *r.launch_template);
  if (r.mixed_instances_policy) AddMixedInstancesPolicy(p, *r.mixed_instances_policy);
  if (r.min_size >= 0) p.Add("MinSize", std::to_string(r.min_size));
  if (r.max_size >= 0) p.Add("MaxSize", std::to_string(r.max_size));
  if (r.desired_capacity >= 0) p.Add("DesiredCapacity", std::to_string(r.desired_capacity));
  AddIf(p, "DesiredCapacityType", r.desired_capacity_type);
  if (!r.subnet_ids.empty()) p.Add("VPCZoneIdentifier", Join(r.subnet_ids, ","));
  p.AddList("AvailabilityZones.member", r.availability_zones);
  AddIf(p, "NewInstancesProtectedFromScaleIn", r.new_instances_protected_from_scale_in);
  AddIf(p, "CapacityRebalance", r.capacity_rebalance);
  p.AddList("TerminationPolicies.member", r.termination_policies);
  AddIf(p, "HealthCheckType", r.health_check_type);
  AddIf(p, "HealthCheckGracePeriod", r.health_check_grace_period);
  AddIf(p, "DefaultCooldown", r.default_cooldown);
  AddIf(p, "Context", r.context);
  return p;
}

LaunchTemplateSpec ParseLaunchTemplate(pugi::xml_node n) {
  return {x::Text(n, "LaunchTemplateId"), x::Text(n, "LaunchTemplateName"), x::Text(n, "Version")};
}

ScalingActivity ParseActivity(pugi::xml_node n) {
  ScalingActivity a;
  a.activity_id = x::Text(n, "ActivityId");
  a.group_name = x::Text(n, "AutoScalingGroupName");
  a.description = x::Text(n, "Description");
  a.cause = x::Text(n, "Cause");
  a.status_code = x::Text(n, "StatusCode");
  a.status_message = x::Text(n, "StatusMessage");
  a.progress = static_cast<int>(x::Int(n, "Progress"));
  a.start_time = x::Time(n, "StartTime");
  a.end_time = x::Time(n, "EndTime");
  return a;
}

AutoScalingGroup ParseGroup(pugi::xml_node n) {
  AutoScalingGroup g;
  g.name = x::Text(n, "AutoScalingGroupName");
  g.arn = x::Text(n, "AutoScalingGroupARN");
  if (pugi::xml_node lt = n.child("LaunchTemplate")) g.launch_template = ParseLaunchTemplate(lt);
  if (pugi::xml_node m = n.child("MixedInstancesPolicy")) {
    MixedInstancesPolicy policy;
    pugi::xml_node lt = m.child("LaunchTemplate");
    policy.launch_template = ParseLaunchTemplate(lt.child("LaunchTemplateSpecification"));
    x::ForEach(lt.child("Overrides"), "member", [&](pugi::xml_node o) {
      AsgOverride ov;
      ov.instance_type = x::Text(o, "InstanceType");
      ov.weighted_capacity = x::Text(o, "WeightedCapacity");
      if (pugi::xml_node s = o.child("LaunchTemplateSpecification")) {
        ov.launch_template = ParseLaunchTemplate(s);
      }
      policy.overrides.push_back(std::move(ov));
    });
    pugi::xml_node d = m.child("InstancesDistribution");
    InstancesDistribution& dist = policy.distribution;
    dist.on_demand_allocation_strategy = x::Text(d, "OnDemandAllocationStrategy");
    if (d.child("OnDemandBaseCapacity")) {
      dist.on_demand_base_capacity = static_cast<int>(x::Int(d, "OnDemandBaseCapacity"));
    }
    if (d.child("OnDemandPercentageAboveBaseCapacity")) {
      dist.on_demand_percentage_above_base_capacity =
          static_cast<int>(x::Int(d, "OnDemandPercentageAboveBaseCapacity"));
    }
    dist.spot_allocation_strategy = x::Text(d, "SpotAllocationStrategy");
    if (d.child("SpotInstancePools")) {
      dist.spot_instance_pools = static_cast<int>(x::Int(d, "SpotInstancePools"));
    }
    dist.spot_max_price = x::Text(d, "SpotMaxPrice");
    g.mixed_instances_policy = std::move(policy);
  }
  g.min_size = static_cast<int>(x::Int(n, "MinSize"));
  g.max_size = static_cast<int>(x::Int(n, "MaxSize"));
  g.desired_capacity = static_cast<int>(x::Int(n, "DesiredCapacity"));
  g.desired_capacity_type = x::Text(n, "DesiredCapacityType");
  x::ForEach(n.child("AvailabilityZones"), "member",
             [&](pugi::xml_node z) { g.availability_zones.push_back(x::Text(z)); });
  g.subnet_ids = SplitTrimmed(x::Text(n, "VPCZoneIdentifier"), ',');
  x::ForEach(n.child("Instances"), "member", [&](pugi::xml_node i) {
    AsgInstance inst;
    inst.instance_id = x::Text(i, "InstanceId");
    inst.instance_type = x::Text(i, "InstanceType");
    inst.availability_zone = x::Text(i, "AvailabilityZone");
    inst.lifecycle_state = x::Text(i, "LifecycleState");
    inst.health_status = x::Text(i, "HealthStatus");
    inst.protected_from_scale_in = x::Bool(i, "ProtectedFromScaleIn");
    inst.weighted_capacity = x::Text(i, "WeightedCapacity");
    inst.launch_template = ParseLaunchTemplate(i.child("LaunchTemplate"));
    g.instances.push_back(std::move(inst));
  });
  x::ForEach(n.child("Tags"), "member", [&](pugi::xml_node t) {
    g.tags.push_back({x::Text(t, "Key"), x::Text(t, "Value"), x::Bool(t, "PropagateAtLaunch")});
  });
  g.new_instances_protected_from_scale_in = x::Bool(n, "NewInstancesProtectedFromScaleIn");
  g.status = x::Text(n, "Status");
  g.created_time = x::Time(n, "CreatedTime");
  return g;
}

QueryResponse Call(AwsClient& aws, std::string_view action, const QueryParams& p,
                   bool idempotent = true) {
  CallOptions options;
  options.idempotent = idempotent;
  return aws.CallQuery(AwsService::kAutoScaling, action, p, options);
}

}  // namespace

QueryParams AutoScalingClient::BuildCreateAutoScalingGroup(const AutoScalingGroupRequest& r) {
  QueryParams p = GroupParams(r);
  AddTags(p, r.name, r.tags);
  return p;
}

void AutoScalingClient::CreateAutoScalingGroup(const AutoScalingGroupRequest& r) {
  CreateAutoScalingGroup(BuildCreateAutoScalingGroup(r));
}

void AutoScalingClient::CreateAutoScalingGroup(const QueryParams& p) {
  // No ClientToken exists for this call: a blind retry after a lost answer would
  // report AlreadyExists for the group the first attempt created.
  Call(aws_, "CreateAutoScalingGroup", p, /*idempotent=*/false);
}

void AutoScalingClient::UpdateAutoScalingGroup(const AutoScalingGroupRequest& r) {
  Call(aws_, "UpdateAutoScalingGroup", GroupParams(r));
}

void AutoScalingClient::DeleteAutoScalingGroup(const std::string& name, bool force_delete) {
  QueryParams p;
  p.Add("AutoScalingGroupName", name);
  if (force_delete) p.Add("ForceDelete", "true");
  Call(aws_, "DeleteAutoScalingGroup", p);
}

std::vector<AutoScalingGroup> AutoScalingClient::DescribeAutoScalingGroups(
    const std::vector<std::string>& names, const std::vector<Filter>& filters, int page_size) {
  QueryParams p;
  p.AddList("AutoScalingGroupNames.member", names);
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const std::string f = "Filters.member." + std::to_string(i + 1);
    p.Add(f + ".Name", filters[i].name);
    p.AddList(f + ".Values.member", filters[i].values);
  }
  p.Add("MaxRecords", std::to_string(std::clamp(page_size, 1, 100)));
  std::vector<AutoScalingGroup> groups;
  x::ForEachPage(aws_, AwsService::kAutoScaling, "DescribeAutoScalingGroups", p, "NextToken",
                 "DescribeAutoScalingGroupsResult", [&](pugi::xml_node result) {
                   x::ForEach(result.child("AutoScalingGroups"), "member",
                              [&](pugi::xml_node g) { groups.push_back(ParseGroup(g)); });
                 });
  return groups;
}

void AutoScalingClient::SetDesiredCapacity(const std::string& name, int desired_capacity,
                                           bool honor_cooldown) {
  QueryParams p;
  p.Add("AutoScalingGroupName", name);
  p.Add("DesiredCapacity", std::to_string(desired_capacity));
  p.Add("HonorCooldown", Bool(honor_cooldown));
  Call(aws_, "SetDesiredCapacity", p);
}

ScalingActivity AutoScalingClient::TerminateInstanceInAutoScalingGroup(
    const std::string& instance_id, bool decrement_desired_capacity) {
  QueryParams p;
  p.Add("InstanceId", instance_id);
  p.Add("ShouldDecrementDesiredCapacity", Bool(decrement_desired_capacity));
  const QueryResponse r =
      Call(aws_, "TerminateInstanceInAutoScalingGroup", p, /*idempotent=*/false);
  return ParseActivity(
      r.root().child("TerminateInstanceInAutoScalingGroupResult").child("Activity"));
}

void AutoScalingClient::DetachInstances(const std::string& group_name,
                                        const std::vector<std::string>& instance_ids,
                                        bool decrement_desired_capacity) {
  constexpr std::size_t kMaxPerCall = 20;  // AWS's limit for DetachInstances
  for (std::size_t i = 0; i < instance_ids.size(); i += kMaxPerCall) {
    std::vector<std::string> chunk(
        instance_ids.begin() + static_cast<std::ptrdiff_t>(i),
        instance_ids.begin() + static_cast<std::ptrdiff_t>(std::min(i + kMaxPerCall,
                                                                    instance_ids.size())));
    QueryParams p;
    p.Add("AutoScalingGroupName", group_name);
    p.AddList("InstanceIds.member", chunk);
    p.Add("ShouldDecrementDesiredCapacity", Bool(decrement_desired_capacity));
    // Detaching an instance twice fails (it is no longer in the group), so the
    // call is not retried once it may have reached AWS.
    Call(aws_, "DetachInstances", p, /*idempotent=*/false);
  }
}

void AutoScalingClient::CreateOrUpdateTags(const std::string& group_name,
                                           const std::vector<AsgTag>& tags) {
  if (tags.empty()) return;
  QueryParams p;
  AddTags(p, group_name, tags);
  Call(aws_, "CreateOrUpdateTags", p);
}

std::vector<ScalingActivity> AutoScalingClient::DescribeScalingActivities(
    const std::string& group_name, int max_activities) {
  std::vector<ScalingActivity> out;
  if (max_activities <= 0) return out;
  std::string token;
  while (static_cast<int>(out.size()) < max_activities) {
    QueryParams p;
    p.Add("AutoScalingGroupName", group_name);
    p.Add("MaxRecords",
          std::to_string(std::min(100, max_activities - static_cast<int>(out.size()))));
    if (!token.empty()) p.Add("NextToken", token);
    const QueryResponse r = Call(aws_, "DescribeScalingActivities", p);
    pugi::xml_node result = r.root().child("DescribeScalingActivitiesResult");
    x::ForEach(result.child("Activities"), "member", [&](pugi::xml_node a) {
      if (static_cast<int>(out.size()) < max_activities) out.push_back(ParseActivity(a));
    });
    const std::string next = x::Text(result, "NextToken");
    if (next.empty() || next == token) break;
    token = next;
  }
  return out;
}

}  // namespace orb
