#include "broker/store_config.h"

#include "common/credential_file.h"

namespace orb {

StoreOptions StoreOptionsFrom(const Config& config) {
  StoreOptions options;
  options.strategy = config.Get("storage.strategy");
  options.path = config.Get("storage.path");
  options.busy_timeout_ms = static_cast<int>(config.GetInt("storage.busy_timeout_ms"));
  if (options.strategy != "postgresql") return options;
  options.url = config.Get("storage.url");
  options.schema = config.Get("storage.schema");
  options.password = config.Get("storage.password");
  const std::string file = config.Get("storage.password_file");
  if (options.password.empty() && !file.empty()) {
    std::string text = ReadCredentialFile("storage.password_file", file, true);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    options.password = std::move(text);
  }
  return options;
}

}  // namespace orb
