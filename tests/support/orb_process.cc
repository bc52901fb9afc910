#include "support/orb_process.h"

#include <fcntl.h>
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

OrbOutcome RunOrb(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env,
                  const std::filesystem::path& scratch) {
  const std::filesystem::path out = scratch / "orb.out", err = scratch / "orb.err";
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<std::string> env_strings, argv_strings = {ORB_BINARY};
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    for (auto& s : argv_strings) argv.push_back(s.data());
    envp.push_back(nullptr);
    argv.push_back(nullptr);
    ::execve(ORB_BINARY, argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  OrbOutcome r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadWholeFile(out);
  r.err = ReadWholeFile(err);
  if (std::string report = SanitizerReport(r.err); !report.empty()) {
    ADD_FAILURE() << "[sanitizer report from orb] " << report;
  }
  return r;
}

}  // namespace orb::testing
