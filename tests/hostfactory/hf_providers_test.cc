// Several provider instances in one broker, driven through the HostFactory scripts
// against one moto server whose regions are kept apart: templates bound to one
// instance, round robin across processes, fallback when an instance refuses, and
// status and return following each request's own instance.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hostfactory/hf_harness.h"
#include "support/fault_proxy.h"
#include "support/moto_server.h"

namespace orb::testing {
namespace {

using json = nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

class HfProvidersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MotoServer& moto = MotoServer::Shared();
    moto.Reset();
    moto_ = moto.endpoint();
    image_ = MotoSide(moto_).ImageId();
  }

  void TearDown() override {
    if (HasFailure() && sb_) {
      for (const std::string& c : sb_->transcript()) std::cout << c << "\n";
      std::cout << "==== orb's logs\n" << sb_->LogTail() << "====\n";
    }
  }

  // A provider instance with two provider instances: "east" (us-east-1, at
  // `east_endpoint`) and "west" (us-west-2), and three templates.
  HfSandbox& Sandbox(const std::string& east_endpoint) {
    sb_ = std::make_unique<HfSandbox>(moto_);
    std::ofstream(sb_->conf_dir() / "awsinstprov_config.json") << R"({"AWS_REGION": "us-east-1"})";
    std::ofstream(sb_->conf_dir() / "orb.yaml")
        << "aws:\n  endpoint_url: " << moto_ << "\n  request_retry_attempts: 0\n"
        << "providers:\n"
        << "  - name: east\n    type: aws\n    aws:\n      region: us-east-1\n"
        << "      endpoint_url: " << east_endpoint << "\n"
        << "  - name: west\n    weight: 2\n    aws:\n      region: us-west-2\n";
    auto templ = [&](const std::string& id) {
      return json{{"templateId", id}, {"maxNumber", 10}, {"vmType", "t3.micro"},
                  {"imageId", image_}};
    };
    json east = templ("East-Only");
    east["providerName"] = "east";
    json west = templ("West-Only");
    west["providerName"] = "west";
    json rr = templ("Round-Robin");
    rr["providers"] = {"east", "west"};
    rr["providerSelection"] = "round-robin";
    json fa = templ("First-Available");
    fa["providers"] = {"east", "west"};
    sb_->WriteTemplates({{"templates", {east, west, rr, fa}}});
    return *sb_;
  }

  std::string Request(const std::string& template_id, int count) {
    HfCallResult r = sb_->Call(
        kRequestMachines,
        json{{"template", {{"templateId", template_id}, {"machineCount", count}}}});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return Str(r.doc, "requestId");
  }

  // Polls until the request is terminal; returns its report.
  json Settle(const std::string& id) {
    for (int i = 0; i < 60; ++i) {
      HfCallResult r = sb_->Call(kGetRequestStatus, json{{"requests", {{{"requestId", id}}}}});
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
      if (r.doc.contains("requests") && !r.doc["requests"].empty()) {
        json q = r.doc["requests"][0];
        if (Str(q, "status") == "complete" || Str(q, "status") == "complete_with_error") return q;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "request " << id << " did not settle";
    return json();
  }

  // Instances of the request in `region`, by id -> state.
  std::map<std::string, std::string> InRegion(const std::string& region,
                                              const std::string& request_id) {
    AwsClient aws = MakeTestAwsClient(moto_, region);
    Ec2Client ec2(aws);
    std::map<std::string, std::string> out;
    for (const Instance& i : ec2.DescribeInstancesByFilter({})) {
      for (const Tag& t : i.tags) {
        if (t.key == kRequestIdTagKey && t.value == request_id) out[i.instance_id] = i.state;
      }
    }
    return out;
  }

  std::string moto_, image_;
  std::unique_ptr<HfSandbox> sb_;
};

TEST_F(HfProvidersTest, BoundTemplateLaunchesInItsInstanceAndReturnTerminatesThere) {
  Sandbox(moto_);
  const std::string id = Request("West-Only", 2);
  ASSERT_FALSE(id.empty());
  json q = Settle(id);
  ASSERT_EQ(Str(q, "status"), "complete") << q.dump();
  EXPECT_EQ(InRegion("us-west-2", id).size(), 2u) << "[a bound template launches there]";
  EXPECT_TRUE(InRegion("us-east-1", id).empty()) << "[and nowhere else]";

  json refs = json::array();
  for (const json& m : q["machines"]) {
    refs.push_back({{"name", Str(m, "name")}, {"machineId", Str(m, "machineId")}});
  }
  HfCallResult r = sb_->Call(kRequestReturnMachines, json{{"machines", refs}});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json ret = Settle(Str(r.doc, "requestId"));
  EXPECT_EQ(Str(ret, "status"), "complete") << ret.dump();
  for (const auto& [instance, state] : InRegion("us-west-2", id)) {
    EXPECT_TRUE(state == "terminated" || state == "shutting-down")
        << "[returned machines are terminated in their own region] " << instance << " " << state;
  }
}

TEST_F(HfProvidersTest, RoundRobinAlternatesAcrossProcesses) {
  Sandbox(moto_);
  const std::string first = Request("Round-Robin", 1);
  const std::string second = Request("Round-Robin", 1);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(Str(Settle(first), "status"), "complete");
  EXPECT_EQ(Str(Settle(second), "status"), "complete");
  const bool first_east = !InRegion("us-east-1", first).empty();
  const bool second_east = !InRegion("us-east-1", second).empty();
  EXPECT_NE(first_east, second_east) << "[two successive requests land in different regions]";
  EXPECT_EQ(InRegion("us-east-1", first).size() + InRegion("us-west-2", first).size(), 1u);
  EXPECT_EQ(InRegion("us-east-1", second).size() + InRegion("us-west-2", second).size(), 1u);
}

TEST_F(HfProvidersTest, FirstAvailableFallsBackWhenAnInstanceHasNoCapacity) {
  FaultPlan plan;
  plan.refusals.push_back({"RunInstances", "InstanceType", "t3.micro"});
  FaultProxy proxy(moto_, plan);
  Sandbox(proxy.endpoint());
  const std::string id = Request("First-Available", 2);
  ASSERT_FALSE(id.empty());
  json q = Settle(id);
  EXPECT_EQ(Str(q, "status"), "complete") << "[the other instance completes the request] "
                                          << q.dump();
  EXPECT_EQ(InRegion("us-west-2", id).size(), 2u);
  EXPECT_TRUE(InRegion("us-east-1", id).empty());

  // The refusing instance is remembered: the next request goes to the other one at once.
  proxy.ClearSeen();
  const std::string next = Request("First-Available", 1);
  EXPECT_EQ(Str(Settle(next), "status"), "complete");
  int run_instances = 0;
  for (const SeenCall& c : proxy.seen()) run_instances += c.action == "RunInstances";
  EXPECT_EQ(run_instances, 0) << "[a refusing instance is skipped for a while]";
  EXPECT_EQ(InRegion("us-west-2", next).size(), 1u);

  // A template bound to the refusing instance alone fails with the cloud's reason.
  const std::string bound = Request("East-Only", 1);
  json b = Settle(bound);
  EXPECT_EQ(Str(b, "status"), "complete_with_error") << b.dump();
}

}  // namespace
}  // namespace orb::testing
