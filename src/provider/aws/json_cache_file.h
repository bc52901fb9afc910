#pragma once

// The on-disk form of orb's small caches of cloud facts (SSM parameter values,
// instance-type facts): one JSON object per file, replaced atomically so that a
// reader in another process sees the old file or the new one, never a mix.

#include <nlohmann/json.hpp>
#include <string>

namespace orb {

// The JSON object stored in `path`. Returns an empty object when the file does not
// exist, and also when it cannot be read or is not a JSON object (a warning is
// logged unless `quiet`): a damaged cache is rebuilt, never fatal. Never throws.
nlohmann::json ReadJsonCacheFile(const std::string& path, bool quiet = false);

// Replaces `path` with `value`: written to a temporary file in the same directory,
// flushed (fsync), renamed over `path`, and the directory flushed. Creates the
// directory when missing. Throws Error(kInvalidConfig) naming the file and the
// system's reason when any step fails; `path` is then unchanged.
void WriteJsonCacheFile(const std::string& path, const nlohmann::json& value);

// True when `file` (as ReadJsonCacheFile returns it) says it is of `format`. A damaged
// or hand-edited file may hold anything under "format", a string included.
bool HasCacheFormat(const nlohmann::json& file, int format);

}  // namespace orb
