#include "api/api_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/access_control.h"
#include "api/change_watcher.h"
#include "api/reconcile_timer.h"
#include "api/server_state.h"
#include "provider/aws/aws_call_observer.h"
#include "common/error.h"

namespace orb {

namespace {

using api::ReplyError;

// A plain or an HTTPS server, as configured.
std::unique_ptr<httplib::Server> MakeHttpServer(const ApiServerOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return std::make_unique<httplib::Server>();
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    throw Error(ErrorCode::kInvalidConfig,
                "server.tls_cert_file and server.tls_key_file must be set together");
  }
  for (const std::string& f : {o.tls_cert_file, o.tls_key_file}) {
    if (::access(f.c_str(), R_OK) != 0) {
      throw Error(ErrorCode::kInvalidConfig, "cannot read TLS file " + f + ": " + std::strerror(errno));
    }
  }
  auto server = std::make_unique<httplib::SSLServer>(o.tls_cert_file.c_str(), o.tls_key_file.c_str());
  if (!server->is_valid()) {
    throw Error(ErrorCode::kInvalidConfig,
                "cannot use the TLS certificate " + o.tls_cert_file + " with the key " +
                    o.tls_key_file + " (not PEM, or the key does not match the certificate)");
  }
  return server;
}

// cpp-httplib listens with a backlog of 5: a burst of clients connecting at once (a
// load balancer's pool, a benchmark) overflows it and waits a second for the SYN to be
// sent again. Linux lets listen() be called again on a listening socket to change
// the backlog: find ours by its port.
void WidenListenBacklog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) continue;
    int bound = 0;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

ApiServerOptions ApiServerOptionsFrom(const Config& config) {
  ApiServerOptions o;
  o.host = config.Get("server.host");
  o.port = static_cast<int>(config.GetInt("server.port"));
  o.threads = static_cast<int>(config.GetInt("server.threads"));
  o.brokers = static_cast<int>(config.GetInt("server.brokers"));
  o.max_body_bytes = config.GetInt("server.max_body_bytes");
  o.read_timeout_sec = static_cast<int>(config.GetInt("server.read_timeout_sec"));
  o.max_streams = static_cast<int>(config.GetInt("server.max_streams"));
  o.events_poll_ms = static_cast<int>(config.GetInt("server.events_poll_ms"));
  o.tls_cert_file = config.Get("server.tls_cert_file");
  o.tls_key_file = config.Get("server.tls_key_file");
  return o;
}

struct ApiServer::Impl {
  Impl(std::shared_ptr<const Config> c, ConfigInputs inputs, ApiServerOptions o)
      : options(std::move(o)),
        http(MakeHttpServer(options)),
        state(*http, std::move(c), std::move(inputs), options.max_streams),
        access(*state.config()),
        watcher(state.events(), [this] { return state.config(); },
                std::chrono::milliseconds(options.events_poll_ms)),
        reconciler(state.metrics(), [this] { return state.config(); },
                   std::chrono::seconds(5)) {}

  ApiServerOptions options;
  std::unique_ptr<httplib::Server> http;
  api::ServerState state;
  api::AccessControl access;  // authentication, roles, rate limit, CORS, audit
  api::ChangeWatcher watcher;
  api::ReconcileTimer reconciler;
  int port = 0;

  void Routes();
};

void ApiServer::Impl::Routes() {
  api::AddAllRoutes(state);
  access.Install(state);

  // Anything else: JSON errors, never httplib's empty or HTML answers.
  http->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      std::string allowed;
      for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
        if (state.Find(method, req.path)) allowed += (allowed.empty() ? "" : ", ") + std::string(method);
      }
      if (!allowed.empty()) {
        res.set_header("Allow", allowed);
        ReplyError(res, 405, "method_not_allowed",
                   req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
        return;
      }
      ReplyError(res, 404, "not_found", "no route " + req.method + " " + req.path);
    } else if (res.status == 413) {
      ReplyError(res, 413, "payload_too_large", "the request body is larger than server.max_body_bytes");
    } else {
      ReplyError(res, res.status, "http_error", "HTTP " + std::to_string(res.status));
    }
  });
  http->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("serve: unexpected failure: {}", what);
        ReplyError(res, 500, "internal_error", "unexpected failure: " + what);
      });
  http->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    // Every call at debug (HostFactory polls often); changes are in the audit log.
    spdlog::debug("serve: {} {} -> {}", req.method, req.path, res.status);
  });
}

ApiServer::ApiServer(std::shared_ptr<const Config> config, ConfigInputs inputs,
                     ApiServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(inputs), std::move(options))) {
  // Event streams hold a thread each for as long as they last: they get threads of
  // their own, so that they never starve the ordinary calls.
  impl_->state.SetMaxBrokers(impl_->options.brokers);
  impl_->http->new_task_queue = [threads = impl_->options.threads + impl_->options.max_streams] {
    return new httplib::ThreadPool(static_cast<size_t>(std::max(1, threads)));
  };
  impl_->http->set_payload_max_length(static_cast<size_t>(impl_->options.max_body_bytes));
  impl_->http->set_read_timeout(impl_->options.read_timeout_sec, 0);
  impl_->http->set_write_timeout(impl_->options.read_timeout_sec, 0);
  impl_->http->set_keep_alive_max_count(1000);
  impl_->http->set_tcp_nodelay(true);  // small answers leave at once, not after a delayed ACK
  impl_->http->set_keep_alive_timeout(std::min(5, impl_->options.read_timeout_sec));
  // SO_REUSEADDR (a restart may bind at once) but not httplib's SO_REUSEPORT, with
  // which a second `orb serve` would share the port instead of being told it is taken.
  impl_->http->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl_->Routes();
}

ApiServer::~ApiServer() = default;

void ApiServer::Extend(const std::function<void(api::ServerState&)>& add) { add(impl_->state); }

void ApiServer::Bind() {
  const ApiServerOptions& o = impl_->options;
  const std::string where = o.host + ":" + std::to_string(o.port);
  if (!IsLoopbackHost(o.host) && !impl_->access.authenticates()) {
    throw Error(ErrorCode::kInvalidConfig,
                "server.host " + o.host + " is not a loopback address and no credentials are "
                "configured: set server.api_keys_file, server.jwt_hs256_secret_file or "
                "server.jwt_rs256_public_key_file to serve other hosts, or listen on "
                "127.0.0.1, ::1 or localhost");
  }
  if (!IsLoopbackHost(o.host) && !tls()) {
    spdlog::warn("serve: {} is not a loopback address and TLS is off: tokens cross the network "
                 "in clear text (set server.tls_cert_file and server.tls_key_file)", o.host);
  }
  if (o.port == 0) {
    impl_->port = impl_->http->bind_to_any_port(o.host);
    if (impl_->port <= 0) throw Error(ErrorCode::kInvalidConfig, "cannot listen on " + o.host);
  } else {
    if (!impl_->http->bind_to_port(o.host, o.port)) {
      throw Error(ErrorCode::kInvalidConfig,
                  "cannot listen on " + where +
                      " (in use by another process, or not an address of this host); set "
                      "server.port or server.host");
    }
    impl_->port = o.port;
  }
  WidenListenBacklog(impl_->port);
  spdlog::info("serve: listening on {}://{}:{}", tls() ? "https" : "http", o.host, impl_->port);
}

int ApiServer::port() const { return impl_->port; }

const std::string& ApiServer::host() const { return impl_->options.host; }

bool ApiServer::tls() const { return !impl_->options.tls_cert_file.empty(); }

void ApiServer::Reload(std::shared_ptr<const Config> config) {
  try {
    impl_->access.Reload(*config, !IsLoopbackHost(impl_->options.host));
  } catch (const Error& e) {
    spdlog::error("serve: reload refused, the configuration in force stays: {}", e.what());
    return;
  }
  impl_->state.Reload(std::move(config));
}

void ApiServer::Run() {
  api::Metrics& metrics = impl_->state.metrics();
  SetAwsCallObserver([&metrics](const AwsCallRecord& call) { metrics.CountAwsCall(call); });
  impl_->watcher.Start();
  impl_->reconciler.Start();
  impl_->http->listen_after_bind();
  impl_->reconciler.Stop();
  impl_->watcher.Stop();
  SetAwsCallObserver(nullptr);
}

void ApiServer::Stop() {
  // Streams end first: they would otherwise hold their worker threads, which the
  // server waits for.
  impl_->state.events().Close();
  impl_->http->stop();
}

}  // namespace orb
