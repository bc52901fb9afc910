#include "cli/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/private_files.h"

namespace orb {

namespace {

// Log lines may name hosts, templates and cloud answers: the log file (and every
// rotated one, which spdlog creates afresh under the base name) and its directory
// are created private to orb's user before spdlog opens them (spdlog would create
// them 0644/0755 less the umask). An existing file keeps its mode.
spdlog::file_event_handlers PrivateLogFiles() {
  spdlog::file_event_handlers handlers;
  handlers.before_open = [](const spdlog::filename_t& path) {
    CreatePrivateDirectories(std::filesystem::path(path).parent_path());
    const int fd = OpenPrivateFile(path, O_WRONLY | O_CREAT | O_APPEND);
    if (fd >= 0) ::close(fd);  // failures are spdlog's to report when it opens the file
  };
  return handlers;
}

}  // namespace

void SetUpFallbackLogging() {
  auto logger = std::make_shared<spdlog::logger>(
      "orb", std::make_shared<spdlog::sinks::stderr_sink_st>());
  logger->set_level(spdlog::level::warn);
  logger->set_pattern("orb: %l: %v");
  spdlog::set_default_logger(logger);
}

void SetUpLogging(const Config& config) {
  const spdlog::level::level_enum level = spdlog::level::from_str(config.Get("logging.level"));
  std::vector<spdlog::sink_ptr> sinks;
  std::string file_problem;
  if (level != spdlog::level::off) {
    try {
      // Rotated by size. Every HostFactory call is a process of its own writing to
      // the same file (opened for append); each line is flushed as one write, so
      // lines of concurrent calls never interleave.
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_st>(
          config.Get("logging.file"),
          static_cast<std::size_t>(config.GetInt("logging.max_size_mb")) * 1024 * 1024,
          static_cast<std::size_t>(config.GetInt("logging.max_files")),
          /*rotate_on_open=*/false, PrivateLogFiles()));
    } catch (const spdlog::spdlog_ex& e) {
      file_problem = e.what();
    }
  }
  if (config.GetBool("logging.console") || !file_problem.empty()) {
    auto err = std::make_shared<spdlog::sinks::stderr_sink_st>();
    if (!file_problem.empty() && !config.GetBool("logging.console")) {
      err->set_level(spdlog::level::warn);
    }
    sinks.push_back(err);
  }
  auto logger = std::make_shared<spdlog::logger>("orb", sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%P] %l: %v");
  spdlog::set_default_logger(logger);
  if (!file_problem.empty()) {
    spdlog::warn("cannot open log file {}: {}; logging to stderr", config.Get("logging.file"),
                 file_problem);
  }
}

}  // namespace orb
