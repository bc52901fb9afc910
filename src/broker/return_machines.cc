// The requestReturnMachines and getReturnRequests use cases.

#include <algorithm>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/crash_point.h"
#include "common/error.h"
#include "common/strings.h"

namespace orb {

namespace {

// Looks a caller's machine up by cloud id, then by host name.
std::optional<Machine> Resolve(Store& store, const MachineRef& ref) {
  if (!ref.machine_id.empty()) {
    if (auto m = store.GetMachine(ref.machine_id)) return m;
  }
  if (!ref.name.empty()) {
    if (auto m = store.FindMachineByName(ref.name)) return m;
  }
  return std::nullopt;
}

}  // namespace

std::string Broker::ReturnMachines(const std::vector<MachineRef>& refs, std::string* message) {
  const EpochSeconds now = NowSeconds();
  Request ret;
  ret.request_id = NewRequestId(RequestKind::kReturn);
  ret.kind = RequestKind::kReturn;
  ret.provider_name = DefaultProviderName();  // its machines keep their own instances
  ret.requested_count = static_cast<int>(refs.size());
  ret.status = RequestStatus::kRunning;
  ret.launch_state = LaunchState::kSettled;
  ret.created_at = now;
  ret.updated_at = now;
  ret.deadline = now + config_.GetInt("request.timeout_sec");

  std::vector<Machine> to_terminate;
  std::vector<std::string> unknown;
  // Machines an earlier return request already names stay in that request (its
  // machine set never changes) and are named by this one too: HostFactory asks
  // again when its first call timed out, and must see them returned here.
  nlohmann::json also = nlohmann::json::array();
  // Recorded before anything is terminated: a crash after this point leaves a
  // return request whose status calls finish the job.
  CrashPoint("return.before_record");
  store().Transaction([&] {
    std::vector<Machine> mine;
    std::set<std::string> done;
    for (const MachineRef& ref : refs) {
      std::optional<Machine> m = Resolve(store(), ref);
      if (m && !done.insert(m->machine_id).second) continue;  // named twice
      if (!m) {
        // Not a machine of this broker (or long forgotten): nothing to terminate,
        // reported as returned so that HostFactory can move on.
        Machine gone;
        gone.machine_id = ref.machine_id.empty() ? "unknown:" + ref.name : ref.machine_id;
        if (!done.insert(gone.machine_id).second) continue;
        if (store().GetMachine(gone.machine_id)) continue;
        gone.name = ref.name;
        gone.return_request_id = ret.request_id;
        gone.provider_name = ret.provider_name;
        gone.state = MachineState::kGone;
        gone.return_result = MachineResult::kSucceed;
        gone.message = "not a machine of this orb; nothing to terminate";
        gone.created_at = now;
        gone.updated_at = now;
        mine.push_back(gone);
        unknown.push_back(ref.machine_id.empty() ? ref.name : ref.machine_id);
        continue;
      }
      if (!m->return_request_id.empty()) {
        also.push_back(m->machine_id);
      } else {
        m->return_request_id = ret.request_id;
        m->return_result = ReturnResult(m->state, m->terminate_refused, MachineResult::kExecuting);
        m->updated_at = now;
        mine.push_back(*m);
      }
      if (!IsFinalMachineState(m->state)) to_terminate.push_back(*m);
    }
    ret.provider_data = nlohmann::json{{"also_returns", also}}.dump();
    store().InsertRequest(ret);
    for (Machine& m : mine) {
      if (m.version == 0) {
        store().InsertMachine(m);
      } else {
        store().UpdateMachine(m);
      }
    }
  });

  CrashPoint("return.after_record");
  std::string note;
  if (!to_terminate.empty()) {
    try {
      TerminateOutcome outcome = TerminateMachines(to_terminate);
      CrashPoint("return.after_answer");
      store().Transaction([&] {
        for (const std::string& id : outcome.not_found) {
          if (auto m = store().GetMachine(id)) {
            m->state = MachineState::kGone;
            m->return_result = MachineResult::kSucceed;
            m->updated_at = NowSeconds();
            store().UpdateMachine(*m);
          }
        }
        for (const std::string& id : outcome.refused) {
          if (auto m = store().GetMachine(id)) {
            m->terminate_refused = true;
            m->message = "the cloud refused to terminate it: " + outcome.message;
            m->updated_at = NowSeconds();
            store().UpdateMachine(*m);
          }
        }
      });
      CrashPoint("return.after_update");
      if (!outcome.refused.empty()) note = "; refused: " + outcome.message;
    } catch (const Error& e) {
      // Recorded already: the next status call of this return request re-sends it.
      spdlog::warn("return {}: terminate failed, will retry: {}", ret.request_id, e.what());
      note = "; terminate not confirmed yet, will retry: " + std::string(e.what());
    }
  }
  if (message) {
    *message = "Return request " + ret.request_id + " for " + std::to_string(refs.size()) +
               " machine(s) accepted" +
               (unknown.empty() ? std::string() : "; not machines of this orb: " + Join(unknown, ", ")) +
               note + ".";
  }
  spdlog::info("return {}: {} machine(s), {} terminated now, {} unknown", ret.request_id,
               refs.size(), to_terminate.size(), unknown.size());
  return ret.request_id;
}

std::vector<MachineRef> Broker::ReturnableMachinesOf(const std::string& request_id) {
  Request r = GetRequest(request_id);
  if (r.kind != RequestKind::kAcquire) {
    throw Error(ErrorCode::kInvalidInput, request_id + " is a return request, not an acquire one");
  }
  std::vector<MachineRef> refs;
  for (const Machine& m : MachinesOfRequest(r)) {
    if (!IsFinalMachineState(m.state) && m.return_request_id.empty()) {
      refs.push_back({m.name, m.machine_id});
    }
  }
  return refs;
}

std::vector<ReturnCandidate> Broker::ReturnCandidates(const std::vector<MachineRef>& refs) {
  // What to look at: the named hosts, or every active machine of this broker.
  struct Watched {
    std::string name, machine_id;
    bool known = false;
    EpochSeconds created_at = 0;
    std::string instance;  // the provider instance to ask ("" = the default one)
    bool spot = false;     // may get an interruption notice
    InterruptionNotice queued;  // the notice recorded from a notice queue, if any
  };
  // Notices queued since the last call are recorded on their machines first.
  RecordQueuedNotices();
  // The notice a machine holds from a queue ("" action: none).
  auto queued_notice = [](const Machine& m) {
    InterruptionNotice n;
    n.machine_id = m.machine_id;
    n.action = m.notice_action;
    n.takes_effect_at = m.notice_takes_effect_at;
    n.detail = "from the interruption queue";
    return n;
  };
  std::vector<Watched> watched;
  if (refs.empty()) {
    MachineQuery q;
    q.active_only = true;
    std::vector<Machine> active = store().ListMachines(q);
    // Groups that replace lost machines on their own: their new members are attached
    // to the request first, and so are watched below like any other.
    WatchGroups(active);
    active = store().ListMachines(q);
    for (const Machine& m : active) {
      if (!m.return_request_id.empty() || m.acquire_result != MachineResult::kSucceed) continue;
      watched.push_back({m.name, m.machine_id, true, m.created_at, m.provider_name,
                         m.price_type == "spot", queued_notice(m)});
    }
  } else {
    for (const MachineRef& ref : refs) {
      std::optional<Machine> m = Resolve(store(), ref);
      if (m) {
        watched.push_back({m->name.empty() ? ref.name : m->name, m->machine_id, true,
                           m->created_at, m->provider_name, m->price_type == "spot",
                           queued_notice(*m)});
      } else {
        watched.push_back({ref.name, ref.machine_id, false, 0, DefaultProviderName(), false, {}});
      }
    }
  }
  std::map<std::string, std::vector<std::string>> ids;  // instance -> machine ids
  for (const Watched& w : watched) {
    if (!w.machine_id.empty()) ids[w.instance].push_back(w.machine_id);
  }
  std::map<std::string, CloudMachine> seen;
  for (const auto& [instance, list] : ids) {
    for (CloudMachine& c : provider(instance).Describe(list)) seen[c.machine_id] = std::move(c);
  }
  // Spot machines still running may carry an interruption notice: the host is then
  // listed with the seconds left, so that HostFactory drains it in time.
  std::map<std::string, std::vector<std::string>> spot;  // instance -> machine ids
  for (const Watched& w : watched) {
    auto it = seen.find(w.machine_id);
    if (w.spot && it != seen.end() && !IsFinalMachineState(it->second.state)) {
      spot[w.instance].push_back(w.machine_id);
    }
  }
  std::map<std::string, InterruptionNotice> notices;
  for (const auto& [instance, list] : spot) {
    try {
      for (InterruptionNotice& n : provider(instance).InterruptionNotices(list)) {
        notices[n.machine_id] = std::move(n);
      }
    } catch (const Error& e) {
      // Only an early warning: the host is still listed once the cloud takes it.
      spdlog::warn("interruption notices of {} spot machine(s) not read: {}", list.size(),
                   e.what());
    }
  }
  // A queued notice counts where the cloud's request status says nothing (yet).
  for (const Watched& w : watched) {
    if (!w.queued.action.empty() && !notices.count(w.machine_id)) {
      notices[w.machine_id] = w.queued;
    }
  }

  const EpochSeconds now = NowSeconds();
  const long long grace = config_.GetInt("request.visibility_grace_sec");
  std::vector<ReturnCandidate> out;
  for (const Watched& w : watched) {
    auto it = w.machine_id.empty() ? seen.end() : seen.find(w.machine_id);
    ReturnCandidate c;
    c.name = w.name;
    c.machine_id = w.machine_id;
    if (it == seen.end()) {
      // A host the cloud does not know: gone (unless it is brand new and not
      // visible yet, or was named without an id we could look up).
      if (w.machine_id.empty() || (w.known && now - w.created_at <= grace)) continue;
      c.reason = "no longer exists";
    } else if (auto n = notices.find(w.machine_id); n != notices.end() &&
                                                     (it->second.state == MachineState::kPending ||
                                                      it->second.state == MachineState::kRunning)) {
      const long long left = n->second.takes_effect_at - now;
      const bool rebalance = n->second.action == "rebalance";
      // A spot interruption comes two minutes ahead; a rebalance recommendation's
      // grace is the site's choice (aws.rebalance_grace_sec).
      c.grace_period = static_cast<int>(std::clamp<long long>(left, 0, rebalance ? 86400 : 120));
      c.reason = rebalance ? "rebalance recommendation: the cloud may interrupt it soon; "
                             "replace it within " +
                                 std::to_string(c.grace_period) + " s (" + n->second.detail + ")"
                           : "spot interruption notice: the cloud will " + n->second.action +
                                 " it in " + std::to_string(c.grace_period) + " s (" +
                                 n->second.detail + ")";
      if (c.name.empty()) c.name = it->second.name;
    } else {
      const MachineState s = it->second.state;
      if (s == MachineState::kPending || s == MachineState::kRunning) continue;
      c.reason = "machine is " + std::string(MachineStateName(s)) +
                 (it->second.state_reason.empty() ? "" : " (" + it->second.state_reason + ")");
      if (c.name.empty()) c.name = it->second.name;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace orb
