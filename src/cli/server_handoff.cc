// RunServerCommand in the `orb` binary: replace this process with orb-server, given
// the same command line. orb-server lies beside orb in a build tree and in
// <prefix>/libexec/orb/ once installed. This is the one place orb executes a
// program (tools/check-no-shell.sh): a fixed path derived from orb's own, the
// arguments passed on unchanged as a vector, no shell, no search of $PATH.

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/server_command.h"
#include "common/error.h"

namespace orb {

namespace {

// The directory of the running executable.
std::string OwnDirectory() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw Error(ErrorCode::kInternal, "cannot find orb's own path in /proc/self/exe");
  std::string own(path, static_cast<std::size_t>(n));
  return own.substr(0, own.rfind('/'));
}

}  // namespace

int RunServerCommand(Context& c, const ServerCommand&) {
  const std::string dir = OwnDirectory();
  const std::vector<std::string> candidates = {dir + "/orb-server",
                                               dir + "/../libexec/orb/orb-server"};
  for (const std::string& program : candidates) {
    if (::access(program.c_str(), X_OK) != 0) continue;
    std::vector<char*> argv;
    for (const std::string& a : c.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    c.out.flush();
    c.err.flush();
    std::cout.flush();
    ::execv(program.c_str(), argv.data());
    throw Error(ErrorCode::kInternal,
                "cannot start orb's server program " + program + ": " + std::strerror(errno));
  }
  throw Error(ErrorCode::kInternal, "orb's server program is not installed: looked for " +
                                        candidates[0] + " and " + candidates[1] +
                                        " (reinstall orb)");
}

}  // namespace orb
