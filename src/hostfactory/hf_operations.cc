#include "hostfactory/hf_operations.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"
#include "common/strings.h"
#include "hostfactory/hf_wire.h"

namespace orb {

using json = nlohmann::json;

std::string_view HfOperationName(HfOperation op) {
  switch (op) {
    case HfOperation::kGetAvailableTemplates: return "getAvailableTemplates";
    case HfOperation::kRequestMachines: return "requestMachines";
    case HfOperation::kGetRequestStatus: return "getRequestStatus";
    case HfOperation::kRequestReturnMachines: return "requestReturnMachines";
    case HfOperation::kGetReturnRequests: return "getReturnRequests";
  }
  return "unknown";
}

namespace {

// The text of the input file HostFactory passed with -f.
std::string ReadInputFile(const std::string& path) {
  if (path.empty()) throw Error(ErrorCode::kInvalidInput, "no input file given (-f FILE)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kInvalidInput, "cannot read input file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `text` as one JSON document; `source` names it in messages ("input file 'x'").
json ParseInput(std::string_view text, const std::string& source) {
  if (Trim(text).empty()) throw Error(ErrorCode::kInvalidInput, source + " is empty");
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw Error(ErrorCode::kInvalidInput, source + " is not valid JSON");
  return doc;
}

std::vector<MachineRef> ToRefs(const std::vector<HfMachineRef>& hf) {
  std::vector<MachineRef> refs;
  refs.reserve(hf.size());
  for (const HfMachineRef& m : hf) refs.push_back({m.name, m.machine_id});
  return refs;
}

}  // namespace

HfOutcome RunHfOperation(HfOperation op, const std::string& input_file,
                         const std::function<Broker&()>& get_broker) {
  std::string text;
  try {
    text = ReadInputFile(input_file);
  } catch (const Error& e) {
    HfOutcome outcome;
    outcome.exit_code = 1;
    outcome.error_code = e.code();
    outcome.document = FormatHfFailure(e.what());
    spdlog::error("{}: {}", HfOperationName(op), e.what());
    return outcome;
  }
  return RunHfOperationOnText(op, text, "input file '" + input_file + "'", get_broker);
}

HfOutcome RunHfOperationOnText(HfOperation op, std::string_view text, const std::string& source,
                               const std::function<Broker&()>& get_broker) {
  const auto start = std::chrono::steady_clock::now();
  HfOutcome outcome;
  std::string ids;
  Broker* broker = nullptr;
  try {
    const json input = ParseInput(text, source);
    switch (op) {
      case HfOperation::kGetAvailableTemplates: {
        broker = &get_broker();
        outcome.document = FormatHfTemplates(broker->OfferedTemplates());
        break;
      }
      case HfOperation::kRequestMachines: {
        const HfMachineRequest request = ParseHfMachineRequest(input);
        broker = &get_broker();
        std::string message;
        ids = broker->RequestMachines(request.template_id, request.machine_count, &message);
        outcome.document = FormatHfRequestCreated(ids, message);
        outcome.created_request_id = ids;
        break;
      }
      case HfOperation::kGetRequestStatus: {
        const std::vector<std::string> request_ids = ParseHfRequestIds(input);
        broker = &get_broker();
        // The calls that already change state carry the reconciler's slice when it is
        // due (getReturnRequests must stay read-only).
        broker->ReconcileIfDue();
        std::vector<HfRequestStatus> statuses;
        for (RequestReport& r : broker->RequestStatuses(request_ids)) {
          statuses.push_back({std::move(r.request), std::move(r.machines), std::move(r.message)});
        }
        ids = Join(request_ids, ",");
        outcome.document = FormatHfRequestStatuses(statuses);
        break;
      }
      case HfOperation::kRequestReturnMachines: {
        const std::vector<MachineRef> refs = ToRefs(ParseHfMachineRefs(input, false));
        broker = &get_broker();
        std::string message;
        ids = broker->ReturnMachines(refs, &message);
        outcome.document = FormatHfRequestCreated(ids, message);
        outcome.created_request_id = ids;
        break;
      }
      case HfOperation::kGetReturnRequests: {
        const std::vector<MachineRef> refs = ToRefs(ParseHfMachineRefs(input, true));
        broker = &get_broker();
        std::vector<HfReturnCandidate> hosts;
        for (const ReturnCandidate& c : broker->ReturnCandidates(refs)) {
          hosts.push_back({c.name, c.machine_id, c.grace_period});
        }
        outcome.document = FormatHfReturnCandidates(hosts);
        break;
      }
    }
  } catch (const Error& e) {
    outcome.exit_code = 1;
    outcome.error_code = e.code();
    outcome.document = FormatHfFailure(e.what());
    spdlog::error("{}: {}", HfOperationName(op), e.what());
  } catch (const std::exception& e) {
    outcome.exit_code = 1;
    outcome.error_code = ErrorCode::kInternal;
    outcome.document = FormatHfFailure(e.what());
    spdlog::error("{}: {}", HfOperationName(op), e.what());
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("{} exit={} requests=[{}] cloud_calls={} duration_ms={:.1f}", HfOperationName(op),
               outcome.exit_code, ids, broker ? broker->CloudCalls() : 0, ms);
  return outcome;
}

}  // namespace orb
