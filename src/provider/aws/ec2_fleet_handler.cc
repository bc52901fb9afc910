// EC2 Fleet: instant fleets settle at launch; request and maintain fleets launch as
// they go and are read as groups ("fleet-...").

#include <set>

#include <spdlog/spdlog.h>

#include "common/strings.h"
#include "provider/aws/capacity_errors.h"
#include "provider/aws/fleet_overrides.h"
#include "provider/aws/launch_handler.h"

namespace orb {

namespace {

class Ec2FleetHandler : public LaunchHandler {
 public:
  explicit Ec2FleetHandler(AwsContext& context) : context_(context) {}

  std::string_view PlanApi() const override { return "CreateFleet"; }

  bool OwnsGroup(const std::string& group_id) const override {
    return group_id.rfind("fleet-", 0) == 0;
  }

  LaunchPlan Plan(const LaunchSpec& spec) override {
    const Template& t = spec.templ();
    const LaunchOrder& order = *spec.order;
    const FleetType fleet_type = t.fleet_type.value_or(FleetType::kInstant);
    const nlohmann::json requirements = TemplateRequirements(t);
    if (t.vm_types.empty() && requirements.is_null()) {
      ThrowTemplateError(t, "vmTypes",
                         "is required for an EC2 Fleet (or abisInstanceRequirements)");
    }
    // EC2 Fleet launches from a launch template: the template's own when it names
    // one, else one made for the request and named after it (a replay finds the same
    // one). It is per request because it carries the request's tag: AWS tags the
    // instances of request and maintain fleets only from the launch template (and
    // moto does not apply an instant fleet's instance TagSpecifications either).
    std::string lt_name;
    nlohmann::json lt_params;
    if (!spec.launch_template) {
      lt_name = "orb-" + order.request_id;
      lt_params =
          Ec2Client::BuildCreateLaunchTemplate(RequestLaunchTemplate(spec, lt_name)).ToJson();
    }
    CreateFleetRequest f;
    f.client_token = order.client_token;
    f.type = std::string(FleetTypeName(fleet_type));
    if (fleet_type != FleetType::kInstant) {
      // orb chooses which instances go when the target is lowered on a return.
      f.excess_capacity_termination_policy = "no-termination";
    }
    const CapacitySplit split = TemplateSplit(t, order.units);
    const FleetMarkets markets{split.on_demand > 0, split.spot > 0};
    FleetLaunchTemplateConfig config;
    if (spec.launch_template) {
      config.launch_template = *spec.launch_template;
    } else {
      config.launch_template.name = lt_name;
      config.launch_template.version = "$Latest";
    }
    config.overrides = FleetOverrides(t, markets, order.avoid_pools, requirements);
    f.launch_template_configs = {config};
    f.target_capacity.total = order.units;
    f.target_capacity.default_target_capacity_type = spec.spot ? "spot" : "on-demand";
    if (spec.spot && t.percent_on_demand) {
      f.target_capacity.on_demand = split.on_demand;
      f.target_capacity.spot = split.spot;
    }
    const FleetStrategies strategies =
        ChooseStrategies(t, HasPriorities(config.overrides), /*spot_fleet=*/false);
    if (markets.spot) f.spot_allocation_strategy = strategies.spot;
    if (markets.on_demand) {
      f.on_demand_allocation_strategy = strategies.on_demand;
      if (fleet_type == FleetType::kInstant) {
        f.on_demand_capacity_reservation_usage_strategy = t.capacity_reservation_preference;
      } else if (!t.capacity_reservation_preference.empty()) {
        ThrowTemplateError(t, "capacityReservationPreference",
                           "AWS uses capacity reservations first only in an EC2 Fleet of type "
                           "instant");
      }
    }
    f.context = t.context;
    f.tag_specifications = {{"fleet", spec.tags}};
    LaunchPlan plan;
    plan.api = std::string(PlanApi());
    plan.adoptable = fleet_type == FleetType::kInstant;  // others keep launching
    plan.request_id = order.request_id;
    plan.body = {{"fleet_type", std::string(FleetTypeName(fleet_type))},
                 {"launch_template_name", lt_name},
                 {"launch_template", lt_params},
                 {"fleet", Ec2Client::BuildCreateFleet(f).ToJson()}};
    return plan;
  }

  LaunchResult Launch(const LaunchPlan& plan) override {
    Ec2Client& ec2 = context_.ec2();
    EnsureLaunchTemplate(ec2, plan.body.at("launch_template"));
    CreateFleetResult r = ec2.CreateFleet(QueryParams::FromJson(plan.body.at("fleet")));
    LaunchResult result;
    result.cloud_host_id = r.fleet_id;
    if (plan.body.value("fleet_type", "instant") != "instant") {
      // A request or maintain fleet launches as it goes: status calls ask it.
      result.settled = false;
      return result;
    }
    for (const FleetInstances& pool : r.instances) {
      for (const std::string& id : pool.instance_ids) {
        CloudMachine m;
        m.machine_id = id;
        m.instance_type = pool.instance_type.empty() ? pool.pool.override.instance_type
                                                     : pool.instance_type;
        m.cloud_host_id = r.fleet_id;
        m.price_type = pool.pool.lifecycle == "spot" ? "spot" : "ondemand";
        result.machines.push_back(m);
      }
    }
    // Instances the answer did not list (it is bounded; some emulators list one per
    // pool) are found by the request's tag.
    if (!plan.request_id.empty()) {
      std::set<std::string> known;
      for (const CloudMachine& m : result.machines) known.insert(m.machine_id);
      for (CloudMachine& m : context_.FindByRequest(plan.request_id)) {
        if (known.insert(m.machine_id).second && !IsFinalMachineState(m.state)) {
          if (m.cloud_host_id.empty()) m.cloud_host_id = r.fleet_id;
          result.machines.push_back(std::move(m));
        }
      }
    }
    std::vector<std::string> errors;
    for (const FleetError& e : r.errors) {
      const FleetOverride& o = e.pool.override;
      const std::string type = o.instance_type.empty() ? "a matching type" : o.instance_type;
      errors.push_back(type + " in " +
                       (o.subnet_id.empty() ? std::string("any subnet") : o.subnet_id) + ": " +
                       e.error_code + " " + e.error_message);
      // A pool without capacity, quota or a low enough price is remembered, so that
      // the next launches leave it out for a while.
      const std::string kind = ClassifyLaunchError(e.error_code);
      if (!kind.empty() && !o.instance_type.empty()) {
        const bool spot = e.pool.lifecycle == "spot";
        result.failed_pools.push_back({PoolKey(o.instance_type, o.subnet_id, spot), kind,
                                       e.error_code + ": " + e.error_message});
      }
    }
    result.message = Join(errors, "; ");
    result.settled = true;  // an instant fleet adds nothing later
    // The instances are launched; the request's launch template is no longer needed.
    const std::string lt_name = plan.body.value("launch_template_name", "");
    if (!lt_name.empty() && !plan.body.at("launch_template").is_null()) {
      DeleteLaunchTemplateQuietly(ec2, lt_name);
    }
    return result;
  }

  GroupState DescribeGroup(const std::string& group_id) override {
    Ec2Client& ec2 = context_.ec2();
    GroupState state;
    std::vector<Fleet> fleets = ec2.DescribeFleets({group_id});
    if (fleets.empty() || fleets.front().type == "instant") {
      state.settled = true;  // an instant fleet settles at launch
      return state;
    }
    const Fleet& f = fleets.front();
    std::vector<std::string> ids;
    for (const FleetInstance& i : ec2.DescribeFleetInstances(group_id)) {
      ids.push_back(i.instance_id);
    }
    for (CloudMachine& m : context_.Describe(ids)) {
      m.cloud_host_id = group_id;
      state.machines.push_back(std::move(m));
    }
    AddTaggedMembers(context_, group_id, TagValue(f.tags, kRequestIdTag), state);
    state.settled = f.activity_status == "fulfilled" || f.state == "failed" ||
                    f.state.rfind("deleted", 0) == 0 ||
                    f.fulfilled_capacity >= f.target_capacity.total;
    if (f.activity_status == "error") {
      state.message = "EC2 Fleet " + group_id + " reports errors (see its history)";
    }
    return state;
  }

  TerminateOutcome Release(const std::string& group_id,
                           const std::vector<std::string>& machine_ids) override {
    Ec2Client& ec2 = context_.ec2();
    std::vector<Fleet> fleets = ec2.DescribeFleets({group_id});
    if (fleets.empty() || fleets.front().type == "instant") return context_.Terminate(machine_ids);
    const Fleet& f = fleets.front();
    if (f.type == "maintain" && f.state.rfind("deleted", 0) != 0) {
      // Lower the target first, so the fleet does not replace what goes.
      ModifyFleetRequest m;
      m.fleet_id = group_id;
      TargetCapacitySpec target = f.target_capacity;
      target.total = std::max(0, target.total - static_cast<int>(machine_ids.size()));
      if (target.on_demand) target.on_demand = std::min(*target.on_demand, target.total);
      if (target.spot) target.spot = std::max(0, target.total - target.on_demand.value_or(0));
      m.target_capacity = target;
      m.excess_capacity_termination_policy = "no-termination";
      ec2.ModifyFleet(m);
    }
    TerminateOutcome outcome = context_.Terminate(machine_ids);
    std::set<std::string> going(machine_ids.begin(), machine_ids.end());
    bool empty = true;
    for (const FleetInstance& i : ec2.DescribeFleetInstances(group_id)) {
      if (!going.count(i.instance_id)) empty = false;
    }
    if (empty) {
      try {
        ec2.DeleteFleets({group_id}, /*terminate_instances=*/false);
        const std::string request_id = TagValue(f.tags, kRequestIdTag);
        if (!request_id.empty()) DeleteLaunchTemplateQuietly(ec2, "orb-" + request_id);
      } catch (const Error& e) {
        spdlog::warn("could not delete EC2 Fleet {}: {}", group_id, e.what());
      }
    }
    return outcome;
  }

  void Discard(const std::string& group_id) override {
    Ec2Client& ec2 = context_.ec2();
    std::vector<Fleet> fleets;
    try {
      fleets = ec2.DescribeFleets({group_id});  // for its launch template's name
    } catch (const Error&) {
      // gone already, or unreadable: deleting it says which
    }
    for (const FleetDeletion& d : ec2.DeleteFleets({group_id}, /*terminate_instances=*/true)) {
      if (!d.error_code.empty() && d.error_code != "fleetIdDoesNotExist") {
        throw Error(ErrorCode::kCloud, "EC2 Fleet " + group_id + " not deleted: " +
                                           d.error_code + " " + d.error_message);
      }
    }
    if (!fleets.empty()) {
      const std::string request_id = TagValue(fleets.front().tags, kRequestIdTag);
      if (!request_id.empty()) DeleteLaunchTemplateQuietly(ec2, "orb-" + request_id);
    }
  }

 private:
  AwsContext& context_;
};

}  // namespace

std::unique_ptr<LaunchHandler> MakeEc2FleetHandler(AwsContext& context) {
  return std::make_unique<Ec2FleetHandler>(context);
}

}  // namespace orb
