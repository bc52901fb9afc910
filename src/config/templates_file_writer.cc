#include "config/templates_file_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/error.h"
#include "common/private_files.h"

namespace orb {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void Fail(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorCode::kInvalidConfig,
              "cannot " + what + " " + path + ": " + std::strerror(err));
}

// Writes all of `content` to `fd`; false (errno set) on failure.
bool WriteAll(int fd, const std::string& content) {
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TemplatesFileLock::TemplatesFileLock(const std::string& templates_file) {
  const std::string lock_path = templates_file + ".lock";
  fd_ = OpenPrivateFile(lock_path, O_RDWR | O_CREAT);
  if (fd_ < 0) Fail("create the lock file", lock_path, errno);
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    Fail("lock", lock_path, err);
  }
}

TemplatesFileLock::~TemplatesFileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

void ReplaceFileAtomically(const std::string& path, const std::string& content) {
  std::error_code ec;
  fs::path target = path;
  if (fs::is_symlink(target, ec)) {
    fs::path resolved = fs::canonical(target, ec);
    if (ec) Fail("resolve the link", path, ec.value());
    target = resolved;
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  struct stat old_stat {};
  const bool had_file = ::stat(target.c_str(), &old_stat) == 0;

  std::string tmp_name = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> tmp(tmp_name.begin(), tmp_name.end());
  tmp.push_back('\0');
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) Fail("create a temporary file in", dir.string(), errno);
  const std::string tmp_path(tmp.data());
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp_path.c_str());
    Fail(what, target.string(), err);
  };

  if (had_file) {
    if (::fchmod(fd, old_stat.st_mode & 07777) != 0) fail("set the permissions of", errno);
    if (old_stat.st_uid != ::geteuid() || old_stat.st_gid != ::getegid()) {
      // Keeping the owner needs privileges we may lack; the mode is kept regardless.
      if (::fchown(fd, old_stat.st_uid, old_stat.st_gid) != 0) errno = 0;
    }
  } else {
    // The templates file is the administrator's, not orb's private state: a new one
    // is readable by all, less the umask orb was started with (not orb's own 077).
    if (::fchmod(fd, 0644 & ~StartUmask()) != 0) fail("set the permissions of", errno);
  }
  if (!WriteAll(fd, content)) fail("write", errno);
  if (::fsync(fd) != 0) fail("flush", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    Fail("write", target.string(), err);
  }
  if (::rename(tmp_path.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    Fail("replace", target.string(), err);
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) Fail("open the directory of", target.string(), errno);
  const int sync_rc = ::fsync(dir_fd);
  const int err = errno;
  ::close(dir_fd);
  if (sync_rc != 0) Fail("flush the directory of", target.string(), err);
}

}  // namespace orb
