#include "api/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/private_files.h"

namespace orb::api {

namespace {

std::string UtcNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const long ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03ldZ", buf, ms);
  return out;
}

}  // namespace

AuditLog::AuditLog(const std::string& path) : path_(path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::string failed;
  if (!parent.empty()) {
    if (int err = CreatePrivateDirectories(parent, &failed)) {
      throw Error(ErrorCode::kInvalidConfig, "server.audit_log_file " + path +
                                                 ": cannot create " + failed + ": " +
                                                 std::strerror(err));
    }
  }
  fd_ = OpenPrivateFile(path, O_WRONLY | O_APPEND | O_CREAT);
  if (fd_ < 0) {
    throw Error(ErrorCode::kInvalidConfig,
                "cannot open server.audit_log_file " + path + ": " + std::strerror(errno));
  }
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::Write(const AuditEntry& e) {
  nlohmann::ordered_json line{{"time", UtcNow()},
                              {"principal", e.principal},
                              {"role", e.role},
                              {"remote", e.remote},
                              {"method", e.method},
                              {"path", e.path},
                              {"status", e.status},
                              {"duration_ms", std::round(e.duration_ms * 10) / 10}};
  if (!e.request_id.empty()) line["request_id"] = e.request_id;
  if (!e.operation.empty()) line["operation"] = e.operation;
  if (!e.outcome.empty()) line["outcome"] = e.outcome;
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  const ssize_t n = ::write(fd_, text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    if (!failing_) {
      spdlog::error("serve: cannot append to the audit log {}: {}", path_,
                    n < 0 ? std::strerror(errno) : "short write");
    }
    failing_ = true;
  } else {
    failing_ = false;
  }
}

}  // namespace orb::api
