// The requestMachines use case and the crash-safe launch protocol.

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"
#include "provider/aws/aws_error.h"

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
  for (const Machine& m : machines) units += m.weight > 0 ? m.weight : WeightOf(templ, m.instance_type);
  return units;
}

bool IsRetryable(const Error& e) {
  if (const auto* aws = dynamic_cast<const AwsError*>(&e)) return aws->retryable();
  return false;
}

}  // namespace

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
  const EpochSeconds now = NowSeconds();
  Request r;
  r.request_id = NewRequestId(RequestKind::kAcquire);
  r.kind = RequestKind::kAcquire;
  r.template_id = template_id;
  r.provider_name = config_.Get("provider.name");
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
  for (const PoolFailure& f :
       store().ListPoolFailures(r.provider_name, now)) {
    order.avoid_pools.push_back(f.pool);
  }
  order.spot_fallback_after = config_.GetInt("request.spot_fallback_after");
  order.tags = {{"orb:managed-by", "orb"},
                {"orb:broker-id", BrokerId()},
                {"orb:request-id", r.request_id},
                {"orb:template-id", template_id}};
  // Building the exact call may fail on the template (bad user-data path, API not
  // supported): then nothing is stored and nothing launched.
  const LaunchPlan plan = provider().PlanLaunch(order);
  StorePlan(r, plan);

  // Invariant 1: the intent and the exact call with its token are durable before
  // the call that creates capacity is sent. The maxNumber check and the insert share
  // one write transaction, so concurrent requests cannot both squeeze past it.
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
  Launch(r, /*adopt_first=*/false);
  if (message) {
    *message = r.status == RequestStatus::kCompleteWithError
                   ? "Request failed: " + r.message
                   : "Request " + r.request_id + " for " + std::to_string(count) + " of " +
                         template_id + " accepted.";
  }
  return r.request_id;
}

void Broker::Launch(Request& r, bool adopt_first) {
  LaunchPlan plan = StoredPlan(r);
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
      for (CloudMachine& c : provider().FindByRequest(r.request_id)) {
        if (!store().GetMachine(c.machine_id)) found.push_back(std::move(c));
      }
      if (!found.empty()) {
        spdlog::info("request {}: adopting {} machine(s) found by tag", r.request_id,
                     found.size());
        result = provider().Adopt(plan, std::move(found));
        if (result.message.empty()) result.message = "adopted after an interrupted launch";
        adopted = true;
      }
    }
    adopt_first = false;
    if (!adopted) {
      try {
        result = provider().Launch(plan);
      } catch (const Error& e) {
        if (IsRetryable(e)) {
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
    RememberFailedPools(result.failed_pools);
    if (result.next) {
      RecordStep(r, result, *result.next);
      plan = *result.next;
      continue;
    }
    RecordLaunched(r, result.machines, result.settled, result.cloud_host_id, result.message);
    if (result.settled) EnforceAllOrNothing(r);
    return;
  }
}

void Broker::RememberFailedPools(const std::vector<FailedPool>& failed) {
  const int ttl = config_.GetInt("request.failed_pool_ttl_sec");
  if (failed.empty() || ttl <= 0) return;
  const std::string provider_name = config_.Get("provider.name");
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
