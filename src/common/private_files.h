#pragma once

// Everything orb creates to keep for itself (the store, logs, caches, markers, lock
// files, the broker id) is private to the user orb runs as: directories 0700, files
// 0600. The modes are given explicitly at creation, whatever the umask; existing
// files and directories keep the mode they have (an administrator may have opened
// one up on purpose). main() also narrows the umask to 077 as a second line of
// defence for anything a library creates (SQLite's -wal/-shm/-journal files copy the
// database's mode anyway).
//
// The one file orb writes for people to edit, the templates file, is not private: a
// new one is 0644 less the umask orb was started with (StartUmask), and a rewrite
// keeps the existing file's mode (see templates_file_writer.h).

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace orb {

inline constexpr mode_t kPrivateDirMode = 0700;
inline constexpr mode_t kPrivateFileMode = 0600;

// Creates `dir` and every missing parent with mode 0700 (existing ones are left as
// they are). Returns 0, or the errno of the step that failed with that step's path in
// `failed` (ENOTDIR when a file of that name is in the way).
int CreatePrivateDirectories(const std::filesystem::path& dir, std::string* failed = nullptr);

// open(2) of `path` with `flags` (O_CLOEXEC is added); a file it creates gets mode
// 0600. Returns the descriptor, or -1 with errno set.
int OpenPrivateFile(const std::string& path, int flags);

// Writes `content` to `path`, creating it with mode 0600 or truncating it. Returns 0,
// or the errno of the step that failed.
int WritePrivateFile(const std::string& path, const std::string& content);

// Sets the process umask to 077 and remembers the one the process was started with.
// Called once at the start of main(), before any thread exists.
void RestrictUmask();

// The umask the process was started with: the one in force when RestrictUmask was
// called, else the current one.
mode_t StartUmask();

}  // namespace orb
