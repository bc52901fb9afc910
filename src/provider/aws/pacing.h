#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

namespace orb {

// A token bucket: `capacity` tokens, refilled at `refill_per_second`. Used to
// keep orb's own call rate under AWS's limits so that a burst does not turn into
// a retry storm. Thread-safe.
class TokenBucket {
 public:
  TokenBucket(double capacity, double refill_per_second);

  // Takes `tokens`, waiting as long as needed (capped at `max_wait`). Returns
  // false, taking nothing, when the wait would exceed `max_wait`.
  bool Acquire(double tokens, std::chrono::milliseconds max_wait);

  // Tokens available now (for tests and metrics).
  double Available();

 private:
  void Refill(std::chrono::steady_clock::time_point now);
  std::mutex mu_;
  double capacity_, refill_per_second_, tokens_;
  std::chrono::steady_clock::time_point last_;
};

// Capped exponential backoff with full jitter: attempt n (0-based) waits a random
// time in [0, min(max_delay, base_delay * 2^n)].
class Backoff {
 public:
  Backoff(std::chrono::milliseconds base_delay, std::chrono::milliseconds max_delay);

  // The delay before retry number `attempt` (0 = first retry).
  std::chrono::milliseconds Delay(int attempt);

 private:
  std::chrono::milliseconds base_, max_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

// A circuit breaker for one endpoint: after `threshold` consecutive failures
// (network errors, 5xx) it opens and fails fast for `open_for`, then lets one
// trial call through (half-open); a success closes it. Thread-safe.
class CircuitBreaker {
 public:
  CircuitBreaker(int threshold, std::chrono::milliseconds open_for);

  // True when a call may go ahead now.
  bool Allow();

  // Records the outcome of a call that went ahead.
  void RecordSuccess();
  void RecordFailure();

  // True while open and failing fast (false once a trial call may go through).
  bool IsOpen();

  // How long calls will still fail fast (zero when closed or ready for a trial).
  std::chrono::milliseconds RemainingOpen();

 private:
  std::mutex mu_;
  int threshold_;
  std::chrono::milliseconds open_for_;
  int failures_ = 0;
  bool open_ = false;
  bool trial_in_flight_ = false;
  std::chrono::steady_clock::time_point opened_at_;
};

// The AWS API family an action's rate limit belongs to (AWS's EC2 throttling
// buckets): "run_instances", "terminate_instances", "describe", "mutating",
// "create_tags", "describe_spot_fleet_instances"; every Auto Scaling, STS,
// DynamoDB and SQS action maps to its service's signing name ("autoscaling",
// "sts", "dynamodb", "sqs"), as does any other service.
std::string ApiFamily(std::string_view service, std::string_view action);

}  // namespace orb
