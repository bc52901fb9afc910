#pragma once

#include <memory>

#include "config/config_loader.h"
#include "provider/provider.h"

namespace orb {

// Builds the provider the configuration describes (provider.type; today "aws"),
// with its endpoints, proxy, timeouts, retry and rate-limit settings and
// credential chain. Makes no network call. Throws Error(kInvalidConfig) for an
// unknown provider type.
std::unique_ptr<Provider> MakeProvider(const Config& config);

}  // namespace orb
