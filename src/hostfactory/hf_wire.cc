#include "hostfactory/hf_wire.h"

#include <cmath>
#include <set>

#include "common/error.h"
#include "common/strings.h"
#include "config/template_loader.h"

namespace orb {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

[[noreturn]] void Bad(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

// The list under `key`, accepting a single object in its place (IBM's
// documentation shows both forms).
std::vector<json> ObjectList(const json& doc, const char* key, bool allow_missing) {
  if (!doc.is_object()) Bad(std::string("input must be a JSON object with \"") + key + "\"");
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) {
    if (allow_missing) return {};
    Bad(std::string("input has no \"") + key + "\"");
  }
  if (it->is_object()) return {*it};
  if (!it->is_array()) Bad(std::string("\"") + key + "\" must be a list of objects");
  std::vector<json> out;
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_object()) {
      Bad(std::string("\"") + key + "\"[" + std::to_string(i) + "] must be an object");
    }
    out.push_back((*it)[i]);
  }
  return out;
}

// A string field; "" when absent or null. Throws for other types.
std::string StringField(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string()) Bad(where + " \"" + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

HfMachineRequest ParseHfMachineRequest(const json& doc) {
  if (!doc.is_object()) Bad("input must be a JSON object with \"template\"");
  auto t = doc.find("template");
  if (t == doc.end() || !t->is_object()) {
    Bad("input must have \"template\": {\"templateId\": ..., \"machineCount\": ...}");
  }
  HfMachineRequest r;
  r.template_id = StringField(*t, "templateId", "template");
  if (r.template_id.empty()) Bad("template \"templateId\" is missing or empty");
  auto count = t->find("machineCount");
  if (count == t->end() || count->is_null()) Bad("template \"machineCount\" is missing");
  long long n = 0;
  if (count->is_number_integer() || count->is_number_unsigned()) {
    n = count->get<long long>();
  } else if (count->is_number_float() && std::isfinite(count->get<double>()) &&
             count->get<double>() == std::floor(count->get<double>())) {
    // Compared in double first: converting one outside long long's range is undefined.
    if (std::fabs(count->get<double>()) > 1e15) {
      Bad("template \"machineCount\" is too large: " + count->dump());
    }
    n = static_cast<long long>(count->get<double>());
  } else if (count->is_string()) {
    const std::string& s = count->get_ref<const std::string&>();
    std::size_t used = 0;
    try {
      n = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size()) Bad("template \"machineCount\" must be a whole number, got \"" + s + "\"");
  } else {
    Bad("template \"machineCount\" must be a whole number, got " + count->dump());
  }
  if (n < 1) Bad("template \"machineCount\" must be at least 1, got " + std::to_string(n));
  if (n > 1000000) Bad("template \"machineCount\" is too large: " + std::to_string(n));
  r.machine_count = static_cast<int>(n);
  return r;
}

std::vector<std::string> ParseHfRequestIds(const json& doc) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  std::vector<json> items = ObjectList(doc, "requests", false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string id = StringField(items[i], "requestId", "requests[" + std::to_string(i) + "]");
    if (id.empty()) Bad("requests[" + std::to_string(i) + "] has no \"requestId\"");
    if (seen.insert(id).second) ids.push_back(std::move(id));
  }
  return ids;
}

std::vector<HfMachineRef> ParseHfMachineRefs(const json& doc, bool allow_empty) {
  if (allow_empty && doc.is_object() && doc.empty()) return {};
  std::vector<json> items = ObjectList(doc, "machines", allow_empty);
  if (items.empty() && !allow_empty) Bad("\"machines\" is empty: name at least one machine");
  std::vector<HfMachineRef> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string where = "machines[" + std::to_string(i) + "]";
    HfMachineRef ref;
    ref.name = StringField(items[i], "name", where);
    ref.machine_id = StringField(items[i], "machineId", where);
    if (ref.name.empty() && ref.machine_id.empty()) {
      Bad(where + " needs a \"name\" or a \"machineId\"");
    }
    out.push_back(std::move(ref));
  }
  return out;
}

ojson FormatHfRequestStatuses(const std::vector<HfRequestStatus>& statuses) {
  ojson list = ojson::array();
  for (const HfRequestStatus& s : statuses) {
    ojson r = ojson::object();
    r["requestId"] = s.request.request_id;
    r["status"] = std::string(RequestStatusName(s.request.status));
    r["message"] = s.message.empty() ? s.request.message : s.message;
    ojson machines = ojson::array();
    for (const Machine& m : s.machines) {
      const MachineResult result =
          s.request.kind == RequestKind::kAcquire ? m.acquire_result : m.return_result;
      ojson mr = ojson::object();
      mr["machineId"] = m.machine_id;
      mr["name"] = m.name;
      mr["result"] = std::string(MachineResultName(result));
      mr["status"] = std::string(MachineStateName(m.state));
      mr["privateIpAddress"] = m.private_ip;
      mr["publicIpAddress"] = m.public_ip;
      mr["launchtime"] = m.launch_time;
      std::string message = m.message;
      if (result == MachineResult::kFail && message.empty()) {
        message = "machine is " + std::string(MachineStateName(m.state));
      }
      mr["message"] = message;
      machines.push_back(std::move(mr));
    }
    r["machines"] = std::move(machines);
    list.push_back(std::move(r));
  }
  ojson doc = ojson::object();
  doc["requests"] = std::move(list);
  return doc;
}

ojson FormatHfTemplates(const std::vector<Template>& templates) {
  ojson list = ojson::array();
  for (const Template& t : templates) {
    ojson record = TemplateRecord(t);
    ojson hf = ojson::object();
    // Keys of the templates file come back as the operator wrote them (IBM
    // camelCase); orb's own snake_case names become camelCase.
    for (auto it = record.begin(); it != record.end(); ++it) hf[SnakeToCamel(it.key())] = it.value();
    list.push_back(std::move(hf));
  }
  ojson doc = ojson::object();
  doc["templates"] = std::move(list);
  doc["message"] = "Get available templates success.";
  return doc;
}

ojson FormatHfReturnCandidates(const std::vector<HfReturnCandidate>& hosts) {
  ojson list = ojson::array();
  for (const HfReturnCandidate& h : hosts) {
    ojson r = ojson::object();
    r["machine"] = h.name;
    r["machineId"] = h.machine_id;
    r["gracePeriod"] = h.grace_period;
    list.push_back(std::move(r));
  }
  ojson doc = ojson::object();
  doc["status"] = "complete";
  doc["message"] = hosts.empty() ? "No machines to return." : "Machines to return.";
  doc["requests"] = std::move(list);
  return doc;
}

ojson FormatHfRequestCreated(std::string_view request_id, std::string_view message) {
  ojson doc = ojson::object();
  doc["requestId"] = std::string(request_id);
  doc["message"] = std::string(message);
  return doc;
}

ojson FormatHfFailure(std::string_view message) {
  ojson doc = ojson::object();
  doc["message"] = std::string(message);
  return doc;
}

}  // namespace orb
