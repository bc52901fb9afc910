#pragma once

#include <string>

namespace orb {

// Returns a random (version 4) UUID in lower-case canonical form, read from the
// kernel's random source. Throws Error(kInternal) if no randomness is available.
std::string NewUuid();

}  // namespace orb
