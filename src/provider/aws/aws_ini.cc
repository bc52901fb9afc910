#include "provider/aws/aws_ini.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/strings.h"

namespace orb {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::size_t IndentOf(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && IsBlank(line[n])) ++n;
  return n;
}

// Cuts a value at the first '#' or ';' that follows white space (an inline comment).
std::string_view StripInlineComment(std::string_view value) {
  for (std::size_t i = 1; i < value.size(); ++i) {
    if ((value[i] == '#' || value[i] == ';') && IsBlank(value[i - 1])) {
      return value.substr(0, i);
    }
  }
  return value;
}

// "profile  prod" -> "prod"; "" when `section` does not start with the word "profile".
std::string ProfileSuffix(std::string_view section) {
  constexpr std::string_view kWord = "profile";
  if (section.size() <= kWord.size() || section.substr(0, kWord.size()) != kWord ||
      !IsBlank(section[kWord.size()])) {
    return "";
  }
  return std::string(Trim(section.substr(kWord.size())));
}

}  // namespace

AwsIniFile ParseAwsIni(std::string_view text, AwsIniKind kind) {
  AwsIniFile file;
  auto warn = [&file](int line, std::string_view what) {
    file.warnings.push_back("line " + std::to_string(line) + ": " + std::string(what));
  };

  AwsIniSection* section = nullptr;  // nullptr before any (valid) section
  std::string key;                   // the last key set in `section`, for continuations
  std::size_t key_indent = 0;
  bool key_has_value = false;

  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#' || trimmed.front() == ';') continue;
    std::size_t indent = IndentOf(line);

    // An indented line under a key: a sub-setting (when the key's value is empty)
    // or the continuation of the key's value.
    if (section != nullptr && !key.empty() && indent > key_indent) {
      if (key_has_value) {
        (*section)[key] += "\n" + std::string(trimmed);
        continue;
      }
      std::size_t eq = trimmed.find('=');
      if (eq == std::string_view::npos || Trim(trimmed.substr(0, eq)).empty()) {
        warn(line_no, "expected an indented 'name = value' under '" + key + "'");
        continue;
      }
      std::string sub = ToLower(Trim(trimmed.substr(0, eq)));
      (*section)[key + "." + sub] = std::string(Trim(trimmed.substr(eq + 1)));
      continue;
    }

    if (trimmed.front() == '[') {
      key.clear();
      section = nullptr;
      std::size_t close = trimmed.find(']');
      if (close == std::string_view::npos) {
        warn(line_no, "section header without ']'; its settings are ignored");
        continue;
      }
      std::string_view after = Trim(trimmed.substr(close + 1));
      if (!after.empty() && after.front() != '#' && after.front() != ';') {
        warn(line_no, "unexpected text after ']'");
      }
      std::string name(Trim(trimmed.substr(1, close - 1)));
      if (name.empty()) {
        warn(line_no, "empty section name; its settings are ignored");
        continue;
      }
      section = &file.sections[name];
      continue;
    }

    if (section == nullptr) {
      warn(line_no, "setting outside any valid [section] ignored");
      continue;
    }
    std::size_t eq = trimmed.find('=');
    if (eq == std::string_view::npos) {
      warn(line_no, "expected 'key = value'");
      key.clear();
      continue;
    }
    std::string name = ToLower(Trim(trimmed.substr(0, eq)));
    if (name.empty()) {
      warn(line_no, "missing key before '='");
      key.clear();
      continue;
    }
    std::string value(Trim(StripInlineComment(trimmed.substr(eq + 1))));
    // A key set again replaces its value and any sub-settings it had.
    for (auto it = section->lower_bound(name + ".");
         it != section->end() && it->first.rfind(name + ".", 0) == 0;) {
      it = section->erase(it);
    }
    (*section)[name] = value;
    key = name;
    key_indent = indent;
    key_has_value = !value.empty();
  }

  // Which sections are profiles depends on the file.
  for (const auto& [name, settings] : file.sections) {
    if (kind == AwsIniKind::kCredentials) {
      if (!ProfileSuffix(name).empty()) {
        file.warnings.push_back("section [" + name +
                                "] ignored: the credentials file names profiles without the "
                                "'profile' prefix");
        continue;
      }
      file.profiles[name] = settings;
    } else if (name == "default") {
      if (file.sections.count("profile default") == 0) file.profiles["default"] = settings;
    } else if (std::string profile = ProfileSuffix(name); !profile.empty()) {
      file.profiles[profile] = settings;
    }
    // Other config sections ("sso-session x", "services x", "[x]") are not profiles.
  }
  return file;
}

std::optional<AwsIniFile> LoadAwsIni(const std::string& path, AwsIniKind kind) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw Error(ErrorCode::kInvalidConfig,
                "cannot read AWS file " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    throw Error(ErrorCode::kInvalidConfig, "cannot read AWS file " + path + ": it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::kInvalidConfig,
                "cannot read AWS file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw Error(ErrorCode::kInvalidConfig, "cannot read AWS file " + path + ": read error");
  }
  return ParseAwsIni(text.str(), kind);
}

std::string AwsProfile::Get(const std::string& key) const {
  auto it = settings.find(key);
  return it == settings.end() ? "" : it->second;
}

bool AwsProfile::Has(const std::string& key) const { return !Get(key).empty(); }

AwsSharedFiles AwsSharedFiles::Load(std::string credentials_path, std::string config_path) {
  AwsSharedFiles files;
  files.credentials_path = std::move(credentials_path);
  files.config_path = std::move(config_path);
  if (!files.credentials_path.empty()) {
    files.credentials = LoadAwsIni(files.credentials_path, AwsIniKind::kCredentials);
  }
  if (!files.config_path.empty()) {
    files.config = LoadAwsIni(files.config_path, AwsIniKind::kConfig);
  }
  return files;
}

AwsProfile AwsSharedFiles::Profile(const std::string& name) const {
  AwsProfile profile;
  profile.name = name;
  auto merge = [&](const std::optional<AwsIniFile>& file, const std::string& path) {
    if (!file) return;
    auto it = file->profiles.find(name);
    if (it == file->profiles.end()) return;
    profile.found = true;
    for (const auto& [key, value] : it->second) {
      profile.settings[key] = value;
      profile.origin[key] = path;
    }
  };
  merge(config, config_path);
  merge(credentials, credentials_path);  // the credentials file wins
  return profile;
}

}  // namespace orb
