#include "store/store.h"

#include "common/error.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace orb {

std::unique_ptr<Store> OpenStore(const StoreOptions& options) {
  if (options.strategy == "sqlite") {
    return std::make_unique<SqliteStore>(options.path, options.busy_timeout_ms);
  }
  if (options.strategy == "postgresql") return std::make_unique<PostgresStore>(options);
  throw Error(ErrorCode::kInvalidConfig, "unknown storage strategy '" + options.strategy +
                                             "' (supported: sqlite, postgresql)");
}

}  // namespace orb
