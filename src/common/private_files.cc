#include "common/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace orb {

namespace {

bool g_umask_saved = false;
mode_t g_start_umask = 022;

}  // namespace

int CreatePrivateDirectories(const std::filesystem::path& dir, std::string* failed) {
  if (dir.empty()) return 0;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return 0;
    if (failed != nullptr) *failed = dir.string();
    return ENOTDIR;
  }
  if (errno != ENOENT) {
    const int err = errno;
    if (failed != nullptr) *failed = dir.string();
    return err;
  }
  const std::filesystem::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    if (int err = CreatePrivateDirectories(parent, failed); err != 0) return err;
  }
  if (::mkdir(dir.c_str(), kPrivateDirMode) == 0) return 0;
  const int err = errno;
  if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  if (failed != nullptr) *failed = dir.string();
  return err;
}

int OpenPrivateFile(const std::string& path, int flags) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, kPrivateFileMode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int WritePrivateFile(const std::string& path, const std::string& content) {
  const int fd = OpenPrivateFile(path, O_WRONLY | O_CREAT | O_TRUNC);
  if (fd < 0) return errno;
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return err;
    }
    done += static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0 ? 0 : errno;
}

void RestrictUmask() {
  const mode_t old = ::umask(077);
  if (!g_umask_saved) {
    g_start_umask = old;
    g_umask_saved = true;
  }
}

mode_t StartUmask() {
  if (g_umask_saved) return g_start_umask;
  // Reading the umask means setting it; only done without RestrictUmask (tests).
  const mode_t current = ::umask(077);
  ::umask(current);
  return current;
}

}  // namespace orb
