#pragma once

// Turns what changes in the store and the templates file into domain events: every
// server.events_poll_ms a thread of `orb serve` reads the requests and machines
// updated since its last look (an index on updated_at keeps that cheap whatever the
// store's size) and the templates in use, compares them with what it saw, and
// publishes request.created / request.status_changed / request.completed,
// machine.state_changed and template.created / template.updated / template.deleted.
// Changes made by any process sharing the store (HostFactory's scripts too) are seen.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/event_hub.h"
#include "broker/broker.h"

namespace orb::api {

class ChangeWatcher {
 public:
  // Publishes to `hub`, reading with a broker of `config()` (called at each look, so
  // a reload is followed).
  ChangeWatcher(EventHub& hub, std::function<std::shared_ptr<const Config>()> config,
                std::chrono::milliseconds interval);
  ~ChangeWatcher();

  // Starts the thread (what the store holds now is the baseline, not news).
  void Start();

  // Stops the thread and waits for it. Idempotent.
  void Stop();

  // One look now (also what the thread does each interval).
  void Look();

 private:
  struct Seen {
    std::string status;        // a request's status, a machine's state
    EpochSeconds updated_at = 0;
  };

  void Run();
  Broker& CurrentBroker();

  EventHub& hub_;
  std::function<std::shared_ptr<const Config>()> config_source_;
  const std::chrono::milliseconds interval_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Broker> broker_;
  bool primed_ = false;
  EpochSeconds since_ = 0;
  std::map<std::string, Seen> requests_, machines_;
  std::map<std::string, std::string> templates_;  // id -> its record as text
  std::string templates_stamp_;                   // file, mtime and size last read
  bool primed_templates_ = false;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace orb::api
