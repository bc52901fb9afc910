#include "provider/aws/launch_pools.h"

#include <algorithm>
#include <climits>
#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "provider/provider.h"

namespace orb {

std::string LaunchPool::Key() const { return PoolKey(instance_type, subnet_id, spot); }

nlohmann::json LaunchPool::ToJson() const {
  return {{"type", instance_type},
          {"subnet", subnet_id},
          {"weight", weight},
          {"spot", spot},
          {"max_price", max_price}};
}

LaunchPool LaunchPool::FromJson(const nlohmann::json& json) {
  try {
    LaunchPool p;
    p.instance_type = json.at("type").get<std::string>();
    p.subnet_id = json.at("subnet").get<std::string>();
    p.weight = json.at("weight").get<int>();
    p.spot = json.at("spot").get<bool>();
    p.max_price = json.value("max_price", "");
    return p;
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::kStore, "stored launch pool is damaged");
  }
}

std::vector<LaunchPool> OrderedPools(const Template& t, const std::vector<std::string>& avoid,
                                     bool on_demand_fallback) {
  std::vector<std::pair<std::string, int>> types = t.vm_types;
  if (types.empty()) types.emplace_back("", 1);  // the launch template's own type
  auto priority = [&](const std::string& type) {
    for (const auto& [name, p] : t.vm_types_priority) {
      if (name == type) return p;
    }
    return INT_MAX;
  };
  std::stable_sort(types.begin(), types.end(), [&](const auto& a, const auto& b) {
    return priority(a.first) < priority(b.first);
  });
  std::vector<std::string> subnets = t.subnet_ids;
  if (subnets.empty()) subnets.push_back("");
  const bool spot = t.price_type == PriceType::kSpot;
  const std::string max_price = t.max_spot_price ? fmt::format("{}", *t.max_spot_price) : "";
  std::vector<LaunchPool> pools;
  for (bool as_spot : {true, false}) {
    if (as_spot != spot && !(spot && on_demand_fallback && !as_spot)) continue;
    std::vector<LaunchPool> part;
    for (const auto& [type, weight] : types) {
      for (const std::string& subnet : subnets) {
        LaunchPool p;
        p.instance_type = type;
        p.subnet_id = subnet;
        p.weight = std::max(1, weight);
        p.spot = as_spot;
        if (as_spot) p.max_price = max_price;
        part.push_back(p);
      }
    }
    const std::set<std::string> avoided(avoid.begin(), avoid.end());
    std::stable_partition(part.begin(), part.end(),
                          [&](const LaunchPool& p) { return !avoided.count(p.Key()); });
    pools.insert(pools.end(), part.begin(), part.end());
  }
  return pools;
}

int InstancesFor(int units, int weight) {
  weight = std::max(1, weight);
  return units <= 0 ? 0 : (units + weight - 1) / weight;
}

nlohmann::json LaunchStep::ToJson() const {
  return {{"step", step},
          {"pool", pool},
          {"units", units},
          {"remaining", remaining},
          {"spot_failures", spot_failures}};
}

LaunchStep LaunchStep::FromJson(const nlohmann::json& json) {
  try {
    LaunchStep s;
    s.step = json.at("step").get<int>();
    s.pool = json.at("pool").get<int>();
    s.units = json.at("units").get<int>();
    s.remaining = json.at("remaining").get<int>();
    s.spot_failures = json.value("spot_failures", 0);
    return s;
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::kStore, "stored launch step is damaged");
  }
}

namespace {

// Splits `units` at `pool`: what one call may ask for, and what is left.
LaunchStep Chunk(const std::vector<LaunchPool>& pools, int pool, int units,
                 int max_instances_per_call) {
  LaunchStep s;
  s.pool = pool;
  const long long most =
      static_cast<long long>(std::max(1, max_instances_per_call)) * pools.at(pool).weight;
  s.units = static_cast<int>(std::min<long long>(units, most));
  s.remaining = units - s.units;
  return s;
}

}  // namespace

LaunchStep FirstStep(const std::vector<LaunchPool>& pools, int units, int max_instances_per_call) {
  if (pools.empty()) throw Error(ErrorCode::kInvalidInput, "no capacity pool to launch in");
  return Chunk(pools, 0, units, max_instances_per_call);
}

std::optional<LaunchStep> NextStep(const std::vector<LaunchPool>& pools, const LaunchStep& done,
                                   int launched_units, bool pool_failed, int spot_fallback_after,
                                   int max_instances_per_call, bool* out_of_pools) {
  if (out_of_pools) *out_of_pools = false;
  const long long still = static_cast<long long>(done.units) - launched_units + done.remaining;
  if (still <= 0) return std::nullopt;
  int pool = done.pool;
  int spot_failures = done.spot_failures;
  if (pool_failed) {
    ++pool;
    if (pools.at(done.pool).spot) {
      ++spot_failures;
      if (spot_fallback_after > 0 && spot_failures >= spot_fallback_after) {
        while (pool < static_cast<int>(pools.size()) && pools[pool].spot) ++pool;
      }
    }
  }
  if (pool >= static_cast<int>(pools.size())) {
    if (out_of_pools) *out_of_pools = true;
    return std::nullopt;
  }
  LaunchStep next = Chunk(pools, pool, static_cast<int>(still), max_instances_per_call);
  next.step = done.step + 1;
  next.spot_failures = spot_failures;
  return next;
}

}  // namespace orb
