#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/app.h"
#include "common/private_files.h"
#include "orb/version.h"

int main(int argc, char** argv) {
  // `orb --version` is how wrappers probe for orb: answer before building the
  // whole command line.
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::fputs("orb " ORB_VERSION "\n", stdout);
    return 0;
  }
  // orb's own files are created with explicit private modes; the narrow umask also
  // covers whatever a library creates. The templates file orb writes for people
  // keeps the umask orb was started with (StartUmask).
  orb::RestrictUmask();
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv, argv + argc);
  int code = orb::RunCli(args, std::cout, std::cerr, isatty(STDOUT_FILENO) == 1);
  std::cout.flush();
  return code;
}
