#pragma once

// The store back ends one behavioural suite runs against: each test gets a fresh,
// empty place for its store, a SQLite file in a temporary directory or a PostgreSQL
// schema of its own in the test cluster (tools/pg-test-cluster.sh, started by ctest's
// postgres fixture; its URL and password are read from files under the build tree).

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace orb::testing {

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;

  // "sqlite" or "postgresql".
  virtual std::string name() const = 0;

  // Options that open a store on this test's place (every call the same place; a
  // forked child may open its own store with them).
  virtual StoreOptions Options() const = 0;

  // Opens a store on this test's place.
  std::unique_ptr<Store> Open() const { return OpenStore(Options()); }
};

// The back ends of the suite, in order: "sqlite", "postgresql".
std::vector<std::string> StoreBackendNames();

// A fresh place of back end `name`, removed when the object goes. Throws
// std::runtime_error naming what is missing (the PostgreSQL test cluster not started).
std::unique_ptr<StoreBackend> MakeStoreBackend(const std::string& name);

}  // namespace orb::testing
