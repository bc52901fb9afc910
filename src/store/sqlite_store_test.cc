#include "store/sqlite_store.h"

#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/store_test_util.h"

// What only the SQLite store has: its file, directory and modes, the schema version
// kept in the file, what it makes of files that are not its own, and failures of
// the file system underneath. What every store must do is in store_suite_test.cc.

namespace orb {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace orb::testing;

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

// ---------------------------------------------------------------------------
// Locks, health checks and failing writes.

// How the SQLite store words a lock timeout (store_suite_test.cc checks what every
// back end must say): the message names the file and the setting that bounds the
// wait.
TEST(SqliteStoreTest, LockTimeoutNamesTheFileAndTheSetting) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  SqliteStore holder(path, 1000);
  SqliteStore waiter(path, 100);
  holder.Transaction([&] {
    Request r = SampleRequest("req-holder");
    holder.InsertRequest(r);
    Request w = SampleRequest("req-waiter");
    Error e = CatchError([&] { waiter.InsertRequest(w); });
    EXPECT_EQ(e.code(), ErrorCode::kStore);
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr("locked"));
    EXPECT_THAT(e.what(), HasSubstr("storage.busy_timeout_ms"));
  });
}

// CheckHealth's probe row is gone from its table afterwards (store_suite_test.cc
// checks the counts every back end reports).
TEST(SqliteStoreTest, CheckHealthLeavesNoRowInItsProbeTable) {
  TempDir dir;
  const std::string path = dir.File("orb.db");
  SqliteStore store(path, 1000);
  store.CheckHealth();
  store.Transaction([&] { store.CheckHealth(); });
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM store_health").getInt(), 0);
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
// Many processes.

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

// ---------------------------------------------------------------------------
// Migrations.

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
    raw.exec("DROP TABLE IF EXISTS leases");
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
