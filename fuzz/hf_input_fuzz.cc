// Fuzz target hf_input: the JSON document HostFactory hands to the five provider
// operations with -f (requestMachines, getRequestStatus, requestReturnMachines,
// getReturnRequests, getAvailableTemplates).
//
// Feeds the bytes as the input file to RunHfOperation for every operation, with a
// broker that refuses to be reached, and to the hf_wire parsers directly. Checks:
// RunHfOperation never throws and always answers one JSON object with a string
// "message" that serialises; an input reaches the broker exactly when the parser
// accepts it; the parsers throw nothing but Error(kInvalidInput); what they accept
// is in range (1 <= machineCount <= 1000000, non-empty ids, no duplicate request
// ids) and, written back in HostFactory's form, parses again to the same values.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "common/error.h"
#include "common/strings.h"
#include "fuzz_common.h"
#include "hostfactory/hf_operations.h"
#include "hostfactory/hf_wire.h"

namespace {

using json = nlohmann::json;
using orb::fuzz::ErrorOf;
using orb::fuzz::OnlyOrbErrors;

constexpr const char* kReached = "fuzz: the input was accepted and the broker was asked";

orb::Broker& RefuseBroker() { throw orb::Error(orb::ErrorCode::kInternal, kReached); }

// Runs `op` on the input file; returns whether it got as far as the broker.
bool ReachesBroker(orb::HfOperation op, const std::string& file) {
  orb::HfOutcome outcome;
  OnlyOrbErrors("RunHfOperation", [&] { outcome = orb::RunHfOperation(op, file, RefuseBroker); });
  ORB_FUZZ_CHECK(outcome.exit_code == 1, std::string(orb::HfOperationName(op)));
  ORB_FUZZ_CHECK(outcome.document.is_object() && outcome.document.contains("message") &&
                     outcome.document["message"].is_string(),
                 outcome.document.dump());
  std::string text;
  try {
    text = outcome.document.dump();
  } catch (const std::exception& e) {
    orb::fuzz::Fail("the HostFactory answer does not serialise", e.what());
  }
  ORB_FUZZ_CHECK(!json::parse(text, nullptr, false).is_discarded(), text);
  return outcome.document["message"].get<std::string>() == kReached;
}

void CheckInvalidInput(const std::exception_ptr& error, const char* where) {
  if (error) ORB_FUZZ_CHECK(ErrorOf(error).code() == orb::ErrorCode::kInvalidInput, where);
}

void CheckMachineRequest(const json& doc, bool accepted) {
  orb::HfMachineRequest r;
  auto error = OnlyOrbErrors("ParseHfMachineRequest", [&] { r = orb::ParseHfMachineRequest(doc); });
  CheckInvalidInput(error, "ParseHfMachineRequest");
  ORB_FUZZ_CHECK(accepted == !error, "requestMachines and ParseHfMachineRequest disagree");
  if (error) return;
  ORB_FUZZ_CHECK(!r.template_id.empty(), "");
  ORB_FUZZ_CHECK(r.machine_count >= 1 && r.machine_count <= 1000000,
                 std::to_string(r.machine_count));
  const json again = {
      {"template", {{"templateId", r.template_id}, {"machineCount", r.machine_count}}}};
  const orb::HfMachineRequest r2 = orb::ParseHfMachineRequest(json::parse(again.dump()));
  ORB_FUZZ_CHECK(r2.template_id == r.template_id && r2.machine_count == r.machine_count,
                 again.dump());
}

void CheckRequestIds(const json& doc, bool accepted) {
  std::vector<std::string> ids;
  auto error = OnlyOrbErrors("ParseHfRequestIds", [&] { ids = orb::ParseHfRequestIds(doc); });
  CheckInvalidInput(error, "ParseHfRequestIds");
  ORB_FUZZ_CHECK(accepted == !error, "getRequestStatus and ParseHfRequestIds disagree");
  if (error) return;
  std::set<std::string> distinct(ids.begin(), ids.end());
  ORB_FUZZ_CHECK(distinct.size() == ids.size(), "duplicate request ids");
  json again = {{"requests", json::array()}};
  for (const std::string& id : ids) {
    ORB_FUZZ_CHECK(!id.empty(), "empty request id");
    again["requests"].push_back({{"requestId", id}});
  }
  ORB_FUZZ_CHECK(orb::ParseHfRequestIds(json::parse(again.dump())) == ids, again.dump());
}

void CheckMachineRefs(const json& doc, bool allow_empty, bool accepted) {
  std::vector<orb::HfMachineRef> refs;
  auto error = OnlyOrbErrors("ParseHfMachineRefs",
                             [&] { refs = orb::ParseHfMachineRefs(doc, allow_empty); });
  CheckInvalidInput(error, "ParseHfMachineRefs");
  ORB_FUZZ_CHECK(accepted == !error, "the return operations and ParseHfMachineRefs disagree");
  if (error) return;
  ORB_FUZZ_CHECK(allow_empty || !refs.empty(), "no machine accepted for requestReturnMachines");
  json again = {{"machines", json::array()}};
  for (const orb::HfMachineRef& m : refs) {
    ORB_FUZZ_CHECK(!m.name.empty() || !m.machine_id.empty(), "machine without name or id");
    json entry = json::object();
    if (!m.name.empty()) entry["name"] = m.name;
    if (!m.machine_id.empty()) entry["machineId"] = m.machine_id;
    again["machines"].push_back(entry);
  }
  const auto refs2 = orb::ParseHfMachineRefs(json::parse(again.dump()), allow_empty);
  ORB_FUZZ_CHECK(refs2.size() == refs.size(), again.dump());
  for (std::size_t i = 0; i < refs.size(); ++i) {
    ORB_FUZZ_CHECK(refs2[i].name == refs[i].name && refs2[i].machine_id == refs[i].machine_id,
                   again.dump());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  orb::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string file = (orb::fuzz::ScratchDir() / "input.json").string();
  orb::fuzz::WriteFile(file, text);

  const bool templates = ReachesBroker(orb::HfOperation::kGetAvailableTemplates, file);
  const bool request = ReachesBroker(orb::HfOperation::kRequestMachines, file);
  const bool status = ReachesBroker(orb::HfOperation::kGetRequestStatus, file);
  const bool give_back = ReachesBroker(orb::HfOperation::kRequestReturnMachines, file);
  const bool returns = ReachesBroker(orb::HfOperation::kGetReturnRequests, file);

  // What the operations read: blank or malformed input never reaches the broker.
  const json doc = json::parse(text, nullptr, false);
  const bool readable = !orb::Trim(text).empty() && !doc.is_discarded();
  ORB_FUZZ_CHECK(templates == readable, "getAvailableTemplates accepted unreadable input");
  if (!readable) {
    ORB_FUZZ_CHECK(!request && !status && !give_back && !returns, "unreadable input accepted");
    return 0;
  }
  CheckMachineRequest(doc, request);
  CheckRequestIds(doc, status);
  CheckMachineRefs(doc, /*allow_empty=*/false, give_back);
  CheckMachineRefs(doc, /*allow_empty=*/true, returns);
  ORB_FUZZ_CHECK(!give_back || returns, "a return list accepted only when it may not be empty");
  return 0;
}
