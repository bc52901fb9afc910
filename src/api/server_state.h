#pragma once

// What the route files of the REST door share: the HTTP server to add routes to, the
// configuration in force (replaced on SIGHUP), a broker per worker thread, and the
// guard that turns whatever a handler throws into a JSON error.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "api/event_hub.h"
#include "api/http_io.h"
#include "api/metrics.h"
#include "broker/broker.h"
#include "config/config_loader.h"

namespace orb::api {

// Who may call a route: every caller that may read (viewer), change requests and
// machines (operator), or change templates and configuration (admin). Each role
// includes the ones before it.
enum class Role { kViewer, kOperator, kAdmin };

// One route as registered: the method, the path as the OpenAPI document writes it
// ("/api/v1/requests/{request_id}"), and the least role that may call it.
struct Route {
  std::string method;
  std::string path;
  Role role = Role::kViewer;
  bool mutating() const { return method != "GET" && method != "HEAD"; }
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// What a handler audits itself (ServerState::AuditOperation): an operation its route
// alone does not name, e.g. an MCP tool call.
struct AuditedOperation {
  std::string operation;   // e.g. "tools/call request_machines"
  std::string outcome;     // "ok" or "error"
  int status = 200;        // the HTTP status answered
  std::string request_id;  // the request it created or acted on, if any
};

// Runs around every route's handler: `before` may answer (e.g. 401) and return
// false to stop the call; `after` sees the answer (e.g. for the audit log); `audit`
// writes what a handler reports with AuditOperation.
struct RouteHooks {
  std::function<bool(const httplib::Request&, httplib::Response&, const Route&)> before;
  std::function<void(const httplib::Request&, const httplib::Response&, const Route&)> after;
  std::function<void(const httplib::Request&, const AuditedOperation&)> audit;
};

class ServerState {
 public:
  // Serves with `config` (no errors), loaded from `inputs`, on `http`, which must
  // outlive this. At most `max_streams` event streams are open at once.
  ServerState(httplib::Server& http, std::shared_ptr<const Config> config, ConfigInputs inputs,
              int max_streams);

  // What the configuration was loaded from (a reload reads it again).
  const ConfigInputs& config_inputs() const { return inputs_; }

  Metrics& metrics() { return metrics_; }
  EventHub& events() { return events_; }

  // Counts a reconciler pass run through the API in the metrics.
  void CountReconcile(const ReconcileReport& report) { metrics_.CountReconcile(report); }

  // Takes one of the event-stream slots; false when all are taken.
  bool OpenStream();
  // Gives a slot back.
  void CloseStream();

  httplib::Server& http() { return http_; }

  // Adds a route. Each {name} in `path` matches one path segment, handed to the
  // handler in req.matches[1], [2], ... in order.
  void Add(const std::string& method, const std::string& path, Role role, Handler handler);

  // Every route added, in order.
  const std::vector<Route>& routes() const { return routes_; }

  // The route a method and a concrete path would reach, or nullptr.
  const Route* Find(const std::string& method, const std::string& path) const;

  // Sets what runs around every handler; call before serving.
  void SetHooks(RouteHooks hooks) { hooks_ = std::move(hooks); }

  // Writes `op` of the call `req` (inside its handler) to the audit log, if one is
  // kept: for routes whose one path carries operations of differing weight (the MCP
  // door's POST /mcp audits its mutating tool calls).
  void AuditOperation(const httplib::Request& req, const AuditedOperation& op) const {
    if (hooks_.audit) hooks_.audit(req, op);
  }

  // The configuration in force now.
  std::shared_ptr<const Config> config() const;

  // Puts `config` in force: brokers are built with it from the next call on; calls in
  // flight finish with the old one, whose brokers are then dropped. Then tells the
  // listeners added with OnReload.
  void Reload(std::shared_ptr<const Config> config);

  // Adds a listener told of every configuration Reload puts in force (for a door
  // mounted with routes of its own, e.g. the MCP door). Call before serving.
  void OnReload(std::function<void(const std::shared_ptr<const Config>&)> listener) {
    reload_listeners_.push_back(std::move(listener));
  }

  // A broker for the route handler running on this thread: leased from a pool of at
  // most `max_brokers` (each with its own store connection, as a process would have)
  // on first use in the handler and given back when it returns (waiting while every
  // one is leased). Only inside a handler added with Add; elsewhere use WithBroker.
  Broker& ThreadBroker();

  // Runs `fn` with a broker leased for its duration (for work outside a handler,
  // e.g. an answer's stream or its completion).
  void WithBroker(const std::function<void(Broker&)>& fn);

  // At most this many brokers exist at once (call before serving; default 8).
  void SetMaxBrokers(int n) { max_brokers_ = n < 1 ? 1 : n; }

  // Runs `fn`, answering an orb::Error with its status and anything else with 500,
  // as {"error","message"}.
  void Guard(httplib::Response& res, const std::function<void()>& fn);

  // Answers `body` with `status` and acknowledges request `id` once the whole answer
  // was sent (Broker::AcknowledgeRequest): a client that never got it leaves the
  // request to the reconciler, as a HostFactory script killed before answering would.
  // The answer carries "Location: /api/v1/requests/<id>" (the audit log reads it).
  // An empty `id` answers plainly.
  void ReplyCreated(httplib::Response& res, int status, const json& body, const std::string& id);

 private:
  struct PooledBroker {
    std::shared_ptr<const Config> config;  // kept alive while the broker uses it
    std::unique_ptr<Broker> broker;
    unsigned generation = 0;
  };
  PooledBroker Lease();
  void Return(PooledBroker broker);
  friend class BrokerScope;

  httplib::Server& http_;
  const ConfigInputs inputs_;
  const int max_streams_;
  std::atomic<int> streams_{0};
  Metrics metrics_;
  EventHub events_;
  std::vector<Route> routes_;
  std::vector<std::regex> route_patterns_;  // routes_[i]'s path as a regular expression
  RouteHooks hooks_;
  std::vector<std::function<void(const std::shared_ptr<const Config>&)>> reload_listeners_;
  mutable std::mutex mu_;
  std::shared_ptr<const Config> config_;
  unsigned generation_ = 1;
  int max_brokers_ = 8;
  int brokers_out_ = 0;                 // leased now
  std::vector<PooledBroker> idle_;      // built, not leased
  std::condition_variable returned_;
};

// Every route of the REST door (the route files below, in order). The OpenAPI
// document must describe exactly these (tests/api/openapi_routes_test.cc).
void AddAllRoutes(ServerState& state);

// Route files: each adds its routes with state.Add.
void AddProbeRoutes(ServerState& state);
void AddTemplateRoutes(ServerState& state);
void AddRequestRoutes(ServerState& state);
void AddMachineRoutes(ServerState& state);
void AddHostFactoryRoutes(ServerState& state);
void AddProviderRoutes(ServerState& state);
void AddConfigRoutes(ServerState& state);
void AddStorageRoutes(ServerState& state);
void AddReconcileRoutes(ServerState& state);
void AddEventRoutes(ServerState& state);
void AddMetricsRoutes(ServerState& state);
void AddDocsRoutes(ServerState& state);  // docs_routes.h

}  // namespace orb::api
