#include "support/orb_process.h"

#include <fcntl.h>
#include <spawn.h>

#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/sanitizer_report.h"

namespace orb::testing {

std::string ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

OrbOutcome RunProgram(const std::string& program, const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env,
                  const std::filesystem::path& scratch) {
  const std::filesystem::path out = scratch / "orb.out", err = scratch / "orb.err";
  std::string path = program;
  if (path.find('/') == std::string::npos) {
    path = std::filesystem::exists("/usr/bin/" + program) ? "/usr/bin/" + program : "/bin/" + program;
  }
  const auto start = std::chrono::steady_clock::now();
  // posix_spawn, not fork: the test process has threads (moto's reader, the fault
  // proxy), and a forked child that allocates before exec can deadlock on a lock
  // another thread held (seen under the sanitizers).
  std::vector<std::string> env_strings, argv_strings = {path};
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  for (auto& s : argv_strings) argv.push_back(s.data());
  envp.push_back(nullptr);
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv_strings[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    OrbOutcome r;
    r.code = 127;
    r.err = "cannot start " + program + ": " + std::strerror(spawned);
    return r;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  OrbOutcome r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadWholeFile(out);
  r.err = ReadWholeFile(err);
  return r;
}

OrbOutcome RunOrb(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env,
                  const std::filesystem::path& scratch) {
  OrbOutcome r = RunProgram(ORB_BINARY, args, env, scratch);
  if (std::string report = SanitizerReport(r.err); !report.empty()) {
    ADD_FAILURE() << "[sanitizer report from orb] " << report;
  }
  return r;
}

}  // namespace orb::testing
