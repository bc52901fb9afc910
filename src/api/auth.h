#pragma once

// Authentication of REST calls: who is calling (a principal with a role) from the
// credentials a request carries. Two kinds of credentials may be configured side by
// side: static API keys (api_keys.h) and JWT bearer tokens (jwt_verifier.h).
// Nothing here ever puts a presented token into a message or a log line.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/server_state.h"
#include "common/credential_file.h"
#include "config/config_loader.h"

namespace orb::api {

class ApiKeys;
class JwtVerifier;

// "viewer", "operator" or "admin".
const char* RoleName(Role role);

// The role named `name` (exact, lower case), or nullopt for any other word.
std::optional<Role> ParseRole(std::string_view name);

// Who made a call: "key:<name>" for an API key, "jwt:<sub>" for a token, or
// "anonymous" when authentication is off; and the role granted.
struct Principal {
  std::string name;
  Role role = Role::kViewer;
};

// The outcome of Authenticator::Authenticate: a principal, or the HTTP status (401,
// or 403 for a valid token granting no known role) with a message for the caller.
struct AuthResult {
  std::optional<Principal> principal;
  int status = 0;
  std::string message;
};

// The credentials in force, loaded once from the server.* settings.
class Authenticator {
 public:
  // Loads server.api_keys_file, server.jwt_hs256_secret_file,
  // server.jwt_rs256_public_key_file (with server.jwt_issuer, server.jwt_audience).
  // Throws Error(kInvalidConfig) naming the file and what is wrong with it (never a
  // key or secret) when one cannot be used.
  explicit Authenticator(const Config& config);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // True when any credential is configured: every call but the public ones then
  // needs one, and any address may be listened on.
  bool enabled() const;

  // Who sent `request`, from "Authorization: Bearer <key or JWT>" or
  // "X-API-Key: <key>". With authentication off: "anonymous" with role admin.
  AuthResult Authenticate(const httplib::Request& request) const;

 private:
  std::unique_ptr<ApiKeys> keys_;
  std::unique_ptr<JwtVerifier> jwt_;
};

}  // namespace orb::api
