#include "api/event_hub.h"

#include <ctime>

#include "common/clock.h"

namespace orb::api {

EventHub::EventHub(std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity), boot_(std::to_string(std::time(nullptr))) {}

void EventHub::Publish(const std::string& type, nlohmann::ordered_json fields) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    DomainEvent e;
    e.sequence = ++sequence_;
    e.id = boot_ + "-" + std::to_string(e.sequence);
    e.type = type;
    e.data = nlohmann::ordered_json::object();
    e.data["id"] = e.id;
    e.data["type"] = type;
    e.data["time"] = FormatIso8601(NowSeconds());
    for (auto& [k, v] : fields.items()) e.data[k] = v;
    events_.push_back(std::move(e));
    if (events_.size() > capacity_) events_.pop_front();
  }
  changed_.notify_all();
}

EventCursor EventHub::CursorAfter(const std::string& last_event_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  EventCursor c;
  c.sequence = sequence_;
  if (last_event_id.empty()) return c;
  const auto dash = last_event_id.find('-');
  if (dash == std::string::npos || last_event_id.substr(0, dash) != boot_) {
    c.gap = true;
    return c;
  }
  long long seq = -1;
  try {
    std::size_t used = 0;
    seq = std::stoll(last_event_id.substr(dash + 1), &used);
    if (used != last_event_id.size() - dash - 1) seq = -1;
  } catch (const std::exception&) {
    seq = -1;
  }
  if (seq < 0 || seq > sequence_) {
    c.gap = true;
    return c;
  }
  const long long oldest_kept = events_.empty() ? sequence_ + 1 : events_.front().sequence;
  c.sequence = seq;
  c.gap = seq + 1 < oldest_kept && seq < sequence_;
  if (c.gap) c.sequence = sequence_;
  return c;
}

std::vector<DomainEvent> EventHub::Next(const EventCursor& cursor,
                                        std::chrono::milliseconds wait) const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, wait, [&] { return closed_ || sequence_ > cursor.sequence; });
  std::vector<DomainEvent> out;
  if (closed_) return out;
  for (const DomainEvent& e : events_) {
    if (e.sequence > cursor.sequence) out.push_back(e);
  }
  return out;
}

void EventHub::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool EventHub::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace orb::api
