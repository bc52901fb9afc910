// McpServer: JSON-RPC message checks, the session's life (initialize, logging level,
// subscriptions), dispatch to the tools, resources and prompts, a pool of brokers,
// and the notifications (resources updated, log messages).

#include "mcp/mcp_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "broker/broker.h"
#include "common/error.h"
#include "mcp/mcp_context.h"
#include "mcp/mcp_jsonrpc.h"
#include "mcp/mcp_prompts.h"
#include "mcp/mcp_resources.h"
#include "mcp/mcp_tools.h"
#include "orb/version.h"
#include "provider/aws/aws_call_observer.h"

namespace orb::mcp {

namespace {

// RFC 5424 severities as MCP names them, least severe first.
const std::vector<std::string> kLogLevels = {"debug",    "info",  "notice", "warning",
                                             "error",    "critical", "alert", "emergency"};

int LevelRank(const std::string& level) {
  auto it = std::find(kLogLevels.begin(), kLogLevels.end(), level);
  return it == kLogLevels.end() ? 1 : static_cast<int>(it - kLogLevels.begin());
}

// At most this many brokers exist at once (each with its own store connection).
constexpr size_t kMaxBrokers = 4;

constexpr const char* kInstructions =
    "orb (Open Resource Broker) provisions and gives back cloud machines (AWS EC2: "
    "RunInstances, EC2 Fleet, Spot Fleet, Auto Scaling groups) from the templates of its "
    "templates file. Start with list_templates; request machines with request_machines "
    "(try dry_run: true first), then poll get_request_status with the request id until "
    "it is complete; give machines back with return_machines. Requests, machines, "
    "templates and providers are also resources (templates://, requests://, machines://, "
    "providers://). Nothing here shows a secret.";

}  // namespace

struct McpServer::Impl {
  McpOptions options;
  std::shared_ptr<AwsCallCounters> aws_calls = std::make_shared<AwsCallCounters>();
  bool observing = false;

  // A broker and the configuration it was built with (which it refers to).
  struct PooledBroker {
    std::shared_ptr<const Config> config;
    std::unique_ptr<Broker> broker;
    unsigned generation = 0;
  };

  // The configuration in force (replaced by Reload), brokers not in use, and how many
  // exist.
  std::mutex pool_mutex;
  std::condition_variable pool_cv;
  std::shared_ptr<const Config> config;
  unsigned generation = 1;
  std::vector<PooledBroker> idle;
  size_t brokers = 0;

  // Registered sessions and the notifier. Also guards every session's subscriptions
  // and log_level.
  std::mutex sessions_mutex;
  std::vector<McpSession*> sessions;
  McpNotifier notify;

  std::shared_ptr<const Config> CurrentConfig() {
    std::lock_guard<std::mutex> lock(pool_mutex);
    return config;
  }

  void Reload(std::shared_ptr<const Config> fresh) {
    std::vector<PooledBroker> stale;
    {
      std::lock_guard<std::mutex> lock(pool_mutex);
      config = std::move(fresh);
      ++generation;
      stale.swap(idle);
      brokers -= stale.size();
    }
    pool_cv.notify_all();
    // Brokers in use finish their call with the configuration they were built with
    // and are dropped when given back.
  }

  void WithBroker(const std::function<void(Broker&)>& fn) {
    PooledBroker b;
    {
      std::unique_lock<std::mutex> lock(pool_mutex);
      pool_cv.wait(lock, [&] { return !idle.empty() || brokers < kMaxBrokers; });
      if (!idle.empty()) {
        b = std::move(idle.back());
        idle.pop_back();
      } else {
        ++brokers;
        b.config = config;
        b.generation = generation;
      }
    }
    if (!b.broker) {
      try {
        b.broker = std::make_unique<Broker>(*b.config);
      } catch (...) {
        std::lock_guard<std::mutex> lock(pool_mutex);
        --brokers;
        pool_cv.notify_one();
        throw;
      }
    }
    struct GiveBack {
      Impl& impl;
      PooledBroker& b;
      ~GiveBack() {
        PooledBroker dropped;
        {
          std::lock_guard<std::mutex> lock(impl.pool_mutex);
          if (b.generation == impl.generation) {
            impl.idle.push_back(std::move(b));
          } else {
            --impl.brokers;  // built before a reload
            dropped = std::move(b);
          }
        }
        impl.pool_cv.notify_one();
      }
    } give_back{*this, b};
    fn(*b.broker);
  }

  McpContext Context(const McpSession& session, const Config& in_force) {
    std::string client = "an MCP client";
    if (session.client_info.is_object() && session.client_info.contains("name") &&
        session.client_info["name"].is_string()) {
      client += " (" + session.client_info["name"].get<std::string>() + ")";
    }
    return McpContext{in_force,
                      options,
                      [this](const std::function<void(Broker&)>& fn) { WithBroker(fn); },
                      *aws_calls,
                      [this](const std::vector<std::string>& uris) { Changed(uris); },
                      client};
  }

  void Changed(const std::vector<std::string>& uris) {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    if (!notify) return;
    for (McpSession* s : sessions) {
      for (const std::string& uri : uris) {
        const std::string collection = CollectionOf(uri);
        const bool subscribed =
            std::any_of(s->subscriptions.begin(), s->subscriptions.end(),
                        [&](const std::string& sub) { return sub == uri || sub == collection; });
        if (!subscribed) continue;
        try {
          notify(*s, Notification("notifications/resources/updated", json{{"uri", uri}}));
        } catch (const std::exception& e) {
          spdlog::warn("MCP: a resource notification could not be sent: {}", e.what());
        }
      }
    }
  }

  // Sends notifications/message to `session` when its level lets `level` through.
  void Log(const McpSession& session, const std::string& level, const json& data) {
    McpNotifier n;
    {
      std::lock_guard<std::mutex> lock(sessions_mutex);
      if (LevelRank(level) < LevelRank(session.log_level)) return;
      n = notify;
    }
    if (!n) return;
    try {
      n(session, Notification("notifications/message",
                              json{{"level", level}, {"logger", "orb"}, {"data", data}}));
    } catch (const std::exception& e) {
      spdlog::warn("MCP: a log notification could not be sent: {}", e.what());
    }
  }

  json Initialize(McpSession& session, const json& p) {
    const std::string asked = StringParam(p, "protocolVersion");
    if (p.contains("capabilities") && !p["capabilities"].is_object()) {
      throw RpcError(kInvalidParams, "param 'capabilities' must be an object");
    }
    if (p.contains("clientInfo") && !p["clientInfo"].is_object()) {
      throw RpcError(kInvalidParams, "param 'clientInfo' must be an object");
    }
    const bool known =
        std::find(kProtocolVersions.begin(), kProtocolVersions.end(), asked) != kProtocolVersions.end();
    {
      std::lock_guard<std::mutex> lock(sessions_mutex);
      session.protocol_version = known ? asked : kProtocolVersions.front();
      session.client_info = p.value("clientInfo", json::object());
      session.log_level = options.log_level;
      session.initialized = true;
    }
    json caps = json::object();
    caps["tools"] = json{{"listChanged", false}};
    caps["resources"] = json{{"subscribe", true}, {"listChanged", false}};
    caps["prompts"] = json{{"listChanged", false}};
    caps["logging"] = json::object();
    json r = json::object();
    r["protocolVersion"] = session.protocol_version;
    r["capabilities"] = caps;
    r["serverInfo"] = json{{"name", "orb"}, {"title", "Open Resource Broker"}, {"version", ORB_VERSION}};
    r["instructions"] = kInstructions;
    return r;
  }

  json Call(McpSession& session, const std::string& method, const json& p) {
    if (method == "initialize") return Initialize(session, p);
    if (method == "ping") return json::object();
    if (!session.initialized) {
      throw RpcError(kInvalidRequest, "not initialized: send initialize first (" + method + ")");
    }
    // The configuration in force when the call began serves the whole call.
    const std::shared_ptr<const Config> in_force = CurrentConfig();
    McpContext ctx = Context(session, *in_force);
    if (method == "logging/setLevel") {
      const std::string level = StringParam(p, "level");
      if (std::find(kLogLevels.begin(), kLogLevels.end(), level) == kLogLevels.end()) {
        throw RpcError(kInvalidParams, "param 'level' must be one of debug, info, notice, "
                                       "warning, error, critical, alert, emergency");
      }
      std::lock_guard<std::mutex> lock(sessions_mutex);
      session.log_level = level;
      return json::object();
    }
    if (method == "tools/list") return ListTools();
    if (method == "tools/call") {
      const std::string name = StringParam(p, "name");
      const json args = p.value("arguments", json());
      if (!args.is_null() && !args.is_object()) {
        throw RpcError(kInvalidParams, "param 'arguments' must be an object");
      }
      json result = CallTool(ctx, name, args);
      if (result.value("isError", false)) {
        Log(session, "warning",
            json{{"tool", name}, {"error", result["content"][0]["text"]}});
      }
      return result;
    }
    if (method == "resources/list") return ListResources(ctx);
    if (method == "resources/templates/list") return ListResourceTemplates();
    if (method == "resources/read") return ReadResource(ctx, StringParam(p, "uri"));
    if (method == "resources/subscribe" || method == "resources/unsubscribe") {
      const std::string uri = StringParam(p, "uri");
      CheckResourceUri(uri);
      std::lock_guard<std::mutex> lock(sessions_mutex);
      auto& subs = session.subscriptions;
      auto it = std::find(subs.begin(), subs.end(), uri);
      if (method == "resources/subscribe" && it == subs.end()) subs.push_back(uri);
      if (method == "resources/unsubscribe" && it != subs.end()) subs.erase(it);
      return json::object();
    }
    if (method == "prompts/list") return ListPrompts();
    if (method == "prompts/get") {
      return GetPrompt(ctx, StringParam(p, "name"), p.value("arguments", json()));
    }
    throw RpcError(kMethodNotFound, "method not found: " + method);
  }

  std::optional<json> Handle(McpSession& session, const json& m) {
    if (m.is_array()) return ErrorResponse(nullptr, kInvalidRequest, "invalid request: batches (arrays) are not accepted");
    if (!m.is_object()) return ErrorResponse(nullptr, kInvalidRequest, "invalid request: a JSON-RPC message must be an object");
    const bool has_id = m.contains("id");
    const json id = has_id ? m["id"] : json();
    const bool id_ok = !has_id || id.is_string() || id.is_number_integer() || id.is_number_unsigned();
    if (!id_ok) {
      return ErrorResponse(nullptr, kInvalidRequest, "invalid request: 'id' must be a string or an integer");
    }
    if (!m.contains("jsonrpc") || m["jsonrpc"] != "2.0") {
      return ErrorResponse(id, kInvalidRequest, "invalid request: 'jsonrpc' must be \"2.0\"");
    }
    if (!m.contains("method")) {
      // A response from the client (to a request orb never sends today): ignored.
      if (has_id && (m.contains("result") || m.contains("error"))) return std::nullopt;
      return ErrorResponse(id, kInvalidRequest, "invalid request: 'method' is missing");
    }
    if (!m["method"].is_string()) {
      return ErrorResponse(id, kInvalidRequest, "invalid request: 'method' must be a string");
    }
    const std::string method = m["method"].get<std::string>();
    if (!has_id) return std::nullopt;  // a notification (notifications/initialized, ...)
    const json params = m.value("params", json::object());
    if (!params.is_object()) {
      return ErrorResponse(id, kInvalidParams, "invalid params: 'params' must be an object");
    }
    try {
      return ResultResponse(id, Call(session, method, params));
    } catch (const RpcError& e) {
      return ErrorResponse(id, e.code(), e.what());
    } catch (const Error& e) {
      return ErrorResponse(id, kInternalError, method + " failed: " + e.what());
    } catch (const std::exception& e) {
      spdlog::error("MCP {} failed: {}", method, e.what());
      return ErrorResponse(id, kInternalError, method + " failed: internal error");
    }
  }
};

McpServer::McpServer(std::shared_ptr<const Config> config, McpOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->options = std::move(options);
  if (impl_->options.observe_aws_calls) {
    std::shared_ptr<AwsCallCounters> counters = impl_->aws_calls;
    SetAwsCallObserver([counters](const AwsCallRecord& r) { counters->Count(r); });
    impl_->observing = true;
  }
}

void McpServer::Reload(std::shared_ptr<const Config> config) { impl_->Reload(std::move(config)); }

McpServer::~McpServer() {
  if (impl_->observing) SetAwsCallObserver({});
}

std::optional<json> McpServer::Handle(McpSession& session, const json& message) {
  try {
    return impl_->Handle(session, message);
  } catch (const std::exception& e) {
    spdlog::error("MCP: message not handled: {}", e.what());
    const json id = message.is_object() && message.contains("id") &&
                            (message["id"].is_string() || message["id"].is_number_integer())
                        ? message["id"]
                        : json();
    return ErrorResponse(id, kInternalError, "internal error");
  }
}

json McpServer::ParseError(const std::string& detail) {
  return ErrorResponse(nullptr, kParseError, "parse error: " + detail);
}

void McpServer::SetNotifier(McpNotifier notify) {
  std::lock_guard<std::mutex> lock(impl_->sessions_mutex);
  impl_->notify = std::move(notify);
}

void McpServer::ResourcesChanged(const std::vector<std::string>& uris) { impl_->Changed(uris); }

void McpServer::AddSession(McpSession* session) {
  std::lock_guard<std::mutex> lock(impl_->sessions_mutex);
  if (std::find(impl_->sessions.begin(), impl_->sessions.end(), session) == impl_->sessions.end()) {
    impl_->sessions.push_back(session);
  }
}

void McpServer::RemoveSession(McpSession* session) {
  std::lock_guard<std::mutex> lock(impl_->sessions_mutex);
  impl_->sessions.erase(std::remove(impl_->sessions.begin(), impl_->sessions.end(), session),
                        impl_->sessions.end());
}


void McpServer::CountAwsCall(const AwsCallRecord& record) { impl_->aws_calls->Count(record); }

}  // namespace orb::mcp
