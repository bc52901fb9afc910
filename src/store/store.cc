#include "store/store.h"

#include "common/error.h"
#include "store/sqlite_store.h"

namespace orb {

std::unique_ptr<Store> OpenStore(const StoreOptions& options) {
  if (options.strategy == "sqlite") {
    return std::make_unique<SqliteStore>(options.path, options.busy_timeout_ms);
  }
  throw Error(ErrorCode::kInvalidConfig,
              "unknown storage strategy '" + options.strategy + "' (supported: sqlite)");
}

}  // namespace orb
