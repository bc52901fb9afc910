// One Auto Scaling group per request ("asg:<name>"), launching from a launch
// template made for the request (or the template's own).

#include <cstdlib>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "provider/aws/aws_error.h"
#include "provider/aws/launch_handler.h"

namespace orb {

namespace {

class AsgHandler : public LaunchHandler {
 public:
  explicit AsgHandler(AwsContext& context) : context_(context) {}

  std::string_view PlanApi() const override { return "CreateAutoScalingGroup"; }

  bool OwnsGroup(const std::string& group_id) const override {
    return group_id.rfind(kAsgGroupPrefix, 0) == 0;
  }

  LaunchPlan Plan(const LaunchSpec& spec) override {
    const Template& t = spec.templ();
    const LaunchOrder& order = *spec.order;
    if (t.vm_types.empty() && !spec.launch_template) ThrowTemplateError(t, "vmType", "is required");
    // The group and its launch template are both named after the request.
    const std::string name = "orb-" + order.request_id;
    LaunchTemplateSpec lt_spec;
    nlohmann::json lt_params;
    if (spec.launch_template) {
      lt_spec = *spec.launch_template;
    } else {
      CreateLaunchTemplateRequest lt = RequestLaunchTemplate(spec, name);
      if (t.vm_types.size() == 1) lt.data.instance_type = t.vm_types.front().first;
      // The group tags its instances itself (PropagateAtLaunch).
      lt.data.tag_specifications = {{"volume", spec.tags}};
      lt_params = Ec2Client::BuildCreateLaunchTemplate(lt).ToJson();
      lt_spec.name = name;
      lt_spec.version = "$Latest";
    }
    AutoScalingGroupRequest g;
    g.name = name;
    int desired = order.units;
    if (t.vm_types.size() > 1 || spec.spot) {
      MixedInstancesPolicy mixed;
      mixed.launch_template = lt_spec;
      for (const auto& [type, weight] : t.vm_types) {
        AsgOverride o;
        o.instance_type = type;
        o.weighted_capacity = std::to_string(std::max(1, weight));
        mixed.overrides.push_back(o);
      }
      if (spec.spot) {
        mixed.distribution.on_demand_percentage_above_base_capacity = 0;
        mixed.distribution.spot_allocation_strategy =
            Ec2AllocationStrategy(t.allocation_strategy, true);
        if (t.max_spot_price) {
          mixed.distribution.spot_max_price = fmt::format("{}", *t.max_spot_price);
        }
      }
      g.mixed_instances_policy = mixed;
    } else {
      g.launch_template = lt_spec;
      const int weight = t.vm_types.empty() ? 1 : std::max(1, t.vm_types.front().second);
      desired = (order.units + weight - 1) / weight;  // instances of the one type
    }
    g.min_size = 0;
    g.max_size = desired;
    g.desired_capacity = desired;
    g.subnet_ids = t.subnet_ids;
    g.new_instances_protected_from_scale_in = true;
    for (const Tag& tag : spec.tags) g.tags.push_back({tag.key, tag.value, true});
    LaunchPlan plan;
    plan.request_id = order.request_id;
    plan.api = std::string(PlanApi());
    plan.adoptable = false;  // the group keeps launching until it is full
    plan.body = {{"group_name", name},
                 {"launch_template", lt_params},
                 {"group", AutoScalingClient::BuildCreateAutoScalingGroup(g).ToJson()}};
    return plan;
  }

  LaunchResult Launch(const LaunchPlan& plan) override {
    const std::string name = plan.body.at("group_name").get<std::string>();
    EnsureLaunchTemplate(context_.ec2(), plan.body.at("launch_template"));
    try {
      context_.asg().CreateAutoScalingGroup(QueryParams::FromJson(plan.body.at("group")));
    } catch (const AwsError& e) {
      // A replay after a crash or a lost answer finds the group made the first time.
      if (e.aws_code() != "AlreadyExists") throw;
    }
    LaunchResult result;
    result.cloud_host_id = std::string(kAsgGroupPrefix) + name;
    result.settled = false;  // members arrive as the group launches them
    return result;
  }

  GroupState DescribeGroup(const std::string& group_id) override {
    GroupState state;
    const std::string name = group_id.substr(kAsgGroupPrefix.size());
    std::vector<AutoScalingGroup> groups = context_.asg().DescribeAutoScalingGroups({name});
    if (groups.empty()) {
      state.settled = true;
      state.message = "Auto Scaling group " + name + " no longer exists";
      return state;
    }
    const AutoScalingGroup& g = groups.front();
    std::vector<std::string> ids;
    int capacity = 0;
    for (const AsgInstance& i : g.instances) {
      ids.push_back(i.instance_id);
      if (i.lifecycle_state.rfind("Terminat", 0) != 0) {
        capacity += i.weighted_capacity.empty()
                        ? 1
                        : std::max(1, std::atoi(i.weighted_capacity.c_str()));
      }
    }
    for (CloudMachine& m : context_.Describe(ids)) {
      m.cloud_host_id = group_id;
      state.machines.push_back(std::move(m));
    }
    state.settled = capacity >= g.desired_capacity;
    if (!state.settled) {
      std::vector<std::string> failures;
      for (const ScalingActivity& a : context_.asg().DescribeScalingActivities(name, 10)) {
        if (a.status_code == "Failed") failures.push_back(a.status_message);
      }
      if (!failures.empty()) state.message = "Auto Scaling could not launch: " + failures.front();
    }
    return state;
  }

  TerminateOutcome Release(const std::string& group_id,
                           const std::vector<std::string>& machine_ids) override {
    const std::string name = group_id.substr(kAsgGroupPrefix.size());
    AutoScalingClient& asg = context_.asg();
    // Detached first, lowering the group's desired capacity so that it launches no
    // replacement, then terminated in batches: ceil(n/20) + ceil(n/1000) calls instead
    // of one TerminateInstanceInAutoScalingGroup per machine.
    std::vector<std::string> in_group;
    for (const AutoScalingGroup& g : asg.DescribeAutoScalingGroups({name})) {
      std::set<std::string> members;
      for (const AsgInstance& i : g.instances) members.insert(i.instance_id);
      for (const std::string& id : machine_ids) {
        if (members.count(id)) in_group.push_back(id);
      }
    }
    if (!in_group.empty()) asg.DetachInstances(name, in_group, true);
    TerminateOutcome outcome = context_.Terminate(machine_ids);
    // An emptied group (and its launch template) is deleted.
    std::vector<AutoScalingGroup> groups = asg.DescribeAutoScalingGroups({name});
    if (!groups.empty() && groups.front().desired_capacity == 0) {
      try {
        asg.DeleteAutoScalingGroup(name, /*force_delete=*/true);
        DeleteLaunchTemplateQuietly(context_.ec2(), name);
      } catch (const Error& e) {
        spdlog::warn("could not delete Auto Scaling group {}: {}", name, e.what());
      }
    }
    return outcome;
  }

 private:
  AwsContext& context_;
};

}  // namespace

std::unique_ptr<LaunchHandler> MakeAsgHandler(AwsContext& context) {
  return std::make_unique<AsgHandler>(context);
}

}  // namespace orb
