#pragma once

// Shared by the fuzz targets in this directory: failing loudly on a broken
// invariant, a private scratch directory for parsers that read files, and a
// check that only orb's own error type leaves a parser.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>

#include "common/error.h"

namespace orb::fuzz {

// Reports a broken invariant and aborts, which libFuzzer records as a crash
// (keeping the input).
[[noreturn]] inline void Fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "\nFUZZ INVARIANT BROKEN: %.*s\n", static_cast<int>(what.size()),
               what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "  detail: %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

#define ORB_FUZZ_CHECK(cond, detail)                                                       \
  do {                                                                                     \
    if (!(cond))                                                                           \
      ::orb::fuzz::Fail(#cond " (" __FILE__ ":" + std::to_string(__LINE__) + ")", detail); \
  } while (0)

// Runs `fn`; an orb::Error is the documented way to refuse input and is returned
// (nullptr when nothing was thrown); anything else thrown is a bug.
template <class Fn>
std::exception_ptr OnlyOrbErrors(std::string_view where, Fn&& fn) {
  try {
    fn();
    return nullptr;
  } catch (const Error&) {
    return std::current_exception();
  } catch (const std::exception& e) {
    Fail(std::string(where) + " threw " + typeid(e).name() + " instead of orb::Error", e.what());
  } catch (...) {
    Fail(std::string(where) + " threw a non-std exception");
  }
}

// The orb::Error held by `p` (which must hold one); valid while `p` lives.
inline const Error& ErrorOf(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const Error& e) {
    return e;
  } catch (...) {
  }
  Fail("ErrorOf without an orb::Error");
}

// A directory of this process's own under $TMPDIR (else /tmp), removed at exit.
inline const std::filesystem::path& ScratchDir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/orb-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Fail("cannot create a scratch directory", pattern);
    std::filesystem::path p(pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(ScratchDir(), ec);
    });
    return p;
  }();
  return dir;
}

// Writes `data` to `path`, replacing it.
inline void WriteFile(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) Fail("cannot write scratch file", path.string());
}

// Silences orb's logging (parsers log warnings; a fuzzer runs them millions of times).
inline void QuietLogs() { spdlog::set_level(spdlog::level::off); }

}  // namespace orb::fuzz
