#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace orb {

class Broker;

// The five HostFactory provider operations.
enum class HfOperation {
  kGetAvailableTemplates,
  kRequestMachines,
  kGetRequestStatus,
  kRequestReturnMachines,
  kGetReturnRequests,
};

// "getAvailableTemplates", "requestMachines", ...
std::string_view HfOperationName(HfOperation op);

// What one operation answers: the exit code (0 success, 1 failure) and the one
// JSON document for stdout (on failure {"message": ...}).
struct HfOutcome {
  int exit_code = 0;
  nlohmann::ordered_json document;
  // The request this call created ("" if none): the caller acknowledges it
  // (Broker::AcknowledgeRequest) once the document is written.
  std::string created_request_id;
  // What kind of failure it was (exit_code 1), for doors with richer statuses.
  ErrorCode error_code = ErrorCode::kInternal;
};

// Runs one HostFactory operation on the input file HostFactory passed with -f,
// the way the five scripts do: reads and parses the file (HostFactory deletes it
// afterwards, so it is read once, now), calls the broker, and formats the answer
// in HostFactory's wire format. `broker` is called only once the input is valid,
// so a malformed input never touches the configuration, the store or the cloud.
// Every failure becomes exit code 1 with a message; nothing is thrown. Writes one
// log line per call: operation, request ids, cloud calls, duration.
HfOutcome RunHfOperation(HfOperation op, const std::string& input_file,
                         const std::function<Broker&()>& broker);

// Runs one HostFactory operation on `text`, an input document as HostFactory writes
// it (e.g. an HTTP request body), exactly as RunHfOperation does with a file's
// contents; `source` names the input in messages ("request body").
HfOutcome RunHfOperationOnText(HfOperation op, std::string_view text, const std::string& source,
                               const std::function<Broker&()>& broker);

}  // namespace orb
