#pragma once

// Rate limiting of REST calls per client (server.rate_limit): a token bucket per
// client key (the principal when authenticated, else the remote address). Thread-safe;
// memory is bounded: at most kMaxClients buckets are kept, idle ones are dropped first.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace orb::api {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Most clients tracked at once; past it, buckets idle long enough to be full again
  // are dropped (a full bucket is what a new client gets anyway), then the least
  // recently seen ones.
  static constexpr std::size_t kMaxClients = 10000;

  // `burst` calls at once, refilled at `per_second`; both > 0.
  RateLimiter(double burst, double per_second);

  // Takes one token from `client`'s bucket. True when the call may go ahead; else
  // false with the whole seconds until a token is back (at least 1) in
  // `retry_after_sec`.
  bool Allow(const std::string& client, int* retry_after_sec, Clock::time_point now = Clock::now());

  // Buckets currently kept.
  std::size_t clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  void Evict(Clock::time_point now);

  const double burst_, rate_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace orb::api
