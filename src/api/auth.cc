#include "api/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "api/api_keys.h"
#include "api/jwt_verifier.h"
#include "common/error.h"

namespace orb::api {

namespace {

// The credential a request carries: the bearer token, else X-API-Key; empty if none.
// `scheme_error` is set for an Authorization header of another scheme.
std::string PresentedToken(const httplib::Request& req, bool* scheme_error) {
  const std::string auth = req.get_header_value("Authorization");
  if (!auth.empty()) {
    if (auth.size() > 7 && strncasecmp(auth.c_str(), "Bearer ", 7) == 0) {
      std::size_t start = 7;
      while (start < auth.size() && auth[start] == ' ') ++start;
      return auth.substr(start);
    }
    *scheme_error = true;
    return "";
  }
  return req.get_header_value("X-API-Key");
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kOperator: return "operator";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

Authenticator::Authenticator(const Config& config) {
  const std::string keys_file = config.Get("server.api_keys_file");
  if (!keys_file.empty()) keys_ = std::make_unique<ApiKeys>(ApiKeys::Load(keys_file));
  const std::string hs = config.Get("server.jwt_hs256_secret_file");
  const std::string rs = config.Get("server.jwt_rs256_public_key_file");
  if (!hs.empty() || !rs.empty()) {
    jwt_ = std::make_unique<JwtVerifier>(hs, rs, config.Get("server.jwt_issuer"),
                                         config.Get("server.jwt_audience"));
  }
}

Authenticator::~Authenticator() = default;

bool Authenticator::enabled() const { return keys_ || jwt_; }

AuthResult Authenticator::Authenticate(const httplib::Request& req) const {
  AuthResult r;
  if (!enabled()) {
    r.principal = Principal{"anonymous", Role::kAdmin};
    return r;
  }
  bool scheme_error = false;
  const std::string token = PresentedToken(req, &scheme_error);
  r.status = 401;
  if (scheme_error) {
    r.message = "the Authorization header must be 'Bearer <API key or token>'";
    return r;
  }
  if (token.empty()) {
    r.message = "missing bearer token (Authorization: Bearer <API key or token>, or X-API-Key)";
    return r;
  }
  if (keys_) {
    if (const ApiKey* key = keys_->Match(token)) {
      r.principal = Principal{"key:" + key->name, key->role};
      r.status = 0;
      return r;
    }
  }
  const bool looks_like_jwt = std::count(token.begin(), token.end(), '.') == 2;
  if (jwt_ && looks_like_jwt) {
    JwtIdentity id;
    JwtRejection why;
    if (!jwt_->Verify(token, std::time(nullptr), &id, &why)) {
      r.status = why.status;
      r.message = why.message;
      return r;
    }
    r.principal = Principal{"jwt:" + (id.subject.empty() ? std::string("(no sub)") : id.subject), id.role};
    r.status = 0;
    return r;
  }
  r.message = keys_ ? "invalid API key" : "invalid token (not a JWT)";
  return r;
}

}  // namespace orb::api
