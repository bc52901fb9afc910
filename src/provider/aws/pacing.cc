#include "provider/aws/pacing.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace orb {

using Clock = std::chrono::steady_clock;

TokenBucket::TokenBucket(double capacity, double refill_per_second)
    : capacity_(std::max(capacity, 0.0)),
      refill_per_second_(std::max(refill_per_second, 0.0)),
      tokens_(capacity_),
      last_(Clock::now()) {}

void TokenBucket::Refill(Clock::time_point now) {
  if (now <= last_) return;
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + elapsed * refill_per_second_);
  last_ = now;
}

bool TokenBucket::Acquire(double tokens, std::chrono::milliseconds max_wait) {
  std::chrono::duration<double> wait{0};
  {
    std::lock_guard<std::mutex> lock(mu_);
    Refill(Clock::now());
    if (tokens_ >= tokens) {
      tokens_ -= tokens;
      return true;
    }
    if (refill_per_second_ <= 0) return false;
    // tokens_ may be negative: earlier callers have reserved tokens not yet refilled,
    // and this caller queues behind them.
    wait = std::chrono::duration<double>((tokens - tokens_) / refill_per_second_);
    if (wait > max_wait) return false;
    tokens_ -= tokens;  // reserved now, so later callers wait behind this one
  }
  std::this_thread::sleep_for(wait);
  return true;
}

double TokenBucket::Available() {
  std::lock_guard<std::mutex> lock(mu_);
  Refill(Clock::now());
  return std::max(tokens_, 0.0);
}

Backoff::Backoff(std::chrono::milliseconds base_delay, std::chrono::milliseconds max_delay)
    : base_(std::max(base_delay, std::chrono::milliseconds(0))),
      max_(std::max(max_delay, std::chrono::milliseconds(0))),
      rng_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::Delay(int attempt) {
  attempt = std::clamp(attempt, 0, 62);
  double cap = std::min(static_cast<double>(max_.count()),
                        static_cast<double>(base_.count()) * std::ldexp(1.0, attempt));
  auto cap_ms = static_cast<long long>(cap);
  if (cap_ms <= 0) return std::chrono::milliseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_int_distribution<long long> pick(0, cap_ms);
  return std::chrono::milliseconds(pick(rng_));
}

CircuitBreaker::CircuitBreaker(int threshold, std::chrono::milliseconds open_for)
    : threshold_(std::max(threshold, 1)), open_for_(open_for) {}

bool CircuitBreaker::Allow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_) return true;
  if (Clock::now() - opened_at_ < open_for_ || trial_in_flight_) return false;
  trial_in_flight_ = true;  // half-open: one trial call decides
  return true;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard<std::mutex> lock(mu_);
  failures_ = 0;
  open_ = false;
  trial_in_flight_ = false;
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_) {
    // The trial failed (or a call started before the circuit opened): stay open.
    opened_at_ = Clock::now();
    trial_in_flight_ = false;
    return;
  }
  if (++failures_ >= threshold_) {
    open_ = true;
    opened_at_ = Clock::now();
    trial_in_flight_ = false;
  }
}

bool CircuitBreaker::IsOpen() {
  std::lock_guard<std::mutex> lock(mu_);
  return open_ && (Clock::now() - opened_at_ < open_for_ || trial_in_flight_);
}

std::chrono::milliseconds CircuitBreaker::RemainingOpen() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_) return std::chrono::milliseconds(0);
  auto left =
      open_for_ - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - opened_at_);
  return std::max(left, std::chrono::milliseconds(0));
}

std::string ApiFamily(std::string_view service, std::string_view action) {
  if (service != "ec2") return std::string(service);
  if (action == "RunInstances") return "run_instances";
  if (action == "TerminateInstances") return "terminate_instances";
  if (action == "CreateTags" || action == "DeleteTags") return "create_tags";
  if (action == "DescribeSpotFleetInstances") return "describe_spot_fleet_instances";
  if (action.rfind("Describe", 0) == 0 || action.rfind("Get", 0) == 0) return "describe";
  return "mutating";
}

}  // namespace orb
