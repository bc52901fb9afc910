#include "api/sse_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace orb::testing {

SseReader::SseReader(int port, const std::string& path, const std::vector<std::string>& headers) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const std::string& h : headers) request += h + "\r\n";
  request += "\r\n";
  (void)!::send(fd_, request.data(), request.size(), 0);
  reader_ = std::thread([this] { Read(); });
}

SseReader::~SseReader() {
  ::shutdown(fd_, SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
  ::close(fd_);
}

void SseReader::Read() {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    std::lock_guard<std::mutex> lock(mu_);
    if (n <= 0) {
      closed_ = true;
      changed_.notify_all();
      return;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    if (head_.empty()) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      head_ = raw_.substr(0, end + 2);
      raw_.erase(0, end + 4);
    }
    // Chunked transfer: <hex size>\r\n<data>\r\n ... 0\r\n\r\n
    for (;;) {
      const auto line_end = raw_.find("\r\n");
      if (line_end == std::string::npos) break;
      const std::size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
      if (raw_.size() < line_end + 2 + size + 2) break;
      body_ += raw_.substr(line_end + 2, size);
      raw_.erase(0, line_end + 2 + size + 2);
      if (size == 0) closed_ = true;
    }
    Parse();
    changed_.notify_all();
  }
}

void SseReader::Parse() {
  for (;;) {
    const auto end = body_.find("\n\n");
    if (end == std::string::npos) return;
    const std::string block = body_.substr(0, end);
    body_.erase(0, end + 2);
    SseEvent e;
    bool any = false;
    std::size_t at = 0;
    while (at <= block.size()) {
      auto nl = block.find('\n', at);
      if (nl == std::string::npos) nl = block.size();
      const std::string line = block.substr(at, nl - at);
      at = nl + 1;
      if (line.empty() || line[0] == ':') continue;
      const auto colon = line.find(':');
      const std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "id") e.id = value, any = true;
      if (field == "event") e.type = value, any = true;
      if (field == "data") e.data += (e.data.empty() ? "" : "\n") + value, any = true;
    }
    if (!any || (e.type.empty() && e.data.empty())) continue;
    if (e.type.empty()) e.type = "message";
    events_.push_back(std::move(e));
  }
}

std::string SseReader::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

int SseReader::WaitFor(const std::string& type, std::chrono::milliseconds limit, std::size_t skip) {
  std::unique_lock<std::mutex> lock(mu_);
  int found = -1;
  changed_.wait_for(lock, limit, [&] {
    for (std::size_t i = skip; i < events_.size(); ++i) {
      if (events_[i].type == type) {
        found = static_cast<int>(i);
        return true;
      }
    }
    return closed_;
  });
  return found;
}

bool SseReader::WaitClosed(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, limit, [&] { return closed_; });
}

std::vector<SseEvent> SseReader::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

}  // namespace orb::testing
