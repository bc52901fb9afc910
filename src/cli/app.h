#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace orb {

// Runs the orb command line. `args[0]` is the program name. The command's
// result goes to `out` (stdout); errors and diagnostics to `err` (stderr), except
// that with --format json an error is one JSON object {"error","message"} on
// `out`, so scripts read one document either way. `out_is_terminal` chooses box
// drawing for tables. Returns the exit code: 0 success, 1 the operation failed,
// 2 usage error (unknown command or option, bad option value).
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           bool out_is_terminal);

}  // namespace orb
