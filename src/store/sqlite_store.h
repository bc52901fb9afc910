#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "store/store.h"

namespace SQLite {
class Database;
class Exception;
class Statement;
}  // namespace SQLite

namespace orb {

// The embedded default store: one SQLite file in WAL mode with synchronous=FULL, so
// that a transaction that returned is on disk. Many processes may open the same file
// at once; writers queue on SQLite's file lock for up to the busy timeout.
//
// The schema is versioned with `PRAGMA user_version` and migrated forward on open.
class SqliteStore : public Store {
 public:
  // The schema version this build writes and understands.
  static int CurrentSchemaVersion();

  // Opens the database file at `path`, creating it (mode 0600) and any missing parent
  // directories (mode 0700) first, and migrates an older schema to the current one.
  // `busy_timeout_ms` is how long any call waits for another process's lock.
  // Throws Error(kStore), naming the path, when the directory or file cannot be
  // created, the file is not an orb database or is corrupt, is read-only, stays
  // locked past the timeout, or holds a schema newer than this build knows.
  SqliteStore(std::string path, int busy_timeout_ms);

  // Closes the database. Never throws.
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Runs `fn` inside BEGIN IMMEDIATE ... COMMIT (see Store::Transaction). A nested
  // call joins the outer transaction; if the nested `fn` throws, its own writes are
  // undone (a savepoint) before the exception reaches the outer `fn`.
  void Transaction(const std::function<void()>& fn) override;

  // See Store::InsertRequest.
  void InsertRequest(Request& request) override;

  // See Store::UpdateRequest.
  void UpdateRequest(Request& request) override;

  // See Store::GetRequest.
  std::optional<Request> GetRequest(std::string_view request_id) override;

  // See Store::ListRequests.
  std::vector<Request> ListRequests(const RequestQuery& query) override;

  // See Store::InsertMachine.
  void InsertMachine(Machine& machine) override;

  // See Store::UpdateMachine.
  void UpdateMachine(Machine& machine) override;

  // See Store::GetMachine.
  std::optional<Machine> GetMachine(std::string_view machine_id) override;

  // See Store::FindMachineByName. An empty name matches nothing.
  std::optional<Machine> FindMachineByName(std::string_view name) override;

  // See Store::ListMachines.
  std::vector<Machine> ListMachines(const MachineQuery& query) override;

  // See Store::RecordPoolFailure. Also forgets expired failures.
  void RecordPoolFailure(const PoolFailure& failure) override;

  // See Store::ListPoolFailures.
  std::vector<PoolFailure> ListPoolFailures(std::string_view provider_name,
                                            EpochSeconds now) override;

  // See Store::ClaimLease (one upsert, under SQLite's write lock).
  bool ClaimLease(std::string_view name, std::string_view holder, EpochSeconds now,
                  int ttl_sec) override;

  // See Store::GetLease.
  std::optional<Lease> GetLease(std::string_view name) override;

  // Strategy "sqlite", location = the file path, the schema version and the row
  // counts of "requests" and "machines".
  StoreInfo Info() override;
  StoreTally Tally() override;

  // Reads both tables and commits a write that is undone in the same transaction
  // (so the lock, the journal and fsync are exercised and no data changes).
  void CheckHealth() override;

 private:
  void Open();
  void Configure();
  void Migrate();
  int UserVersion();
  void BeginImmediate(std::string_view action);
  void Commit(std::string_view action);
  void RollbackQuietly();
  void EnsureTransactionAlive(std::string_view action);
  void Exec(const std::string& sql, std::string_view action);

  // Runs `fn` and turns any SQLite failure into Error(kStore) (or the code it maps
  // to) that names the file and `action`.
  template <typename Fn>
  auto Guard(std::string_view action, Fn&& fn) -> decltype(fn());

  // Turns a SQLite failure while doing `action` into an orb::Error naming the file.
  [[noreturn]] void Fail(const SQLite::Exception& e, std::string_view action) const;

  // The orb::Error that Fail throws.
  Error Describe(const SQLite::Exception& e, std::string_view action) const;

  Request ReadRequest(SQLite::Statement& stmt) const;
  Machine ReadMachine(SQLite::Statement& stmt) const;

  std::string path_;
  int busy_timeout_ms_;
  std::unique_ptr<SQLite::Database> db_;
  int depth_ = 0;  // nesting depth of Transaction calls; 0 = none open
};

}  // namespace orb
