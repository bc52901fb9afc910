#include "broker/broker_records.h"

#include "common/strings.h"

namespace orb {

using json = nlohmann::ordered_json;

json SettingRecord(const Config& config, const SettingSpec& spec) {
  const SettingValue& v = config.Lookup(spec.key);
  json r = json::object();
  r["key"] = std::string(spec.key);
  r["value"] = spec.secret && !v.value.empty() ? std::string(kRedacted) : v.value;
  r["source"] = std::string(SettingSourceName(v.source));
  r["origin"] = v.origin;
  std::vector<std::string> env(spec.env.begin(), spec.env.end());
  r["env"] = Join(env, ",");
  r["ibm_key"] = std::string(spec.ibm_key);
  r["flag"] = std::string(spec.flag);
  r["default"] = std::string(spec.default_value);
  r["description"] = std::string(spec.description);
  return r;
}

std::vector<json> SettingRecords(const Config& config) {
  std::vector<json> records;
  for (const SettingSpec& spec : AllSettings()) records.push_back(SettingRecord(config, spec));
  if (!config.has_provider_list()) return records;
  for (const ProviderInstanceConfig& p : config.provider_instances()) {
    const Config instance = config.ForProviderInstance(p.name);
    json weight = SettingRecord(instance, *FindSetting("provider.type"));
    weight["key"] = "providers." + p.name + ".weight";
    weight["value"] = std::to_string(p.weight);
    weight["default"] = "1";
    weight["description"] = "share of requests under providerSelection weighted";
    for (const SettingSpec& spec : AllSettings()) {
      if (spec.key != "provider.type" && spec.key.rfind("aws.", 0) != 0) continue;
      json r = SettingRecord(instance, spec);
      r["key"] = "providers." + p.name + "." + std::string(spec.key);
      records.push_back(r);
    }
    records.push_back(weight);
  }
  return records;
}

json ConfigCheckRecord(const Config& config) {
  json doc = json::object();
  doc["valid"] = !config.HasErrors();
  doc["files"] = config.files();
  json problems = json::array();
  for (const ConfigProblem& p : config.problems()) {
    json pr = json::object();
    pr["severity"] = p.error ? "error" : "warning";
    pr["where"] = p.where;
    pr["key"] = p.key;
    pr["message"] = p.message;
    problems.push_back(pr);
  }
  doc["problems"] = problems;
  return doc;
}

json TemplateCheckRecord(const TemplateCheck& check) {
  json doc = json::object();
  doc["file"] = check.file;
  doc["valid"] = check.problems.empty();
  doc["templates"] = check.templates.size();
  doc["problems"] = check.problems;
  doc["warnings"] = check.warnings;
  return doc;
}

json TemplateChangeRecord(const TemplateChange& ch) {
  json r = json::object();
  r["action"] = ch.action;
  r["template_id"] = ch.template_id;
  r["file"] = ch.file;
  r["written"] = ch.written;
  r["replaced_existing"] = ch.replaced_existing;
  r["warnings"] = ch.warnings;
  return r;
}

json ProviderRecord(const ProviderInfo& info) {
  json r = json::object();
  r["name"] = info.name;
  r["type"] = info.type;
  r["region"] = info.region;
  json endpoints = json::object();
  for (const auto& [service, url] : info.endpoints) endpoints[service] = url;
  r["endpoints"] = endpoints;
  return r;
}

json HealthRecord(const std::string& name, const ProviderHealth& h) {
  json r = json::object();
  r["name"] = name;
  r["status"] = h.ok ? "ok" : "failing";
  r["region"] = h.region;
  r["account"] = h.account;
  r["identity"] = h.identity;
  r["credentials_source"] = h.credentials_source;
  json checks = json::array();
  for (const HealthCheck& check : h.checks) {
    json cr = json::object();
    cr["check"] = check.name;
    cr["ok"] = check.ok;
    cr["latency_ms"] = static_cast<double>(static_cast<long long>(check.latency_ms * 10)) / 10.0;
    cr["detail"] = check.detail;
    checks.push_back(cr);
  }
  r["checks"] = checks;
  return r;
}

json ReconcileActionRecord(const ReconcileAction& a) {
  json r = json::object();
  r["action"] = a.action;
  r["provider"] = a.provider;
  r["machine_id"] = a.machine_id;
  r["request_id"] = a.request_id;
  r["detail"] = a.detail;
  return r;
}

json ReturnCandidateRecord(const ReturnCandidate& rc) {
  json r = json::object();
  r["machine_id"] = rc.machine_id;
  r["name"] = rc.name;
  r["grace_period"] = rc.grace_period;
  r["reason"] = rc.reason;
  return r;
}

json StoreInfoRecord(const StoreInfo& info) {
  json r = json::object();
  r["strategy"] = info.strategy;
  r["location"] = info.location;
  r["schema_version"] = info.schema_version;
  for (const auto& [table, n] : info.counts) r[table] = n;
  return r;
}

}  // namespace orb
