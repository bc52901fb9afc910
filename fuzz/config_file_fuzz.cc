// Fuzz target config_file: orb's configuration files, as LoadConfig reads them:
// the orb config file (YAML as orb.yaml, JSON as config.json, including a
// `providers:` list and the Python ORB's layout) and IBM's awsprov_config.json.
//
// Writes the bytes as each of the three files in turn (alone in a scratch conf_dir)
// and loads the configuration. Checks: LoadConfig never throws; every problem names
// where it was found and what is wrong; ThrowIfErrors throws Error(kInvalidConfig)
// exactly when there are errors; a problem with a secret key never quotes its
// value; a configuration without errors answers every setting (integers within
// their bounds, booleans), lists at least one provider instance, with distinct
// names, and each instance's own view of it (ForProviderInstance) is usable too.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "common/error.h"
#include "common/strings.h"
#include "config/config_loader.h"
#include "config/settings.h"
#include "fuzz_common.h"

namespace {

namespace fs = std::filesystem;
using orb::fuzz::ErrorOf;
using orb::fuzz::OnlyOrbErrors;

bool NamesSecret(std::string key) {
  key = orb::ToLower(key);
  return key.find("secret") != std::string::npos || key.find("session_token") != std::string::npos;
}

// Every setting answers; the numbers and booleans are what their specs say.
void CheckUsable(const orb::Config& config, const std::string& who) {
  for (const orb::SettingSpec& spec : orb::AllSettings()) {
    OnlyOrbErrors("Config::Lookup", [&] { config.Lookup(spec.key); });
    if (spec.type == orb::SettingType::kInt) {
      long long n = 0;
      auto error = OnlyOrbErrors("Config::GetInt", [&] { n = config.GetInt(spec.key); });
      ORB_FUZZ_CHECK(!error, who + " " + std::string(spec.key));
      if (spec.min != 0 || spec.max != 0) {
        ORB_FUZZ_CHECK(n >= spec.min && n <= spec.max,
                       who + " " + std::string(spec.key) + " = " + std::to_string(n));
      }
    } else if (spec.type == orb::SettingType::kBool) {
      auto error = OnlyOrbErrors("Config::GetBool", [&] { config.GetBool(spec.key); });
      ORB_FUZZ_CHECK(!error, who + " " + std::string(spec.key));
    }
  }
}

void Load(const fs::path& dir, const fs::path& file, const std::string& text) {
  for (const char* name : {"orb.yaml", "config.json", "awsprov_config.json"}) {
    fs::remove(dir / name);
  }
  orb::fuzz::WriteFile(file, text);
  orb::ConfigInputs inputs;
  inputs.environment = std::map<std::string, std::string>{
      {"HOME", orb::fuzz::ScratchDir().string()},
      {"HF_PROVIDER_CONFDIR", dir.string()},
      {"XDG_CONFIG_HOME", (orb::fuzz::ScratchDir() / "xdg").string()},
  };
  orb::Config config;
  auto error = OnlyOrbErrors("LoadConfig", [&] { config = orb::LoadConfig(inputs); });
  ORB_FUZZ_CHECK(!error, std::string("LoadConfig threw: ") + ErrorOf(error).what());

  for (const orb::ConfigProblem& p : config.problems()) {
    ORB_FUZZ_CHECK(!p.where.empty() && !p.message.empty(), p.ToString());
    if (NamesSecret(p.key)) {
      ORB_FUZZ_CHECK(p.message.find(", got \"") == std::string::npos, p.ToString());
    }
  }
  error = OnlyOrbErrors("Config::ThrowIfErrors", [&] { config.ThrowIfErrors(); });
  ORB_FUZZ_CHECK(config.HasErrors() == static_cast<bool>(error),
                 "ThrowIfErrors and HasErrors disagree");
  if (error) {
    ORB_FUZZ_CHECK(ErrorOf(error).code() == orb::ErrorCode::kInvalidConfig, ErrorOf(error).what());
    return;
  }

  CheckUsable(config, "config");
  const auto instances = config.provider_instances();
  ORB_FUZZ_CHECK(!instances.empty(), "no provider instance");
  std::set<std::string> names;
  for (const orb::ProviderInstanceConfig& p : instances) {
    ORB_FUZZ_CHECK(names.insert(p.name).second, "provider instance twice: " + p.name);
    ORB_FUZZ_CHECK(p.weight >= 1 && p.weight <= 1000, p.name);
    orb::Config own;
    error = OnlyOrbErrors("ForProviderInstance", [&] { own = config.ForProviderInstance(p.name); });
    ORB_FUZZ_CHECK(!error, p.name + ": " + ErrorOf(error).what());
    ORB_FUZZ_CHECK(own.Get("provider.name") == p.name, own.Get("provider.name") + " vs " + p.name);
    CheckUsable(own, "instance " + p.name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  orb::fuzz::QuietLogs();
  fs::create_directories(orb::fuzz::ScratchDir() / "conf");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const fs::path dir = orb::fuzz::ScratchDir() / "conf";
  Load(dir, dir / "orb.yaml", text);
  Load(dir, dir / "config.json", text);
  Load(dir, dir / "awsprov_config.json", text);
  return 0;
}
