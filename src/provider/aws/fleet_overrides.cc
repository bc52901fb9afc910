#include "provider/aws/fleet_overrides.h"

#include <algorithm>
#include <climits>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/strings.h"
#include "provider/aws/instance_requirements.h"
#include "provider/aws/launch_spec.h"
#include "provider/provider.h"

namespace orb {

namespace {

// The vmTypesPriority number of `type`, or INT_MAX when it has none.
int WrittenPriority(const Template& t, const std::string& type) {
  for (const auto& [name, p] : t.vm_types_priority) {
    if (name == type) return p;
  }
  return INT_MAX;
}

bool Listed(const std::vector<std::pair<std::string, int>>& list, const std::string& type) {
  return std::any_of(list.begin(), list.end(), [&](const auto& p) { return p.first == type; });
}

// An on-demand strategy written in any casing, in the API's spelling.
std::string OnDemandStrategy(const std::string& written, bool spot_fleet) {
  const std::string f = FoldName(written);
  if (f == "lowestprice") return spot_fleet ? "lowestPrice" : "lowest-price";
  if (f == "prioritized") return "prioritized";
  return written;
}

bool IsOnDemandStrategy(const std::string& written) {
  const std::string f = FoldName(written);
  return f == "lowestprice" || f == "prioritized";
}

}  // namespace

CapacitySplit SplitOnDemand(int units, int percent_on_demand) {
  CapacitySplit split;
  if (units <= 0) return split;
  const long long percent = std::clamp(percent_on_demand, 0, 100);
  split.on_demand = static_cast<int>(static_cast<long long>(units) * percent / 100);
  split.spot = units - split.on_demand;
  return split;
}

CapacitySplit TemplateSplit(const Template& t, int units) {
  if (t.price_type != PriceType::kSpot) return {std::max(0, units), 0};
  return SplitOnDemand(units, t.percent_on_demand.value_or(0));
}

std::vector<FleetOverride> FleetOverrides(const Template& t, FleetMarkets markets,
                                          const std::vector<std::string>& avoid,
                                          const nlohmann::json& requirements) {
  std::vector<std::string> subnets = t.subnet_ids;
  if (subnets.empty()) subnets.push_back("");
  const std::string max_price =
      markets.spot && t.max_spot_price ? fmt::format("{}", *t.max_spot_price) : "";
  std::vector<FleetOverride> out;
  if (!requirements.is_null()) {
    for (const std::string& subnet : subnets) {
      FleetOverride o;
      o.subnet_id = subnet;
      o.instance_requirements = requirements;
      o.max_price = max_price;
      out.push_back(o);
    }
    return out;
  }

  // The types, with their weights and whether they are the on-demand part's.
  struct Type {
    std::string name;
    int weight = 1;
    bool on_demand_type = false;
  };
  const bool on_demand_types = markets.on_demand && !t.vm_types_on_demand.empty();
  std::vector<Type> types;
  for (const auto& [name, weight] : t.vm_types) {
    const bool listed = on_demand_types && Listed(t.vm_types_on_demand, name);
    types.push_back({name, std::max(1, weight), listed});
  }
  if (on_demand_types) {
    for (const auto& entry : t.vm_types_on_demand) {
      // (Named, not a structured binding: clang 14 cannot capture one in a lambda.)
      const std::string& name = entry.first;
      const int weight = entry.second;
      auto same = std::find_if(types.begin(), types.end(),
                               [&](const Type& x) { return x.name == name; });
      if (same == types.end()) {
        types.push_back({name, std::max(1, weight), true});
      } else if (same->weight != std::max(1, weight)) {
        ThrowTemplateError(t, "vmTypesOnDemand",
                           "'" + name + "' has weight " + std::to_string(weight) +
                               " here but " + std::to_string(same->weight) +
                               " in vmTypes: one instance counts the same in both");
      }
    }
  }

  // Priorities: rank order when the on-demand types must come first, else as written.
  std::vector<std::optional<double>> priority(types.size());
  if (on_demand_types) {
    std::vector<std::size_t> order(types.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (types[a].on_demand_type != types[b].on_demand_type) return types[a].on_demand_type;
      return WrittenPriority(t, types[a].name) < WrittenPriority(t, types[b].name);
    });
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
      priority[order[rank]] = static_cast<double>(rank);
    }
  } else {
    for (std::size_t i = 0; i < types.size(); ++i) {
      const int p = WrittenPriority(t, types[i].name);
      if (p != INT_MAX) priority[i] = p;
    }
  }

  const std::set<std::string> avoided(avoid.begin(), avoid.end());
  std::vector<FleetOverride> kept;
  for (std::size_t i = 0; i < types.size(); ++i) {
    for (const std::string& subnet : subnets) {
      FleetOverride o;
      o.instance_type = types[i].name;
      o.subnet_id = subnet;
      o.weighted_capacity = types[i].weight;
      o.priority = priority[i];
      o.max_price = max_price;
      out.push_back(o);
      // Left out only when it failed in every market this fleet buys in.
      const bool failed_spot = avoided.count(PoolKey(o.instance_type, subnet, true)) > 0;
      const bool failed_on_demand = avoided.count(PoolKey(o.instance_type, subnet, false)) > 0;
      const bool avoid_it = (markets.spot || markets.on_demand) &&
                            (!markets.spot || failed_spot) &&
                            (!markets.on_demand || failed_on_demand);
      if (!avoid_it) kept.push_back(o);
    }
  }
  return kept.empty() ? out : kept;
}

bool HasPriorities(const std::vector<FleetOverride>& overrides) {
  return std::any_of(overrides.begin(), overrides.end(),
                     [](const FleetOverride& o) { return o.priority.has_value(); });
}

FleetStrategies ChooseStrategies(const Template& t, bool prioritized, bool spot_fleet) {
  FleetStrategies s;
  if (!t.allocation_strategy.empty() || !prioritized) {
    s.spot = spot_fleet ? SpotFleetAllocationStrategy(t.allocation_strategy)
                        : Ec2AllocationStrategy(t.allocation_strategy, true);
  } else {
    s.spot = spot_fleet ? "capacityOptimizedPrioritized" : "capacity-optimized-prioritized";
  }
  if (!t.allocation_strategy_on_demand.empty()) {
    s.on_demand = OnDemandStrategy(t.allocation_strategy_on_demand, spot_fleet);
  } else if (t.price_type != PriceType::kSpot && IsOnDemandStrategy(t.allocation_strategy)) {
    s.on_demand = OnDemandStrategy(t.allocation_strategy, spot_fleet);
  } else if (prioritized) {
    s.on_demand = "prioritized";
  } else {
    s.on_demand = spot_fleet ? "lowestPrice" : "lowest-price";
  }
  return s;
}

nlohmann::json TemplateRequirements(const Template& t) {
  if (t.abis_instance_requirements.is_null()) return nullptr;
  nlohmann::json out;
  // The template keeps the object in file order; AWS takes any order.
  const nlohmann::json written = nlohmann::json::parse(t.abis_instance_requirements.dump());
  if (std::string why = NormalizeInstanceRequirements(written, &out); !why.empty()) {
    ThrowTemplateError(t, "abisInstanceRequirements", why);
  }
  return out;
}

}  // namespace orb
