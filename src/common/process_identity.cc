#include "common/process_identity.h"

#include <limits.h>
#include <unistd.h>

namespace orb {

std::string ProcessIdentity(const std::string& installation) {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return installation + "/" + (host[0] ? host : "unknown-host") + "/" + std::to_string(::getpid());
}

}  // namespace orb
