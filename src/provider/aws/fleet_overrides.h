#pragma once

// What EC2 Fleet, Spot Fleet and Auto Scaling launches share: the capacity pools a
// fleet may draw from (overrides), how its capacity splits between on-demand and
// spot, and which allocation strategies it uses.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/template.h"
#include "provider/aws/ec2_client.h"

namespace orb {

// A fleet's capacity in units, split between on-demand and spot.
struct CapacitySplit {
  int on_demand = 0;
  int spot = 0;
};

// `units` split by `percent_on_demand` (clamped to 0..100): floor(units × percent /
// 100) units on demand, the rest spot. The parts always add up to `units`.
CapacitySplit SplitOnDemand(int units, int percent_on_demand);

// The split of a launch of `units` of `t`: for a spot template, by percentOnDemand (0
// when unset); for an on-demand template, everything on demand.
CapacitySplit TemplateSplit(const Template& t, int units);

// Which markets a fleet buys in (each override serves every market the fleet uses).
struct FleetMarkets {
  bool on_demand = false;
  bool spot = false;
};

// The overrides of a fleet of `t` buying in `markets`:
// - with `requirements` (NormalizeInstanceRequirements' form, not null): one override
//   per subnet carrying them instead of an instance type;
// - otherwise every instance type in every subnet (file order), with its weight: the
//   vmTypes, plus, when the fleet buys on demand, the vmTypesOnDemand not among them;
// - Priority (lower first): with vmTypesOnDemand used, the on-demand types rank first,
//   then the rest, each by vmTypesPriority then file order (0, 1, 2, ...); otherwise the
//   vmTypesPriority number of the types it lists;
// - with spot in `markets`, the template's maximum spot price on each;
// - pools in `avoid` (PoolKey strings that failed recently) for every market the fleet
//   buys in are left out, unless that would leave none.
// Throws Error(kInvalidConfig) naming the field for a type in vmTypes and
// vmTypesOnDemand with two different weights.
std::vector<FleetOverride> FleetOverrides(const Template& t, FleetMarkets markets,
                                          const std::vector<std::string>& avoid,
                                          const nlohmann::json& requirements);

// True when some override has a Priority.
bool HasPriorities(const std::vector<FleetOverride>& overrides);

// A fleet's allocation strategies, in the API's spelling.
struct FleetStrategies {
  std::string spot;
  std::string on_demand;
};

// The strategies of a fleet of `t`. Spot: allocationStrategy as written, else
// capacity-optimized-prioritized when `prioritized`, else price-capacity-optimized.
// On demand: allocationStrategyOnDemand as written (or, for an on-demand template,
// allocationStrategy), else prioritized when `prioritized`, else lowest-price. Spelled
// for EC2 Fleet and Auto Scaling ("capacity-optimized-prioritized"), or with
// `spot_fleet` for Spot Fleet ("capacityOptimizedPrioritized").
FleetStrategies ChooseStrategies(const Template& t, bool prioritized, bool spot_fleet);

// The InstanceRequirements of `t` (NormalizeInstanceRequirements' form), or null when
// the template gives none. Throws Error(kInvalidConfig) naming
// abisInstanceRequirements when they are unusable.
nlohmann::json TemplateRequirements(const Template& t);

}  // namespace orb
