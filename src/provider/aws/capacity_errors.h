#pragma once

#include <string>
#include <string_view>

namespace orb {

// What kind of capacity failure an EC2 error code reports, for a launch that may
// succeed in another pool (instance type × subnet × price type): "capacity" (the
// pool has no capacity now, or does not offer the type), "quota" (an account limit
// for that kind of instance), "price" (the spot price is above the maximum), or ""
// for anything else (bad parameters, permissions, ...), which another pool would
// not fix.
std::string ClassifyLaunchError(std::string_view aws_code);

}  // namespace orb
