#pragma once

// The snake_case JSON records every door (CLI, REST, MCP) shows for the broker's
// answers beyond templates, requests and machines (model/records.h,
// config/template_loader.h): settings, configuration problems, template checks and
// changes, providers and their health, reconciler actions, return candidates and
// the store. One definition, so the doors cannot drift apart.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/broker.h"
#include "config/config_loader.h"
#include "config/settings.h"
#include "store/store.h"

namespace orb {

// One setting: key, value (secrets redacted), source, origin, env, ibm_key, flag,
// default, description.
nlohmann::ordered_json SettingRecord(const Config& config, const SettingSpec& spec);

// Every setting of `config` as SettingRecord, then, with a providers list, each
// instance's provider settings as providers.<name>.<key> (and its weight).
std::vector<nlohmann::ordered_json> SettingRecords(const Config& config);

// {"valid", "files", "problems": [{"severity","where","key","message"}]}.
nlohmann::ordered_json ConfigCheckRecord(const Config& config);

// {"file", "valid", "templates" (count), "problems", "warnings"}.
nlohmann::ordered_json TemplateCheckRecord(const TemplateCheck& check);

// {"action", "template_id", "file", "written", "replaced_existing", "warnings"}.
nlohmann::ordered_json TemplateChangeRecord(const TemplateChange& change);

// {"name", "type", "region", "endpoints": {service: url}}.
nlohmann::ordered_json ProviderRecord(const ProviderInfo& info);

// {"name", "status" ok|failing, "region", "account", "identity", "credentials_source",
// "checks": [{"check","ok","latency_ms","detail"}]}.
nlohmann::ordered_json HealthRecord(const std::string& name, const ProviderHealth& health);

// {"action", "provider", "machine_id", "request_id", "detail"}.
nlohmann::ordered_json ReconcileActionRecord(const ReconcileAction& action);

// {"machine_id", "name", "grace_period", "reason"}.
nlohmann::ordered_json ReturnCandidateRecord(const ReturnCandidate& candidate);

// {"strategy", "location", "schema_version", and a row count per table}.
nlohmann::ordered_json StoreInfoRecord(const StoreInfo& info);

}  // namespace orb
