#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/template.h"

namespace orb {

// One capacity pool a launch may draw from: an instance type in a subnet, bought on
// demand or as spot.
struct LaunchPool {
  std::string instance_type;  // "" = the launch template's own
  std::string subnet_id;      // "" = the default subnet
  int weight = 1;             // capacity units one instance counts for
  bool spot = false;
  std::string max_price;  // spot only; "" = up to the on-demand price

  // The pool's PoolKey.
  std::string Key() const;
  nlohmann::json ToJson() const;
  // Reads ToJson()'s form; throws Error(kStore) when it is damaged.
  static LaunchPool FromJson(const nlohmann::json& json);
};

// The pools of `t` in the order a launch tries them: instance types by
// vmTypesPriority (lowest number first, unlisted types after, then file order), each
// in every subnet in file order; pools named in `avoid` (recently failed) moved to
// the end. With `on_demand_fallback` a spot template's pools are followed by the
// same pools on demand.
std::vector<LaunchPool> OrderedPools(const Template& t, const std::vector<std::string>& avoid,
                                     bool on_demand_fallback);

// Instances of `weight` units needed to cover `units` (weights below 1 count as 1).
int InstancesFor(int units, int weight);

// Where a launch made of several calls stands: the call being made.
struct LaunchStep {
  int step = 0;           // 0 for the first call
  int pool = 0;           // index into the launch's pools
  int units = 0;          // units this call asks for
  int remaining = 0;      // units left for later calls
  int spot_failures = 0;  // spot pools that failed so far

  nlohmann::json ToJson() const;
  static LaunchStep FromJson(const nlohmann::json& json);
};

// The first call of a launch of `units` over `pools`, at most
// `max_instances_per_call` instances per call.
LaunchStep FirstStep(const std::vector<LaunchPool>& pools, int units, int max_instances_per_call);

// The call after `done`, which launched `launched_units`; `pool_failed` when its
// pool could not give what was asked (the next call then uses the next pool, or the
// first on-demand pool once `spot_fallback_after` > 0 spot pools failed). nullopt
// when nothing remains; sets *out_of_pools when units remain but no pool is left.
std::optional<LaunchStep> NextStep(const std::vector<LaunchPool>& pools, const LaunchStep& done,
                                   int launched_units, bool pool_failed, int spot_fallback_after,
                                   int max_instances_per_call, bool* out_of_pools);

}  // namespace orb
