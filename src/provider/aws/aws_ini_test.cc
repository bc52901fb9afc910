#include "provider/aws/aws_ini.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace orb {
namespace {

TEST(AwsIniTest, CredentialsFileSectionsAreProfiles) {
  AwsIniFile f = ParseAwsIni(
      "[default]\n"
      "aws_access_key_id = AKIDDEFAULT\n"
      "aws_secret_access_key=secretdefault\n"
      "\n"
      "[prod]\n"
      "  aws_access_key_id   =   AKIDPROD  \n"
      "  aws_secret_access_key = secretprod\n",
      AwsIniKind::kCredentials);
  ASSERT_EQ(f.profiles.size(), 2u);
  EXPECT_EQ(f.profiles["default"]["aws_access_key_id"], "AKIDDEFAULT");
  EXPECT_EQ(f.profiles["default"]["aws_secret_access_key"], "secretdefault");
  // Settings indented alike are siblings, not continuations.
  EXPECT_EQ(f.profiles["prod"]["aws_access_key_id"], "AKIDPROD");
  EXPECT_EQ(f.profiles["prod"]["aws_secret_access_key"], "secretprod");
  EXPECT_TRUE(f.warnings.empty());
}

TEST(AwsIniTest, ConfigFileUsesProfilePrefix) {
  AwsIniFile f = ParseAwsIni(
      "[default]\nregion = us-east-1\n"
      "[profile prod]\nregion = eu-west-1\n"
      "[profile   spaced  ]\nregion = ap-south-1\n"
      "[orphan]\nregion = nowhere\n"
      "[sso-session corp]\nsso_region = us-east-1\n",
      AwsIniKind::kConfig);
  EXPECT_EQ(f.profiles["default"]["region"], "us-east-1");
  EXPECT_EQ(f.profiles["prod"]["region"], "eu-west-1");
  EXPECT_EQ(f.profiles["spaced"]["region"], "ap-south-1");
  EXPECT_EQ(f.profiles.count("orphan"), 0u);  // config sections need "profile "
  EXPECT_EQ(f.profiles.count("sso-session corp"), 0u);
  EXPECT_EQ(f.sections["sso-session corp"]["sso_region"], "us-east-1");
  EXPECT_EQ(f.profiles.size(), 3u);
}

TEST(AwsIniTest, ProfileDefaultWinsOverDefaultInConfig) {
  AwsIniFile f = ParseAwsIni("[default]\nregion = a\nonly = x\n[profile default]\nregion = b\n",
                             AwsIniKind::kConfig);
  EXPECT_EQ(f.profiles["default"]["region"], "b");
  EXPECT_EQ(f.profiles["default"].count("only"), 0u);
}

TEST(AwsIniTest, ProfilePrefixIgnoredInCredentialsFile) {
  AwsIniFile f = ParseAwsIni("[profile prod]\naws_access_key_id = A\n", AwsIniKind::kCredentials);
  EXPECT_TRUE(f.profiles.empty());
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_NE(f.warnings[0].find("profile prod"), std::string::npos);
}

TEST(AwsIniTest, CommentsAndWhitespace) {
  AwsIniFile f = ParseAwsIni(
      "# a comment\n"
      "; another\n"
      "   # indented comment\n"
      "[default]   # trailing comment on a section line\n"
      "region = us-west-2 # inline comment\n"
      "output = json;not-a-comment\n"
      "tag = a#b\n"
      "\t\n"
      "Key_With_Case = Value With Spaces\r\n",
      AwsIniKind::kConfig);
  const AwsIniSection& d = f.profiles["default"];
  EXPECT_EQ(d.at("region"), "us-west-2");
  EXPECT_EQ(d.at("output"), "json;not-a-comment");  // no white space before ';'
  EXPECT_EQ(d.at("tag"), "a#b");
  EXPECT_EQ(d.at("key_with_case"), "Value With Spaces");  // keys lower-cased, CR dropped
  EXPECT_TRUE(f.warnings.empty()) << f.warnings[0];
}

TEST(AwsIniTest, NestedSubSettingsAreTolerated) {
  AwsIniFile f = ParseAwsIni(
      "[profile dev]\n"
      "s3 =\n"
      "  max_concurrent_requests = 10\n"
      "  addressing_style = path\n"
      "region = eu-central-1\n"
      "role_arn = arn:aws:iam::123456789012:role/dev\n",
      AwsIniKind::kConfig);
  const AwsIniSection& p = f.profiles["dev"];
  EXPECT_EQ(p.at("s3"), "");
  EXPECT_EQ(p.at("s3.max_concurrent_requests"), "10");
  EXPECT_EQ(p.at("s3.addressing_style"), "path");
  EXPECT_EQ(p.at("region"), "eu-central-1");  // back at the key's indent: a new key
  EXPECT_EQ(p.at("role_arn"), "arn:aws:iam::123456789012:role/dev");
  EXPECT_TRUE(f.warnings.empty());
}

TEST(AwsIniTest, ContinuationLinesExtendAValue) {
  AwsIniFile f =
      ParseAwsIni("[default]\nnote = first\n   second\nregion = x\n", AwsIniKind::kConfig);
  EXPECT_EQ(f.profiles["default"]["note"], "first\nsecond");
  EXPECT_EQ(f.profiles["default"]["region"], "x");
}

TEST(AwsIniTest, RepeatedSectionsMergeAndLaterKeysWin) {
  AwsIniFile f =
      ParseAwsIni("[a]\nx = 1\ny = 1\n[b]\nx = 9\n[a]\nx = 2\n", AwsIniKind::kCredentials);
  EXPECT_EQ(f.profiles["a"]["x"], "2");
  EXPECT_EQ(f.profiles["a"]["y"], "1");
  EXPECT_EQ(f.profiles["b"]["x"], "9");
}

TEST(AwsIniTest, BadLinesWarnByNumberWithoutTheirText) {
  AwsIniFile f = ParseAwsIni(
      "stray = before any section\n"
      "[default]\n"
      "wJalrXUtnFEMISECRETLINEWITHOUTEQUALS\n"
      "aws_access_key_id = A\n"
      "[broken\n"
      "ignored = yes\n"
      "[]\n",
      AwsIniKind::kCredentials);
  EXPECT_EQ(f.profiles["default"]["aws_access_key_id"], "A");
  EXPECT_EQ(f.profiles["default"].count("ignored"), 0u);
  ASSERT_EQ(f.warnings.size(), 5u);
  EXPECT_EQ(f.warnings[0].rfind("line 1:", 0), 0u);
  EXPECT_EQ(f.warnings[1].rfind("line 3:", 0), 0u);
  EXPECT_EQ(f.warnings[2].rfind("line 5:", 0), 0u);
  EXPECT_EQ(f.warnings[3].rfind("line 6:", 0), 0u);
  EXPECT_EQ(f.warnings[4].rfind("line 7:", 0), 0u);
  for (const std::string& w : f.warnings) {
    EXPECT_EQ(w.find("wJalrXUtnFEMI"), std::string::npos) << w;
  }
}

TEST(AwsIniTest, EmptyTextHasNoProfiles) {
  AwsIniFile f = ParseAwsIni("", AwsIniKind::kConfig);
  EXPECT_TRUE(f.profiles.empty());
  EXPECT_TRUE(f.warnings.empty());
}

class AwsIniFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("orb_aws_ini_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(AwsIniFilesTest, MissingFileIsNotAnError) {
  EXPECT_FALSE(LoadAwsIni((dir_ / "nope").string(), AwsIniKind::kConfig).has_value());
  AwsSharedFiles files = AwsSharedFiles::Load((dir_ / "a").string(), "");
  EXPECT_FALSE(files.credentials.has_value());
  EXPECT_FALSE(files.config.has_value());
  EXPECT_FALSE(files.Profile("default").found);
}

TEST_F(AwsIniFilesTest, DirectoryIsAnErrorNamingThePath) {
  try {
    LoadAwsIni(dir_.string(), AwsIniKind::kConfig);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_NE(std::string(e.what()).find(dir_.string()), std::string::npos);
  }
}

TEST_F(AwsIniFilesTest, CredentialsFileWinsOverConfigKeyByKey) {
  std::string credentials = Write("credentials",
                                  "[prod]\naws_access_key_id = FROMCREDS\n"
                                  "aws_secret_access_key = s\n");
  std::string config = Write("config",
                             "[profile prod]\naws_access_key_id = FROMCONFIG\nregion = eu-west-3\n"
                             "[profile other]\nregion = x\n");
  AwsSharedFiles files = AwsSharedFiles::Load(credentials, config);
  AwsProfile prod = files.Profile("prod");
  EXPECT_TRUE(prod.found);
  EXPECT_EQ(prod.Get("aws_access_key_id"), "FROMCREDS");
  EXPECT_EQ(prod.origin.at("aws_access_key_id"), credentials);
  EXPECT_EQ(prod.Get("region"), "eu-west-3");
  EXPECT_EQ(prod.origin.at("region"), config);
  EXPECT_TRUE(prod.Has("aws_secret_access_key"));
  EXPECT_FALSE(prod.Has("role_arn"));
  EXPECT_TRUE(files.Profile("other").found);
  EXPECT_FALSE(files.Profile("absent").found);
}

}  // namespace
}  // namespace orb
