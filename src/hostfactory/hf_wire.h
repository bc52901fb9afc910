#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/machine.h"
#include "model/request.h"
#include "model/template.h"

namespace orb {

// The HostFactory wire format: the JSON documents the five provider scripts read
// (from the file given with -f) and write (one document on stdout). Parsing is
// strict about what HostFactory needs and tolerant of extra keys (LSF adds
// rc_account, userData, ...). Every parse function throws Error(kInvalidInput)
// with a message naming the offending field.

// requestMachines input: {"template": {"templateId": "T", "machineCount": N}}.
struct HfMachineRequest {
  std::string template_id;
  int machine_count = 0;  // >= 1
};
HfMachineRequest ParseHfMachineRequest(const nlohmann::json& doc);

// getRequestStatus input: {"requests": [{"requestId": "req-1"}, ...]}; a single
// object instead of the list is accepted too. Returns the ids in order, without
// duplicates. An empty list is allowed (the answer is an empty list).
std::vector<std::string> ParseHfRequestIds(const nlohmann::json& doc);

// One machine named in requestReturnMachines / getReturnRequests input.
struct HfMachineRef {
  std::string name;        // host name, may be empty when machineId is given
  std::string machine_id;  // cloud id, may be empty when name is given
};

// requestReturnMachines input: {"machines": [{"name": ..., "machineId": ...}]} (a
// single object is accepted too). Each entry needs a name or a machineId.
std::vector<HfMachineRef> ParseHfMachineRefs(const nlohmann::json& doc, bool allow_empty);

// One request as getRequestStatus reports it.
struct HfRequestStatus {
  Request request;
  std::vector<Machine> machines;
  std::string message;  // overrides request.message when non-empty
};

// getRequestStatus output: {"requests": [{"requestId", "status", "message",
// "machines": [{"machineId", "name", "result", "status", "privateIpAddress",
// "publicIpAddress", "launchtime", "message"}]}]}. A machine's `result` is its
// acquire or return result according to the request's kind; a failed machine
// always carries a non-empty message.
nlohmann::ordered_json FormatHfRequestStatuses(const std::vector<HfRequestStatus>& statuses);

// getAvailableTemplates output: {"templates": [...], "message": "..."} with each
// template's attributes and every provider key of the templates file passed through.
nlohmann::ordered_json FormatHfTemplates(const std::vector<Template>& templates);

// One host in getReturnRequests output.
struct HfReturnCandidate {
  std::string name;
  std::string machine_id;
  int grace_period = 0;  // seconds left before the cloud takes it
};

// getReturnRequests output: {"status": "complete", "message": "", "requests":
// [{"machine": name, "machineId": id, "gracePeriod": n}]}.
nlohmann::ordered_json FormatHfReturnCandidates(const std::vector<HfReturnCandidate>& hosts);

// requestMachines / requestReturnMachines output: {"requestId": id, "message": m}.
nlohmann::ordered_json FormatHfRequestCreated(std::string_view request_id,
                                              std::string_view message);

// The output of a failed call: {"message": m} (HostFactory reads the message of a
// non-zero exit).
nlohmann::ordered_json FormatHfFailure(std::string_view message);

}  // namespace orb
