#pragma once

// The reconciler on a timer in `orb serve`: every few seconds a thread asks the
// broker for a pass when one is due (reconcile.interval_sec since the last pass by any
// process sharing the work dir, HostFactory's calls included), and counts what the
// passes did in the metrics. Sites with a server therefore reconcile even when
// HostFactory is idle.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "api/metrics.h"
#include "config/config_loader.h"

namespace orb::api {

class ReconcileTimer {
 public:
  // Checks every `check_every` with a broker of `config()` (followed on reload).
  ReconcileTimer(Metrics& metrics, std::function<std::shared_ptr<const Config>()> config,
                 std::chrono::milliseconds check_every);
  ~ReconcileTimer();

  void Start();
  // Stops the thread, after the pass it may be running. Idempotent.
  void Stop();

 private:
  void Run();

  Metrics& metrics_;
  std::function<std::shared_ptr<const Config>()> config_source_;
  const std::chrono::milliseconds check_every_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace orb::api
