#include "config/templates_file_writer.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/private_files.h"

namespace orb {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TemplatesFileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("orb-writer-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TemplatesFileWriterTest, ReplacesContentAndLeavesNoTemporaryFile) {
  const fs::path f = dir_ / "t.json";
  std::ofstream(f) << "old content that is longer than the new one\n";
  ReplaceFileAtomically(f.string(), "{\"templates\": []}\n");
  EXPECT_EQ(Slurp(f), "{\"templates\": []}\n");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "t.json");
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(TemplatesFileWriterTest, ReplacesByRenameSoOpenReadersKeepTheOldFile) {
  const fs::path f = dir_ / "t.json";
  std::ofstream(f) << "old";
  struct stat before {};
  ASSERT_EQ(::stat(f.c_str(), &before), 0);
  std::ifstream reader(f);  // a reader that opened the file before the write
  ReplaceFileAtomically(f.string(), "new");
  struct stat after {};
  ASSERT_EQ(::stat(f.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // a new file, never a half-rewritten old one
  std::string seen;
  reader >> seen;
  EXPECT_EQ(seen, "old");
  EXPECT_EQ(Slurp(f), "new");
}

TEST_F(TemplatesFileWriterTest, KeepsPermissionBits) {
  const fs::path f = dir_ / "t.json";
  std::ofstream(f) << "x";
  ASSERT_EQ(::chmod(f.c_str(), 0640), 0);
  ReplaceFileAtomically(f.string(), "y");
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(::chmod(f.c_str(), 0604), 0);
  ReplaceFileAtomically(f.string(), "z");
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
}

// orb runs with umask 077 for its private files; a new templates file is still
// 0644 less the umask orb was started with, and the lock file beside it is 0600.
TEST_F(TemplatesFileWriterTest, NewFileFollowsTheStartUmaskAndTheLockIsPrivate) {
  const mode_t before = ::umask(022);
  RestrictUmask();  // as main() does: umask now 077, start umask 022
  const fs::path f = dir_ / "new.json";
  {
    TemplatesFileLock lock(f.string());
    ReplaceFileAtomically(f.string(), "{}");
  }
  ::umask(before);
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_EQ(::stat((f.string() + ".lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(TemplatesFileWriterTest, FollowsASymbolicLink) {
  const fs::path real = dir_ / "real.json";
  const fs::path link = dir_ / "link.json";
  std::ofstream(real) << "old";
  fs::create_symlink(real, link);
  ReplaceFileAtomically(link.string(), "new");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(Slurp(real), "new");
}

TEST_F(TemplatesFileWriterTest, FailureLeavesTheOriginalAndNoTemporaryFile) {
  // A directory where the file should be: the final rename fails (also for root).
  const fs::path f = dir_ / "t.json";
  fs::create_directories(f);
  std::ofstream(f / "inside") << "kept";
  try {
    ReplaceFileAtomically(f.string(), "new");
    ADD_FAILURE() << "no error when a directory is in the way";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(Slurp(f / "inside"), "kept");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "t.json");
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(TemplatesFileWriterTest, LockIsExclusiveUntilReleased) {
  const fs::path f = dir_ / "t.json";
  const std::string lock_path = f.string() + ".lock";
  {
    TemplatesFileLock lock(f.string());
    int fd = ::open(lock_path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);  // held by `lock`
    ::close(fd);
  }
  int fd = ::open(lock_path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // released
  ::close(fd);
}

}  // namespace
}  // namespace orb
