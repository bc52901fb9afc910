#include "api/reconcile_timer.h"

#include <spdlog/spdlog.h>

#include "broker/broker.h"

namespace orb::api {

ReconcileTimer::ReconcileTimer(Metrics& metrics,
                               std::function<std::shared_ptr<const Config>()> config,
                               std::chrono::milliseconds check_every)
    : metrics_(metrics), config_source_(std::move(config)), check_every_(check_every) {}

ReconcileTimer::~ReconcileTimer() { Stop(); }

void ReconcileTimer::Start() { thread_ = std::thread([this] { Run(); }); }

void ReconcileTimer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReconcileTimer::Run() {
  std::shared_ptr<const Config> config;
  std::unique_ptr<Broker> broker;
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, check_every_, [&] { return stopping_; })) {
    lock.unlock();
    try {
      std::shared_ptr<const Config> current = config_source_();
      if (!broker || current != config) {
        broker.reset();
        config = std::move(current);
        broker = std::make_unique<Broker>(*config);
      }
      const ReconcileOutcome outcome = broker->ReconcileIfDue();
      if (outcome.ran && outcome.failed) metrics_.CountReconcileFailure();
      if (outcome.ran && !outcome.failed) metrics_.CountReconcile(outcome.report);
    } catch (const std::exception& e) {
      metrics_.CountReconcileFailure();
      spdlog::warn("serve: reconcile timer: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace orb::api
