#include "api/jwt_verifier.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "common/error.h"

namespace orb::api {

namespace {


constexpr std::size_t kMinSecretBytes = 32;

// `text` without trailing white space (a newline an editor added to a secret file).
std::string TrimEnd(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

// Decodes base64url without padding; false for any other character.
bool Base64UrlDecode(std::string_view in, std::string* out) {
  out->clear();
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else if (c == '=') break;
    else return false;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return true;
}

// A claim as a whole number of seconds; nullopt when absent, `bad` when not a number.
std::optional<long long> TimeClaim(const json& claims, const char* name, bool* bad) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number()) {
    *bad = true;
    return std::nullopt;
  }
  return it->is_number_float() ? static_cast<long long>(it->get<double>()) : it->get<long long>();
}

// The role a verified token grants: `role`, else `roles`, else `scope` (see header).
// nullopt with `what` set when it grants none.
std::optional<Role> RoleOf(const json& claims, std::string* what) {
  if (auto it = claims.find("role"); it != claims.end()) {
    if (!it->is_string()) {
      *what = "the token's 'role' claim is not a string";
      return std::nullopt;
    }
    auto role = ParseRole(it->get<std::string>());
    if (!role) *what = "the token's role '" + it->get<std::string>().substr(0, 32) + "' is not viewer, operator or admin";
    return role;
  }
  std::vector<std::string> words;
  const char* from = nullptr;
  if (auto it = claims.find("roles"); it != claims.end() && it->is_array()) {
    from = "roles";
    for (const json& r : *it) {
      if (r.is_string()) words.push_back(r.get<std::string>());
    }
  } else if (auto sc = claims.find("scope"); sc != claims.end() && sc->is_string()) {
    from = "scope";
    const std::string scope = sc->get<std::string>();
    std::size_t start = 0;
    while (start <= scope.size()) {
      std::size_t end = scope.find(' ', start);
      if (end == std::string::npos) end = scope.size();
      std::string word = scope.substr(start, end - start);
      if (word.rfind("orb:", 0) == 0) word = word.substr(4);
      if (!word.empty()) words.push_back(word);
      start = end + 1;
    }
  }
  std::optional<Role> best;
  for (const std::string& w : words) {
    if (auto r = ParseRole(w); r && (!best || *r > *best)) best = r;
  }
  if (!best) {
    *what = from ? std::string("the token's '") + from + "' claim names no known role (viewer, operator, admin)"
                 : "the token has no 'role', 'roles' or 'scope' claim";
  }
  return best;
}

}  // namespace

JwtVerifier::JwtVerifier(const std::string& hs256_secret_file,
                         const std::string& rs256_public_key_file, std::string issuer,
                         std::string audience)
    : issuer_(std::move(issuer)), audience_(std::move(audience)) {
  if (!hs256_secret_file.empty()) {
    hs256_secret_ = TrimEnd(ReadCredentialFile("server.jwt_hs256_secret_file", hs256_secret_file, true));
    if (hs256_secret_.size() < kMinSecretBytes) {
      throw Error(ErrorCode::kInvalidConfig,
                  "server.jwt_hs256_secret_file " + hs256_secret_file + " holds fewer than " +
                      std::to_string(kMinSecretBytes) +
                      " bytes; use a longer secret (e.g. openssl rand -hex 32)");
    }
  }
  if (!rs256_public_key_file.empty()) {
    rs256_public_pem_ =
        ReadCredentialFile("server.jwt_rs256_public_key_file", rs256_public_key_file, false);
    BIO* bio = BIO_new_mem_buf(rs256_public_pem_.data(), static_cast<int>(rs256_public_pem_.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
    const bool rsa = key && EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
    EVP_PKEY_free(key);
    BIO_free(bio);
    if (!rsa) {
      throw Error(ErrorCode::kInvalidConfig,
                  "server.jwt_rs256_public_key_file " + rs256_public_key_file +
                      " is not an RSA public key in PEM (-----BEGIN PUBLIC KEY-----)");
    }
  }
}

JwtVerifier::~JwtVerifier() = default;

bool JwtVerifier::Verify(const std::string& token, std::time_t now, JwtIdentity* identity,
                         JwtRejection* why) const {
  auto reject = [why](int status, std::string message) {
    why->status = status;
    why->message = std::move(message);
    return false;
  };
  // The algorithm decides the key: read it from the header before libjwt does.
  const std::size_t dot = token.find('.');
  std::string header_text;
  if (dot == std::string::npos || !Base64UrlDecode(std::string_view(token).substr(0, dot), &header_text)) {
    return reject(401, "malformed token");
  }
  const json header = json::parse(header_text, nullptr, false);
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string()) {
    return reject(401, "malformed token (no 'alg' in its header)");
  }
  const std::string alg = header["alg"].get<std::string>();
  const std::string* key = nullptr;
  jwt_alg_t expected = JWT_ALG_INVAL;
  if (alg == "HS256" && !hs256_secret_.empty()) {
    key = &hs256_secret_;
    expected = JWT_ALG_HS256;
  } else if (alg == "RS256" && !rs256_public_pem_.empty()) {
    key = &rs256_public_pem_;
    expected = JWT_ALG_RS256;
  } else {
    std::string accepted = hs256_secret_.empty() ? "" : "HS256";
    if (!rs256_public_pem_.empty()) accepted += accepted.empty() ? "RS256" : " or RS256";
    return reject(401, "token algorithm '" + alg.substr(0, 16) + "' is not accepted (accepted: " +
                           accepted + ")");
  }
  jwt_t* jwt = nullptr;
  const int rc = jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(key->data()),
                            static_cast<int>(key->size()));
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> owned(jwt, jwt_free);
  if (rc != 0 || !jwt || jwt_get_alg(jwt) != expected) {
    return reject(401, "invalid token: malformed, or its signature does not verify");
  }
  char* grants = jwt_get_grants_json(jwt, nullptr);
  const json claims = grants ? json::parse(grants, nullptr, false) : json();
  std::free(grants);
  if (!claims.is_object()) return reject(401, "malformed token (its claims are not a JSON object)");

  bool bad = false;
  const auto exp = TimeClaim(claims, "exp", &bad);
  const auto nbf = TimeClaim(claims, "nbf", &bad);
  const auto iat = TimeClaim(claims, "iat", &bad);
  if (bad) return reject(401, "malformed token (exp, nbf and iat must be numbers)");
  if (!exp) return reject(401, "token has no expiry ('exp' claim)");
  if (*exp + kJwtLeewaySec < now) return reject(401, "token expired");
  if (nbf && *nbf - kJwtLeewaySec > now) return reject(401, "token not valid yet ('nbf' is in the future)");
  if (iat && *iat - kJwtLeewaySec > now) return reject(401, "token issued in the future ('iat')");
  if (!issuer_.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != issuer_) {
      return reject(401, "token issuer does not match server.jwt_issuer");
    }
  }
  if (!audience_.empty()) {
    bool match = false;
    if (auto aud = claims.find("aud"); aud != claims.end()) {
      if (aud->is_string()) match = aud->get<std::string>() == audience_;
      if (aud->is_array()) {
        for (const json& a : *aud) match = match || (a.is_string() && a.get<std::string>() == audience_);
      }
    }
    if (!match) return reject(401, "token audience does not include server.jwt_audience");
  }
  std::string what;
  auto role = RoleOf(claims, &what);
  if (!role) return reject(403, what);
  identity->role = *role;
  identity->subject.clear();
  if (auto sub = claims.find("sub"); sub != claims.end() && sub->is_string()) {
    identity->subject = sub->get<std::string>().substr(0, 128);
  }
  return true;
}

}  // namespace orb::api
