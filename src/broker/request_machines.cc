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
  order.tags = {{"orb:managed-by", "orb"},
                {"orb:broker-id", BrokerId()},
                {"orb:request-id", r.request_id},
                {"orb:template-id", template_id}};
  // Building the exact call may fail on the template (bad user-data path, API not
  // supported): then nothing is stored and nothing launched.
  const LaunchPlan plan = provider().PlanLaunch(order);
  r.provider_data =
      json{{"plan", {{"api", plan.api}, {"body", plan.body}, {"adoptable", plan.adoptable}}}}
          .dump();

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
  const LaunchPlan plan = StoredPlan(r);
  if (adopt_first && plan.adoptable) {
    // A previous attempt may have reached the cloud before its process died:
    // adopt what carries this request's tag rather than launching again.
    std::vector<CloudMachine> found = provider().FindByRequest(r.request_id);
    if (!found.empty()) {
      spdlog::info("request {}: adopting {} machine(s) found by tag", r.request_id, found.size());
      RecordLaunched(r, found, /*settled=*/true, found.front().cloud_host_id,
                     "adopted after an interrupted launch");
      return;
    }
  }
  LaunchResult result;
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
    r.launch_state = LaunchState::kSettled;
    r.status = RequestStatus::kCompleteWithError;
    r.message = e.what();
    r.updated_at = NowSeconds();
    store().UpdateRequest(r);
    return;
  }
  RecordLaunched(r, result.machines, result.settled, result.cloud_host_id, result.message);
}

void Broker::RecordLaunched(Request& r, const std::vector<CloudMachine>& launched, bool settled,
                            const std::string& cloud_host_id, const std::string& message) {
  Template templ;
  try {
    templ = GetTemplate(r.template_id);
  } catch (const Error&) {
    templ.template_id = r.template_id;  // removed since: weights default to 1
  }
  const EpochSeconds now = NowSeconds();
  store().Transaction([&] {
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
