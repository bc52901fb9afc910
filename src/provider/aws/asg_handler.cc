// One Auto Scaling group per request ("asg:<name>"), launching from a launch
// template made for the request (or the template's own).

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "provider/aws/aws_error.h"
#include "provider/aws/fleet_overrides.h"
#include "provider/aws/launch_handler.h"

namespace orb {

namespace {

// The instance types of a mixed-instances group in priority order (Auto Scaling's
// prioritized strategies follow the overrides' order), each with its weight; or one
// override carrying `requirements`.
std::vector<FleetOverride> GroupOverrides(const Template& t, const CapacitySplit& split,
                                          const nlohmann::json& requirements) {
  Template types_only = t;
  types_only.subnet_ids.clear();  // a group spreads over its subnets itself
  std::vector<FleetOverride> pools =
      FleetOverrides(types_only, {split.on_demand > 0, split.spot > 0}, {}, requirements);
  std::stable_sort(pools.begin(), pools.end(), [](const FleetOverride& a, const FleetOverride& b) {
    return a.priority.value_or(INT_MAX) < b.priority.value_or(INT_MAX);
  });
  return pools;
}

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
    const nlohmann::json requirements = TemplateRequirements(t);
    if (t.vm_types.empty() && !spec.launch_template && requirements.is_null()) {
      ThrowTemplateError(t, "vmType", "is required (or abisInstanceRequirements)");
    }
    // The group and its launch template are both named after the request.
    const std::string name = "orb-" + order.request_id;
    LaunchTemplateSpec lt_spec;
    nlohmann::json lt_params;
    if (spec.launch_template) {
      lt_spec = *spec.launch_template;
    } else {
      CreateLaunchTemplateRequest lt = RequestLaunchTemplate(spec, name);
      if (t.vm_types.size() == 1 && requirements.is_null()) {
        lt.data.instance_type = t.vm_types.front().first;
      }
      // The group tags its instances itself (PropagateAtLaunch).
      lt.data.tag_specifications = {{"volume", spec.tags}};
      lt_params = Ec2Client::BuildCreateLaunchTemplate(lt).ToJson();
      lt_spec.name = name;
      lt_spec.version = "$Latest";
    }
    AutoScalingGroupRequest g;
    g.name = name;
    int desired = order.units;
    if (t.vm_types.size() > 1 || spec.spot || !requirements.is_null()) {
      MixedInstancesPolicy mixed;
      mixed.launch_template = lt_spec;
      const CapacitySplit split = TemplateSplit(t, order.units);
      const std::vector<FleetOverride> pools = GroupOverrides(t, split, requirements);
      const bool prioritized = HasPriorities(pools);
      for (const FleetOverride& pool : pools) {
        AsgOverride o;
        o.instance_type = pool.instance_type;
        if (pool.weighted_capacity) {
          o.weighted_capacity = std::to_string(static_cast<int>(*pool.weighted_capacity));
        }
        o.instance_requirements = pool.instance_requirements;
        mixed.overrides.push_back(o);
      }
      const FleetStrategies strategies = ChooseStrategies(t, prioritized, /*spot_fleet=*/false);
      InstancesDistribution& d = mixed.distribution;
      if (spec.spot) {
        // The on-demand share of a spot template; the rest is spot.
        d.on_demand_percentage_above_base_capacity =
            std::clamp(t.percent_on_demand.value_or(0), 0, 100);
        d.spot_allocation_strategy = strategies.spot;
        if (t.max_spot_price) d.spot_max_price = fmt::format("{}", *t.max_spot_price);
      }
      // Without InstanceRequirements Auto Scaling's own default is prioritized (by
      // override order), which GroupOverrides already follows; a written strategy wins.
      const bool on_demand_part = !spec.spot || split.on_demand > 0;
      const bool written = !t.allocation_strategy_on_demand.empty() ||
                           (!spec.spot && !t.allocation_strategy.empty());
      if (on_demand_part && (written || prioritized)) {
        d.on_demand_allocation_strategy = strategies.on_demand;
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
    g.subnet_ids = t.subnet_ids;  // every subnet (VPCZoneIdentifier)
    g.context = t.context;
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
      if (e.aws_code() != "AlreadyExists") {
        // No answer (lost, or never sent) or a server error: the group may exist and be
        // launching. The call is not resent here (it has no ClientToken), but the
        // broker's later replay of it is safe, so the failure is one to retry, never a
        // refusal that would settle the request while its group launches.
        if (!e.retryable() && (e.http_status() == 0 || e.http_status() >= 500)) {
          throw AwsError(e.aws_code(), e.what(), e.request_id(), e.http_status(), true);
        }
        throw;
      }
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

  void Discard(const std::string& group_id) override {
    const std::string name = group_id.substr(kAsgGroupPrefix.size());
    AutoScalingClient& asg = context_.asg();
    if (asg.DescribeAutoScalingGroups({name}).empty()) return;  // gone already
    asg.DeleteAutoScalingGroup(name, /*force_delete=*/true);  // terminates its instances
    DeleteLaunchTemplateQuietly(context_.ec2(), name);
  }

 private:
  AwsContext& context_;
};

}  // namespace

std::unique_ptr<LaunchHandler> MakeAsgHandler(AwsContext& context) {
  return std::make_unique<AsgHandler>(context);
}

}  // namespace orb
