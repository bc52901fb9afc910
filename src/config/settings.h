#pragma once

#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace orb {

// The type a setting's value must parse as.
enum class SettingType {
  kString,
  kInt,
  kBool,
  kPath,
  kChoice,
  kRate,  // "BURST/REFILL_PER_SECOND", e.g. "5/2" (numbers > 0)
};

// One configuration key orb understands: its name, type, default, and every
// place it may come from besides the orb config file. The registry of these is
// the single source of truth for `orb config show`, validation and the docs.
struct SettingSpec {
  std::string_view key;            // dotted name, e.g. "aws.region"
  SettingType type = SettingType::kString;
  std::string_view default_value;  // "" = unset (or derived, see description)
  std::vector<std::string_view> env;  // environment variables, first set wins
  std::string_view ibm_key;        // key in IBM's <name>prov_config.json, if any
  std::string_view flag;           // command-line flag that sets it, if any
  bool secret = false;             // redacted in every output and log
  long long min = 0, max = 0;      // kInt: inclusive bounds (both 0 = unbounded)
  std::vector<std::string_view> choices;  // kChoice: allowed values
  std::string_view description;    // one line for `orb config show --long` and docs
};

// Every setting orb understands, in display order.
const std::vector<SettingSpec>& AllSettings();

// Returns the spec of `key`, or nullptr for a key orb does not know.
const SettingSpec* FindSetting(std::string_view key);

// Checks `value` against the spec's type, bounds and choices. Returns an empty
// string when valid, else what is wrong ("must be an integer between 1 and 600").
std::string CheckSettingValue(const SettingSpec& spec, std::string_view value);

// Parses a rate "BURST/REFILL" into its two numbers; nullopt unless both are
// numbers greater than zero.
std::optional<std::pair<double, double>> ParseRate(std::string_view value);

// Parses a boolean the way config files write them: true/false, yes/no, on/off,
// 1/0, in any casing. Returns nullopt for anything else.
std::optional<bool> ParseBool(std::string_view value);

// Maps a log level name to orb's canonical one: trace, debug, info, warn, error,
// critical, off. Accepts HostFactory's LOG_DEBUG/LOG_INFO/... and WARNING, in any
// casing. Returns nullopt for anything else.
std::optional<std::string> NormalizeLogLevel(std::string_view value);

}  // namespace orb
