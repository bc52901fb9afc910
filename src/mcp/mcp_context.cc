#include "mcp/mcp_context.h"

namespace orb::mcp {

void AwsCallCounters::Count(const AwsCallRecord& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  Tally& t = tallies_[{record.service, record.action, record.outcome}];
  ++t.calls;
  t.attempts += record.attempts;
  t.throttled += record.throttled;
  t.seconds += record.seconds;
}

json AwsCallCounters::Snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  json calls = json::array();
  long long total = 0, throttled = 0;
  for (const auto& [key, t] : tallies_) {
    json c = json::object();
    c["service"] = std::get<0>(key);
    c["action"] = std::get<1>(key);
    c["outcome"] = std::get<2>(key);
    c["calls"] = t.calls;
    c["attempts"] = t.attempts;
    c["throttled"] = t.throttled;
    c["seconds"] = static_cast<double>(static_cast<long long>(t.seconds * 1000)) / 1000.0;
    calls.push_back(c);
    total += t.calls;
    throttled += t.throttled;
  }
  json r = json::object();
  r["total_calls"] = total;
  r["throttled"] = throttled;
  r["calls"] = calls;
  return r;
}

}  // namespace orb::mcp
