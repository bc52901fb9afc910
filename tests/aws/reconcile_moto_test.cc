// `orb reconcile` against moto: instances this broker tagged that its store does not
// record are adopted by their open request or terminated as orphans; nothing else
// is touched.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "provider/aws/ec2_client.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class ReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    root_ = fs::temp_directory_path() / ("orb-reconcile-" + std::to_string(::getpid()) + name);
    fs::remove_all(root_);
    fs::create_directories(root_ / "home");
    fs::create_directories(root_ / "conf");
    broker_id_ = "reconcile-" + std::to_string(::getpid()) + "-" + name;
    endpoint_ = MotoServer::Shared().endpoint();
    env_ = {{"HOME", (root_ / "home").string()},
            {"PATH", "/usr/bin:/bin"},
            {"HF_PROVIDER_NAME", "awsinst"},
            {"HF_PROVIDER_CONFDIR", (root_ / "conf").string()},
            {"HF_PROVIDER_WORKDIR", (root_ / "work").string()},
            {"ORB_BROKER_ID", broker_id_},
            {"AWS_ENDPOINT_URL", endpoint_},
            {"AWS_REGION", "us-east-1"},
            {"AWS_ACCESS_KEY_ID", "AKIDRECONCILETEST"},
            {"AWS_SECRET_ACCESS_KEY", "reconcile-secret-never-shown"},
            {"AWS_EC2_METADATA_DISABLED", "true"}};
    ImageQuery q;
    q.owners = {"amazon"};
    image_ = ec2_.DescribeImages(q).at(0).image_id;
    std::ofstream(root_ / "conf" / "awsinstprov_templates.json")
        << json{{"templates",
                 {{{"templateId", "Micro"}, {"maxNumber", 10}, {"vmType", "t3.micro"},
                   {"imageId", image_}}}}}
               .dump();
  }
  void TearDown() override { fs::remove_all(root_); }

  // Launches one instance directly (not through orb), tagged with `tags`.
  std::string LaunchBehindOrbsBack(const std::vector<Tag>& tags) {
    RunInstancesRequest r;
    r.client_token = "reconcile-" + std::to_string(++launched_) + "-" + broker_id_;
    if (r.client_token.size() > 64) r.client_token.resize(64);
    r.image_id = image_;
    r.instance_type = "t3.micro";
    if (!tags.empty()) r.tag_specifications = {{"instance", tags}};
    return ec2_.RunInstances(r).instances.at(0).instance_id;
  }

  std::string State(const std::string& id) {
    DescribeInstancesResult r = ec2_.DescribeInstancesById({id});
    return r.instances.empty() ? "unknown" : r.instances[0].state;
  }

  json Reconcile(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"reconcile", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    OrbOutcome r = RunOrb(args, env_, root_);
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find("reconcile-secret-never-shown"), std::string::npos);
    EXPECT_EQ(r.err.find("reconcile-secret-never-shown"), std::string::npos);
    return json::parse(r.out, nullptr, false);
  }

  static std::map<std::string, std::string> ActionsById(const json& report) {
    std::map<std::string, std::string> out;
    for (const json& a : report["actions"]) out[a["machine_id"]] = a["action"];
    return out;
  }

  fs::path root_;
  std::string broker_id_, endpoint_, image_;
  std::map<std::string, std::string> env_;
  AwsClient aws_ = MakeTestAwsClient(MotoServer::Shared().endpoint(), "us-east-1");
  Ec2Client ec2_{aws_};
  int launched_ = 0;
};

TEST_F(ReconcileTest, OrphansAreTerminatedAfterTheirGraceAndNothingElseIsTouched) {
  const std::vector<Tag> ours = {{"orb:broker-id", broker_id_},
                                 {"orb:request-id", "req-00000000-0000-0000-0000-000000000000"}};
  const std::string orphan1 = LaunchBehindOrbsBack(ours);
  const std::string orphan2 = LaunchBehindOrbsBack({{"orb:broker-id", broker_id_}});
  const std::string foreign = LaunchBehindOrbsBack({{"orb:broker-id", broker_id_ + "-other"}});
  const std::string untagged = LaunchBehindOrbsBack({});

  env_["ORB_RECONCILE_ORPHAN_GRACE_SEC"] = "0";
  json dry = Reconcile({"--dry-run"});
  EXPECT_TRUE(dry["dry_run"].get<bool>());
  EXPECT_EQ(dry["instances_seen"], 2) << "[only this broker's instances are looked at]";
  EXPECT_EQ(ActionsById(dry), (std::map<std::string, std::string>{{orphan1, "terminate"},
                                                                   {orphan2, "terminate"}}));
  EXPECT_EQ(State(orphan1), "running") << "[a dry run changes nothing]";
  EXPECT_EQ(State(orphan2), "running");

  env_["ORB_RECONCILE_ORPHAN_GRACE_SEC"] = "86400";
  json young = Reconcile();
  EXPECT_EQ(ActionsById(young),
            (std::map<std::string, std::string>{{orphan1, "keep"}, {orphan2, "keep"}}))
      << "[an orphan within its grace may be a launch being recorded: kept]";
  EXPECT_EQ(State(orphan1), "running");

  env_["ORB_RECONCILE_ORPHAN_GRACE_SEC"] = "0";
  json done = Reconcile();
  EXPECT_EQ(ActionsById(done), (std::map<std::string, std::string>{{orphan1, "terminate"},
                                                                   {orphan2, "terminate"}}));
  for (const std::string& id : {orphan1, orphan2}) {
    EXPECT_TRUE(State(id) == "shutting-down" || State(id) == "terminated")
        << "[orphans are terminated] " << id << " " << State(id);
  }
  EXPECT_EQ(State(foreign), "running") << "[another broker's instance is never touched]";
  EXPECT_EQ(State(untagged), "running") << "[an instance orb did not launch is never touched]";
  EXPECT_EQ(Reconcile()["instances_seen"], 0) << "[a second pass finds nothing left]";
}

TEST_F(ReconcileTest, HostReturnedWhileTheStoreDidNotKnowItIsStillAnOrphan) {
  // A store started afresh (the old one lost): HostFactory returns a host of a request
  // the new store never saw. The return only notes the id; the instance is still this
  // broker's and must not escape the reconciler.
  const std::vector<Tag> ours = {{"orb:broker-id", broker_id_},
                                 {"orb:request-id", "req-11111111-1111-1111-1111-111111111111"}};
  const std::string host = LaunchBehindOrbsBack(ours);
  fs::create_directories(root_ / "work");
  const fs::path input = root_ / "return.json";
  std::ofstream(input) << json{{"machines", {{{"name", "ip-10-0-0-1.ec2.internal"},
                                              {"machineId", host}}}}}
                              .dump();
  OrbOutcome ret = RunOrb({"hostfactory", "requestReturnMachines", "-f", input.string()}, env_,
                          root_);
  ASSERT_EQ(ret.code, 0) << ret.out << ret.err;
  EXPECT_NE(ret.out.find("not machines of this orb"), std::string::npos) << ret.out;
  EXPECT_EQ(State(host), "running") << "[an unknown host is not terminated by the return]";

  env_["ORB_RECONCILE_ORPHAN_GRACE_SEC"] = "0";
  json done = Reconcile();
  EXPECT_EQ(ActionsById(done), (std::map<std::string, std::string>{{host, "terminate"}}))
      << "[the note of the return does not hide the instance from the reconciler]";
  EXPECT_TRUE(State(host) == "shutting-down" || State(host) == "terminated") << State(host);
}

TEST_F(ReconcileTest, InstanceOfAnOpenRequestIsAdoptedNotTerminated) {
  OrbOutcome created =
      RunOrb({"requests", "create", "--template-id", "Micro", "--count", "1", "--format", "json"},
             env_, root_);
  ASSERT_EQ(created.code, 0) << created.out << created.err;
  const std::string req = json::parse(created.out).value("request_id", "");
  ASSERT_EQ(req.rfind("req-", 0), 0u) << created.out;
  // An instance of the request the store does not know (as after a lost answer).
  const std::string extra =
      LaunchBehindOrbsBack({{"orb:broker-id", broker_id_}, {"orb:request-id", req}});
  env_["ORB_RECONCILE_ORPHAN_GRACE_SEC"] = "0";
  json report = Reconcile();
  EXPECT_EQ(ActionsById(report), (std::map<std::string, std::string>{{extra, "adopt"}}))
      << "[the request's own machine is recorded; the unrecorded one is adopted] "
      << report.dump();
  EXPECT_EQ(State(extra), "running") << "[an adopted instance is not terminated]";
  OrbOutcome shown = RunOrb({"requests", "show", req, "--format", "json"}, env_, root_);
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_NE(shown.out.find(extra), std::string::npos)
      << "[the adopted instance is a machine of its request] " << shown.out;
  EXPECT_TRUE(ActionsById(Reconcile()).empty()) << "[once adopted, nothing left to do]";
}

}  // namespace
}  // namespace orb::testing
