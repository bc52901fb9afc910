#pragma once

// The MCP streamable HTTP transport (protocol revisions 2025-03-26 and later) at one
// path, /mcp, mounted on a route registry of the REST door (api::ServerState): inside
// `orb serve`, or on a server of its own by `orb mcp serve --port N`. Either way the
// REST door's access control runs first (credentials, rate limit, role, CORS).
//
//   POST /mcp    one JSON-RPC message. A request is answered 200 application/json;
//                a notification or a response 202 with no body. `initialize` opens a
//                session: the answer carries Mcp-Session-Id (random, 122 bits), which
//                every later call must send (missing: 400; unknown or expired: 404).
//   GET /mcp     a server-sent-event stream of the session's notifications
//                (resources/updated, log messages); one per session.
//   DELETE /mcp  ends the session.
//
// Checked on every call: Origin (absent, a loopback origin, or one of
// server.cors_origins; else 403, against DNS rebinding), MCP-Protocol-Version when
// sent (one orb speaks; else 400), Accept (POST: application/json and
// text/event-stream; GET: text/event-stream; else 406), Content-Type of a POST
// (application/json; else 415). A body that is not JSON is 400 with a -32700 error;
// one over server.max_body_bytes is refused by the HTTP server (413). Sessions idle
// for an hour are dropped. A session belongs to the principal that opened it.
//
// Roles: the routes need viewer. A session opened by a caller below operator is
// served read-only (mutating tools refuse, as with --read-only), so a viewer token
// cannot launch or return machines through MCP.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/server_state.h"
#include "mcp/mcp_server.h"

namespace orb::mcp {

struct McpHttpOptions {
  McpOptions mcp;                  // read_only: every session read-only
  std::string path = "/mcp";
  std::chrono::seconds idle_timeout{3600};
  std::size_t max_sessions = 1000;
  std::string cors_origins;        // server.cors_origins: origins allowed besides loopback
};

// True for an Origin naming this machine: http(s)://localhost, 127.x.y.z or [::1],
// any port.
bool IsLoopbackOrigin(const std::string& origin);

class McpHttpDoor {
 public:
  // Serves with `config` (no errors).
  McpHttpDoor(std::shared_ptr<const Config> config, McpHttpOptions options);
  ~McpHttpDoor();
  McpHttpDoor(const McpHttpDoor&) = delete;
  McpHttpDoor& operator=(const McpHttpDoor&) = delete;

  // Adds POST, GET and DELETE options.path to `state` (Role::kViewer) and feeds the
  // domain events of state.events() to subscribed sessions until they close. Call
  // once, before serving; `state` must outlive serving.
  void Mount(api::ServerState& state);

  // Puts `config` (no errors) in force: its server.cors_origins for calls from now on,
  // and the configuration the protocol servers build brokers with. Open sessions are
  // kept. Mount makes the state's Reload call this (SIGHUP in `orb serve` and
  // `orb mcp serve --port`).
  void Reload(std::shared_ptr<const Config> config);

  // Ends the event streams and the feed (the server is stopping). Idempotent.
  void Stop();

  // The protocol servers behind the door (read-write and read-only).
  std::vector<McpServer*> servers();

  // Sessions open now.
  std::size_t session_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orb::mcp
