// `orb providers list|show|health` against moto, through the real binary.

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

#include "provider/aws/ec2_client.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using Outcome = OrbOutcome;

class ProvidersCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("orb-providers-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "home");
    env_ = {{"HOME", (root_ / "home").string()},
            {"PATH", "/usr/bin:/bin"},
            {"HF_PROVIDER_NAME", "awsinst"},
            {"HF_PROVIDER_WORKDIR", (root_ / "work").string()},
            {"AWS_ACCESS_KEY_ID", "AKIDPROVIDERTEST"},
            {"AWS_SECRET_ACCESS_KEY", "providers-cli-secret-never-shown"},
            {"AWS_EC2_METADATA_DISABLED", "true"}};
  }
  void TearDown() override { fs::remove_all(root_); }

  Outcome Orb(const std::vector<std::string>& args) { return RunOrb(args, env_, root_); }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

TEST_F(ProvidersCliTest, HealthReportsAccountRegionAndLatencies) {
  env_["AWS_ENDPOINT_URL"] = MotoServer::Shared().endpoint();
  env_["AWS_REGION"] = "eu-west-1";
  Outcome r = Orb({"providers", "health", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  json h = json::parse(r.out);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["region"], "eu-west-1");
  EXPECT_EQ(h["account"], "123456789012");  // moto's account
  EXPECT_NE(h["credentials_source"].get<std::string>().find("environment"), std::string::npos);
  std::vector<std::string> names;
  for (const json& c : h["checks"]) {
    names.push_back(c["check"]);
    EXPECT_TRUE(c["ok"].get<bool>()) << c.dump();
    EXPECT_GE(c["latency_ms"].get<double>(), 0.0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"region", "credentials", "sts:GetCallerIdentity",
                                             "ec2:DescribeInstances"}));
  EXPECT_EQ(r.out.find("providers-cli-secret-never-shown"), std::string::npos);
  EXPECT_EQ(r.err.find("providers-cli-secret-never-shown"), std::string::npos);
}

TEST_F(ProvidersCliTest, ListAndShowNameEndpoints) {
  env_["AWS_ENDPOINT_URL"] = MotoServer::Shared().endpoint();
  env_["AWS_REGION"] = "us-east-1";
  Outcome r = Orb({"providers", "list", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json list = json::parse(r.out);
  ASSERT_EQ(list["providers"].size(), 1u);
  EXPECT_EQ(list["providers"][0]["name"], "awsinst");
  EXPECT_EQ(list["providers"][0]["type"], "aws");
  r = Orb({"providers", "show", "awsinst", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["endpoints"]["ec2"], MotoServer::Shared().endpoint());
  r = Orb({"providers", "show", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown provider 'nope'"), std::string::npos) << r.err;
}

TEST_F(ProvidersCliTest, HealthNamesWhatIsWrong) {
  // No region anywhere: a failing check with the fix, exit 1.
  Outcome r = Orb({"providers", "health", "--format", "json"});
  EXPECT_EQ(r.code, 1);
  json h = json::parse(r.out);
  EXPECT_EQ(h["status"], "failing");
  EXPECT_EQ(h["checks"][0]["check"], "region");
  EXPECT_NE(h["checks"][0]["detail"].get<std::string>().find("AWS_REGION"), std::string::npos);

  // An endpoint nobody answers: failing fast enough for an operator, naming the host.
  env_["AWS_REGION"] = "us-east-1";
  env_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9";
  env_["ORB_AWS_REQUEST_RETRY_ATTEMPTS"] = "1";
  r = Orb({"providers", "health", "--format", "json"});
  EXPECT_EQ(r.code, 1);
  h = json::parse(r.out);
  EXPECT_EQ(h["status"], "failing");
  bool named = false;
  for (const json& c : h["checks"]) {
    if (!c["ok"].get<bool>()) named |= c["detail"].get<std::string>().find("127.0.0.1") != std::string::npos;
  }
  EXPECT_TRUE(named) << r.out;
  EXPECT_LT(r.seconds, 20.0);
  EXPECT_EQ(r.out.find("providers-cli-secret-never-shown"), std::string::npos);
}

TEST_F(ProvidersCliTest, TemplatesValidateCloudNamesResourcesThatDoNotExist) {
  const std::string endpoint = MotoServer::Shared().endpoint();
  env_["AWS_ENDPOINT_URL"] = endpoint;
  env_["AWS_REGION"] = "us-east-1";
  AwsClient aws = MakeTestAwsClient(endpoint, "us-east-1");
  Ec2Client ec2(aws);
  std::vector<Subnet> subnets = ec2.DescribeSubnets({});
  ASSERT_FALSE(subnets.empty());
  ImageQuery q;
  q.owners = {"amazon"};
  std::vector<Image> images = ec2.DescribeImages(q);
  ASSERT_FALSE(images.empty());
  json good = {{"templateId", "Good"},        {"maxNumber", 2},
               {"vmType", "t3.micro"},        {"imageId", images[0].image_id},
               {"subnetId", subnets[0].subnet_id}};
  json bad = good;
  bad["templateId"] = "Bad";
  bad["subnetId"] = "subnet-0000000000deadbee";
  bad["securityGroupIds"] = {"sg-0000000000deadbee"};
  bad["imageId"] = "ami-0000000000deadbee";
  const fs::path file = root_ / "templates.json";
  std::ofstream(file) << json{{"templates", {good, bad}}}.dump();

  Outcome offline = Orb({"templates", "validate", "--templates", file.string()});
  EXPECT_EQ(offline.code, 0) << "[without --cloud nothing is asked of AWS] " << offline.out
                             << offline.err;

  Outcome r = Orb({"templates", "validate", "--cloud", "--templates", file.string(), "--format",
                   "json"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  json doc = json::parse(r.out);
  EXPECT_FALSE(doc["valid"].get<bool>());
  std::string problems;
  for (const json& p : doc["problems"]) problems += p.get<std::string>() + "\n";
  EXPECT_NE(problems.find("subnet-0000000000deadbee"), std::string::npos) << problems;
  EXPECT_NE(problems.find("sg-0000000000deadbee"), std::string::npos) << problems;
  EXPECT_NE(problems.find("ami-0000000000deadbee"), std::string::npos) << problems;
  EXPECT_EQ(problems.find("'Good'"), std::string::npos)
      << "[a template whose resources exist has no problem] " << problems;
}

}  // namespace
}  // namespace orb::testing
