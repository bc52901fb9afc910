#include "config/config_loader.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/strings.h"
#include "config/structured_file.h"

extern char** environ;

namespace orb {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::string_view SettingSourceName(SettingSource s) {
  switch (s) {
    case SettingSource::kFlag: return "flag";
    case SettingSource::kEnv: return "env";
    case SettingSource::kOrbFile: return "orb config file";
    case SettingSource::kIbmFile: return "ibm config file";
    case SettingSource::kDefault: return "default";
    case SettingSource::kDerived: return "derived";
  }
  return "default";
}

std::string ConfigProblem::ToString() const {
  std::string out = where;
  if (!key.empty()) out += ": key '" + key + "'";
  return out + ": " + message;
}

const SettingValue& Config::Lookup(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    throw Error(ErrorCode::kInternal, "unknown setting '" + std::string(key) + "'");
  }
  return it->second;
}

long long Config::GetInt(std::string_view key) const {
  const SettingSpec* spec = FindSetting(key);
  const std::string& v = Get(key);
  try {
    return std::stoll(v.empty() && spec ? std::string(spec->default_value) : v);
  } catch (const std::exception&) {
    return spec && !spec->default_value.empty() ? std::stoll(std::string(spec->default_value))
                                                : 0;
  }
}

bool Config::GetBool(std::string_view key) const {
  return ParseBool(Get(key)).value_or(false);
}

bool Config::HasErrors() const {
  for (const ConfigProblem& p : problems_) {
    if (p.error) return true;
  }
  return false;
}

void Config::ThrowIfErrors() const {
  std::vector<std::string> lines;
  for (const ConfigProblem& p : problems_) {
    if (p.error) lines.push_back(p.ToString());
  }
  if (lines.empty()) return;
  throw Error(ErrorCode::kInvalidConfig,
              "invalid configuration (run 'orb config validate' for details): " +
                  Join(lines, "; "));
}

std::vector<ProviderInstanceConfig> Config::provider_instances() const {
  if (!provider_list_.empty()) return provider_list_;
  ProviderInstanceConfig only;
  only.name = Get("provider.name");
  only.type = Get("provider.type");
  return {only};
}

Config Config::ForProviderInstance(std::string_view name) const {
  std::vector<std::string> names;
  for (const ProviderInstanceConfig& p : provider_instances()) {
    if (p.name != name) {
      names.push_back("'" + p.name + "'");
      continue;
    }
    Config copy = *this;
    for (const auto& [key, value] : p.overrides) copy.values_[key] = value;
    if (!p.where.empty()) {
      copy.values_["provider.name"] = {p.name, SettingSource::kOrbFile, p.where};
      copy.values_["provider.type"] = {p.type, SettingSource::kOrbFile, p.where};
    }
    return copy;
  }
  throw Error(ErrorCode::kNotFound, "unknown provider instance '" + std::string(name) +
                                        "' (configured: " + Join(names, ", ") + ")");
}

namespace {

// True for a valid provider instance name: 1 to 64 of [A-Za-z0-9_-].
bool IsValidInstanceName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// Keys of the Python ORB's config.json that orb reads under another name.
const std::map<std::string, std::string, std::less<>>& OrbFileAliases() {
  static const std::map<std::string, std::string, std::less<>> aliases = {
      {"storage.type", "storage.strategy"},
      {"logging.file_path", "logging.file"},
      {"logging.console_enabled", "logging.console"},
      {"aws.connection_timeout_ms", "aws.connect_timeout_ms"},
      {"aws.credentials_file", "aws.credential_file"},
      {"storage.sqlite.path", "storage.path"},
      {"storage.sqlite_strategy.path", "storage.path"},
  };
  return aliases;
}

// Top-level sections of the Python ORB's config.json that have no meaning for
// orb; reported as warnings so nobody believes they take effect.
bool IsIgnoredPythonOrbKey(std::string_view key) {
  for (std::string_view prefix : {"version", "scheduler", "server", "provider.provider_defaults",
                                  "provider.active_provider", "provider.selection_policy",
                                  "template", "events", "metrics", "naming", "performance",
                                  "circuit_breaker", "environment", "debug", "request",
                                  "provider.providers"}) {
    if (key == prefix || (key.size() > prefix.size() && key.substr(0, prefix.size()) == prefix &&
                          key[prefix.size()] == '.')) {
      return true;
    }
  }
  return false;
}

// Keys of IBM's awsprov_config.json that orb accepts but does not use.
bool IsIgnoredIbmKey(std::string_view key) {
  for (std::string_view k : {"ACCEPT_PROPAGATED_LOG_SETTING", "AWS_DESCRIBE_REQUEST_RETRY_ATTEMPTS",
                             "AWS_DESCRIBE_REQUEST_INTERVAL", "AWS_SPOT_TERMINATE_ON_RECLAIM",
                             "AWS_TAG_InstanceID"}) {
    if (key == k) return true;
  }
  return false;
}

// Storage strategies of the Python ORB that orb replaces with its own store.
bool IsPythonOrbStorage(std::string_view value) {
  const std::string v = ToLower(value);
  return v == "json" || v == "sql" || v == "dynamodb";
}

// Settings that only flags and the environment may set.
bool IsEnvOnly(std::string_view key) { return key == "provider.name" || key == "paths.conf_dir"; }

class Loader {
 public:
  Loader(const ConfigInputs& inputs, Config& config, std::map<std::string, SettingValue,
         std::less<>>& values, std::vector<ConfigProblem>& problems,
         std::vector<std::string>& files, std::vector<ProviderInstanceConfig>& provider_list)
      : inputs_(inputs), values_(values), problems_(problems), files_(files),
        provider_list_(provider_list) {
    (void)config;
    if (inputs.environment) {
      env_ = *inputs.environment;
    } else {
      for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        std::size_t eq = kv.find('=');
        if (eq != std::string_view::npos) env_.emplace(kv.substr(0, eq), kv.substr(eq + 1));
      }
    }
  }

  void Run() {
    // Tier 1 and 2: flags and environment, for every setting.
    for (const SettingSpec& spec : AllSettings()) {
      auto flag = inputs_.flags.find(std::string(spec.key));
      if (flag != inputs_.flags.end()) {
        Offer(spec, flag->second, SettingSource::kFlag,
              spec.flag.empty() ? "flag" : "flag " + std::string(spec.flag), "");
        continue;
      }
      for (std::string_view var : spec.env) {
        auto it = env_.find(std::string(var));
        if (it == env_.end() || it->second.empty()) continue;
        if (Offer(spec, it->second, SettingSource::kEnv, "env " + std::string(var), "")) break;
      }
    }
    WarnUnknownOrbVariables();

    const std::string conf_dir = ResolveDir("paths.conf_dir", ConfigHome() + "/orb");
    const std::string provider_name = values_.count("provider.name")
                                          ? values_["provider.name"].value
                                          : std::string();

    // Tier 3: the orb config file.
    std::string orb_file = FindOrbConfigFile(conf_dir);
    if (!orb_file.empty()) ReadOrbFile(orb_file);

    // Tier 4: IBM's provider config file.
    std::string ibm_file;
    if (!provider_name.empty()) ibm_file = conf_dir + "/" + provider_name + "prov_config.json";
    if (ibm_file.empty() || !fs::exists(ibm_file)) ibm_file = conf_dir + "/awsprov_config.json";
    if (fs::exists(ibm_file)) ReadIbmFile(ibm_file);

    // Tier 5: defaults, then the derived ones.
    for (const SettingSpec& spec : AllSettings()) {
      if (values_.count(std::string(spec.key))) continue;
      values_[std::string(spec.key)] = {std::string(spec.default_value), SettingSource::kDefault,
                                        ""};
    }
    const std::string work_dir = ResolveDir("paths.work_dir", StateHome() + "/orb");
    const std::string log_dir = ResolveDir("paths.log_dir", work_dir + "/log");
    Derive("storage.path", work_dir + "/orb.db");
    Derive("logging.file", log_dir + "/orb.log");
    Derive("server.pid_file", work_dir + "/orb-server.pid");
    Derive("server.audit_log_file", log_dir + "/audit.log");
    auto& level = values_["logging.level"];
    if (auto normalized = NormalizeLogLevel(level.value)) level.value = *normalized;
  }

 private:
  std::string Env(const char* name) const {
    auto it = env_.find(name);
    return it == env_.end() ? std::string() : it->second;
  }

  std::string Home() const {
    std::string home = Env("HOME");
    return home.empty() ? "/tmp" : home;
  }

  std::string ConfigHome() const {
    std::string x = Env("XDG_CONFIG_HOME");
    return x.empty() ? Home() + "/.config" : x;
  }

  std::string StateHome() const {
    std::string x = Env("XDG_STATE_HOME");
    return x.empty() ? Home() + "/.local/state" : x;
  }

  // Expands ~/, $VAR and ${VAR} in a path and makes it absolute against `base`.
  std::string ExpandPath(std::string_view raw, const std::string& base) const {
    std::string out;
    std::string_view v = Trim(raw);
    if (v.substr(0, 2) == "~/" || v == "~") {
      out = Home();
      v.remove_prefix(1);
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] != '$') {
        out.push_back(v[i]);
        continue;
      }
      std::size_t start = i + 1, end;
      if (start < v.size() && v[start] == '{') {
        end = v.find('}', start);
        if (end == std::string_view::npos) {
          out.append(v.substr(i));
          break;
        }
        out += Env(std::string(v.substr(start + 1, end - start - 1)).c_str());
        i = end;
      } else {
        end = start;
        while (end < v.size() && (std::isalnum(static_cast<unsigned char>(v[end])) ||
                                  v[end] == '_')) {
          ++end;
        }
        if (end == start) {
          out.push_back('$');
          continue;
        }
        out += Env(std::string(v.substr(start, end - start)).c_str());
        i = end - 1;
      }
    }
    if (out.empty()) return out;
    fs::path p(out);
    if (p.is_relative()) p = fs::path(base) / p;
    return p.lexically_normal().string();
  }

  std::string Cwd() const {
    std::error_code ec;
    auto p = fs::current_path(ec);
    return ec ? std::string("/") : p.string();
  }

  // Records `raw` for `spec` if it is valid; otherwise records a problem and
  // returns false so that a lower tier may supply the value.
  bool Offer(const SettingSpec& spec, const std::string& raw, SettingSource source,
             const std::string& where, const std::string& key_as_written,
             const std::string& base_dir = "") {
    std::optional<SettingValue> v = Checked(spec, raw, source, where, key_as_written, base_dir);
    if (!v) return false;
    values_[std::string(spec.key)] = std::move(*v);
    return true;
  }

  // `raw` for `spec` validated and normalized (paths expanded against `base_dir`), or
  // nullopt after recording what is wrong with it.
  std::optional<SettingValue> Checked(const SettingSpec& spec, const std::string& raw,
                                      SettingSource source, const std::string& where,
                                      const std::string& key_as_written,
                                      const std::string& base_dir) {
    std::string problem = CheckSettingValue(spec, raw);
    if (!problem.empty()) {
      std::string shown = spec.secret ? std::string(kRedacted) : "\"" + raw + "\"";
      problems_.push_back({true, where,
                           key_as_written.empty() ? std::string(spec.key) : key_as_written,
                           problem + ", got " + shown});
      return std::nullopt;
    }
    std::string value = raw;
    if (spec.type == SettingType::kPath && !raw.empty()) {
      value = ExpandPath(raw, base_dir.empty() ? Cwd() : base_dir);
    } else if (spec.type == SettingType::kChoice || spec.type == SettingType::kBool ||
               spec.type == SettingType::kInt) {
      value = std::string(Trim(raw));
      if (spec.type == SettingType::kChoice && spec.key != "logging.level") value = ToLower(value);
      if (spec.type == SettingType::kBool) value = *ParseBool(value) ? "true" : "false";
    }
    std::string origin = where;
    if (source == SettingSource::kEnv && origin.rfind("env ", 0) == 0) origin = origin.substr(4);
    return SettingValue{value, source, origin};
  }

  std::string ResolveDir(const char* key, const std::string& fallback) {
    auto it = values_.find(key);
    if (it != values_.end() && !it->second.value.empty()) return it->second.value;
    values_[key] = {fallback, SettingSource::kDerived, ""};
    return fallback;
  }

  void Derive(const char* key, const std::string& fallback) {
    auto& v = values_[key];
    if (v.value.empty()) v = {fallback, SettingSource::kDerived, ""};
  }

  void WarnUnknownOrbVariables() {
    // Variables orb's own scripts and tests read, besides the settings'.
    std::set<std::string, std::less<>> known = {"ORB_CONFIG_FILE", "ORB_BIN", "ORB_MOTO_DIR",
                                               "ORB_CRASH_AT"};
    for (const SettingSpec& spec : AllSettings()) {
      for (std::string_view var : spec.env) known.emplace(var);
    }
    for (const auto& [name, value] : env_) {
      if (name.rfind("ORB_", 0) == 0 && !known.count(name)) {
        problems_.push_back({false, "env " + name, "",
                             "unknown variable, ignored (see 'orb config show --long' for the "
                             "variables orb reads)"});
      }
    }
  }

  std::string FindOrbConfigFile(const std::string& conf_dir) {
    std::string explicit_file = inputs_.config_file;
    std::string where = "flag --config";
    if (explicit_file.empty()) {
      explicit_file = Env("ORB_CONFIG_FILE");
      where = "env ORB_CONFIG_FILE";
    }
    if (!explicit_file.empty()) {
      std::string path = ExpandPath(explicit_file, Cwd());
      if (!fs::is_regular_file(path)) {
        problems_.push_back({true, where, "", "config file '" + path + "' does not exist"});
        return "";
      }
      return path;
    }
    for (const std::string& candidate :
         {conf_dir + "/orb.yaml", conf_dir + "/orb.yml", conf_dir + "/config.json",
          ConfigHome() + "/orb/config.yaml", ConfigHome() + "/orb/config.yml",
          ConfigHome() + "/orb/config.json"}) {
      if (fs::is_regular_file(candidate)) return candidate;
    }
    return "";
  }

  // Turns a scalar JSON value into the string form settings take; returns false
  // for objects and arrays.
  static bool ScalarText(const json& v, std::string* out) {
    if (v.is_string()) {
      *out = v.get<std::string>();
    } else if (v.is_boolean()) {
      *out = v.get<bool>() ? "true" : "false";
    } else if (v.is_number_integer() || v.is_number_unsigned()) {
      *out = v.dump();
    } else if (v.is_number_float()) {
      *out = v.dump();
    } else {
      return false;
    }
    return true;
  }

  void Flatten(const json& node, const std::string& prefix, std::vector<std::pair<std::string,
               const json*>>& out) {
    if (node.is_object() && !node.empty()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        Flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
      }
      return;
    }
    out.emplace_back(prefix, &node);
  }

  void ReadOrbFile(const std::string& path) {
    json doc;
    try {
      doc = ReadStructuredFile(path);
    } catch (const Error& e) {
      problems_.push_back({true, path, "", e.what()});
      return;
    }
    files_.push_back(path);
    if (doc.is_null()) return;  // an empty file sets nothing
    if (!doc.is_object()) {
      problems_.push_back({true, path, "", "must be a mapping of keys to values"});
      return;
    }
    const std::string base = fs::path(path).parent_path().string();
    if (doc.contains("providers")) {
      ReadProviderList(doc["providers"], path, base);
      doc.erase("providers");
    }
    AdoptPythonOrbProvider(doc, path, base);
    std::vector<std::pair<std::string, const json*>> leaves;
    Flatten(doc, "", leaves);
    for (const auto& [written, value] : leaves) {
      std::string key = written;
      auto alias = OrbFileAliases().find(key);
      if (alias != OrbFileAliases().end()) key = alias->second;
      const SettingSpec* spec = FindSetting(key);
      if (!spec) {
        if (IsIgnoredPythonOrbKey(key)) continue;
        problems_.push_back({false, path, written, "unknown key, ignored"});
        continue;
      }
      if (IsEnvOnly(key)) {
        problems_.push_back({true, path, written,
                             "cannot be set in the config file; use " +
                                 std::string(spec->flag) + " or " +
                                 std::string(spec->env.front())});
        continue;
      }
      std::string text;
      if (value->is_null()) continue;
      if (!ScalarText(*value, &text)) {
        problems_.push_back({true, path, written, "must be a single value, not a list or map"});
        continue;
      }
      if (key == "storage.strategy" && CheckSettingValue(*spec, text) != "" &&
          IsPythonOrbStorage(text)) {
        // The Python ORB's own stores: a pasted config.json keeps working.
        problems_.push_back({false, path, written,
                             "the Python ORB's '" + text + "' storage is not used by orb; "
                             "orb keeps its state in its own store (sqlite, or postgresql "
                             "with storage.url)"});
        continue;
      }
      if (values_.count(key)) {
        // A higher tier already set it; still validate what the file says.
        std::string problem = CheckSettingValue(*spec, text);
        if (!problem.empty()) {
          problems_.push_back({true, path, written,
                               problem + ", got " +
                                   (spec->secret ? std::string(kRedacted) : "\"" + text + "\"")});
        }
        continue;
      }
      Offer(*spec, text, SettingSource::kOrbFile, path, written, base);
    }
  }

  // The `providers:` list: one entry per provider instance, each with its own aws.*
  // settings. Every bad entry is reported with the file and key; a list with any bad
  // entry is not used (the configuration has errors anyway).
  void ReadProviderList(const json& list, const std::string& path, const std::string& base) {
    if (list.is_null()) return;
    if (!list.is_array()) {
      problems_.push_back({true, path, "providers",
                           "must be a list of provider instances ({name, type, weight, aws})"});
      return;
    }
    std::vector<ProviderInstanceConfig> out;
    std::set<std::string> seen;
    bool ok = true;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = "providers[" + std::to_string(i) + "]";
      const json& e = list[i];
      auto bad = [&](const std::string& key, const std::string& message) {
        problems_.push_back({true, path, key, message});
        ok = false;
      };
      if (!e.is_object()) {
        bad(at, "must be a mapping with name, type, weight and aws keys");
        continue;
      }
      ProviderInstanceConfig p;
      p.where = path + ": " + at;
      if (!e.contains("name") || !e["name"].is_string()) {
        bad(at + ".name", "missing: every provider instance needs a name");
      } else {
        p.name = e["name"].get<std::string>();
        if (!IsValidInstanceName(p.name)) {
          bad(at + ".name", "must be 1 to 64 of A-Z a-z 0-9 _ -, got \"" + p.name + "\"");
        } else if (!seen.insert(p.name).second) {
          bad(at + ".name", "duplicate provider instance name '" + p.name + "'");
        }
      }
      std::vector<std::pair<std::string, const json*>> leaves;
      for (auto it = e.begin(); it != e.end(); ++it) {
        const std::string& k = it.key();
        if (k == "name") continue;
        if (k == "type") {
          std::string t;
          if (!ScalarText(it.value(), &t) || ToLower(t) != "aws") {
            bad(at + ".type", "must be aws (the only provider type), got " + it.value().dump());
          }
          continue;
        }
        if (k == "weight") {
          const json& w = it.value();
          if (!w.is_number_integer() || w.get<long long>() < 1 || w.get<long long>() > 1000) {
            bad(at + ".weight", "must be an integer between 1 and 1000, got " + w.dump());
          } else {
            p.weight = w.get<int>();
          }
          continue;
        }
        if (k == "aws" || k.rfind("aws.", 0) == 0) {
          Flatten(it.value(), k, leaves);
          continue;
        }
        bad(at + "." + k, "unknown key (an entry takes name, type, weight and aws settings)");
      }
      for (const auto& [written, value] : leaves) {
        std::string key = written;
        auto alias = OrbFileAliases().find(key);
        if (alias != OrbFileAliases().end()) key = alias->second;
        const SettingSpec* spec = FindSetting(key);
        const std::string shown_key = at + "." + written;
        if (!spec || key.rfind("aws.", 0) != 0) {
          bad(shown_key, "unknown key (see 'orb config show' for the aws.* settings)");
          continue;
        }
        std::string text;
        if (value->is_null()) continue;
        if (!ScalarText(*value, &text)) {
          bad(shown_key, "must be a single value, not a list or map");
          continue;
        }
        std::optional<SettingValue> v =
            Checked(*spec, text, SettingSource::kOrbFile, path, shown_key, base);
        if (!v) {
          ok = false;
          continue;
        }
        v->origin = path + ": " + shown_key;
        p.overrides[key] = std::move(*v);
      }
      if (p.overrides.count("aws.access_key_id") != p.overrides.count("aws.secret_access_key")) {
        bad(at + ".aws", "access_key_id and secret_access_key go together: give both or neither");
      }
      out.push_back(std::move(p));
    }
    if (list.empty()) {
      problems_.push_back({true, path, "providers", "is empty: list at least one instance, or "
                                                    "leave the key out for a single one"});
      return;
    }
    if (ok) provider_list_ = std::move(out);
  }

  // The Python ORB keeps AWS settings in provider.providers[].config; take the
  // active (or first enabled) aws provider's region and profile.
  void AdoptPythonOrbProvider(const json& doc, const std::string& path, const std::string& base) {
    const json* providers = nullptr;
    if (doc.contains("provider") && doc["provider"].is_object() &&
        doc["provider"].contains("providers")) {
      providers = &doc["provider"]["providers"];
    }
    if (!providers || !providers->is_array()) return;
    std::string active;
    if (doc["provider"].contains("active_provider") &&
        doc["provider"]["active_provider"].is_string()) {
      active = doc["provider"]["active_provider"].get<std::string>();
    }
    const json* chosen = nullptr;
    for (const json& p : *providers) {
      if (!p.is_object()) continue;
      bool enabled = !p.contains("enabled") || !p["enabled"].is_boolean() || p["enabled"].get<bool>();
      std::string name = p.contains("name") && p["name"].is_string() ? p["name"].get<std::string>()
                                                                      : "";
      if ((!active.empty() && name == active) || (active.empty() && enabled && !chosen)) {
        chosen = &p;
      }
    }
    if (!chosen || !chosen->contains("config") || !(*chosen)["config"].is_object()) return;
    for (auto it = (*chosen)["config"].begin(); it != (*chosen)["config"].end(); ++it) {
      std::string key = "aws." + it.key();
      auto alias = OrbFileAliases().find(key);
      if (alias != OrbFileAliases().end()) key = alias->second;
      const SettingSpec* spec = FindSetting(key);
      std::string text;
      if (!spec || values_.count(key) || !ScalarText(it.value(), &text)) continue;
      Offer(*spec, text, SettingSource::kOrbFile, path,
            "provider.providers[].config." + it.key(), base);
    }
  }

  void ReadIbmFile(const std::string& path) {
    json doc;
    try {
      doc = ReadStructuredFile(path);
    } catch (const Error& e) {
      problems_.push_back({true, path, "", e.what()});
      return;
    }
    files_.push_back(path);
    if (!doc.is_object()) {
      problems_.push_back({true, path, "", "must be a JSON object of \"KEY\": value pairs"});
      return;
    }
    const std::string base = fs::path(path).parent_path().string();
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const SettingSpec* spec = nullptr;
      for (const SettingSpec& s : AllSettings()) {
        if (!s.ibm_key.empty() && s.ibm_key == it.key()) spec = &s;
      }
      if (!spec) {
        problems_.push_back({false, path, it.key(),
                             IsIgnoredIbmKey(it.key()) ? "has no effect in orb, ignored"
                                                       : "unknown key, ignored"});
        continue;
      }
      std::string text;
      if (it.value().is_null()) continue;
      if (!ScalarText(it.value(), &text)) {
        problems_.push_back({true, path, it.key(), "must be a single value, not a list or map"});
        continue;
      }
      // IBM writes "AWS_PROXY_HOST": "" for "no proxy": an empty string sets nothing.
      if (text.empty() && spec->type != SettingType::kString) continue;
      if (text.empty()) continue;
      if (values_.count(std::string(spec->key))) {
        std::string problem = CheckSettingValue(*spec, text);
        if (!problem.empty()) {
          problems_.push_back({true, path, it.key(),
                               problem + ", got " +
                                   (spec->secret ? std::string(kRedacted) : "\"" + text + "\"")});
        }
        continue;
      }
      Offer(*spec, text, SettingSource::kIbmFile, path, it.key(), base);
    }
  }

  const ConfigInputs& inputs_;
  std::map<std::string, std::string> env_;
  std::map<std::string, SettingValue, std::less<>>& values_;
  std::vector<ConfigProblem>& problems_;
  std::vector<std::string>& files_;
  std::vector<ProviderInstanceConfig>& provider_list_;
};

}  // namespace

Config LoadConfig(const ConfigInputs& inputs) {
  Config config;
  Loader loader(inputs, config, config.values_, config.problems_, config.files_,
                config.provider_list_);
  loader.Run();
  return config;
}

}  // namespace orb
