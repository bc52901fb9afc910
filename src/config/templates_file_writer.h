#pragma once

#include <string>

namespace orb {

// Holds an exclusive advisory lock (flock) on "<templates_file>.lock" for its lifetime,
// so that orb processes editing the same templates file take turns and none loses
// another's update. The lock file is created (mode 0600) when missing and never removed. Blocks
// until the lock is free. Throws Error(kInvalidConfig) naming the lock file when it
// cannot be created or locked.
class TemplatesFileLock {
 public:
  explicit TemplatesFileLock(const std::string& templates_file);
  ~TemplatesFileLock();
  TemplatesFileLock(const TemplatesFileLock&) = delete;
  TemplatesFileLock& operator=(const TemplatesFileLock&) = delete;

 private:
  int fd_ = -1;
};

// Replaces the file at `path` with `content` so that a reader sees either the whole
// old file or the whole new one, and the new one survives a crash once this returns:
// writes a temporary file in the same directory, fsyncs it, renames it over `path`,
// then fsyncs the directory. The new file keeps the old one's permission bits (and
// owner, where allowed); a new file gets 0644 less the umask orb was started with
// (StartUmask: orb's own 077 is for its private files, and the templates file is the
// administrator's, meant to be read and edited). A symbolic link at
// `path` is followed: its target is replaced. On failure the original is untouched,
// the temporary file removed, and Error(kInvalidConfig) names the file and the cause.
void ReplaceFileAtomically(const std::string& path, const std::string& content);

}  // namespace orb
