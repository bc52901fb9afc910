// Template attributes from instance-type facts, through the real binary:
// `orb templates refresh` asks EC2 (moto, behind a proxy that counts calls) and
// caches the facts; getAvailableTemplates derives attributes from that cache and
// never calls AWS.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/fault_proxy.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using Outcome = OrbOutcome;

class TemplatesFactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("orb-templates-facts-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "home");
    fs::create_directories(root_ / "conf");
    fs::create_directories(root_ / "work" / "cache");
    std::ofstream(root_ / "in.json") << "{}";
    env_ = {{"HOME", (root_ / "home").string()},
            {"PATH", "/usr/bin:/bin"},
            {"HF_PROVIDER_NAME", "awsinst"},
            {"HF_PROVIDER_CONFDIR", (root_ / "conf").string()},
            {"HF_PROVIDER_WORKDIR", (root_ / "work").string()},
            {"AWS_REGION", "us-east-1"},
            {"AWS_ACCESS_KEY_ID", "AKIDFACTSTEST"},
            {"AWS_SECRET_ACCESS_KEY", "facts-test-secret"},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"ORB_AWS_REQUEST_RETRY_ATTEMPTS", "0"}};
  }
  void TearDown() override { fs::remove_all(root_); }

  void WriteTemplates(const json& templates) {
    std::ofstream(root_ / "conf" / "awsinstprov_templates.json") << json{{"templates", templates}};
  }

  // Seeds the instance-type cache with `entries` for us-east-1, fetched long ago.
  void SeedCache(const json& entries) {
    json region = json::object();
    for (const auto& [name, e] : entries.items()) {
      region[name] = e;
      region[name]["fetched_at"] = 1;  // expired long ago: stale, still used
    }
    std::ofstream(CachePath()) << json{{"format", 1}, {"regions", {{"us-east-1", region}}}};
  }

  fs::path CachePath() const { return root_ / "work" / "cache" / "instance-types.json"; }

  Outcome Orb(const std::vector<std::string>& args) { return RunOrb(args, env_, root_); }

  // getAvailableTemplates' attributes, by template id then attribute name ("Numeric:2").
  std::map<std::string, std::map<std::string, std::string>> AvailableAttributes(Outcome* r) {
    *r = Orb({"hostfactory", "getAvailableTemplates", "-f", (root_ / "in.json").string()});
    std::map<std::string, std::map<std::string, std::string>> out;
    if (r->code != 0) return out;
    const json doc = json::parse(r->out);
    for (const json& t : doc["templates"]) {
      for (const auto& [name, a] : t["attributes"].items()) {
        out[t["templateId"].get<std::string>()][name] =
            a[0].get<std::string>() + ":" + a[1].get<std::string>();
      }
    }
    return out;
  }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

TEST_F(TemplatesFactsTest, RefreshInstallsEc2FactsThatGetAvailableTemplatesReadsWithoutCalls) {
  FaultProxy proxy(MotoServer::Shared().endpoint());
  env_["AWS_ENDPOINT_URL"] = proxy.endpoint();
  WriteTemplates(json::array(
      {{{"templateId", "M5"}, {"maxNumber", 5}, {"vmType", "m5.large"}},
       {{"templateId", "Graviton"},
        {"maxNumber", 5},
        {"vmType", "m6g.large"},
        {"attributes", {{"ncpus", {"Numeric", "1"}}}}}}));
  // A cached m5.large that differs from both EC2 and the built-in table (2/1/8192).
  SeedCache({{"m5.large",
              {{"vcpus", 4}, {"cores", 2}, {"memory_mib", 1234}, {"architectures", {"x86_64"}}}}});

  Outcome r;
  auto attrs = AvailableAttributes(&r);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(attrs["M5"]["ncpus"], "Numeric:4");  // the cache, stale as it is
  EXPECT_EQ(attrs["M5"]["ncores"], "Numeric:2");
  EXPECT_EQ(attrs["M5"]["nram"], "Numeric:1234");
  EXPECT_EQ(attrs["Graviton"]["type"], "String:ARM64");  // not cached: the table
  EXPECT_TRUE(proxy.seen().empty()) << "getAvailableTemplates called AWS";

  r = Orb({"templates", "refresh", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  std::vector<SeenCall> seen = proxy.seen();
  ASSERT_EQ(seen.size(), 1u) << "one DescribeInstanceTypes call for both types";
  EXPECT_EQ(seen[0].action, "DescribeInstanceTypes");
  json shown = json::parse(r.out)["templates"];
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[0]["template_id"], "M5");
  EXPECT_EQ(shown[0]["attributes"]["nram"], json::array({"Numeric", "8192"}));  // moto's answer
  EXPECT_EQ(shown[0]["attributes"]["ncpus"], json::array({"Numeric", "2"}));
  EXPECT_EQ(shown[1]["attributes"]["ncpus"], json::array({"Numeric", "1"}));  // written: kept

  json cache = json::parse(ReadWholeFile(CachePath()));
  EXPECT_EQ(cache["regions"]["us-east-1"]["m5.large"]["memory_mib"], 8192);
  EXPECT_EQ(cache["regions"]["us-east-1"]["m6g.large"]["architectures"], json::array({"arm64"}));

  proxy.ClearSeen();
  attrs = AvailableAttributes(&r);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(attrs["M5"]["nram"], "Numeric:8192");
  EXPECT_EQ(attrs["M5"]["ncpus"], "Numeric:2");
  EXPECT_EQ(attrs["Graviton"]["ncpus"], "Numeric:1");
  EXPECT_EQ(attrs["Graviton"]["nram"], "Numeric:8192");
  EXPECT_TRUE(proxy.seen().empty()) << "getAvailableTemplates called AWS";
}

TEST_F(TemplatesFactsTest, UnreachableAwsStillGetsTemplatesFromTheCacheAndTable) {
  env_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9";  // nothing listens there
  WriteTemplates(
      json::array({{{"templateId", "Custom"}, {"maxNumber", 2}, {"vmType", "x9.custom"}},
                   {{"templateId", "M5"}, {"maxNumber", 2}, {"vmType", "m5.large"}}}));
  // A type the built-in table lacks, known only from the cache.
  SeedCache({{"x9.custom",
              {{"vcpus", 96},
               {"cores", 48},
               {"memory_mib", 393216},
               {"architectures", {"arm64"}}}}});
  const std::string cache_before = ReadWholeFile(CachePath());

  Outcome r;
  auto attrs = AvailableAttributes(&r);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_LT(r.seconds, 2.0);
  EXPECT_EQ(attrs["Custom"]["type"], "String:ARM64");
  EXPECT_EQ(attrs["Custom"]["ncpus"], "Numeric:96");
  EXPECT_EQ(attrs["Custom"]["ncores"], "Numeric:48");
  EXPECT_EQ(attrs["Custom"]["nram"], "Numeric:393216");
  EXPECT_EQ(attrs["M5"]["nram"], "Numeric:8192");  // the built-in table

  // Refresh cannot reach EC2: it says so, fails, and leaves the cache as it was.
  r = Orb({"templates", "refresh"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("instance type facts not refreshed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("facts-test-secret"), std::string::npos);
  EXPECT_EQ(ReadWholeFile(CachePath()), cache_before);
}

TEST_F(TemplatesFactsTest, ATypeUnknownToCacheAndTableStillFailsTheTemplate) {
  env_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9";
  WriteTemplates(
      json::array({{{"templateId", "Nope"}, {"maxNumber", 2}, {"vmType", "x9.unheard"}}}));
  Outcome r;
  AvailableAttributes(&r);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("unknown instance type 'x9.unheard'"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace orb::testing
