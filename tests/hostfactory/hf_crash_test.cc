// The crash matrix: orb killed (SIGKILL, through ORB_CRASH_AT) at every step of the
// acquire and return protocols, for every provisioning API, while HostFactory drives
// it through its scripts against moto behind the fault proxy (which gives AWS's
// ClientToken semantics). After each crash HostFactory carries on as it does (a
// failed requestMachines or requestReturnMachines is asked again), then one
// `orb reconcile` runs. Afterwards:
//   - no duplicates: no request has more instances than one launch of it makes, and
//     every creating call of a request reached AWS with one token;
//   - no orphans: every live instance belongs to a request HostFactory knows;
//   - every request is terminal: the retried one complete, the crashed acquire
//     request given back (complete_with_error, "abandoned"), every return complete.
// Each case prints one `CRASH` line with its figures (docs/reliability.md).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hostfactory/hf_harness.h"
#include "support/fault_proxy.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;

// One provisioning API and the template of the suite that uses it.
struct Api {
  const char* name;            // for test names
  const char* template_id;     // in tests/data/hostfactory/awsinstprov_templates.json.in
  const char* create_action;   // the call that creates capacity
  bool makes_group;            // a fleet or Auto Scaling group
};

constexpr Api kApis[] = {
    {"RunInstances", "OnDemand-Micro", "RunInstances", false},
    {"Ec2FleetInstant", "Fleet-Instant", "CreateFleet", true},
    {"Ec2FleetRequest", "Fleet-Request", "CreateFleet", true},
    {"SpotFleet", "SpotFleet-Maintain", "RequestSpotFleet", true},
    {"AutoScaling", "Asg-Small", "CreateAutoScalingGroup", true},
};

// Where the process dies. `aws.answered.<Action>` is right after AWS answered the
// call (it took effect; only the answer is lost).
constexpr const char* kAcquirePoints[] = {"acquire.before_intent", "acquire.after_intent",
                                          "aws.answered", "acquire.after_answer",
                                          "acquire.after_record"};
constexpr const char* kReturnPoints[] = {"return.before_record", "return.after_record",
                                         "aws.answered", "return.after_answer",
                                         "return.after_update"};

struct CrashCase {
  Api api;
  std::string point;  // as in kAcquirePoints / kReturnPoints
  bool acquire;
};

// How gtest shows a case (instead of its bytes).
void PrintTo(const CrashCase& c, std::ostream* os) {
  *os << c.api.name << (c.acquire ? " acquire " : " return ") << c.point;
}

std::string CaseName(const ::testing::TestParamInfo<CrashCase>& info) {
  std::string point = info.param.point;
  for (char& c : point) {
    if (c == '.') c = '_';
  }
  return std::string(info.param.api.name) + (info.param.acquire ? "_Acquire_" : "_Return_") +
         point;
}

std::vector<CrashCase> AllCases() {
  std::vector<CrashCase> cases;
  for (const Api& api : kApis) {
    for (const char* p : kAcquirePoints) cases.push_back({api, p, true});
    for (const char* p : kReturnPoints) cases.push_back({api, p, false});
  }
  return cases;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

bool Live(const Instance& i) { return i.state != "terminated" && i.state != "shutting-down"; }

// A fresh moto behind the fault proxy and a provider instance pointed at the proxy,
// the reconciler left to explicit `orb reconcile` calls with no grace periods.
void SetUpCrashWorld(std::unique_ptr<FaultProxy>& proxy, std::unique_ptr<MotoSide>& cloud,
                     std::unique_ptr<HfSandbox>& sb) {
  MotoServer& moto = MotoServer::Shared();
  moto.Reset();
  proxy = std::make_unique<FaultProxy>(moto.endpoint());
  cloud = std::make_unique<MotoSide>(moto.endpoint());
  sb = std::make_unique<HfSandbox>(proxy->endpoint());
  sb->WriteConfig({{"AWS_INSTANCE_PENDING_TIMEOUT_SEC", 600}});
  sb->WriteTemplates(SuiteTemplates(cloud->ImageId(), cloud->SubnetId()));
  auto& env = sb->env();
  env["ORB_RECONCILE_INTERVAL_SEC"] = "0";      // only the explicit `orb reconcile`
  env["ORB_RECONCILE_ORPHAN_GRACE_SEC"] = "0";  // the test cannot wait 5 minutes
  env["ORB_RECONCILE_UNACKNOWLEDGED_GRACE_SEC"] = "0";
}

// What a failed case prints: the HostFactory calls, orb's logs, the AWS calls.
void PrintCrashWorld(HfSandbox& sb, FaultProxy& proxy) {
  for (const std::string& c : sb.transcript()) std::cout << c << "\n";
  std::cout << "==== orb's logs\n" << sb.LogTail(120) << "====\n";
  std::cout << "==== AWS calls through the proxy\n";
  for (const SeenCall& s : proxy.seen()) {
    std::cout << s.action << " -> " << s.status << (s.replayed ? " (replayed)" : "")
              << (s.fault.empty() ? "" : " fault=" + s.fault) << "\n";
  }
  std::cout << "====\n";
}

class HfCrashTest : public ::testing::TestWithParam<CrashCase> {
 protected:
  void SetUp() override {
    SetUpCrashWorld(proxy_, cloud_, sb_);
    sb_->env()["ORB_LAUNCH_RETRY_SEC"] = "1";  // resume interrupted launches at once
  }

  void TearDown() override {
    if (HasFailure()) PrintCrashWorld(*sb_, *proxy_);
  }

  // The crash point as ORB_CRASH_AT spells it for this case.
  std::string CrashAt() const {
    const CrashCase& c = GetParam();
    if (c.point != "aws.answered") return c.point;
    return "aws.answered." + std::string(c.acquire ? c.api.create_action : "TerminateInstances");
  }

  // Calls `script` with ORB_CRASH_AT set and expects the process to die there.
  void CallAndCrash(const std::string& script, const json& input) {
    sb_->env()["ORB_CRASH_AT"] = CrashAt();
    HfCallResult r = sb_->Call(script, input);
    sb_->env().erase("ORB_CRASH_AT");
    ++crashes_;
    ASSERT_EQ(r.exit_code, 128 + 9) << "[the process dies at " << CrashAt() << "]\n"
                                    << r.Describe();
    EXPECT_TRUE(r.out.empty()) << "[a killed call answers nothing]";
  }

  // Calls `script` normally; returns the created request id.
  std::string Create(const std::string& script, const json& input) {
    HfCallResult r = sb_->Call(script, input);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(r.json_ok) << r.Describe();
    return Str(r.doc, "requestId");
  }

  // Polls getRequestStatus until `id` is terminal; returns its last status object.
  json PollUntilTerminal(const std::string& id) {
    json last;
    for (int i = 0; i < 150; ++i) {
      HfCallResult r = sb_->Call(kGetRequestStatus, json{{"requests", {{{"requestId", id}}}}});
      EXPECT_TRUE(r.json_ok) << r.Describe();
      if (r.json_ok && r.doc.contains("requests") && !r.doc["requests"].empty()) {
        last = r.doc["requests"][0];
        const std::string s = Str(last, "status");
        if (s == "complete" || s == "complete_with_error") return last;
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
    ADD_FAILURE() << "request " << id << " never became terminal: " << last.dump();
    return last;
  }

  // Runs orb with the sandbox's environment.
  OrbOutcome Orb(const std::vector<std::string>& args) {
    return RunOrb(args, sb_->env(), sb_->root());
  }

  // Every request the store holds, by id, as `orb requests list` reports it.
  std::map<std::string, json> StoredRequests() {
    OrbOutcome o = Orb({"requests", "list", "--format", "json"});
    EXPECT_EQ(o.code, 0) << o.err;
    std::map<std::string, json> by_id;
    json doc = json::parse(o.out, nullptr, false);
    if (doc.is_object() && doc.contains("requests")) doc = doc["requests"];
    EXPECT_TRUE(doc.is_array()) << o.out;
    if (!doc.is_array()) return by_id;
    for (const json& r : doc) by_id[Str(r, "request_id")] = r;
    return by_id;
  }

  // The groups orb made that still exist (fleets not deleted, Auto Scaling groups,
  // Spot Fleet requests not cancelled).
  std::vector<std::string> LiveGroups() {
    std::vector<std::string> groups;
    for (const Fleet& f : cloud_->ec2().DescribeFleets({})) {
      if (f.type != "instant" && f.state.rfind("deleted", 0) != 0) groups.push_back(f.fleet_id);
    }
    for (const SpotFleetRequest& s : cloud_->ec2().DescribeSpotFleetRequests({})) {
      if (s.state.rfind("cancelled", 0) != 0) groups.push_back(s.spot_fleet_request_id);
    }
    for (const std::string& name : cloud_->AutoScalingGroupNames()) groups.push_back(name);
    return groups;
  }

  std::vector<std::string> MachineIdsOf(const json& status) {
    std::vector<std::string> ids;
    for (const json& m : status.value("machines", json::array())) ids.push_back(Str(m, "machineId"));
    return ids;
  }

  // Returns `ids` through HostFactory and waits until the return is complete.
  void ReturnAndWait(const std::vector<std::string>& ids, const std::string& rule) {
    json machines = json::array();
    for (const std::string& id : ids) machines.push_back({{"machineId", id}});
    const std::string ret = Create(kRequestReturnMachines, json{{"machines", machines}});
    ASSERT_FALSE(ret.empty()) << "[" << rule << "] return accepted";
    json final = PollUntilTerminal(ret);
    EXPECT_EQ(Str(final, "status"), "complete") << "[" << rule << "] " << final.dump();
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<MotoSide> cloud_;
  std::unique_ptr<HfSandbox> sb_;
  int crashes_ = 0;
};

TEST_P(HfCrashTest, NothingDuplicatedLostOrLeaked) {
  const CrashCase& c = GetParam();
  const auto started = std::chrono::steady_clock::now();
  const json request = {{"template", {{"templateId", c.api.template_id}, {"machineCount", 2}}}};
  std::string known_acquire;           // the acquire request HostFactory knows
  std::vector<std::string> known_machines;

  if (c.acquire) {
    // requestMachines dies; HostFactory, having no answer, asks again.
    ASSERT_NO_FATAL_FAILURE(CallAndCrash(kRequestMachines, request));
    known_acquire = Create(kRequestMachines, request);
    ASSERT_FALSE(known_acquire.empty());
    json final = PollUntilTerminal(known_acquire);
    EXPECT_EQ(Str(final, "status"), "complete")
        << "[the asked-again request completes] " << final.dump();
    known_machines = MachineIdsOf(final);
  } else {
    known_acquire = Create(kRequestMachines, request);
    json final = PollUntilTerminal(known_acquire);
    ASSERT_EQ(Str(final, "status"), "complete") << final.dump();
    known_machines = MachineIdsOf(final);
    ASSERT_FALSE(known_machines.empty());
    // requestReturnMachines dies; HostFactory asks again.
    json machines = json::array();
    for (const std::string& id : known_machines) machines.push_back({{"machineId", id}});
    ASSERT_NO_FATAL_FAILURE(CallAndCrash(kRequestReturnMachines, json{{"machines", machines}}));
    ReturnAndWait(known_machines, "the asked-again return completes");
    known_machines.clear();
  }

  // One reconciler pass.
  OrbOutcome rec = Orb({"reconcile", "--format", "json"});
  EXPECT_EQ(rec.code, 0) << rec.out << rec.err;

  // Every request terminal, the crashed acquire request given back.
  std::map<std::string, json> requests = StoredRequests();
  int lost = 0;
  for (const auto& [id, r] : requests) {
    const std::string status = Str(r, "status");
    EXPECT_TRUE(status == "complete" || status == "complete_with_error")
        << "[every request reaches a terminal state after one reconcile] " << r.dump();
    if (status != "complete" && status != "complete_with_error") ++lost;
    if (id == known_acquire) {
      EXPECT_EQ(status, "complete") << r.dump();
    } else if (id.rfind("req-", 0) == 0) {
      EXPECT_EQ(status, "complete_with_error") << r.dump();
      EXPECT_NE(Str(r, "message").find("abandoned"), std::string::npos)
          << "[a request nobody was told of is given back, saying so] " << r.dump();
    } else {
      EXPECT_EQ(status, "complete") << "[every return completes] " << r.dump();
    }
  }
  const std::size_t expected_acquires =
      c.acquire && c.point != "acquire.before_intent" ? 2u : 1u;
  std::size_t acquires = 0;
  for (const auto& [id, r] : requests) acquires += id.rfind("req-", 0) == 0;
  EXPECT_EQ(acquires, expected_acquires) << "[a crash before the intent is written leaves "
                                            "no request; after it, exactly one]";

  // Duplicates: each request's instances come from one launch (2 units asked).
  // Orphans: every live instance belongs to the request HostFactory knows.
  int duplicates = 0, orphans = 0;
  std::map<std::string, int> per_request;
  const std::set<std::string> known(known_machines.begin(), known_machines.end());
  // moto does not give Spot Fleet instances their launch template's tags (AWS does,
  // docs/aws-api.md): those are found through their fleet's tag.
  std::map<std::string, std::string> fleet_member_of;
  for (const SpotFleetRequest& s : cloud_->ec2().DescribeSpotFleetRequests({})) {
    for (const FleetInstance& f : cloud_->ec2().DescribeSpotFleetInstances(s.spot_fleet_request_id)) {
      fleet_member_of[f.instance_id] = TagValue(s.tags, kRequestIdTagKey);
    }
  }
  for (const Instance& i : cloud_->AllInstances()) {
    std::string tag = TagValue(i.tags, kRequestIdTagKey);
    if (tag.empty() && fleet_member_of.count(i.instance_id)) tag = fleet_member_of[i.instance_id];
    // (moto forgets the members of a cancelled Spot Fleet: a terminated one is untraceable.)
    if (tag.empty() && !Live(i) && std::string(c.api.name) == "SpotFleet") continue;
    ++per_request[tag];
    if (Live(i) && !known.count(i.instance_id)) {
      ++orphans;
      ADD_FAILURE() << "[no orphan after one reconcile] live instance " << i.instance_id
                    << " of request '" << tag << "' (" << i.state << ")";
    }
  }
  for (const auto& [tag, n] : per_request) {
    EXPECT_FALSE(tag.empty()) << "[every instance carries its request's tag]";
    if (n > 2) {
      duplicates += n - 2;
      ADD_FAILURE() << "[no duplicates] request " << tag << " has " << n << " instances";
    }
  }
  // Each creating call took effect at AWS once per token (an Auto Scaling group once
  // per name): replays were answered from AWS's idempotency record.
  std::map<std::string, int> effective;
  for (const SeenCall& s : proxy_->seen()) {
    if (s.action != c.api.create_action || !s.forwarded || s.replayed) continue;
    ++effective[s.client_token.empty() ? s.Param("AutoScalingGroupName") : s.client_token];
  }
  for (const auto& [token, n] : effective) {
    EXPECT_EQ(n, 1) << "[each creating call took effect once] " << token;
  }
  if (c.acquire) {
    // The remaining machines are HostFactory's: returned, nothing is left.
    ReturnAndWait(known_machines, "the known machines are returned");
  }
  for (const Instance& i : cloud_->AllInstances()) {
    EXPECT_FALSE(Live(i)) << "[nothing runs once HostFactory returned its machines] "
                          << i.instance_id;
  }
  if (c.api.makes_group) {
    std::vector<std::string> groups = LiveGroups();
    EXPECT_TRUE(groups.empty()) << "[no group outlives its machines] e.g. " << groups.front();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "CRASH api=" << c.api.name << " point=" << CrashAt()
            << " crashes=" << crashes_ << " requests=" << requests.size()
            << " duplicates=" << duplicates << " orphans=" << orphans << " lost=" << lost
            << " seconds=" << seconds << "\n";
}

INSTANTIATE_TEST_SUITE_P(EveryStepEveryApi, HfCrashTest, ::testing::ValuesIn(AllCases()),
                         CaseName);

}  // namespace
}  // namespace orb::testing

namespace orb::testing {
namespace {

// The abandonment of a group launch whose replay is not confirmed either: the
// request stays open (settling it would forget the group the call may have made) and
// the next pass, with AWS answering again, deletes the group with its instances.
class HfAbandonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetUpCrashWorld(proxy_, cloud_, sb_);
  }

  void TearDown() override {
    if (HasFailure()) PrintCrashWorld(*sb_, *proxy_);
  }

  // The one request the store holds, as `orb requests list` reports it.
  json OnlyRequest() {
    OrbOutcome o = RunOrb({"requests", "list", "--format", "json"}, sb_->env(), sb_->root());
    EXPECT_EQ(o.code, 0) << o.err;
    json doc = json::parse(o.out, nullptr, false);
    if (doc.is_object() && doc.contains("requests")) doc = doc["requests"];
    EXPECT_TRUE(doc.is_array() && doc.size() == 1) << o.out;
    return doc.is_array() && doc.size() == 1 ? doc[0] : json();
  }

  void Check(const char* template_id, const char* create_action) {
    sb_->env()["ORB_CRASH_AT"] = "acquire.after_intent";
    HfCallResult r = sb_->Call(
        kRequestMachines, json{{"template", {{"templateId", template_id}, {"machineCount", 2}}}});
    sb_->env().erase("ORB_CRASH_AT");
    ASSERT_EQ(r.exit_code, 128 + 9) << r.Describe();

    // Every replay of the create call reaches AWS but its answer is lost.
    FaultPlan lost_answers;
    lost_answers.drop_after_fraction = 1.0;
    lost_answers.actions = {create_action};
    proxy_->SetPlan(lost_answers);
    // (The pass may end in error: the endpoint's circuit opens after the failures.)
    OrbOutcome first = RunOrb({"reconcile", "--format", "json"}, sb_->env(), sb_->root());
    json open = OnlyRequest();
    EXPECT_EQ(open.value("status", ""), "running")
        << "[an unconfirmed group launch keeps its request open] " << open.dump() << "\n"
        << first.out << first.err;
    const std::string log = sb_->LogTail(50);
    EXPECT_NE(log.find("not abandoned yet: its group-creating call is still unconfirmed"),
              std::string::npos)
        << "[the pass logs why it left the request] " << log;
    int forwarded = 0;
    for (const SeenCall& s : proxy_->seen()) forwarded += s.action == create_action && s.forwarded;
    EXPECT_GE(forwarded, 1) << "[the replay reached AWS]";

    // AWS answers again: the next pass settles the request and gives the group back.
    proxy_->SetPlan(FaultPlan{});
    OrbOutcome second = RunOrb({"reconcile", "--format", "json"}, sb_->env(), sb_->root());
    EXPECT_EQ(second.code, 0) << second.out << second.err;
    json done = OnlyRequest();
    EXPECT_EQ(done.value("status", ""), "complete_with_error") << done.dump();
    EXPECT_NE(done.value("message", "").find("abandoned"), std::string::npos) << done.dump();
    for (const Instance& i : cloud_->AllInstances()) {
      EXPECT_FALSE(Live(i)) << "[nothing of the abandoned request runs] " << i.instance_id;
    }
    for (const Fleet& f : cloud_->ec2().DescribeFleets({})) {
      EXPECT_TRUE(f.type == "instant" || f.state.rfind("deleted", 0) == 0)
          << "[no fleet outlives it] " << f.fleet_id << " " << f.state;
    }
    EXPECT_TRUE(cloud_->AutoScalingGroupNames().empty()) << "[no Auto Scaling group outlives it]";
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<MotoSide> cloud_;
  std::unique_ptr<HfSandbox> sb_;
};

TEST_F(HfAbandonTest, UnconfirmedAutoScalingReplayKeepsTheRequestUntilTheGroupIsKnown) {
  Check("Asg-Small", "CreateAutoScalingGroup");
}

TEST_F(HfAbandonTest, UnconfirmedEc2FleetReplayKeepsTheRequestUntilTheFleetIsKnown) {
  Check("Fleet-Request", "CreateFleet");
}

}  // namespace
}  // namespace orb::testing
