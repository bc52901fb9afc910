#include "support/moto_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "provider/aws/aws_error.h"
#include "provider/aws/http_client.h"

extern char** environ;

namespace orb::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPython = "/usr/bin/python3";
constexpr auto kStartTimeout = std::chrono::seconds(30);

bool HasMoto(const fs::path& dist) { return fs::exists(dist / "moto" / "__init__.py"); }

// A port that was free a moment ago: bind 127.0.0.1:0 and read what the kernel chose.
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("cannot find a free loopback port: " + err);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string Tail(const std::string& path, std::size_t max_bytes = 2000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

// Starts python3 -m moto.server on `port`, output to `log_path`. Returns the pid.
int Spawn(const std::string& python_path, int port, const std::string& log_path) {
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls are allowed (the test program may have threads).
  const std::string port_text = std::to_string(port);
  std::vector<std::string> args = {kPython,     "-m", "moto.server", "-H",
                                   "127.0.0.1", "-p", port_text};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "PYTHONPATH=", 11) != 0) env.emplace_back(*e);
  }
  env.push_back("PYTHONPATH=" + python_path);
  env.push_back("PYTHONDONTWRITEBYTECODE=1");
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    throw std::runtime_error("cannot write moto's log " + log_path + ": " + std::strerror(errno));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw std::runtime_error(std::string("fork(): ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Die with the test program even when it is killed without running exit handlers.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(kPython, argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  return pid;
}

// True once moto answers HTTP on `endpoint`.
bool Answers(HttpClient& http, const std::string& endpoint) {
  HttpRequest request;
  request.method = "GET";
  request.url = endpoint + "/moto-api/";
  try {
    return http.Send(request).status > 0;
  } catch (const AwsError&) {
    return false;
  }
}

HttpOptions LocalHttpOptions() {
  HttpOptions o;
  o.connect_timeout_ms = 1000;
  o.timeout_ms = 10000;
  o.proxy = "";
  return o;
}

}  // namespace

std::string FindMotoPythonPath() {
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("ORB_MOTO_DIR"); dir != nullptr && *dir != '\0') {
    candidates.emplace_back(dir);
    candidates.push_back(fs::path(dir) / "usr/lib/python3/dist-packages");
  } else {
    candidates.push_back(fs::path(ORB_SOURCE_DIR) / ".deps/moto/usr/lib/python3/dist-packages");
  }
  for (const fs::path& c : candidates) {
    if (HasMoto(c)) return fs::absolute(c).string();
  }
  return "";
}

MotoServer& MotoServer::Shared() {
  // A start-up failure is remembered, so that the tests after the first fail at
  // once instead of each waiting for moto again.
  static std::string failure;
  if (!failure.empty()) throw std::runtime_error(failure);
  try {
    // A function-local static: started on first use, destroyed (moto stopped) at exit.
    static MotoServer server;
    return server;
  } catch (const std::exception& e) {
    failure = e.what();
    throw;
  }
}

MotoServer::MotoServer() {
  const std::string python_path = FindMotoPythonPath();
  if (python_path.empty()) {
    const char* dir = std::getenv("ORB_MOTO_DIR");
    const std::string where = dir != nullptr && *dir != '\0'
                                  ? std::string(dir) + " ($ORB_MOTO_DIR)"
                                  : std::string(ORB_SOURCE_DIR) + "/.deps/moto";
    throw std::runtime_error("moto (the AWS emulator) is not unpacked in " + where +
                             ". Run tools/fetch-moto.sh --deps (or point $ORB_MOTO_DIR at "
                             "the folder it unpacked moto into)");
  }
  if (::access(kPython, X_OK) != 0) {
    throw std::runtime_error(std::string(kPython) +
                             " is missing; moto runs with Debian's python3 (apt-get install "
                             "python3), then run tools/fetch-moto.sh --deps");
  }
  HttpClient http(LocalHttpOptions());
  std::string last_failure;
  // A port found free can be taken by someone else before moto binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = FreeLoopbackPort();
    log_path_ = (fs::path(::testing::TempDir()) /
                 ("orb-moto-" + std::to_string(::getpid()) + "-" + std::to_string(port) + ".log"))
                    .string();
    pid_ = Spawn(python_path, port, log_path_);
    endpoint_ = "http://127.0.0.1:" + std::to_string(port);
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited = true;
        pid_ = -1;
        break;
      }
      if (Answers(http, endpoint_)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!exited) {
      Stop();
      throw std::runtime_error("moto did not answer on " + endpoint_ + " within 30 s; its log (" +
                               log_path_ + ") ends with:\n" + Tail(log_path_) +
                               "\nIf a Python module is missing, run tools/fetch-moto.sh --deps");
    }
    last_failure = Tail(log_path_);
  }
  throw std::runtime_error("moto exited at start-up three times; its last log (" + log_path_ +
                           ") ends with:\n" + last_failure +
                           "\nIf a Python module is missing, run tools/fetch-moto.sh --deps");
}

MotoServer::~MotoServer() { Stop(); }

void MotoServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void MotoServer::Reset() {
  HttpClient http(LocalHttpOptions());
  HttpRequest request;
  request.method = "POST";
  request.url = endpoint_ + "/moto-api/reset";
  const HttpResponse response = http.Send(request);
  if (response.status != 200) {
    throw std::runtime_error("moto reset answered HTTP " + std::to_string(response.status) + ": " +
                             response.body.substr(0, 200));
  }
}

AwsClientOptions TestClientOptions(const std::string& endpoint, const std::string& region) {
  AwsClientOptions o;
  o.region = region;
  o.endpoint_url = endpoint;
  o.http.connect_timeout_ms = 2000;
  o.http.timeout_ms = 60000;  // moto takes seconds to launch thousands of instances
  o.http.proxy = "";
  o.max_attempts = 3;
  o.retry_base_delay = std::chrono::milliseconds(5);
  o.retry_max_delay = std::chrono::milliseconds(50);
  o.max_pacing_wait = std::chrono::milliseconds(1000);
  for (const auto& [family, limits] : DefaultBucketLimits()) {
    (void)limits;
    o.buckets[family] = BucketLimits{1e6, 1e6};
  }
  return o;
}

std::shared_ptr<CredentialsProvider> TestCredentials() {
  Credentials c;
  c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  c.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  c.source = "test";
  return MakeStaticCredentials(c);
}

AwsClient MakeTestAwsClient(const std::string& endpoint, const std::string& region) {
  const AwsClientOptions options = TestClientOptions(endpoint, region);
  return AwsClient(options, TestCredentials(), std::make_shared<HttpClient>(options.http));
}

}  // namespace orb::testing
