#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orb {

// The settings of one section of an AWS shared file: key (lower case) -> value.
// Sub-settings (an indented block under a key with an empty value, e.g.
// "s3 =\n  max_concurrent_requests = 10") are flattened to "s3.max_concurrent_requests".
using AwsIniSection = std::map<std::string, std::string>;

// Which AWS shared file a text comes from; they name profiles differently.
enum class AwsIniKind {
  kCredentials,  // ~/.aws/credentials: "[name]"
  kConfig,       // ~/.aws/config: "[default]" and "[profile name]"
};

// One AWS shared file, parsed tolerantly as the AWS CLI and SDKs read it: "[section]"
// lines (a trailing "# ..." or "; ..." is a comment), "key = value" lines (a " #" or
// " ;" after the value starts a comment), whole-line comments starting with '#' or
// ';', blank lines, indented continuation lines and sub-settings. Lines it cannot
// read are skipped and reported in `warnings` by line number only (never their text,
// which may hold a secret).
struct AwsIniFile {
  // Profiles by name ("default", "prod"), from the sections that name a profile
  // in this kind of file; a profile split over several sections is merged, later
  // keys winning. In a config file "[profile default]" wins over "[default]".
  std::map<std::string, AwsIniSection> profiles;
  // Every section by its name as written between the brackets (trimmed), e.g.
  // "profile prod", "sso-session corp", "services local".
  std::map<std::string, AwsIniSection> sections;
  // Problems found, e.g. "line 7: expected 'key = value'".
  std::vector<std::string> warnings;
};

// Parses the text of a shared credentials or config file. Never throws.
AwsIniFile ParseAwsIni(std::string_view text, AwsIniKind kind);

// Reads and parses the file at `path`. Returns nullopt when it does not exist;
// throws Error(kInvalidConfig) naming the path when it exists but cannot be read.
std::optional<AwsIniFile> LoadAwsIni(const std::string& path, AwsIniKind kind);

// One profile's settings merged from both shared files: the credentials file wins
// over the config file key by key, as in the AWS SDKs.
struct AwsProfile {
  std::string name;
  bool found = false;  // the profile has a section in either file
  AwsIniSection settings;
  std::map<std::string, std::string> origin;  // key -> path of the file it came from

  // The value of `key`, or "" when unset.
  std::string Get(const std::string& key) const;

  // True when `key` is set to a non-empty value.
  bool Has(const std::string& key) const;
};

// The two shared files as found on disk (nullopt = the file does not exist).
struct AwsSharedFiles {
  std::string credentials_path, config_path;
  std::optional<AwsIniFile> credentials, config;

  // Reads both files (missing files are fine; unreadable ones throw
  // Error(kInvalidConfig)). An empty path stands for a missing file.
  static AwsSharedFiles Load(std::string credentials_path, std::string config_path);

  // The merged profile called `name` (found = false when neither file has it).
  AwsProfile Profile(const std::string& name) const;
};

}  // namespace orb
