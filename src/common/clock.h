#pragma once

#include <cstdint>
#include <string>

namespace orb {

// Seconds since the Unix epoch, as stored and as HostFactory reads them.
using EpochSeconds = std::int64_t;

// Returns the current wall-clock time in whole seconds since the epoch.
EpochSeconds NowSeconds();

// Formats `t` as an ISO 8601 UTC timestamp, e.g. "2026-11-27T03:04:05Z".
std::string FormatIso8601(EpochSeconds t);

}  // namespace orb
