#pragma once

// `orb serve`: the broker over HTTP (REST under /api/v1, HostFactory's five operations
// under /api/v1/hostfactory, health probes). A door: it parses requests, calls the
// broker and formats answers; every rule lives in the broker. Each worker thread has
// its own Broker (and so its own store connection), as separate processes would.

#include <functional>
#include <memory>
#include <string>

#include "config/config_loader.h"

namespace orb {

namespace api {
class ServerState;
}

// Where and how the server listens (server.* settings).
struct ApiServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                 // 0: any free port (see ApiServer::port)
  int threads = 64;                // connections served at once (a thread each)
  int brokers = 8;                 // brokers (store connections) the threads share
  long long max_body_bytes = 1 << 20;
  int read_timeout_sec = 10;       // a client that sends nothing this long is dropped
  int max_streams = 32;            // event streams open at once (each holds a thread)
  int events_poll_ms = 1000;       // how often the store is read for domain events
  std::string tls_cert_file;       // both set: HTTPS with this certificate chain (PEM)
  std::string tls_key_file;        // and private key (PEM)
};

// True when `host` names only this machine (IPv4 127/8, ::1, "localhost"): the only
// addresses a server may listen on without credentials.
bool IsLoopbackHost(const std::string& host);

// Reads the server.* settings of `config`.
ApiServerOptions ApiServerOptionsFrom(const Config& config);

// The HTTP server. Not copyable; Stop may be called from any thread.
class ApiServer {
 public:
  // Serves with `config` (no errors), which was loaded from `inputs` (read again by
  // POST /api/v1/config/validate). Throws Error(kInvalidConfig) when the TLS
  // certificate or key, a credential file or the audit log cannot be used.
  ApiServer(std::shared_ptr<const Config> config, ConfigInputs inputs, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Adds the routes of another door (the MCP door at /mcp, src/mcp/mcp_http.h) with
  // `add`, given the route registry: they are guarded like the REST routes (access
  // control, audit, metrics). Call before Run().
  void Extend(const std::function<void(api::ServerState&)>& add);

  // Binds the listening socket. Throws Error(kInvalidConfig) naming the address when
  // it cannot (in use, not local, no permission), and when the address is not a
  // loopback one and no credentials are configured (access_control.h).
  void Bind();

  // The port bound (after Bind), e.g. the one chosen for port 0.
  int port() const;

  // The address listened on, as configured.
  const std::string& host() const;

  // True when serving HTTPS.
  bool tls() const;

  // Puts a new configuration in force for the calls that start after it (SIGHUP).
  // The listening address and TLS files stay as they were bound. A configuration
  // whose credentials, CORS origins or audit log cannot be used is refused (logged)
  // and the one in force stays.
  void Reload(std::shared_ptr<const Config> config);

  // Serves until Stop(); in-flight requests finish first. Bind() must have run.
  // Also runs, while serving, the watcher that publishes domain events and the
  // reconciler timer, and counts AWS calls in the metrics.
  void Run();

  // Makes Run() return once in-flight requests are answered. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orb
