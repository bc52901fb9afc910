#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/machine.h"
#include "model/pool_failure.h"
#include "model/request.h"

namespace orb {

// Which requests ListRequests returns. Empty fields do not filter.
struct RequestQuery {
  bool open_only = false;                // only status kRunning
  std::optional<RequestStatus> status;   // only this status
  std::optional<RequestKind> kind;       // only this kind
  bool unacknowledged_only = false;      // only requests whose caller was never told their id
  std::string template_id;               // only requests of this template
  long long updated_since = 0;           // only those updated at or after (epoch s); 0 = all
  int limit = 0;                         // at most this many, newest first; 0 = all
};

// Which machines ListMachines returns. Empty fields do not filter.
struct MachineQuery {
  std::string request_id;         // launched by this acquire request
  std::string return_request_id;  // given back by this return request
  std::string template_id;        // launched from this template
  bool active_only = false;       // only machines not in a final state
  long long updated_since = 0;    // only those updated at or after (epoch s); 0 = all
  int limit = 0;                  // at most this many, newest first; 0 = all
};

// How many requests and machines the store holds in each state (for /metrics).
struct StoreTally {
  std::map<std::pair<std::string, std::string>, long long> requests;  // (kind, status) -> n
  std::map<std::string, long long> machines;                          // state -> n
};

// A named lease: which orb process may do, for a while, a job that one process of all
// those sharing the store should do at a time (e.g. "reconcile": the next reconciler
// pass).
struct Lease {
  std::string name;
  std::string holder;        // who took it, e.g. "<broker id>/<host>/<pid>"
  EpochSeconds expires_at = 0;  // free again from this time on
};

// What a store says about itself (`orb storage show`).
struct StoreInfo {
  std::string strategy;        // "sqlite", ...
  std::string location;        // file path or URL with any password redacted
  int schema_version = 0;      // current schema version of the stored data
  std::map<std::string, long long> counts;  // row counts by table
};

// Where requests and machines are kept, durably. Every method either succeeds
// or throws Error (kStore for I/O and corruption, kConflict for a lost race,
// kNotFound where stated) and never leaves a half-written change behind.
// Implementations must be safe when many processes use the same store at once:
// HostFactory starts a new orb process for every call, and calls overlap.
// One Store object is used by one thread at a time.
class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` as one atomic, durable transaction: every write made through this
  // store inside `fn` is committed together when `fn` returns, or none is if it
  // throws (the exception is rethrown). Reads inside `fn` see a consistent
  // snapshot, and the transaction holds the write lock from its start so that a
  // read-decide-write inside `fn` cannot race another process. Nested calls join
  // the outer transaction.
  virtual void Transaction(const std::function<void()>& fn) = 0;

  // Stores a new request with version 1 (also set in `request`). Throws
  // Error(kConflict) if a request with that id exists.
  virtual void InsertRequest(Request& request) = 0;

  // Overwrites a stored request if its stored version still equals
  // `request.version`, then increments the version (in the store and in
  // `request`). Throws Error(kConflict) when another writer got there first, and
  // Error(kNotFound) when the request does not exist.
  virtual void UpdateRequest(Request& request) = 0;

  // Returns the request with this id, or nullopt.
  virtual std::optional<Request> GetRequest(std::string_view request_id) = 0;

  // Returns the requests matching `query`, newest first.
  virtual std::vector<Request> ListRequests(const RequestQuery& query) = 0;

  // Stores a new machine with version 1 (also set in `machine`). Throws
  // Error(kConflict) if a machine with that id exists.
  virtual void InsertMachine(Machine& machine) = 0;

  // Overwrites a stored machine under the same optimistic-concurrency rule as
  // UpdateRequest.
  virtual void UpdateMachine(Machine& machine) = 0;

  // Returns the machine with this cloud id, or nullopt.
  virtual std::optional<Machine> GetMachine(std::string_view machine_id) = 0;

  // Returns the newest machine with this host name, or nullopt.
  virtual std::optional<Machine> FindMachineByName(std::string_view name) = 0;

  // Returns the machines matching `query`, newest first.
  virtual std::vector<Machine> ListMachines(const MachineQuery& query) = 0;

  // Remembers that a capacity pool failed, replacing what was remembered about the
  // same provider and pool.
  virtual void RecordPoolFailure(const PoolFailure& failure) = 0;

  // The pool failures of `provider_name` still remembered at `now` (until > now),
  // oldest first. Expired ones are never returned.
  virtual std::vector<PoolFailure> ListPoolFailures(std::string_view provider_name,
                                                    EpochSeconds now) = 0;

  // Takes lease `name` for `holder` until `now + ttl_sec` when nobody holds it, its
  // time ran out (expires_at <= now), or `holder` holds it already (a renewal), and
  // returns true; otherwise returns false and changes nothing. Of several processes
  // claiming at once, exactly one wins.
  virtual bool ClaimLease(std::string_view name, std::string_view holder, EpochSeconds now,
                          int ttl_sec) = 0;

  // The lease `name` as stored (expired or not), or nullopt if never taken.
  virtual std::optional<Lease> GetLease(std::string_view name) = 0;

  // Describes the store: strategy, location, schema version, row counts.
  virtual StoreInfo Info() = 0;

  // Requests by kind and status, machines by state.
  virtual StoreTally Tally() = 0;

  // Proves the store is usable right now by a read and a write that leaves no
  // trace; throws Error(kStore) with the reason otherwise.
  virtual void CheckHealth() = 0;
};

// Settings a store is opened with (`storage.*` config keys).
struct StoreOptions {
  std::string strategy = "sqlite";  // "sqlite" or "postgresql"
  std::string path;                 // sqlite: the database file
  int busy_timeout_ms = 10000;      // how long to wait for another process's lock
  // postgresql: the server, as a libpq URL ("postgresql://user@host:5432/db?sslmode=
  // verify-full&sslrootcert=..."); the password given apart (never in a message);
  // the schema holding orb's tables (created when missing).
  std::string url;
  std::string password;
  std::string schema = "orb";
};

// Opens (creating and migrating as needed) the store `options` describe. Throws
// Error(kInvalidConfig) for an unknown strategy and Error(kStore) when it cannot
// be opened.
std::unique_ptr<Store> OpenStore(const StoreOptions& options);

}  // namespace orb
