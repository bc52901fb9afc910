#pragma once

#include <cstddef>
#include <string>

namespace orb::testing {

// The first sanitizer report in a child process's stderr, from its first line ("" when
// there is none). The sanitizer build (tools/sanitize.sh) sends ASan and LSan reports
// to files of their own, but gcc's UBSan beside ASan reports on stderr only, where a
// test that expects orb to fail would not look: the runners of the orb binary fail
// the test on a report.
inline std::string SanitizerReport(const std::string& err) {
  for (const char* marker : {": runtime error: ", "ERROR: AddressSanitizer",
                             "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehaviorSanitizer"}) {
    const std::size_t at = err.find(marker);
    if (at == std::string::npos) continue;
    const std::size_t line = err.rfind('\n', at);
    return err.substr(line == std::string::npos ? 0 : line + 1, 4000);
  }
  return "";
}

}  // namespace orb::testing
