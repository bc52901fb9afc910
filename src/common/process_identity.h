#pragma once

// Names this process among all orb processes sharing one store, on any host: for
// leases (store.h: Lease) and messages that say who did something.

#include <string>

namespace orb {

// "<installation>/<host name>/<pid>", e.g. "4f1c.../master1.example.com/12345".
std::string ProcessIdentity(const std::string& installation);

}  // namespace orb
