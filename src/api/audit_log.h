#pragma once

// The audit log (server.audit_log_file, default <log_dir>/audit.log): one JSON line
// per call of an audited route (access_control.h: Audited), refused ones included:
//   {"time":"2026-01-02T03:04:05.678Z","principal":"key:ci-bot","role":"operator",
//    "remote":"10.0.0.7","method":"POST","path":"/api/v1/machines/request",
//    "status":202,"duration_ms":12.5,"request_id":"req-..."}
// `request_id` is present when the call created a request; "operation" and "outcome"
// when the route's handler audits what it did (the MCP door: one line per mutating
// tool call, "operation":"tools/call request_machines","outcome":"ok"). Never a
// token, key or body.
// The file is created mode 0600 and only appended to; each line is one write(2).

#include <mutex>
#include <string>

namespace orb::api {

// One audited call.
struct AuditEntry {
  std::string principal;  // "key:<name>", "jwt:<sub>", "anonymous", or "-" if unknown
  std::string role;       // the principal's role, "-" if unknown
  std::string remote;     // the client's address
  std::string method, path;
  int status = 0;
  double duration_ms = 0;
  std::string request_id;  // created request, empty if none
  // What the call did when its method and path do not say, and how it ended: the MCP
  // door's tool calls ("tools/call request_machines", "ok" or "error"). Empty: none.
  std::string operation, outcome;
};

class AuditLog {
 public:
  // Opens (creating mode 0600, with private parent directories) `path` for appending.
  // Throws Error(kInvalidConfig) naming the file when it cannot.
  explicit AuditLog(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `entry` as one line, stamped with the current UTC time. Thread-safe; a
  // failed write is logged (once per failure streak), never thrown.
  void Write(const AuditEntry& entry);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::mutex mu_;
  bool failing_ = false;
};

}  // namespace orb::api
