#pragma once

// Helpers shared by the store tests (store_suite_test.cc, run against every back end,
// and sqlite_store_test.cc): sample records, field-by-field comparisons, catching an
// orb::Error, and child processes.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "model/machine.h"
#include "model/request.h"

namespace orb::testing {

// A valid acquire request (a return request when `id` starts with "ret-") of
// template "tmpl-a", created and updated at `created_at`.
inline Request SampleRequest(const std::string& id, EpochSeconds created_at = 1700000000) {
  Request r;
  r.request_id = id;
  r.kind = id.rfind("ret-", 0) == 0 ? RequestKind::kReturn : RequestKind::kAcquire;
  r.template_id = "tmpl-a";
  r.provider_name = "awsinst";
  r.requested_count = 3;
  r.created_at = created_at;
  r.updated_at = created_at;
  return r;
}

// A valid machine of template "tmpl-a" launched by `request_id`, created and updated
// at `created_at`.
inline Machine SampleMachine(const std::string& id, const std::string& request_id,
                             EpochSeconds created_at = 1700000000) {
  Machine m;
  m.machine_id = id;
  m.request_id = request_id;
  m.template_id = "tmpl-a";
  m.provider_name = "awsinst";
  m.created_at = created_at;
  m.updated_at = created_at;
  return m;
}

// Fails the test (naming the request) for every field in which `got` differs from
// `want`.
inline void ExpectSameRequest(const Request& want, const Request& got) {
  EXPECT_EQ(want.request_id, got.request_id);
  EXPECT_EQ(want.kind, got.kind) << want.request_id;
  EXPECT_EQ(want.template_id, got.template_id) << want.request_id;
  EXPECT_EQ(want.provider_name, got.provider_name) << want.request_id;
  EXPECT_EQ(want.requested_count, got.requested_count) << want.request_id;
  EXPECT_EQ(want.status, got.status) << want.request_id;
  EXPECT_EQ(want.launch_state, got.launch_state) << want.request_id;
  EXPECT_EQ(want.client_token, got.client_token) << want.request_id;
  EXPECT_EQ(want.message, got.message) << want.request_id;
  EXPECT_EQ(want.created_at, got.created_at) << want.request_id;
  EXPECT_EQ(want.updated_at, got.updated_at) << want.request_id;
  EXPECT_EQ(want.deadline, got.deadline) << want.request_id;
  EXPECT_EQ(want.provider_data, got.provider_data) << want.request_id;
  EXPECT_EQ(want.acknowledged_at, got.acknowledged_at) << want.request_id;
  EXPECT_EQ(want.version, got.version) << want.request_id;
}

// Fails the test (naming the machine) for every field in which `got` differs from
// `want`.
inline void ExpectSameMachine(const Machine& want, const Machine& got) {
  EXPECT_EQ(want.machine_id, got.machine_id);
  EXPECT_EQ(want.name, got.name) << want.machine_id;
  EXPECT_EQ(want.request_id, got.request_id) << want.machine_id;
  EXPECT_EQ(want.return_request_id, got.return_request_id) << want.machine_id;
  EXPECT_EQ(want.template_id, got.template_id) << want.machine_id;
  EXPECT_EQ(want.provider_name, got.provider_name) << want.machine_id;
  EXPECT_EQ(want.instance_type, got.instance_type) << want.machine_id;
  EXPECT_EQ(want.private_ip, got.private_ip) << want.machine_id;
  EXPECT_EQ(want.public_ip, got.public_ip) << want.machine_id;
  EXPECT_EQ(want.availability_zone, got.availability_zone) << want.machine_id;
  EXPECT_EQ(want.price_type, got.price_type) << want.machine_id;
  EXPECT_EQ(want.cloud_host_id, got.cloud_host_id) << want.machine_id;
  EXPECT_EQ(want.state, got.state) << want.machine_id;
  EXPECT_EQ(want.acquire_result, got.acquire_result) << want.machine_id;
  EXPECT_EQ(want.return_result, got.return_result) << want.machine_id;
  EXPECT_EQ(want.terminate_refused, got.terminate_refused) << want.machine_id;
  EXPECT_EQ(want.weight, got.weight) << want.machine_id;
  EXPECT_EQ(want.launch_time, got.launch_time) << want.machine_id;
  EXPECT_EQ(want.created_at, got.created_at) << want.machine_id;
  EXPECT_EQ(want.updated_at, got.updated_at) << want.machine_id;
  EXPECT_EQ(want.message, got.message) << want.machine_id;
  EXPECT_EQ(want.notice_action, got.notice_action) << want.machine_id;
  EXPECT_EQ(want.notice_takes_effect_at, got.notice_takes_effect_at) << want.machine_id;
  EXPECT_EQ(want.version, got.version) << want.machine_id;
}

// Runs `fn` and returns the orb::Error it throws; fails the test if it throws none.
template <typename Fn>
Error CatchError(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an orb::Error, none was thrown";
  return Error(ErrorCode::kInternal, "<no error thrown>");
}

// ---------------------------------------------------------------------------
// Child processes. A child never touches gtest: it reports through its exit code
// (0 = success) and, optionally, a pipe.

// Forks a child that runs `fn` and exits with its return value, or 1 (after printing
// the reason to stderr) when `fn` throws.
inline pid_t ForkChild(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int rc = 1;
    try {
      rc = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
      rc = 1;
    } catch (...) {
      rc = 1;
    }
    ::_exit(rc);
  }
  return pid;
}

// Waits for every child, at most `timeout`; kills the stragglers. Returns each
// child's exit code (-1 when it did not exit normally).
inline std::vector<int> WaitChildren(const std::vector<pid_t>& pids,
                                     std::chrono::seconds timeout) {
  std::vector<int> codes(pids.size(), -2);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t left = pids.size();
  while (left > 0) {
    for (std::size_t i = 0; i < pids.size(); ++i) {
      if (codes[i] != -2) continue;
      int status = 0;
      pid_t r = ::waitpid(pids[i], &status, WNOHANG);
      if (r == pids[i]) {
        codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        --left;
      }
    }
    if (left == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (std::size_t i = 0; i < pids.size(); ++i) {
        if (codes[i] != -2) continue;
        ::kill(pids[i], SIGKILL);
        ::waitpid(pids[i], nullptr, 0);
        codes[i] = -1;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return codes;
}

}  // namespace orb::testing
