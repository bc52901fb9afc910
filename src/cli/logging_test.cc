#include "cli/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace orb {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// The log file, every rotated one and the directories spdlog would create are
// private to orb's user even under the most permissive umask.
TEST(LoggingTest, LogFilesAndRotatedOnesArePrivateWhateverTheUmask) {
  const fs::path root = fs::temp_directory_path() / ("orb-logging-test-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path log = root / "log" / "orb" / "orb.log";
  const mode_t old_mask = ::umask(0);
  ConfigInputs in;
  in.environment = std::map<std::string, std::string>{{"HOME", root.string()},
                                                      {"ORB_LOG_FILE", log.string()},
                                                      {"ORB_LOG_LEVEL", "debug"},
                                                      {"ORB_LOG_MAX_SIZE_MB", "1"},
                                                      {"ORB_LOG_MAX_FILES", "2"}};
  Config config = LoadConfig(in);
  ASSERT_FALSE(config.HasErrors());
  SetUpLogging(config);
  const std::string line(1000, 'x');
  for (int i = 0; i < 2500; ++i) spdlog::info("{} {}", i, line);  // 2.5 MB: two rotations
  SetUpFallbackLogging();  // closes the file
  ::umask(old_mask);

  EXPECT_TRUE(fs::exists(root / "log" / "orb" / "orb.1.log"));
  EXPECT_TRUE(fs::exists(root / "log" / "orb" / "orb.2.log"));
  for (const char* name : {"orb.log", "orb.1.log", "orb.2.log"}) {
    EXPECT_EQ(ModeOf(root / "log" / "orb" / name), 0600u) << name;
  }
  EXPECT_EQ(ModeOf(root / "log" / "orb"), 0700u);
  EXPECT_EQ(ModeOf(root / "log"), 0700u);
  fs::remove_all(root);
}

// An existing log file keeps the mode its owner gave it.
TEST(LoggingTest, ExistingLogFileKeepsItsMode) {
  const fs::path root = fs::temp_directory_path() / ("orb-logging-keep-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path log = root / "orb.log";
  { std::ofstream(log.string()) << "earlier\n"; }
  ASSERT_EQ(::chmod(log.c_str(), 0640), 0);
  ConfigInputs in;
  in.environment = std::map<std::string, std::string>{{"HOME", root.string()},
                                                      {"ORB_LOG_FILE", log.string()}};
  Config config = LoadConfig(in);
  SetUpLogging(config);
  spdlog::info("hello");
  SetUpFallbackLogging();
  EXPECT_EQ(ModeOf(log), 0640u);
  fs::remove_all(root);
}

}  // namespace
}  // namespace orb
