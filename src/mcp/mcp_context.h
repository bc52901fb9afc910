#pragma once

// What the MCP tools, resources and prompts are given to run one call: the
// configuration, how the server was started, a broker leased for the call, the AWS
// call counters of this process, and a way to tell subscribers of changed resources.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/broker.h"
#include "config/config_loader.h"
#include "mcp/mcp_server.h"
#include "provider/aws/aws_call_observer.h"

namespace orb::mcp {

// AWS calls made by this process (fed by the process-wide AwsCallObserver, or by the
// host through McpServer::CountAwsCall), by service, action and outcome. Thread-safe.
class AwsCallCounters {
 public:
  void Count(const AwsCallRecord& record);

  // {"calls": [{"service","action","outcome","calls","attempts","throttled","seconds"}],
  //  "total_calls", "throttled"}.
  json Snapshot() const;

 private:
  struct Tally {
    long long calls = 0;
    long long attempts = 0;
    long long throttled = 0;
    double seconds = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, std::string>, Tally> tallies_;
};

struct McpContext {
  const Config& config;
  const McpOptions& options;
  // Runs the function with a broker of its own for the duration (brokers are not
  // thread-safe; the server pools them).
  std::function<void(const std::function<void(Broker&)>&)> with_broker;
  const AwsCallCounters& aws_calls;
  // Tells subscribed sessions that these resources changed.
  std::function<void(const std::vector<std::string>&)> resources_changed;
  // Who asks, for messages that record it (e.g. a cancel): "an MCP client (name)".
  std::string caller;
};

}  // namespace orb::mcp
