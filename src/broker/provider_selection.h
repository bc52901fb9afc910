#pragma once

#include <string>
#include <vector>

namespace orb {

// A provider instance a request may be launched by, as the selection sees it.
struct ProviderCandidate {
  std::string name;
  int weight = 1;       // share under the "weighted" policy (>= 1)
  bool healthy = true;  // false: it failed recently (capacity, quota, circuit open, ...)
};

// The order in which a request tries `candidates` (given in the template's preference
// order) under `policy`:
//   "first-available": the given order;
//   "round-robin": the given order rotated to start after `last_used` (the instance
//     the template's previous request was launched by; "" or unknown = from the start);
//   "weighted": one instance drawn by weight with `random01` in [0, 1), then the rest
//     in the given order.
// Healthy candidates always come before unhealthy ones (which stay as a last resort);
// the draw of "weighted" is among the healthy ones when there is any. Pure function.
std::vector<std::string> OrderProviders(const std::string& policy,
                                        const std::vector<ProviderCandidate>& candidates,
                                        const std::string& last_used, double random01);

}  // namespace orb
