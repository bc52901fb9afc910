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

constexpr std::size_t kMaxCredentialFileBytes = 1 << 20;

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

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

std::string ReadCredentialFile(const std::string& setting, const std::string& path, bool secret) {
  const std::string named = setting + " " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    throw Error(ErrorCode::kInvalidConfig, "cannot read " + named + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig, named + " is not a regular file");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig,
                named + " is mode " + Octal(st.st_mode) +
                    ": other users may change it; make it writable by its owner only (chmod go-w " +
                    path + ")");
  }
  if (secret && (st.st_mode & (S_IRGRP | S_IROTH | S_IXGRP | S_IXOTH))) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig,
                named + " is mode " + Octal(st.st_mode) +
                    " but holds secrets (plain keys or a shared secret): it must be readable by its "
                    "owner only (chmod 600 " + path + ")");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxCredentialFileBytes) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig, named + " is larger than 1 MiB");
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kInvalidConfig, "cannot read " + named + ": " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxCredentialFileBytes) break;
  }
  ::close(fd);
  return text;
}

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
