#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace orb::testing {

// What one run of the orb binary did.
struct OrbOutcome {
  int code = -1;        // exit status (-1 when killed by a signal)
  std::string out;      // everything written to stdout
  std::string err;      // everything written to stderr
  double seconds = 0;   // wall time, start to exit
};

// Runs the orb binary under test (ORB_BINARY) with `args` and exactly the
// environment `env`, capturing its output in files under `scratch` (which must
// exist), and waits for it.
OrbOutcome RunOrb(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env,
                  const std::filesystem::path& scratch);

// Runs `program` (an absolute path, or a name found in /usr/bin or /bin) with
// `args` and the environment `env`, like RunOrb; no sanitizer check.
OrbOutcome RunProgram(const std::string& program, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env,
                      const std::filesystem::path& scratch);

// The whole content of a file ("" when it cannot be read).
std::string ReadWholeFile(const std::filesystem::path& path);

}  // namespace orb::testing
