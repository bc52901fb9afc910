// The requestMachines use case and the crash-safe launch protocol.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "broker/broker.h"
#include "broker/provider_selection.h"
#include "common/crash_point.h"
#include "common/error.h"
#include "common/strings.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/capacity_errors.h"

namespace orb {

using json = nlohmann::json;

namespace {

// The weight (capacity units) of an instance type in a template: its vmTypes
// weight, else 1.
int WeightOf(const Template& t, const std::string& instance_type) {
  for (const auto& [type, weight] : t.vm_types) {
    if (type == instance_type) return std::max(1, weight);
  }
  return 1;
}

// The stored launch plan of a request.
LaunchPlan StoredPlan(const Request& r) {
  json data = json::parse(r.provider_data.empty() ? "{}" : r.provider_data, nullptr, false);
  if (data.is_discarded() || !data.contains("plan")) {
    throw Error(ErrorCode::kStore, "request " + r.request_id + " has no stored launch plan");
  }
  LaunchPlan plan;
  plan.request_id = r.request_id;
  plan.api = data["plan"].value("api", "");
  plan.body = data["plan"]["body"];
  plan.adoptable = data["plan"].value("adoptable", true);
  return plan;
}

// A plan as stored in a request's provider_data.
json StoredForm(const LaunchPlan& plan) {
  return {{"api", plan.api}, {"body", plan.body}, {"adoptable", plan.adoptable}};
}

// Replaces the stored plan of `r` by `plan`.
void StorePlan(Request& r, const LaunchPlan& plan) {
  json data = json::parse(r.provider_data.empty() ? "{}" : r.provider_data, nullptr, false);
  if (!data.is_object()) data = json::object();
  data["plan"] = StoredForm(plan);
  r.provider_data = data.dump();
}

// Capacity units `machines` count for in `templ`.
int UnitsOf(const Template& templ, const std::vector<Machine>& machines) {
  int units = 0;
  for (const Machine& m : machines) {
    units += m.weight > 0 ? m.weight : WeightOf(templ, m.instance_type);
  }
  return units;
}

// True when the launch call certainly took no effect: AWS answered it with a refusal
// (a 4xx that is not throttling, or a capacity or quota shortage), or orb failed before
// any AWS call (e.g. a template problem). Anything else (no answer, a 5xx, the
// endpoint's circuit open, orb's own pacing) leaves the call unconfirmed: it, or an
// earlier attempt, may have reached AWS, so it is replayed with its token and never
// settled as refused (which would forget whatever it made).
bool Refused(const Error& e) {
  const auto* aws = dynamic_cast<const AwsError*>(&e);
  if (aws == nullptr) return true;
  if (aws->retryable() || aws->aws_code() == "CircuitOpen") return false;
  if (!ClassifyLaunchError(aws->aws_code()).empty()) return true;
  return aws->http_status() >= 400 && aws->http_status() < 500;
}

// The pool key under which a provider instance's recent refusal is remembered.
std::string InstancePool(const std::string& name) { return "provider:" + name; }

// When `e` says the provider instance as a whole cannot launch now, without the call
// having launched anything (no capacity or quota, circuit breaker open): the kind
// ("capacity", "quota", "unavailable"); else "".
std::string InstanceRefusalKind(const Error& e) {
  const auto* aws = dynamic_cast<const AwsError*>(&e);
  if (aws == nullptr) return "";
  if (aws->aws_code() == "CircuitOpen") return "unavailable";
  const std::string kind = ClassifyLaunchError(aws->aws_code());
  return kind == "capacity" || kind == "quota" ? kind : "";
}

}  // namespace

std::vector<std::string> Broker::ProviderOrder(const Template& templ) {
  const std::vector<std::string> names = ProviderNames();
  std::vector<std::string> bound = templ.providers;
  if (!templ.provider_name.empty()) bound = {templ.provider_name};
  if (bound.empty()) return {DefaultProviderName()};
  std::vector<ProviderCandidate> candidates;
  const EpochSeconds now = NowSeconds();
  for (const std::string& b : bound) {
    if (std::find(names.begin(), names.end(), b) == names.end()) {
      throw Error(ErrorCode::kInvalidConfig,
                  "template '" + templ.template_id + "' names provider instance '" + b +
                      "', which is not configured (configured: " + Join(names, ", ") + ")");
    }
    ProviderCandidate c;
    c.name = b;
    for (const ProviderInstanceConfig& p : config_.provider_instances()) {
      if (p.name == b) c.weight = p.weight;
    }
    if (bound.size() > 1) {
      for (const PoolFailure& f : store().ListPoolFailures(b, now)) {
        if (f.pool == InstancePool(b)) c.healthy = false;
      }
    }
    candidates.push_back(std::move(c));
  }
  if (candidates.size() == 1) return {candidates.front().name};
  std::string last_used;
  if (templ.provider_selection == "round-robin") {
    RequestQuery latest;
    latest.kind = RequestKind::kAcquire;
    latest.template_id = templ.template_id;
    latest.limit = 1;
    std::vector<Request> last = store().ListRequests(latest);
    if (!last.empty()) last_used = last.front().provider_name;
  }
  std::random_device rd;
  const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rd);
  return OrderProviders(templ.provider_selection, candidates, last_used, draw);
}

void Broker::RememberProviderFailure(const std::string& name, const std::string& kind,
                                     const std::string& reason) {
  const int ttl = config_.GetInt("request.failed_pool_ttl_sec");
  if (ttl <= 0) return;
  try {
    store().RecordPoolFailure({name, InstancePool(name), kind, reason, NowSeconds() + ttl});
  } catch (const Error& e) {
    spdlog::warn("could not remember the failure of provider instance {}: {}", name, e.what());
  }
}

int Broker::UnitsInUse(const Template& templ) {
  int units = 0;
  MachineQuery machines;
  machines.template_id = templ.template_id;
  machines.active_only = true;
  for (const Machine& m : store().ListMachines(machines)) {
    if (m.return_request_id.empty()) units += m.weight;
  }
  RequestQuery open;
  open.open_only = true;
  open.kind = RequestKind::kAcquire;
  open.template_id = templ.template_id;
  for (const Request& r : store().ListRequests(open)) {
    if (r.launch_state == LaunchState::kIntent) units += r.requested_count;
  }
  return units;
}

std::string Broker::RequestMachines(const std::string& template_id, int count,
                                    std::string* message) {
  if (count < 1) {
    throw Error(ErrorCode::kInvalidInput,
                "machine count must be at least 1, got " + std::to_string(count));
  }
  const Template templ = GetTemplate(template_id);
  if (templ.max_number == 0) {
    throw Error(ErrorCode::kInvalidInput,
                "template '" + template_id + "' has maxNumber 0: it is not to be used");
  }
  // Which provider instances may launch it, in the order to try them.
  const std::vector<std::string> instances = ProviderOrder(templ);
  const EpochSeconds now = NowSeconds();
  Request r;
  r.request_id = NewRequestId(RequestKind::kAcquire);
  r.kind = RequestKind::kAcquire;
  r.template_id = template_id;
  r.provider_name = instances.front();
  r.requested_count = count;
  r.status = RequestStatus::kRunning;
  r.launch_state = LaunchState::kIntent;
  r.client_token = r.request_id;  // 40 characters, unique per request
  r.created_at = now;
  r.updated_at = now;
  r.deadline = now + config_.GetInt("request.timeout_sec");

  LaunchOrder order;
  order.request_id = r.request_id;
  order.client_token = r.client_token;
  order.units = count;
  order.templ = templ;
  order.spot_fallback_after = config_.GetInt("request.spot_fallback_after");
  order.tags = {{kTagManagedBy, "orb"},
                {kTagBrokerId, BrokerId()},
                {kTagRequestId, r.request_id},
                {kTagTemplateId, template_id}};
  // The exact call for instance `at` of `instances`, with the pools that instance saw
  // failing recently tried last. Building it may fail on the template (bad user-data
  // path, API not supported): then nothing is stored and nothing launched.
  auto plan_on = [&](std::size_t at) {
    order.avoid_pools.clear();
    for (const PoolFailure& f : store().ListPoolFailures(instances[at], NowSeconds())) {
      order.avoid_pools.push_back(f.pool);
    }
    // Each instance gets its own idempotency token: the refused call's token is never
    // reused for a different call.
    order.client_token = at == 0 ? r.request_id : r.request_id + "-p" + std::to_string(at);
    return provider(instances[at]).PlanLaunch(order);
  };
  StorePlan(r, plan_on(0));

  // Invariant 1: the intent and the exact call with its token are durable before
  // the call that creates capacity is sent. The maxNumber check and the insert share
  // one write transaction, so concurrent requests cannot both squeeze past it.
  CrashPoint("acquire.before_intent");
  store().Transaction([&] {
    if (templ.max_number > 0) {
      const int in_use = UnitsInUse(templ);
      if (in_use + count > templ.max_number) {
        throw Error(ErrorCode::kInvalidInput,
                    "template '" + template_id + "' allows at most " +
                        std::to_string(templ.max_number) + " machines; " + std::to_string(in_use) +
                        " are in use or on order, so " + std::to_string(count) +
                        " more would exceed it");
      }
    }
    store().InsertRequest(r);
  });
  CrashPoint("acquire.after_intent");
  std::vector<std::string> refusals;
  try {
    for (std::size_t at = 0;; ++at) {
      const bool more = at + 1 < instances.size();
      std::string refusal;
      Launch(r, /*adopt_first=*/false, more ? &refusal : nullptr);
      if (refusal.empty()) break;
      // The instance refused as a whole before launching anything: the next one is
      // asked, with a plan stored (replacing the refused one) before it is sent.
      spdlog::warn("request {}: provider instance {} refused the launch, trying {}: {}",
                   r.request_id, instances[at], instances[at + 1], refusal);
      refusals.push_back(instances[at] + ": " + refusal);
      LaunchPlan next;
      try {
        next = plan_on(at + 1);
      } catch (const Error& e) {
        // Nothing more to try: the request ends with what the instances said.
        refusals.push_back(instances[at + 1] + ": " + e.what());
        r.launch_state = LaunchState::kSettled;
        r.status = RequestStatus::kCompleteWithError;
        r.message = Join(refusals, "; ");
        r.updated_at = NowSeconds();
        store().UpdateRequest(r);
        break;
      }
      store().Transaction([&] {
        StorePlan(r, next);
        r.provider_name = instances[at + 1];
        r.client_token = order.client_token;
        r.launch_state = LaunchState::kIntent;
        r.message = "provider instance " + Join(refusals, "; provider instance ") + "; trying " +
                    instances[at + 1];
        r.updated_at = NowSeconds();
        store().UpdateRequest(r);
      });
    }
  } catch (const Error& e) {
    // The intent is durable, so the request exists whatever failed after it (most
    // likely the store, while recording what the launch made): getRequestStatus
    // resumes it, adopting what carries its tag or replaying the stored call with its
    // token. HostFactory must get the id to poll it: a failure answer would leave
    // whatever was launched to nobody.
    spdlog::error("request {}: launch not confirmed, getRequestStatus will resume it: {}",
                  r.request_id, e.what());
    if (message) {
      *message = "Request " + r.request_id + " accepted; its launch is not confirmed yet (" +
                 e.what() + "): getRequestStatus resumes it.";
    }
    return r.request_id;
  }
  if (message) {
    *message = r.status == RequestStatus::kCompleteWithError
                   ? "Request failed: " + r.message
                   : "Request " + r.request_id + " for " + std::to_string(count) + " of " +
                         template_id + " accepted.";
  }
  return r.request_id;
}

bool Broker::LaunchCreatesGroup(const Request& r) { return !StoredPlan(r).adoptable; }

void Broker::Launch(Request& r, bool adopt_first, std::string* instance_refusal) {
  LaunchPlan plan = StoredPlan(r);
  Provider& cloud = provider(r.provider_name);
  // Whether the request has machines recorded (then a refusal never moves it).
  auto has_machines = [&] {
    MachineQuery mine;
    mine.request_id = r.request_id;
    mine.limit = 1;
    return !store().ListMachines(mine).empty();
  };
  // A launch may take several calls (more instances than one call allows, or pools
  // without capacity): each is stored before it is sent.
  for (;;) {
    LaunchResult result;
    bool adopted = false;
    if (adopt_first && plan.adoptable) {
      // A previous attempt may have reached the cloud before its process died:
      // adopt what carries this request's tag (and is not recorded yet) rather than
      // launching again.
      std::vector<CloudMachine> found;
      for (CloudMachine& c : cloud.FindByRequest(r.request_id)) {
        if (!store().GetMachine(c.machine_id)) found.push_back(std::move(c));
      }
      if (!found.empty()) {
        spdlog::info("request {}: adopting {} machine(s) found by tag", r.request_id,
                     found.size());
        result = cloud.Adopt(plan, std::move(found));
        if (result.message.empty()) result.message = "adopted after an interrupted launch";
        adopted = true;
      }
    }
    adopt_first = false;
    if (!adopted) {
      try {
        result = cloud.Launch(plan);
      } catch (const Error& e) {
        if (const std::string kind = InstanceRefusalKind(e); !kind.empty()) {
          RememberProviderFailure(r.provider_name, kind, e.what());
          if (instance_refusal != nullptr && !has_machines()) {
            *instance_refusal = e.what();
            return;
          }
        }
        if (!Refused(e)) {
          // The call may or may not have reached the cloud: the next status call
          // replays it with the same token (or adopts what it made).
          spdlog::warn("request {}: launch did not complete: {}", r.request_id, e.what());
          r.message = std::string("launch not confirmed yet, will retry with the same token: ") +
                      e.what();
          r.updated_at = NowSeconds();
          store().UpdateRequest(r);
          return;
        }
        spdlog::error("request {}: launch refused: {}", r.request_id, e.what());
        MachineQuery mine;
        mine.request_id = r.request_id;
        mine.limit = 1;
        r.launch_state = LaunchState::kSettled;
        if (store().ListMachines(mine).empty()) {
          r.status = RequestStatus::kCompleteWithError;
          r.message = e.what();
        } else {
          // Earlier calls launched machines: the request ends with those.
          r.message = r.message.empty() ? e.what() : r.message + "; " + e.what();
        }
        r.updated_at = NowSeconds();
        store().UpdateRequest(r);
        return;
      }
    }
    CrashPoint("acquire.after_answer");
    RememberFailedPools(r.provider_name, result.failed_pools);
    if (result.next) {
      RecordStep(r, result, *result.next);
      CrashPoint("acquire.after_record");
      plan = *result.next;
      continue;
    }
    if (result.settled && result.machines.empty() && !result.failed_pools.empty()) {
      // Every pool of this instance refused for capacity, quota or price.
      const std::string reason =
          result.message.empty() ? "no pool had capacity" : result.message;
      RememberProviderFailure(r.provider_name, result.failed_pools.front().kind, reason);
      if (instance_refusal != nullptr && !has_machines()) {
        *instance_refusal = reason;
        return;
      }
    }
    RecordLaunched(r, result.machines, result.settled, result.cloud_host_id, result.message);
    CrashPoint("acquire.after_record");
    if (result.settled) EnforceAllOrNothing(r);
    return;
  }
}

void Broker::RememberFailedPools(const std::string& provider_name,
                                 const std::vector<FailedPool>& failed) {
  const int ttl = config_.GetInt("request.failed_pool_ttl_sec");
  if (failed.empty() || ttl <= 0) return;
  for (const FailedPool& f : failed) {
    try {
      store().RecordPoolFailure({provider_name, f.pool, f.kind, f.reason, NowSeconds() + ttl});
    } catch (const Error& e) {
      // Only a hint for later launches: never worth failing this one.
      spdlog::warn("could not remember failed pool {}: {}", f.pool, e.what());
    }
  }
}

void Broker::RecordStep(Request& r, const LaunchResult& result, const LaunchPlan& next) {
  store().Transaction([&] {
    InsertLaunched(r, result.machines, result.cloud_host_id);
    StorePlan(r, next);
    r.launch_state = LaunchState::kIntent;  // the next call is not confirmed yet
    r.message = result.message;
    r.updated_at = NowSeconds();
    store().UpdateRequest(r);
  });
  spdlog::info("request {}: {} machine(s) launched, another call follows{}", r.request_id,
               result.machines.size(), result.message.empty() ? "" : " (" + result.message + ")");
}

void Broker::EnforceAllOrNothing(Request& r) {
  Template templ;
  try {
    templ = GetTemplate(r.template_id);
  } catch (const Error&) {
    return;  // removed since: its policy is unknown, keep what was launched
  }
  if (!templ.all_or_nothing || r.status != RequestStatus::kRunning) return;
  MachineQuery mine;
  mine.request_id = r.request_id;
  std::vector<Machine> machines = store().ListMachines(mine);
  const int units = UnitsOf(templ, machines);
  if (units >= r.requested_count || machines.empty()) return;
  // Fewer than asked: the template wants all or nothing, so nothing it is.
  spdlog::warn("request {}: only {} of {} unit(s) launched and template {} is all-or-nothing: "
               "terminating them",
               r.request_id, units, r.requested_count, templ.template_id);
  TerminateOutcome outcome = TerminateMachines(machines);
  store().Transaction([&] {
    for (Machine& m : machines) {
      std::optional<Machine> fresh = store().GetMachine(m.machine_id);
      if (!fresh) continue;
      fresh->state = MachineState::kShuttingDown;
      fresh->acquire_result = MachineResult::kFail;
      fresh->message = "terminated: the request could not get all it asked for";
      fresh->updated_at = NowSeconds();
      store().UpdateMachine(*fresh);
    }
    r.status = RequestStatus::kCompleteWithError;
    r.message = "only " + std::to_string(units) + " of " + std::to_string(r.requested_count) +
                " unit(s) could be launched and the template is all-or-nothing (capacityPolicy): "
                "they were terminated" +
                (r.message.empty() ? std::string() : " (" + r.message + ")") +
                (outcome.message.empty() ? std::string() : "; " + outcome.message);
    r.updated_at = NowSeconds();
    store().UpdateRequest(r);
  });
}

void Broker::InsertLaunched(Request& r, const std::vector<CloudMachine>& launched,
                            const std::string& cloud_host_id) {
  if (launched.empty()) return;
  Template templ;
  try {
    templ = GetTemplate(r.template_id);
  } catch (const Error&) {
    templ.template_id = r.template_id;  // removed since: weights default to 1
  }
  const EpochSeconds now = NowSeconds();
  for (const CloudMachine& c : launched) {
    if (store().GetMachine(c.machine_id)) continue;  // already recorded
    Machine m;
    m.machine_id = c.machine_id;
    m.name = c.name;
    m.request_id = r.request_id;
    m.template_id = r.template_id;
    m.provider_name = r.provider_name;
    m.instance_type = c.instance_type;
    m.private_ip = c.private_ip;
    m.public_ip = c.public_ip;
    m.availability_zone = c.availability_zone;
    m.price_type = c.price_type;
    m.cloud_host_id = c.cloud_host_id.empty() ? cloud_host_id : c.cloud_host_id;
    m.state = c.state;
    m.weight = WeightOf(templ, c.instance_type);
    m.launch_time = c.launch_time;
    m.created_at = now;
    m.updated_at = now;
    store().InsertMachine(m);
  }
}

void Broker::RecordLaunched(Request& r, const std::vector<CloudMachine>& launched, bool settled,
                            const std::string& cloud_host_id, const std::string& message) {
  const EpochSeconds now = NowSeconds();
  store().Transaction([&] {
    InsertLaunched(r, launched, cloud_host_id);
    r.launch_state = settled ? LaunchState::kSettled : LaunchState::kSubmitted;
    r.message = message;  // replaces any "launch not confirmed yet" note
    if (!settled && !cloud_host_id.empty()) {
      // A group that keeps launching: status calls ask it for its members.
      json data = json::parse(r.provider_data.empty() ? "{}" : r.provider_data, nullptr, false);
      if (data.is_object()) {
        data["group"] = cloud_host_id;
        r.provider_data = data.dump();
      }
    }
    MachineQuery mine;
    mine.request_id = r.request_id;
    mine.limit = 1;
    if (settled && store().ListMachines(mine).empty()) {
      r.status = RequestStatus::kCompleteWithError;
      if (r.message.empty()) r.message = "the cloud launched no machine";
    }
    r.updated_at = now;
    store().UpdateRequest(r);
  });
  spdlog::info("request {}: {} machine(s) launched{}", r.request_id, launched.size(),
               message.empty() ? "" : " (" + message + ")");
}

}  // namespace orb
