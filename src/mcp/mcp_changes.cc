#include "mcp/mcp_changes.h"

#include <pthread.h>
#include <signal.h>

#include <set>

#include <spdlog/spdlog.h>

namespace orb::mcp {

std::vector<std::string> ChangedUris(const api::DomainEvent& event) {
  std::vector<std::string> uris;
  auto field = [&](const char* key) -> std::string {
    auto it = event.data.find(key);
    return it != event.data.end() && it->is_string() ? it->get<std::string>() : "";
  };
  auto add = [&](const std::string& scheme, const std::string& id) {
    if (!id.empty()) uris.push_back(scheme + id);
  };
  if (event.type.rfind("request.", 0) == 0) {
    add("requests://", field("request_id"));
    uris.push_back("requests://");
  } else if (event.type.rfind("machine.", 0) == 0) {
    add("machines://", field("machine_id"));
    add("machines://", field("name"));
    uris.push_back("machines://");
    add("requests://", field("request_id"));
    add("requests://", field("return_request_id"));
  } else if (event.type.rfind("template.", 0) == 0) {
    add("templates://", field("template_id"));
    uris.push_back("templates://");
  }
  return uris;
}

ChangeFeed::ChangeFeed(api::EventHub& hub, std::vector<McpServer*> servers)
    : hub_(hub), servers_(std::move(servers)) {}

ChangeFeed::~ChangeFeed() { Stop(); }

void ChangeFeed::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void ChangeFeed::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void ChangeFeed::Run() {
  // The process's signals are taken by its signal thread, never by this one.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  api::EventCursor cursor = hub_.CursorAfter("");
  while (!stopping_ && !hub_.closed()) {
    // A short wait: Stop() is noticed within it.
    const std::vector<api::DomainEvent> events = hub_.Next(cursor, std::chrono::milliseconds(250));
    if (events.empty()) continue;
    std::vector<std::string> uris;
    std::set<std::string> seen;
    for (const api::DomainEvent& e : events) {
      cursor.sequence = e.sequence;
      for (std::string& uri : ChangedUris(e)) {
        if (seen.insert(uri).second) uris.push_back(std::move(uri));
      }
    }
    if (uris.empty()) continue;
    for (McpServer* server : servers_) {
      try {
        server->ResourcesChanged(uris);
      } catch (const std::exception& e) {
        spdlog::warn("mcp: telling subscribers of a change failed: {}", e.what());
      }
    }
  }
}

StoreWatch::StoreWatch(std::shared_ptr<const Config> config, std::chrono::milliseconds interval,
                       std::vector<McpServer*> servers)
    : config_(std::move(config)),
      hub_(1000),
      watcher_(hub_, [this] { return config_; }, interval),
      feed_(hub_, std::move(servers)) {}

StoreWatch::~StoreWatch() { Stop(); }

void StoreWatch::Start() {
  watcher_.Start();
  feed_.Start();
}

void StoreWatch::Stop() {
  watcher_.Stop();
  hub_.Close();
  feed_.Stop();
}

}  // namespace orb::mcp
