#include "broker/provider_selection.h"

#include <algorithm>

namespace orb {

std::vector<std::string> OrderProviders(const std::string& policy,
                                        const std::vector<ProviderCandidate>& candidates,
                                        const std::string& last_used, double random01) {
  std::vector<ProviderCandidate> order = candidates;
  if (policy == "round-robin" && !order.empty()) {
    auto it = std::find_if(order.begin(), order.end(),
                           [&](const ProviderCandidate& c) { return c.name == last_used; });
    if (it != order.end()) std::rotate(order.begin(), it + 1, order.end());
  } else if (policy == "weighted" && !order.empty()) {
    const bool any_healthy = std::any_of(order.begin(), order.end(),
                                         [](const ProviderCandidate& c) { return c.healthy; });
    long long total = 0;
    for (const ProviderCandidate& c : order) {
      if (c.healthy || !any_healthy) total += std::max(1, c.weight);
    }
    double point = std::clamp(random01, 0.0, 0.999999) * static_cast<double>(total);
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (!order[i].healthy && any_healthy) continue;
      point -= std::max(1, order[i].weight);
      if (point < 0) {
        std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(i),
                    order.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        break;
      }
    }
  }
  std::stable_partition(order.begin(), order.end(),
                        [](const ProviderCandidate& c) { return c.healthy; });
  std::vector<std::string> names;
  for (const ProviderCandidate& c : order) names.push_back(c.name);
  return names;
}

}  // namespace orb
