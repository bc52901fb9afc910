#include "provider/aws/json_cache_file.h"

#ifndef SPDLOG_FMT_EXTERNAL
#define SPDLOG_FMT_EXTERNAL
#endif
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "common/private_files.h"

namespace orb {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorCode::kInvalidConfig, "cannot " + what + " cache file " + path + ": " +
                                             std::strerror(err) +
                                             " (check the cache directory's permissions)");
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

nlohmann::json ReadJsonCacheFile(const std::string& path, bool quiet) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!quiet && fs::exists(path, ec))
      spdlog::warn("cache file {} cannot be read; ignoring it", path);
    return nlohmann::json::object();
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json value = nlohmann::json::parse(text.str(), nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    if (quiet) return nlohmann::json::object();
    spdlog::warn("cache file {} is damaged (not a JSON object); ignoring it, it will be rewritten",
                 path);
    return nlohmann::json::object();
  }
  return value;
}

void WriteJsonCacheFile(const std::string& path, const nlohmann::json& value) {
  const fs::path target = path;
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (int err = CreatePrivateDirectories(dir); err != 0) Fail("create the directory of", path, err);

  std::string tmp_name = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> tmp(tmp_name.begin(), tmp_name.end());
  tmp.push_back('\0');
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) Fail("create a temporary file for", path, errno);
  const std::string tmp_path(tmp.data());
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp_path.c_str());
    Fail(what, path, err);
  };
  // mkostemp creates the file 0600, as every file orb keeps for itself (the cache
  // holds no secret, but nobody else has a reason to read it).
  if (!WriteAll(fd, value.dump() + "\n")) fail("write", errno);
  if (::fsync(fd) != 0) fail("flush", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    Fail("write", path, err);
  }
  if (::rename(tmp_path.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    Fail("replace", path, err);
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    // The rename is done; a failed directory flush only weakens durability after a
    // power loss, which a cache tolerates.
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

bool HasCacheFormat(const nlohmann::json& file, int format) {
  if (!file.is_object()) return false;
  auto it = file.find("format");
  return it != file.end() && it->is_number_integer() && it->get<long long>() == format;
}

}  // namespace orb
