#pragma once

// What every command handler of the orb command line is given (src/cli/app.cc and
// the server commands in src/api/server_command.cc).

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "cli/logging.h"
#include "cli/output.h"
#include "config/config_loader.h"

namespace orb {

// Options every command accepts, before or after the command name.
struct GlobalOptions {
  std::string config_file;
  std::string format = "table";
  std::vector<std::string> fields;
  bool hf = false;
  bool long_form = false;
  std::map<std::string, std::string> setting_values;  // flag text per setting key
};

// Everything a command handler needs: the options, where to write, and the
// configuration and broker, loaded on first use.
struct Context {
  GlobalOptions global;
  std::vector<std::string> args;  // the command line as given, program name first
  OutputOptions output;
  std::ostream& out;
  std::ostream& err;
  std::optional<Config> config;
  std::unique_ptr<Broker> broker;

  // What the configuration is loaded from: the config file and the flags given
  // (the environment is read by the loader). A server's reload reads it again.
  ConfigInputs Inputs() const {
    ConfigInputs inputs;
    inputs.config_file = global.config_file;
    for (const auto& [key, value] : global.setting_values) inputs.flags[key] = value;
    return inputs;
  }

  // Loads the configuration (and sets up logging); with `strict`, refuses to go
  // on when it has errors.
  const Config& LoadConfiguration(bool strict) {
    if (!config) {
      config = LoadConfig(Inputs());
      if (config->HasErrors()) {
        SetUpFallbackLogging();
      } else {
        SetUpLogging(*config);
      }
      for (const ConfigProblem& p : config->problems()) {
        if (!p.error) spdlog::warn("config: {}", p.ToString());
      }
    }
    if (strict) config->ThrowIfErrors();
    return *config;
  }

  Broker& GetBroker() {
    if (!broker) broker = std::make_unique<Broker>(LoadConfiguration(true));
    return *broker;
  }
};

}  // namespace orb
