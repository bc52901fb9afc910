#include "api/serve_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <thread>

#include "support/moto_server.h"
#include "support/orb_process.h"
#include "support/sanitizer_report.h"

namespace orb::testing {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

ServeProcess::ServeProcess(const std::map<std::string, std::string>& env, const fs::path& dir,
                           const std::vector<std::string>& extra_args,
                           const std::vector<std::string>& command)
    : out_(dir / "serve.out"), err_(dir / "serve.err") {
  std::vector<std::string> args = {ORB_BINARY};
  args.insert(args.end(), command.begin(), command.end());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<std::string> envs;
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int spawned = ::posix_spawn(&pid_, ORB_BINARY, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    pid_ = -1;
    ADD_FAILURE() << "cannot start " << ORB_BINARY << ": " << std::strerror(spawned);
  }
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

int ServeProcess::WaitExit(seconds limit) {
  if (pid_ <= 0) return -1;
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return -1;
}

void ServeProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::string ServeProcess::Out() const { return ReadWholeFile(out_); }
std::string ServeProcess::Err() const { return ReadWholeFile(err_); }

void ServeFixture::SetUp() {
  MotoServer& moto = MotoServer::Shared();
  cloud_ = std::make_unique<MotoSide>(moto.endpoint());
  sb_ = std::make_unique<HfSandbox>(moto.endpoint());
  sb_->WriteConfig({{"AWS_INSTANCE_PENDING_TIMEOUT_SEC", 600}});
  sb_->WriteTemplates(SuiteTemplates(cloud_->ImageId(), cloud_->SubnetId()));
  port_ = FreePort();
  sb_->env()["ORB_SERVER_PORT"] = std::to_string(port_);
  sb_->env()["ORB_SERVER_READ_TIMEOUT_SEC"] = "2";
  sb_->env()["ORB_SERVER_THREADS"] = "4";
  base_ = "http://127.0.0.1:" + std::to_string(port_);
}

void ServeFixture::TearDown() {
  if (server_) {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->WaitExit(seconds(15)), 0) << "[SIGTERM stops the server cleanly]\n"
                                                << server_->Err();
    if (std::string report = SanitizerReport(server_->Err()); !report.empty()) {
      ADD_FAILURE() << "[sanitizer report from orb serve] " << report;
    }
    if (HasFailure()) std::cout << "==== orb's logs\n" << sb_->LogTail(80) << "====\n";
  }
}

void ServeFixture::Start(const std::vector<std::string>& extra_args) {
  server_ = std::make_unique<ServeProcess>(sb_->env(), sb_->root(), extra_args);
  for (int i = 0; i < 200; ++i) {
    try {
      if (Get("/livez").status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  FAIL() << "orb serve did not come up\n" << server_->Out() << server_->Err();
}

HttpResponse ServeFixture::Send(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& type,
                                const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest r;
  r.method = method;
  r.url = base_ + path;
  r.body = body;
  if (!body.empty() && !type.empty()) r.headers.push_back({"Content-Type", type});
  for (const auto& h : headers) r.headers.push_back(h);
  return client_.Send(r);
}

json ServeFixture::Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

void ServeFixture::ExpectError(const HttpResponse& r, int status, const std::string& words) {
  EXPECT_EQ(r.status, status) << r.body;
  json b = Body(r);
  ASSERT_TRUE(b.is_object()) << "[errors are JSON objects] " << r.body;
  EXPECT_TRUE(b.contains("error") && b["error"].is_string()) << r.body;
  ASSERT_TRUE(b.contains("message") && b["message"].is_string()) << r.body;
  EXPECT_NE(b["message"].get<std::string>().find(words), std::string::npos)
      << "[the message says what is wrong: '" << words << "'] " << r.body;
}

json ServeFixture::WaitTerminal(const std::string& id) {
  json last;
  for (int i = 0; i < 150; ++i) {
    HttpResponse r = Post("/api/v1/requests/status", {{"request_ids", {id}}});
    EXPECT_EQ(r.status, 200) << r.body;
    json b = Body(r);
    if (b.is_object() && b["requests"].is_array() && !b["requests"].empty()) {
      last = b["requests"][0];
      const std::string s = last.value("status", "");
      if (s == "complete" || s == "complete_with_error") return last;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  ADD_FAILURE() << "request " << id << " never ended: " << last.dump();
  return last;
}

}  // namespace orb::testing
