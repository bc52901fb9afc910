#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/app.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv, argv + argc);
  int code = orb::RunCli(args, std::cout, std::cerr, isatty(STDOUT_FILENO) == 1);
  std::cout.flush();
  return code;
}
