#include "store/sqlite_store.h"

#include <SQLiteCpp/Database.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"

namespace orb {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "orb_sqlite_store_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    // Undo any permission games so that everything can be removed.
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Request SampleRequest(const std::string& id, EpochSeconds created_at = 1700000000) {
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

Machine SampleMachine(const std::string& id, const std::string& request_id,
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

void ExpectSameRequest(const Request& want, const Request& got) {
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

void ExpectSameMachine(const Machine& want, const Machine& got) {
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

// Builds a RequestQuery field by field (designated initializers would leave the
// remaining fields to -Wmissing-field-initializers).
RequestQuery Rq(bool open_only, std::optional<RequestKind> kind, std::string template_id,
                int limit) {
  RequestQuery q;
  q.open_only = open_only;
  q.kind = kind;
  q.template_id = std::move(template_id);
  q.limit = limit;
  return q;
}

// Builds a MachineQuery field by field.
MachineQuery Mq(std::string request_id, std::string return_request_id, std::string template_id,
                bool active_only, int limit) {
  MachineQuery q;
  q.request_id = std::move(request_id);
  q.return_request_id = std::move(return_request_id);
  q.template_id = std::move(template_id);
  q.active_only = active_only;
  q.limit = limit;
  return q;
}

std::vector<std::string> RequestIds(const std::vector<Request>& requests) {
  std::vector<std::string> ids;
  for (const Request& r : requests) ids.push_back(r.request_id);
  return ids;
}

std::vector<std::string> MachineIds(const std::vector<Machine>& machines) {
  std::vector<std::string> ids;
  for (const Machine& m : machines) ids.push_back(m.machine_id);
  return ids;
}

// ---------------------------------------------------------------------------
// Child processes. A child never touches gtest: it reports through its exit code
// (0 = success) and, optionally, a pipe.

// Forks a child that runs `fn` and exits with its return value, or 1 (after printing
// the reason to stderr) when `fn` throws.
pid_t ForkChild(const std::function<int()>& fn) {
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
std::vector<int> WaitChildren(const std::vector<pid_t>& pids, std::chrono::seconds timeout) {
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

// Outcome of RunUnprivileged.
struct UnprivilegedOutcome {
  bool skipped = false;  // could not drop root privileges
  bool threw = false;    // the function threw an orb::Error
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// Runs `fn` in a child process as an unprivileged user ("nobody") when the test runs
// as root (root ignores permission bits), otherwise as the current user, and reports
// the orb::Error it threw, if any.
UnprivilegedOutcome RunUnprivileged(const std::function<void()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ForkChild([&]() -> int {
    ::close(fds[0]);
    if (::geteuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 77;
    }
    std::string report = "ok";
    try {
      fn();
    } catch (const Error& e) {
      report = std::to_string(static_cast<int>(e.code())) + " " + e.what();
    }
    if (::write(fds[1], report.data(), report.size()) < 0) return 2;
    return 0;
  });
  ::close(fds[1]);
  std::string report;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  std::vector<int> codes = WaitChildren({pid}, std::chrono::seconds(30));
  UnprivilegedOutcome out;
  if (codes[0] == 77) {
    out.skipped = true;
    return out;
  }
  EXPECT_EQ(codes[0], 0) << "unprivileged child failed";
  if (report != "ok" && !report.empty()) {
    out.threw = true;
    std::size_t space = report.find(' ');
    out.code = static_cast<ErrorCode>(std::stoi(report.substr(0, space)));
    out.message = report.substr(space + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Round trips and optimistic concurrency.

TEST(SqliteStoreTest, RequestRoundTripKeepsEveryFieldForEveryEnumValue) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  std::vector<Request> written;
  int n = 0;
  for (RequestKind kind : {RequestKind::kAcquire, RequestKind::kReturn}) {
    for (RequestStatus status : kAllRequestStatuses) {
      for (LaunchState launch :
           {LaunchState::kIntent, LaunchState::kSubmitted, LaunchState::kSettled}) {
        ++n;
        Request r;
        r.request_id = std::string(RequestIdPrefix(kind)) + "id-" + std::to_string(n);
        r.kind = kind;
        r.template_id = "tmpl-" + std::to_string(n);
        r.provider_name = "prov-" + std::to_string(n);
        r.requested_count = 1000 + n;
        r.status = status;
        r.launch_state = launch;
        r.client_token = "token-" + std::to_string(n);
        r.message = "it's \"quoted\"\nand ünïcode " + std::to_string(n);
        r.created_at = 1700000000LL + n;
        r.updated_at = 4102444800LL + n;  // past 2038: needs 64 bits
        r.deadline = n % 2 == 0 ? 0 : 1800000000LL + n;
        r.provider_data = R"({"fleet_id":"fleet-)" + std::to_string(n) + R"(","n":[1,2]})";
        r.version = 42;  // ignored on insert
        store.InsertRequest(r);
        EXPECT_EQ(r.version, 1);
        written.push_back(r);
      }
    }
  }
  for (const Request& want : written) {
    std::optional<Request> got = store.GetRequest(want.request_id);
    ASSERT_TRUE(got.has_value()) << want.request_id;
    ExpectSameRequest(want, *got);
  }
  EXPECT_EQ(store.ListRequests({}).size(), written.size());
}

TEST(SqliteStoreTest, MachineRoundTripKeepsEveryFieldForEveryEnumValue) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  std::vector<Machine> written;
  int n = 0;
  for (MachineState state : kAllMachineStates) {
    for (MachineResult acquire : kAllMachineResults) {
      for (MachineResult ret : kAllMachineResults) {
        ++n;
        std::string s = std::to_string(n);
        Machine m;
        m.machine_id = "i-" + s;
        m.name = "ip-10-0-0-" + s + ".ec2.internal";
        m.request_id = "req-" + s;
        m.return_request_id = n % 3 == 0 ? "" : "ret-" + s;
        m.template_id = "tmpl-" + s;
        m.provider_name = "prov-" + s;
        m.instance_type = "m5.large";
        m.private_ip = "10.0.0." + s;
        m.public_ip = n % 2 == 0 ? "" : "54.1.2." + s;
        m.availability_zone = "us-east-1a";
        m.price_type = n % 2 == 0 ? "spot" : "ondemand";
        m.cloud_host_id = "fleet-" + s;
        m.state = state;
        m.acquire_result = acquire;
        m.return_result = ret;
        m.terminate_refused = n % 2 == 1;
        m.weight = n % 5 + 1;
        m.launch_time = 1734619942LL + n;
        m.created_at = 1700000000LL + n;
        m.updated_at = 4102444800LL + n;
        m.message = "why it's \"failed\" " + s;
        m.notice_action = n % 4 == 0 ? "" : (n % 4 == 1 ? "terminate" : "rebalance");
        m.notice_takes_effect_at = n % 4 == 1 ? 1795000000LL + n : 0;
        store.InsertMachine(m);
        EXPECT_EQ(m.version, 1);
        written.push_back(m);
      }
    }
  }
  for (const Machine& want : written) {
    std::optional<Machine> got = store.GetMachine(want.machine_id);
    ASSERT_TRUE(got.has_value()) << want.machine_id;
    ExpectSameMachine(want, *got);
  }
}

TEST(SqliteStoreTest, UnknownIdsReadAsNothing) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  EXPECT_FALSE(store.GetRequest("req-missing").has_value());
  EXPECT_FALSE(store.GetMachine("i-missing").has_value());
  EXPECT_FALSE(store.FindMachineByName("ip-missing").has_value());
}

TEST(SqliteStoreTest, DuplicateInsertIsConflictAndKeepsTheFirst) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  Request first = SampleRequest("req-1");
  first.message = "first";
  store.InsertRequest(first);
  Request second = SampleRequest("req-1");
  second.message = "second";
  Error e = CatchError([&] { store.InsertRequest(second); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_THAT(e.what(), HasSubstr("req-1"));
  EXPECT_EQ(store.GetRequest("req-1")->message, "first");

  Machine m1 = SampleMachine("i-1", "req-1");
  m1.name = "first";
  store.InsertMachine(m1);
  Machine m2 = SampleMachine("i-1", "req-1");
  m2.name = "second";
  Error em = CatchError([&] { store.InsertMachine(m2); });
  EXPECT_EQ(em.code(), ErrorCode::kConflict);
  EXPECT_THAT(em.what(), HasSubstr("i-1"));
  EXPECT_EQ(store.GetMachine("i-1")->name, "first");
}

TEST(SqliteStoreTest, UpdateBumpsVersionAndStoresTheChange) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  Request r = SampleRequest("req-1");
  store.InsertRequest(r);
  r.status = RequestStatus::kComplete;
  r.message = "done";
  store.UpdateRequest(r);
  EXPECT_EQ(r.version, 2);
  ExpectSameRequest(r, *store.GetRequest("req-1"));

  Machine m = SampleMachine("i-1", "req-1");
  store.InsertMachine(m);
  m.state = MachineState::kRunning;
  m.private_ip = "10.0.0.1";
  store.UpdateMachine(m);
  store.UpdateMachine(m);
  EXPECT_EQ(m.version, 3);
  ExpectSameMachine(m, *store.GetMachine("i-1"));
}

TEST(SqliteStoreTest, StaleUpdateIsConflictAndLeavesTheRowUnchanged) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  Request r = SampleRequest("req-1");
  store.InsertRequest(r);
  Request mine = r;
  Request theirs = r;
  theirs.message = "theirs";
  store.UpdateRequest(theirs);
  mine.message = "mine";
  Error e = CatchError([&] { store.UpdateRequest(mine); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_THAT(e.what(), HasSubstr("req-1"));
  EXPECT_EQ(mine.version, 1) << "a failed update must not bump the caller's version";
  ExpectSameRequest(theirs, *store.GetRequest("req-1"));

  Machine m = SampleMachine("i-1", "req-1");
  store.InsertMachine(m);
  Machine stale = m;
  m.name = "theirs";
  store.UpdateMachine(m);
  stale.name = "mine";
  EXPECT_EQ(CatchError([&] { store.UpdateMachine(stale); }).code(), ErrorCode::kConflict);
  ExpectSameMachine(m, *store.GetMachine("i-1"));
}

TEST(SqliteStoreTest, UpdateOfUnknownIsNotFound) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  Request r = SampleRequest("req-ghost");
  r.version = 1;
  Error e = CatchError([&] { store.UpdateRequest(r); });
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_THAT(e.what(), HasSubstr("req-ghost"));
  Machine m = SampleMachine("i-ghost", "req-ghost");
  m.version = 1;
  EXPECT_EQ(CatchError([&] { store.UpdateMachine(m); }).code(), ErrorCode::kNotFound);
  EXPECT_FALSE(store.GetRequest("req-ghost").has_value());
  EXPECT_FALSE(store.GetMachine("i-ghost").has_value());
}

// ---------------------------------------------------------------------------
// Queries.

TEST(SqliteStoreTest, ListRequestsHonoursEveryFilterNewestFirst) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  auto add = [&](const std::string& id, EpochSeconds t, RequestStatus status,
                 const std::string& tmpl) {
    Request r = SampleRequest(id, t);
    r.status = status;
    r.template_id = tmpl;
    store.InsertRequest(r);
  };
  add("req-old", 100, RequestStatus::kRunning, "a");
  add("req-done", 200, RequestStatus::kComplete, "a");
  add("ret-open", 300, RequestStatus::kRunning, "");
  add("req-b", 300, RequestStatus::kRunning, "b");  // same second as ret-open, added later
  add("req-err", 150, RequestStatus::kCompleteWithError, "b");

  EXPECT_THAT(RequestIds(store.ListRequests({})),
              ::testing::ElementsAre("req-b", "ret-open", "req-done", "req-err", "req-old"));
  EXPECT_THAT(RequestIds(store.ListRequests(Rq(true, std::nullopt, "", 0))),
              ::testing::ElementsAre("req-b", "ret-open", "req-old"));
  EXPECT_THAT(RequestIds(store.ListRequests(Rq(false, RequestKind::kReturn, "", 0))),
              ::testing::ElementsAre("ret-open"));
  EXPECT_THAT(RequestIds(store.ListRequests(Rq(false, RequestKind::kAcquire, "", 0))),
              ::testing::ElementsAre("req-b", "req-done", "req-err", "req-old"));
  EXPECT_THAT(RequestIds(store.ListRequests(Rq(false, std::nullopt, "a", 0))),
              ::testing::ElementsAre("req-done", "req-old"));
  EXPECT_THAT(RequestIds(store.ListRequests(Rq(false, std::nullopt, "", 2))),
              ::testing::ElementsAre("req-b", "ret-open"));
  EXPECT_THAT(RequestIds(store.ListRequests(Rq(true, RequestKind::kAcquire, "a", 0))),
              ::testing::ElementsAre("req-old"));
  EXPECT_THAT(RequestIds(store.ListRequests(Rq(false, std::nullopt, "none", 0))),
              ::testing::IsEmpty());
  // A status filter applies before the limit.
  RequestQuery errors;
  errors.status = RequestStatus::kCompleteWithError;
  errors.limit = 1;
  EXPECT_THAT(RequestIds(store.ListRequests(errors)), ::testing::ElementsAre("req-err"));
  errors.status = RequestStatus::kComplete;
  EXPECT_THAT(RequestIds(store.ListRequests(errors)), ::testing::ElementsAre("req-done"));
}

TEST(SqliteStoreTest, ListMachinesHonoursEveryFilterNewestFirst) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  auto add = [&](const std::string& id, const std::string& req, const std::string& ret,
                 EpochSeconds t, MachineState state, const std::string& tmpl) {
    Machine m = SampleMachine(id, req, t);
    m.return_request_id = ret;
    m.state = state;
    m.template_id = tmpl;
    store.InsertMachine(m);
  };
  add("i-1", "req-1", "", 100, MachineState::kRunning, "a");
  add("i-2", "req-1", "ret-1", 200, MachineState::kShuttingDown, "a");
  add("i-3", "req-1", "ret-1", 300, MachineState::kTerminated, "a");
  add("i-4", "req-2", "", 300, MachineState::kPending, "b");
  add("i-5", "req-2", "ret-2", 50, MachineState::kFailed, "b");
  add("i-6", "req-2", "", 60, MachineState::kGone, "b");
  add("i-7", "req-2", "", 70, MachineState::kStopped, "b");

  EXPECT_THAT(MachineIds(store.ListMachines(Mq("req-1", "", "", false, 0))),
              ::testing::ElementsAre("i-3", "i-2", "i-1"));
  EXPECT_THAT(MachineIds(store.ListMachines(Mq("", "ret-1", "", false, 0))),
              ::testing::ElementsAre("i-3", "i-2"));
  EXPECT_THAT(MachineIds(store.ListMachines(Mq("", "", "b", false, 0))),
              ::testing::ElementsAre("i-4", "i-7", "i-6", "i-5"));
  EXPECT_THAT(MachineIds(store.ListMachines(Mq("", "", "", true, 0))),
              ::testing::ElementsAre("i-4", "i-2", "i-1", "i-7"));
  EXPECT_THAT(MachineIds(store.ListMachines(Mq("req-2", "", "", true, 0))),
              ::testing::ElementsAre("i-4", "i-7"));
  EXPECT_THAT(MachineIds(store.ListMachines(Mq("", "", "", false, 3))),
              ::testing::ElementsAre("i-4", "i-3", "i-2"));
  EXPECT_THAT(MachineIds(store.ListMachines(Mq("req-none", "", "", false, 0))),
              ::testing::IsEmpty());
}

TEST(SqliteStoreTest, ActiveOnlyMeansNotFinal) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  std::set<std::string> want;
  int n = 0;
  for (MachineState state : kAllMachineStates) {
    Machine m = SampleMachine("i-" + std::string(MachineStateName(state)), "req-1", 100 + n++);
    m.state = state;
    store.InsertMachine(m);
    if (!IsFinalMachineState(state)) want.insert(m.machine_id);
  }
  std::vector<std::string> got = MachineIds(store.ListMachines(Mq("", "", "", true, 0)));
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
  EXPECT_EQ(got.size(), want.size());
}

TEST(SqliteStoreTest, FindMachineByNameReturnsTheNewest) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  Machine old_one = SampleMachine("i-old", "req-1", 100);
  old_one.name = "ip-10-0-0-1.ec2.internal";
  store.InsertMachine(old_one);
  Machine new_one = SampleMachine("i-new", "req-2", 200);
  new_one.name = "ip-10-0-0-1.ec2.internal";  // the private IP was reused
  store.InsertMachine(new_one);
  Machine unnamed = SampleMachine("i-unnamed", "req-2", 300);
  store.InsertMachine(unnamed);

  std::optional<Machine> found = store.FindMachineByName("ip-10-0-0-1.ec2.internal");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->machine_id, "i-new");
  EXPECT_FALSE(store.FindMachineByName("").has_value()) << "a machine without a name yet";
  EXPECT_FALSE(store.FindMachineByName("ip-10-0-0-2.ec2.internal").has_value());
}

// ---------------------------------------------------------------------------
// Transactions.

TEST(SqliteStoreTest, TransactionRollsBackEverythingWhenFnThrows) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  Request existing = SampleRequest("req-existing");
  store.InsertRequest(existing);

  EXPECT_THROW(store.Transaction([&] {
    Request r = SampleRequest("req-new");
    store.InsertRequest(r);
    Machine m = SampleMachine("i-new", "req-new");
    store.InsertMachine(m);
    Request changed = existing;
    changed.message = "changed";
    store.UpdateRequest(changed);
    throw std::logic_error("broker decided to give up");
  }),
               std::logic_error);

  EXPECT_FALSE(store.GetRequest("req-new").has_value());
  EXPECT_FALSE(store.GetMachine("i-new").has_value());
  ExpectSameRequest(existing, *store.GetRequest("req-existing"));
  // The store is usable afterwards.
  Request after = SampleRequest("req-after");
  store.InsertRequest(after);
  EXPECT_TRUE(store.GetRequest("req-after").has_value());
}

TEST(SqliteStoreTest, NestedTransactionJoinsTheOuterOne) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  SqliteStore store(path, 1000);
  SqliteStore observer(path, 1000);  // another connection sees only committed data

  store.Transaction([&] {
    Request a = SampleRequest("req-a");
    store.InsertRequest(a);
    store.Transaction([&] {
      Request b = SampleRequest("req-b");
      store.InsertRequest(b);
    });
    EXPECT_FALSE(observer.GetRequest("req-b").has_value())
        << "the inner transaction must not commit on its own";
  });
  EXPECT_TRUE(observer.GetRequest("req-a").has_value());
  EXPECT_TRUE(observer.GetRequest("req-b").has_value());

  // An outer failure undoes what the inner one wrote.
  EXPECT_THROW(store.Transaction([&] {
    store.Transaction([&] {
      Request c = SampleRequest("req-c");
      store.InsertRequest(c);
    });
    throw std::runtime_error("outer fails");
  }),
               std::runtime_error);
  EXPECT_FALSE(store.GetRequest("req-c").has_value());

  // An inner failure the outer function handles undoes only the inner writes.
  store.Transaction([&] {
    Request d = SampleRequest("req-d");
    store.InsertRequest(d);
    try {
      store.Transaction([&] {
        Request e = SampleRequest("req-e");
        store.InsertRequest(e);
        throw std::runtime_error("inner fails");
      });
    } catch (const std::runtime_error&) {
    }
  });
  EXPECT_TRUE(observer.GetRequest("req-d").has_value());
  EXPECT_FALSE(observer.GetRequest("req-e").has_value());
}

TEST(SqliteStoreTest, ConflictInsideTransactionRollsBackWhenRethrown) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  Request dup = SampleRequest("req-dup");
  store.InsertRequest(dup);
  Error e = CatchError([&] {
    store.Transaction([&] {
      Request fresh = SampleRequest("req-fresh");
      store.InsertRequest(fresh);
      Request again = SampleRequest("req-dup");
      store.InsertRequest(again);
    });
  });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_FALSE(store.GetRequest("req-fresh").has_value());
}

TEST(SqliteStoreTest, TransactionHoldsTheWriteLockAndOthersGetAClearError) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  SqliteStore holder(path, 1000);
  SqliteStore waiter(path, 100);
  holder.Transaction([&] {
    Request r = SampleRequest("req-holder");
    holder.InsertRequest(r);
    Request w = SampleRequest("req-waiter");
    auto start = std::chrono::steady_clock::now();
    Error e = CatchError([&] { waiter.InsertRequest(w); });
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(e.code(), ErrorCode::kStore);
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr("locked"));
    EXPECT_THAT(e.what(), HasSubstr("storage.busy_timeout_ms"));
    EXPECT_GE(waited, std::chrono::milliseconds(90)) << "it must wait for the busy timeout";
    Error t = CatchError([&] { waiter.Transaction([] {}); });
    EXPECT_EQ(t.code(), ErrorCode::kStore);
    EXPECT_THAT(t.what(), HasSubstr("locked"));
  });
  Request w = SampleRequest("req-waiter");
  waiter.InsertRequest(w);  // the lock is free again
  EXPECT_TRUE(holder.GetRequest("req-waiter").has_value());
  EXPECT_TRUE(waiter.GetRequest("req-holder").has_value());
}

// ---------------------------------------------------------------------------
// Opening, schema and file errors.

TEST(SqliteStoreTest, CreatesPrivateDirectoriesAndFile) {
  TempDir dir;
  const std::string path = dir.path() + "/state/orb/orb.db";
  const mode_t old_mask = ::umask(0);  // the most permissive: modes are orb's own
  {
    SqliteStore store(path, 1000);
    Request r = SampleRequest("req-1");
    store.InsertRequest(r);
    // While a connection is open the WAL and its index exist: SQLite gives them
    // the database file's mode.
    for (const char* suffix : {"-wal", "-shm"}) {
      struct stat st {};
      ASSERT_EQ(::stat((path + suffix).c_str(), &st), 0) << suffix;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << suffix;
    }
  }
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir.path() + "/state/orb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(SqliteStoreTest, ReopenedFileKeepsDataAndUsesWalAtCurrentVersion) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  Request r = SampleRequest("req-1");
  Machine m = SampleMachine("i-1", "req-1");
  {
    SqliteStore store(path, 1000);
    store.InsertRequest(r);
    store.InsertMachine(m);
  }
  {
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), SqliteStore::CurrentSchemaVersion());
    EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
  }
  SqliteStore store(path, 1000);
  ExpectSameRequest(r, *store.GetRequest("req-1"));
  ExpectSameMachine(m, *store.GetMachine("i-1"));
  StoreInfo info = store.Info();
  EXPECT_EQ(info.strategy, "sqlite");
  EXPECT_EQ(info.location, path);
  EXPECT_EQ(info.schema_version, SqliteStore::CurrentSchemaVersion());
  EXPECT_EQ(info.counts["requests"], 1);
  EXPECT_EQ(info.counts["machines"], 1);
}

TEST(SqliteStoreTest, NewerSchemaIsRefusedAndLeftAlone) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  { SqliteStore store(path, 1000); }
  const int future = SqliteStore::CurrentSchemaVersion() + 1;
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = " + std::to_string(future));
  }
  Error e = CatchError([&] { SqliteStore store(path, 1000); });
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  EXPECT_THAT(e.what(),
              HasSubstr("database schema version " + std::to_string(future) +
                        " is newer than this orb supports (" +
                        std::to_string(SqliteStore::CurrentSchemaVersion()) + "); upgrade orb"));
  EXPECT_THAT(e.what(), HasSubstr(path));
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), future);
}

TEST(SqliteStoreTest, RandomBytesFileIsAClearErrorAndStaysUntouched) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  std::string bytes(8192, '\0');
  std::mt19937 rng(7);
  for (char& c : bytes) c = static_cast<char>(rng());
  { std::ofstream(path, std::ios::binary) << bytes; }

  Error e = CatchError([&] { SqliteStore store(path, 1000); });
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  EXPECT_THAT(e.what(), HasSubstr(path));
  EXPECT_THAT(e.what(), HasSubstr("not an orb database"));

  std::ifstream in(path, std::ios::binary);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, bytes) << "a file that is not ours must not be modified";
}

TEST(SqliteStoreTest, ForeignSqliteDatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE requests (x TEXT)");
  }
  Error e = CatchError([&] { SqliteStore store(path, 1000); });
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  EXPECT_THAT(e.what(), HasSubstr(path));
  EXPECT_THAT(e.what(), HasSubstr("another program"));
}

TEST(SqliteStoreTest, FileInTheWayOfTheDirectoryIsAClearError) {
  TempDir dir;
  { std::ofstream(dir.File("state")) << "not a directory"; }
  const std::string path = dir.path() + "/state/orb/orb.db";
  Error e = CatchError([&] { SqliteStore store(path, 1000); });
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  EXPECT_THAT(e.what(), HasSubstr("cannot create directory"));
  EXPECT_THAT(e.what(), HasSubstr(path));
}

TEST(SqliteStoreTest, UnwritableDirectoryIsAClearError) {
  TempDir dir;
  fs::permissions(dir.path(),
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const std::string locked = dir.File("locked");
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);

  UnprivilegedOutcome file = RunUnprivileged([&] { SqliteStore store(locked + "/orb.db", 1000); });
  if (file.skipped) GTEST_SKIP() << "cannot drop root privileges here";
  ASSERT_TRUE(file.threw);
  EXPECT_EQ(file.code, ErrorCode::kStore);
  EXPECT_THAT(file.message, HasSubstr("cannot create the database file " + locked + "/orb.db"));
  EXPECT_THAT(file.message, HasSubstr("Permission denied"));

  UnprivilegedOutcome sub =
      RunUnprivileged([&] { SqliteStore store(locked + "/sub/orb.db", 1000); });
  ASSERT_TRUE(sub.threw);
  EXPECT_EQ(sub.code, ErrorCode::kStore);
  EXPECT_THAT(sub.message, HasSubstr("cannot create directory " + locked + "/sub"));
  EXPECT_THAT(sub.message, HasSubstr(locked + "/sub/orb.db"));
}

TEST(SqliteStoreTest, ReadOnlyFileIsAClearErrorAndKeepsItsData) {
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::all);  // others may create -wal/-shm files here
  const std::string path = dir.File("orb.db");
  Request r = SampleRequest("req-kept");
  {
    SqliteStore store(path, 1000);
    store.InsertRequest(r);
  }
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);

  UnprivilegedOutcome out = RunUnprivileged([&] {
    SqliteStore store(path, 1000);
    Request w = SampleRequest("req-written");
    store.InsertRequest(w);
  });
  if (out.skipped) GTEST_SKIP() << "cannot drop root privileges here";
  ASSERT_TRUE(out.threw);
  EXPECT_EQ(out.code, ErrorCode::kStore);
  EXPECT_THAT(out.message, HasSubstr(path));
  EXPECT_THAT(out.message, HasSubstr("read-only"));

  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  SqliteStore store(path, 1000);
  ExpectSameRequest(r, *store.GetRequest("req-kept"));
  EXPECT_FALSE(store.GetRequest("req-written").has_value());
}

TEST(SqliteStoreTest, CheckHealthPassesAndLeavesNoTrace) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  SqliteStore store(path, 1000);
  Request r = SampleRequest("req-1");
  store.InsertRequest(r);
  store.CheckHealth();
  store.Transaction([&] { store.CheckHealth(); });
  StoreInfo info = store.Info();
  EXPECT_EQ(info.counts["requests"], 1);
  EXPECT_EQ(info.counts["machines"], 0);
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM store_health").getInt(), 0);
}

TEST(SqliteStoreTest, CheckHealthFailsWhenTheStoreIsLocked) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  SqliteStore holder(path, 1000);
  SqliteStore checker(path, 50);
  holder.Transaction([&] {
    Error e = CatchError([&] { checker.CheckHealth(); });
    EXPECT_EQ(e.code(), ErrorCode::kStore);
    EXPECT_THAT(e.what(), HasSubstr("locked"));
  });
  checker.CheckHealth();
}

TEST(SqliteStoreTest, CheckHealthFailsWhenTheSchemaChangedUnderneath) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  SqliteStore store(path, 1000);
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = 999");
  }
  Error e = CatchError([&] { store.CheckHealth(); });
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  EXPECT_THAT(e.what(), HasSubstr("999"));
}

// A write that fails half-way (here the file size limit stands in for a full disk)
// reports a clear error, keeps every committed row, and leaves no part of the
// failed transaction behind.
TEST(SqliteStoreTest, WriteFailureLosesNothingCommittedAndSavesNothingPartial) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  Request keep = SampleRequest("req-keep");
  {
    SqliteStore store(path, 1000);
    store.InsertRequest(keep);
  }
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t pid = ForkChild([&]() -> int {
    ::close(report[0]);
    SqliteStore store(path, 1000);
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{256 * 1024, 256 * 1024};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 5;
    std::string message = "no error";
    try {
      store.Transaction([&] {
        for (int i = 0; i < 300; ++i) {
          Request r = SampleRequest("req-big-" + std::to_string(i));
          r.provider_data = std::string(4000, 'x');
          store.InsertRequest(r);
        }
      });
    } catch (const Error& e) {
      message = std::to_string(static_cast<int>(e.code())) + " " + e.what();
    }
    if (::write(report[1], message.data(), message.size()) < 0) return 2;
    return 0;
  });
  ::close(report[1]);
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof buf)) > 0) message.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  ASSERT_EQ(WaitChildren({pid}, std::chrono::seconds(30))[0], 0);
  EXPECT_THAT(message, ::testing::StartsWith(std::to_string(static_cast<int>(ErrorCode::kStore))));
  EXPECT_THAT(message, HasSubstr(path));

  SqliteStore store(path, 1000);
  ExpectSameRequest(keep, *store.GetRequest("req-keep"));
  EXPECT_EQ(store.Info().counts["requests"], 1);
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

// ---------------------------------------------------------------------------
// Many processes, and processes that die.

// HostFactory runs one orb process per call and calls overlap: every child opens
// its own store on the same file, inserts its own rows and increments one shared
// counter with read-decide-write. No row and no increment may be lost.
TEST(SqliteStoreTest, ManyProcessesWriteConcurrentlyWithoutLosingAnything) {
  constexpr int kChildren = 8;
  constexpr int kInsertsPerChild = 200;
  constexpr int kIncrementsPerChild = 50;
  TempDir dir;
  const std::string path = dir.File("orb.db");
  {
    SqliteStore store(path, 1000);
    Request counter = SampleRequest("req-counter", 1);
    counter.requested_count = 0;
    store.InsertRequest(counter);
  }  // closed before fork: a connection must not cross fork()

  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(ForkChild([&, c]() -> int {
      ::close(gate[1]);
      char byte;
      if (::read(gate[0], &byte, 1) != 0) return 3;  // start together
      SqliteStore store(path, 30000);
      for (int i = 0; i < kInsertsPerChild; ++i) {
        const std::string id = "req-" + std::to_string(c) + "-" + std::to_string(i);
        store.Transaction([&] {
          Request r = SampleRequest(id, 1000 + i);
          store.InsertRequest(r);
          Machine m = SampleMachine("i-" + std::to_string(c) + "-" + std::to_string(i), id);
          store.InsertMachine(m);
        });
        if (i % (kInsertsPerChild / kIncrementsPerChild) == 0) {
          store.Transaction([&] {
            std::optional<Request> counter = store.GetRequest("req-counter");
            if (!counter) throw std::runtime_error("counter vanished");
            ++counter->requested_count;
            store.UpdateRequest(*counter);
          });
        }
      }
      return 0;
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);  // opens the gate
  std::vector<int> codes = WaitChildren(pids, std::chrono::seconds(60));
  for (int c = 0; c < kChildren; ++c) EXPECT_EQ(codes[c], 0) << "child " << c;

  SqliteStore store(path, 1000);
  StoreInfo info = store.Info();
  EXPECT_EQ(info.counts["requests"], 1 + kChildren * kInsertsPerChild);
  EXPECT_EQ(info.counts["machines"], kChildren * kInsertsPerChild);
  EXPECT_EQ(store.GetRequest("req-counter")->requested_count, kChildren * kIncrementsPerChild);
  EXPECT_EQ(store.GetRequest("req-counter")->version, 1 + kChildren * kIncrementsPerChild);
  for (int c = 0; c < kChildren; ++c) {
    EXPECT_EQ(store.ListMachines(Mq("req-" + std::to_string(c) + "-199", "", "", false, 0)).size(),
              1u);
  }
}

// Processes racing to open a brand-new file: exactly one creates the schema, and all
// of them can then use it.
TEST(SqliteStoreTest, ManyProcessesOpeningAFreshFileAllSucceed) {
  constexpr int kChildren = 8;
  TempDir dir;
  const std::string path = dir.path() + "/new/orb.db";
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(ForkChild([&, c]() -> int {
      ::close(gate[1]);
      char byte;
      if (::read(gate[0], &byte, 1) != 0) return 3;
      SqliteStore store(path, 30000);
      Request r = SampleRequest("req-" + std::to_string(c));
      store.InsertRequest(r);
      return 0;
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);
  std::vector<int> codes = WaitChildren(pids, std::chrono::seconds(60));
  for (int c = 0; c < kChildren; ++c) EXPECT_EQ(codes[c], 0) << "child " << c;
  SqliteStore store(path, 1000);
  EXPECT_EQ(store.ListRequests({}).size(), static_cast<size_t>(kChildren));
  EXPECT_EQ(store.Info().schema_version, SqliteStore::CurrentSchemaVersion());
}

// The broker launches cloud capacity only after its intent is committed: once
// Transaction returned, the row must survive the process being killed.
TEST(SqliteStoreTest, CommittedWriteSurvivesSigkill) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  { SqliteStore store(path, 1000); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  Request r = SampleRequest("req-durable");
  r.client_token = "token-durable";
  pid_t pid = ForkChild([&]() -> int {
    ::close(ready[0]);
    SqliteStore store(path, 1000);
    store.Transaction([&] { store.InsertRequest(r); });
    if (::write(ready[1], "c", 1) != 1) return 2;
    for (;;) ::pause();  // killed here, the store still open
  });
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child died before committing";
  ::close(ready[0]);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);

  SqliteStore store(path, 1000);
  std::optional<Request> got = store.GetRequest("req-durable");
  ASSERT_TRUE(got.has_value());
  r.version = 1;
  ExpectSameRequest(r, *got);
}

// A process killed in the middle of a transaction leaves nothing of it behind, and
// does not leave the store locked.
TEST(SqliteStoreTest, UncommittedWriteOfAKilledProcessVanishesAndFreesTheLock) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  { SqliteStore store(path, 1000); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ForkChild([&]() -> int {
    ::close(ready[0]);
    SqliteStore store(path, 1000);
    store.Transaction([&] {
      Request r = SampleRequest("req-halfway");
      store.InsertRequest(r);
      if (::write(ready[1], "w", 1) != 1) ::_exit(2);
      for (;;) ::pause();  // killed while holding the write lock
    });
    return 0;
  });
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);

  SqliteStore store(path, 200);
  EXPECT_FALSE(store.GetRequest("req-halfway").has_value());
  Request next = SampleRequest("req-next");
  store.InsertRequest(next);
  EXPECT_TRUE(store.GetRequest("req-next").has_value());
}

TEST(SqliteStoreTest, PoolFailuresAreRememberedPerProviderUntilTheyExpire) {
  TempDir dir;
  SqliteStore store(dir.File("orb.db"), 1000);
  const EpochSeconds now = NowSeconds();
  store.RecordPoolFailure({"east", "c5.large|subnet-1|spot", "capacity", "ICE", now + 180});
  store.RecordPoolFailure({"east", "m5.large|subnet-1|spot", "price", "too low", now + 60});
  store.RecordPoolFailure({"west", "c5.large|subnet-9|spot", "quota", "limit", now + 180});
  std::vector<PoolFailure> east = store.ListPoolFailures("east", now);
  ASSERT_EQ(east.size(), 2u);
  EXPECT_EQ(east[0].pool, "m5.large|subnet-1|spot") << "oldest expiry first";
  EXPECT_EQ(east[0].kind, "price");
  EXPECT_EQ(east[1].reason, "ICE");
  // Later, the shorter one has expired and is no longer steering launches.
  std::vector<PoolFailure> later = store.ListPoolFailures("east", now + 100);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].pool, "c5.large|subnet-1|spot");
  EXPECT_TRUE(store.ListPoolFailures("east", now + 180).empty());
  // A new failure of the same pool replaces the old record (a longer memory).
  store.RecordPoolFailure({"east", "c5.large|subnet-1|spot", "capacity", "ICE again", now + 600});
  later = store.ListPoolFailures("east", now + 300);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].reason, "ICE again");
  EXPECT_EQ(store.Info().counts["pool_failures"], 3);
}

TEST(SqliteStoreTest, VersionOneDatabaseIsMigratedKeepingItsData) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  Request r = SampleRequest("req-1");
  {
    SqliteStore store(path, 1000);
    store.InsertRequest(r);
    // Undo the later steps, as a database written by the first release looks.
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("DROP TABLE pool_failures");
    raw.exec("ALTER TABLE requests DROP COLUMN acknowledged_at");
    raw.exec("ALTER TABLE machines DROP COLUMN notice_action");
    raw.exec("ALTER TABLE machines DROP COLUMN notice_takes_effect_at");
    raw.exec("DROP INDEX requests_updated");
    raw.exec("DROP INDEX machines_updated");
    raw.exec("PRAGMA user_version = 1");
  }
  SqliteStore store(path, 1000);
  // A request from before acknowledgements counts as acknowledged when it was made:
  // the reconciler must not take it for abandoned.
  r.acknowledged_at = r.created_at;
  ExpectSameRequest(r, *store.GetRequest("req-1"));
  EXPECT_EQ(store.Info().schema_version, SqliteStore::CurrentSchemaVersion());
  store.RecordPoolFailure({"p", "t|s|ondemand", "capacity", "ICE", NowSeconds() + 60});
  EXPECT_EQ(store.ListPoolFailures("p", NowSeconds()).size(), 1u);
}

}  // namespace
}  // namespace orb
