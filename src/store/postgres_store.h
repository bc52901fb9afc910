#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "store/store.h"

namespace orb {

// The shared store for several brokers on several hosts: orb's tables in one schema
// (storage.schema, default "orb") of a PostgreSQL database (storage.url), through
// libpq (loaded on first use: pq_library.h). Behaves as SqliteStore does: every
// Transaction holds the store's write lock from its start (a transaction-level
// advisory lock keyed by the schema, so writers of all brokers queue for it and a
// read-decide-write cannot race another broker), and a lone write outside a
// Transaction takes it too; rows carry versions for optimistic concurrency. A commit
// that returned is durable (the server's own fsync rules).
//
// The schema is versioned in its table schema_version and migrated forward on open,
// under the same lock. The password is given apart from the URL and never appears in
// a message; URLs in messages have any password they carry replaced by "***".
class PostgresStore : public Store {
 public:
  // The schema version this build writes and understands.
  static int CurrentSchemaVersion();

  // Connects to `options.url` (with `options.password`, if any), creates the schema
  // `options.schema` and migrates it. Waits at most options.busy_timeout_ms for the
  // lock. Throws Error(kStore) naming the server (password redacted) when it cannot
  // connect or authenticate, the schema holds another program's tables, or its
  // schema version is newer than this build knows; Error(kInvalidConfig) for an
  // empty URL or schema name.
  explicit PostgresStore(const StoreOptions& options);

  // Closes the connection. Never throws.
  ~PostgresStore() override;

  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // See Store::Transaction. A nested call is a savepoint: if its `fn` throws, its own
  // writes are undone before the exception reaches the outer `fn`.
  void Transaction(const std::function<void()>& fn) override;

  void InsertRequest(Request& request) override;
  void UpdateRequest(Request& request) override;
  std::optional<Request> GetRequest(std::string_view request_id) override;
  std::vector<Request> ListRequests(const RequestQuery& query) override;
  void InsertMachine(Machine& machine) override;
  void UpdateMachine(Machine& machine) override;
  std::optional<Machine> GetMachine(std::string_view machine_id) override;
  // An empty name matches nothing.
  std::optional<Machine> FindMachineByName(std::string_view name) override;
  std::vector<Machine> ListMachines(const MachineQuery& query) override;
  // Also forgets expired failures.
  void RecordPoolFailure(const PoolFailure& failure) override;
  std::vector<PoolFailure> ListPoolFailures(std::string_view provider_name,
                                            EpochSeconds now) override;

  // One upsert under the store's lock.
  bool ClaimLease(std::string_view name, std::string_view holder, EpochSeconds now,
                  int ttl_sec) override;
  std::optional<Lease> GetLease(std::string_view name) override;

  // Strategy "postgresql", location = the URL (password redacted) and the schema,
  // the schema version and the row counts.
  StoreInfo Info() override;
  StoreTally Tally() override;

  // Takes the lock, checks the schema version, reads both tables and writes a row
  // that is undone before the end (no data changes).
  void CheckHealth() override;

 private:
  struct Impl;

  // Runs `fn` inside the transaction in force, or (when `writes`) in a transaction of
  // its own that takes the lock first and is committed after `fn`, or (a read) on its
  // own. Turns libpq failures into Error naming `action`.
  template <typename Fn>
  auto Run(std::string_view action, bool writes, Fn&& fn) -> decltype(fn());

  std::unique_ptr<Impl> impl_;
};

// `url` with any password it carries (user:password@, or password=...) replaced by
// "***": what messages and `orb storage show` print.
std::string RedactUrl(const std::string& url);

}  // namespace orb
