#pragma once

// Files that hold credentials (API keys, shared secrets, public keys, the store's
// password): read only when nobody else may change them, and, for secrets, read them.

#include <string>

namespace orb {

// Checks the file a credential setting names: a regular file (not a symbolic link),
// not writable by group or others, at most 1 MiB, and (when `secret`) not readable by
// them either. Returns its content. Throws Error(kInvalidConfig) naming `setting`,
// the file and its mode (never the content).
std::string ReadCredentialFile(const std::string& setting, const std::string& path, bool secret);

}  // namespace orb
