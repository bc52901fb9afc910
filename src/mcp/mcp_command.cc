#include "mcp/mcp_command.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/access_control.h"
#include "api/api_server.h"
#include "api/change_watcher.h"
#include "api/http_io.h"
#include "api/server_state.h"
#include "common/error.h"
#include "mcp/mcp_changes.h"
#include "mcp/mcp_stdio.h"

namespace orb::mcp {

namespace {

// SIGTERM, SIGINT, SIGHUP and SIGUSR2 are taken by one thread only: blocked here,
// before any thread starts, so that every later thread inherits the mask.
sigset_t BlockServerSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

McpOptions OptionsOf(const Config& config, bool read_only) {
  McpOptions o;
  o.read_only = read_only;
  o.log_level = McpLogLevel(config.Get("logging.level"));
  return o;
}

int ServeStdioCommand(Context& c, const ServerCommand& command) {
  BlockServerSignals();
  auto config = std::make_shared<const Config>(c.LoadConfiguration(true));
  const McpOptions options = OptionsOf(*config, command.read_only);
  McpServer server(config, options);
  StoreWatch watch(config, std::chrono::milliseconds(config->GetInt("server.events_poll_ms")),
                   {&server});
  watch.Start();
  spdlog::info("mcp: serving on stdio{}", command.read_only ? " (read-only)" : "");
  StdioOptions stdio;
  stdio.log_level = options.log_level;
  const int code = ServeStdio(server, stdio);
  watch.Stop();
  return code;
}

// SIGHUP in `orb mcp serve --port`: the configuration read again and, when it has no
// error (and still has credentials if the address is not a loopback one), put in
// force for the access control and the door (through the state's reload listeners).
// A refused one is logged; the one in force stays.
void Reload(Context& c, api::ServerState& state, api::AccessControl& access,
            bool require_credentials) {
  auto fresh = std::make_shared<const Config>(LoadConfig(c.Inputs()));
  if (fresh->HasErrors()) {
    for (const ConfigProblem& p : fresh->problems()) {
      if (p.error) spdlog::error("mcp: reload refused, configuration has errors: {}", p.ToString());
    }
    return;
  }
  try {
    access.Reload(*fresh, require_credentials);
  } catch (const Error& e) {
    spdlog::error("mcp: reload refused, the configuration in force stays: {}", e.what());
    return;
  }
  state.Reload(fresh);
  spdlog::info("mcp: configuration reloaded on SIGHUP");
}

int ServeHttpCommand(Context& c, const ServerCommand& command) {
  const sigset_t signals = BlockServerSignals();
  auto config = std::make_shared<const Config>(c.LoadConfiguration(true));
  const ApiServerOptions o = ApiServerOptionsFrom(*config);
  if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
    spdlog::warn("mcp: `orb mcp serve --port` serves plain HTTP; server.tls_* apply to `orb serve` "
                 "(mounted at /mcp) only");
  }
  httplib::Server http;
  api::ServerState state(http, config, c.Inputs(), o.max_streams);
  api::AccessControl access(*config);
  if (!IsLoopbackHost(o.host) && !access.authenticates()) {
    throw Error(ErrorCode::kInvalidConfig,
                "--host " + o.host + " is not a loopback address and no credentials are "
                "configured: set server.api_keys_file or a JWT key to serve other hosts, or "
                "listen on 127.0.0.1, ::1 or localhost");
  }
  McpHttpDoor door(config, HttpDoorOptions(*config, command.read_only));
  state.SetMaxBrokers(1);  // the MCP routes use the core's brokers, not the pool
  door.Mount(state);
  access.Install(state);
  http.new_task_queue = [threads = o.threads + o.max_streams] {
    return new httplib::ThreadPool(static_cast<size_t>(std::max(1, threads)));
  };
  http.set_payload_max_length(static_cast<size_t>(o.max_body_bytes));
  http.set_read_timeout(o.read_timeout_sec, 0);
  http.set_write_timeout(o.read_timeout_sec, 0);
  http.set_tcp_nodelay(true);
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 404) message = "Not Found: no route " + req.method + " " + req.path + " (MCP is at /mcp)";
    if (res.status == 413) message = "Payload Too Large: the body is larger than server.max_body_bytes";
    res.set_content(json{{"jsonrpc", "2.0"}, {"id", nullptr},
                         {"error", {{"code", -32000}, {"message", message}}}}
                        .dump(),
                    "application/json");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("mcp http: unexpected failure: {}", what);
    res.status = 500;
    res.set_content(json{{"jsonrpc", "2.0"}, {"id", nullptr},
                         {"error", {{"code", -32603}, {"message", "internal error"}}}}
                        .dump(),
                    "application/json");
  });
  int port = o.port;
  if (port == 0) {
    port = http.bind_to_any_port(o.host);
    if (port <= 0) throw Error(ErrorCode::kInvalidConfig, "cannot listen on " + o.host);
  } else if (!http.bind_to_port(o.host, port)) {
    throw Error(ErrorCode::kInvalidConfig,
                "cannot listen on " + o.host + ":" + std::to_string(port) +
                    " (in use by another process, or not an address of this host); set --port or --host");
  }
  const std::string where = "http://" + (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) +
                            ":" + std::to_string(port) + "/mcp";
  spdlog::info("mcp: listening on {}{}", where, command.read_only ? " (read-only)" : "");
  c.out << "orb mcp serve: listening on " << where << "\n" << std::flush;

  api::ChangeWatcher watcher(state.events(), [&state] { return state.config(); },
                             std::chrono::milliseconds(o.events_poll_ms));
  watcher.Start();
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        Reload(c, state, access, !IsLoopbackHost(o.host));
        continue;
      }
      if (sig != SIGUSR2) spdlog::info("mcp: {} received, stopping", strsignal(sig));
      state.events().Close();  // event streams end, so their threads are free
      door.Stop();
      http.stop();
      return;
    }
  });
  http.listen_after_bind();
  pthread_kill(waiter.native_handle(), SIGUSR2);
  waiter.join();
  watcher.Stop();
  door.Stop();
  spdlog::info("mcp: stopped");
  return 0;
}

}  // namespace

std::string McpLogLevel(const std::string& orb_level) {
  if (orb_level == "trace" || orb_level == "debug") return "debug";
  if (orb_level == "warn") return "warning";
  if (orb_level == "off") return "emergency";
  if (orb_level == "error" || orb_level == "critical") return orb_level;
  return "info";
}

McpHttpOptions HttpDoorOptions(const Config& config, bool read_only) {
  McpHttpOptions o;
  o.mcp = OptionsOf(config, read_only);
  o.cors_origins = config.Get("server.cors_origins");
  return o;
}

int RunMcpServe(Context& c, const ServerCommand& command) {
  return command.mcp_http ? ServeHttpCommand(c, command) : ServeStdioCommand(c, command);
}

}  // namespace orb::mcp
