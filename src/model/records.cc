#include "model/records.h"

#include "common/clock.h"

namespace orb {

using json = nlohmann::ordered_json;

json MachineRecord(const Machine& m) {
  json r = json::object();
  r["machine_id"] = m.machine_id;
  r["name"] = m.name;
  r["status"] = std::string(MachineStateName(m.state));
  r["result"] = std::string(MachineResultName(
      m.return_request_id.empty() ? m.acquire_result : m.return_result));
  r["private_ip"] = m.private_ip;
  r["public_ip"] = m.public_ip;
  r["launch_time"] = m.launch_time;
  r["message"] = m.message;
  r["request_id"] = m.request_id;
  r["return_request_id"] = m.return_request_id;
  r["template_id"] = m.template_id;
  r["instance_type"] = m.instance_type;
  r["availability_zone"] = m.availability_zone;
  r["price_type"] = m.price_type;
  r["weight"] = m.weight;
  r["cloud_host_id"] = m.cloud_host_id;
  r["provider_name"] = m.provider_name;
  r["created_at"] = FormatIso8601(m.created_at);
  r["updated_at"] = FormatIso8601(m.updated_at);
  if (!m.notice_action.empty()) {
    // The cloud's warning from the interruption queue (spot interruption, rebalance).
    r["notice"] = {{"action", m.notice_action},
                   {"takes_effect_at", m.notice_takes_effect_at
                                           ? FormatIso8601(m.notice_takes_effect_at)
                                           : ""}};
  }
  return r;
}

json RequestRecord(const Request& q, const std::vector<Machine>* machines) {
  json r = json::object();
  r["request_id"] = q.request_id;
  r["kind"] = std::string(RequestKindName(q.kind));
  r["status"] = std::string(RequestStatusName(q.status));
  r["template_id"] = q.template_id;
  r["requested_count"] = q.requested_count;
  r["message"] = q.message;
  r["launch_state"] = std::string(LaunchStateName(q.launch_state));
  r["provider_name"] = q.provider_name;
  r["created_at"] = FormatIso8601(q.created_at);
  r["updated_at"] = FormatIso8601(q.updated_at);
  r["deadline"] = q.deadline ? FormatIso8601(q.deadline) : "";
  if (machines) {
    json list = json::array();
    for (const Machine& m : *machines) {
      json mr = MachineRecord(m);
      // Within a request, a machine's result is the one for that request's kind.
      mr["result"] = std::string(MachineResultName(
          q.kind == RequestKind::kAcquire ? m.acquire_result : m.return_result));
      list.push_back(std::move(mr));
    }
    r["machines"] = std::move(list);
  }
  return r;
}

}  // namespace orb
