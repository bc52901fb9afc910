// The reconciler: cloud instances this broker launched that its store does not
// record are adopted by their open request or terminated as orphans.

#include <map>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"

namespace orb {

ReconcileReport Broker::Reconcile(bool dry_run) {
  ReconcileReport report;
  report.dry_run = dry_run;
  const EpochSeconds now = NowSeconds();
  const long long grace = config_.GetInt("reconcile.orphan_grace_sec");
  const std::string broker_id = BrokerId();
  for (const std::string& name : ProviderNames()) {
    std::vector<CloudMachine> found = provider(name).FindByBroker(broker_id);
    report.instances_seen += static_cast<int>(found.size());
    std::vector<std::string> orphans;
    for (const CloudMachine& c : found) {
      if (store().GetMachine(c.machine_id)) continue;  // recorded: nothing to do
      ReconcileAction a;
      a.provider = name;
      a.machine_id = c.machine_id;
      a.request_id = c.request_tag;
      std::optional<Request> r;
      if (!c.request_tag.empty()) r = store().GetRequest(c.request_tag);
      if (r && r->kind == RequestKind::kAcquire && !IsTerminal(r->status)) {
        a.action = "adopt";
        a.detail = "launched for open request " + r->request_id + " but not recorded";
        if (!dry_run) {
          store().Transaction([&] {
            Request fresh = *store().GetRequest(r->request_id);
            InsertLaunched(fresh, {c}, c.cloud_host_id);
          });
        }
      } else {
        const long long age = c.launch_time > 0 ? now - c.launch_time : grace;
        const std::string why =
            !r ? (c.request_tag.empty() ? std::string("carries no request tag")
                                        : "its request " + c.request_tag + " is unknown")
               : "its request " + r->request_id + " is " +
                     std::string(RequestStatusName(r->status));
        if (age < grace) {
          a.action = "keep";
          a.detail = why + "; " + std::to_string(age) + " s old, within the " +
                     std::to_string(grace) + " s grace";
        } else {
          a.action = "terminate";
          a.detail = why + "; nobody would return it";
          orphans.push_back(c.machine_id);
        }
      }
      spdlog::log(a.action == "keep" ? spdlog::level::info : spdlog::level::warn,
                  "reconcile{}: {} {} on {} ({})", dry_run ? " (dry run)" : "", a.action,
                  a.machine_id, name, a.detail);
      report.actions.push_back(std::move(a));
    }
    if (!dry_run && !orphans.empty()) {
      TerminateOutcome outcome = provider(name).Terminate(orphans);
      for (ReconcileAction& a : report.actions) {
        for (const std::string& id : outcome.refused) {
          if (a.machine_id == id) a.detail += "; the cloud refused: " + outcome.message;
        }
      }
    }
  }
  return report;
}

}  // namespace orb
