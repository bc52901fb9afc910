#include "api/api_server.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"
#include "config/template_loader.h"
#include "hostfactory/hf_operations.h"
#include "model/records.h"
#include "orb/version.h"

namespace orb {

namespace {

using json = nlohmann::ordered_json;

// The HTTP status of an orb::Error.
int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kCloud: return 502;
    case ErrorCode::kStore: return 503;
    case ErrorCode::kInvalidConfig: return 500;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void ReplyError(httplib::Response& res, int status, std::string_view code,
                const std::string& message) {
  Reply(res, status, json{{"error", code}, {"message", message}});
}

// True when `host` names only this machine (IPv4 127/8, ::1, "localhost").
bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

// The request body as a JSON object. Throws Error(kInvalidInput) for anything else,
// and for a member not in `allowed` (naming it).
json BodyObject(const httplib::Request& req, const std::set<std::string>& allowed) {
  const std::string type = req.get_header_value("Content-Type");
  if (!type.empty() && type.rfind("application/json", 0) != 0) {
    throw Error(ErrorCode::kInvalidInput,
                "the request body must be JSON (Content-Type: application/json), not " + type);
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw Error(ErrorCode::kInvalidInput, "the request body is not valid JSON");
  if (!body.is_object()) throw Error(ErrorCode::kInvalidInput, "the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (!allowed.count(key)) {
      throw Error(ErrorCode::kInvalidInput, "unknown field '" + key + "' in the request body");
    }
  }
  return body;
}

// Member `key` of `body` as a string (required).
std::string StringField(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) throw Error(ErrorCode::kInvalidInput, std::string("missing field '") + key + "'");
  if (!it->is_string() || it->get<std::string>().empty()) {
    throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' must be a non-empty string");
  }
  return it->get<std::string>();
}

// Member `key` of `body` as a list of non-empty strings (required, not empty, at
// most `max` entries).
std::vector<std::string> StringListField(const json& body, const char* key, std::size_t max) {
  auto it = body.find(key);
  if (it == body.end()) throw Error(ErrorCode::kInvalidInput, std::string("missing field '") + key + "'");
  if (!it->is_array() || it->empty()) {
    throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' must be a non-empty array of strings");
  }
  if (it->size() > max) {
    throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' has " +
                                              std::to_string(it->size()) + " entries; at most " +
                                              std::to_string(max) + " are accepted per call");
  }
  std::vector<std::string> out;
  for (const json& v : *it) {
    if (!v.is_string() || v.get<std::string>().empty()) {
      throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' must hold non-empty strings only");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

// Query parameter `name` as a positive count (0 when absent).
int LimitParam(const httplib::Request& req) {
  if (!req.has_param("limit")) return 0;
  const std::string v = req.get_param_value("limit");
  int n = 0;
  bool ok = !v.empty() && v.size() <= 9;
  for (char c : v) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok) throw Error(ErrorCode::kInvalidInput, "query parameter 'limit' must be a whole number, not '" + v + "'");
  return n;
}

// Most ids one status or return call takes (HostFactory asks for far fewer).
constexpr std::size_t kMaxIdsPerCall = 10000;

}  // namespace

ApiServerOptions ApiServerOptionsFrom(const Config& config) {
  ApiServerOptions o;
  o.host = config.Get("server.host");
  o.port = static_cast<int>(config.GetInt("server.port"));
  o.threads = static_cast<int>(config.GetInt("server.threads"));
  o.max_body_bytes = config.GetInt("server.max_body_bytes");
  o.read_timeout_sec = static_cast<int>(config.GetInt("server.read_timeout_sec"));
  return o;
}

struct ApiServer::Impl {
  Impl(const Config& c, ApiServerOptions o) : config(c), options(std::move(o)) {}

  const Config& config;
  ApiServerOptions options;
  httplib::Server server;
  int port = 0;

  // One broker per worker thread: its own store connection, as a process would have.
  std::mutex brokers_mu;
  std::map<std::thread::id, std::unique_ptr<Broker>> brokers;

  Broker& ThreadBroker() {
    std::lock_guard<std::mutex> lock(brokers_mu);
    std::unique_ptr<Broker>& b = brokers[std::this_thread::get_id()];
    if (!b) b = std::make_unique<Broker>(config);
    return *b;
  }

  // Runs `fn`, answering an orb::Error (or anything else thrown) as a JSON error.
  void Guard(httplib::Response& res, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      ReplyError(res, HttpStatus(e.code()), ErrorCodeName(e.code()), e.what());
    } catch (const std::exception& e) {
      spdlog::error("serve: unexpected failure: {}", e.what());
      ReplyError(res, 500, "internal_error", std::string("unexpected failure: ") + e.what());
    }
  }

  // Answers `body` and acknowledges request `id` once the whole answer was sent
  // (Broker::AcknowledgeRequest): a client that never got it leaves the request to
  // the reconciler, as a HostFactory script killed before answering would.
  void ReplyCreated(httplib::Response& res, int status, const json& body, const std::string& id) {
    if (id.empty()) return Reply(res, status, body);
    res.status = status;
    auto text = std::make_shared<std::string>(body.dump() + "\n");
    res.set_content_provider(
        text->size(), "application/json",
        [text](size_t offset, size_t length, httplib::DataSink& sink) {
          return sink.write(text->data() + offset, length);
        },
        [this, id](bool success) {
          if (success) ThreadBroker().AcknowledgeRequest(id);
        });
  }

  void Routes();
};

void ApiServer::Impl::Routes() {
  // --- probes -------------------------------------------------------------------
  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, json{{"status", "ok"}, {"version", ORB_VERSION}});
  });
  server.Get("/livez", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, json{{"status", "ok"}});
  });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    try {
      ThreadBroker().store().CheckHealth();
      Reply(res, 200, json{{"status", "ok"}});
    } catch (const std::exception& e) {
      ReplyError(res, 503, "not_ready", e.what());
    }
  });

  // --- templates ----------------------------------------------------------------
  server.Get("/api/v1/templates", [this](const httplib::Request&, httplib::Response& res) {
    Guard(res, [&] {
      json list = json::array();
      for (const Template& t : ThreadBroker().ListTemplates()) list.push_back(TemplateRecord(t));
      Reply(res, 200, json{{"templates", list}});
    });
  });
  server.Get(R"(/api/v1/templates/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               Guard(res, [&] {
                 Reply(res, 200, TemplateRecord(ThreadBroker().GetTemplate(req.matches[1].str())));
               });
             });

  // --- requests -----------------------------------------------------------------
  server.Get("/api/v1/requests", [this](const httplib::Request& req, httplib::Response& res) {
    Guard(res, [&] {
      RequestQuery q;
      q.limit = LimitParam(req);
      q.open_only = req.get_param_value("open") == "true";
      q.template_id = req.get_param_value("template_id");
      if (req.has_param("status")) {
        q.status = ParseRequestStatus(req.get_param_value("status"));
        if (!q.status) {
          throw Error(ErrorCode::kInvalidInput, "query parameter 'status' must be running, "
                                                "complete or complete_with_error");
        }
      }
      if (req.has_param("kind")) {
        q.kind = ParseRequestKind(req.get_param_value("kind"));
        if (!q.kind) {
          throw Error(ErrorCode::kInvalidInput, "query parameter 'kind' must be acquire or return");
        }
      }
      json list = json::array();
      for (const Request& r : ThreadBroker().ListRequests(q)) list.push_back(RequestRecord(r));
      Reply(res, 200, json{{"requests", list}});
    });
  });
  server.Get(R"(/api/v1/requests/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               Guard(res, [&] {
                 Broker& b = ThreadBroker();
                 Request r = b.GetRequest(req.matches[1].str());
                 std::vector<Machine> machines = b.MachinesOfRequest(r);
                 Reply(res, 200, RequestRecord(r, &machines));
               });
             });
  server.Post("/api/v1/requests/status", [this](const httplib::Request& req,
                                                httplib::Response& res) {
    Guard(res, [&] {
      const json body = BodyObject(req, {"request_ids"});
      const std::vector<std::string> ids = StringListField(body, "request_ids", kMaxIdsPerCall);
      json list = json::array();
      for (RequestReport& r : ThreadBroker().RequestStatuses(ids)) {
        json record = RequestRecord(r.request, &r.machines);
        if (!r.message.empty()) record["poll_message"] = r.message;
        list.push_back(std::move(record));
      }
      Reply(res, 200, json{{"requests", list}});
    });
  });

  // --- machines -----------------------------------------------------------------
  server.Get("/api/v1/machines", [this](const httplib::Request& req, httplib::Response& res) {
    Guard(res, [&] {
      MachineQuery q;
      q.limit = LimitParam(req);
      q.active_only = req.get_param_value("active") == "true";
      q.request_id = req.get_param_value("request_id");
      q.template_id = req.get_param_value("template_id");
      json list = json::array();
      for (const Machine& m : ThreadBroker().ListMachines(q)) list.push_back(MachineRecord(m));
      Reply(res, 200, json{{"machines", list}});
    });
  });
  server.Get(R"(/api/v1/machines/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               Guard(res, [&] {
                 Reply(res, 200, MachineRecord(ThreadBroker().GetMachine(req.matches[1].str())));
               });
             });
  server.Post("/api/v1/machines/request", [this](const httplib::Request& req,
                                                httplib::Response& res) {
    Guard(res, [&] {
      const json body = BodyObject(req, {"template_id", "count"});
      const std::string template_id = StringField(body, "template_id");
      auto count = body.find("count");
      if (count == body.end()) throw Error(ErrorCode::kInvalidInput, "missing field 'count'");
      if (!count->is_number_integer() || count->get<long long>() < 1 ||
          count->get<long long>() > 1000000) {
        throw Error(ErrorCode::kInvalidInput,
                    "field 'count' must be a whole number from 1 to 1000000");
      }
      std::string message;
      const std::string id = ThreadBroker().RequestMachines(
          template_id, static_cast<int>(count->get<long long>()), &message);
      ReplyCreated(res, 202, json{{"request_id", id}, {"message", message}}, id);
    });
  });
  server.Post("/api/v1/machines/return", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    Guard(res, [&] {
      const json body = BodyObject(req, {"machine_ids"});
      std::vector<MachineRef> refs;
      for (const std::string& id : StringListField(body, "machine_ids", kMaxIdsPerCall)) {
        refs.push_back({"", id});
      }
      std::string message;
      const std::string id = ThreadBroker().ReturnMachines(refs, &message);
      ReplyCreated(res, 202, json{{"request_id", id}, {"message", message}}, id);
    });
  });

  // --- HostFactory's five operations, same bodies as the scripts ----------------
  const std::pair<const char*, HfOperation> hf_ops[] = {
      {"getAvailableTemplates", HfOperation::kGetAvailableTemplates},
      {"requestMachines", HfOperation::kRequestMachines},
      {"getRequestStatus", HfOperation::kGetRequestStatus},
      {"requestReturnMachines", HfOperation::kRequestReturnMachines},
      {"getReturnRequests", HfOperation::kGetReturnRequests}};
  for (const auto& [name, op] : hf_ops) {
    const HfOperation operation = op;
    server.Post(std::string("/api/v1/hostfactory/") + name,
                [this, operation](const httplib::Request& req, httplib::Response& res) {
                  HfOutcome outcome = RunHfOperationOnText(
                      operation, req.body.empty() ? "{}" : req.body, "request body",
                      [this]() -> Broker& { return ThreadBroker(); });
                  const int status = outcome.exit_code == 0 ? 200 : HttpStatus(outcome.error_code);
                  ReplyCreated(res, status, outcome.document, outcome.created_request_id);
                });
  }

  // Anything else: JSON errors, never httplib's empty or HTML answers.
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      ReplyError(res, 404, "not_found", "no route " + req.method + " " + req.path);
    } else if (res.status == 413) {
      ReplyError(res, 413, "payload_too_large", "the request body is larger than server.max_body_bytes");
    } else {
      ReplyError(res, res.status, "http_error", "HTTP " + std::to_string(res.status));
    }
  });
  server.set_exception_handler(
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
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::info("serve: {} {} -> {}", req.method, req.path, res.status);
  });
}

ApiServer::ApiServer(const Config& config, ApiServerOptions options)
    : impl_(std::make_unique<Impl>(config, std::move(options))) {
  impl_->server.new_task_queue = [threads = impl_->options.threads] {
    return new httplib::ThreadPool(static_cast<size_t>(std::max(1, threads)));
  };
  impl_->server.set_payload_max_length(static_cast<size_t>(impl_->options.max_body_bytes));
  impl_->server.set_read_timeout(impl_->options.read_timeout_sec, 0);
  impl_->server.set_write_timeout(impl_->options.read_timeout_sec, 0);
  impl_->server.set_keep_alive_max_count(1000);
  impl_->server.set_keep_alive_timeout(std::min(5, impl_->options.read_timeout_sec));
  // SO_REUSEADDR (a restart may bind at once) but not httplib's SO_REUSEPORT, with
  // which a second `orb serve` would share the port instead of being told it is taken.
  impl_->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl_->Routes();
}

ApiServer::~ApiServer() = default;

void ApiServer::Bind() {
  const ApiServerOptions& o = impl_->options;
  const std::string where = o.host + ":" + std::to_string(o.port);
  if (!IsLoopback(o.host)) {
    throw Error(ErrorCode::kInvalidConfig,
                "server.host " + o.host + " is not a loopback address: orb serve has no "
                "authentication yet, so it listens only on this host (127.0.0.1, ::1 or "
                "localhost); put a reverse proxy with authentication in front of it to "
                "serve others");
  }
  if (o.port == 0) {
    impl_->port = impl_->server.bind_to_any_port(o.host);
    if (impl_->port <= 0) throw Error(ErrorCode::kInvalidConfig, "cannot listen on " + o.host);
  } else {
    if (!impl_->server.bind_to_port(o.host, o.port)) {
      throw Error(ErrorCode::kInvalidConfig,
                  "cannot listen on " + where +
                      " (in use by another process, or not an address of this host); set "
                      "server.port or server.host");
    }
    impl_->port = o.port;
  }
  spdlog::info("serve: listening on http://{}:{}", o.host, impl_->port);
}

int ApiServer::port() const { return impl_->port; }

void ApiServer::Run() { impl_->server.listen_after_bind(); }

void ApiServer::Stop() { impl_->server.stop(); }

}  // namespace orb
