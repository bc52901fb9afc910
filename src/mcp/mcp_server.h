#pragma once

// The MCP door: the broker for AI assistants over the Model Context Protocol
// (JSON-RPC 2.0). McpServer knows the protocol (initialize and version negotiation,
// tools, resources with subscriptions, prompts, logging level, ping) and nothing of
// how messages travel; the transports (stdio: mcp_stdio.h, streamable HTTP:
// mcp_http.h) feed it one decoded message at a time and deliver what it answers and
// notifies. Like every door it holds no business rule: tools, resources and prompts
// call the broker and format its records.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_loader.h"

namespace orb {
struct AwsCallRecord;  // provider/aws/aws_call_observer.h
}  // namespace orb

namespace orb::mcp {

using json = nlohmann::ordered_json;

// Protocol revisions orb speaks, newest first. A client asking for one of these gets
// it; any other gets the newest (the client then decides whether to go on).
inline const std::vector<std::string> kProtocolVersions = {"2025-11-25", "2025-06-18",
                                                           "2025-03-26"};

// How the server was started.
struct McpOptions {
  bool read_only = false;        // --read-only: mutating tools refuse to run
  std::string log_level = "info";  // least level sent as notifications/message
  // Whether the server installs the process-wide AwsCallObserver
  // (SetAwsCallObserver) to count this process's AWS calls for get_provider_metrics.
  // A host that keeps its own observer (orb serve's /metrics) sets false and feeds
  // McpServer::CountAwsCall from it instead.
  bool observe_aws_calls = true;
};

// What one client connection (a stdio process, or one Mcp-Session-Id over HTTP) has
// negotiated and subscribed to. Created by the transport, kept for the connection's life.
struct McpSession {
  std::string id;                 // HTTP: the Mcp-Session-Id; stdio: ""
  bool initialized = false;       // initialize answered
  std::string protocol_version;   // negotiated
  json client_info;               // the client's clientInfo
  std::vector<std::string> subscriptions;  // resource URIs subscribed to
  std::string log_level = "info";          // set by logging/setLevel
};

// Sends a server-to-client message (a notification) on a session's transport.
using McpNotifier = std::function<void(const McpSession& session, const json& message)>;

class McpServer {
 public:
  // Serves with `config` (no errors) and `options`.
  McpServer(std::shared_ptr<const Config> config, McpOptions options);
  ~McpServer();
  McpServer(const McpServer&) = delete;
  McpServer& operator=(const McpServer&) = delete;

  // Handles one decoded JSON-RPC message of `session` (a request, a notification or a
  // response; a batch array is refused as invalid per the current revisions). Returns
  // the response to send, or nullopt for a notification or a response. Never throws:
  // malformed messages get JSON-RPC errors (-32600 invalid request, -32601 method not
  // found, -32602 invalid params with a message naming the field, -32603 internal),
  // and tool failures are tool results with isError. Thread-safe across sessions.
  std::optional<json> Handle(McpSession& session, const json& message);

  // The response to a message that was not JSON at all (-32700, id null).
  static json ParseError(const std::string& detail);

  // Tells subscribed sessions about changed resources: call with the URIs that
  // changed (e.g. "requests://req-..."); each session subscribed to one of them gets
  // notifications/resources/updated through `notify`. The notifier is called with
  // the session lock held (so a registered session cannot be removed meanwhile), from
  // ResourcesChanged's caller or from inside Handle (a tool failure's
  // notifications/message, a mutating tool's resources/updated): it must only queue
  // or write the message, never call back into McpServer.
  void SetNotifier(McpNotifier notify);
  void ResourcesChanged(const std::vector<std::string>& uris);

  // Sessions the server knows of (for ResourcesChanged); transports register theirs.
  void AddSession(McpSession* session);
  void RemoveSession(McpSession* session);

  // Puts `config` (no errors) in force for calls that start after it (a SIGHUP
  // reload): brokers are built with it from then on; calls in flight finish with the
  // configuration they began with. Sessions and subscriptions are kept. Thread-safe.
  void Reload(std::shared_ptr<const Config> config);

  // Counts one AWS call for get_provider_metrics (when options.observe_aws_calls is
  // false, the host's own observer forwards its records here). Thread-safe.
  void CountAwsCall(const AwsCallRecord& record);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orb::mcp
