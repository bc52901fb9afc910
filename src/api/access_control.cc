#include "api/access_control.h"

#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>

#include "api/audit_log.h"
#include "api/auth.h"
#include "api/cors.h"
#include "api/rate_limiter.h"
#include "common/error.h"
#include "config/settings.h"

namespace orb::api {

namespace {

using Clock = std::chrono::steady_clock;

// What the before hook hands to the after hook of the same call (same thread).
struct CallContext {
  Clock::time_point start;
  std::string principal = "-";
  std::string role = "-";
  std::optional<Principal> principal_value;
};
thread_local CallContext t_call;

// The id of the request a call created: from the Location header ReplyCreated sets,
// else the answer's request_id / requestId.
std::string CreatedRequestId(const httplib::Response& res) {
  const std::string location = res.get_header_value("Location");
  if (!location.empty()) return location.substr(location.rfind('/') + 1);
  if (res.body.empty()) return "";
  const auto body = nlohmann::json::parse(res.body, nullptr, false);
  if (!body.is_object()) return "";
  for (const char* key : {"request_id", "requestId"}) {
    if (auto it = body.find(key); it != body.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

}  // namespace

std::optional<Principal> CurrentPrincipal() { return t_call.principal_value; }

bool Audited(const Route& route) { return route.mutating() && route.role != Role::kViewer; }

bool IsPublicPath(const std::string& path) {
  return kPublicPaths.count(path) > 0 || path.rfind("/docs/", 0) == 0;
}

struct AccessControl::Policy {
  explicit Policy(const Config& config)
      : auth(config), cors(config.Get("server.cors_origins")) {
    const std::string rate = config.Get("server.rate_limit");
    if (rate != "0" && rate != "off") {
      auto parsed = ParseRate(rate);
      if (!parsed) {
        throw Error(ErrorCode::kInvalidConfig,
                    "server.rate_limit must be BURST/REFILL_PER_SECOND (e.g. 200/100) or off");
      }
      limiter = std::make_unique<RateLimiter>(parsed->first, parsed->second);
    }
    const std::string audit_file = config.Get("server.audit_log_file");
    if (!audit_file.empty()) audit = std::make_unique<AuditLog>(audit_file);
  }

  Authenticator auth;
  Cors cors;
  std::unique_ptr<RateLimiter> limiter;  // null: no limit
  std::unique_ptr<AuditLog> audit;       // null: no audit log

  void Audit(const httplib::Request& req, int status, const std::string& request_id,
             const std::string& operation = "", const std::string& outcome = "") const {
    if (!audit) return;
    AuditEntry e;
    e.operation = operation;
    e.outcome = outcome;
    e.principal = t_call.principal;
    e.role = t_call.role;
    e.remote = req.remote_addr;
    e.method = req.method;
    e.path = req.path;
    e.status = status;
    e.duration_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - t_call.start).count();
    e.request_id = request_id;
    audit->Write(e);
  }
};

AccessControl::AccessControl(const Config& config)
    : policy_(std::make_shared<const Policy>(config)) {}

AccessControl::~AccessControl() = default;

std::shared_ptr<const AccessControl::Policy> AccessControl::policy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return policy_;
}

bool AccessControl::authenticates() const { return policy()->auth.enabled(); }

void AccessControl::Reload(const Config& config, bool require_credentials) {
  auto fresh = std::make_shared<const Policy>(config);
  if (require_credentials && !fresh->auth.enabled()) {
    throw Error(ErrorCode::kInvalidConfig,
                "the new configuration has no credentials, but the server listens on a "
                "non-loopback address");
  }
  std::lock_guard<std::mutex> lock(mu_);
  policy_ = std::move(fresh);
}

void AccessControl::Install(ServerState& state) {
  RouteHooks hooks;
  hooks.before = [this](const httplib::Request& req, httplib::Response& res, const Route& route) {
    const std::shared_ptr<const Policy> p = policy();
    t_call = CallContext{};
    t_call.start = Clock::now();
    p->cors.AddHeaders(req, res);
    const bool is_public = IsPublicPath(req.path);
    AuthResult auth;
    if (!is_public) auth = p->auth.Authenticate(req);
    if (auth.principal) {
      t_call.principal = auth.principal->name;
      t_call.role = RoleName(auth.principal->role);
      t_call.principal_value = auth.principal;
    }
    const std::string client = auth.principal ? auth.principal->name : "addr:" + req.remote_addr;
    auto refuse = [&](int status, const char* code, const std::string& message) {
      ReplyError(res, status, code, message);
      if (Audited(route)) p->Audit(req, status, "");
      return false;
    };
    int retry_after = 0;
    if (p->limiter && !p->limiter->Allow(client, &retry_after)) {
      res.set_header("Retry-After", std::to_string(retry_after));
      return refuse(429, "rate_limited",
                    "too many calls from " + client + "; retry in " + std::to_string(retry_after) +
                        " s (server.rate_limit)");
    }
    if (is_public) return true;
    if (!auth.principal) {
      spdlog::info("serve: {} {} from {} refused ({}): {}", req.method, req.path, req.remote_addr,
                   auth.status, auth.message);
      if (auth.status == 401) {
        const bool presented = req.has_header("Authorization") || req.has_header("X-API-Key");
        res.set_header("WWW-Authenticate", presented ? "Bearer realm=\"orb\", error=\"invalid_token\""
                                                     : "Bearer realm=\"orb\"");
        return refuse(401, "unauthorized", auth.message);
      }
      return refuse(auth.status, "forbidden", auth.message);
    }
    if (auth.principal->role < route.role) {
      return refuse(403, "forbidden",
                    std::string("role ") + RoleName(auth.principal->role) + " may not call " +
                        req.method + " " + req.path + " (needs " + RoleName(route.role) + ")");
    }
    return true;
  };
  hooks.after = [this](const httplib::Request& req, const httplib::Response& res, const Route& route) {
    if (!Audited(route)) return;
    policy()->Audit(req, res.status, CreatedRequestId(res));
  };
  hooks.audit = [this](const httplib::Request& req, const AuditedOperation& op) {
    policy()->Audit(req, op.status, op.request_id, op.operation, op.outcome);
  };
  state.SetHooks(std::move(hooks));

  // CORS preflight, and OPTIONS in general: the methods a path has.
  state.http().Options(".*", [this, &state](const httplib::Request& req, httplib::Response& res) {
    std::string allowed;
    for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      if (state.Find(method, req.path)) allowed += (allowed.empty() ? "" : ", ") + std::string(method);
    }
    policy()->cors.AnswerPreflight(req, res, allowed);
  });
}

}  // namespace orb::api
