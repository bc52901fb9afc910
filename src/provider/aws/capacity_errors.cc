#include "provider/aws/capacity_errors.h"

#include <array>

namespace orb {

std::string ClassifyLaunchError(std::string_view code) {
  // Codes from EC2's error reference and the CreateFleet / Spot Fleet error lists.
  static constexpr std::array<std::string_view, 8> kCapacity = {
      "InsufficientInstanceCapacity", "InsufficientHostCapacity",
      "InsufficientReservedInstanceCapacity", "InsufficientCapacity",
      "InsufficientFreeAddressesInSubnet", "Unsupported",
      "UnfulfillableCapacity", "InsufficientCapacityOnOutpost"};
  static constexpr std::array<std::string_view, 5> kQuota = {
      "InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded",
      "MaxSpotFleetRequestCountExceeded", "SpotInstanceCountExceeded"};
  static constexpr std::array<std::string_view, 2> kPrice = {"SpotMaxPriceTooLow",
                                                             "MaxPriceTooLow"};
  for (std::string_view c : kCapacity) {
    if (code == c) return "capacity";
  }
  for (std::string_view c : kQuota) {
    if (code == c) return "quota";
  }
  for (std::string_view c : kPrice) {
    if (code == c) return "price";
  }
  return "";
}

}  // namespace orb
