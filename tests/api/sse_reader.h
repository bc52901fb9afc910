#pragma once

// A server-sent-events client for tests: one plain HTTP/1.1 GET on a socket of its
// own, the chunked answer decoded and split into events by a reader thread.

#include <condition_variable>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace orb::testing {

// One event as received.
struct SseEvent {
  std::string id;
  std::string type;  // "message" when the server named none
  std::string data;
  nlohmann::json Json() const { return nlohmann::json::parse(data, nullptr, false); }
};

class SseReader {
 public:
  // Connects to 127.0.0.1:`port` and asks for `path` with `headers` ("Name: value").
  SseReader(int port, const std::string& path, const std::vector<std::string>& headers = {});
  ~SseReader();
  SseReader(const SseReader&) = delete;
  SseReader& operator=(const SseReader&) = delete;

  // The HTTP status line and headers received (empty until they arrive).
  std::string head() const;

  // Waits up to `limit` until an event of `type` arrived after the first `skip`
  // events; returns its index, or -1.
  int WaitFor(const std::string& type, std::chrono::milliseconds limit, std::size_t skip = 0);

  // Waits up to `limit` for the server to end the stream.
  bool WaitClosed(std::chrono::milliseconds limit);

  std::vector<SseEvent> events() const;

 private:
  void Read();
  void Parse();  // with mu_ held: moves whole events from body_ to events_

  int fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string raw_, head_, body_;
  bool closed_ = false;
  std::vector<SseEvent> events_;
  std::thread reader_;
};

}  // namespace orb::testing
