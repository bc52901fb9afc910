#pragma once

// Static API keys (server.api_keys_file): a YAML or JSON list of entries
//   {name: ci-bot, role: operator, key_sha256: <64 hex digits>}   (preferred), or
//   {name: ci-bot, role: operator, key: <the key itself>}
// (or the same list under a top-level `keys:`). Only SHA-256 hashes are kept in
// memory; a presented key is hashed and compared with every one in constant time.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "api/server_state.h"

namespace orb::api {

// One key of the file: its name (for logs and the audit), role and SHA-256.
struct ApiKey {
  std::string name;
  Role role = Role::kViewer;
  std::array<unsigned char, 32> sha256{};
};

class ApiKeys {
 public:
  // Reads `path`. Throws Error(kInvalidConfig) naming the file (and the entry) when
  // it cannot be read or parsed, an entry lacks a name or role or has an unknown
  // field, a name or key appears twice, or the file holds plain `key`s and is
  // readable or writable by group or others (the mode is named). A file writable by
  // group or others is refused in any case. No message ever contains a key.
  static ApiKeys Load(const std::string& path);

  // The key `presented` is, or nullptr. Hashes it once and compares the hash with
  // every configured one without stopping early.
  const ApiKey* Match(std::string_view presented) const;

  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<ApiKey> keys_;
};

// SHA-256 of `data`.
std::array<unsigned char, 32> Sha256(std::string_view data);

}  // namespace orb::api
