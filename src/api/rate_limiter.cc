#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace orb::api {

RateLimiter::RateLimiter(double burst, double per_second) : burst_(burst), rate_(per_second) {}

bool RateLimiter::Allow(const std::string& client, int* retry_after_sec, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxClients) Evict(now);
    it = buckets_.emplace(client, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  *retry_after_sec = std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
  return false;
}

std::size_t RateLimiter::clients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

void RateLimiter::Evict(Clock::time_point now) {
  // Full again: forgetting it changes nothing for that client.
  const double refill_sec = burst_ / rate_;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double idle = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + idle * rate_ >= burst_ || idle >= refill_sec) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  if (buckets_.size() < kMaxClients) return;
  // Still full of busy clients: drop the least recently seen tenth.
  std::vector<std::pair<Clock::time_point, std::string>> by_age;
  by_age.reserve(buckets_.size());
  for (const auto& [key, b] : buckets_) by_age.emplace_back(b.last, key);
  const std::size_t drop = std::max<std::size_t>(1, by_age.size() / 10);
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                   by_age.end());
  for (std::size_t i = 0; i < drop; ++i) buckets_.erase(by_age[i].second);
}

}  // namespace orb::api
