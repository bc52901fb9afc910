// HostFactory conformance: orb's five provider scripts driven exactly as IBM
// Symphony HostFactory drives a provider plugin (/work/shared/HOSTFACTORY.md):
// `<script> -f <fresh /tmp/hf_in_XXXXXX>`, a new process per call, HostFactory's
// environment, an unrelated current directory, stdout read as one JSON document,
// against moto (the AWS emulator), with a fault proxy in between for lost answers,
// crashes and cloud errors. Every failure names the rule it checks, and a failing
// test prints every call it made with its answer and orb's log.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hostfactory/hf_harness.h"
#include "provider/aws/sqs_client.h"
#include "support/fault_proxy.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Time between two polls. moto makes instances running at once, so requests settle
// on the first or second poll; HostFactory itself polls every ~30 s.
constexpr milliseconds kPollGap{200};

const std::set<std::string> kRequestStatuses = {"running", "complete", "complete_with_error"};
const std::set<std::string> kMachineResults = {"executing", "succeed", "fail"};

bool IsTerminal(const std::string& status) {
  return status == "complete" || status == "complete_with_error";
}

// The string at `key` of `j`, or "" when absent or not a string.
std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

std::set<std::string> MachineIds(const json& request) {
  std::set<std::string> ids;
  if (!request.contains("machines") || !request["machines"].is_array()) return ids;
  for (const json& m : request["machines"]) ids.insert(Str(m, "machineId"));
  return ids;
}

std::vector<std::string> MachineIdList(const json& request) {
  const std::set<std::string> ids = MachineIds(request);
  return std::vector<std::string>(ids.begin(), ids.end());
}

std::set<std::string> InstanceIds(const std::vector<Instance>& instances) {
  std::set<std::string> ids;
  for (const Instance& i : instances) ids.insert(i.instance_id);
  return ids;
}

std::string Joined(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& x : s) out += (out.empty() ? "" : ", ") + x;
  return "{" + out + "}";
}

// The machines of a status answer as requestReturnMachines / getReturnRequests input.
json Refs(const json& request) {
  json refs = json::array();
  for (const json& m : request["machines"]) {
    refs.push_back({{"name", Str(m, "name")}, {"machineId", Str(m, "machineId")}});
  }
  return refs;
}

json RequestInput(const std::string& template_id, const json& count) {
  return {{"template", {{"templateId", template_id}, {"machineCount", count}}}};
}

json StatusInput(const std::vector<std::string>& ids) {
  json list = json::array();
  for (const std::string& id : ids) list.push_back({{"requestId", id}});
  return {{"requests", list}};
}

// Waits until `done()` holds, checking every 10 ms, for at most `limit`.
bool WaitFor(const std::function<bool()>& done, milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// Calls of `action` the proxy saw; with `forwarded_only`, those that reached moto.
int CountCalls(const FaultProxy& proxy, const std::string& action, bool forwarded_only) {
  int n = 0;
  for (const SeenCall& c : proxy.seen()) {
    if (c.action == action && (!forwarded_only || c.forwarded)) ++n;
  }
  return n;
}

std::set<std::string> Tokens(const FaultProxy& proxy, const std::string& action) {
  std::set<std::string> tokens;
  for (const SeenCall& c : proxy.seen()) {
    if (c.action == action) tokens.insert(c.client_token);
  }
  return tokens;
}

// What the suite remembers across getRequestStatus answers, for the rules that span
// polls: terminal statuses and results are sticky, launchtime and name never change.
struct StatusBook {
  bool check_sticky = true;  // off for answers of concurrent calls (their order is unknown)
  std::map<std::string, json> terminal;         // requestId -> its first terminal report
  std::map<std::string, long long> launchtime;  // machineId -> launchtime first seen
  std::map<std::string, std::string> name;      // machineId -> first non-empty name
};

// Checks one getRequestStatus answer against every per-answer rule of the contract
// and the book's cross-poll rules. Returns the reported requests by id.
std::map<std::string, json> CheckStatusAnswer(const HfCallResult& r,
                                              const std::vector<std::string>& asked,
                                              StatusBook& book) {
  std::map<std::string, json> by_id;
  SCOPED_TRACE(r.Describe());
  if (std::string why = CheckWireBasics(r); !why.empty()) {
    ADD_FAILURE() << "[wire: stdout is one JSON document] " << why;
    return by_id;
  }
  if (r.exit_code != 0) {
    ADD_FAILURE() << "[getRequestStatus exits 0] observed exit " << r.exit_code;
    return by_id;
  }
  if (!r.doc.contains("requests") || !r.doc["requests"].is_array()) {
    ADD_FAILURE() << "[getRequestStatus output] expected {\"requests\": [...]}";
    return by_id;
  }
  for (const json& q : r.doc["requests"]) {
    if (!q.is_object() || !q.contains("requestId") || !q["requestId"].is_string()) {
      ADD_FAILURE() << "[request object has a string requestId] got " << q.dump();
      continue;
    }
    const std::string id = q["requestId"];
    if (by_id.count(id)) ADD_FAILURE() << "[each asked request reported once] " << id << " twice";
    by_id[id] = q;
    const std::string status = Str(q, "status");
    EXPECT_TRUE(kRequestStatuses.count(status))
        << "[request status is running|complete|complete_with_error] " << id << ": " << q.dump();
    EXPECT_TRUE(q.contains("message") && q["message"].is_string())
        << "[request has a string message] " << id << ": " << q.dump();
    if (!q.contains("machines") || !q["machines"].is_array()) {
      ADD_FAILURE() << "[request has a machines list] " << id << ": " << q.dump();
      continue;
    }
    const bool acquire = id.rfind("req-", 0) == 0;
    std::set<std::string> names, ids;
    bool executing = false;
    for (const json& m : q["machines"]) {
      const std::string mid = Str(m, "machineId");
      for (const char* key : {"machineId", "name", "result", "status", "privateIpAddress",
                              "publicIpAddress", "message"}) {
        EXPECT_TRUE(m.contains(key) && m[key].is_string())
            << "[machine field " << key << " is a string] " << id << ": " << m.dump();
      }
      EXPECT_FALSE(mid.empty()) << "[machine has a machineId] " << id << ": " << m.dump();
      const std::string result = Str(m, "result");
      EXPECT_TRUE(kMachineResults.count(result))
          << "[machine result is executing|succeed|fail] " << id << ": " << m.dump();
      if (!m.contains("launchtime") || !m["launchtime"].is_number_integer()) {
        ADD_FAILURE() << "[launchtime is integer epoch seconds] " << id << ": " << m.dump();
      } else {
        const long long lt = m["launchtime"].get<long long>();
        auto [it, fresh] = book.launchtime.emplace(mid, lt);
        EXPECT_EQ(it->second, lt) << "[launchtime never changes] machine " << mid << ": first seen "
                                  << it->second << ", now " << lt;
      }
      const std::string name = Str(m, "name");
      if (acquire && result == "succeed") {
        EXPECT_FALSE(name.empty()) << "[succeed only with a name] " << id << ": " << m.dump();
        EXPECT_FALSE(Str(m, "privateIpAddress").empty())
            << "[succeed only with a privateIpAddress] " << id << ": " << m.dump();
      }
      if (result == "fail") {
        EXPECT_FALSE(Str(m, "message").empty())
            << "[fail carries a non-empty message] " << id << ": " << m.dump();
      }
      if (result == "executing") executing = true;
      if (!name.empty()) {
        EXPECT_TRUE(names.insert(name).second)
            << "[names unique within a request] " << id << ": name " << name << " twice";
        auto [it, fresh] = book.name.emplace(mid, name);
        EXPECT_EQ(it->second, name) << "[a machine's name is stable] " << mid;
      }
      EXPECT_TRUE(ids.insert(mid).second)
          << "[machine listed once per request] " << id << ": " << mid << " twice";
    }
    if (IsTerminal(status)) {
      EXPECT_FALSE(executing) << "[never terminal while a machine is still provisioning] " << id
                              << " is " << status << " with an executing machine: " << q.dump();
    }
    if (!book.check_sticky) continue;
    auto seen = book.terminal.find(id);
    if (seen != book.terminal.end()) {
      const json& before = seen->second;
      EXPECT_EQ(Str(before, "status"), status) << "[terminal statuses are sticky] " << id << " was "
                                               << Str(before, "status") << ", now " << status;
      EXPECT_EQ(MachineIds(before), MachineIds(q))
          << "[terminal requests keep their machine set] " << id << " had "
          << Joined(MachineIds(before)) << ", now " << Joined(MachineIds(q));
      if (acquire) {
        std::map<std::string, std::string> was;
        for (const json& m : before["machines"]) was[Str(m, "machineId")] = Str(m, "result");
        for (const json& m : q["machines"]) {
          auto w = was.find(Str(m, "machineId"));
          if (w != was.end()) {
            EXPECT_EQ(w->second, Str(m, "result"))
                << "[terminal results are sticky (design.md)] " << id << " machine " << w->first
                << " was " << w->second << ", now " << Str(m, "result");
          }
        }
      }
    } else if (IsTerminal(status)) {
      book.terminal[id] = q;
    }
  }
  for (const std::string& id : asked) {
    EXPECT_TRUE(by_id.count(id)) << "[every asked request is reported] " << id << " missing";
  }
  EXPECT_EQ(by_id.size(), asked.size()) << "[the answer lists exactly the asked requests]";
  return by_id;
}

// Checks requestMachines / requestReturnMachines output; returns the request id
// ("" after a failure).
std::string CheckCreated(const HfCallResult& r, const std::string& kind) {
  SCOPED_TRACE(r.Describe());
  if (std::string why = CheckWireBasics(r); !why.empty()) {
    ADD_FAILURE() << "[wire: stdout is one JSON document] " << why;
    return "";
  }
  EXPECT_EQ(r.exit_code, 0) << "[" << r.script << " exits 0]";
  EXPECT_TRUE(r.doc.contains("message") && r.doc["message"].is_string())
      << "[" << r.script << " output has a string message]";
  const std::string id = Str(r.doc, "requestId");
  static const std::regex kReq(
      "^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  static const std::regex kRet("^ret-[A-Za-z0-9_-]+$");
  if (kind == "req") {
    EXPECT_TRUE(std::regex_match(id, kReq)) << "[requestId is req-<uuid>] got '" << id << "'";
  } else {
    EXPECT_TRUE(std::regex_match(id, kRet)) << "[return requestId is ret-...] got '" << id << "'";
  }
  return r.exit_code == 0 ? id : "";
}

// Checks a failed call: non-zero exit (1), stdout one JSON object with a non-empty
// message.
void CheckFailure(const HfCallResult& r, const std::string& rule) {
  SCOPED_TRACE(r.Describe());
  if (std::string why = CheckWireBasics(r); !why.empty()) {
    ADD_FAILURE() << "[" << rule << "] [failures still answer one JSON object] " << why;
    return;
  }
  EXPECT_EQ(r.exit_code, 1) << "[" << rule << "] [failure exits non-zero (1)]";
  EXPECT_FALSE(Str(r.doc, "message").empty())
      << "[" << rule << "] [failure output has a non-empty message]";
}

class HfConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MotoServer& moto = MotoServer::Shared();
    moto.Reset();
    moto_endpoint_ = moto.endpoint();
    cloud_ = std::make_unique<MotoSide>(moto_endpoint_);
    image_ = cloud_->ImageId();
    subnet_ = cloud_->SubnetId();
    templates_ = SuiteTemplates(image_, subnet_);
  }

  void TearDown() override {
    for (auto& sb : sandboxes_) CheckHygiene(*sb);
    // HF_CONFORMANCE_VERBOSE=1 prints the calls of passing tests too.
    const char* verbose = std::getenv("HF_CONFORMANCE_VERBOSE");
    if (HasFailure() || (verbose != nullptr && std::string(verbose) == "1")) {
      for (auto& sb : sandboxes_) {
        std::vector<std::string> calls = sb->transcript();
        std::cout << "==== " << calls.size() << " HostFactory call(s) of this test, in "
                  << sb->root() << "\n";
        for (const std::string& c : calls) std::cout << c << "\n";
        std::cout << "==== orb's logs\n" << sb->LogTail() << "====\n";
      }
    }
    sandboxes_.clear();
  }

  // A provider instance using `endpoint` (moto when ""), with the suite's config and
  // templates.
  HfSandbox& NewSandbox(const std::string& endpoint = "", HfSandboxOptions options = {}) {
    auto sb = std::make_unique<HfSandbox>(endpoint.empty() ? moto_endpoint_ : endpoint, options);
    sb->WriteConfig({{"AWS_INSTANCE_PENDING_TIMEOUT_SEC", 600}});
    sb->WriteTemplates(templates_);
    sandboxes_.push_back(std::move(sb));
    return *sandboxes_.back();
  }

  // Rules every test keeps, whatever it did.
  void CheckHygiene(HfSandbox& sb) {
    std::error_code ec;
    std::vector<std::string> in_cwd;
    for (const auto& e : fs::directory_iterator(sb.cwd_dir(), ec)) {
      in_cwd.push_back(e.path().filename().string());
    }
    EXPECT_TRUE(in_cwd.empty()) << "[the current directory is unspecified: write nothing there] "
                                << "found " << in_cwd.size() << " entries, e.g. "
                                << (in_cwd.empty() ? "" : in_cwd.front());
    for (const auto& e : fs::directory_iterator(sb.conf_dir(), ec)) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(name == sb.options().provider_name + "prov_config.json" ||
                  name == sb.options().provider_name + "prov_templates.json" ||
                  name == "orb.yaml")  // the three files the harness writes
          << "[orb writes nothing into the provider's conf dir] found " << e.path();
    }
    const std::string secret = HfSandbox::SecretKey();
    for (auto it = fs::recursive_directory_iterator(sb.root(), ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      if (name == "hosts.json" || name == "requests.json") {
        ADD_FAILURE() << "[never write hosts.json/requests.json (LSF's ebrokerd owns them)] "
                      << it->path();
      }
      if (!it->is_regular_file(ec) || it->path().string().find("/conf/") != std::string::npos) {
        continue;
      }
      std::ifstream in(it->path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      EXPECT_EQ(text.str().find(secret), std::string::npos)
          << "[secrets never in logs or files] the secret key is in " << it->path();
    }
    for (const std::string& call : sb.transcript()) {
      EXPECT_EQ(call.find(secret), std::string::npos) << "[secrets never on stdout/stderr] in:\n"
                                                      << call;
    }
  }

  std::string RequestMachines(HfSandbox& sb, const std::string& template_id, int count) {
    return CheckCreated(sb.Call(kRequestMachines, RequestInput(template_id, count)), "req");
  }

  std::string ReturnMachines(HfSandbox& sb, const json& machines) {
    return CheckCreated(sb.Call(kRequestReturnMachines, json{{"machines", machines}}), "ret");
  }

  // One checked getRequestStatus call.
  std::map<std::string, json> Status(HfSandbox& sb, const std::vector<std::string>& ids,
                                     StatusBook& book) {
    return CheckStatusAnswer(sb.Call(kGetRequestStatus, StatusInput(ids)), ids, book);
  }

  // Polls until every request in `ids` is terminal (failing after `limit`); returns
  // the last answer.
  std::map<std::string, json> PollUntilTerminal(HfSandbox& sb, const std::vector<std::string>& ids,
                                                StatusBook& book, seconds limit = seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::map<std::string, json> last;
    int polls = 0;
    while (true) {
      last = Status(sb, ids, book);
      ++polls;
      bool all = last.size() == ids.size();
      for (const auto& [id, q] : last) all = all && IsTerminal(Str(q, "status"));
      if (all) return last;
      if (::testing::Test::HasFatalFailure() || std::chrono::steady_clock::now() > deadline) {
        std::string states;
        for (const auto& [id, q] : last) states += " " + id + "=" + Str(q, "status");
        ADD_FAILURE() << "[requests settle] not terminal after " << polls << " polls ("
                      << limit.count() << " s):" << states;
        return last;
      }
      std::this_thread::sleep_for(kPollGap);
    }
  }

  // Polls `times` more times: the book checks that nothing terminal changes.
  void ConfirmSticky(HfSandbox& sb, const std::vector<std::string>& ids, StatusBook& book,
                     int times = 3) {
    for (int i = 0; i < times; ++i) Status(sb, ids, book);
  }

  // Requests `count` machines of `template_id` and polls them to a terminal status;
  // returns the request's final report (null after a failure).
  json Acquire(HfSandbox& sb, StatusBook& book, const std::string& template_id, int count,
               std::string* id_out = nullptr) {
    const std::string id = RequestMachines(sb, template_id, count);
    if (id_out) *id_out = id;
    if (id.empty()) return nullptr;
    auto final = PollUntilTerminal(sb, {id}, book);
    return final.count(id) ? final[id] : json();
  }

  // A cloud group's cycle: acquires 3 units of `template_id` (complete, every
  // instance the cloud launched reported), runs `between` with the request id,
  // returns every machine and checks each instance is terminated
  // (`terminated_rule` names that rule in failures).
  void AcquireAndReturnThree(HfSandbox& sb, const std::string& template_id,
                             const std::string& terminated_rule,
                             const std::function<void(const std::string&)>& between = {}) {
    StatusBook book;
    std::string req;
    json q = Acquire(sb, book, template_id, 3, &req);
    ASSERT_TRUE(q.is_object());
    EXPECT_EQ(Str(q, "status"), "complete");
    ASSERT_EQ(q["machines"].size(), 3u) << q.dump();
    EXPECT_EQ(InstanceIds(cloud_->AllInstances()), MachineIds(q))
        << "[every instance the cloud launched is reported: no orphans]";
    if (between) between(req);
    ConfirmSticky(sb, {req}, book, 1);

    const std::string ret = ReturnMachines(sb, Refs(q));
    ASSERT_FALSE(ret.empty());
    auto final = PollUntilTerminal(sb, {ret}, book);
    EXPECT_EQ(Str(final[ret], "status"), "complete");
    for (const Instance& i : cloud_->AllInstances()) {
      EXPECT_EQ(i.state, "terminated") << "[" << terminated_rule << "] " << i.instance_id;
    }
  }

  // The getReturnRequests hosts of `r` as "name|machineId" -> gracePeriod.
  std::map<std::string, json> ReturnCandidates(const HfCallResult& r) {
    std::map<std::string, json> out;
    SCOPED_TRACE(r.Describe());
    if (std::string why = CheckWireBasics(r); !why.empty()) {
      ADD_FAILURE() << "[wire: stdout is one JSON document] " << why;
      return out;
    }
    EXPECT_EQ(r.exit_code, 0) << "[getReturnRequests exits 0]";
    EXPECT_EQ(Str(r.doc, "status"), "complete") << "[getReturnRequests status is complete]";
    EXPECT_TRUE(r.doc.contains("message") && r.doc["message"].is_string())
        << "[getReturnRequests has a string message]";
    if (!r.doc.contains("requests") || !r.doc["requests"].is_array()) {
      ADD_FAILURE() << "[getReturnRequests output has a requests list]";
      return out;
    }
    for (const json& h : r.doc["requests"]) {
      EXPECT_TRUE(h.contains("machine") && h["machine"].is_string()) << h.dump();
      EXPECT_TRUE(h.contains("machineId") && h["machineId"].is_string()) << h.dump();
      EXPECT_TRUE(h.contains("gracePeriod") && h["gracePeriod"].is_number_integer())
          << "[gracePeriod is an integer] " << h.dump();
      out[Str(h, "machine") + "|" + Str(h, "machineId")] = h.value("gracePeriod", json());
    }
    return out;
  }

  std::string moto_endpoint_;
  std::unique_ptr<MotoSide> cloud_;
  std::string image_, subnet_;
  json templates_;
  std::vector<std::unique_ptr<HfSandbox>> sandboxes_;
};

// --- getAvailableTemplates ----------------------------------------------------

// One template of getAvailableTemplates output has the shape HostFactory reads.
void CheckTemplateShape(const json& t) {
  static const std::regex kId("^[A-Za-z0-9_-]{1,64}$");
  const std::string id = Str(t, "templateId");
  EXPECT_TRUE(std::regex_match(id, kId)) << "[templateId is [A-Za-z0-9_-]{1,64}] " << t.dump();
  EXPECT_TRUE(t.contains("maxNumber") && t["maxNumber"].is_number_integer() &&
              t["maxNumber"].get<long long>() >= -1)
      << "[maxNumber is an integer >= -1] " << t.dump();
  if (!t.contains("attributes") || !t["attributes"].is_object()) {
    ADD_FAILURE() << "[template has attributes] " << t.dump();
    return;
  }
  for (const char* required : {"type", "ncpus", "nram"}) {
    EXPECT_TRUE(t["attributes"].contains(required))
        << "[attribute " << required << " is required] " << id << ": " << t.dump();
  }
  for (const auto& [name, a] : t["attributes"].items()) {
    const bool pair = a.is_array() && a.size() == 2 && a[0].is_string() && a[1].is_string();
    EXPECT_TRUE(pair) << "[attributes are [Type, \"value\"]] " << id << "." << name << " = "
                      << a.dump();
    if (!pair) continue;
    const std::string type = a[0];
    EXPECT_TRUE(type == "String" || type == "Numeric" || type == "Boolean")
        << "[attribute type is String|Numeric|Boolean] " << id << "." << name;
    if (type == "Numeric") {
      static const std::regex kNumber("^-?[0-9]+(\\.[0-9]+)?$");
      EXPECT_TRUE(std::regex_match(a[1].get<std::string>(), kNumber))
          << "[Numeric attribute values are numbers] " << id << "." << name << " = " << a.dump();
    }
  }
}

TEST_F(HfConformanceTest, GetAvailableTemplatesListsTemplatesWithAttributes) {
  HfSandbox& sb = NewSandbox();
  HfCallResult r = sb.Call(kGetAvailableTemplates, "{}");
  SCOPED_TRACE(r.Describe());
  ASSERT_EQ(CheckWireBasics(r), "");
  ASSERT_EQ(r.exit_code, 0) << "[getAvailableTemplates exits 0]";
  EXPECT_TRUE(r.doc.contains("message") && r.doc["message"].is_string())
      << "[getAvailableTemplates output has a message]";
  ASSERT_TRUE(r.doc.contains("templates") && r.doc["templates"].is_array());
  std::map<std::string, json> by_id;
  for (const json& t : r.doc["templates"]) {
    CheckTemplateShape(t);
    by_id[Str(t, "templateId")] = t;
  }
  std::set<std::string> ids;
  for (const auto& [id, t] : by_id) ids.insert(id);
  EXPECT_EQ(ids, (std::set<std::string>{"OnDemand-Micro", "Weighted-Medium", "Fleet-Instant",
                                        "Fleet-Request", "SpotFleet-Maintain", "Asg-Small"}))
      << "[every template of the file is listed]";
  auto attr = [&](const std::string& id, const std::string& name) {
    return by_id[id]["attributes"].value(name, json());
  };
  // Derived from the instance type.
  EXPECT_EQ(attr("OnDemand-Micro", "type"), json::array({"String", "X86_64"}))
      << "[missing attributes derived from the instance type]";
  EXPECT_EQ(attr("OnDemand-Micro", "ncpus"), json::array({"Numeric", "2"}))
      << "[ncpus derived: t3.micro has 2 vCPUs]";
  EXPECT_EQ(attr("OnDemand-Micro", "nram"), json::array({"Numeric", "1024"}))
      << "[nram derived in MiB: t3.micro has 1024]";
  // Written by the operator: kept as written.
  EXPECT_EQ(attr("Weighted-Medium", "nram"), json::array({"Numeric", "3900"}))
      << "[attributes in the templates file are the operator's word and are kept]";
  EXPECT_EQ(attr("Weighted-Medium", "rank"), json::array({"Numeric", "7"}))
      << "[attributes in the templates file are kept]";
  // Several types: never announced bigger than the smallest.
  EXPECT_EQ(attr("Fleet-Instant", "nram"), json::array({"Numeric", "1024"}))
      << "[multi-type templates are not given the sizes of a bigger type]";
  // Every other key passes through.
  for (const json& t : templates_["templates"]) {
    const std::string id = t["templateId"];
    ASSERT_TRUE(by_id.count(id));
    EXPECT_EQ(by_id[id]["maxNumber"], t["maxNumber"]) << "[maxNumber as written] " << id;
    for (const char* key : {"imageId", "subnetId", "vmType", "vmTypes", "instanceTags"}) {
      if (!t.contains(key)) continue;
      EXPECT_EQ(by_id[id].value(key, json()), t[key])
          << "[provider keys are passed through] " << id << "." << key;
    }
  }
}

TEST_F(HfConformanceTest, GetAvailableTemplatesFollowsTheFileAndFailsWithoutIt) {
  HfSandbox& sb = NewSandbox();
  // Changes are picked up on the next call.
  json changed = templates_;
  changed["templates"][0]["maxNumber"] = 12;
  json added = changed["templates"][0];
  added["templateId"] = "Added-Later";
  changed["templates"].push_back(added);
  sb.WriteTemplates(changed);
  HfCallResult r = sb.Call(kGetAvailableTemplates, "{}");
  {
    SCOPED_TRACE(r.Describe());
    ASSERT_EQ(CheckWireBasics(r), "");
    ASSERT_EQ(r.exit_code, 0);
    std::map<std::string, json> by_id;
    for (const json& t : r.doc["templates"]) by_id[Str(t, "templateId")] = t;
    EXPECT_TRUE(by_id.count("Added-Later")) << "[templates file changes are picked up]";
    EXPECT_EQ(by_id["OnDemand-Micro"].value("maxNumber", json()), 12)
        << "[templates file changes are picked up]";
  }
  // Missing, corrupt, or without a template: a failure HostFactory can read.
  fs::remove(sb.templates_path());
  CheckFailure(sb.Call(kGetAvailableTemplates, "{}"), "missing templates file");
  sb.WriteTemplatesText("{\"templates\": [\n  {\"templateId\": \"OnDemand-Micro\",\n");
  r = sb.Call(kGetAvailableTemplates, "{}");
  CheckFailure(r, "corrupt templates file");
  EXPECT_NE(Str(r.doc, "message").find("prov_templates.json"), std::string::npos)
      << "[the message names the corrupt file]\n"
      << r.Describe();
  sb.WriteTemplates(json{{"templates", json::array()}});
  CheckFailure(sb.Call(kGetAvailableTemplates, "{}"), "never return an empty template list");
  // Repaired: works again.
  sb.WriteTemplates(templates_);
  r = sb.Call(kGetAvailableTemplates, "{}");
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(CheckWireBasics(r), "") << r.Describe();
}

// --- requestMachines and getRequestStatus: the main job ------------------------

TEST_F(HfConformanceTest, RunInstancesRequestCompletesAndIsReturned) {
  HfSandbox& sb = NewSandbox();
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "OnDemand-Micro", 2, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete") << "[complete when the requested count succeeded]";
  ASSERT_EQ(q["machines"].size(), 2u) << q.dump();

  // The cloud holds exactly what the answer reports.
  std::vector<Instance> launched = cloud_->InstancesOfRequest(req);
  EXPECT_EQ(launched.size(), 2u) << "[one launch per request: no duplicate instances]";
  EXPECT_EQ(InstanceIds(launched), MachineIds(q)) << "[every instance reported: no orphans]";
  std::map<std::string, Instance> by_id = cloud_->InstancesById(MachineIdList(q));
  const long long now = static_cast<long long>(::time(nullptr));
  for (const json& m : q["machines"]) {
    SCOPED_TRACE(m.dump());
    EXPECT_EQ(Str(m, "result"), "succeed");
    EXPECT_EQ(Str(m, "status"), "running");
    auto it = by_id.find(Str(m, "machineId"));
    ASSERT_NE(it, by_id.end());
    const Instance& i = it->second;
    EXPECT_EQ(Str(m, "name"), i.private_dns_name)
        << "[name is the private DNS name the host registers with]";
    EXPECT_EQ(Str(m, "privateIpAddress"), i.private_ip);
    const long long lt = m.value("launchtime", 0LL);
    EXPECT_LE(std::llabs(lt - static_cast<long long>(i.launch_time)), 60)
        << "[launchtime is the launch's epoch seconds] moto says " << i.launch_time;
    EXPECT_LE(std::llabs(lt - now), 600) << "[launchtime is epoch seconds, not ms]";
    EXPECT_EQ(TagValue(i.tags, "team"), "hf-conformance") << "[instanceTags are applied]";
    EXPECT_EQ(TagValue(i.tags, kRequestIdTagKey), req) << "[instances carry orb:request-id]";
  }
  ConfirmSticky(sb, {req}, book);
  EXPECT_FALSE(fs::is_empty(sb.log_dir())) << "[logs go to HF_PROVIDER_LOGDIR]";

  // Give both back.
  const std::string ret = ReturnMachines(sb, Refs(q));
  ASSERT_FALSE(ret.empty());
  auto final = PollUntilTerminal(sb, {ret}, book);
  ASSERT_TRUE(final.count(ret));
  const json& rq = final[ret];
  EXPECT_EQ(Str(rq, "status"), "complete") << "[a return request completes when all are gone]";
  EXPECT_EQ(MachineIds(rq), MachineIds(q)) << "[the return request lists the returned machines]";
  for (const json& m : rq["machines"]) {
    EXPECT_EQ(Str(m, "result"), "succeed")
        << "[returned machines succeed once terminated] " << m.dump();
  }
  for (const auto& [id, i] : cloud_->InstancesById(MachineIdList(q))) {
    EXPECT_EQ(i.state, "terminated") << "[returned instances are terminated in the cloud] " << id;
  }
  // Both requests keep their terminal status and machine sets.
  ConfirmSticky(sb, {req, ret}, book);
}

TEST_F(HfConformanceTest, WeightedTemplateCountsCapacityUnits) {
  HfSandbox& sb = NewSandbox();
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Weighted-Medium", 4, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete");
  EXPECT_EQ(q["machines"].size(), 2u) << "[4 units of a weight-2 type are 2 machines] " << q.dump();
  std::vector<Instance> launched = cloud_->InstancesOfRequest(req);
  EXPECT_EQ(launched.size(), 2u) << "[4 units of t3.medium (weight 2) launch 2 instances]";
  for (const Instance& i : launched) EXPECT_EQ(i.instance_type, "t3.medium");
  EXPECT_EQ(InstanceIds(launched), MachineIds(q)) << "[no orphans]";
  ConfirmSticky(sb, {req}, book, 1);
}

// moto's CreateFleet (instant) launches every instance but lists only the first one
// of each pool in its answer (AWS lists all), so the fixture's fleet has weight 2 per
// type and the test asks 2 units: one instance, whichever pool moto picks.
TEST_F(HfConformanceTest, Ec2FleetInstantCompletesAndIsReturned) {
  HfSandbox& sb = NewSandbox();
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Fleet-Instant", 2, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete") << "[2 units of weight-2 types: complete with one]";
  ASSERT_EQ(q["machines"].size(), 1u) << "[counts are capacity units] " << q.dump();
  std::vector<Instance> all = cloud_->AllInstances();
  EXPECT_EQ(InstanceIds(all), MachineIds(q)) << "[every fleet instance reported: no orphans]";
  for (const Instance& i : all) {
    EXPECT_TRUE(i.instance_type == "t3.micro" || i.instance_type == "t3.small") << i.instance_type;
  }
  EXPECT_EQ(cloud_->InstancesOfRequest(req).size(), 1u)
      << "[fleet instances carry the tag orb:request-id]";
  ConfirmSticky(sb, {req}, book, 1);

  const std::string ret = ReturnMachines(sb, Refs(q));
  ASSERT_FALSE(ret.empty());
  auto final = PollUntilTerminal(sb, {ret}, book);
  EXPECT_EQ(Str(final[ret], "status"), "complete");
  for (const Instance& i : cloud_->AllInstances()) {
    EXPECT_EQ(i.state, "terminated")
        << "[returned fleet instances are terminated] " << i.instance_id;
  }
}

// An EC2 Fleet of type request per request: every instance it launched is reported
// (also those its own member list leaves out), and returning them all terminates
// them and deletes the emptied fleet.
TEST_F(HfConformanceTest, Ec2FleetRequestCompletesAndIsReturned) {
  HfSandbox& sb = NewSandbox();
  AcquireAndReturnThree(sb, "Fleet-Request", "returned fleet instances are terminated");
  if (HasFatalFailure()) return;
  for (const Fleet& f : cloud_->ec2().DescribeFleets({})) {
    EXPECT_EQ(f.state.rfind("deleted", 0), 0u) << "[an emptied fleet is deleted] " << f.state;
  }
}

// An EC2 Fleet with priorities and an on-demand share: 3 units of a spot template at
// 34 % on demand ask 1 unit on demand and 2 spot, with prioritized strategies; the
// fleet carries the template's context. The full cycle runs against moto.
TEST_F(HfConformanceTest, Ec2FleetWithPrioritiesAndOnDemandShareCompletesAndIsReturned) {
  templates_["templates"].push_back({{"templateId", "Fleet-Priorities"},
                                     {"maxNumber", 10},
                                     {"providerApi", "EC2Fleet"},
                                     {"fleetType", "request"},
                                     {"priceType", "spot"},
                                     {"vmTypes", {{"t3.micro", 1}, {"t3.small", 1}}},
                                     {"vmTypesPriority", {{"t3.small", 0}, {"t3.micro", 1}}},
                                     {"percentOnDemand", 34},
                                     {"context", "orb-conformance"},
                                     {"imageId", image_},
                                     {"subnetId", subnet_}});
  HfSandbox& sb = NewSandbox();
  AcquireAndReturnThree(sb, "Fleet-Priorities", "returned fleet instances are terminated",
                        [&](const std::string& req) {
                          std::vector<Fleet> fleets = cloud_->ec2().DescribeFleets({});
                          ASSERT_EQ(fleets.size(), 1u);
                          const TargetCapacitySpec& target = fleets[0].target_capacity;
                          EXPECT_EQ(target.total, 3);
                          EXPECT_EQ(target.on_demand.value_or(-1), 1)
                              << "[floor(3 x 34 / 100) = 1 unit on demand]";
                          EXPECT_EQ(target.spot.value_or(-1), 2) << "[the rest is spot]";
                          EXPECT_EQ(target.default_target_capacity_type, "spot");
                          EXPECT_EQ(cloud_->InstancesOfRequest(req).size(), 3u);
                        });
  if (HasFatalFailure()) return;
  for (const Fleet& f : cloud_->ec2().DescribeFleets({})) {
    EXPECT_EQ(f.state.rfind("deleted", 0), 0u) << "[an emptied fleet is deleted] " << f.state;
  }
}

// A maintain Spot Fleet per request: its instances become the request's machines;
// returning them lowers the fleet's target (so it does not replace them),
// terminates them and cancels the emptied fleet.
TEST_F(HfConformanceTest, SpotFleetCompletesAndIsReturned) {
  HfSandbox& sb = NewSandbox();
  AcquireAndReturnThree(sb, "SpotFleet-Maintain",
                        "returned fleet instances are terminated, not replaced");
  if (HasFatalFailure()) return;
  for (const SpotFleetRequest& r : cloud_->ec2().DescribeSpotFleetRequests({})) {
    EXPECT_EQ(r.state.rfind("cancelled", 0), 0u) << "[an emptied fleet is cancelled] " << r.state;
    EXPECT_EQ(r.target_capacity, 0) << "[the target was lowered before terminating]";
  }
}

// One Auto Scaling group per request: its members become the request's machines,
// and returning them lowers the group's capacity, terminates them and deletes the
// emptied group.
TEST_F(HfConformanceTest, AutoScalingGroupCompletesAndIsReturned) {
  HfSandbox& sb = NewSandbox();
  AcquireAndReturnThree(sb, "Asg-Small", "returned group members are terminated, not replaced",
                        [&](const std::string& req) {
                          EXPECT_EQ(cloud_->InstancesOfRequest(req).size(), 3u)
                              << "[group members carry the tag orb:request-id]";
                          EXPECT_EQ(cloud_->AutoScalingGroupNames(),
                                    std::vector<std::string>{"orb-" + req});
                        });
  if (HasFatalFailure()) return;
  EXPECT_TRUE(cloud_->AutoScalingGroupNames().empty()) << "[an emptied group is deleted]";
}

// maxNumber is a safety net over machines not yet returned: a request that would
// exceed it is refused with the numbers, and capacity given back frees room again.
TEST_F(HfConformanceTest, MaxNumberCountsMachinesInUseAndFreesThemOnReturn) {
  HfSandbox& sb = NewSandbox();
  StatusBook book;
  json first = Acquire(sb, book, "OnDemand-Micro", 6);  // maxNumber 10
  ASSERT_TRUE(first.is_object());
  HfCallResult refused = sb.Call(kRequestMachines, RequestInput("OnDemand-Micro", 5));
  CheckFailure(refused, "requestMachines over maxNumber");
  const std::string message = Str(refused.doc, "message");
  EXPECT_NE(message.find("at most 10"), std::string::npos) << message;
  EXPECT_NE(message.find("6 are in use"), std::string::npos) << message;
  EXPECT_EQ(cloud_->AllInstances().size(), 6u) << "[nothing launched for a refused request]";

  const std::string ret = ReturnMachines(sb, first["machines"]);
  ASSERT_FALSE(ret.empty());
  PollUntilTerminal(sb, {ret}, book);
  json second = Acquire(sb, book, "OnDemand-Micro", 10);
  ASSERT_TRUE(second.is_object()) << "[returned machines free their room under maxNumber]";
  EXPECT_EQ(Str(second, "status"), "complete");
}

TEST_F(HfConformanceTest, RequestMachinesRejectsBadRequestsAndLaunchesNothing) {
  HfSandbox& sb = NewSandbox();
  const std::vector<std::pair<std::string, json>> cases = {
      {"unknown template", RequestInput("No-Such-Template", 1)},
      {"machineCount 0", RequestInput("OnDemand-Micro", 0)},
      {"machineCount -1", RequestInput("OnDemand-Micro", -1)},
      {"machineCount over maxNumber (broker.h)", RequestInput("OnDemand-Micro", 11)},
      {"machineCount \"ten\"", RequestInput("OnDemand-Micro", "ten")},
      {"machineCount 2.5", RequestInput("OnDemand-Micro", 2.5)},
      {"no machineCount", json{{"template", {{"templateId", "OnDemand-Micro"}}}}},
      {"no templateId", json{{"template", {{"machineCount", 1}}}}},
      {"templateId a number", json{{"template", {{"templateId", 7}, {"machineCount", 1}}}}},
      {"template a string", json{{"template", "OnDemand-Micro"}}},
      {"no template", json::object()},
  };
  for (const auto& [what, input] : cases) {
    HfCallResult r = sb.Call(kRequestMachines, input);
    CheckFailure(r, "requestMachines: " + what);
    EXPECT_TRUE(cloud_->AllInstances().empty())
        << "[nothing launched for a rejected request] " << what << "\n"
        << r.Describe();
  }
  // Extra keys (LSF adds rc_account, userData) are tolerated.
  json lsf = RequestInput("OnDemand-Micro", 1);
  lsf["template"]["rc_account"] = "default";
  lsf["template"]["userData"] = json::object();
  lsf["rc_account"] = "default";
  const std::string req = CheckCreated(sb.Call(kRequestMachines, lsf), "req");
  ASSERT_FALSE(req.empty()) << "[extra input keys are tolerated]";
  StatusBook book;
  auto final = PollUntilTerminal(sb, {req}, book);
  EXPECT_EQ(Str(final[req], "status"), "complete");
  EXPECT_EQ(cloud_->AllInstances().size(), 1u);
}

TEST_F(HfConformanceTest, GetRequestStatusUnknownIdsSingleObjectAndMixedIds) {
  HfSandbox& sb = NewSandbox();
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "OnDemand-Micro", 2, &req);
  ASSERT_TRUE(q.is_object());

  // Unknown ids settle at once as complete_with_error with a message, and stay so.
  const std::string unknown_req = "req-00000000-0000-4000-8000-000000000000";
  const std::string unknown_ret = "ret-00000000-0000-4000-8000-000000000000";
  const std::string garbage = "not-a-request-id";
  for (int poll = 0; poll < 2; ++poll) {
    auto answer = Status(sb, {unknown_req, unknown_ret, garbage}, book);
    for (const std::string& id : {unknown_req, unknown_ret, garbage}) {
      EXPECT_EQ(Str(answer[id], "status"), "complete_with_error")
          << "[an unknown request id answers complete_with_error, never running] " << id << ": "
          << answer[id].dump();
      EXPECT_FALSE(Str(answer[id], "message").empty())
          << "[an unknown request id carries a message] " << id;
    }
  }

  // The documentation's single-object form.
  {
    HfCallResult r = sb.Call(kGetRequestStatus, json{{"requests", {{"requestId", req}}}});
    auto answer = CheckStatusAnswer(r, {req}, book);
    EXPECT_EQ(Str(answer[req], "status"), "complete") << "[a single request object is accepted]";
  }

  // An empty list answers an empty list.
  {
    HfCallResult r = sb.Call(kGetRequestStatus, json{{"requests", json::array()}});
    CheckStatusAnswer(r, {}, book);
  }

  // Create and return ids mixed in one call, with an unknown one.
  json first = json::array({Refs(q)[0]});
  const std::string ret = ReturnMachines(sb, first);
  ASSERT_FALSE(ret.empty());
  auto final = PollUntilTerminal(sb, {req, ret, unknown_req}, book);
  EXPECT_EQ(Str(final[req], "status"), "complete") << "[mixed ids: the create request]";
  EXPECT_EQ(Str(final[ret], "status"), "complete") << "[mixed ids: the return request]";
  EXPECT_EQ(MachineIds(final[ret]), std::set<std::string>{Str(first[0], "machineId")});
  EXPECT_EQ(Str(final[unknown_req], "status"), "complete_with_error");
  ConfirmSticky(sb, {ret, req, unknown_req}, book, 2);
}

// --- requestReturnMachines and getReturnRequests --------------------------------

TEST_F(HfConformanceTest, RequestReturnMachinesToleratesNameOnlyUnknownAndSingleObject) {
  HfSandbox& sb = NewSandbox();
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "OnDemand-Micro", 3, &req);
  ASSERT_TRUE(q.is_object());
  ASSERT_EQ(q["machines"].size(), 3u);
  const json a = q["machines"][0], b = q["machines"][1], c = q["machines"][2];

  // By name only.
  const std::string ret_a = ReturnMachines(sb, json::array({{{"name", Str(a, "name")}}}));
  // The documentation's single-object form.
  const std::string ret_b = CheckCreated(
      sb.Call(kRequestReturnMachines,
              json{{"machines", {{"name", Str(b, "name")}, {"machineId", Str(b, "machineId")}}}}),
      "ret");
  // By machineId only.
  const std::string ret_c = ReturnMachines(sb, json::array({{{"machineId", Str(c, "machineId")}}}));
  // Unknown to the broker and to the cloud.
  const std::string ret_unknown = ReturnMachines(
      sb, json::array(
              {{{"name", "ip-10-99-99-99.ec2.internal"}, {"machineId", "i-0123456789abcdef0"}}}));
  ASSERT_FALSE(ret_a.empty() || ret_b.empty() || ret_c.empty() || ret_unknown.empty());

  auto final = PollUntilTerminal(sb, {ret_a, ret_b, ret_c, ret_unknown}, book);
  for (const auto& [ret, m] :
       std::vector<std::pair<std::string, json>>{{ret_a, a}, {ret_b, b}, {ret_c, c}}) {
    SCOPED_TRACE(ret + " returns " + m.dump());
    EXPECT_EQ(Str(final[ret], "status"), "complete");
    ASSERT_EQ(final[ret]["machines"].size(), 1u) << final[ret].dump();
    const json& got = final[ret]["machines"][0];
    EXPECT_EQ(Str(got, "machineId"), Str(m, "machineId"))
        << "[a machine given by name only is resolved to its id]";
    EXPECT_EQ(Str(got, "name"), Str(m, "name")) << "[the return lists the host by its name]";
    EXPECT_EQ(Str(got, "result"), "succeed");
  }
  EXPECT_EQ(Str(final[ret_unknown], "status"), "complete")
      << "[a return of an unknown machine completes (it no longer exists)]";
  for (const json& m : final[ret_unknown]["machines"]) {
    EXPECT_EQ(Str(m, "result"), "succeed")
        << "[succeed also when the instance no longer exists] " << m.dump();
  }
  for (const Instance& i : cloud_->AllInstances()) {
    EXPECT_EQ(i.state, "terminated") << "[returned instances are terminated] " << i.instance_id;
  }
  // Returning what is already gone still answers a request id.
  const std::string again = ReturnMachines(
      sb, json::array({{{"name", Str(a, "name")}, {"machineId", Str(a, "machineId")}}}));
  ASSERT_FALSE(again.empty()) << "[returning a gone machine still answers a request id]";
  final = PollUntilTerminal(sb, {again}, book);
  EXPECT_EQ(Str(final[again], "status"), "complete");
  // HostFactory returns a host again when it never learned of the first return (a
  // call killed at its time limit): it waits until a return request it knows
  // reports that host, so the repeat must list it.
  EXPECT_EQ(MachineIds(final[again]), std::set<std::string>{Str(a, "machineId")})
      << "[a repeated return reports the host it names] " << final[again].dump();
  for (const json& m : final[again]["machines"]) {
    EXPECT_EQ(Str(m, "result"), "succeed") << "[the host is gone: succeed] " << m.dump();
  }
  ConfirmSticky(sb, {req, ret_a, ret_b, ret_c, ret_unknown, again}, book, 1);
}

TEST_F(HfConformanceTest, GetReturnRequestsListsHostsTakenBehindTheBrokersBack) {
  FaultProxy proxy(moto_endpoint_);  // no faults: it only records the calls
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "OnDemand-Micro", 3, &req);
  ASSERT_TRUE(q.is_object());
  ASSERT_EQ(q["machines"].size(), 3u);
  const json a = q["machines"][0], b = q["machines"][1], c = q["machines"][2];
  auto key = [](const json& m) { return Str(m, "name") + "|" + Str(m, "machineId"); };
  const json unknown = {{"name", "ip-10-99-99-98.ec2.internal"},
                        {"machineId", "i-0fedcba9876543210"}};

  // All healthy: nothing listed.
  auto listed = ReturnCandidates(sb.Call(kGetReturnRequests, json{{"machines", Refs(q)}}));
  EXPECT_TRUE(listed.empty()) << "[healthy hosts are not listed]";
  listed = ReturnCandidates(sb.Call(kGetReturnRequests, "{}"));
  EXPECT_TRUE(listed.empty()) << "[healthy hosts are not listed ({} input)]";

  // Behind the broker's back: a terminates, b stops.
  cloud_->Terminate({Str(a, "machineId")});
  cloud_->Stop({Str(b, "machineId")});

  proxy.ClearSeen();
  json input = Refs(q);
  input.push_back(unknown);
  listed = ReturnCandidates(sb.Call(kGetReturnRequests, json{{"machines", input}}));
  EXPECT_TRUE(listed.count(key(a))) << "[an instance terminated outside the broker is listed]";
  EXPECT_TRUE(listed.count(key(b))) << "[an instance stopped outside the broker is listed]";
  EXPECT_TRUE(listed.count(key(unknown)))
      << "[a host of the input that no longer exists is listed]";
  EXPECT_FALSE(listed.count(key(c))) << "[a healthy host is not listed]";
  if (listed.count(key(a))) {
    EXPECT_EQ(listed[key(a)], 0) << "[gracePeriod 0 when already gone]";
  }
  if (listed.count(key(b))) {
    EXPECT_EQ(listed[key(b)], 0) << "[gracePeriod 0 when stopped]";
  }

  listed = ReturnCandidates(sb.Call(kGetReturnRequests, "{}"));
  EXPECT_TRUE(listed.count(key(a))) << "[{} input: the broker's machines taken back are listed]";
  EXPECT_TRUE(listed.count(key(b))) << "[{} input: the broker's stopped machines are listed]";
  EXPECT_FALSE(listed.count(key(c))) << "[{} input: a healthy host is not listed]";
  if (listed.count(key(a))) {
    EXPECT_EQ(listed[key(a)], 0);
  }

  // Read-only: no call that changes the cloud, and the cloud unchanged.
  for (const SeenCall& call : proxy.seen()) {
    EXPECT_EQ(call.action.rfind("Describe", 0), 0u)
        << "[getReturnRequests is read-only] it called " << call.action;
  }
  auto now = cloud_->InstancesById({Str(b, "machineId"), Str(c, "machineId")});
  EXPECT_EQ(now[Str(c, "machineId")].state, "running") << "[getReturnRequests is read-only]";
  EXPECT_EQ(now[Str(b, "machineId")].state, "stopped") << "[getReturnRequests is read-only]";

  // HostFactory follows up by returning them; then they are no longer listed.
  const std::string ret = ReturnMachines(sb, json::array({Refs(q)[0], Refs(q)[1]}));
  ASSERT_FALSE(ret.empty());
  auto final = PollUntilTerminal(sb, {ret}, book);
  EXPECT_EQ(Str(final[ret], "status"), "complete");
  EXPECT_EQ(cloud_->InstancesById({Str(b, "machineId")})[Str(b, "machineId")].state, "terminated")
      << "[a returned stopped instance is terminated]";
  listed = ReturnCandidates(sb.Call(kGetReturnRequests, "{}"));
  EXPECT_FALSE(listed.count(key(a)) || listed.count(key(b)))
      << "[{} input: returned machines are no longer listed]";
  // What the cloud did after the request settled does not change its terminal report.
  ConfirmSticky(sb, {req, ret}, book, 1);
}

// A spot interruption notice (the spot request marked-for-termination, as AWS reports
// it two minutes before it acts; moto cannot, so the proxy answers
// DescribeSpotInstanceRequests as AWS documents it) lists the host with the seconds
// really left as its gracePeriod.
TEST_F(HfConformanceTest, GetReturnRequestsListsSpotInterruptionsWithTheSecondsLeft) {
  FaultProxy proxy(moto_endpoint_);
  templates_["templates"].push_back({{"templateId", "Spot-Micro"},
                                     {"maxNumber", 5},
                                     {"providerApi", "RunInstances"},
                                     {"priceType", "spot"},
                                     {"vmType", "t3.micro"},
                                     {"imageId", image_},
                                     {"subnetId", subnet_}});
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  StatusBook book;
  json spot = Acquire(sb, book, "Spot-Micro", 2);
  json ondemand = Acquire(sb, book, "OnDemand-Micro", 1);
  ASSERT_TRUE(spot.is_object() && ondemand.is_object());
  ASSERT_EQ(spot["machines"].size(), 2u);
  const json warned = spot["machines"][0], quiet = spot["machines"][1];
  auto key = [](const json& m) { return Str(m, "name") + "|" + Str(m, "machineId"); };

  // No notice: nothing listed.
  EXPECT_TRUE(ReturnCandidates(sb.Call(kGetReturnRequests, "{}")).empty())
      << "[healthy spot hosts are not listed]";

  // AWS gave the notice 30 s ago: 90 s are left.
  std::string answer = ReadWholeFile(fs::path(ORB_TEST_DATA_DIR) / "aws" /
                                     "describe_spot_instance_requests_marked.xml");
  ASSERT_FALSE(answer.empty());
  const std::time_t given = std::time(nullptr) - 30;
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", std::gmtime(&given));
  answer.replace(answer.find("${UPDATE_TIME}"), 14, when);
  answer.replace(answer.find("${INSTANCE_ID}"), 14, Str(warned, "machineId"));
  FaultPlan notice;
  notice.answers["DescribeSpotInstanceRequests"] = answer;
  proxy.SetPlan(notice);
  proxy.ClearSeen();
  for (const std::string& input : {std::string("{}"), json{{"machines", Refs(spot)}}.dump()}) {
    auto listed = ReturnCandidates(sb.Call(kGetReturnRequests, input));
    ASSERT_TRUE(listed.count(key(warned)))
        << "[a spot host with an interruption notice is listed] input " << input;
    const int grace = listed[key(warned)].get<int>();
    EXPECT_GE(grace, 80) << "[gracePeriod is the seconds really left (120 after the notice)]";
    EXPECT_LE(grace, 90) << "[gracePeriod is the seconds really left (120 after the notice)]";
    EXPECT_FALSE(listed.count(key(quiet))) << "[a spot host without notice is not listed]";
    EXPECT_FALSE(listed.count(key(ondemand["machines"][0])))
        << "[an on-demand host is not listed]";
  }
  int spot_calls = 0;
  for (const SeenCall& call : proxy.seen()) {
    EXPECT_EQ(call.action.rfind("Describe", 0), 0u)
        << "[getReturnRequests is read-only] it called " << call.action;
    if (call.action != "DescribeSpotInstanceRequests") continue;
    ++spot_calls;
    EXPECT_EQ(call.Param("Filter.1.Name"), "instance-id")
        << "[notices are read for the broker's spot machines only]";
  }
  EXPECT_EQ(spot_calls, 2) << "[one DescribeSpotInstanceRequests per call]";

  // Notices cannot be read (e.g. no IAM permission): the call still answers.
  FaultPlan refused;
  refused.refusals.push_back({"DescribeSpotInstanceRequests", "Filter.1.Name", "instance-id", 0,
                              403, "UnauthorizedOperation",
                              "You are not authorized to perform this operation."});
  proxy.SetPlan(refused);
  EXPECT_TRUE(ReturnCandidates(sb.Call(kGetReturnRequests, "{}")).empty())
      << "[unreadable notices never fail getReturnRequests]";
}

// An EventBridge event as the SQS queue receives it.
std::string Ec2Event(const std::string& detail_type, const std::string& instance_id,
                     std::time_t at) {
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&at));
  json detail = {{"instance-id", instance_id}};
  if (detail_type == "EC2 Spot Instance Interruption Warning") {
    detail["instance-action"] = "terminate";
  }
  return json{{"version", "0"},
              {"id", "7bf73129-1428-4cd3-a780-95db273d1602"},
              {"detail-type", detail_type},
              {"source", "aws.ec2"},
              {"account", "123456789012"},
              {"time", when},
              {"region", "us-east-1"},
              {"resources", {"arn:aws:ec2:us-east-1a:instance/" + instance_id}},
              {"detail", detail}}
      .dump();
}

TEST_F(HfConformanceTest, GetReturnRequestsListsHostsWarnedThroughTheInterruptionQueue) {
  templates_["templates"].push_back({{"templateId", "Spot-Micro"},
                                     {"maxNumber", 5},
                                     {"providerApi", "RunInstances"},
                                     {"priceType", "spot"},
                                     {"vmType", "t3.micro"},
                                     {"imageId", image_},
                                     {"subnetId", subnet_}});
  HfSandbox& sb = NewSandbox();
  AwsClient aws = MakeTestAwsClient(moto_endpoint_, "us-east-1");
  SqsClient sqs(aws);
  // Visible again at once when not deleted, so that a message orb failed to delete
  // would show below.
  const std::string queue = sqs.CreateQueue(
      "orb-interruptions-" + std::to_string(::getpid()), {{"VisibilityTimeout", "0"}});
  ASSERT_FALSE(queue.empty());
  sb.env()["ORB_AWS_INTERRUPTION_QUEUE_URL"] = queue;
  sb.env()["ORB_AWS_ENDPOINT_URL_SQS"] = moto_endpoint_;
  StatusBook book;
  json spot = Acquire(sb, book, "Spot-Micro", 3);
  ASSERT_TRUE(spot.is_object());
  ASSERT_EQ(spot["machines"].size(), 3u);
  const json warned = spot["machines"][0], rebalanced = spot["machines"][1],
             quiet = spot["machines"][2];
  auto key = [](const json& m) { return Str(m, "name") + "|" + Str(m, "machineId"); };

  const std::time_t now = std::time(nullptr);
  sqs.SendMessage(queue, Ec2Event("EC2 Spot Instance Interruption Warning",
                                  Str(warned, "machineId"), now - 30));
  sqs.SendMessage(queue, Ec2Event("EC2 Instance Rebalance Recommendation",
                                  Str(rebalanced, "machineId"), now - 10));
  sqs.SendMessage(queue, Ec2Event("EC2 Spot Instance Interruption Warning",
                                  "i-0123456789abcdef0", now - 5));  // not this broker's
  sqs.SendMessage(queue, "not an event at all");

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "the call that reads the queue" : "a later call");
    auto listed = ReturnCandidates(sb.Call(kGetReturnRequests, "{}"));
    ASSERT_TRUE(listed.count(key(warned))) << "[a host warned through the queue is listed]";
    EXPECT_GE(listed[key(warned)].get<int>(), 75) << "[the seconds left of the two minutes]";
    EXPECT_LE(listed[key(warned)].get<int>(), 90) << "[the seconds left of the two minutes]";
    ASSERT_TRUE(listed.count(key(rebalanced))) << "[a rebalance recommendation is listed]";
    EXPECT_GE(listed[key(rebalanced)].get<int>(), 95) << "[aws.rebalance_grace_sec from it]";
    EXPECT_LE(listed[key(rebalanced)].get<int>(), 110) << "[aws.rebalance_grace_sec from it]";
    EXPECT_FALSE(listed.count(key(quiet))) << "[a host without notice is not listed]";
    EXPECT_EQ(listed.size(), 2u) << "[nothing else is listed]";
    EXPECT_TRUE(sqs.ReceiveMessage(queue, 10).empty())
        << "[every message read is deleted, the foreign and unreadable ones too]";
  }

  // With rebalance recommendations ignored, only the interruption is listed.
  sb.env()["ORB_AWS_REBALANCE_GRACE_SEC"] = "-1";
  const json other = spot["machines"][2];
  sqs.SendMessage(queue, Ec2Event("EC2 Instance Rebalance Recommendation",
                                  Str(other, "machineId"), now));
  auto listed = ReturnCandidates(sb.Call(kGetReturnRequests, "{}"));
  EXPECT_FALSE(listed.count(key(other))) << "[aws.rebalance_grace_sec -1 ignores them]";
  EXPECT_TRUE(listed.count(key(warned)));
}

TEST_F(HfConformanceTest, MachineLostWhileProvisioningFailsWithAMessage) {
  HfSandbox& sb = NewSandbox();
  const std::string req = RequestMachines(sb, "OnDemand-Micro", 2);
  ASSERT_FALSE(req.empty());
  // Before HostFactory's first poll, one instance dies behind the broker's back.
  std::vector<Instance> launched = cloud_->InstancesOfRequest(req);
  ASSERT_EQ(launched.size(), 2u);
  const std::string dead = launched[0].instance_id;
  cloud_->Terminate({dead});
  StatusBook book;
  auto final = PollUntilTerminal(sb, {req}, book);
  const json& q = final[req];
  EXPECT_EQ(Str(q, "status"), "complete_with_error")
      << "[complete_with_error when settled with fewer than requested]";
  EXPECT_FALSE(Str(q, "message").empty()) << "[complete_with_error says why]";
  for (const json& m : q["machines"]) {
    if (Str(m, "machineId") == dead) {
      EXPECT_EQ(Str(m, "result"), "fail")
          << "[a machine terminated before it was reported usable is fail, not succeed] "
          << m.dump();
    } else {
      EXPECT_EQ(Str(m, "result"), "succeed") << m.dump();
    }
  }
  EXPECT_EQ(MachineIds(q), InstanceIds(launched)) << "[no orphans]";
  ConfirmSticky(sb, {req}, book, 2);
}

// --- Malformed input -----------------------------------------------------------

TEST_F(HfConformanceTest, MalformedInputFailsCleanlyAndCorruptsNothing) {
  HfSandbox& sb = NewSandbox();
  StatusBook book;
  std::string before;
  json q = Acquire(sb, book, "OnDemand-Micro", 1, &before);
  ASSERT_TRUE(q.is_object());

  const std::vector<std::string> common = {"", "not json", "{\"unterminated\": ", "\"text\"", "42"};
  const std::map<std::string, std::vector<std::string>> specific = {
      {kRequestMachines,
       {R"({"template":{"templateId":"OnDemand-Micro","machineCount":"ten"}})",
        R"({"template":"OnDemand-Micro"})", "{}"}},
      {kGetRequestStatus,
       {R"({"requests":"req-1"})", R"({"requests":[{"requestId":5}]})",
        R"({"requests":[{"id":"req-1"}]})", R"({"requests":42})", "{}"}},
      {kRequestReturnMachines,
       {R"({"machines":"ip-10-0-0-1"})", R"({"machines":[{"name":5}]})", R"({"machines":[{}]})",
        "{}"}},
      {kGetReturnRequests, {R"({"machines":"ip-10-0-0-1"})", R"({"machines":[{"name":5}]})"}},
  };
  for (const auto& [script, inputs] : specific) {
    std::vector<std::string> all = common;
    all.insert(all.end(), inputs.begin(), inputs.end());
    for (const std::string& input : all) {
      CheckFailure(sb.Call(script, input), script + " with malformed input '" + input + "'");
    }
    CheckFailure(
        sb.CallWithArgs(script, {"-f", "/tmp/hf_in_does_not_exist_" + std::to_string(::getpid())}),
        script + " with a missing input file");
    CheckFailure(sb.CallWithArgs(script, {}), script + " without -f");
  }
  EXPECT_EQ(cloud_->AllInstances().size(), 1u) << "[malformed requests launch nothing]";

  // Nothing stored was harmed: the earlier request reports the same, a new one works.
  ConfirmSticky(sb, {before}, book, 1);
  std::string after;
  json q2 = Acquire(sb, book, "OnDemand-Micro", 1, &after);
  ASSERT_TRUE(q2.is_object());
  EXPECT_EQ(Str(q2, "status"), "complete") << "[a valid call works after malformed ones]";
  const std::string ret = ReturnMachines(sb, Refs(q2));
  auto final = PollUntilTerminal(sb, {ret, before, after}, book);
  EXPECT_EQ(Str(final[ret], "status"), "complete");
}

TEST_F(HfConformanceTest, GetAvailableTemplatesRejectsMalformedInput) {
  HfSandbox& sb = NewSandbox();
  for (const std::string& input : {std::string(""), std::string("not json")}) {
    CheckFailure(sb.Call(kGetAvailableTemplates, input),
                 "getAvailableTemplates with malformed input '" + input + "'");
  }
  CheckFailure(sb.CallWithArgs(kGetAvailableTemplates,
                               {"-f", "/tmp/hf_in_does_not_exist_" + std::to_string(::getpid())}),
               "getAvailableTemplates with a missing input file");
}

// --- Environments and installation layouts --------------------------------------

class HfEnvironmentTest : public HfConformanceTest {
 protected:
  // The whole job once: templates, one machine, its status, its return.
  void Lifecycle(HfSandbox& sb) {
    HfCallResult t = sb.Call(kGetAvailableTemplates, "{}");
    EXPECT_EQ(CheckWireBasics(t), "") << t.Describe();
    EXPECT_EQ(t.exit_code, 0) << t.Describe();
    EXPECT_EQ(t.doc.value("templates", json::array()).size(), 6u) << t.Describe();
    StatusBook book;
    std::string req;
    json q = Acquire(sb, book, "OnDemand-Micro", 1, &req);
    ASSERT_TRUE(q.is_object());
    EXPECT_EQ(Str(q, "status"), "complete");
    const std::string ret = ReturnMachines(sb, Refs(q));
    ASSERT_FALSE(ret.empty());
    auto final = PollUntilTerminal(sb, {ret}, book);
    EXPECT_EQ(Str(final[ret], "status"), "complete");
    for (const Instance& i : cloud_->AllInstances()) EXPECT_EQ(i.state, "terminated");
  }

  bool HasFiles(const fs::path& dir) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return false;
      if (it->is_regular_file(ec)) return true;
    }
    return false;
  }
};

TEST_F(HfEnvironmentTest, OnlyProviderNameAndConfDir) {
  HfSandboxOptions o;
  o.env_style = HfEnvStyle::kMinimal;
  HfSandbox& sb = NewSandbox("", o);
  Lifecycle(sb);
  EXPECT_TRUE(HasFiles(sb.home_dir()))
      << "[without HF_PROVIDER_WORKDIR, state goes to a per-user default under HOME]";
}

TEST_F(HfEnvironmentTest, LsfResourceConnectorVariables) {
  HfSandboxOptions o;
  o.env_style = HfEnvStyle::kLsf;
  o.provider_name = "lsfaws";
  HfSandbox& sb = NewSandbox("", o);
  Lifecycle(sb);
  EXPECT_TRUE(HasFiles(sb.work_dir())) << "[LSF: state goes to PRO_DATA_DIR]";
}

TEST_F(HfEnvironmentTest, FullHostFactoryEnvironmentWithDebugLogging) {
  HfSandboxOptions o;
  o.env_style = HfEnvStyle::kHostFactoryFull;
  HfSandbox& sb = NewSandbox("", o);
  Lifecycle(sb);
  EXPECT_TRUE(HasFiles(sb.work_dir())) << "[state goes to HF_PROVIDER_WORKDIR]";
  EXPECT_TRUE(HasFiles(sb.log_dir())) << "[logs go to HF_PROVIDER_LOGDIR]";
}

TEST_F(HfEnvironmentTest, ScriptsFindOrbInTheirInstallPrefix) {
  HfSandboxOptions o;
  o.orb_lookup = HfOrbLookup::kInstallPrefix;
  HfSandbox& sb = NewSandbox("", o);
  HfCallResult r = sb.Call(kGetAvailableTemplates, "{}");
  EXPECT_EQ(CheckWireBasics(r), "") << r.Describe();
  EXPECT_EQ(r.exit_code, 0) << "[scripts find <prefix>/bin/orb without ORB_BIN]\n" << r.Describe();
}

TEST_F(HfEnvironmentTest, ScriptsFindOrbOnPath) {
  HfSandboxOptions o;
  o.orb_lookup = HfOrbLookup::kPath;
  HfSandbox& sb = NewSandbox("", o);
  HfCallResult r = sb.Call(kGetAvailableTemplates, "{}");
  EXPECT_EQ(CheckWireBasics(r), "") << r.Describe();
  EXPECT_EQ(r.exit_code, 0) << "[scripts find orb on PATH without ORB_BIN]\n" << r.Describe();
}

// --- Crashes, lost answers, cloud errors ----------------------------------------

class HfFaultTest : public HfConformanceTest {
 protected:
  // A sandbox behind `proxy` that resumes interrupted launches after 1 s (the
  // default, 60 s, would make these tests slow).
  HfSandbox& FaultSandbox(FaultProxy& proxy) {
    HfSandbox& sb = NewSandbox(proxy.endpoint());
    sb.env()["ORB_LAUNCH_RETRY_SEC"] = "1";
    return sb;
  }

  // After a disturbed launch of `count` instances for `req`: polls to complete and
  // checks that the cloud holds exactly the reported instances, launched once.
  void ExpectConvergedWithoutDuplicates(HfSandbox& sb, FaultProxy& proxy, const std::string& req,
                                        std::size_t count) {
    StatusBook book;
    auto final = PollUntilTerminal(sb, {req}, book, seconds(30));
    ASSERT_TRUE(final.count(req));
    EXPECT_EQ(Str(final[req], "status"), "complete")
        << "[a disturbed launch converges to complete] " << final[req].dump();
    ConfirmSticky(sb, {req}, book);
    std::vector<Instance> tagged = cloud_->InstancesOfRequest(req);
    EXPECT_EQ(tagged.size(), count) << "[no duplicate instances after a crash or lost answer]";
    EXPECT_EQ(cloud_->AllInstances().size(), count) << "[no duplicate instances at all]";
    EXPECT_EQ(InstanceIds(tagged), MachineIds(final[req]))
        << "[every launched instance is reported: no orphans]";
    EXPECT_EQ(CountCalls(proxy, "RunInstances", true), 1)
        << "[the launch reached the cloud once (replays carry the same ClientToken)]";
    EXPECT_EQ(Tokens(proxy, "RunInstances").size(), 1u)
        << "[every RunInstances of a request carries the same ClientToken] got "
        << Joined(Tokens(proxy, "RunInstances"));
  }
};

TEST_F(HfFaultTest, KilledWhileRunInstancesIsAtAwsAdoptsWithoutDuplicates) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  FaultPlan slow;
  slow.latency = milliseconds(1500);  // holds every call, RunInstances included
  proxy.SetPlan(slow);
  HfProcess p = sb.Start(kRequestMachines, RequestInput("OnDemand-Micro", 3).dump());
  const bool sent = WaitFor(
      [&] { return CountCalls(proxy, "RunInstances", false) > 0 || !HfSandbox::Running(p); },
      milliseconds(30000));
  if (!sent || !HfSandbox::Running(p)) {
    HfCallResult r = HfSandbox::Running(p) ? sb.Kill(p) : sb.Wait(p);
    FAIL() << "requestMachines never sent RunInstances while running\n" << r.Describe();
  }
  // The script execs orb: HostFactory's timeout kill of the script's pid reaches orb.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/" + std::to_string(p.pid) + "/exe", ec);
  EXPECT_EQ(exe, fs::canonical(ORB_BINARY))
      << "[the script execs orb (same pid), so a kill of the script reaches orb]";
  HfCallResult killed = sb.Kill(p);
  proxy.SetPlan(FaultPlan{});
  ASSERT_TRUE(
      WaitFor([&] { return CountCalls(proxy, "RunInstances", true) > 0; }, milliseconds(10000)))
      << "the held RunInstances never reached moto";
  std::vector<Instance> launched = cloud_->AllInstances();
  ASSERT_EQ(launched.size(), 3u);
  const std::string req = TagValue(launched[0].tags, kRequestIdTagKey);
  ASSERT_FALSE(req.empty()) << "[instances carry orb:request-id from launch (TagSpecifications)]";
  for (const Instance& i : launched) EXPECT_EQ(TagValue(i.tags, kRequestIdTagKey), req);
  ExpectConvergedWithoutDuplicates(sb, proxy, req, 3);
}

TEST_F(HfFaultTest, LostRunInstancesAnswerStillAnswersARequestAndConverges) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  FaultPlan lost;
  lost.drop_after_fraction = 1.0;  // every call reaches moto; every answer is lost
  proxy.SetPlan(lost);
  const std::string req = RequestMachines(sb, "OnDemand-Micro", 2);
  proxy.SetPlan(FaultPlan{});
  ASSERT_FALSE(req.empty()) << "[requestMachines answers a request id although the launch's "
                               "answer was lost (broker.h)]";
  EXPECT_EQ(cloud_->AllInstances().size(), 2u) << "[retries of a lost launch launch nothing new]";
  ExpectConvergedWithoutDuplicates(sb, proxy, req, 2);
}

TEST_F(HfFaultTest, LaunchThatNeverReachedAwsIsReplayedByStatus) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  FaultPlan down;
  down.drop_before_fraction = 1.0;  // nothing reaches moto
  proxy.SetPlan(down);
  const std::string req = RequestMachines(sb, "OnDemand-Micro", 2);
  proxy.SetPlan(FaultPlan{});
  ASSERT_FALSE(req.empty()) << "[requestMachines answers a request id although the cloud could "
                               "not be reached (broker.h)]";
  EXPECT_TRUE(cloud_->AllInstances().empty());
  ExpectConvergedWithoutDuplicates(sb, proxy, req, 2);
}

TEST_F(HfFaultTest, UnconfirmedLaunchIsResumedThoughPolledMoreOftenThanItsRetryDelay) {
  // HostFactory polls every ~30 s and request.launch_retry_sec is 60 s by default:
  // polls more frequent than the retry delay must not keep postponing the retry.
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  sb.env()["ORB_LAUNCH_RETRY_SEC"] = "3";
  FaultPlan down;
  down.drop_before_fraction = 1.0;  // the launch never reaches AWS
  proxy.SetPlan(down);
  const std::string req = RequestMachines(sb, "OnDemand-Micro", 2);
  proxy.SetPlan(FaultPlan{});
  ASSERT_FALSE(req.empty());
  StatusBook book;
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  std::map<std::string, json> last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = Status(sb, {req}, book);
    if (IsTerminal(Str(last[req], "status"))) break;
    std::this_thread::sleep_for(milliseconds(1000));  // a third of the retry delay
  }
  EXPECT_EQ(Str(last[req], "status"), "complete")
      << "[an unconfirmed launch is replayed launch_retry_sec after its last attempt, "
         "however often HostFactory polls] "
      << last[req].dump();
  EXPECT_EQ(cloud_->InstancesOfRequest(req).size(), 2u);
}

TEST_F(HfFaultTest, LostAutoScalingGroupCreationIsReplayedNotSettledAsRefused) {
  // CreateAutoScalingGroup has no ClientToken: a lost answer is not resent at once,
  // but the group may exist and be launching, so the request must not end refused.
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  FaultPlan lost;
  lost.drop_after_fraction = 1.0;  // the group is created, its answer lost
  lost.actions = {"CreateAutoScalingGroup"};
  proxy.SetPlan(lost);
  const std::string req = RequestMachines(sb, "Asg-Small", 2);
  proxy.SetPlan(FaultPlan{});
  ASSERT_FALSE(req.empty());
  ASSERT_EQ(CountCalls(proxy, "CreateAutoScalingGroup", true), 1);
  StatusBook book;
  auto final = PollUntilTerminal(sb, {req}, book, seconds(30));
  EXPECT_EQ(Str(final[req], "status"), "complete")
      << "[a group whose creation answer was lost is found by the replay] " << final[req].dump();
  EXPECT_EQ(InstanceIds(cloud_->InstancesOfRequest(req)), MachineIds(final[req]))
      << "[every instance the group launched is reported: no orphans]";
  EXPECT_EQ(cloud_->AutoScalingGroupNames().size(), 1u) << "[one group per request]";
}

TEST_F(HfFaultTest, CloudErrorDuringPollAnswersRunning) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  const std::string req = RequestMachines(sb, "OnDemand-Micro", 2);
  ASSERT_FALSE(req.empty());
  FaultPlan broken;
  broken.server_error_fraction = 1.0;
  proxy.SetPlan(broken);
  StatusBook book;
  HfCallResult r = sb.Call(kGetRequestStatus, StatusInput({req}));
  auto answer = CheckStatusAnswer(r, {req}, book);
  EXPECT_EQ(Str(answer[req], "status"), "running")
      << "[a temporary cloud error during a poll answers running, never a terminal state]\n"
      << r.Describe();
  EXPECT_FALSE(Str(answer[req], "message").empty())
      << "[the cloud error is reported in the request's message (broker.h)]";
  proxy.SetPlan(FaultPlan{});
  auto final = PollUntilTerminal(sb, {req}, book);
  EXPECT_EQ(Str(final[req], "status"), "complete");
  EXPECT_EQ(cloud_->AllInstances().size(), 2u) << "[no duplicates]";
}

TEST_F(HfFaultTest, RefusedLaunchEndsCompleteWithError) {
  HfSandbox& sb = NewSandbox();
  json doc = templates_;
  json broken = doc["templates"][0];
  broken["templateId"] = "Broken-Subnet";
  broken["subnetId"] = "subnet-0badbadbadbadbad0";
  doc["templates"].push_back(broken);
  sb.WriteTemplates(doc);
  const std::string req = RequestMachines(sb, "Broken-Subnet", 1);
  ASSERT_FALSE(req.empty()) << "[a cloud refusal still answers a request id (broker.h)]";
  StatusBook book;
  auto final = PollUntilTerminal(sb, {req}, book);
  EXPECT_EQ(Str(final[req], "status"), "complete_with_error")
      << "[a refused launch ends complete_with_error, not running forever]";
  EXPECT_FALSE(Str(final[req], "message").empty()) << "[the refusal's reason is in the message]";
  for (const json& m : final[req]["machines"]) EXPECT_NE(Str(m, "result"), "succeed");
  ConfirmSticky(sb, {req}, book, 2);
  EXPECT_TRUE(cloud_->AllInstances().empty());
}

// Starts `script` with `input` behind `proxy` holding every call for 1.5 s (and, with
// `drop`, then dropping it unanswered and unforwarded), and kills the process once
// the proxy has seen `action`. Returns false (with a failure) when it never did.
bool KillWhenSeen(HfSandbox& sb, FaultProxy& proxy, const std::string& script,
                  const std::string& input, const std::string& action, bool drop) {
  FaultPlan hold;
  hold.latency = milliseconds(1500);
  if (drop) hold.drop_before_fraction = 1.0;
  proxy.SetPlan(hold);
  const int before = CountCalls(proxy, action, false);
  HfProcess p = sb.Start(script, input);
  WaitFor([&] { return CountCalls(proxy, action, false) > before || !HfSandbox::Running(p); },
          milliseconds(30000));
  const bool running = HfSandbox::Running(p);
  HfCallResult r = running ? sb.Kill(p) : sb.Wait(p);
  proxy.SetPlan(FaultPlan{});
  if (!running || CountCalls(proxy, action, false) == before) {
    ADD_FAILURE() << script << " never called " << action << " while running\n" << r.Describe();
    return false;
  }
  return true;
}

TEST_F(HfFaultTest, KilledDuringAStatusPollLeavesTheStoreUsable) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  const std::string req = RequestMachines(sb, "OnDemand-Micro", 2);
  ASSERT_FALSE(req.empty());
  ASSERT_TRUE(KillWhenSeen(sb, proxy, kGetRequestStatus, StatusInput({req}).dump(),
                           "DescribeInstances", false));
  ExpectConvergedWithoutDuplicates(sb, proxy, req, 2);
}

TEST_F(HfFaultTest, ReturnKilledAfterTerminateReachedAwsThenRetried) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  StatusBook book;
  json q = Acquire(sb, book, "OnDemand-Micro", 2);
  ASSERT_TRUE(q.is_object());
  ASSERT_TRUE(KillWhenSeen(sb, proxy, kRequestReturnMachines, json{{"machines", Refs(q)}}.dump(),
                           "TerminateInstances", false));
  ASSERT_TRUE(WaitFor([&] { return CountCalls(proxy, "TerminateInstances", true) > 0; },
                      milliseconds(10000)));
  // HostFactory never got the first return's id: it asks again.
  const std::string ret = ReturnMachines(sb, Refs(q));
  ASSERT_FALSE(ret.empty());
  auto final = PollUntilTerminal(sb, {ret}, book);
  EXPECT_EQ(Str(final[ret], "status"), "complete");
  EXPECT_EQ(MachineIds(final[ret]), MachineIds(q))
      << "[the retried return reports every host it names] " << final[ret].dump();
  for (const json& m : final[ret]["machines"]) EXPECT_EQ(Str(m, "result"), "succeed");
  for (const Instance& i : cloud_->AllInstances()) EXPECT_EQ(i.state, "terminated");
  auto listed = ReturnCandidates(sb.Call(kGetReturnRequests, "{}"));
  EXPECT_TRUE(listed.empty()) << "[returned hosts are not offered for return again]";
}

TEST_F(HfFaultTest, ReturnKilledBeforeTerminateReachedAwsThenRetried) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  StatusBook book;
  json q = Acquire(sb, book, "OnDemand-Micro", 2);
  ASSERT_TRUE(q.is_object());
  ASSERT_TRUE(KillWhenSeen(sb, proxy, kRequestReturnMachines, json{{"machines", Refs(q)}}.dump(),
                           "TerminateInstances", true));
  std::this_thread::sleep_for(milliseconds(1600));  // the held call is dropped, not forwarded
  ASSERT_EQ(CountCalls(proxy, "TerminateInstances", true), 0);
  for (const Instance& i : cloud_->AllInstances()) ASSERT_EQ(i.state, "running");
  // HostFactory never got the first return's id: it asks again, then polls.
  const std::string ret = ReturnMachines(sb, Refs(q));
  ASSERT_FALSE(ret.empty());
  auto final = PollUntilTerminal(sb, {ret}, book);
  EXPECT_EQ(Str(final[ret], "status"), "complete");
  EXPECT_EQ(MachineIds(final[ret]), MachineIds(q))
      << "[the retried return reports every host it names] " << final[ret].dump();
  for (const Instance& i : cloud_->AllInstances()) {
    EXPECT_EQ(i.state, "terminated")
        << "[a host HostFactory returned is terminated, whatever happened to the first "
           "attempt] "
        << i.instance_id;
  }
}

TEST_F(HfFaultTest, ReturnWhileTheCloudIsDownIsFinishedByStatusPolls) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  StatusBook book;
  json q = Acquire(sb, book, "OnDemand-Micro", 2);
  ASSERT_TRUE(q.is_object());
  FaultPlan down;
  down.drop_before_fraction = 1.0;
  proxy.SetPlan(down);
  const std::string ret = ReturnMachines(sb, Refs(q));
  proxy.SetPlan(FaultPlan{});
  ASSERT_FALSE(ret.empty()) << "[requestReturnMachines always answers a request id]";
  for (const Instance& i : cloud_->AllInstances()) EXPECT_EQ(i.state, "running");
  auto final = PollUntilTerminal(sb, {ret}, book);
  EXPECT_EQ(Str(final[ret], "status"), "complete");
  EXPECT_EQ(MachineIds(final[ret]), MachineIds(q));
  for (const Instance& i : cloud_->AllInstances()) {
    EXPECT_EQ(i.state, "terminated")
        << "[status polls finish an interrupted return] " << i.instance_id;
  }
}

TEST_F(HfFaultTest, ThrottledCloudUnderConcurrentCalls) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  FaultPlan throttled;
  throttled.throttle_fraction = 0.3;
  throttled.seed = 7;
  proxy.SetPlan(throttled);
  std::vector<HfProcess> procs;
  for (int i = 0; i < 4; ++i) {
    procs.push_back(sb.Start(kRequestMachines, RequestInput("OnDemand-Micro", 2).dump()));
  }
  std::vector<std::string> reqs;
  for (HfProcess& p : procs) {
    const std::string id = CheckCreated(sb.Wait(p), "req");
    if (!id.empty()) reqs.push_back(id);
  }
  ASSERT_EQ(reqs.size(), 4u);
  StatusBook concurrent;
  concurrent.check_sticky = false;
  procs.clear();
  for (int i = 0; i < 4; ++i)
    procs.push_back(sb.Start(kGetRequestStatus, StatusInput(reqs).dump()));
  for (HfProcess& p : procs) CheckStatusAnswer(sb.Wait(p), reqs, concurrent);
  StatusBook book;
  auto final = PollUntilTerminal(sb, reqs, book, seconds(30));
  for (const std::string& id : reqs) {
    EXPECT_EQ(Str(final[id], "status"), "complete") << id;
    EXPECT_EQ(cloud_->InstancesOfRequest(id).size(), 2u) << "[no duplicates when throttled] " << id;
    EXPECT_EQ(InstanceIds(cloud_->InstancesOfRequest(id)), MachineIds(final[id])) << id;
  }
  EXPECT_EQ(cloud_->AllInstances().size(), 8u);
  EXPECT_EQ(CountCalls(proxy, "RunInstances", true), 4) << "[one launch per request reached AWS]";
  EXPECT_EQ(Tokens(proxy, "RunInstances").size(), 4u) << "[one ClientToken per request]";
}

// --- Overlapping calls ----------------------------------------------------------

// --- Capacity: pools, fallback, splitting --------------------------------------

class HfCapacityTest : public HfFaultTest {
 protected:
  // A template like OnDemand-Micro with `changes` applied, added to the sandbox's file.
  void AddTemplate(HfSandbox& sb, const std::string& id, const json& changes) {
    json doc = templates_;
    json t = doc["templates"][0];
    t["templateId"] = id;
    t.erase("vmType");
    t["maxNumber"] = 50;
    t.update(changes);
    doc["templates"].push_back(t);
    templates_ = doc;
    sb.WriteTemplates(doc);
  }

  // The RunInstances calls the proxy saw, in order.
  static std::vector<SeenCall> RunCalls(const FaultProxy& proxy) {
    std::vector<SeenCall> out;
    for (const SeenCall& c : proxy.seen()) {
      if (c.action == "RunInstances") out.push_back(c);
    }
    return out;
  }
};

TEST_F(HfCapacityTest, ShortPoolMovesTheCallToTheNextPoolAndIsRememberedForLaterRequests) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  AddTemplate(sb, "Two-Types", {{"vmTypes", {{"t3.micro", 1}, {"t3.small", 1}}}});
  FaultPlan no_micro;
  no_micro.refusals.push_back({"RunInstances", "InstanceType", "t3.micro"});
  proxy.SetPlan(no_micro);
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Two-Types", 3, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete")
      << "[a pool without capacity does not fail the request when another pool has it] "
      << q.dump();
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("InsufficientInstanceCapacity"))
      << "[the fallback decision is visible in the request's message]";
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("trying t3.small"));
  std::vector<Instance> launched = cloud_->InstancesOfRequest(req);
  ASSERT_EQ(launched.size(), 3u) << "[the whole request is launched in the next pool]";
  for (const Instance& i : launched) EXPECT_EQ(i.instance_type, "t3.small");
  EXPECT_EQ(MachineIds(q), InstanceIds(launched)) << "[every launched instance is reported]";
  std::vector<SeenCall> calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 2u) << "[one refused call, then one call in the next pool]";
  EXPECT_EQ(calls[0].Param("InstanceType"), "t3.micro");
  EXPECT_EQ(calls[1].Param("InstanceType"), "t3.small");
  EXPECT_NE(calls[0].client_token, calls[1].client_token)
      << "[a call in another pool carries its own idempotency token]";
  EXPECT_EQ(calls[1].Param("MinCount"), "3");
  EXPECT_EQ(calls[1].Param("MaxCount"), "3");
  EXPECT_THAT(sb.LogTail(), ::testing::HasSubstr("trying t3.small"))
      << "[the fallback decision is logged]";

  // The failed pool is remembered: the next request starts in the pool that worked.
  proxy.ClearSeen();
  json q2 = Acquire(sb, book, "Two-Types", 1);
  ASSERT_TRUE(q2.is_object());
  EXPECT_EQ(Str(q2, "status"), "complete");
  calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 1u) << "[a recently failed pool is not tried first again]";
  EXPECT_EQ(calls[0].Param("InstanceType"), "t3.small");
}

TEST_F(HfCapacityTest, FailedPoolIsRetriedOnceItsMemoryExpires) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  sb.env()["ORB_FAILED_POOL_TTL_SEC"] = "0";  // remember nothing
  AddTemplate(sb, "Two-Types", {{"vmTypes", {{"t3.micro", 1}, {"t3.small", 1}}}});
  FaultPlan no_micro;
  no_micro.refusals.push_back({"RunInstances", "InstanceType", "t3.micro"});
  proxy.SetPlan(no_micro);
  StatusBook book;
  ASSERT_EQ(Str(Acquire(sb, book, "Two-Types", 1), "status"), "complete");
  proxy.SetPlan(FaultPlan{});
  proxy.ClearSeen();
  ASSERT_EQ(Str(Acquire(sb, book, "Two-Types", 1), "status"), "complete");
  std::vector<SeenCall> calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].Param("InstanceType"), "t3.micro")
      << "[without a remembered failure the preferred pool comes first again]";
}

TEST_F(HfCapacityTest, EveryPoolFailingEndsWithErrorNamingEachPool) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  AddTemplate(sb, "Two-Types", {{"vmTypes", {{"t3.micro", 1}, {"t3.small", 1}}}});
  FaultPlan none;
  none.refusals.push_back({"RunInstances", "InstanceType", "t3.micro"});
  none.refusals.push_back({"RunInstances", "InstanceType", "t3.small", 0, 400,
                           "VcpuLimitExceeded", "You have requested more vCPU capacity than "
                                                "your current vCPU limit allows."});
  proxy.SetPlan(none);
  StatusBook book;
  json q = Acquire(sb, book, "Two-Types", 2);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete_with_error");
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("t3.micro"));
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("VcpuLimitExceeded (quota)"))
      << "[a quota error is named as such]";
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("no pool left for 2 more unit(s)"));
  EXPECT_TRUE(cloud_->AllInstances().empty());
  EXPECT_EQ(RunCalls(proxy).size(), 2u) << "[each pool is tried once, no retry storm]";
}

TEST_F(HfCapacityTest, SpotFallsBackToOnDemandAfterTheConfiguredFailures) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  sb.env()["ORB_SPOT_FALLBACK_AFTER"] = "1";
  AddTemplate(sb, "Spot-Micro", {{"vmType", "t3.micro"}, {"priceType", "spot"},
                                 {"maxSpotPrice", 0.01}});
  FaultPlan no_spot;
  no_spot.refusals.push_back({"RunInstances", "InstanceMarketOptions.MarketType", "spot", 0, 400,
                              "SpotMaxPriceTooLow", "Your Spot request price of 0.01 is lower "
                                                    "than the minimum required Spot request "
                                                    "fulfillment price."});
  proxy.SetPlan(no_spot);
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Spot-Micro", 2, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete") << q.dump();
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("(on demand)"))
      << "[the switch to on demand is visible in the message]";
  std::vector<SeenCall> calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].Param("InstanceMarketOptions.MarketType"), "spot");
  EXPECT_EQ(calls[0].Param("InstanceMarketOptions.SpotOptions.MaxPrice"), "0.01");
  EXPECT_EQ(calls[1].Param("InstanceMarketOptions.MarketType"), "")
      << "[the fallback call buys on demand]";
  EXPECT_EQ(cloud_->InstancesOfRequest(req).size(), 2u);
}

TEST_F(HfCapacityTest, SpotWithoutFallbackNeverBuysOnDemand) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  AddTemplate(sb, "Spot-Micro", {{"vmType", "t3.micro"}, {"priceType", "spot"}});
  FaultPlan no_spot;
  no_spot.refusals.push_back({"RunInstances", "InstanceMarketOptions.MarketType", "spot", 0,
                              500, "InsufficientInstanceCapacity", "no spot capacity"});
  proxy.SetPlan(no_spot);
  StatusBook book;
  json q = Acquire(sb, book, "Spot-Micro", 1);
  EXPECT_EQ(Str(q, "status"), "complete_with_error");
  EXPECT_TRUE(cloud_->AllInstances().empty()) << "[no on-demand instance unless configured]";
}

TEST_F(HfCapacityTest, LargeRequestIsSplitIntoCallsEachStoredAndTokened) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  sb.env()["ORB_AWS_MAX_INSTANCES_PER_CALL"] = "2";
  AddTemplate(sb, "Micro", {{"vmType", "t3.micro"}});
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Micro", 5, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete");
  EXPECT_EQ(q["machines"].size(), 5u);
  std::vector<SeenCall> calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 3u) << "[5 instances at 2 per call: 3 calls]";
  std::vector<std::string> counts;
  std::set<std::string> tokens;
  for (const SeenCall& c : calls) {
    counts.push_back(c.Param("MaxCount"));
    tokens.insert(c.client_token);
  }
  EXPECT_EQ(counts, (std::vector<std::string>{"2", "2", "1"}));
  EXPECT_EQ(tokens.size(), 3u) << "[each call of a split request has its own token]";
  EXPECT_EQ(cloud_->InstancesOfRequest(req).size(), 5u);
}

TEST_F(HfCapacityTest, KilledBetweenCallsOfASplitLaunchResumesWithoutDuplicates) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  sb.env()["ORB_AWS_MAX_INSTANCES_PER_CALL"] = "2";
  AddTemplate(sb, "Micro", {{"vmType", "t3.micro"}});
  FaultPlan slow;
  slow.latency = milliseconds(700);
  proxy.SetPlan(slow);
  HfProcess p = sb.Start(kRequestMachines, RequestInput("Micro", 5).dump());
  const bool second = WaitFor(
      [&] { return CountCalls(proxy, "RunInstances", false) >= 2 || !HfSandbox::Running(p); },
      milliseconds(30000));
  HfCallResult killed = sb.Kill(p);
  proxy.SetPlan(FaultPlan{});
  ASSERT_TRUE(second) << "the second RunInstances was never sent\n" << killed.Describe();
  // The held second call may still reach moto after the kill.
  std::this_thread::sleep_for(milliseconds(1000));
  std::vector<Instance> so_far = cloud_->AllInstances();
  ASSERT_FALSE(so_far.empty());
  const std::string req = TagValue(so_far[0].tags, kRequestIdTagKey);
  StatusBook book;
  auto final = PollUntilTerminal(sb, {req}, book, seconds(30));
  ASSERT_TRUE(final.count(req));
  EXPECT_EQ(Str(final[req], "status"), "complete") << final[req].dump();
  std::vector<Instance> tagged = cloud_->InstancesOfRequest(req);
  EXPECT_EQ(tagged.size(), 5u) << "[a split launch killed between calls launches each call once]";
  EXPECT_EQ(cloud_->AllInstances().size(), 5u) << "[no duplicates]";
  EXPECT_EQ(InstanceIds(tagged), MachineIds(final[req])) << "[no orphans]";
}

TEST_F(HfCapacityTest, AllOrNothingTerminatesAShortLaunch) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  sb.env()["ORB_AWS_MAX_INSTANCES_PER_CALL"] = "2";
  AddTemplate(sb, "Gang", {{"vmType", "t3.micro"}, {"capacityPolicy", "all-or-nothing"}});
  FaultPlan second_fails;
  Refusal r{"RunInstances", "InstanceType", "t3.micro"};
  r.after = 1;  // the first call gets its 2 instances, the second finds no capacity
  second_fails.refusals.push_back(r);
  proxy.SetPlan(second_fails);
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Gang", 4, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete_with_error");
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("all-or-nothing"));
  for (const json& m : q["machines"]) EXPECT_EQ(Str(m, "result"), "fail") << m.dump();
  std::vector<Instance> launched = cloud_->InstancesOfRequest(req);
  ASSERT_EQ(launched.size(), 2u);
  for (const Instance& i : launched) {
    EXPECT_TRUE(i.state == "shutting-down" || i.state == "terminated")
        << "[what a short all-or-nothing launch got is terminated] " << i.instance_id << " "
        << i.state;
  }
}

TEST_F(HfCapacityTest, BestEffortKeepsWhatEarlierCallsLaunched) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  sb.env()["ORB_AWS_MAX_INSTANCES_PER_CALL"] = "2";
  AddTemplate(sb, "Micro", {{"vmType", "t3.micro"}});
  FaultPlan second_fails;
  Refusal r{"RunInstances", "InstanceType", "t3.micro"};
  r.after = 1;
  second_fails.refusals.push_back(r);
  proxy.SetPlan(second_fails);
  StatusBook book;
  json q = Acquire(sb, book, "Micro", 4);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete_with_error")
      << "[fewer machines than asked ends complete_with_error]";
  int succeeded = 0;
  for (const json& m : q["machines"]) succeeded += Str(m, "result") == "succeed";
  EXPECT_EQ(succeeded, 2) << "[best-effort keeps the 2 machines the first call launched]";
  EXPECT_THAT(Str(q, "message"), ::testing::HasSubstr("no pool left for 2 more unit(s)"));
}

TEST_F(HfCapacityTest, SsmImageIsResolvedOnceAndTheCallNamesTheAmi) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  const std::string parameter =
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
  AddTemplate(sb, "Latest-AL2023", {{"vmType", "t3.micro"}, {"imageId", parameter},
                                    {"rootDeviceVolumeSize", 20}});
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Latest-AL2023", 1, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete") << q.dump();
  std::vector<SeenCall> calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 1u);
  const std::string ami = calls[0].Param("ImageId");
  EXPECT_EQ(ami.rfind("ami-", 0), 0u)
      << "[the stored, replayable call names the AMI the parameter held] " << ami;
  std::vector<Instance> launched = cloud_->InstancesOfRequest(req);
  ASSERT_EQ(launched.size(), 1u);
  EXPECT_EQ(launched[0].image_id, ami);
  EXPECT_EQ(CountCalls(proxy, "DescribeImages", false), 1)
      << "[the root volume's device comes from the resolved AMI]";
  const int ssm_reads = CountCalls(proxy, "AmazonSSM.GetParameter", false);
  EXPECT_EQ(ssm_reads, 1);
  // A second request within the cache's lifetime reads no parameter.
  ASSERT_EQ(Str(Acquire(sb, book, "Latest-AL2023", 1), "status"), "complete");
  EXPECT_EQ(CountCalls(proxy, "AmazonSSM.GetParameter", false), ssm_reads)
      << "[a resolved image id is cached (aws.image_cache_ttl_sec)]";
}

TEST_F(HfCapacityTest, UnknownSsmImageIsATemplateErrorAndLaunchesNothing) {
  HfSandbox& sb = NewSandbox();
  AddTemplate(sb, "No-Such-Image",
              {{"vmType", "t3.micro"}, {"imageId", "/orb/test/no-such-parameter"}});
  HfCallResult r = sb.Call(kRequestMachines, RequestInput("No-Such-Image", 1));
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(Str(r.doc, "message"), ::testing::HasSubstr("No-Such-Image"));
  EXPECT_THAT(Str(r.doc, "message"), ::testing::HasSubstr("imageId"));
  EXPECT_THAT(Str(r.doc, "message"), ::testing::HasSubstr("/orb/test/no-such-parameter"));
  EXPECT_TRUE(cloud_->AllInstances().empty());
}

// A group that replaces a lost machine on its own (here: moto's Auto Scaling group
// told to grow, as it does when it replaces an unhealthy member): the lost one
// reaches HostFactory through getReturnRequests, the new one is attached to the
// request, and a return of everything leaves nothing running.
TEST_F(HfConformanceTest, ReplacedGroupMembersAreTrackedAndReported) {
  HfSandbox& sb = NewSandbox();
  sb.env()["ORB_GROUP_WATCH_SEC"] = "0";
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "Asg-Small", 2, &req);
  ASSERT_TRUE(q.is_object());
  ASSERT_EQ(Str(q, "status"), "complete") << q.dump();
  std::vector<std::string> ids = MachineIdList(q);
  ASSERT_EQ(ids.size(), 2u);
  const std::string group = "orb-" + req;

  // Behind the broker's back: a member is lost and the group launches another.
  cloud_->Terminate({ids[0]});
  cloud_->SetDesiredCapacity(group, 3);
  std::set<std::string> newcomers;
  for (const Instance& i : cloud_->InstancesOfRequest(req)) {
    if (i.state != "terminated" && std::find(ids.begin(), ids.end(), i.instance_id) == ids.end()) {
      newcomers.insert(i.instance_id);
    }
  }
  ASSERT_FALSE(newcomers.empty()) << "moto's group launched no new member";

  std::map<std::string, json> candidates = ReturnCandidates(sb.Call(kGetReturnRequests, "{}"));
  bool lost_listed = false;
  for (const auto& [key, grace] : candidates) {
    lost_listed = lost_listed || key.find(ids[0]) != std::string::npos;
    for (const std::string& n : newcomers) {
      EXPECT_EQ(key.find(n), std::string::npos) << "[a running replacement is not a return "
                                                   "candidate]";
    }
  }
  EXPECT_TRUE(lost_listed) << "[the lost member is reported by getReturnRequests]";

  HfCallResult status = sb.Call(kGetRequestStatus, StatusInput({req}));
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  json report = status.doc["requests"][0];
  EXPECT_EQ(Str(report, "status"), "complete") << "[a completed request stays complete]";
  std::set<std::string> reported = MachineIds(report);
  for (const std::string& n : newcomers) {
    EXPECT_TRUE(reported.count(n)) << "[a member the group launched on its own is attached to "
                                      "the request, not left untracked] "
                                   << n << " in " << report.dump();
  }
  for (const json& m : report["machines"]) {
    if (newcomers.count(Str(m, "machineId"))) {
      EXPECT_THAT(Str(m, "message"), ::testing::HasSubstr("to replace"));
    }
  }

  // HostFactory returns the lost one and everything it holds: nothing stays behind.
  json refs = json::array();
  for (const json& m : report["machines"]) {
    refs.push_back({{"name", Str(m, "name")}, {"machineId", Str(m, "machineId")}});
  }
  const std::string ret = ReturnMachines(sb, refs);
  ASSERT_FALSE(ret.empty());
  auto final = PollUntilTerminal(sb, {ret}, book);
  EXPECT_EQ(Str(final[ret], "status"), "complete") << final[ret].dump();
  for (const Instance& i : cloud_->InstancesOfRequest(req)) {
    EXPECT_TRUE(i.state == "terminated" || i.state == "shutting-down")
        << "[nothing of the group keeps running] " << i.instance_id << " " << i.state;
  }
  EXPECT_TRUE(cloud_->AutoScalingGroupNames().empty()) << "[the emptied group is deleted]";
}

TEST_F(HfCapacityTest, PublicAddressOnlyWhenTheTemplateAsks) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = FaultSandbox(proxy);
  AddTemplate(sb, "Private", {{"vmType", "t3.micro"}, {"associatePublicIpAddress", false}});
  StatusBook book;
  json q = Acquire(sb, book, "Private", 1);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete") << q.dump();
  std::vector<SeenCall> calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].Param("NetworkInterface.1.AssociatePublicIpAddress"), "false");
  EXPECT_EQ(calls[0].Param("NetworkInterface.1.DeviceIndex"), "0");
  EXPECT_EQ(calls[0].Param("NetworkInterface.1.SubnetId"), subnet_)
      << "[with an explicit interface the subnet goes inside it]";
  EXPECT_EQ(calls[0].Param("SubnetId"), "") << "[EC2 refuses a subnet beside the interface]";
  // Without the field the subnet's default applies: no interface is described.
  proxy.ClearSeen();
  ASSERT_EQ(Str(Acquire(sb, book, "OnDemand-Micro", 1), "status"), "complete");
  calls = RunCalls(proxy);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].Param("NetworkInterface.1.DeviceIndex"), "");
  EXPECT_EQ(calls[0].Param("SubnetId"), subnet_);
}

// With no server running, getRequestStatus carries a reconciler pass when one is due:
// an instance tagged by this broker that nobody owns is terminated, and the status
// answer is unaffected.
TEST_F(HfConformanceTest, StatusCallsCarryTheReconcilerWhenItIsDue) {
  HfSandbox& sb = NewSandbox();
  sb.env()["ORB_BROKER_ID"] = "hf-reconcile-broker";
  sb.env()["ORB_RECONCILE_ORPHAN_GRACE_SEC"] = "0";
  RunInstancesRequest orphan;
  orphan.client_token = "hf-reconcile-orphan";
  orphan.image_id = image_;
  orphan.instance_type = "t3.micro";
  orphan.tag_specifications = {{"instance",
                                {{"orb:broker-id", "hf-reconcile-broker"},
                                 {"orb:request-id", "req-00000000-0000-0000-0000-00000000dead"}}}};
  const std::string orphan_id = cloud_->ec2().RunInstances(orphan).instances.at(0).instance_id;
  StatusBook book;
  std::string req;
  json q = Acquire(sb, book, "OnDemand-Micro", 1, &req);
  ASSERT_TRUE(q.is_object());
  EXPECT_EQ(Str(q, "status"), "complete");
  EXPECT_EQ(q["machines"].size(), 1u) << "[the orphan is not attached to anyone's request]";
  const std::string state = cloud_->InstancesById({orphan_id})[orphan_id].state;
  EXPECT_TRUE(state == "shutting-down" || state == "terminated")
      << "[an orphan of this broker is terminated by the reconciler's slice] " << state;
  EXPECT_THAT(sb.LogTail(), ::testing::HasSubstr("reconcile: terminate " + orphan_id))
      << "[each reconciler action is logged]";
}

TEST_F(HfConformanceTest, ConcurrentCallsKeepTheStoreConsistent) {
  // Through the fault proxy (no faults): it gives RunInstances AWS's ClientToken
  // semantics, which moto lacks, so that a send the HTTP client repeats after a lost
  // connection (same token) launches once, as at AWS.
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  // Four requestMachines at once.
  std::vector<HfProcess> procs;
  for (int i = 0; i < 4; ++i) {
    procs.push_back(sb.Start(kRequestMachines, RequestInput("OnDemand-Micro", 2).dump()));
  }
  std::vector<std::string> reqs;
  for (HfProcess& p : procs) {
    const std::string id = CheckCreated(sb.Wait(p), "req");
    if (!id.empty()) reqs.push_back(id);
  }
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(std::set<std::string>(reqs.begin(), reqs.end()).size(), 4u)
      << "[each requestMachines call is a new request with a new id]";

  // Eight getRequestStatus at once over the same requests.
  StatusBook concurrent;
  concurrent.check_sticky = false;  // the answers' order is unknown
  procs.clear();
  for (int i = 0; i < 8; ++i)
    procs.push_back(sb.Start(kGetRequestStatus, StatusInput(reqs).dump()));
  for (HfProcess& p : procs) CheckStatusAnswer(sb.Wait(p), reqs, concurrent);

  StatusBook book;
  auto final = PollUntilTerminal(sb, reqs, book);
  std::set<std::string> all_ids;
  for (const std::string& id : reqs) {
    EXPECT_EQ(Str(final[id], "status"), "complete") << id;
    EXPECT_EQ(final[id]["machines"].size(), 2u) << final[id].dump();
    std::vector<Instance> tagged = cloud_->InstancesOfRequest(id);
    EXPECT_EQ(tagged.size(), 2u) << "[no duplicate instances under concurrency] " << id;
    EXPECT_EQ(InstanceIds(tagged), MachineIds(final[id])) << "[no orphans] " << id;
    for (const std::string& m : MachineIds(final[id])) {
      EXPECT_TRUE(all_ids.insert(m).second) << "[a machine belongs to one request] " << m;
    }
  }
  EXPECT_EQ(cloud_->AllInstances().size(), 8u);
  for (const auto& [mid, lt] : concurrent.launchtime) {
    if (book.launchtime.count(mid)) {
      EXPECT_EQ(book.launchtime[mid], lt) << "[launchtime identical in every answer] " << mid;
    }
  }

  // Four returns racing four polls.
  procs.clear();
  for (const std::string& id : reqs) {
    procs.push_back(sb.Start(kRequestReturnMachines, json{{"machines", Refs(final[id])}}.dump()));
    procs.push_back(sb.Start(kGetRequestStatus, StatusInput(reqs).dump()));
  }
  std::vector<std::string> rets;
  for (HfProcess& p : procs) {
    HfCallResult r = sb.Wait(p);
    if (r.script == kRequestReturnMachines) {
      const std::string id = CheckCreated(r, "ret");
      if (!id.empty()) rets.push_back(id);
    } else {
      CheckStatusAnswer(r, reqs, concurrent);
    }
  }
  ASSERT_EQ(rets.size(), 4u);
  auto returned = PollUntilTerminal(sb, rets, book);
  for (const std::string& id : rets) EXPECT_EQ(Str(returned[id], "status"), "complete") << id;
  for (const Instance& i : cloud_->AllInstances()) {
    EXPECT_EQ(i.state, "terminated") << "[every returned instance terminated] " << i.instance_id;
  }
  ConfirmSticky(sb, reqs, book, 1);
}

}  // namespace
}  // namespace orb::testing
