// The reconciler: cloud instances this broker launched that its store does not
// record are adopted by their open request or terminated as orphans.

#include <sys/stat.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"

namespace orb {

ReconcileReport Broker::Reconcile(bool dry_run, bool refresh_open) {
  ReconcileReport report;
  report.dry_run = dry_run;
  const EpochSeconds now = NowSeconds();
  const long long grace = config_.GetInt("reconcile.orphan_grace_sec");
  const std::string broker_id = BrokerId();
  for (const std::string& name : ProviderNames()) {
    std::vector<CloudMachine> found = provider(name).FindByBroker(broker_id);
    report.instances_seen += static_cast<int>(found.size());
    std::vector<std::string> orphans;
    std::map<std::string, std::vector<CloudMachine>> adopt;  // by request id
    for (const CloudMachine& c : found) {
      // Recorded: nothing to do. A record of no request only notes that HostFactory
      // returned an id this store did not know (a store started afresh): the instance
      // is this broker's all the same, and judged below like any unrecorded one.
      std::optional<Machine> known = store().GetMachine(c.machine_id);
      if (known && !known->request_id.empty()) continue;
      ReconcileAction a;
      a.provider = name;
      a.machine_id = c.machine_id;
      a.request_id = c.request_tag;
      std::optional<Request> r;
      if (!c.request_tag.empty()) r = store().GetRequest(c.request_tag);
      const bool open = r && r->kind == RequestKind::kAcquire && !IsTerminal(r->status);
      if (open && r->launch_state != LaunchState::kSettled) {
        // Its launch is still in progress: its own status calls record what it made
        // (resuming the stored plan, or reading its group), which adoption here would
        // upset.
        a.action = "keep";
        a.detail = "its request " + r->request_id + " is still launching";
      } else if (open) {
        a.action = "adopt";
        a.detail = "launched for open request " + r->request_id + " but not recorded";
        adopt[r->request_id].push_back(c);
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
    if (!dry_run) {
      for (const auto& [request_id, machines] : adopt) {
        store().Transaction([&] {
          Request fresh = *store().GetRequest(request_id);
          InsertLaunched(fresh, machines, "");
        });
      }
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
  // Open requests brought up to date, as a status call would: machines that vanished
  // are marked, machines that never became usable are terminated, requests past their
  // deadline end.
  if (!refresh_open) return report;
  RequestQuery open;
  open.open_only = true;
  std::vector<std::string> ids;
  for (const Request& r : store().ListRequests(open)) ids.push_back(r.request_id);
  report.open_requests = static_cast<int>(ids.size());
  if (!dry_run && !ids.empty()) {
    for (const RequestReport& r : RequestStatuses(ids)) {
      if (IsTerminal(r.request.status)) ++report.requests_ended;
    }
  }
  return report;
}

void Broker::ReconcileIfDue() {
  const long long every = config_.GetInt("reconcile.interval_sec");
  if (every <= 0) return;
  namespace fs = std::filesystem;
  const fs::path marker = fs::path(config_.Get("paths.work_dir")) / "reconcile.last";
  struct stat st {};
  const std::time_t now = std::time(nullptr);
  if (::stat(marker.c_str(), &st) == 0 && now - st.st_mtime < every) return;
  {
    // Claimed by touching the marker first: concurrent calls mostly skip, and a
    // double pass is harmless (adoption and termination are idempotent).
    std::ofstream touch(marker, std::ios::trunc);
    touch << now << "\n";
  }
  try {
    ReconcileReport report = Reconcile(/*dry_run=*/false, /*refresh_open=*/false);
    int changed = 0;
    for (const ReconcileAction& a : report.actions) changed += a.action != "keep";
    if (changed > 0) {
      spdlog::warn("reconcile: {} instance(s) adopted or terminated (see the lines above)",
                   changed);
    }
  } catch (const std::exception& e) {
    // A background slice never fails the call that carries it.
    spdlog::warn("reconcile pass skipped: {}", e.what());
  }
}

}  // namespace orb
