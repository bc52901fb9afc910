#include "api/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <set>

#include "api/auth.h"
#include "common/error.h"
#include "config/structured_file.h"

namespace orb::api {

namespace {

constexpr std::size_t kMinPlainKeyLength = 16;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kInvalidConfig, "server.api_keys_file " + path + ": " + what);
}

bool ParseHexDigest(const std::string& hex, std::array<unsigned char, 32>* out) {
  if (hex.size() != 64) return false;
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    for (char c : {hex[2 * i], hex[2 * i + 1]}) {
      const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                    : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<unsigned>(d);
    }
    (*out)[i] = static_cast<unsigned char>(v);
  }
  return true;
}

}  // namespace

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw Error(ErrorCode::kInternal, "SHA-256 is not available from OpenSSL");
  }
  return out;
}

ApiKeys ApiKeys::Load(const std::string& path) {
  // Read once for the content; the mode check for plain keys needs the content first.
  const std::string text = ReadCredentialFile("server.api_keys_file", path, false);
  nlohmann::ordered_json doc;
  try {
    doc = ParseStructuredText(text, path);
  } catch (const Error& e) {
    Fail(path, e.what());
  }
  if (doc.is_object() && doc.size() == 1 && doc.contains("keys")) doc = doc["keys"];
  if (!doc.is_array()) Fail(path, "must be a list of {name, role, key_sha256 or key} entries");
  if (doc.empty()) Fail(path, "holds no key");
  ApiKeys keys;
  bool plain = false;
  std::set<std::string> names;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto& e = doc[i];
    const std::string where = "entry " + std::to_string(i + 1);
    if (!e.is_object()) Fail(path, where + " must be a mapping {name, role, key_sha256 or key}");
    for (const auto& [field, value] : e.items()) {
      if (field != "name" && field != "role" && field != "key" && field != "key_sha256") {
        Fail(path, where + " has an unknown field '" + field +
                       "' (allowed: name, role, key_sha256, key)");
      }
      if (!value.is_string()) Fail(path, where + " field '" + field + "' must be a string (quote it)");
    }
    ApiKey key;
    key.name = e.value("name", "");
    if (key.name.empty()) Fail(path, where + " has no 'name'");
    if (!names.insert(key.name).second) Fail(path, "the name '" + key.name + "' appears twice");
    const std::string named = where + " ('" + key.name + "')";
    auto role = ParseRole(e.value("role", ""));
    if (!role) Fail(path, named + " field 'role' must be viewer, operator or admin");
    key.role = *role;
    const bool has_plain = e.contains("key"), has_hash = e.contains("key_sha256");
    if (has_plain == has_hash) Fail(path, named + " must have exactly one of 'key_sha256' and 'key'");
    if (has_hash) {
      if (!ParseHexDigest(e["key_sha256"].get<std::string>(), &key.sha256)) {
        Fail(path, named + " field 'key_sha256' must be 64 hexadecimal digits (sha256sum)");
      }
    } else {
      const std::string plain_key = e["key"].get<std::string>();
      if (plain_key.size() < kMinPlainKeyLength) {
        Fail(path, named + " field 'key' is shorter than " + std::to_string(kMinPlainKeyLength) +
                       " characters");
      }
      key.sha256 = Sha256(plain_key);
      plain = true;
    }
    for (const ApiKey& other : keys.keys_) {
      if (other.sha256 == key.sha256) {
        Fail(path, "'" + other.name + "' and '" + key.name + "' have the same key");
      }
    }
    keys.keys_.push_back(std::move(key));
  }
  // Plain keys are secrets: the file must be private (checked again now that we know).
  if (plain) ReadCredentialFile("server.api_keys_file", path, true);
  return keys;
}

const ApiKey* ApiKeys::Match(std::string_view presented) const {
  const std::array<unsigned char, 32> hash = Sha256(presented);
  const ApiKey* found = nullptr;
  for (const ApiKey& k : keys_) {
    const bool same = CRYPTO_memcmp(k.sha256.data(), hash.data(), hash.size()) == 0;
    if (same) found = &k;
  }
  return found;
}

}  // namespace orb::api
