#pragma once

// What guards every route of the REST door, run as the ServerState hooks, in order:
// CORS headers (cors.h); the public paths pass (kPublicPaths); otherwise the caller
// is authenticated (auth.h), rate limited per client (rate_limiter.h: 429 with
// Retry-After) and its role checked against the route's least role (403 naming the
// role needed). Every call of an audited route (Audited), refused or not, is written
// to the audit log (audit_log.h) once answered, and so is what a handler reports
// with ServerState::AuditOperation. Also answers OPTIONS (CORS preflight).

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "api/auth.h"
#include "api/server_state.h"
#include "config/config_loader.h"

namespace orb::api {

// Paths any client may call without a token (still rate limited by address): the
// probes, and the API's description for people and tools. Anything under "/docs/"
// is public too.
inline const std::set<std::string> kPublicPaths = {"/health", "/livez", "/readyz",
                                                   "/openapi.json", "/docs"};

// True for a route that changes something: a method other than GET and HEAD and a
// least role above viewer. (POST /api/v1/requests/status and HostFactory's status and
// listing operations only read: HostFactory polls them, they are not audited.)
bool Audited(const Route& route);

// True for a path of kPublicPaths or under /docs/.
bool IsPublicPath(const std::string& path);

// Who makes the call running on this thread, as the hooks Install adds found out:
// the authenticated principal (with authentication off, "anonymous" as admin), or
// nullopt outside a guarded call and on a public path. For handlers that serve
// callers differently by role (the MCP door's read-only sessions).
std::optional<Principal> CurrentPrincipal();

class AccessControl {
 public:
  // Loads the server.* settings of `config` (credentials, rate limit, CORS origins,
  // audit log file). Throws Error(kInvalidConfig) naming the setting or file at fault.
  explicit AccessControl(const Config& config);
  ~AccessControl();

  // True when credentials are configured, so calls need a token and any address
  // may be listened on.
  bool authenticates() const;

  // Sets the hooks of `state` and an OPTIONS handler on its HTTP server. Call once,
  // before serving; `state` must outlive serving.
  void Install(ServerState& state);

  // Puts the settings of `config` in force for calls that start after it. When
  // `require_credentials` (listening on a non-loopback address) and `config` has
  // none, or anything cannot be loaded, throws Error(kInvalidConfig) and keeps the
  // settings in force.
  void Reload(const Config& config, bool require_credentials);

 private:
  struct Policy;
  std::shared_ptr<const Policy> policy() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Policy> policy_;
};

}  // namespace orb::api
