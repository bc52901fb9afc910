// Spot Fleet requests (request, maintain): launched as they go and read as groups
// ("sfr-...").

#include <cstdlib>
#include <set>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "provider/aws/fleet_overrides.h"
#include "provider/aws/launch_handler.h"

namespace orb {

namespace {

// The IAM role Spot Fleet acts as: a full ARN as written, a role name (or path) in
// the caller's account, or by default the role AWS documents for tagging fleets.
std::string FleetRoleArn(const std::string& written, const std::string& account) {
  if (written.rfind("arn:", 0) == 0) return written;
  if (written == "AWSServiceRoleForEC2SpotFleet") {
    return "arn:aws:iam::" + account +
           ":role/aws-service-role/spotfleet.amazonaws.com/AWSServiceRoleForEC2SpotFleet";
  }
  return "arn:aws:iam::" + account + ":role/" +
         (written.empty() ? std::string("aws-ec2-spot-fleet-tagging-role") : written);
}

class SpotFleetHandler : public LaunchHandler {
 public:
  explicit SpotFleetHandler(AwsContext& context) : context_(context) {}

  std::string_view PlanApi() const override { return "RequestSpotFleet"; }

  bool OwnsGroup(const std::string& group_id) const override {
    return group_id.rfind("sfr-", 0) == 0;
  }

  LaunchPlan Plan(const LaunchSpec& spec) override {
    const Template& t = spec.templ();
    const LaunchOrder& order = *spec.order;
    const nlohmann::json requirements = TemplateRequirements(t);
    if (t.vm_types.empty() && requirements.is_null()) {
      ThrowTemplateError(t, "vmTypes",
                         "is required for a Spot Fleet (or abisInstanceRequirements)");
    }
    const std::string name = "orb-" + order.request_id;
    CreateLaunchTemplateRequest lt = RequestLaunchTemplate(spec, name);
    SpotFleetRequestConfig f;
    f.client_token = order.client_token;
    f.iam_fleet_role = FleetRoleArn(
        t.fleet_role, t.fleet_role.rfind("arn:", 0) == 0 ? std::string() : context_.AccountId());
    f.type = t.fleet_type.value_or(FleetType::kRequest) == FleetType::kMaintain ? "maintain"
                                                                               : "request";
    FleetLaunchTemplateConfig config;
    config.launch_template.name = name;
    config.launch_template.version = "$Latest";
    // A Spot Fleet buys spot, and on demand the share percentOnDemand names.
    const CapacitySplit split = SplitOnDemand(order.units, t.percent_on_demand.value_or(0));
    const FleetMarkets markets{split.on_demand > 0, split.spot > 0};
    config.overrides = FleetOverrides(t, markets, order.avoid_pools, requirements);
    f.launch_template_configs = {config};
    f.target_capacity = order.units;
    const FleetStrategies strategies =
        ChooseStrategies(t, HasPriorities(config.overrides), /*spot_fleet=*/true);
    if (split.on_demand > 0) {
      f.on_demand_target_capacity = split.on_demand;
      f.on_demand_allocation_strategy = strategies.on_demand;
    }
    f.allocation_strategy = strategies.spot;
    f.context = t.context;
    // orb chooses which instances go when capacity is lowered on a return.
    f.excess_capacity_termination_policy = "NoTermination";
    if (!t.spot_fleet_request_expiry.empty()) {
      char* end = nullptr;
      const long minutes = std::strtol(t.spot_fleet_request_expiry.c_str(), &end, 10);
      if (end && *end == '\0' && minutes > 0) f.valid_until = NowSeconds() + minutes * 60;
    }
    f.tag_specifications = {{"spot-fleet-request", spec.tags}};
    LaunchPlan plan;
    plan.request_id = order.request_id;
    plan.api = std::string(PlanApi());
    plan.adoptable = false;  // the fleet keeps launching until it is fulfilled
    plan.body = {{"launch_template_name", name},
                 {"launch_template", Ec2Client::BuildCreateLaunchTemplate(lt).ToJson()},
                 {"fleet", Ec2Client::BuildRequestSpotFleet(f).ToJson()}};
    return plan;
  }

  LaunchResult Launch(const LaunchPlan& plan) override {
    Ec2Client& ec2 = context_.ec2();
    EnsureLaunchTemplate(ec2, plan.body.at("launch_template"));
    LaunchResult result;
    // The ClientToken makes a replay answer the same Spot Fleet request.
    result.cloud_host_id = ec2.RequestSpotFleet(QueryParams::FromJson(plan.body.at("fleet")));
    result.settled = false;  // instances arrive as the fleet is fulfilled
    return result;
  }

  GroupState DescribeGroup(const std::string& group_id) override {
    Ec2Client& ec2 = context_.ec2();
    GroupState state;
    std::vector<SpotFleetRequest> requests = ec2.DescribeSpotFleetRequests({group_id});
    if (requests.empty()) {
      state.settled = true;
      state.message = "Spot Fleet request " + group_id + " no longer exists";
      return state;
    }
    const SpotFleetRequest& r = requests.front();
    std::vector<std::string> ids;
    for (const FleetInstance& i : ec2.DescribeSpotFleetInstances(group_id)) {
      ids.push_back(i.instance_id);
    }
    for (CloudMachine& m : context_.Describe(ids)) {
      m.cloud_host_id = group_id;
      state.machines.push_back(std::move(m));
    }
    AddTaggedMembers(context_, group_id, TagValue(r.tags, kRequestIdTag), state);
    state.settled = r.activity_status == "fulfilled" || r.state == "failed" ||
                    r.state.rfind("cancelled", 0) == 0 ||
                    r.fulfilled_capacity >= r.target_capacity;
    if (r.activity_status == "error") {
      state.message = "Spot Fleet " + group_id + " reports errors (see its event history)";
    }
    return state;
  }

  TerminateOutcome Release(const std::string& group_id,
                           const std::vector<std::string>& machine_ids) override {
    Ec2Client& ec2 = context_.ec2();
    std::vector<SpotFleetRequest> requests = ec2.DescribeSpotFleetRequests({group_id});
    if (!requests.empty() && requests.front().state.rfind("cancelled", 0) != 0) {
      // Lower the target first, so that a maintain fleet does not replace what goes
      // (harmless for a request fleet, which replaces nothing).
      ModifySpotFleetRequestRequest m;
      m.spot_fleet_request_id = group_id;
      m.target_capacity =
          std::max(0, requests.front().target_capacity - static_cast<int>(machine_ids.size()));
      m.excess_capacity_termination_policy = "NoTermination";
      ec2.ModifySpotFleetRequest(m);
    }
    TerminateOutcome outcome = context_.Terminate(machine_ids);
    // The fleet is empty when no other member lives: a member listed but already
    // terminated (taken by AWS, or by an earlier return that died before cancelling
    // the fleet) does not count.
    std::set<std::string> going(machine_ids.begin(), machine_ids.end());
    std::vector<std::string> others;
    for (const FleetInstance& i : ec2.DescribeSpotFleetInstances(group_id)) {
      if (!going.count(i.instance_id)) others.push_back(i.instance_id);
    }
    bool empty = true;
    if (!others.empty()) {
      for (const CloudMachine& c : context_.Describe(others)) {
        if (!IsFinalMachineState(c.state) && c.state != MachineState::kShuttingDown) {
          empty = false;
        }
      }
    }
    if (empty && !requests.empty()) {
      try {
        ec2.CancelSpotFleetRequests({group_id}, /*terminate_instances=*/false);
        const std::string request_id = TagValue(requests.front().tags, kRequestIdTag);
        if (!request_id.empty()) DeleteLaunchTemplateQuietly(ec2, "orb-" + request_id);
      } catch (const Error& e) {
        spdlog::warn("could not cancel Spot Fleet request {}: {}", group_id, e.what());
      }
    }
    return outcome;
  }

  void Discard(const std::string& group_id) override {
    Ec2Client& ec2 = context_.ec2();
    std::vector<SpotFleetRequest> requests;
    try {
      requests = ec2.DescribeSpotFleetRequests({group_id});  // for its launch template
    } catch (const Error&) {
      // gone already, or unreadable: cancelling it says which
    }
    for (const FleetDeletion& d :
         ec2.CancelSpotFleetRequests({group_id}, /*terminate_instances=*/true)) {
      if (!d.error_code.empty() && d.error_code != "fleetRequestIdDoesNotExist") {
        throw Error(ErrorCode::kCloud, "Spot Fleet request " + group_id + " not cancelled: " +
                                           d.error_code + " " + d.error_message);
      }
    }
    if (!requests.empty()) {
      const std::string request_id = TagValue(requests.front().tags, kRequestIdTag);
      if (!request_id.empty()) DeleteLaunchTemplateQuietly(ec2, "orb-" + request_id);
    }
  }

 private:
  AwsContext& context_;
};

}  // namespace

std::unique_ptr<LaunchHandler> MakeSpotFleetHandler(AwsContext& context) {
  return std::make_unique<SpotFleetHandler>(context);
}

}  // namespace orb
