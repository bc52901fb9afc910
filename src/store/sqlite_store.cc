#include "store/sqlite_store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <thread>
#include <utility>

#include "common/error.h"

namespace orb {
namespace {

// One step of the schema history. Steps run in order, each inside the migration
// transaction, and `PRAGMA user_version` is set to the step's number after it.
// Never edit a released step: add a new one.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE requests (
  request_id      TEXT    NOT NULL PRIMARY KEY,
  kind            TEXT    NOT NULL,
  template_id     TEXT    NOT NULL,
  provider_name   TEXT    NOT NULL,
  requested_count INTEGER NOT NULL,
  status          TEXT    NOT NULL,
  launch_state    TEXT    NOT NULL,
  client_token    TEXT    NOT NULL,
  message         TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  deadline        INTEGER NOT NULL,
  provider_data   TEXT    NOT NULL,
  version         INTEGER NOT NULL
);
CREATE INDEX requests_open ON requests (created_at) WHERE status = 'running';
CREATE INDEX requests_created ON requests (created_at);
CREATE INDEX requests_template ON requests (template_id, created_at);

CREATE TABLE machines (
  machine_id        TEXT    NOT NULL PRIMARY KEY,
  name              TEXT    NOT NULL,
  request_id        TEXT    NOT NULL,
  return_request_id TEXT    NOT NULL,
  template_id       TEXT    NOT NULL,
  provider_name     TEXT    NOT NULL,
  instance_type     TEXT    NOT NULL,
  private_ip        TEXT    NOT NULL,
  public_ip         TEXT    NOT NULL,
  availability_zone TEXT    NOT NULL,
  price_type        TEXT    NOT NULL,
  cloud_host_id     TEXT    NOT NULL,
  state             TEXT    NOT NULL,
  acquire_result    TEXT    NOT NULL,
  return_result     TEXT    NOT NULL,
  terminate_refused INTEGER NOT NULL,
  weight            INTEGER NOT NULL,
  launch_time       INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  message           TEXT    NOT NULL,
  version           INTEGER NOT NULL
);
CREATE INDEX machines_request ON machines (request_id, created_at);
CREATE INDEX machines_return ON machines (return_request_id, created_at);
CREATE INDEX machines_name ON machines (name, created_at);
CREATE INDEX machines_template ON machines (template_id, created_at);
CREATE INDEX machines_active ON machines (created_at)
  WHERE state NOT IN ('terminated', 'failed', 'gone');

CREATE TABLE store_health (checked_at INTEGER NOT NULL);
)sql"},
    {2, R"sql(
CREATE TABLE pool_failures (
  provider_name TEXT    NOT NULL,
  pool          TEXT    NOT NULL,
  kind          TEXT    NOT NULL,
  reason        TEXT    NOT NULL,
  until         INTEGER NOT NULL,
  PRIMARY KEY (provider_name, pool)
);
)sql"},
    {3, R"sql(
ALTER TABLE requests ADD COLUMN acknowledged_at INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET acknowledged_at = created_at;
)sql"},
    {4, R"sql(
ALTER TABLE machines ADD COLUMN notice_action TEXT NOT NULL DEFAULT '';
ALTER TABLE machines ADD COLUMN notice_takes_effect_at INTEGER NOT NULL DEFAULT 0;
)sql"},
    // What changed lately (the event stream of `orb serve`).
    {5, R"sql(
CREATE INDEX requests_updated ON requests (updated_at);
CREATE INDEX machines_updated ON machines (updated_at);
)sql"},
    // Jobs one process of all sharing the store does at a time.
    {6, R"sql(
CREATE TABLE leases (
  name       TEXT    NOT NULL PRIMARY KEY,
  holder     TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
);
)sql"},
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Column names in bind order; `version` is always last and handled apart. The first
// column is the primary key.
constexpr std::string_view kRequestColumns[] = {
    "request_id", "kind",         "template_id",  "provider_name", "requested_count",
    "status",     "launch_state", "client_token", "message",       "created_at",
    "updated_at", "deadline",     "provider_data", "acknowledged_at"};

constexpr std::string_view kMachineColumns[] = {"machine_id",    "name",
                                                "request_id",    "return_request_id",
                                                "template_id",   "provider_name",
                                                "instance_type", "private_ip",
                                                "public_ip",     "availability_zone",
                                                "price_type",    "cloud_host_id",
                                                "state",         "acquire_result",
                                                "return_result", "terminate_refused",
                                                "weight",        "launch_time",
                                                "created_at",    "updated_at",
                                                "message",       "notice_action",
                                                "notice_takes_effect_at"};

// The SQL texts for one table, built once from its column list.
struct TableSql {
  std::string select;  // SELECT <columns>, version FROM <table>
  std::string insert;  // INSERT ... VALUES (?1..?N, 1)
  std::string update;  // UPDATE ... SET col=?k..., version=version+1 WHERE key=?1 AND version=?N+1
  int columns;         // N, the number of bound columns (without version)
};

template <std::size_t N>
TableSql BuildTableSql(std::string_view table, const std::string_view (&cols)[N]) {
  TableSql t;
  t.columns = static_cast<int>(N);
  std::string names;
  std::string params;
  std::string sets;
  for (std::size_t i = 0; i < N; ++i) {
    std::string p = "?" + std::to_string(i + 1);
    if (i > 0) {
      names += ", ";
      params += ", ";
    }
    names += cols[i];
    params += p;
    if (i > 0) sets += std::string(cols[i]) + " = " + p + ", ";
  }
  t.select = "SELECT " + names + ", version FROM " + std::string(table);
  t.insert =
      "INSERT INTO " + std::string(table) + " (" + names + ", version) VALUES (" + params + ", 1)";
  t.update = "UPDATE " + std::string(table) + " SET " + sets + "version = version + 1 WHERE " +
             std::string(cols[0]) + " = ?1 AND version = ?" + std::to_string(N + 1);
  return t;
}

const TableSql& RequestSql() {
  static const TableSql sql = BuildTableSql("requests", kRequestColumns);
  return sql;
}

const TableSql& MachineSql() {
  static const TableSql sql = BuildTableSql("machines", kMachineColumns);
  return sql;
}

// Machines not in a final state (IsFinalMachineState), spelled as in the partial index
// machines_active. The test ActiveOnlyMeansNotFinal keeps the two in step.
constexpr std::string_view kActiveMachineCondition =
    "state NOT IN ('terminated', 'failed', 'gone')";

// Newest first, ties broken by insertion order.
constexpr std::string_view kNewestFirst = " ORDER BY created_at DESC, rowid DESC";

void BindText(SQLite::Statement& stmt, int index, std::string_view value) {
  stmt.bind(index, std::string(value));
}

void BindRequest(SQLite::Statement& stmt, const Request& r) {
  int i = 0;
  BindText(stmt, ++i, r.request_id);
  BindText(stmt, ++i, RequestKindName(r.kind));
  BindText(stmt, ++i, r.template_id);
  BindText(stmt, ++i, r.provider_name);
  stmt.bind(++i, static_cast<std::int64_t>(r.requested_count));
  BindText(stmt, ++i, RequestStatusName(r.status));
  BindText(stmt, ++i, LaunchStateName(r.launch_state));
  BindText(stmt, ++i, r.client_token);
  BindText(stmt, ++i, r.message);
  stmt.bind(++i, static_cast<std::int64_t>(r.created_at));
  stmt.bind(++i, static_cast<std::int64_t>(r.updated_at));
  stmt.bind(++i, static_cast<std::int64_t>(r.deadline));
  BindText(stmt, ++i, r.provider_data);
  stmt.bind(++i, static_cast<std::int64_t>(r.acknowledged_at));
}

void BindMachine(SQLite::Statement& stmt, const Machine& m) {
  int i = 0;
  BindText(stmt, ++i, m.machine_id);
  BindText(stmt, ++i, m.name);
  BindText(stmt, ++i, m.request_id);
  BindText(stmt, ++i, m.return_request_id);
  BindText(stmt, ++i, m.template_id);
  BindText(stmt, ++i, m.provider_name);
  BindText(stmt, ++i, m.instance_type);
  BindText(stmt, ++i, m.private_ip);
  BindText(stmt, ++i, m.public_ip);
  BindText(stmt, ++i, m.availability_zone);
  BindText(stmt, ++i, m.price_type);
  BindText(stmt, ++i, m.cloud_host_id);
  BindText(stmt, ++i, MachineStateName(m.state));
  BindText(stmt, ++i, MachineResultName(m.acquire_result));
  BindText(stmt, ++i, MachineResultName(m.return_result));
  stmt.bind(++i, static_cast<std::int64_t>(m.terminate_refused ? 1 : 0));
  stmt.bind(++i, static_cast<std::int64_t>(m.weight));
  stmt.bind(++i, static_cast<std::int64_t>(m.launch_time));
  stmt.bind(++i, static_cast<std::int64_t>(m.created_at));
  stmt.bind(++i, static_cast<std::int64_t>(m.updated_at));
  BindText(stmt, ++i, m.message);
  BindText(stmt, ++i, m.notice_action);
  stmt.bind(++i, static_cast<std::int64_t>(m.notice_takes_effect_at));
}

bool IsPrimaryKeyViolation(const SQLite::Exception& e) {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY ||
         e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE;
}

// Creates `dir` and any missing parents with mode 0700 (existing ones are left as
// they are). `db_path` is only for the message.
void CreateDirectories(const std::filesystem::path& dir, const std::string& db_path) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw Error(ErrorCode::kStore, "cannot create directory " + dir.string() +
                                       " for the database " + db_path +
                                       ": a file of that name is in the way");
  }
  int stat_errno = errno;
  if (stat_errno == ENOENT) {
    std::filesystem::path parent = dir.parent_path();
    if (!parent.empty() && parent != dir) CreateDirectories(parent, db_path);
    if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return;
    stat_errno = errno;
  }
  throw Error(ErrorCode::kStore, "cannot create directory " + dir.string() + " for the database " +
                                     db_path + ": " + std::strerror(stat_errno) +
                                     "; create it or set storage.path to a writable place");
}

// Creates the database file with mode 0600 if it does not exist yet, so that SQLite
// (and its -wal/-shm files, which copy the file's mode) never make it world-readable.
void CreateFileIfMissing(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno == EEXIST) return;
  int err = errno;
  throw Error(ErrorCode::kStore, "cannot create the database file " + path + ": " +
                                     std::strerror(err) +
                                     "; make its directory writable by this user or set "
                                     "storage.path to a writable place");
}

}  // namespace

int SqliteStore::CurrentSchemaVersion() { return kSchemaVersion; }

template <typename Fn>
auto SqliteStore::Guard(std::string_view action, Fn&& fn) -> decltype(fn()) {
  EnsureTransactionAlive(action);
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    Fail(e, action);
  }
}

SqliteStore::SqliteStore(std::string path, int busy_timeout_ms)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms < 0 ? 0 : busy_timeout_ms) {
  Open();
  Configure();
  Migrate();
}

SqliteStore::~SqliteStore() = default;

void SqliteStore::Open() {
  if (path_.empty()) {
    throw Error(ErrorCode::kStore, "the database path is empty; set storage.path");
  }
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) CreateDirectories(parent, path_);
  CreateFileIfMissing(path_);
  try {
    db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE, busy_timeout_ms_);
  } catch (const SQLite::Exception& e) {
    Fail(e, "open the database");
  }
  if (sqlite3_db_readonly(db_->getHandle(), "main") == 1) {
    throw Error(ErrorCode::kStore, "cannot open the database " + path_ +
                                       " for writing: it is read-only; make the file and its "
                                       "directory writable by this user");
  }
}

void SqliteStore::Configure() {
  Guard("open the database", [&] {
    // Reading the journal mode reads the file header: a file that is not a database
    // fails here, before anything is written to it.
    std::string mode = db_->execAndGet("PRAGMA journal_mode").getString();
    if (mode != "wal") {
      // Switching to WAL needs a moment of exclusive access; another process opening
      // the same fresh file may hold it, so retry within the busy timeout.
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
      for (;;) {
        try {
          mode = db_->execAndGet("PRAGMA journal_mode = WAL").getString();
          break;
        } catch (const SQLite::Exception& e) {
          if ((e.getErrorCode() & 0xff) != SQLITE_BUSY ||
              std::chrono::steady_clock::now() >= deadline) {
            throw;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    }
    db_->exec("PRAGMA synchronous = FULL");
    db_->exec("PRAGMA foreign_keys = ON");
  });
}

int SqliteStore::UserVersion() { return db_->execAndGet("PRAGMA user_version").getInt(); }

void SqliteStore::Migrate() {
  auto refuse_newer = [&](int found) {
    throw Error(ErrorCode::kStore, path_ + ": database schema version " + std::to_string(found) +
                                       " is newer than this orb supports (" +
                                       std::to_string(kSchemaVersion) + "); upgrade orb");
  };
  int found = Guard("read the schema version", [&] { return UserVersion(); });
  if (found > kSchemaVersion) refuse_newer(found);
  if (found == kSchemaVersion) return;

  // Another process may be migrating the same file right now: take the write lock
  // first, then look again.
  BeginImmediate("migrate the schema");
  try {
    Guard("migrate the schema", [&] {
      found = UserVersion();
      if (found > kSchemaVersion) refuse_newer(found);
      if (found == 0) {
        int tables =
            db_->execAndGet("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
                .getInt();
        if (tables > 0) {
          throw Error(ErrorCode::kStore,
                      path_ +
                          " is a SQLite database of another program (it has tables but no "
                          "orb schema version); set storage.path to a new file");
        }
      }
      for (const Migration& m : kMigrations) {
        if (m.version <= found) continue;
        db_->exec(m.sql);
        db_->exec("PRAGMA user_version = " + std::to_string(m.version));
      }
    });
    Commit("migrate the schema");
  } catch (...) {
    RollbackQuietly();
    throw;
  }
}

void SqliteStore::Exec(const std::string& sql, std::string_view action) {
  Guard(action, [&] { db_->exec(sql); });
}

void SqliteStore::BeginImmediate(std::string_view action) {
  // The busy handler covers the wait for the write lock; past the timeout SQLite
  // answers SQLITE_BUSY, which Fail reports as "locked".
  Exec("BEGIN IMMEDIATE", action);
}

void SqliteStore::Commit(std::string_view action) {
  if (sqlite3_get_autocommit(db_->getHandle()) != 0) {
    throw Error(ErrorCode::kStore, "cannot " + std::string(action) + ": the transaction on " +
                                       path_ +
                                       " was already rolled back after an earlier error; "
                                       "none of its changes were saved");
  }
  try {
    db_->exec("COMMIT");
  } catch (const SQLite::Exception& e) {
    Error error = Describe(e, action);  // before the rollback resets the OS error
    RollbackQuietly();
    throw error;
  }
}

void SqliteStore::RollbackQuietly() {
  if (db_ && sqlite3_get_autocommit(db_->getHandle()) == 0) db_->tryExec("ROLLBACK");
}

void SqliteStore::EnsureTransactionAlive(std::string_view action) {
  // SQLite rolls a transaction back by itself after some errors (disk full, I/O
  // error). Writing on would then commit piecemeal, so refuse instead.
  if (depth_ > 0 && sqlite3_get_autocommit(db_->getHandle()) != 0) {
    throw Error(ErrorCode::kStore, "cannot " + std::string(action) + ": the transaction on " +
                                       path_ +
                                       " was already rolled back after an earlier error; "
                                       "none of its changes were saved");
  }
}

void SqliteStore::Fail(const SQLite::Exception& e, std::string_view action) const {
  throw Describe(e, action);
}

Error SqliteStore::Describe(const SQLite::Exception& e, std::string_view action) const {
  const std::string what = "cannot " + std::string(action) + ": ";
  std::string detail = e.what();
  // The operating system's reason ("No space left on device", "Permission denied")
  // says more than SQLite's generic "disk I/O error".
  const int os_errno = db_ ? sqlite3_system_errno(db_->getHandle()) : 0;
  if (os_errno != 0) detail += ": " + std::string(std::strerror(os_errno));
  int primary = e.getErrorCode() & 0xff;
  if (primary == SQLITE_IOERR && (os_errno == ENOSPC || os_errno == EDQUOT)) primary = SQLITE_FULL;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::kStore, what + "the database " + path_ +
                                          " stayed locked by another process for more than " +
                                          std::to_string(busy_timeout_ms_) +
                                          " ms; retry, or raise storage.busy_timeout_ms");
    case SQLITE_NOTADB:
      return Error(ErrorCode::kStore, what + path_ + " is not an orb database (" + detail +
                                          "); move it aside or set storage.path to another file");
    case SQLITE_CORRUPT:
      return Error(ErrorCode::kStore, what + "the database " + path_ + " is corrupt (" + detail +
                                          "); restore it from a backup or move it aside");
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error(ErrorCode::kStore,
                   what + "the database " + path_ + " is read-only (" + detail +
                       "); make the file, its directory and its -wal/-shm files writable by "
                       "this user");
    case SQLITE_FULL:
      return Error(ErrorCode::kStore, what + "the disk holding the database " + path_ +
                                          " is full (" + detail +
                                          "); free some space and retry (the change was not "
                                          "saved)");
    case SQLITE_CANTOPEN:
      return Error(ErrorCode::kStore,
                   what + "cannot open the database " + path_ + " (" + detail +
                       "); check that the file and its directory are readable and writable "
                       "by this user");
    case SQLITE_IOERR:
      return Error(ErrorCode::kStore, what + "I/O error on the database " + path_ + " (" + detail +
                                          "); check the disk and retry");
    default:
      return Error(ErrorCode::kStore, what + "database " + path_ + ": " + detail);
  }
}

void SqliteStore::Transaction(const std::function<void()>& fn) {
  if (depth_ > 0) {
    // Join the outer transaction; a savepoint lets a failing nested call undo just
    // its own writes if the outer function chooses to carry on.
    const std::string savepoint = "orb_nested_" + std::to_string(depth_);
    Exec("SAVEPOINT " + savepoint, "begin a nested transaction");
    ++depth_;
    try {
      fn();
    } catch (...) {
      --depth_;
      if (sqlite3_get_autocommit(db_->getHandle()) == 0) {
        db_->tryExec("ROLLBACK TO " + savepoint);
        db_->tryExec("RELEASE " + savepoint);
      }
      throw;
    }
    --depth_;
    Exec("RELEASE " + savepoint, "end a nested transaction");
    return;
  }

  BeginImmediate("begin a transaction");
  depth_ = 1;
  try {
    fn();
  } catch (...) {
    depth_ = 0;
    RollbackQuietly();
    throw;
  }
  depth_ = 0;
  Commit("commit a transaction");
}

void SqliteStore::InsertRequest(Request& request) {
  Guard("store request " + request.request_id, [&] {
    SQLite::Statement stmt(*db_, RequestSql().insert);
    BindRequest(stmt, request);
    try {
      stmt.exec();
    } catch (const SQLite::Exception& e) {
      if (!IsPrimaryKeyViolation(e)) throw;
      throw Error(ErrorCode::kConflict,
                  "request " + request.request_id + " already exists in " + path_);
    }
  });
  request.version = 1;
}

void SqliteStore::UpdateRequest(Request& request) {
  Guard("update request " + request.request_id, [&] {
    const TableSql& sql = RequestSql();
    SQLite::Statement stmt(*db_, sql.update);
    BindRequest(stmt, request);
    stmt.bind(sql.columns + 1, static_cast<std::int64_t>(request.version));
    if (stmt.exec() == 1) return;
    SQLite::Statement probe(*db_, "SELECT version FROM requests WHERE request_id = ?1");
    probe.bind(1, request.request_id);
    if (!probe.executeStep()) {
      throw Error(ErrorCode::kNotFound, "request " + request.request_id + " does not exist");
    }
    throw Error(ErrorCode::kConflict,
                "request " + request.request_id + " was changed by another writer (stored " +
                    "version " + std::to_string(probe.getColumn(0).getInt64()) + ", yours " +
                    std::to_string(request.version) + "); reload it and retry");
  });
  ++request.version;
}

std::optional<Request> SqliteStore::GetRequest(std::string_view request_id) {
  return Guard("read request " + std::string(request_id), [&]() -> std::optional<Request> {
    SQLite::Statement stmt(*db_, RequestSql().select + " WHERE request_id = ?1");
    BindText(stmt, 1, request_id);
    if (!stmt.executeStep()) return std::nullopt;
    return ReadRequest(stmt);
  });
}

std::vector<Request> SqliteStore::ListRequests(const RequestQuery& query) {
  return Guard("list requests", [&] {
    std::string sql = RequestSql().select + " WHERE 1";
    // Written as a literal so that the partial index requests_open applies.
    if (query.open_only) sql += " AND status = 'running'";
    if (query.status) sql += " AND status = :status";
    if (query.kind) sql += " AND kind = :kind";
    if (query.unacknowledged_only) sql += " AND acknowledged_at <= 0";
    if (!query.template_id.empty()) sql += " AND template_id = :template_id";
    if (query.updated_since > 0) sql += " AND updated_at >= :updated_since";
    sql += kNewestFirst;
    if (query.limit > 0) sql += " LIMIT :limit";
    SQLite::Statement stmt(*db_, sql);
    if (query.status) stmt.bind(":status", std::string(RequestStatusName(*query.status)));
    if (query.kind) stmt.bind(":kind", std::string(RequestKindName(*query.kind)));
    if (!query.template_id.empty()) stmt.bind(":template_id", query.template_id);
    if (query.updated_since > 0) {
      stmt.bind(":updated_since", static_cast<std::int64_t>(query.updated_since));
    }
    if (query.limit > 0) stmt.bind(":limit", static_cast<std::int64_t>(query.limit));
    std::vector<Request> out;
    while (stmt.executeStep()) out.push_back(ReadRequest(stmt));
    return out;
  });
}

void SqliteStore::InsertMachine(Machine& machine) {
  Guard("store machine " + machine.machine_id, [&] {
    SQLite::Statement stmt(*db_, MachineSql().insert);
    BindMachine(stmt, machine);
    try {
      stmt.exec();
    } catch (const SQLite::Exception& e) {
      if (!IsPrimaryKeyViolation(e)) throw;
      throw Error(ErrorCode::kConflict,
                  "machine " + machine.machine_id + " already exists in " + path_);
    }
  });
  machine.version = 1;
}

void SqliteStore::UpdateMachine(Machine& machine) {
  Guard("update machine " + machine.machine_id, [&] {
    const TableSql& sql = MachineSql();
    SQLite::Statement stmt(*db_, sql.update);
    BindMachine(stmt, machine);
    stmt.bind(sql.columns + 1, static_cast<std::int64_t>(machine.version));
    if (stmt.exec() == 1) return;
    SQLite::Statement probe(*db_, "SELECT version FROM machines WHERE machine_id = ?1");
    probe.bind(1, machine.machine_id);
    if (!probe.executeStep()) {
      throw Error(ErrorCode::kNotFound, "machine " + machine.machine_id + " does not exist");
    }
    throw Error(ErrorCode::kConflict,
                "machine " + machine.machine_id + " was changed by another writer (stored " +
                    "version " + std::to_string(probe.getColumn(0).getInt64()) + ", yours " +
                    std::to_string(machine.version) + "); reload it and retry");
  });
  ++machine.version;
}

std::optional<Machine> SqliteStore::GetMachine(std::string_view machine_id) {
  return Guard("read machine " + std::string(machine_id), [&]() -> std::optional<Machine> {
    SQLite::Statement stmt(*db_, MachineSql().select + " WHERE machine_id = ?1");
    BindText(stmt, 1, machine_id);
    if (!stmt.executeStep()) return std::nullopt;
    return ReadMachine(stmt);
  });
}

std::optional<Machine> SqliteStore::FindMachineByName(std::string_view name) {
  if (name.empty()) return std::nullopt;
  return Guard("find machine " + std::string(name), [&]() -> std::optional<Machine> {
    SQLite::Statement stmt(
        *db_, MachineSql().select + " WHERE name = ?1" + std::string(kNewestFirst) + " LIMIT 1");
    BindText(stmt, 1, name);
    if (!stmt.executeStep()) return std::nullopt;
    return ReadMachine(stmt);
  });
}

std::vector<Machine> SqliteStore::ListMachines(const MachineQuery& query) {
  return Guard("list machines", [&] {
    std::string sql = MachineSql().select + " WHERE 1";
    if (!query.request_id.empty()) sql += " AND request_id = :request_id";
    if (!query.return_request_id.empty()) sql += " AND return_request_id = :return_request_id";
    if (!query.template_id.empty()) sql += " AND template_id = :template_id";
    // Spelled exactly as in the partial index machines_active so that it applies.
    if (query.active_only) sql += " AND " + std::string(kActiveMachineCondition);
    if (query.updated_since > 0) sql += " AND updated_at >= :updated_since";
    sql += kNewestFirst;
    if (query.limit > 0) sql += " LIMIT :limit";
    SQLite::Statement stmt(*db_, sql);
    if (!query.request_id.empty()) stmt.bind(":request_id", query.request_id);
    if (!query.return_request_id.empty()) {
      stmt.bind(":return_request_id", query.return_request_id);
    }
    if (!query.template_id.empty()) stmt.bind(":template_id", query.template_id);
    if (query.updated_since > 0) {
      stmt.bind(":updated_since", static_cast<std::int64_t>(query.updated_since));
    }
    if (query.limit > 0) stmt.bind(":limit", static_cast<std::int64_t>(query.limit));
    std::vector<Machine> out;
    while (stmt.executeStep()) out.push_back(ReadMachine(stmt));
    return out;
  });
}

void SqliteStore::RecordPoolFailure(const PoolFailure& failure) {
  Guard("remember failed pool " + failure.pool, [&] {
    SQLite::Statement expire(*db_, "DELETE FROM pool_failures WHERE until <= ?1");
    expire.bind(1, static_cast<std::int64_t>(std::time(nullptr)));
    expire.exec();
    SQLite::Statement stmt(*db_,
                           "INSERT OR REPLACE INTO pool_failures "
                           "(provider_name, pool, kind, reason, until) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)");
    BindText(stmt, 1, failure.provider_name);
    BindText(stmt, 2, failure.pool);
    BindText(stmt, 3, failure.kind);
    BindText(stmt, 4, failure.reason);
    stmt.bind(5, static_cast<std::int64_t>(failure.until));
    stmt.exec();
  });
}

std::vector<PoolFailure> SqliteStore::ListPoolFailures(std::string_view provider_name,
                                                       EpochSeconds now) {
  return Guard("list failed pools", [&] {
    SQLite::Statement stmt(*db_,
                           "SELECT provider_name, pool, kind, reason, until FROM pool_failures "
                           "WHERE provider_name = ?1 AND until > ?2 ORDER BY until, pool");
    BindText(stmt, 1, provider_name);
    stmt.bind(2, static_cast<std::int64_t>(now));
    std::vector<PoolFailure> out;
    while (stmt.executeStep()) {
      PoolFailure f;
      f.provider_name = stmt.getColumn(0).getString();
      f.pool = stmt.getColumn(1).getString();
      f.kind = stmt.getColumn(2).getString();
      f.reason = stmt.getColumn(3).getString();
      f.until = stmt.getColumn(4).getInt64();
      out.push_back(std::move(f));
    }
    return out;
  });
}

bool SqliteStore::ClaimLease(std::string_view name, std::string_view holder, EpochSeconds now,
                             int ttl_sec) {
  return Guard("claim lease " + std::string(name), [&] {
    // One statement: the row lock of the upsert decides between concurrent claims.
    SQLite::Statement stmt(*db_,
                           "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                           "expires_at = excluded.expires_at "
                           "WHERE leases.expires_at <= ?4 OR leases.holder = excluded.holder");
    BindText(stmt, 1, name);
    BindText(stmt, 2, holder);
    stmt.bind(3, static_cast<std::int64_t>(now + ttl_sec));
    stmt.bind(4, static_cast<std::int64_t>(now));
    return stmt.exec() == 1;
  });
}

std::optional<Lease> SqliteStore::GetLease(std::string_view name) {
  return Guard("read lease " + std::string(name), [&]() -> std::optional<Lease> {
    SQLite::Statement stmt(*db_, "SELECT name, holder, expires_at FROM leases WHERE name = ?1");
    BindText(stmt, 1, name);
    if (!stmt.executeStep()) return std::nullopt;
    return Lease{stmt.getColumn(0).getString(), stmt.getColumn(1).getString(),
                 stmt.getColumn(2).getInt64()};
  });
}

StoreInfo SqliteStore::Info() {
  return Guard("describe the store", [&] {
    StoreInfo info;
    info.strategy = "sqlite";
    info.location = path_;
    info.schema_version = UserVersion();
    info.counts["requests"] = db_->execAndGet("SELECT count(*) FROM requests").getInt64();
    info.counts["machines"] = db_->execAndGet("SELECT count(*) FROM machines").getInt64();
    info.counts["pool_failures"] =
        db_->execAndGet("SELECT count(*) FROM pool_failures").getInt64();
    return info;
  });
}

StoreTally SqliteStore::Tally() {
  return Guard("count requests and machines", [&] {
    StoreTally tally;
    SQLite::Statement requests(*db_, "SELECT kind, status, count(*) FROM requests GROUP BY kind, status");
    while (requests.executeStep()) {
      tally.requests[{requests.getColumn(0).getString(), requests.getColumn(1).getString()}] =
          requests.getColumn(2).getInt64();
    }
    SQLite::Statement machines(*db_, "SELECT state, count(*) FROM machines GROUP BY state");
    while (machines.executeStep()) {
      tally.machines[machines.getColumn(0).getString()] = machines.getColumn(1).getInt64();
    }
    return tally;
  });
}

void SqliteStore::CheckHealth() {
  const std::string action = "check the store's health";
  auto probe = [&] {
    Guard(action, [&] {
      int version = UserVersion();
      if (version != kSchemaVersion) {
        throw Error(ErrorCode::kStore, path_ + ": database schema version " +
                                           std::to_string(version) + " is not the " +
                                           std::to_string(kSchemaVersion) +
                                           " this orb expects; was it changed by another orb?");
      }
      db_->execAndGet("SELECT count(*) FROM requests");
      db_->execAndGet("SELECT count(*) FROM machines");
      SQLite::Statement insert(*db_, "INSERT INTO store_health (checked_at) VALUES (?1)");
      insert.bind(1, static_cast<std::int64_t>(std::time(nullptr)));
      insert.exec();
      db_->exec("DELETE FROM store_health");
    });
  };
  if (depth_ > 0) {
    // Inside a caller's transaction: probe within a savepoint that is undone.
    Exec("SAVEPOINT orb_health", action);
    try {
      probe();
    } catch (...) {
      if (sqlite3_get_autocommit(db_->getHandle()) == 0) {
        db_->tryExec("ROLLBACK TO orb_health");
        db_->tryExec("RELEASE orb_health");
      }
      throw;
    }
    Exec("ROLLBACK TO orb_health", action);
    Exec("RELEASE orb_health", action);
    return;
  }
  // Insert and delete in one committed transaction: the lock, the WAL append and the
  // fsync are all exercised, and the data is unchanged.
  BeginImmediate(action);
  try {
    probe();
  } catch (...) {
    RollbackQuietly();
    throw;
  }
  Commit(action);
}

Request SqliteStore::ReadRequest(SQLite::Statement& stmt) const {
  auto bad = [&](std::string_view field, const std::string& value, const std::string& id) {
    return Error(ErrorCode::kStore, "the database " + path_ + " holds an unknown " +
                                        std::string(field) + " '" + value + "' for request " + id +
                                        "; it was written by a newer orb or is corrupt");
  };
  Request r;
  int i = 0;
  r.request_id = stmt.getColumn(i++).getString();
  std::string kind = stmt.getColumn(i++).getString();
  auto parsed_kind = ParseRequestKind(kind);
  if (!parsed_kind) throw bad("kind", kind, r.request_id);
  r.kind = *parsed_kind;
  r.template_id = stmt.getColumn(i++).getString();
  r.provider_name = stmt.getColumn(i++).getString();
  r.requested_count = stmt.getColumn(i++).getInt();
  std::string status = stmt.getColumn(i++).getString();
  auto parsed_status = ParseRequestStatus(status);
  if (!parsed_status) throw bad("status", status, r.request_id);
  r.status = *parsed_status;
  std::string launch = stmt.getColumn(i++).getString();
  auto parsed_launch = ParseLaunchState(launch);
  if (!parsed_launch) throw bad("launch state", launch, r.request_id);
  r.launch_state = *parsed_launch;
  r.client_token = stmt.getColumn(i++).getString();
  r.message = stmt.getColumn(i++).getString();
  r.created_at = stmt.getColumn(i++).getInt64();
  r.updated_at = stmt.getColumn(i++).getInt64();
  r.deadline = stmt.getColumn(i++).getInt64();
  r.provider_data = stmt.getColumn(i++).getString();
  r.acknowledged_at = stmt.getColumn(i++).getInt64();
  r.version = stmt.getColumn(i++).getInt64();
  return r;
}

Machine SqliteStore::ReadMachine(SQLite::Statement& stmt) const {
  auto bad = [&](std::string_view field, const std::string& value, const std::string& id) {
    return Error(ErrorCode::kStore, "the database " + path_ + " holds an unknown " +
                                        std::string(field) + " '" + value + "' for machine " + id +
                                        "; it was written by a newer orb or is corrupt");
  };
  auto result = [&](std::string_view field, const std::string& value, const std::string& id) {
    auto parsed = ParseMachineResult(value);
    if (!parsed) throw bad(field, value, id);
    return *parsed;
  };
  Machine m;
  int i = 0;
  m.machine_id = stmt.getColumn(i++).getString();
  m.name = stmt.getColumn(i++).getString();
  m.request_id = stmt.getColumn(i++).getString();
  m.return_request_id = stmt.getColumn(i++).getString();
  m.template_id = stmt.getColumn(i++).getString();
  m.provider_name = stmt.getColumn(i++).getString();
  m.instance_type = stmt.getColumn(i++).getString();
  m.private_ip = stmt.getColumn(i++).getString();
  m.public_ip = stmt.getColumn(i++).getString();
  m.availability_zone = stmt.getColumn(i++).getString();
  m.price_type = stmt.getColumn(i++).getString();
  m.cloud_host_id = stmt.getColumn(i++).getString();
  std::string state = stmt.getColumn(i++).getString();
  auto parsed_state = ParseMachineState(state);
  if (!parsed_state) throw bad("state", state, m.machine_id);
  m.state = *parsed_state;
  m.acquire_result = result("acquire result", stmt.getColumn(i++).getString(), m.machine_id);
  m.return_result = result("return result", stmt.getColumn(i++).getString(), m.machine_id);
  m.terminate_refused = stmt.getColumn(i++).getInt64() != 0;
  m.weight = stmt.getColumn(i++).getInt();
  m.launch_time = stmt.getColumn(i++).getInt64();
  m.created_at = stmt.getColumn(i++).getInt64();
  m.updated_at = stmt.getColumn(i++).getInt64();
  m.message = stmt.getColumn(i++).getString();
  m.notice_action = stmt.getColumn(i++).getString();
  m.notice_takes_effect_at = stmt.getColumn(i++).getInt64();
  m.version = stmt.getColumn(i++).getInt64();
  return m;
}

}  // namespace orb
