#include "broker/dry_run.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/error.h"
#include "model/machine_state.h"
#include "model/records.h"

namespace orb {

using json = nlohmann::ordered_json;

namespace {

// The AWS calls that give back the machines of group `group` (cloud_host_id), as the
// handlers of src/provider/aws do (LaunchHandler::Release).
std::vector<std::string> GroupReleaseCalls(const std::string& group, size_t n) {
  const std::string ids = std::to_string(n) + " ids";
  if (group.rfind("fleet-", 0) == 0) {
    return {"ec2:DescribeFleets (" + group + ")",
            "ec2:ModifyFleet (" + group + ": target capacity lowered by " + std::to_string(n) +
                "; not for an instant fleet)",
            "ec2:TerminateInstances (" + ids + ")"};
  }
  if (group.rfind("sfr-", 0) == 0) {
    return {"ec2:ModifySpotFleetRequest (" + group + ": target capacity lowered by " +
                std::to_string(n) + ")",
            "ec2:TerminateInstances (" + ids + ")"};
  }
  if (group.rfind("asg:", 0) == 0) {
    const std::string name = group.substr(4);
    return {"autoscaling:DetachInstances (" + name + ", " + ids + ", desired capacity lowered)",
            "ec2:TerminateInstances (" + ids + ")",
            "autoscaling:DeleteAutoScalingGroup (" + name + ", once empty)"};
  }
  return {"ec2:TerminateInstances (" + ids + ")"};
}

// The AWS calls that delete group `group` with all its instances (Provider::DiscardGroup).
std::string GroupDiscardCall(const std::string& group) {
  if (group.rfind("fleet-", 0) == 0) return "ec2:DeleteFleets (" + group + ", instances terminated)";
  if (group.rfind("sfr-", 0) == 0) {
    return "ec2:CancelSpotFleetRequests (" + group + ", instances terminated)";
  }
  if (group.rfind("asg:", 0) == 0) {
    return "autoscaling:DeleteAutoScalingGroup (" + group.substr(4) + ", force delete)";
  }
  return "";
}

// "ec2:TerminateInstances (N ids)" per batch of 1000.
void AddTerminateCalls(json& calls, size_t n) {
  for (size_t done = 0; done < n; done += 1000) {
    calls.push_back("ec2:TerminateInstances (" + std::to_string(std::min<size_t>(1000, n - done)) +
                    " ids)");
  }
}

}  // namespace

json DescribeLaunch(const Template& t, int count, const std::string& provider,
                    int max_instances_per_call) {
  if (count < 1) {
    throw Error(ErrorCode::kInvalidInput,
                "machine count must be at least 1, got " + std::to_string(count));
  }
  if (t.max_number == 0) {
    throw Error(ErrorCode::kInvalidInput,
                "template '" + t.template_id + "' has maxNumber 0: it is not to be used");
  }
  if (t.max_number > 0 && count > t.max_number) {
    throw Error(ErrorCode::kInvalidInput,
                "template '" + t.template_id + "' allows at most " +
                    std::to_string(t.max_number) + " units (maxNumber), " +
                    std::to_string(count) + " asked");
  }
  json r = json::object();
  r["dry_run"] = true;
  r["template_id"] = t.template_id;
  r["count"] = count;
  r["max_number"] = t.max_number;
  r["provider"] = provider;
  r["provider_api"] = std::string(ProviderApiName(t.provider_api));
  json calls = json::array();
  const bool own_launch_template = t.launch_template_id.empty();
  switch (t.provider_api) {
    case ProviderApi::kRunInstances: {
      // The first pool's weight: capacity units per instance.
      const int weight = t.vm_types.empty() ? 1 : std::max(1, t.vm_types.front().second);
      const long long instances = (count + weight - 1) / weight;
      const long long per_call = std::max(1, max_instances_per_call);
      const long long n_calls = (instances + per_call - 1) / per_call;
      calls.push_back("ec2:RunInstances x " + std::to_string(n_calls) + " (" +
                      std::to_string(instances) + " instance(s), at most " +
                      std::to_string(per_call) + " per call" +
                      (t.price_type == PriceType::kSpot ? ", spot market options" : "") + ")");
      break;
    }
    case ProviderApi::kEc2Fleet: {
      const FleetType ft = t.fleet_type.value_or(FleetType::kInstant);
      r["fleet_type"] = std::string(FleetTypeName(ft));
      if (own_launch_template) {
        calls.push_back("ec2:CreateLaunchTemplate (orb's, for the fleet)");
      }
      calls.push_back("ec2:CreateFleet (type " + std::string(FleetTypeName(ft)) +
                      ", target capacity " + std::to_string(count) + ")");
      break;
    }
    case ProviderApi::kSpotFleet: {
      const FleetType ft = t.fleet_type.value_or(FleetType::kRequest) == FleetType::kMaintain
                               ? FleetType::kMaintain
                               : FleetType::kRequest;
      r["fleet_type"] = std::string(FleetTypeName(ft));
      calls.push_back("ec2:RequestSpotFleet (type " + std::string(FleetTypeName(ft)) +
                      ", target capacity " + std::to_string(count) + ")");
      break;
    }
    case ProviderApi::kAsg:
      if (own_launch_template) {
        calls.push_back("ec2:CreateLaunchTemplate (orb's, for the group)");
      }
      calls.push_back("autoscaling:CreateAutoScalingGroup (desired capacity " +
                      std::to_string(count) + ")");
      break;
  }
  r["price_type"] = std::string(PriceTypeName(t.price_type));
  r["instance_types"] = t.InstanceTypeNames();
  r["all_or_nothing"] = t.all_or_nothing;
  r["aws_calls"] = calls;
  r["note"] =
      "dry run: no request is recorded and AWS is not called; a real request may also "
      "try further pools (instance type x subnet x price type) when one answers a "
      "capacity, quota or price error";
  return r;
}

json DescribeReturn(const std::vector<Machine>& found, const std::vector<std::string>& unknown) {
  json r = json::object();
  r["dry_run"] = true;
  json machines = json::array();
  std::map<std::string, size_t> by_group;  // "" = loose instances
  size_t already_gone = 0;
  for (const Machine& m : found) {
    json rec = json::object();
    rec["machine_id"] = m.machine_id;
    rec["name"] = m.name;
    rec["status"] = std::string(MachineStateName(m.state));
    rec["request_id"] = m.request_id;
    rec["group"] = m.cloud_host_id;
    machines.push_back(rec);
    if (IsFinalMachineState(m.state)) {
      ++already_gone;
      continue;
    }
    ++by_group[m.cloud_host_id];
  }
  r["machines"] = machines;
  r["unknown"] = unknown;
  json calls = json::array();
  r["return_request"] = "one return request (ret-...) naming " +
                        std::to_string(found.size() + unknown.size()) + " machine(s)";
  for (const auto& [group, n] : by_group) {
    if (group.empty()) {
      AddTerminateCalls(calls, n);
    } else {
      for (const std::string& c : GroupReleaseCalls(group, n)) calls.push_back(c);
    }
  }
  if (!by_group.empty() && by_group.size() > (by_group.count("") ? 1u : 0u)) {
    calls.insert(calls.begin(), json("ec2:DescribeInstances (group members, to skip those already taken)"));
  }
  r["aws_calls"] = calls;
  r["note"] = "dry run: no return request is recorded and AWS is not called; " +
              std::to_string(already_gone) + " machine(s) already gone need no call, " +
              std::to_string(unknown.size()) + " unknown id(s) would be accepted as returned";
  return r;
}

json DescribeCancel(const Request& request, const std::vector<Machine>& machines) {
  if (auto refusal = WhyNotCancelable(request)) throw Error(ErrorCode::kConflict, *refusal);
  std::set<std::string> groups;
  nlohmann::json data = nlohmann::json::parse(
      request.provider_data.empty() ? "{}" : request.provider_data, nullptr, false);
  if (data.is_object() && data.contains("group") && data["group"].is_string()) {
    groups.insert(data["group"].get<std::string>());
  }
  json active = json::array();
  size_t n_active = 0;
  for (const Machine& m : machines) {
    if (!m.cloud_host_id.empty()) groups.insert(m.cloud_host_id);
    if (IsFinalMachineState(m.state)) continue;
    ++n_active;
    active.push_back(MachineRecord(m));
  }
  json calls = json::array();
  for (const std::string& g : groups) {
    const std::string c = GroupDiscardCall(g);
    if (!c.empty()) calls.push_back(c);
  }
  AddTerminateCalls(calls, n_active);
  json r = json::object();
  r["dry_run"] = true;
  r["request_id"] = request.request_id;
  r["status"] = std::string(RequestStatusName(request.status));
  r["launch_state"] = std::string(LaunchStateName(request.launch_state));
  r["machines"] = active;
  r["groups"] = json(std::vector<std::string>(groups.begin(), groups.end()));
  r["aws_calls"] = calls;
  r["note"] =
      "dry run: nothing is changed; a cancel marks the request first, deletes its groups "
      "with their instances, terminates its machines and ends it complete_with_error" +
      std::string(request.launch_state == LaunchState::kIntent
                      ? " (its launch is still unconfirmed: a group-creating call is first "
                        "replayed with its own token so that the group it made becomes known)"
                      : "");
  return r;
}

}  // namespace orb
