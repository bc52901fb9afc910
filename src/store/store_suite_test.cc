#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"
#include "support/store_test_util.h"
#include "support/store_backends.h"

// What every store back end must do, run against each of them (StoreBackendNames):
// round trips, optimistic concurrency, queries, transactions and their write lock,
// many processes at once, and processes that die. What only one back end has (its
// files, its schema bookkeeping) is tested beside it, e.g. sqlite_store_test.cc.

namespace orb {
namespace {

using ::testing::HasSubstr;
using namespace orb::testing;

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

// The ids of `requests`, in their order.
std::vector<std::string> RequestIds(const std::vector<Request>& requests) {
  std::vector<std::string> ids;
  for (const Request& r : requests) ids.push_back(r.request_id);
  return ids;
}

// The ids of `machines`, in their order.
std::vector<std::string> MachineIds(const std::vector<Machine>& machines) {
  std::vector<std::string> ids;
  for (const Machine& m : machines) ids.push_back(m.machine_id);
  return ids;
}

// `text` with ASCII letters in lower case, to match wording that differs in case
// between back ends.
std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Each test gets a fresh, empty place of the back end named by the parameter.
class StoreSuiteTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    try {
      backend_ = MakeStoreBackend(GetParam());
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }

  // A new store on this test's place (the back end's usual lock wait).
  std::unique_ptr<Store> Open() const { return backend_->Open(); }

  // A new store on this test's place that waits at most `busy_timeout_ms` for
  // another store's lock.
  std::unique_ptr<Store> OpenWaiting(int busy_timeout_ms) const {
    StoreOptions options = backend_->Options();
    options.busy_timeout_ms = busy_timeout_ms;
    return OpenStore(options);
  }

  std::unique_ptr<StoreBackend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreSuiteTest, ::testing::ValuesIn(StoreBackendNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---------------------------------------------------------------------------
// Round trips and optimistic concurrency.

TEST_P(StoreSuiteTest, RequestRoundTripKeepsEveryFieldForEveryEnumValue) {
  std::unique_ptr<Store> store = Open();
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
        store->InsertRequest(r);
        EXPECT_EQ(r.version, 1);
        written.push_back(r);
      }
    }
  }
  for (const Request& want : written) {
    std::optional<Request> got = store->GetRequest(want.request_id);
    ASSERT_TRUE(got.has_value()) << want.request_id;
    ExpectSameRequest(want, *got);
  }
  EXPECT_EQ(store->ListRequests({}).size(), written.size());
}

TEST_P(StoreSuiteTest, MachineRoundTripKeepsEveryFieldForEveryEnumValue) {
  std::unique_ptr<Store> store = Open();
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
        store->InsertMachine(m);
        EXPECT_EQ(m.version, 1);
        written.push_back(m);
      }
    }
  }
  for (const Machine& want : written) {
    std::optional<Machine> got = store->GetMachine(want.machine_id);
    ASSERT_TRUE(got.has_value()) << want.machine_id;
    ExpectSameMachine(want, *got);
  }
}

TEST_P(StoreSuiteTest, UnknownIdsReadAsNothing) {
  std::unique_ptr<Store> store = Open();
  EXPECT_FALSE(store->GetRequest("req-missing").has_value());
  EXPECT_FALSE(store->GetMachine("i-missing").has_value());
  EXPECT_FALSE(store->FindMachineByName("ip-missing").has_value());
}

TEST_P(StoreSuiteTest, DuplicateInsertIsConflictAndKeepsTheFirst) {
  std::unique_ptr<Store> store = Open();
  Request first = SampleRequest("req-1");
  first.message = "first";
  store->InsertRequest(first);
  Request second = SampleRequest("req-1");
  second.message = "second";
  Error e = CatchError([&] { store->InsertRequest(second); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_THAT(e.what(), HasSubstr("req-1"));
  EXPECT_EQ(store->GetRequest("req-1")->message, "first");

  Machine m1 = SampleMachine("i-1", "req-1");
  m1.name = "first";
  store->InsertMachine(m1);
  Machine m2 = SampleMachine("i-1", "req-1");
  m2.name = "second";
  Error em = CatchError([&] { store->InsertMachine(m2); });
  EXPECT_EQ(em.code(), ErrorCode::kConflict);
  EXPECT_THAT(em.what(), HasSubstr("i-1"));
  EXPECT_EQ(store->GetMachine("i-1")->name, "first");
}

TEST_P(StoreSuiteTest, UpdateBumpsVersionAndStoresTheChange) {
  std::unique_ptr<Store> store = Open();
  Request r = SampleRequest("req-1");
  store->InsertRequest(r);
  r.status = RequestStatus::kComplete;
  r.message = "done";
  store->UpdateRequest(r);
  EXPECT_EQ(r.version, 2);
  ExpectSameRequest(r, *store->GetRequest("req-1"));

  Machine m = SampleMachine("i-1", "req-1");
  store->InsertMachine(m);
  m.state = MachineState::kRunning;
  m.private_ip = "10.0.0.1";
  store->UpdateMachine(m);
  store->UpdateMachine(m);
  EXPECT_EQ(m.version, 3);
  ExpectSameMachine(m, *store->GetMachine("i-1"));
}

TEST_P(StoreSuiteTest, StaleUpdateIsConflictAndLeavesTheRowUnchanged) {
  std::unique_ptr<Store> store = Open();
  Request r = SampleRequest("req-1");
  store->InsertRequest(r);
  Request mine = r;
  Request theirs = r;
  theirs.message = "theirs";
  store->UpdateRequest(theirs);
  mine.message = "mine";
  Error e = CatchError([&] { store->UpdateRequest(mine); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_THAT(e.what(), HasSubstr("req-1"));
  EXPECT_EQ(mine.version, 1) << "a failed update must not bump the caller's version";
  ExpectSameRequest(theirs, *store->GetRequest("req-1"));

  Machine m = SampleMachine("i-1", "req-1");
  store->InsertMachine(m);
  Machine stale = m;
  m.name = "theirs";
  store->UpdateMachine(m);
  stale.name = "mine";
  EXPECT_EQ(CatchError([&] { store->UpdateMachine(stale); }).code(), ErrorCode::kConflict);
  ExpectSameMachine(m, *store->GetMachine("i-1"));
}

TEST_P(StoreSuiteTest, UpdateOfUnknownIsNotFound) {
  std::unique_ptr<Store> store = Open();
  Request r = SampleRequest("req-ghost");
  r.version = 1;
  Error e = CatchError([&] { store->UpdateRequest(r); });
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_THAT(e.what(), HasSubstr("req-ghost"));
  Machine m = SampleMachine("i-ghost", "req-ghost");
  m.version = 1;
  EXPECT_EQ(CatchError([&] { store->UpdateMachine(m); }).code(), ErrorCode::kNotFound);
  EXPECT_FALSE(store->GetRequest("req-ghost").has_value());
  EXPECT_FALSE(store->GetMachine("i-ghost").has_value());
}

// ---------------------------------------------------------------------------
// Queries.

TEST_P(StoreSuiteTest, ListRequestsHonoursEveryFilterNewestFirst) {
  std::unique_ptr<Store> store = Open();
  auto add = [&](const std::string& id, EpochSeconds t, RequestStatus status,
                 const std::string& tmpl) {
    Request r = SampleRequest(id, t);
    r.status = status;
    r.template_id = tmpl;
    store->InsertRequest(r);
  };
  add("req-old", 100, RequestStatus::kRunning, "a");
  add("req-done", 200, RequestStatus::kComplete, "a");
  add("ret-open", 300, RequestStatus::kRunning, "");
  add("req-b", 300, RequestStatus::kRunning, "b");  // same second as ret-open, added later
  add("req-err", 150, RequestStatus::kCompleteWithError, "b");

  EXPECT_THAT(RequestIds(store->ListRequests({})),
              ::testing::ElementsAre("req-b", "ret-open", "req-done", "req-err", "req-old"));
  EXPECT_THAT(RequestIds(store->ListRequests(Rq(true, std::nullopt, "", 0))),
              ::testing::ElementsAre("req-b", "ret-open", "req-old"));
  EXPECT_THAT(RequestIds(store->ListRequests(Rq(false, RequestKind::kReturn, "", 0))),
              ::testing::ElementsAre("ret-open"));
  EXPECT_THAT(RequestIds(store->ListRequests(Rq(false, RequestKind::kAcquire, "", 0))),
              ::testing::ElementsAre("req-b", "req-done", "req-err", "req-old"));
  EXPECT_THAT(RequestIds(store->ListRequests(Rq(false, std::nullopt, "a", 0))),
              ::testing::ElementsAre("req-done", "req-old"));
  EXPECT_THAT(RequestIds(store->ListRequests(Rq(false, std::nullopt, "", 2))),
              ::testing::ElementsAre("req-b", "ret-open"));
  EXPECT_THAT(RequestIds(store->ListRequests(Rq(true, RequestKind::kAcquire, "a", 0))),
              ::testing::ElementsAre("req-old"));
  EXPECT_THAT(RequestIds(store->ListRequests(Rq(false, std::nullopt, "none", 0))),
              ::testing::IsEmpty());
  // A status filter applies before the limit.
  RequestQuery errors;
  errors.status = RequestStatus::kCompleteWithError;
  errors.limit = 1;
  EXPECT_THAT(RequestIds(store->ListRequests(errors)), ::testing::ElementsAre("req-err"));
  errors.status = RequestStatus::kComplete;
  EXPECT_THAT(RequestIds(store->ListRequests(errors)), ::testing::ElementsAre("req-done"));
}

TEST_P(StoreSuiteTest, ListMachinesHonoursEveryFilterNewestFirst) {
  std::unique_ptr<Store> store = Open();
  auto add = [&](const std::string& id, const std::string& req, const std::string& ret,
                 EpochSeconds t, MachineState state, const std::string& tmpl) {
    Machine m = SampleMachine(id, req, t);
    m.return_request_id = ret;
    m.state = state;
    m.template_id = tmpl;
    store->InsertMachine(m);
  };
  add("i-1", "req-1", "", 100, MachineState::kRunning, "a");
  add("i-2", "req-1", "ret-1", 200, MachineState::kShuttingDown, "a");
  add("i-3", "req-1", "ret-1", 300, MachineState::kTerminated, "a");
  add("i-4", "req-2", "", 300, MachineState::kPending, "b");
  add("i-5", "req-2", "ret-2", 50, MachineState::kFailed, "b");
  add("i-6", "req-2", "", 60, MachineState::kGone, "b");
  add("i-7", "req-2", "", 70, MachineState::kStopped, "b");

  EXPECT_THAT(MachineIds(store->ListMachines(Mq("req-1", "", "", false, 0))),
              ::testing::ElementsAre("i-3", "i-2", "i-1"));
  EXPECT_THAT(MachineIds(store->ListMachines(Mq("", "ret-1", "", false, 0))),
              ::testing::ElementsAre("i-3", "i-2"));
  EXPECT_THAT(MachineIds(store->ListMachines(Mq("", "", "b", false, 0))),
              ::testing::ElementsAre("i-4", "i-7", "i-6", "i-5"));
  EXPECT_THAT(MachineIds(store->ListMachines(Mq("", "", "", true, 0))),
              ::testing::ElementsAre("i-4", "i-2", "i-1", "i-7"));
  EXPECT_THAT(MachineIds(store->ListMachines(Mq("req-2", "", "", true, 0))),
              ::testing::ElementsAre("i-4", "i-7"));
  EXPECT_THAT(MachineIds(store->ListMachines(Mq("", "", "", false, 3))),
              ::testing::ElementsAre("i-4", "i-3", "i-2"));
  EXPECT_THAT(MachineIds(store->ListMachines(Mq("req-none", "", "", false, 0))),
              ::testing::IsEmpty());
}

TEST_P(StoreSuiteTest, ActiveOnlyMeansNotFinal) {
  std::unique_ptr<Store> store = Open();
  std::set<std::string> want;
  int n = 0;
  for (MachineState state : kAllMachineStates) {
    Machine m = SampleMachine("i-" + std::string(MachineStateName(state)), "req-1", 100 + n++);
    m.state = state;
    store->InsertMachine(m);
    if (!IsFinalMachineState(state)) want.insert(m.machine_id);
  }
  std::vector<std::string> got = MachineIds(store->ListMachines(Mq("", "", "", true, 0)));
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
  EXPECT_EQ(got.size(), want.size());
}

TEST_P(StoreSuiteTest, FindMachineByNameReturnsTheNewest) {
  std::unique_ptr<Store> store = Open();
  Machine old_one = SampleMachine("i-old", "req-1", 100);
  old_one.name = "ip-10-0-0-1.ec2.internal";
  store->InsertMachine(old_one);
  Machine new_one = SampleMachine("i-new", "req-2", 200);
  new_one.name = "ip-10-0-0-1.ec2.internal";  // the private IP was reused
  store->InsertMachine(new_one);
  Machine unnamed = SampleMachine("i-unnamed", "req-2", 300);
  store->InsertMachine(unnamed);

  std::optional<Machine> found = store->FindMachineByName("ip-10-0-0-1.ec2.internal");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->machine_id, "i-new");
  EXPECT_FALSE(store->FindMachineByName("").has_value()) << "a machine without a name yet";
  EXPECT_FALSE(store->FindMachineByName("ip-10-0-0-2.ec2.internal").has_value());
}

TEST_P(StoreSuiteTest, PoolFailuresAreRememberedPerProviderUntilTheyExpire) {
  std::unique_ptr<Store> store = Open();
  const EpochSeconds now = NowSeconds();
  store->RecordPoolFailure({"east", "c5.large|subnet-1|spot", "capacity", "ICE", now + 180});
  store->RecordPoolFailure({"east", "m5.large|subnet-1|spot", "price", "too low", now + 60});
  store->RecordPoolFailure({"west", "c5.large|subnet-9|spot", "quota", "limit", now + 180});
  std::vector<PoolFailure> east = store->ListPoolFailures("east", now);
  ASSERT_EQ(east.size(), 2u);
  EXPECT_EQ(east[0].pool, "m5.large|subnet-1|spot") << "oldest expiry first";
  EXPECT_EQ(east[0].kind, "price");
  EXPECT_EQ(east[1].reason, "ICE");
  // Later, the shorter one has expired and is no longer steering launches.
  std::vector<PoolFailure> later = store->ListPoolFailures("east", now + 100);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].pool, "c5.large|subnet-1|spot");
  EXPECT_TRUE(store->ListPoolFailures("east", now + 180).empty());
  // A new failure of the same pool replaces the old record (a longer memory).
  store->RecordPoolFailure({"east", "c5.large|subnet-1|spot", "capacity", "ICE again", now + 600});
  later = store->ListPoolFailures("east", now + 300);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].reason, "ICE again");
  EXPECT_EQ(store->Info().counts["pool_failures"], 3);
}

// ---------------------------------------------------------------------------
// Transactions.

TEST_P(StoreSuiteTest, TransactionRollsBackEverythingWhenFnThrows) {
  std::unique_ptr<Store> store = Open();
  Request existing = SampleRequest("req-existing");
  store->InsertRequest(existing);

  EXPECT_THROW(store->Transaction([&] {
    Request r = SampleRequest("req-new");
    store->InsertRequest(r);
    Machine m = SampleMachine("i-new", "req-new");
    store->InsertMachine(m);
    Request changed = existing;
    changed.message = "changed";
    store->UpdateRequest(changed);
    throw std::logic_error("broker decided to give up");
  }),
               std::logic_error);

  EXPECT_FALSE(store->GetRequest("req-new").has_value());
  EXPECT_FALSE(store->GetMachine("i-new").has_value());
  ExpectSameRequest(existing, *store->GetRequest("req-existing"));
  // The store is usable afterwards.
  Request after = SampleRequest("req-after");
  store->InsertRequest(after);
  EXPECT_TRUE(store->GetRequest("req-after").has_value());
}

TEST_P(StoreSuiteTest, NestedTransactionJoinsTheOuterOne) {
  std::unique_ptr<Store> store = Open();
  std::unique_ptr<Store> observer = Open();  // another connection sees only committed data

  store->Transaction([&] {
    Request a = SampleRequest("req-a");
    store->InsertRequest(a);
    store->Transaction([&] {
      Request b = SampleRequest("req-b");
      store->InsertRequest(b);
    });
    EXPECT_FALSE(observer->GetRequest("req-b").has_value())
        << "the inner transaction must not commit on its own";
  });
  EXPECT_TRUE(observer->GetRequest("req-a").has_value());
  EXPECT_TRUE(observer->GetRequest("req-b").has_value());

  // An outer failure undoes what the inner one wrote.
  EXPECT_THROW(store->Transaction([&] {
    store->Transaction([&] {
      Request c = SampleRequest("req-c");
      store->InsertRequest(c);
    });
    throw std::runtime_error("outer fails");
  }),
               std::runtime_error);
  EXPECT_FALSE(store->GetRequest("req-c").has_value());

  // An inner failure the outer function handles undoes only the inner writes.
  store->Transaction([&] {
    Request d = SampleRequest("req-d");
    store->InsertRequest(d);
    try {
      store->Transaction([&] {
        Request e = SampleRequest("req-e");
        store->InsertRequest(e);
        throw std::runtime_error("inner fails");
      });
    } catch (const std::runtime_error&) {
    }
  });
  EXPECT_TRUE(observer->GetRequest("req-d").has_value());
  EXPECT_FALSE(observer->GetRequest("req-e").has_value());
}

TEST_P(StoreSuiteTest, ConflictInsideTransactionRollsBackWhenRethrown) {
  std::unique_ptr<Store> store = Open();
  Request dup = SampleRequest("req-dup");
  store->InsertRequest(dup);
  Error e = CatchError([&] {
    store->Transaction([&] {
      Request fresh = SampleRequest("req-fresh");
      store->InsertRequest(fresh);
      Request again = SampleRequest("req-dup");
      store->InsertRequest(again);
    });
  });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_FALSE(store->GetRequest("req-fresh").has_value());
}

// Another store waits for the lock at most its busy timeout, then fails with a
// store error that says it was locked (each back end words it its own way).
TEST_P(StoreSuiteTest, TransactionHoldsTheWriteLockAndOthersGetAClearError) {
  std::unique_ptr<Store> holder = Open();
  std::unique_ptr<Store> waiter = OpenWaiting(100);
  holder->Transaction([&] {
    Request r = SampleRequest("req-holder");
    holder->InsertRequest(r);
    Request w = SampleRequest("req-waiter");
    auto start = std::chrono::steady_clock::now();
    Error e = CatchError([&] { waiter->InsertRequest(w); });
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(e.code(), ErrorCode::kStore);
    EXPECT_THAT(Lower(e.what()), HasSubstr("lock"));
    EXPECT_GE(waited, std::chrono::milliseconds(90)) << "it must wait for the busy timeout";
    Error t = CatchError([&] { waiter->Transaction([] {}); });
    EXPECT_EQ(t.code(), ErrorCode::kStore);
    EXPECT_THAT(Lower(t.what()), HasSubstr("lock"));
  });
  Request w = SampleRequest("req-waiter");
  waiter->InsertRequest(w);  // the lock is free again
  EXPECT_TRUE(holder->GetRequest("req-waiter").has_value());
  EXPECT_TRUE(waiter->GetRequest("req-holder").has_value());
}

// ---------------------------------------------------------------------------
// Health checks.

TEST_P(StoreSuiteTest, CheckHealthPassesAndLeavesNoTrace) {
  std::unique_ptr<Store> store = Open();
  Request r = SampleRequest("req-1");
  store->InsertRequest(r);
  const StoreInfo before = store->Info();
  store->CheckHealth();
  store->Transaction([&] { store->CheckHealth(); });
  StoreInfo info = store->Info();
  EXPECT_EQ(info.counts, before.counts);
  EXPECT_EQ(info.counts["requests"], 1);
  EXPECT_EQ(info.counts["machines"], 0);
  ExpectSameRequest(r, *store->GetRequest("req-1"));
}

TEST_P(StoreSuiteTest, CheckHealthFailsWhenTheStoreIsLocked) {
  std::unique_ptr<Store> holder = Open();
  std::unique_ptr<Store> checker = OpenWaiting(50);
  holder->Transaction([&] {
    Error e = CatchError([&] { checker->CheckHealth(); });
    EXPECT_EQ(e.code(), ErrorCode::kStore);
    EXPECT_THAT(Lower(e.what()), HasSubstr("lock"));
  });
  checker->CheckHealth();
}

// ---------------------------------------------------------------------------
// Many processes, and processes that die.

// HostFactory runs one orb process per call and calls overlap: every child opens
// its own store on the same place, inserts its own rows and increments one shared
// counter with read-decide-write. No row and no increment may be lost.
TEST_P(StoreSuiteTest, ManyProcessesWriteConcurrentlyWithoutLosingAnything) {
  constexpr int kChildren = 8;
  constexpr int kInsertsPerChild = 200;
  constexpr int kIncrementsPerChild = 50;
  {
    std::unique_ptr<Store> store = Open();
    Request counter = SampleRequest("req-counter", 1);
    counter.requested_count = 0;
    store->InsertRequest(counter);
  }  // closed before fork: a connection must not cross fork()

  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(ForkChild([&, c]() -> int {
      ::close(gate[1]);
      char byte;
      if (::read(gate[0], &byte, 1) != 0) return 3;  // start together
      StoreOptions options = backend_->Options();
      options.busy_timeout_ms = 30000;
      std::unique_ptr<Store> store = OpenStore(options);
      for (int i = 0; i < kInsertsPerChild; ++i) {
        const std::string id = "req-" + std::to_string(c) + "-" + std::to_string(i);
        store->Transaction([&] {
          Request r = SampleRequest(id, 1000 + i);
          store->InsertRequest(r);
          Machine m = SampleMachine("i-" + std::to_string(c) + "-" + std::to_string(i), id);
          store->InsertMachine(m);
        });
        if (i % (kInsertsPerChild / kIncrementsPerChild) == 0) {
          store->Transaction([&] {
            std::optional<Request> counter = store->GetRequest("req-counter");
            if (!counter) throw std::runtime_error("counter vanished");
            ++counter->requested_count;
            store->UpdateRequest(*counter);
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

  std::unique_ptr<Store> store = Open();
  StoreInfo info = store->Info();
  EXPECT_EQ(info.counts["requests"], 1 + kChildren * kInsertsPerChild);
  EXPECT_EQ(info.counts["machines"], kChildren * kInsertsPerChild);
  EXPECT_EQ(store->GetRequest("req-counter")->requested_count, kChildren * kIncrementsPerChild);
  EXPECT_EQ(store->GetRequest("req-counter")->version, 1 + kChildren * kIncrementsPerChild);
  for (int c = 0; c < kChildren; ++c) {
    EXPECT_EQ(store->ListMachines(Mq("req-" + std::to_string(c) + "-199", "", "", false, 0)).size(),
              1u);
  }
}

// The broker launches cloud capacity only after its intent is committed: once
// Transaction returned, the row must survive the process being killed.
TEST_P(StoreSuiteTest, CommittedWriteSurvivesSigkill) {
  { std::unique_ptr<Store> store = Open(); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  Request r = SampleRequest("req-durable");
  r.client_token = "token-durable";
  pid_t pid = ForkChild([&]() -> int {
    ::close(ready[0]);
    std::unique_ptr<Store> store = OpenStore(backend_->Options());
    store->Transaction([&] { store->InsertRequest(r); });
    if (::write(ready[1], "c", 1) != 1) return 2;
    for (;;) ::pause();  // killed here, the store still open
  });
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child died before committing";
  ::close(ready[0]);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);

  std::unique_ptr<Store> store = Open();
  std::optional<Request> got = store->GetRequest("req-durable");
  ASSERT_TRUE(got.has_value());
  r.version = 1;
  ExpectSameRequest(r, *got);
}

// A process killed in the middle of a transaction leaves nothing of it behind, and
// does not leave the store locked.
TEST_P(StoreSuiteTest, UncommittedWriteOfAKilledProcessVanishesAndFreesTheLock) {
  { std::unique_ptr<Store> store = Open(); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ForkChild([&]() -> int {
    ::close(ready[0]);
    std::unique_ptr<Store> store = OpenStore(backend_->Options());
    store->Transaction([&] {
      Request r = SampleRequest("req-halfway");
      store->InsertRequest(r);
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

  // A lock the dead process still held would outlast any wait; a server back end
  // may take a moment to notice its client is gone.
  std::unique_ptr<Store> store = OpenWaiting(1000);
  EXPECT_FALSE(store->GetRequest("req-halfway").has_value());
  Request next = SampleRequest("req-next");
  store->InsertRequest(next);
  EXPECT_TRUE(store->GetRequest("req-next").has_value());
}

// ---------------------------------------------------------------------------
// Leases: one process of all those sharing the store does a job at a time.

TEST_P(StoreSuiteTest, ALeaseIsHeldUntilItRunsOutAndRenewedOnlyByItsHolder) {
  std::unique_ptr<Store> store = Open();
  EXPECT_FALSE(store->GetLease("reconcile").has_value());
  EXPECT_TRUE(store->ClaimLease("reconcile", "a", 1000, 60));
  EXPECT_FALSE(store->ClaimLease("reconcile", "b", 1059, 60)) << "[still a's]";
  EXPECT_TRUE(store->ClaimLease("reconcile", "a", 1030, 60)) << "[a renews it]";
  std::optional<Lease> lease = store->GetLease("reconcile");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->holder, "a");
  EXPECT_EQ(lease->expires_at, 1090);
  EXPECT_FALSE(store->ClaimLease("reconcile", "b", 1089, 60));
  EXPECT_TRUE(store->ClaimLease("reconcile", "b", 1090, 60)) << "[ran out: b takes it]";
  EXPECT_EQ(store->GetLease("reconcile")->holder, "b");
  EXPECT_TRUE(store->ClaimLease("other-job", "a", 1090, 60)) << "[leases are independent]";
  std::unique_ptr<Store> another = Open();
  EXPECT_EQ(another->GetLease("reconcile")->holder, "b") << "[kept in the store]";
}

TEST_P(StoreSuiteTest, OfManyProcessesClaimingALeaseAtOnceExactlyOneWins) {
  { std::unique_ptr<Store> store = Open(); }  // created before fork
  constexpr int kChildren = 8;
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(ForkChild([&, c]() -> int {
      ::close(gate[1]);
      char byte;
      if (::read(gate[0], &byte, 1) != 0) return 3;
      StoreOptions options = backend_->Options();
      options.busy_timeout_ms = 30000;
      std::unique_ptr<Store> store = OpenStore(options);
      return store->ClaimLease("reconcile", "child-" + std::to_string(c), 5000, 300) ? 0 : 1;
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);
  std::vector<int> codes = WaitChildren(pids, std::chrono::seconds(60));
  int winners = 0;
  for (int c = 0; c < kChildren; ++c) {
    EXPECT_TRUE(codes[c] == 0 || codes[c] == 1) << "child " << c << " failed: " << codes[c];
    winners += codes[c] == 0;
  }
  EXPECT_EQ(winners, 1);
  std::unique_ptr<Store> store = Open();
  std::optional<Lease> lease = store->GetLease("reconcile");
  ASSERT_TRUE(lease.has_value());
  for (int c = 0; c < kChildren; ++c) {
    if (codes[c] == 0) {
      EXPECT_EQ(lease->holder, "child-" + std::to_string(c));
    }
  }
}

}  // namespace
}  // namespace orb
