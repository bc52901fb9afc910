// The getRequestStatus use case: where a request's status is decided.

#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"

namespace orb {

// Copies what the cloud says of a machine into orb's record. The launch time is
// set once and never changes.
void ObserveCloudMachine(Machine& m, const CloudMachine& c) {
  m.state = c.state;
  if (!c.name.empty()) m.name = c.name;
  if (!c.private_ip.empty()) m.private_ip = c.private_ip;
  m.public_ip = c.public_ip;
  if (!c.instance_type.empty()) m.instance_type = c.instance_type;
  if (!c.availability_zone.empty()) m.availability_zone = c.availability_zone;
  if (m.launch_time == 0) m.launch_time = c.launch_time;
  if (!c.state_reason.empty() && IsFinalMachineState(c.state) && m.message.empty()) {
    m.message = "machine is " + std::string(MachineStateName(c.state)) + ": " + c.state_reason;
  }
}

namespace {

bool StillRunsSomething(MachineState s) {
  return s == MachineState::kPending || s == MachineState::kRunning ||
         s == MachineState::kStopping || s == MachineState::kStopped;
}

// Why a settled acquire request ended with an error, when nothing said so yet.
std::string ShortfallMessage(const Request& r, const RequestProgress& p) {
  std::string text = std::to_string(p.succeeded_units) + " of " +
                     std::to_string(r.requested_count) + " units became usable";
  if (p.failed > 0) text += "; " + std::to_string(p.failed) + " machine(s) failed";
  return text;
}

}  // namespace

std::vector<RequestReport> Broker::RequestStatuses(const std::vector<std::string>& request_ids,
                                                   bool acknowledge) {
  const EpochSeconds now = NowSeconds();
  const long long grace = config_.GetInt("request.visibility_grace_sec");
  const long long pending_timeout = config_.GetInt("request.instance_pending_timeout_sec");
  const long long launch_retry = config_.GetInt("request.launch_retry_sec");

  std::vector<RequestReport> reports(request_ids.size());
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < request_ids.size(); ++i) {
    const std::string& id = request_ids[i];
    std::optional<Request> r;
    if (KindOfRequestId(id)) r = store().GetRequest(id);
    if (!r) {
      RequestReport& unknown = reports[i];
      unknown.request.request_id = id;
      unknown.request.kind = KindOfRequestId(id).value_or(RequestKind::kAcquire);
      unknown.request.status = RequestStatus::kCompleteWithError;
      unknown.request.message = "unknown request id '" + id + "': orb has no such request";
      continue;
    }
    reports[i].request = std::move(*r);
    reports[i].machines = MachinesOfRequest(reports[i].request);
    if (!IsTerminal(reports[i].request.status)) open.push_back(i);
  }
  if (open.empty()) return reports;

  std::string cloud_error;
  // 1. Resume launches a dead process left unconfirmed: adopt by tag, or replay
  //    the stored call with its token. Only one process resumes a request at a
  //    time: the claim is an optimistic update of the request.
  for (std::size_t i : open) {
    Request& r = reports[i].request;
    if (r.kind != RequestKind::kAcquire || r.launch_state != LaunchState::kIntent) continue;
    if (now - r.updated_at < launch_retry) continue;
    if (r.acknowledged_at == kAbandoned) continue;  // the reconciler is giving it back
    try {
      r.updated_at = now;
      store().UpdateRequest(r);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kConflict) throw;
      reports[i].request = *store().GetRequest(r.request_id);
      continue;
    }
    try {
      Launch(r, /*adopt_first=*/true);
    } catch (const Error& e) {
      cloud_error = e.what();
    }
    reports[i].machines = MachinesOfRequest(r);
  }

  // 1b. Launches that created a group which keeps launching (an Auto Scaling
  //     group): ask each group for its members once per poll.
  for (std::size_t i : open) {
    Request& r = reports[i].request;
    if (r.kind != RequestKind::kAcquire || r.launch_state != LaunchState::kSubmitted) continue;
    nlohmann::json data =
        nlohmann::json::parse(r.provider_data.empty() ? "{}" : r.provider_data, nullptr, false);
    if (!data.is_object() || !data.contains("group") || !data["group"].is_string()) continue;
    const std::string group = data["group"].get<std::string>();
    try {
      GroupState g = provider(r.provider_name).DescribeGroup(group);
      RecordLaunched(r, g.machines, g.settled, group, g.message);
    } catch (const Error& e) {
      cloud_error = e.what();
    }
    reports[i].machines = MachinesOfRequest(r);
  }

  // 2. One batched describe per provider instance of every machine still to watch,
  //    over all requests. An instance that cannot be asked holds back only the
  //    requests with machines there.
  std::map<std::string, std::vector<std::string>> watch;  // instance -> machine ids
  for (std::size_t i : open) {
    for (const Machine& m : reports[i].machines) {
      if (!IsFinalMachineState(m.state)) watch[m.provider_name].push_back(m.machine_id);
    }
  }
  std::map<std::string, CloudMachine> seen;
  std::set<std::string> undescribed;  // instances whose describe failed
  for (const auto& [instance, ids] : watch) {
    try {
      for (CloudMachine& c : provider(instance).Describe(ids)) seen[c.machine_id] = std::move(c);
    } catch (const Error& e) {
      cloud_error = e.what();
      undescribed.insert(instance);
      spdlog::warn("describe of {} machine(s) failed: {}", ids.size(), e.what());
    }
  }

  // 3. Apply what the cloud said, then decide each request.
  std::vector<Machine> to_terminate;
  for (std::size_t i : open) {
    Request& r = reports[i].request;
    if (acknowledge && r.acknowledged_at == 0) r.acknowledged_at = now;
    const bool expired = r.deadline != 0 && now > r.deadline;
    bool described = true;
    for (const Machine& m : reports[i].machines) {
      if (!IsFinalMachineState(m.state) && undescribed.count(m.provider_name)) described = false;
    }
    for (Machine& m : reports[i].machines) {
      if (!described || IsFinalMachineState(m.state)) continue;
      auto it = seen.find(m.machine_id);
      if (it != seen.end()) {
        ObserveCloudMachine(m, it->second);
      } else if (now - m.created_at > grace) {
        m.state = MachineState::kGone;
        if (m.message.empty()) m.message = "the cloud no longer knows this machine";
      }
      m.updated_at = now;
    }
    RequestProgress progress;
    progress.requested_units = r.requested_count;
    progress.launch_state = r.launch_state;
    progress.expired = expired;
    for (Machine& m : reports[i].machines) {
      if (r.kind == RequestKind::kAcquire) {
        m.acquire_result = AcquireResult(m.state, m.Addressable(), m.acquire_result);
        const bool stuck = now - m.created_at > pending_timeout;
        if (m.acquire_result == MachineResult::kExecuting && described && (stuck || expired)) {
          to_terminate.push_back(m);
          m.state = MachineState::kFailed;
          m.acquire_result = MachineResult::kFail;
          m.message = stuck ? "not usable after " + std::to_string(pending_timeout) +
                                  " s; terminated"
                            : "request expired; terminated";
        }
        if (m.acquire_result == MachineResult::kFail && m.message.empty()) {
          m.message = "machine is " + std::string(MachineStateName(m.state));
        }
        Tally(progress, m.acquire_result, m.weight);
      } else {
        if (described && StillRunsSomething(m.state) && !m.terminate_refused) {
          to_terminate.push_back(m);  // re-sent until the cloud acts
        }
        m.return_result = ReturnResult(m.state, m.terminate_refused, m.return_result);
        Tally(progress, m.return_result, 1);
      }
    }
    if (!described) {
      // A cloud error never yields a terminal status, until the request's deadline:
      // then it ends with the error rather than running forever.
      if (!expired) continue;
      for (Machine& m : reports[i].machines) {
        MachineResult& result =
            r.kind == RequestKind::kAcquire ? m.acquire_result : m.return_result;
        if (result != MachineResult::kExecuting) continue;
        result = MachineResult::kFail;
        m.message = "could not be checked before the request's deadline: " + cloud_error;
      }
      r.status = RequestStatus::kCompleteWithError;
      r.message = "the cloud could not be reached before the request's deadline: " + cloud_error;
      r.updated_at = now;
      continue;
    }
    if (r.kind == RequestKind::kAcquire && r.launch_state == LaunchState::kIntent && expired) {
      progress.launch_state = LaunchState::kSettled;
      if (r.message.empty()) r.message = "the launch was never confirmed before the deadline";
    }
    const RequestStatus decided = DecideRequestStatus(r.kind, r.status, progress);
    if (decided != r.status) {
      r.status = decided;
      if (decided == RequestStatus::kCompleteWithError && r.kind == RequestKind::kAcquire) {
        const std::string shortfall = ShortfallMessage(r, progress);
        r.message = r.message.empty() ? shortfall : r.message + "; " + shortfall;
      }
      if (expired && decided == RequestStatus::kCompleteWithError &&
          r.message.find("expired") == std::string::npos) {
        r.message += "; request expired";
      }
    }
    // A launch still unconfirmed keeps the time of its last attempt: step 1 resumes
    // it once that is launch_retry_sec old, however often it is polled meanwhile.
    if (r.kind != RequestKind::kAcquire || r.launch_state != LaunchState::kIntent ||
        IsTerminal(r.status)) {
      r.updated_at = now;
    }
  }

  // 4. Terminate, in batches, what must go.
  if (!to_terminate.empty()) {
    try {
      TerminateOutcome outcome = TerminateMachines(to_terminate);
      for (std::size_t i : open) {
        for (Machine& m : reports[i].machines) {
          for (const std::string& id : outcome.not_found) {
            if (id == m.machine_id && m.state != MachineState::kFailed) m.state = MachineState::kGone;
          }
          for (const std::string& id : outcome.refused) {
            if (id == m.machine_id) {
              m.terminate_refused = true;
              m.message = "the cloud refused to terminate it: " + outcome.message;
            }
          }
        }
      }
    } catch (const Error& e) {
      cloud_error = e.what();
    }
  }

  // 5. Persist. Another process polling at the same moment may have written
  //    first: then its record stands and is what is reported.
  for (std::size_t i : open) {
    RequestReport& report = reports[i];
    try {
      store().Transaction([&] {
        for (Machine& m : report.machines) store().UpdateMachine(m);
        store().UpdateRequest(report.request);
      });
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kConflict) throw;
      report.request = *store().GetRequest(report.request.request_id);
      report.machines = MachinesOfRequest(report.request);
    }
    if (!cloud_error.empty() && !IsTerminal(report.request.status)) {
      report.message = "cloud error, will retry: " + cloud_error;
    }
  }
  return reports;
}

}  // namespace orb
