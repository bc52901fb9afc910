#pragma once

#include "config/config_loader.h"

namespace orb {

// Sets up orb's logger from `logging.*` settings: the log file (created 0600 with its
// directory, 0700, when missing; rotated files too) and, when logging.console is on,
// stderr. Logs never go
// to stdout, which may carry a wire format. If the log file cannot be opened,
// logs go to stderr with one warning saying why: a command never fails because
// of its log.
void SetUpLogging(const Config& config);

// Sends logs to stderr only, at warning level and above (used before the
// configuration is known and when it is invalid).
void SetUpFallbackLogging();

}  // namespace orb
