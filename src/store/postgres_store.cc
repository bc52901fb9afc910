#include "store/postgres_store.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <type_traits>
#include <utility>

#include <spdlog/spdlog.h>

#include "store/pq_library.h"

namespace orb {
namespace {

// One step of the schema history, run in order inside the migration transaction;
// schema_version is set to the step's number after it. Never edit a released step:
// add a new one. (The steps are PostgreSQL's own; SqliteStore has its history.)
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE requests (
  request_id      TEXT   NOT NULL PRIMARY KEY,
  kind            TEXT   NOT NULL,
  template_id     TEXT   NOT NULL,
  provider_name   TEXT   NOT NULL,
  requested_count BIGINT NOT NULL,
  status          TEXT   NOT NULL,
  launch_state    TEXT   NOT NULL,
  client_token    TEXT   NOT NULL,
  message         TEXT   NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  deadline        BIGINT NOT NULL,
  provider_data   TEXT   NOT NULL,
  acknowledged_at BIGINT NOT NULL,
  version         BIGINT NOT NULL,
  seq             BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX requests_open ON requests (created_at) WHERE status = 'running';
CREATE INDEX requests_created ON requests (created_at, seq);
CREATE INDEX requests_template ON requests (template_id, created_at);
CREATE INDEX requests_updated ON requests (updated_at);

CREATE TABLE machines (
  machine_id             TEXT   NOT NULL PRIMARY KEY,
  name                   TEXT   NOT NULL,
  request_id             TEXT   NOT NULL,
  return_request_id      TEXT   NOT NULL,
  template_id            TEXT   NOT NULL,
  provider_name          TEXT   NOT NULL,
  instance_type          TEXT   NOT NULL,
  private_ip             TEXT   NOT NULL,
  public_ip              TEXT   NOT NULL,
  availability_zone      TEXT   NOT NULL,
  price_type             TEXT   NOT NULL,
  cloud_host_id          TEXT   NOT NULL,
  state                  TEXT   NOT NULL,
  acquire_result         TEXT   NOT NULL,
  return_result          TEXT   NOT NULL,
  terminate_refused      BIGINT NOT NULL,
  weight                 BIGINT NOT NULL,
  launch_time            BIGINT NOT NULL,
  created_at             BIGINT NOT NULL,
  updated_at             BIGINT NOT NULL,
  message                TEXT   NOT NULL,
  notice_action          TEXT   NOT NULL,
  notice_takes_effect_at BIGINT NOT NULL,
  version                BIGINT NOT NULL,
  seq                    BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX machines_request ON machines (request_id, created_at);
CREATE INDEX machines_return ON machines (return_request_id, created_at);
CREATE INDEX machines_name ON machines (name, created_at);
CREATE INDEX machines_template ON machines (template_id, created_at);
CREATE INDEX machines_active ON machines (created_at)
  WHERE state NOT IN ('terminated', 'failed', 'gone');
CREATE INDEX machines_updated ON machines (updated_at);

CREATE TABLE pool_failures (
  provider_name TEXT   NOT NULL,
  pool          TEXT   NOT NULL,
  kind          TEXT   NOT NULL,
  reason        TEXT   NOT NULL,
  until         BIGINT NOT NULL,
  PRIMARY KEY (provider_name, pool)
);

CREATE TABLE leases (
  name       TEXT   NOT NULL PRIMARY KEY,
  holder     TEXT   NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE TABLE store_health (checked_at BIGINT NOT NULL);
)sql"},
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Column names in parameter order; `version` is handled apart. The first column is
// the primary key.
constexpr const char* kRequestColumns[] = {
    "request_id", "kind",         "template_id",  "provider_name", "requested_count",
    "status",     "launch_state", "client_token", "message",       "created_at",
    "updated_at", "deadline",     "provider_data", "acknowledged_at"};

constexpr const char* kMachineColumns[] = {
    "machine_id",    "name",          "request_id",        "return_request_id",
    "template_id",   "provider_name", "instance_type",     "private_ip",
    "public_ip",     "availability_zone", "price_type",    "cloud_host_id",
    "state",         "acquire_result", "return_result",    "terminate_refused",
    "weight",        "launch_time",   "created_at",        "updated_at",
    "message",       "notice_action", "notice_takes_effect_at"};

// The SQL texts of one table, built once from its column list.
struct TableSql {
  std::string select;  // SELECT <columns>, version FROM <table>
  std::string insert;  // INSERT ... VALUES ($1..$N, 1) ON CONFLICT DO NOTHING
  std::string update;  // UPDATE ... SET col=$k..., version=version+1 WHERE key=$1 AND version=$N+1
};

template <std::size_t N>
TableSql BuildTableSql(const std::string& table, const char* const (&cols)[N]) {
  TableSql t;
  std::string names, params, sets;
  for (std::size_t i = 0; i < N; ++i) {
    const std::string p = "$" + std::to_string(i + 1);
    if (i > 0) {
      names += ", ";
      params += ", ";
      sets += std::string(cols[i]) + " = " + p + ", ";
    }
    names += cols[i];
    params += p;
  }
  t.select = "SELECT " + names + ", version FROM " + table;
  t.insert = "INSERT INTO " + table + " (" + names + ", version) VALUES (" + params +
             ", 1) ON CONFLICT DO NOTHING";
  t.update = "UPDATE " + table + " SET " + sets + "version = version + 1 WHERE " + cols[0] +
             " = $1 AND version = $" + std::to_string(N + 1);
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

// Spelled as in the partial index machines_active (and as SqliteStore spells it).
constexpr const char* kActiveMachineCondition = "state NOT IN ('terminated', 'failed', 'gone')";

// Newest first, ties broken by insertion order.
constexpr const char* kNewestFirst = " ORDER BY created_at DESC, seq DESC";

// The advisory lock every writer takes (per schema, so several installations can
// share a database).
constexpr const char* kLockSql =
    "SELECT pg_advisory_xact_lock(hashtextextended('orb-store:' || $1, 0))";

bool IsUrl(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

bool HasParameter(const std::string& url, const std::string& name) {
  const auto q = url.find('?');
  if (q == std::string::npos) return false;
  const std::string query = "&" + url.substr(q + 1);
  return query.find("&" + name + "=") != std::string::npos;
}

// The libpq connection string: the URL with the password, a connect timeout and
// the application name added as query parameters (unless the URL sets them).
std::string ConnectionString(const StoreOptions& o) {
  std::string s = o.url;
  auto add = [&](const std::string& name, const std::string& value) {
    s += (s.find('?') == std::string::npos ? "?" : "&") + name + "=" + PercentEncode(value);
  };
  if (!o.password.empty()) add("password", o.password);
  if (!HasParameter(o.url, "connect_timeout")) add("connect_timeout", "10");
  if (!HasParameter(o.url, "application_name")) add("application_name", "orb");
  return s;
}

// Removes from a server message anything that could be the password (libpq never
// echoes it, but a message quoting the connection string would).
std::string Scrub(std::string message, const std::string& password) {
  if (password.empty()) return message;
  for (const std::string& secret : {password, PercentEncode(password)}) {
    for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret)) {
      message.replace(at, secret.size(), "***");
    }
  }
  return message;
}

// A server message's first line, trimmed (libpq ends them with a newline).
std::string FirstLine(std::string message) {
  const auto nl = message.find('\n');
  if (nl != std::string::npos) message.resize(nl);
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
    message.pop_back();
  }
  return message;
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  std::string out = url;
  const auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    const auto at = out.find('@', scheme + 3);
    const auto slash = out.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (auto p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    const auto end = out.find('&', p);
    const auto value = p + 9;
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

namespace {

// A failed libpq call: the server's SQLSTATE (empty when the connection failed) and
// its message's first line.
struct PgFailure : std::runtime_error {
  PgFailure(std::string state, const std::string& message, bool connection_lost)
      : std::runtime_error(message), sqlstate(std::move(state)), lost(connection_lost) {}
  std::string sqlstate;
  bool lost;
};

// One statement's result, cleared when it goes.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() {
    if (r_) Pq().clear(r_);
  }
  PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const { return Pq().ntuples(r_); }
  bool empty() const { return rows() == 0; }
  std::string Text(int row, int col) const {
    return Pq().getisnull(r_, row, col) ? std::string() : std::string(Pq().getvalue(r_, row, col));
  }
  long long Int(int row, int col) const {
    if (Pq().getisnull(r_, row, col)) return 0;
    return std::stoll(Pq().getvalue(r_, row, col));
  }
  // Rows a command changed (INSERT, UPDATE, DELETE).
  long long affected() const {
    const char* n = Pq().cmd_tuples(r_);
    return n && *n ? std::stoll(n) : 0;
  }

 private:
  PGresult* r_;
};

// Reads one row's fields in order.
class RowReader {
 public:
  RowReader(const PgResult& r, int row) : r_(r), row_(row) {}
  std::string Text() { return r_.Text(row_, col_++); }
  long long Int() { return r_.Int(row_, col_++); }

 private:
  const PgResult& r_;
  int row_;
  int col_ = 0;
};

// Parameters of a statement, all sent as text (the server converts to the column's
// type).
using Params = std::vector<std::string>;

void IgnoreNotice(void*, const char* message) {
  // "schema already exists, skipping" and the like: never on orb's stderr.
  spdlog::debug("postgresql: {}", FirstLine(message ? message : ""));
}

Error Unknown(const std::string& where, std::string_view field, const std::string& value,
              const char* what, const std::string& id) {
  return Error(ErrorCode::kStore, where + " holds an unknown " + std::string(field) + " '" + value +
                                      "' for " + what + " " + id +
                                      "; it was written by a newer orb or is corrupt");
}

Params RequestParams(const Request& r) {
  return {r.request_id,
          std::string(RequestKindName(r.kind)),
          r.template_id,
          r.provider_name,
          std::to_string(r.requested_count),
          std::string(RequestStatusName(r.status)),
          std::string(LaunchStateName(r.launch_state)),
          r.client_token,
          r.message,
          std::to_string(r.created_at),
          std::to_string(r.updated_at),
          std::to_string(r.deadline),
          r.provider_data,
          std::to_string(r.acknowledged_at)};
}

Params MachineParams(const Machine& m) {
  return {m.machine_id,
          m.name,
          m.request_id,
          m.return_request_id,
          m.template_id,
          m.provider_name,
          m.instance_type,
          m.private_ip,
          m.public_ip,
          m.availability_zone,
          m.price_type,
          m.cloud_host_id,
          std::string(MachineStateName(m.state)),
          std::string(MachineResultName(m.acquire_result)),
          std::string(MachineResultName(m.return_result)),
          m.terminate_refused ? "1" : "0",
          std::to_string(m.weight),
          std::to_string(m.launch_time),
          std::to_string(m.created_at),
          std::to_string(m.updated_at),
          m.message,
          m.notice_action,
          std::to_string(m.notice_takes_effect_at)};
}

Request ReadRequest(const PgResult& result, int row, const std::string& where) {
  RowReader f(result, row);
  Request r;
  r.request_id = f.Text();
  const std::string kind = f.Text();
  auto parsed_kind = ParseRequestKind(kind);
  if (!parsed_kind) throw Unknown(where, "kind", kind, "request", r.request_id);
  r.kind = *parsed_kind;
  r.template_id = f.Text();
  r.provider_name = f.Text();
  r.requested_count = static_cast<int>(f.Int());
  const std::string status = f.Text();
  auto parsed_status = ParseRequestStatus(status);
  if (!parsed_status) throw Unknown(where, "status", status, "request", r.request_id);
  r.status = *parsed_status;
  const std::string launch = f.Text();
  auto parsed_launch = ParseLaunchState(launch);
  if (!parsed_launch) throw Unknown(where, "launch state", launch, "request", r.request_id);
  r.launch_state = *parsed_launch;
  r.client_token = f.Text();
  r.message = f.Text();
  r.created_at = f.Int();
  r.updated_at = f.Int();
  r.deadline = f.Int();
  r.provider_data = f.Text();
  r.acknowledged_at = f.Int();
  r.version = f.Int();
  return r;
}

Machine ReadMachine(const PgResult& result, int row, const std::string& where) {
  RowReader f(result, row);
  Machine m;
  auto machine_result = [&](std::string_view field, const std::string& value) {
    auto parsed = ParseMachineResult(value);
    if (!parsed) throw Unknown(where, field, value, "machine", m.machine_id);
    return *parsed;
  };
  m.machine_id = f.Text();
  m.name = f.Text();
  m.request_id = f.Text();
  m.return_request_id = f.Text();
  m.template_id = f.Text();
  m.provider_name = f.Text();
  m.instance_type = f.Text();
  m.private_ip = f.Text();
  m.public_ip = f.Text();
  m.availability_zone = f.Text();
  m.price_type = f.Text();
  m.cloud_host_id = f.Text();
  const std::string state = f.Text();
  auto parsed_state = ParseMachineState(state);
  if (!parsed_state) throw Unknown(where, "state", state, "machine", m.machine_id);
  m.state = *parsed_state;
  m.acquire_result = machine_result("acquire result", f.Text());
  m.return_result = machine_result("return result", f.Text());
  m.terminate_refused = f.Int() != 0;
  m.weight = static_cast<int>(f.Int());
  m.launch_time = f.Int();
  m.created_at = f.Int();
  m.updated_at = f.Int();
  m.message = f.Text();
  m.notice_action = f.Text();
  m.notice_takes_effect_at = f.Int();
  m.version = f.Int();
  return m;
}

}  // namespace

struct PostgresStore::Impl {
  StoreOptions options;
  std::string where;     // "PostgreSQL <redacted url>, schema <name>"
  PGconn* conn = nullptr;
  int depth = 0;         // nesting depth of Transaction calls; 0 = none open

  ~Impl() { Disconnect(); }

  void Disconnect() {
    if (conn) Pq().finish(conn);
    conn = nullptr;
    depth = 0;
  }

  void Connect() {
    if (conn && Pq().status(conn) == CONNECTION_OK) return;
    Disconnect();
    const PqLibrary& pq = Pq();
    conn = pq.connectdb(ConnectionString(options).c_str());
    if (!conn || pq.status(conn) != CONNECTION_OK) {
      const std::string why = conn ? FirstLine(pq.error_message(conn)) : "out of memory";
      Disconnect();
      throw Error(ErrorCode::kStore,
                  "cannot connect to " + where + ": " + Scrub(why, options.password) +
                      "; check storage.url, the password (storage.password_file or "
                      "ORB_STORAGE_PASSWORD) and that the server accepts this host");
    }
    pq.set_notice_processor(conn, IgnoreNotice, nullptr);
    try {
      Exec("SET lock_timeout = " + std::to_string(options.busy_timeout_ms));
      Exec("SET search_path TO " + Identifier(options.schema));
    } catch (const PgFailure& e) {
      Disconnect();
      throw Error(ErrorCode::kStore, "cannot set up the connection to " + where + ": " +
                                         Scrub(e.what(), options.password));
    }
  }

  // `name` quoted as an SQL identifier.
  std::string Identifier(const std::string& name) {
    char* quoted = Pq().escape_identifier(conn, name.data(), name.size());
    if (!quoted) throw PgFailure("", "cannot quote the schema name", false);
    std::string out(quoted);
    Pq().freemem(quoted);
    return out;
  }

  // Runs one statement (several, when `params` is empty and none is given: a script).
  // Throws PgFailure when it fails.
  PgResult Exec(const std::string& sql, const Params& params = {}, bool script = false) {
    const PqLibrary& pq = Pq();
    PGresult* raw;
    if (script) {
      raw = pq.exec(conn, sql.c_str());
    } else {
      std::vector<const char*> values;
      values.reserve(params.size());
      for (const std::string& p : params) values.push_back(p.c_str());
      raw = pq.exec_params(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0);
    }
    PgResult result(raw);
    const ExecStatusType status = raw ? pq.result_status(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    const bool lost = pq.status(conn) != CONNECTION_OK;
    const char* state = raw ? pq.result_error_field(raw, PG_DIAG_SQLSTATE) : nullptr;
    const std::string message =
        FirstLine(raw ? pq.result_error_message(raw) : pq.error_message(conn));
    throw PgFailure(state ? state : "", Scrub(message, options.password), lost);
  }

  void Lock() { Exec(kLockSql, {options.schema}); }

  // Rolls the open transaction back, if the connection still has one.
  void RollbackQuietly() {
    if (conn && Pq().transaction_status(conn) != PQTRANS_IDLE) {
      PGresult* r = Pq().exec(conn, "ROLLBACK");
      if (r) Pq().clear(r);
    }
  }

  // The orb::Error for a failure while doing `action`.
  Error Describe(const PgFailure& e, std::string_view action, bool committing = false) {
    const std::string what = "cannot " + std::string(action) + ": ";
    const std::string& state = e.sqlstate;
    if (e.lost) {
      Disconnect();
      if (committing) {
        return Error(ErrorCode::kStore,
                     what + "the connection to " + where +
                         " was lost while committing; whether the change was saved is unknown "
                         "(the next call reads the store again)");
      }
      return Error(ErrorCode::kStore, what + "lost the connection to " + where + " (" + e.what() +
                                          "); the change was not saved; retry");
    }
    if (state == "55P03" || state == "57014") {
      return Error(ErrorCode::kStore, what + "the store (" + where +
                                          ") stayed locked by another orb process for more than " +
                                          std::to_string(options.busy_timeout_ms) +
                                          " ms; retry, or raise storage.busy_timeout_ms");
    }
    if (state == "40001" || state == "40P01") {
      return Error(ErrorCode::kConflict,
                   what + "another orb process changed the same rows (" + e.what() + "); retry");
    }
    if (state == "53100") {
      return Error(ErrorCode::kStore, what + "the disk of " + where + " is full (" + e.what() +
                                          "); the change was not saved");
    }
    if (state == "42501" || state == "25006") {
      return Error(ErrorCode::kStore, what + "not allowed to write " + where + " (" + e.what() +
                                          "); grant the user rights on the schema");
    }
    return Error(ErrorCode::kStore, what + where + ": " + e.what());
  }

  int ReadVersion() {
    // Looked up by name (any schema name works, however it must be quoted).
    PgResult listed = Exec(
        "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1 AND "
        "tablename = 'schema_version'",
        {options.schema});
    if (listed.Int(0, 0) == 0) return -1;
    PgResult v = Exec("SELECT version FROM schema_version");
    return v.empty() ? 0 : static_cast<int>(v.Int(0, 0));
  }

  void Migrate();
};

int PostgresStore::CurrentSchemaVersion() { return kSchemaVersion; }

template <typename Fn>
auto PostgresStore::Run(std::string_view action, bool writes, Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  Impl& s = *impl_;
  try {
    if (s.depth > 0) return fn();
    s.Connect();
    if (!writes) return fn();
    s.Exec("BEGIN");
    bool committing = false;
    try {
      s.Lock();
      if constexpr (std::is_void_v<Result>) {
        fn();
        committing = true;
        s.Exec("COMMIT");
      } else {
        Result r = fn();
        committing = true;
        s.Exec("COMMIT");
        return r;
      }
    } catch (const PgFailure& e) {
      Error error = s.Describe(e, action, committing);
      s.RollbackQuietly();
      throw error;
    } catch (...) {
      s.RollbackQuietly();
      throw;
    }
  } catch (const PgFailure& e) {
    throw s.Describe(e, action);
  }
}

void PostgresStore::Impl::Migrate() {
  auto refuse_newer = [&](int found) {
    throw Error(ErrorCode::kStore, where + ": schema version " + std::to_string(found) +
                                       " is newer than this orb supports (" +
                                       std::to_string(kSchemaVersion) + "); upgrade orb");
  };
  int found = ReadVersion();
  if (found > kSchemaVersion) refuse_newer(found);
  if (found == kSchemaVersion) return;
  // Another broker may be migrating right now: take the lock, then look again.
  Exec("BEGIN");
  try {
    Lock();
    Exec("CREATE SCHEMA IF NOT EXISTS " + Identifier(options.schema));
    found = ReadVersion();
    if (found > kSchemaVersion) refuse_newer(found);
    if (found < 0) {
      PgResult tables = Exec("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
                             {options.schema});
      if (tables.Int(0, 0) > 0) {
        throw Error(ErrorCode::kStore, "schema " + options.schema + " of " + where +
                                           " holds another program's tables (no orb schema "
                                           "version); set storage.schema to a new name");
      }
      Exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      Exec("INSERT INTO schema_version (version) VALUES (0)");
      found = 0;
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= found) continue;
      Exec(m.sql, {}, /*script=*/true);
      Exec("UPDATE schema_version SET version = " + std::to_string(m.version));
    }
    Exec("COMMIT");
  } catch (...) {
    RollbackQuietly();
    throw;
  }
}

PostgresStore::PostgresStore(const StoreOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (options.url.empty()) {
    throw Error(ErrorCode::kInvalidConfig,
                "storage.strategy is postgresql but storage.url is empty; set it (or "
                "ORB_STORAGE_URL) to postgresql://user@host:5432/database");
  }
  if (!IsUrl(options.url)) {
    throw Error(ErrorCode::kInvalidConfig,
                "storage.url must be a postgresql:// URL (e.g. "
                "postgresql://orb@db.example.com:5432/orb?sslmode=verify-full), not '" +
                    RedactUrl(options.url) + "'");
  }
  if (options.schema.empty()) {
    throw Error(ErrorCode::kInvalidConfig, "storage.schema is empty; name the schema for orb's tables");
  }
  if (impl_->options.busy_timeout_ms < 1) impl_->options.busy_timeout_ms = 1;
  impl_->where = "PostgreSQL " + RedactUrl(options.url) + ", schema " + options.schema;
  impl_->Connect();
  try {
    impl_->Migrate();
  } catch (const PgFailure& e) {
    throw impl_->Describe(e, "migrate the schema");
  }
}

PostgresStore::~PostgresStore() = default;

void PostgresStore::Transaction(const std::function<void()>& fn) {
  Impl& s = *impl_;
  if (s.depth > 0) {
    // Join the outer transaction; a savepoint lets a failing nested call undo just
    // its own writes if the outer function chooses to carry on.
    const std::string savepoint = "orb_nested_" + std::to_string(s.depth);
    try {
      s.Exec("SAVEPOINT " + savepoint);
    } catch (const PgFailure& e) {
      throw s.Describe(e, "begin a nested transaction");
    }
    ++s.depth;
    try {
      fn();
    } catch (...) {
      --s.depth;
      if (s.conn && Pq().transaction_status(s.conn) != PQTRANS_IDLE) {
        try {
          s.Exec("ROLLBACK TO SAVEPOINT " + savepoint);
          s.Exec("RELEASE SAVEPOINT " + savepoint);
        } catch (const PgFailure&) {
          // The outer transaction is lost anyway; its commit will say so.
        }
      }
      throw;
    }
    --s.depth;
    try {
      s.Exec("RELEASE SAVEPOINT " + savepoint);
    } catch (const PgFailure& e) {
      throw s.Describe(e, "end a nested transaction");
    }
    return;
  }
  try {
    s.Connect();
    s.Exec("BEGIN");
    s.depth = 1;
    s.Lock();
  } catch (const PgFailure& e) {
    Error error = s.Describe(e, "begin a transaction");
    s.RollbackQuietly();
    s.depth = 0;
    throw error;
  }
  try {
    fn();
  } catch (...) {
    s.depth = 0;
    s.RollbackQuietly();
    throw;
  }
  s.depth = 0;
  try {
    if (s.conn && Pq().transaction_status(s.conn) == PQTRANS_INERROR) {
      s.RollbackQuietly();
      throw Error(ErrorCode::kStore, "cannot commit a transaction: a statement of it failed on " +
                                         s.where + ", so none of its changes were saved");
    }
    s.Exec("COMMIT");
  } catch (const PgFailure& e) {
    Error error = s.Describe(e, "commit a transaction", /*committing=*/true);
    s.RollbackQuietly();
    throw error;
  }
}

void PostgresStore::InsertRequest(Request& request) {
  Run("store request " + request.request_id, true, [&] {
    if (impl_->Exec(RequestSql().insert, RequestParams(request)).affected() == 0) {
      throw Error(ErrorCode::kConflict,
                  "request " + request.request_id + " already exists in " + impl_->where);
    }
  });
  request.version = 1;
}

void PostgresStore::UpdateRequest(Request& request) {
  Run("update request " + request.request_id, true, [&] {
    Params params = RequestParams(request);
    params.push_back(std::to_string(request.version));
    if (impl_->Exec(RequestSql().update, params).affected() == 1) return;
    PgResult probe = impl_->Exec("SELECT version FROM requests WHERE request_id = $1",
                                 {request.request_id});
    if (probe.empty()) {
      throw Error(ErrorCode::kNotFound, "request " + request.request_id + " does not exist");
    }
    throw Error(ErrorCode::kConflict,
                "request " + request.request_id + " was changed by another writer (stored " +
                    "version " + std::to_string(probe.Int(0, 0)) + ", yours " +
                    std::to_string(request.version) + "); reload it and retry");
  });
  ++request.version;
}

std::optional<Request> PostgresStore::GetRequest(std::string_view request_id) {
  const std::string id(request_id);
  return Run("read request " + id, false, [&]() -> std::optional<Request> {
    PgResult r = impl_->Exec(RequestSql().select + " WHERE request_id = $1", {id});
    if (r.empty()) return std::nullopt;
    return ReadRequest(r, 0, impl_->where);
  });
}

std::vector<Request> PostgresStore::ListRequests(const RequestQuery& query) {
  return Run("list requests", false, [&] {
    std::string sql = RequestSql().select + " WHERE TRUE";
    Params params;
    auto param = [&](std::string value) {
      params.push_back(std::move(value));
      return "$" + std::to_string(params.size());
    };
    // Written as a literal so that the partial index requests_open applies.
    if (query.open_only) sql += " AND status = 'running'";
    if (query.status) sql += " AND status = " + param(std::string(RequestStatusName(*query.status)));
    if (query.kind) sql += " AND kind = " + param(std::string(RequestKindName(*query.kind)));
    if (query.unacknowledged_only) sql += " AND acknowledged_at <= 0";
    if (!query.template_id.empty()) sql += " AND template_id = " + param(query.template_id);
    if (query.updated_since > 0) {
      sql += " AND updated_at >= " + param(std::to_string(query.updated_since));
    }
    sql += kNewestFirst;
    if (query.limit > 0) sql += " LIMIT " + param(std::to_string(query.limit));
    PgResult r = impl_->Exec(sql, params);
    std::vector<Request> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadRequest(r, i, impl_->where));
    return out;
  });
}

void PostgresStore::InsertMachine(Machine& machine) {
  Run("store machine " + machine.machine_id, true, [&] {
    if (impl_->Exec(MachineSql().insert, MachineParams(machine)).affected() == 0) {
      throw Error(ErrorCode::kConflict,
                  "machine " + machine.machine_id + " already exists in " + impl_->where);
    }
  });
  machine.version = 1;
}

void PostgresStore::UpdateMachine(Machine& machine) {
  Run("update machine " + machine.machine_id, true, [&] {
    Params params = MachineParams(machine);
    params.push_back(std::to_string(machine.version));
    if (impl_->Exec(MachineSql().update, params).affected() == 1) return;
    PgResult probe = impl_->Exec("SELECT version FROM machines WHERE machine_id = $1",
                                 {machine.machine_id});
    if (probe.empty()) {
      throw Error(ErrorCode::kNotFound, "machine " + machine.machine_id + " does not exist");
    }
    throw Error(ErrorCode::kConflict,
                "machine " + machine.machine_id + " was changed by another writer (stored " +
                    "version " + std::to_string(probe.Int(0, 0)) + ", yours " +
                    std::to_string(machine.version) + "); reload it and retry");
  });
  ++machine.version;
}

std::optional<Machine> PostgresStore::GetMachine(std::string_view machine_id) {
  const std::string id(machine_id);
  return Run("read machine " + id, false, [&]() -> std::optional<Machine> {
    PgResult r = impl_->Exec(MachineSql().select + " WHERE machine_id = $1", {id});
    if (r.empty()) return std::nullopt;
    return ReadMachine(r, 0, impl_->where);
  });
}

std::optional<Machine> PostgresStore::FindMachineByName(std::string_view name) {
  if (name.empty()) return std::nullopt;
  const std::string n(name);
  return Run("find machine " + n, false, [&]() -> std::optional<Machine> {
    PgResult r = impl_->Exec(MachineSql().select + " WHERE name = $1" + kNewestFirst + " LIMIT 1",
                             {n});
    if (r.empty()) return std::nullopt;
    return ReadMachine(r, 0, impl_->where);
  });
}

std::vector<Machine> PostgresStore::ListMachines(const MachineQuery& query) {
  return Run("list machines", false, [&] {
    std::string sql = MachineSql().select + " WHERE TRUE";
    Params params;
    auto param = [&](std::string value) {
      params.push_back(std::move(value));
      return "$" + std::to_string(params.size());
    };
    if (!query.request_id.empty()) sql += " AND request_id = " + param(query.request_id);
    if (!query.return_request_id.empty()) {
      sql += " AND return_request_id = " + param(query.return_request_id);
    }
    if (!query.template_id.empty()) sql += " AND template_id = " + param(query.template_id);
    // Spelled exactly as in the partial index machines_active so that it applies.
    if (query.active_only) sql += std::string(" AND ") + kActiveMachineCondition;
    if (query.updated_since > 0) {
      sql += " AND updated_at >= " + param(std::to_string(query.updated_since));
    }
    sql += kNewestFirst;
    if (query.limit > 0) sql += " LIMIT " + param(std::to_string(query.limit));
    PgResult r = impl_->Exec(sql, params);
    std::vector<Machine> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadMachine(r, i, impl_->where));
    return out;
  });
}

void PostgresStore::RecordPoolFailure(const PoolFailure& failure) {
  Run("remember failed pool " + failure.pool, true, [&] {
    impl_->Exec("DELETE FROM pool_failures WHERE until <= $1",
                {std::to_string(static_cast<long long>(std::time(nullptr)))});
    impl_->Exec(
        "INSERT INTO pool_failures (provider_name, pool, kind, reason, until) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider_name, pool) DO UPDATE SET "
        "kind = EXCLUDED.kind, reason = EXCLUDED.reason, until = EXCLUDED.until",
        {failure.provider_name, failure.pool, failure.kind, failure.reason,
         std::to_string(failure.until)});
  });
}

std::vector<PoolFailure> PostgresStore::ListPoolFailures(std::string_view provider_name,
                                                         EpochSeconds now) {
  const std::string provider(provider_name);
  return Run("list failed pools", false, [&] {
    PgResult r = impl_->Exec(
        "SELECT provider_name, pool, kind, reason, until FROM pool_failures "
        "WHERE provider_name = $1 AND until > $2 ORDER BY until, pool",
        {provider, std::to_string(now)});
    std::vector<PoolFailure> out;
    for (int i = 0; i < r.rows(); ++i) {
      RowReader f(r, i);
      PoolFailure p;
      p.provider_name = f.Text();
      p.pool = f.Text();
      p.kind = f.Text();
      p.reason = f.Text();
      p.until = f.Int();
      out.push_back(std::move(p));
    }
    return out;
  });
}

bool PostgresStore::ClaimLease(std::string_view name, std::string_view holder, EpochSeconds now,
                               int ttl_sec) {
  const std::string n(name);
  return Run("claim lease " + n, true, [&] {
    return impl_
               ->Exec("INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) "
                      "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
                      "expires_at = EXCLUDED.expires_at "
                      "WHERE leases.expires_at <= $4 OR leases.holder = EXCLUDED.holder",
                      {n, std::string(holder), std::to_string(now + ttl_sec), std::to_string(now)})
               .affected() == 1;
  });
}

std::optional<Lease> PostgresStore::GetLease(std::string_view name) {
  const std::string n(name);
  return Run("read lease " + n, false, [&]() -> std::optional<Lease> {
    PgResult r = impl_->Exec("SELECT name, holder, expires_at FROM leases WHERE name = $1", {n});
    if (r.empty()) return std::nullopt;
    return Lease{r.Text(0, 0), r.Text(0, 1), r.Int(0, 2)};
  });
}

StoreInfo PostgresStore::Info() {
  return Run("describe the store", false, [&] {
    StoreInfo info;
    info.strategy = "postgresql";
    info.location = RedactUrl(impl_->options.url) + " (schema " + impl_->options.schema + ")";
    info.schema_version = static_cast<int>(impl_->Exec("SELECT version FROM schema_version").Int(0, 0));
    for (const char* table : {"requests", "machines", "pool_failures"}) {
      info.counts[table] = impl_->Exec(std::string("SELECT count(*) FROM ") + table).Int(0, 0);
    }
    return info;
  });
}

StoreTally PostgresStore::Tally() {
  return Run("count requests and machines", false, [&] {
    StoreTally tally;
    PgResult requests =
        impl_->Exec("SELECT kind, status, count(*) FROM requests GROUP BY kind, status");
    for (int i = 0; i < requests.rows(); ++i) {
      tally.requests[{requests.Text(i, 0), requests.Text(i, 1)}] = requests.Int(i, 2);
    }
    PgResult machines = impl_->Exec("SELECT state, count(*) FROM machines GROUP BY state");
    for (int i = 0; i < machines.rows(); ++i) tally.machines[machines.Text(i, 0)] = machines.Int(i, 1);
    return tally;
  });
}

void PostgresStore::CheckHealth() {
  Run("check the store's health", true, [&] {
    const int version = static_cast<int>(impl_->Exec("SELECT version FROM schema_version").Int(0, 0));
    if (version != kSchemaVersion) {
      throw Error(ErrorCode::kStore, impl_->where + ": schema version " + std::to_string(version) +
                                         " is not the " + std::to_string(kSchemaVersion) +
                                         " this orb expects; was it changed by another orb?");
    }
    impl_->Exec("SELECT count(*) FROM requests");
    impl_->Exec("SELECT count(*) FROM machines");
    // Written and removed again: the write path is exercised, the data unchanged.
    impl_->Exec("INSERT INTO store_health (checked_at) VALUES ($1)",
                {std::to_string(static_cast<long long>(std::time(nullptr)))});
    impl_->Exec("DELETE FROM store_health");
  });
}

}  // namespace orb
