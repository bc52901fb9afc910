#pragma once

// The domain events of `orb serve` (request created / status changed / completed,
// machine state changed, template created / updated / deleted), kept in a bounded
// ring for replay and handed to the server-sent-event streams. Event ids are
// "<boot>-<sequence>": a client reconnecting with the Last-Event-ID of an earlier
// server run, or of an event no longer kept, is told it missed events (a gap) and
// should list afresh. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orb::api {

// One domain event.
struct DomainEvent {
  std::string id;                 // "<boot>-<sequence>"
  long long sequence = 0;
  std::string type;               // e.g. "request.completed"
  nlohmann::ordered_json data;    // {"type", "time", ... the event's fields}
};

// Where a reader resumes.
struct EventCursor {
  long long sequence = 0;  // the last event seen; 0 = only events from now on
  bool gap = false;        // the events after the cursor are no longer all kept
};

class EventHub {
 public:
  // Keeps the last `capacity` events for replay.
  explicit EventHub(std::size_t capacity = 10000);

  // Records an event of `type` with `fields` (an object) and wakes the readers.
  void Publish(const std::string& type, nlohmann::ordered_json fields);

  // The cursor for a client's Last-Event-ID ("" = from now on): a gap when the id is
  // of another server run, malformed, or older than the events kept.
  EventCursor CursorAfter(const std::string& last_event_id) const;

  // The events after `cursor.sequence`, waiting up to `wait` for one when there is
  // none yet. Returns at once, empty, once Close() was called.
  std::vector<DomainEvent> Next(const EventCursor& cursor, std::chrono::milliseconds wait) const;

  // Ends every wait for good (the server is stopping).
  void Close();
  bool closed() const;

 private:
  const std::size_t capacity_;
  const std::string boot_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::deque<DomainEvent> events_;
  long long sequence_ = 0;
  bool closed_ = false;
};

}  // namespace orb::api
