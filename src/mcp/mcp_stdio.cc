#include "mcp/mcp_stdio.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

namespace orb::mcp {

namespace {

// One line per message, written whole under one lock.
class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}

  // False once the reader is gone (EPIPE and the like).
  bool Write(const json& message) {
    std::string line;
    try {
      // Invalid UTF-8 in a string (e.g. from a cloud answer) is replaced, never fatal.
      line = message.dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const std::exception& e) {
      spdlog::error("mcp stdio: cannot encode a message: {}", e.what());
      return true;
    }
    line += '\n';
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_) return false;
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::warn("mcp stdio: the client stopped reading ({}); ending", std::strerror(errno));
        broken_ = true;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  bool broken() {
    std::lock_guard<std::mutex> lock(mu_);
    return broken_;
  }

 private:
  const int fd_;
  std::mutex mu_;
  bool broken_ = false;
};

json TooLong(std::size_t limit) {
  return {{"jsonrpc", "2.0"},
          {"id", nullptr},
          {"error",
           {{"code", -32600},
            {"message", "invalid request: the message is longer than " +
                            std::to_string(limit >> 20) + " MiB; it was skipped"}}}};
}

}  // namespace

int ServeStdio(McpServer& server, const StdioOptions& options, bool handle_signals) {
  int out_fd = options.out_fd;
  if (options.guard_stdout && out_fd == STDOUT_FILENO) {
    // The protocol gets a descriptor of its own; whatever else writes to fd 1 (a
    // library, a stray print) lands on stderr instead of inside the stream.
    const int moved = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (moved >= 0) {
      out_fd = moved;
      ::dup2(STDERR_FILENO, STDOUT_FILENO);
    }
  }
  ::signal(SIGPIPE, SIG_IGN);  // a gone client is an EPIPE, not a death

  // SIGTERM/SIGINT wake the reader through a pipe.
  int wake[2] = {-1, -1};
  if (::pipe2(wake, O_CLOEXEC) != 0) wake[0] = wake[1] = -1;
  std::thread waiter;
  sigset_t signals;
  sigemptyset(&signals);
  if (handle_signals) {
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGUSR2);  // our own: stop waiting
    // Blocked here and (by the command, before it starts any thread) everywhere
    // else, so that only the waiter takes them.
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    waiter = std::thread([&signals, &wake] {
      int sig = 0;
      while (sigwait(&signals, &sig) != 0) {
      }
      if (sig != SIGUSR2) spdlog::info("mcp stdio: {} received, ending", strsignal(sig));
      if (wake[1] >= 0) (void)!::write(wake[1], "x", 1);
    });
  }

  // Shared with the notifier, which the core may still hold a copy of after serving.
  auto writer_ptr = std::make_shared<LineWriter>(out_fd);
  LineWriter& writer = *writer_ptr;
  McpSession session;
  session.log_level = options.log_level;
  server.SetNotifier(
      [writer_ptr](const McpSession&, const json& message) { writer_ptr->Write(message); });
  server.AddSession(&session);
  spdlog::info("mcp stdio: serving");

  std::string pending;       // bytes read, not yet a whole line
  bool skipping = false;     // inside an over-long line: drop until its newline
  bool eof = false;
  char buf[65536];
  auto handle_line = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) return;  // blank: nothing
    json message;
    try {
      message = json::parse(line);
    } catch (const json::exception& e) {
      writer.Write(McpServer::ParseError(e.what()));
      return;
    }
    std::optional<json> answer;
    try {
      answer = server.Handle(session, message);
    } catch (const std::exception& e) {  // Handle never throws; just in case
      spdlog::error("mcp stdio: unexpected failure: {}", e.what());
      answer = json{{"jsonrpc", "2.0"},
                    {"id", message.is_object() && message.contains("id") ? message["id"] : json()},
                    {"error", {{"code", -32603}, {"message", "internal error"}}}};
    }
    if (answer) writer.Write(*answer);
  };

  while (!eof && !writer.broken()) {
    pollfd fds[2] = {{options.in_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    const int ready = ::poll(fds, wake[0] >= 0 ? 2 : 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      spdlog::error("mcp stdio: poll failed: {}", std::strerror(errno));
      break;
    }
    if (wake[0] >= 0 && (fds[1].revents & POLLIN)) break;
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t n = ::read(options.in_fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    std::size_t start = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      if (buf[i] != '\n') continue;
      if (skipping) {
        skipping = false;
      } else {
        pending.append(buf + start, i - start);
        handle_line(std::move(pending));
      }
      pending.clear();
      start = i + 1;
    }
    if (!skipping) pending.append(buf + start, static_cast<std::size_t>(n) - start);
    if (!skipping && pending.size() > options.max_line_bytes) {
      spdlog::warn("mcp stdio: a message longer than {} bytes was skipped", options.max_line_bytes);
      writer.Write(TooLong(options.max_line_bytes));
      pending.clear();
      pending.shrink_to_fit();
      skipping = true;
    }
  }
  // A last line without its newline still counts.
  if (eof && !skipping && !pending.empty()) handle_line(std::move(pending));

  server.RemoveSession(&session);
  server.SetNotifier(nullptr);
  if (handle_signals) {
    pthread_kill(waiter.native_handle(), SIGUSR2);  // release the waiter
    waiter.join();
    // The signals stay blocked: the process is about to exit with its own code.
  }
  if (wake[0] >= 0) ::close(wake[0]);
  if (wake[1] >= 0) ::close(wake[1]);
  spdlog::info("mcp stdio: {}", eof ? "end of input, done" : "stopped");
  return writer.broken() ? 1 : 0;
}

}  // namespace orb::mcp
