#include "common/credential_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace orb {

namespace {

constexpr std::size_t kMaxCredentialFileBytes = 1 << 20;

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::string ReadCredentialFile(const std::string& setting, const std::string& path, bool secret) {
  const std::string named = setting + " " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    throw Error(ErrorCode::kInvalidConfig, "cannot read " + named + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig, named + " is not a regular file");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig,
                named + " is mode " + Octal(st.st_mode) +
                    ": other users may change it; make it writable by its owner only (chmod go-w " +
                    path + ")");
  }
  if (secret && (st.st_mode & (S_IRGRP | S_IROTH | S_IXGRP | S_IXOTH))) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig,
                named + " is mode " + Octal(st.st_mode) +
                    " but holds secrets: it must be readable by its "
                    "owner only (chmod 600 " + path + ")");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxCredentialFileBytes) {
    ::close(fd);
    throw Error(ErrorCode::kInvalidConfig, named + " is larger than 1 MiB");
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kInvalidConfig, "cannot read " + named + ": " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxCredentialFileBytes) break;
  }
  ::close(fd);
  return text;
}

}  // namespace orb
