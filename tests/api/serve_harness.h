#pragma once

// A real `orb serve` process for tests: started with an HfSandbox's environment
// against moto, driven over HTTP with libcurl (orb's own HttpClient), stopped with
// SIGTERM and checked to exit cleanly.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hostfactory/hf_harness.h"
#include "provider/aws/http_client.h"

namespace orb::testing {

// A TCP port nobody listens on now (the kernel's choice).
int FreePort();

// One orb process (by default `orb serve`) with the environment `env`; stdout and
// stderr go to files in `dir`. Started with posix_spawn (the test process has
// threads). Killed, if still running, when destroyed.
class ServeProcess {
 public:
  ServeProcess(const std::map<std::string, std::string>& env, const std::filesystem::path& dir,
               const std::vector<std::string>& extra_args = {},
               const std::vector<std::string>& command = {"serve"});
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Waits up to `limit` for the process to exit; its exit code (-1: still running
  // or killed by a signal).
  int WaitExit(std::chrono::seconds limit);

  void Signal(int sig);
  pid_t pid() const { return pid_; }
  std::string Out() const;
  std::string Err() const;

 private:
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// A test with moto, a sandbox (config for moto, the suite's templates) and, once
// Start() ran, an `orb serve` on a free loopback port.
class ServeFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts `orb serve` (with `extra_args`) and waits until it answers /livez.
  void Start(const std::vector<std::string>& extra_args = {});

  HttpResponse Send(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& type = "application/json",
                    const std::vector<std::pair<std::string, std::string>>& headers = {});
  HttpResponse Get(const std::string& path) { return Send("GET", path, ""); }
  HttpResponse Post(const std::string& path, const nlohmann::json& body) {
    return Send("POST", path, body.dump());
  }

  // The answer's body as JSON (discarded when it is not).
  static nlohmann::json Body(const HttpResponse& r);

  // Checks an error answer: `status`, one JSON object whose message mentions `words`.
  static void ExpectError(const HttpResponse& r, int status, const std::string& words);

  // Polls POST /api/v1/requests/status until `id` is terminal; its last record.
  nlohmann::json WaitTerminal(const std::string& id);

  std::unique_ptr<MotoSide> cloud_;
  std::unique_ptr<HfSandbox> sb_;
  std::unique_ptr<ServeProcess> server_;
  int port_ = 0;
  std::string base_;
  HttpClient client_{HttpOptions{}};
};

}  // namespace orb::testing
