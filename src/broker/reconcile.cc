// The reconciler: cloud instances this broker launched that its store does not
// record are adopted by their open request or terminated as orphans.

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/crash_point.h"
#include "common/error.h"
#include "common/private_files.h"
#include "common/process_identity.h"

namespace orb {

namespace {

// The lease whose holder does the next reconciler pass (Broker::ReconcileIfDue).
constexpr std::string_view kReconcileLease = "reconcile";

}  // namespace

ReconcileReport Broker::Reconcile(bool dry_run, bool refresh_open) {
  ReconcileReport report;
  report.dry_run = dry_run;
  const EpochSeconds now = NowSeconds();
  const long long grace = config_.GetInt("reconcile.orphan_grace_sec");
  const std::string broker_id = BrokerId();
  // Acquire requests nobody was told of are given back first: the sweep below then
  // finds their loose instances orphaned.
  const long long unacked_grace = config_.GetInt("reconcile.unacknowledged_grace_sec");
  RequestQuery unacked;
  unacked.open_only = true;
  unacked.kind = RequestKind::kAcquire;
  unacked.unacknowledged_only = true;
  for (const Request& r : store().ListRequests(unacked)) {
    if (r.acknowledged_at != kAbandoned && now - r.updated_at < unacked_grace) continue;
    try {
      AbandonRequest(r, report, dry_run);
    } catch (const Error& e) {
      // Left for the next pass (a caller asking about it meanwhile keeps it).
      spdlog::warn("reconcile: request {} not abandoned yet: {}", r.request_id, e.what());
    }
  }
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
      for (const auto& entry : adopt) {
        store().Transaction([&] {
          Request fresh = *store().GetRequest(entry.first);
          InsertLaunched(fresh, entry.second, "");
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
    for (const RequestReport& r : RequestStatuses(ids, /*acknowledge=*/false)) {
      if (IsTerminal(r.request.status)) ++report.requests_ended;
    }
  }
  return report;
}

void Broker::AcknowledgeRequest(const std::string& request_id) {
  try {
    store().Transaction([&] {
      std::optional<Request> r = store().GetRequest(request_id);
      if (!r || r->acknowledged_at != 0) return;
      r->acknowledged_at = NowSeconds();
      store().UpdateRequest(*r);
    });
  } catch (const std::exception& e) {
    spdlog::warn("request {}: not marked as answered ({}); its next status call will",
                 request_id, e.what());
  }
}

void Broker::AbandonRequest(Request r, ReconcileReport& report, bool dry_run) {
  const std::string why =
      "abandoned: the call that created it never answered (its process died or was "
      "killed first), so nobody knows this request";
  ReconcileAction a;
  a.action = "abandon";
  a.provider = r.provider_name;
  a.request_id = r.request_id;
  a.detail = why;
  spdlog::warn("reconcile{}: abandon request {} ({})", dry_run ? " (dry run)" : "",
               r.request_id, why);
  report.actions.push_back(a);
  ++report.requests_abandoned;
  if (dry_run) return;
  CrashPoint("reconcile.before_abandon");
  // A cancel that died half-way keeps its own reason.
  GiveBackRequest(r, r.acknowledged_at == kAbandoned && r.message.rfind("canceled", 0) == 0
                         ? r.message
                         : why);
}

Request Broker::CancelRequest(const std::string& request_id, const std::string& by) {
  Request r = GetRequest(request_id);
  if (auto refusal = WhyNotCancelable(r)) throw Error(ErrorCode::kConflict, *refusal);
  const std::string why = "canceled" + (by.empty() ? std::string() : " by " + by) +
                          ": no more machines are launched for it and those it has are "
                          "given back";
  spdlog::warn("cancel request {} ({})", request_id, why);
  GiveBackRequest(r, why);
  return GetRequest(request_id);
}

void Broker::GiveBackRequest(Request r, const std::string& why) {
  // 1. Marked first (an optimistic update: a caller asking about it in the meantime
  //    wins), so that a pass dying half-way is finished by the next one.
  if (r.acknowledged_at != kAbandoned) {
    r.acknowledged_at = kAbandoned;
    r.message = why;
    r.updated_at = NowSeconds();
    store().UpdateRequest(r);
  }
  // 2. A group-creating call left unconfirmed is settled with its own token, so that
  //    the group it made (if it reached the cloud) becomes known. Loose instances of
  //    an unconfirmed RunInstances call carry the request's tag: the orphan sweep
  //    below terminates them.
  //    A replay that is not confirmed either (no answer, a 5xx, a describe after the
  //    create failing) is tried again; still unconfirmed, the request stays open for
  //    the next pass: settling it now would lose the group the call may have made.
  if (LaunchCreatesGroup(r)) {
    for (int attempt = 0; attempt < 3 && r.launch_state == LaunchState::kIntent; ++attempt) {
      Launch(r, /*adopt_first=*/true);
    }
    if (r.launch_state == LaunchState::kIntent) {
      throw Error(ErrorCode::kCloud, "its group-creating call is still unconfirmed (" +
                                         r.message + "); the next pass settles it");
    }
  }
  // 3. Its groups deleted with their instances, its machines terminated.
  std::vector<Machine> machines = MachinesOfRequest(r);
  std::set<std::string> groups;
  nlohmann::json data =
      nlohmann::json::parse(r.provider_data.empty() ? "{}" : r.provider_data, nullptr, false);
  if (data.is_object() && data.contains("group") && data["group"].is_string()) {
    groups.insert(data["group"].get<std::string>());
  }
  std::vector<Machine> active;
  for (const Machine& m : machines) {
    if (!m.cloud_host_id.empty()) groups.insert(m.cloud_host_id);
    if (!IsFinalMachineState(m.state)) active.push_back(m);
  }
  Provider& cloud = provider(r.provider_name);
  for (const std::string& group : groups) cloud.DiscardGroup(group);
  std::set<std::string> refused;
  if (!active.empty()) {
    std::vector<std::string> ids;
    for (const Machine& m : active) ids.push_back(m.machine_id);
    TerminateOutcome outcome = cloud.Terminate(ids);
    refused.insert(outcome.refused.begin(), outcome.refused.end());
  }
  // 4. The request ends.
  store().Transaction([&] {
    for (Machine& m : machines) {
      if (IsFinalMachineState(m.state) || refused.count(m.machine_id)) continue;
      m.state = MachineState::kFailed;  // final: nobody will ask about it again
      m.acquire_result = MachineResult::kFail;
      m.message = "terminated: its request was " + why.substr(0, why.find(':'));
      m.updated_at = NowSeconds();
      store().UpdateMachine(m);
    }
    Request fresh = *store().GetRequest(r.request_id);
    fresh.status = RequestStatus::kCompleteWithError;
    fresh.launch_state = LaunchState::kSettled;
    fresh.message = why + "; " + std::to_string(active.size()) + " machine(s) and " +
                    std::to_string(groups.size()) + " group(s) given back";
    fresh.updated_at = NowSeconds();
    store().UpdateRequest(fresh);
  });
}

ReconcileOutcome Broker::ReconcileIfDue() {
  const long long every = config_.GetInt("reconcile.interval_sec");
  if (every <= 0) return {};
  // The lease "reconcile" in the store says when the last pass began: of all the
  // processes sharing the store (on every host), the one that claims it once it ran
  // out does the next pass. Read first, so that a call with nothing due writes nothing.
  const EpochSeconds now = std::time(nullptr);
  try {
    std::optional<Lease> last = store().GetLease(kReconcileLease);
    if (last && last->expires_at > now) return {};
    if (!store().ClaimLease(kReconcileLease, ProcessIdentity(BrokerId()), now, static_cast<int>(every))) return {};
  } catch (const std::exception& e) {
    spdlog::warn("reconcile pass skipped: {}", e.what());
    return {};
  }
  ReconcileOutcome outcome;
  outcome.ran = true;
  try {
    ReconcileReport report = Reconcile(/*dry_run=*/false, /*refresh_open=*/false);
    outcome.report = report;
    int changed = 0;
    for (const ReconcileAction& a : report.actions) changed += a.action != "keep";
    if (changed > 0) {
      spdlog::warn("reconcile: {} instance(s) adopted or terminated (see the lines above)",
                   changed);
    }
  } catch (const std::exception& e) {
    // A background slice never fails the call that carries it.
    spdlog::warn("reconcile pass skipped: {}", e.what());
    outcome.failed = true;
  }
  return outcome;
}

}  // namespace orb
