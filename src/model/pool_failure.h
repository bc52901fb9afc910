#pragma once

#include <string>

#include "common/clock.h"

namespace orb {

// A capacity pool (instance type × subnet × price type) the cloud recently could
// not launch in. The broker remembers it until `until` and steers launches to
// other pools meanwhile.
struct PoolFailure {
  std::string provider_name;  // the provider instance that saw the failure
  std::string pool;           // the pool's key, e.g. "c5.large|subnet-1|spot"
  std::string kind;           // "capacity", "quota" or "price"
  std::string reason;         // the cloud's code and message
  EpochSeconds until = 0;     // forgotten after this time
};

}  // namespace orb
