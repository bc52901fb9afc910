#pragma once

// What tells the MCP door's subscribers that something changed: the domain events of
// the REST door (api::EventHub, fed by an api::ChangeWatcher reading the store and
// the templates file) turned into McpServer::ResourcesChanged calls with the URIs
// they touch. `orb serve` feeds its own hub; `orb mcp serve` (stdio or HTTP) runs a
// ChangeWatcher of its own (StoreWatch), so changes made by any process sharing the
// store (HostFactory's scripts too) reach subscribed sessions.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/change_watcher.h"
#include "api/event_hub.h"
#include "mcp/mcp_server.h"

namespace orb::mcp {

// The resource URIs a domain event changes: for a request event "requests://<id>" and
// the list "requests://"; for a machine "machines://<id>", "machines://" and its
// request's (and return request's) item; for a template "templates://<id>" and
// "templates://".
std::vector<std::string> ChangedUris(const api::DomainEvent& event);

// A thread that reads `hub` and calls ResourcesChanged on every server of `servers`
// (not owned; they must outlive Stop). Ends when the hub is closed or Stop is called.
class ChangeFeed {
 public:
  ChangeFeed(api::EventHub& hub, std::vector<McpServer*> servers);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  void Start();
  void Stop();  // idempotent

 private:
  void Run();

  api::EventHub& hub_;
  std::vector<McpServer*> servers_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// A hub of its own fed by a ChangeWatcher reading the store every `interval`, and
// the ChangeFeed to `servers`: what `orb mcp serve` runs while serving.
class StoreWatch {
 public:
  StoreWatch(std::shared_ptr<const Config> config, std::chrono::milliseconds interval,
             std::vector<McpServer*> servers);
  ~StoreWatch();
  StoreWatch(const StoreWatch&) = delete;
  StoreWatch& operator=(const StoreWatch&) = delete;

  api::EventHub& hub() { return hub_; }

  void Start();
  void Stop();  // idempotent

 private:
  std::shared_ptr<const Config> config_;
  api::EventHub hub_;
  api::ChangeWatcher watcher_;
  ChangeFeed feed_;
};

}  // namespace orb::mcp
