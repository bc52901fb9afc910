// A STAND-IN for src/mcp/mcp_server.cc, for the transport branch only: it answers
// initialize, ping, resources/subscribe|unsubscribe and logging/setLevel, lists no
// tools, resources or prompts, and refuses everything else as an unknown method. It
// exists so that the transports (mcp_stdio.cc, mcp_http.cc) build and their framing
// can be tested before the protocol core is merged. Built only with
// -DORB_MCP_STUB=ON; never in a release.

#include <algorithm>
#include <mutex>
#include <set>

#include "mcp/mcp_server.h"
#include "orb/version.h"

namespace orb::mcp {

struct McpServer::Impl {
  std::shared_ptr<const Config> config;
  McpOptions options;
  std::mutex mu;
  std::set<McpSession*> sessions;
  McpNotifier notify;
};

McpServer::McpServer(std::shared_ptr<const Config> config, McpOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->options = std::move(options);
}

McpServer::~McpServer() = default;

json McpServer::ParseError(const std::string& detail) {
  return {{"jsonrpc", "2.0"},
          {"id", nullptr},
          {"error", {{"code", -32700}, {"message", "parse error: " + detail}}}};
}

namespace {

json RpcError(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json Result(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

}  // namespace

std::optional<json> McpServer::Handle(McpSession& session, const json& message) {
  if (!message.is_object()) return RpcError(nullptr, -32600, "invalid request: not one JSON object");
  const bool has_id = message.contains("id");
  const json id = has_id ? message["id"] : json(nullptr);
  if (!message.contains("method") || !message["method"].is_string()) {
    if (message.contains("result") || message.contains("error")) return std::nullopt;
    return RpcError(id, -32600, "invalid request: no method");
  }
  const std::string method = message["method"];
  if (!has_id) return std::nullopt;  // a notification
  const json params = message.value("params", json::object());
  if (method == "initialize") {
    std::string asked = params.value("protocolVersion", "");
    std::string version = kProtocolVersions.front();
    for (const std::string& v : kProtocolVersions) {
      if (v == asked) version = v;
    }
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      session.initialized = true;
      session.protocol_version = version;
      session.client_info = params.value("clientInfo", json::object());
    }
    return Result(id, {{"protocolVersion", version},
                       {"capabilities",
                        {{"tools", json::object()},
                         {"resources", {{"subscribe", true}}},
                         {"prompts", json::object()},
                         {"logging", json::object()}}},
                       {"serverInfo", {{"name", "orb"}, {"version", ORB_VERSION}}}});
  }
  if (method == "ping") return Result(id, json::object());
  if (method == "tools/list") return Result(id, {{"tools", json::array()}});
  if (method == "resources/list") return Result(id, {{"resources", json::array()}});
  if (method == "prompts/list") return Result(id, {{"prompts", json::array()}});
  if (method == "logging/setLevel") {
    std::lock_guard<std::mutex> lock(impl_->mu);
    session.log_level = params.value("level", "info");
    return Result(id, json::object());
  }
  if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    if (!params.contains("uri") || !params["uri"].is_string()) {
      return RpcError(id, -32602, "invalid params: uri must be a string");
    }
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto& subs = session.subscriptions;
    const std::string uri = params["uri"];
    subs.erase(std::remove(subs.begin(), subs.end(), uri), subs.end());
    if (method == "resources/subscribe") subs.push_back(uri);
    return Result(id, json::object());
  }
  return RpcError(id, -32601, "method not found: " + method + " (stub core)");
}

void McpServer::SetNotifier(McpNotifier notify) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->notify = std::move(notify);
}

void McpServer::ResourcesChanged(const std::vector<std::string>& uris) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->notify) return;
  for (McpSession* s : impl_->sessions) {
    for (const std::string& uri : uris) {
      if (std::find(s->subscriptions.begin(), s->subscriptions.end(), uri) ==
          s->subscriptions.end()) {
        continue;
      }
      impl_->notify(*s, json{{"jsonrpc", "2.0"},
                             {"method", "notifications/resources/updated"},
                             {"params", {{"uri", uri}}}});
    }
  }
}

void McpServer::AddSession(McpSession* session) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->sessions.insert(session);
}

void McpServer::RemoveSession(McpSession* session) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->sessions.erase(session);
}

}  // namespace orb::mcp
