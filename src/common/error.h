#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace orb {

// What kind of failure an Error reports. Doors map it to their own wire format
// (exit code, HTTP status, JSON-RPC error).
enum class ErrorCode {
  kInvalidInput,   // the caller's input is malformed or out of range
  kInvalidConfig,  // a config or templates file is missing, unreadable or wrong
  kNotFound,       // an id (template, request, machine) is unknown
  kConflict,       // a concurrent writer changed the same record first
  kStore,          // the store failed (I/O, corruption, locked past the timeout)
  kCloud,          // the cloud provider answered with an error
  kInternal,       // a bug: an invariant of orb itself was broken
};

// Returns the stable snake_case name of `code`, e.g. "not_found".
std::string_view ErrorCodeName(ErrorCode code);

// The one exception type that crosses module boundaries in orb. Its message is
// written for the user: it says what failed and, where possible, how to fix it,
// and never contains a secret.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}

  // The kind of failure.
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace orb
