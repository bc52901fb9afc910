#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"

namespace orb {

// Where an effective setting came from, highest precedence first.
enum class SettingSource { kFlag, kEnv, kOrbFile, kIbmFile, kDefault, kDerived };

// "flag", "env", "orb config file", "ibm config file", "default", "derived".
std::string_view SettingSourceName(SettingSource s);

// The effective value of one setting and where it came from.
struct SettingValue {
  std::string value;  // "" when unset
  SettingSource source = SettingSource::kDefault;
  std::string origin;  // the flag, variable name or file path it came from
};

// Something wrong (or suspicious) in the configuration, located precisely.
struct ConfigProblem {
  bool error = true;   // false: a warning (e.g. an unknown key, which is ignored)
  std::string where;   // file path, "env ORB_X" or "flag --x"
  std::string key;     // the key as written there
  std::string message;

  // "where: key 'k': message".
  std::string ToString() const;
};

// What LoadConfig reads besides files: command-line flags and the environment.
struct ConfigInputs {
  std::map<std::string, std::string> flags;  // setting key -> value given on the command line
  std::string config_file;                   // --config FILE, or ""
  // The environment to read; the process environment when unset (tests set it).
  std::optional<std::map<std::string, std::string>> environment;
};

// One provider instance: an entry of the orb config file's `providers:` list, or the
// single implicit instance named after provider.name when there is no list.
struct ProviderInstanceConfig {
  std::string name;     // unique, [A-Za-z0-9_-]{1,64} (the implicit one: provider.name)
  std::string type = "aws";
  int weight = 1;       // share of the requests of a template with providerSelection weighted
  std::string where;    // "<file>: providers[i]" ("" for the implicit instance)
  // The aws.* settings the entry sets, validated and normalized like any setting; they
  // replace the top-level values for this instance only.
  std::map<std::string, SettingValue, std::less<>> overrides;
};

// The effective configuration: every setting of AllSettings() with its value and
// source, plus every problem found while loading.
class Config {
 public:
  // The effective value of `key` ("" when unset). Derived defaults (store path,
  // log file, directories) are resolved. Throws Error(kInternal) for a key that
  // is not in AllSettings().
  const SettingValue& Lookup(std::string_view key) const;

  // Lookup(key).value.
  const std::string& Get(std::string_view key) const { return Lookup(key).value; }

  // The value of an integer setting. Only valid when !HasErrors() or the key
  // itself had no problem; otherwise returns the setting's default.
  long long GetInt(std::string_view key) const;

  // The value of a boolean setting, with the same caveat as GetInt.
  bool GetBool(std::string_view key) const;

  // Every problem found, in the order found.
  const std::vector<ConfigProblem>& problems() const { return problems_; }

  // True when any problem is an error (warnings do not count).
  bool HasErrors() const;

  // Throws Error(kInvalidConfig) listing every error, if there is any.
  void ThrowIfErrors() const;

  // The files that were read, in precedence order (orb config file, IBM file).
  const std::vector<std::string>& files() const { return files_; }

  // The provider instances, in file order: the entries of the `providers:` list, else
  // one instance named provider.name without overrides. Never empty; the first is the
  // default instance (templates bound to none use it).
  std::vector<ProviderInstanceConfig> provider_instances() const;

  // True when the orb config file has a `providers:` list.
  bool has_provider_list() const { return !provider_list_.empty(); }

  // This configuration as instance `name` sees it: the entry's aws.* keys replace the
  // top-level values (whatever tier those came from), provider.name is `name`.
  // Throws Error(kNotFound) naming the configured instances for an unknown name.
  Config ForProviderInstance(std::string_view name) const;

 private:
  friend Config LoadConfig(const ConfigInputs& inputs);
  std::vector<ProviderInstanceConfig> provider_list_;
  std::map<std::string, SettingValue, std::less<>> values_;
  std::vector<ConfigProblem> problems_;
  std::vector<std::string> files_;
};

// Builds the effective configuration, highest precedence first: command-line
// flags, environment variables (ORB_* and the standard AWS/HostFactory/LSF ones
// each setting lists), the orb config file (YAML or JSON: --config FILE,
// $ORB_CONFIG_FILE, else orb.yaml/orb.yml/config.json in conf_dir, else
// config.yaml/config.yml/config.json in $XDG_CONFIG_HOME/orb), IBM's
// <provider.name>prov_config.json in conf_dir (else awsprov_config.json), and
// built-in defaults. Never throws for bad content: every problem is recorded in
// Config::problems() naming file (or variable) and key.
Config LoadConfig(const ConfigInputs& inputs);

// The text shown instead of a secret value.
inline constexpr std::string_view kRedacted = "********";

}  // namespace orb
