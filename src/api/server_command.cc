// RunServerCommand in orb-server: `orb serve` and `orb server start|stop|status`.
// `orb server start` forks once the socket is bound (so a taken port is reported in
// the foreground) and returns when the background server has written its pid file;
// this and the hand-over in server_handoff.cc are the only places orb creates or
// replaces a process (tools/check-no-shell.sh).

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "api/api_server.h"
#include "cli/server_command.h"
#include "common/error.h"
#include "common/private_files.h"
#include "mcp/mcp_command.h"
#include "mcp/mcp_http.h"

namespace orb {

namespace {

// Exit code of `orb server status` when no server runs (LSB's "not running").
constexpr int kNotRunning = 3;

// The pid in `pid_file` when that process is alive and is orb-server; else 0 (no
// file, a stale one, or a pid now used by another program).
pid_t RunningServer(const std::string& pid_file) {
  std::ifstream in(pid_file);
  long long pid = 0;
  if (!(in >> pid) || pid <= 1 || pid > 4194304) return 0;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return 0;
  char exe[4096];
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  const ssize_t n = ::readlink(link.c_str(), exe, sizeof exe - 1);
  if (n <= 0) return static_cast<pid_t>(pid);  // another user's process: trust the file
  std::string path(exe, static_cast<std::size_t>(n));
  if (path.find("orb-server") == std::string::npos) return 0;
  return static_cast<pid_t>(pid);
}

// Serves until SIGTERM or SIGINT (in-flight requests finish); SIGHUP reloads the
// configuration (templates are read on every call anyway). The signals are taken
// by one thread: they are blocked in every other, the workers included.
int ServeUntilSignalled(Context& c, ApiServer& server) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig != SIGHUP) {
        spdlog::info("serve: {} received, finishing the requests in flight", strsignal(sig));
        server.Stop();
        return;
      }
      auto fresh = std::make_shared<const Config>(LoadConfig(c.Inputs()));
      if (fresh->HasErrors()) {
        for (const ConfigProblem& p : fresh->problems()) {
          if (p.error) spdlog::error("serve: reload refused, configuration has errors: {}", p.ToString());
        }
        continue;
      }
      server.Reload(fresh);
      spdlog::info("serve: configuration reloaded on SIGHUP");
    }
  });
  server.Run();
  server.Stop();
  // Run() returned on its own (not by a signal): release the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  spdlog::info("serve: stopped");
  return 0;
}

std::string Address(const ApiServer& server) {
  return std::string(server.tls() ? "https://" : "http://") + server.host() + ":" +
         std::to_string(server.port());
}

int Serve(Context& c) {
  auto config = std::make_shared<const Config>(c.LoadConfiguration(true));
  ApiServer server(config, c.Inputs(), ApiServerOptionsFrom(*config));
  // The MCP door at /mcp (declared after the server: it stops before the server's
  // event hub goes).
  mcp::McpHttpDoor mcp_door(config, mcp::HttpDoorOptions(*config, false));
  server.Extend([&mcp_door](api::ServerState& state) { mcp_door.Mount(state); });
  server.Bind();
  c.out << "orb serve: listening on " << Address(server) << "\n" << std::flush;
  return ServeUntilSignalled(c, server);
}

int Start(Context& c) {
  auto config = std::make_shared<const Config>(c.LoadConfiguration(true));
  const std::string pid_file = config->Get("server.pid_file");
  if (pid_t pid = RunningServer(pid_file)) {
    c.err << "orb server: already running (pid " << pid << ", pid file " << pid_file << ")\n";
    return 1;
  }
  ApiServer server(config, c.Inputs(), ApiServerOptionsFrom(*config));
  server.Bind();
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    throw Error(ErrorCode::kInternal, std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  c.out.flush();
  c.err.flush();
  const pid_t child = ::fork();
  if (child < 0) {
    throw Error(ErrorCode::kInternal, std::string("cannot fork: ") + std::strerror(errno));
  }
  if (child > 0) {
    ::close(ready[1]);
    char status = 0;
    const ssize_t n = ::read(ready[0], &status, 1);
    ::close(ready[0]);
    if (n != 1 || status != 'y') {
      c.err << "orb server: the background server did not start; see the log ("
            << config->Get("logging.file") << ")\n";
      return 1;
    }
    c.out << "orb server: started (pid " << child << "), listening on " << Address(server)
          << "\n";
    return 0;
  }
  // The background server: its own session, no terminal, the pid file, then serve.
  ::close(ready[0]);
  ::setsid();
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
  }
  const std::string pid_text = std::to_string(::getpid()) + "\n";
  char status = WritePrivateFile(pid_file, pid_text) == 0 ? 'y' : 'n';
  if (status != 'y') spdlog::error("serve: cannot write the pid file {}", pid_file);
  (void)!::write(ready[1], &status, 1);
  ::close(ready[1]);
  if (status != 'y') ::_exit(1);
  spdlog::info("serve: started in the background, pid {}", ::getpid());
  // The MCP door at /mcp, built after the fork (it may hold threads and connections).
  mcp::McpHttpDoor mcp_door(config, mcp::HttpDoorOptions(*config, false));
  server.Extend([&mcp_door](api::ServerState& state) { mcp_door.Mount(state); });
  int code = ServeUntilSignalled(c, server);
  if (RunningServer(pid_file) == ::getpid()) ::unlink(pid_file.c_str());
  return code;
}

int Stop(Context& c, int timeout_sec) {
  const std::string pid_file = c.LoadConfiguration(true).Get("server.pid_file");
  const pid_t pid = RunningServer(pid_file);
  if (pid == 0) {
    c.out << "orb server: not running\n";
    return 0;
  }
  if (::kill(pid, SIGTERM) != 0) {
    throw Error(ErrorCode::kInternal, "cannot signal the server (pid " + std::to_string(pid) +
                                          "): " + std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_sec);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      c.out << "orb server: stopped (pid " << pid << ")\n";
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  c.err << "orb server: still running " << timeout_sec << " s after SIGTERM (pid " << pid
        << "): requests in flight; try again, or kill -KILL " << pid << "\n";
  return 1;
}

int Status(Context& c) {
  const Config& config = c.LoadConfiguration(true);
  const std::string pid_file = config.Get("server.pid_file");
  const pid_t pid = RunningServer(pid_file);
  if (pid == 0) {
    c.out << "orb server: not running (pid file " << pid_file << ")\n";
    return kNotRunning;
  }
  c.out << "orb server: running (pid " << pid << "), configured for " << config.Get("server.host")
        << ":" << config.Get("server.port") << "\n";
  return 0;
}

}  // namespace

int RunServerCommand(Context& c, const ServerCommand& command) {
  // glibc gives busy threads arenas of their own, up to 8 per core; a server of
  // dozens of threads would keep far more memory than it uses.
  ::mallopt(M_ARENA_MAX, 2);
  switch (command.action) {
    case ServerAction::kServe: return Serve(c);
    case ServerAction::kStart: return Start(c);
    case ServerAction::kStop: return Stop(c, command.stop_timeout_sec);
    case ServerAction::kStatus: return Status(c);
    case ServerAction::kMcpServe: return mcp::RunMcpServe(c, command);
  }
  return 2;
}

}  // namespace orb
