// Fuzz target aws_ini: the AWS shared files (~/.aws/credentials and ~/.aws/config),
// as ParseAwsIni reads them for the credential chain and 'orb providers health'.
//
// Parses the bytes as both kinds of file and merges them as AwsSharedFiles does.
// Checks: parsing never throws; every warning names a line or a section, never the
// text of a line; keys are non-empty, lower case and trimmed, values trimmed; a
// credentials file takes every section as a profile unless it says "profile x";
// a merged profile is found exactly when either file has it and takes the
// credentials file's value for every key it sets.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/strings.h"
#include "fuzz_common.h"
#include "provider/aws/aws_ini.h"

namespace {

using orb::fuzz::OnlyOrbErrors;

void CheckFile(const orb::AwsIniFile& file) {
  for (const std::string& w : file.warnings) {
    ORB_FUZZ_CHECK(w.rfind("line ", 0) == 0 || w.rfind("section [", 0) == 0, w);
  }
  for (const auto& [name, section] : file.sections) {
    ORB_FUZZ_CHECK(!name.empty() && orb::Trim(name) == name, "[" + name + "]");
    for (const auto& [key, value] : section) {
      ORB_FUZZ_CHECK(!key.empty() && orb::Trim(key) == key && orb::ToLower(key) == key, key);
      ORB_FUZZ_CHECK(orb::Trim(value) == value, key + " = [" + value + "]");
    }
  }
  for (const auto& [name, settings] : file.profiles) ORB_FUZZ_CHECK(!name.empty(), "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  orb::AwsSharedFiles files;
  files.credentials_path = "credentials";
  files.config_path = "config";
  auto error = OnlyOrbErrors("ParseAwsIni", [&] {
    files.credentials = orb::ParseAwsIni(text, orb::AwsIniKind::kCredentials);
    files.config = orb::ParseAwsIni(text, orb::AwsIniKind::kConfig);
  });
  ORB_FUZZ_CHECK(!error, "ParseAwsIni threw");
  CheckFile(*files.credentials);
  CheckFile(*files.config);

  for (const auto& [name, settings] : files.credentials->sections) {
    const bool profile_prefix = name.rfind("profile", 0) == 0 && name.size() > 7 &&
                                (name[7] == ' ' || name[7] == '\t') &&
                                !orb::Trim(name.substr(7)).empty();
    ORB_FUZZ_CHECK(files.credentials->profiles.count(name) == (profile_prefix ? 0u : 1u), name);
  }
  for (const orb::AwsIniFile* file : {&*files.credentials, &*files.config}) {
    for (const auto& [name, settings] : file->profiles) {
      const orb::AwsProfile p = files.Profile(name);
      ORB_FUZZ_CHECK(p.found, name);
      auto own = files.credentials->profiles.find(name);
      if (own == files.credentials->profiles.end()) continue;
      for (const auto& [key, value] : own->second) {
        ORB_FUZZ_CHECK(p.Get(key) == value, name + "." + key);
        ORB_FUZZ_CHECK(p.origin.at(key) == "credentials", name + "." + key);
      }
    }
  }
  ORB_FUZZ_CHECK(!files.Profile("no\nsuch profile").found, "");  // no section spans lines
  return 0;
}
