#include "cli/logging.h"

#include <memory>
#include <vector>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace orb {

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
          static_cast<std::size_t>(config.GetInt("logging.max_files"))));
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
