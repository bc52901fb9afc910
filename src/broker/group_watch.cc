// Machines that a cloud group replaces on its own (a maintain fleet refilling its
// target, an Auto Scaling group replacing an unhealthy instance) after the request
// that created the group completed: the new ones are attached to that request, so
// that nothing runs untracked; the lost ones reach HostFactory through
// getReturnRequests.

#include <map>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"

namespace orb {

void Broker::WatchGroups(const std::vector<Machine>& active) {
  const EpochSeconds now = NowSeconds();
  const long long every = config_.GetInt("request.group_watch_sec");
  std::map<std::string, std::string> group_request;  // group id -> request that made it
  for (const Machine& m : active) {
    if (!m.cloud_host_id.empty() && !m.request_id.empty()) {
      group_request.emplace(m.cloud_host_id, m.request_id);
    }
  }
  for (const auto& entry : group_request) {
    // (Named, not a structured binding: clang 14 cannot capture one in a lambda.)
    const std::string& group = entry.first;
    const std::string& request_id = entry.second;
    std::optional<Request> r = store().GetRequest(request_id);
    // Open requests follow their group in their own status calls.
    if (!r || !IsTerminal(r->status) || r->kind != RequestKind::kAcquire) continue;
    nlohmann::json data =
        nlohmann::json::parse(r->provider_data.empty() ? "{}" : r->provider_data, nullptr, false);
    if (!data.is_object() || data.value("group", "") != group) continue;  // not a live group
    if (now - data.value("watched_at", static_cast<EpochSeconds>(0)) < every) continue;
    GroupState state;
    try {
      state = provider(r->provider_name).DescribeGroup(group);
    } catch (const Error& e) {
      spdlog::warn("could not read group {} of request {}: {}", group, request_id, e.what());
      continue;
    }
    std::vector<CloudMachine> replacements;
    std::map<std::string, CloudMachine> attached;  // replacements attached earlier
    for (CloudMachine& c : state.machines) {
      if (std::optional<Machine> m = store().GetMachine(c.machine_id)) {
        if (m->acquire_result == MachineResult::kExecuting) attached[c.machine_id] = c;
        continue;
      }
      if (!IsFinalMachineState(c.state)) replacements.push_back(std::move(c));
    }
    try {
      store().Transaction([&] {
        Request fresh = *store().GetRequest(request_id);
        InsertLaunched(fresh, replacements, group);
        for (const CloudMachine& c : replacements) {
          std::optional<Machine> m = store().GetMachine(c.machine_id);
          if (!m) continue;
          m->acquire_result = AcquireResult(m->state, m->Addressable(), m->acquire_result);
          m->message = "launched by " + group + " to replace a machine it lost";
          store().UpdateMachine(*m);
        }
        // Replacements still starting when attached: their request's status calls have
        // ended, so they are followed here until they are usable (or not).
        for (const auto& [id, c] : attached) {
          std::optional<Machine> m = store().GetMachine(id);
          if (!m || m->request_id != request_id) continue;
          ObserveCloudMachine(*m, c);
          m->acquire_result = AcquireResult(m->state, m->Addressable(), m->acquire_result);
          m->updated_at = now;
          store().UpdateMachine(*m);
        }
        nlohmann::json d = nlohmann::json::parse(
            fresh.provider_data.empty() ? "{}" : fresh.provider_data, nullptr, false);
        if (!d.is_object()) d = nlohmann::json::object();
        d["watched_at"] = now;
        fresh.provider_data = d.dump();
        store().UpdateRequest(fresh);
      });
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kConflict) throw;
      continue;  // another process watched it at the same moment
    }
    for (const CloudMachine& c : replacements) {
      spdlog::warn("request {}: {} launched {} ({}) to replace a machine it lost; attached to "
                   "the request",
                   request_id, group, c.machine_id, c.instance_type);
    }
  }
}

}  // namespace orb
