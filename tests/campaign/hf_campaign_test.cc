// The fault campaign: orb's five HostFactory scripts driven as Symphony drives them
// (hostfactory/hf_harness.h: a new process per call, HostFactory's environment and
// time limit), against moto behind the fault proxy, for minutes at a time:
//
//   - weather: throttling storms (50 % and 90 % of calls), latency spikes within and
//     beyond orb's read timeout, 5xx bursts, dropped connections before and after
//     forwarding, AWS unreachable then unavailable, while HostFactory runs full
//     cycles (request, poll, return, poll) of a RunInstances, an EC2 Fleet and an
//     Auto Scaling group template;
//   - 20 concurrent HostFactory callers mixing all five operations on one work dir;
//   - the work dir's disk full (also filling up in the middle of a launch), the work
//     dir read-only, the database file corrupt (garbage, truncated, a damaged page),
//     each then repaired as docs/reliability.md says.
//
// Each scenario ends by comparing what HostFactory was told with what moto holds:
// no instance launched twice, none left running that HostFactory does not hold,
// none HostFactory saw that its request later forgot. Each prints one line,
//   CAMPAIGN scenario=<name> calls=<n> faults_injected=<n> requests=<n>
//            duplicates=<n> orphans=<n> lost=<n> invalid_json=<n> seconds=<s> ...
// for the table in docs/reliability.md.
//
// ORB_CAMPAIGN=short (the default, run by CI) or full (the durations:
// storms of 60 s, a 10 minute outage, 20 callers for 5 minutes).

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hostfactory/hf_harness.h"
#include "provider/aws/autoscaling_client.h"
#include "support/fault_proxy.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// HostFactory kills a provider script after HF_PROVIDER_ACTION_TIMEOUT (300 s by
// default, 240 s at some sites): every call must answer within it.
constexpr seconds kHfActionTimeout{240};

// The campaign's templates: one per provisioning API family, weight 1 each, so that
// a request of N machines launches exactly N instances.
constexpr const char* kRunTemplate = "Campaign-Run";
constexpr const char* kFleetTemplate = "Campaign-Fleet";
constexpr const char* kAsgTemplate = "Campaign-Asg";
const std::vector<std::string> kTemplates = {kRunTemplate, kFleetTemplate, kAsgTemplate};

// --- Profiles --------------------------------------------------------------------

struct Profile {
  std::string name;
  seconds storm;        // each throttling storm
  seconds spikes;       // latency spikes
  seconds bursts;       // 5xx bursts
  seconds drops;        // dropped connections
  seconds outage_lead;  // clear weather before AWS goes away
  seconds outage;       // AWS unreachable (first half), then answering 503 (second half)
  seconds mix;          // concurrent callers
  int callers;
  milliseconds poll_gap;  // between two calls of one HostFactory thread
  // orb's aws.read_timeout_ms in the spike scenario, and the spikes: `spike` plus up
  // to `spike_jitter`, so that some end within the timeout and some beyond it.
  milliseconds read_timeout;
  milliseconds spike;
  milliseconds spike_jitter;
  int launch_retry_sec;  // request.launch_retry_sec (HostFactory polls every ~30 s)
  seconds settle;        // how long requests may take to settle once the faults stop
};

const Profile& CurrentProfile() {
  static const Profile profile = [] {
    const char* env = std::getenv("ORB_CAMPAIGN");
    const std::string which = env == nullptr ? "" : env;
    Profile p;
    if (which == "full") {
      p.name = "full";
      p.storm = p.spikes = p.bursts = p.drops = seconds(60);
      p.outage_lead = seconds(20);
      p.outage = seconds(600);
      p.mix = seconds(300);
      p.callers = 20;
      p.poll_gap = milliseconds(2000);
      p.read_timeout = milliseconds(30000);  // orb's default
      p.spike = milliseconds(20000);
      p.spike_jitter = milliseconds(20000);
      p.launch_retry_sec = 20;
      p.settle = seconds(300);
      return p;
    }
    if (!which.empty() && which != "short") {
      std::cerr << "ORB_CAMPAIGN=" << which << " is neither short nor full: running short\n";
    }
    p.name = "short";
    p.storm = p.spikes = p.bursts = p.drops = seconds(15);
    p.outage_lead = seconds(4);
    p.outage = seconds(36);
    p.mix = seconds(40);
    p.callers = 20;
    p.poll_gap = milliseconds(300);
    p.read_timeout = milliseconds(2000);
    p.spike = milliseconds(1000);
    p.spike_jitter = milliseconds(2500);
    p.launch_retry_sec = 2;
    p.settle = seconds(120);
    return p;
  }();
  return profile;
}

// --- Small helpers ---------------------------------------------------------------

bool IsTerminal(const std::string& status) {
  return status == "complete" || status == "complete_with_error";
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

json RequestInput(const std::string& template_id, int count) {
  return {{"template", {{"templateId", template_id}, {"machineCount", count}}}};
}

json StatusInput(const std::vector<std::string>& ids) {
  json list = json::array();
  for (const std::string& id : ids) list.push_back({{"requestId", id}});
  return {{"requests", list}};
}

struct HostRef {
  std::string name, machine_id;
};

json RefsInput(const std::vector<HostRef>& refs) {
  json list = json::array();
  for (const HostRef& m : refs) list.push_back({{"name", m.name}, {"machineId", m.machine_id}});
  return {{"machines", list}};
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs a shell command line (the sqlite3 steps of the documented recovery); returns
// its exit status, with its output in `out`.
int Shell(const std::string& command, std::string* out = nullptr) {
  std::string text;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int status = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool HaveSqliteCli() { return Shell("command -v sqlite3") == 0; }

// --- What HostFactory saw --------------------------------------------------------

// One acquire request as HostFactory knows it.
struct Acquire {
  std::string template_id;
  int count = 0;
  std::set<std::string> succeeded;  // machines ever reported succeed
  json final;                       // its first terminal report (null before)
  std::map<std::string, std::string> held;  // succeeded machines not returned yet: id -> name
};

// Everything the HostFactory side of a scenario saw, from any number of threads,
// and the contract rules every answer must keep. Broken rules are collected (with
// the call) and reported as failures at the end of the scenario.
class Ledger {
 public:
  explicit Ledger(bool concurrent_polls = false) : sticky_(!concurrent_polls) {}

  // Records one call and checks what every answer keeps. True when the call
  // succeeded (exit 0, one JSON object on stdout).
  bool Record(const HfCallResult& r) {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    max_call_seconds_ = std::max(max_call_seconds_, r.seconds);
    timings_.push_back({Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(r.seconds)),
                        r.seconds});
    if (r.timed_out || r.seconds >= static_cast<double>(kHfActionTimeout.count())) {
      ++timeouts_;
      ProblemLocked("[every call answers within HostFactory's time limit (" +
                        std::to_string(kHfActionTimeout.count()) + " s)]",
                    r);
      return false;
    }
    if (!r.json_ok || !r.doc.is_object()) {
      ++invalid_json_;
      ProblemLocked("[stdout is exactly one JSON object, whatever happened] " + r.json_error, r);
      return false;
    }
    if (r.exit_code != 0) {
      ++failed_calls_;
      if (r.exit_code != 1) {
        ProblemLocked("[a failure exits 1] exit " + std::to_string(r.exit_code), r);
      }
      if (Str(r.doc, "message").empty()) {
        ProblemLocked("[a failure carries a non-empty message]", r);
      }
      std::string kind = Str(r.doc, "message").substr(0, 120);
      std::replace(kind.begin(), kind.end(), '\n', ' ');
      failures_[r.script + ": " + kind]++;
      return false;
    }
    return true;
  }

  // A rule broken, seen outside Record.
  void Problem(const std::string& rule, const HfCallResult& r) {
    std::lock_guard<std::mutex> lock(mu_);
    ProblemLocked(rule, r);
  }
  void Problem(const std::string& rule) {
    std::lock_guard<std::mutex> lock(mu_);
    if (problems_.size() < kMaxProblems) problems_.push_back(rule);
  }

  void Requested(const std::string& id, const std::string& template_id, int count) {
    std::lock_guard<std::mutex> lock(mu_);
    Acquire& a = acquires_[id];
    a.template_id = template_id;
    a.count = count;
  }
  void Returned(const std::string& id, const std::vector<HostRef>& refs) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const HostRef& m : refs) returns_[id].insert(m.machine_id);
  }

  // Checks a successful getRequestStatus answer; returns its requests by id.
  std::map<std::string, json> CheckStatus(const HfCallResult& r,
                                          const std::vector<std::string>& asked) {
    std::map<std::string, json> by_id;
    std::lock_guard<std::mutex> lock(mu_);
    if (!r.doc.contains("requests") || !r.doc["requests"].is_array()) {
      ProblemLocked("[getRequestStatus answers {\"requests\": [...]}]", r);
      return by_id;
    }
    for (const json& q : r.doc["requests"]) {
      const std::string id = Str(q, "requestId");
      if (id.empty() || by_id.count(id)) {
        ProblemLocked("[each asked request is reported once, with its requestId] " + id, r);
        continue;
      }
      by_id[id] = q;
      CheckRequestLocked(r, id, q);
    }
    for (const std::string& id : asked) {
      if (!by_id.count(id)) ProblemLocked("[every asked request is reported] " + id, r);
    }
    return by_id;
  }

  // Checks a successful requestMachines / requestReturnMachines answer.
  std::string CheckCreated(const HfCallResult& r, const std::string& prefix) {
    const std::string id = Str(r.doc, "requestId");
    if (id.rfind(prefix, 0) != 0) Problem("[requestId is " + prefix + "...]", r);
    return id;
  }

  // Checks a successful getReturnRequests answer.
  void CheckReturnRequests(const HfCallResult& r) {
    if (!r.doc.contains("requests") || !r.doc["requests"].is_array()) {
      Problem("[getReturnRequests answers {\"requests\": [...]}]", r);
      return;
    }
    for (const json& h : r.doc["requests"]) {
      if (!h.contains("gracePeriod") || !h["gracePeriod"].is_number_integer() ||
          Str(h, "machineId").empty()) {
        Problem("[each host to return is {machine, machineId, gracePeriod}]", r);
      }
    }
  }

  // Takes up to `n` held machines (of requests that settled), at random, for a return.
  std::vector<HostRef> TakeHeld(std::size_t n, std::mt19937& rng) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<std::string, std::string>> all;  // request, machine
    for (const auto& [id, a] : acquires_) {
      for (const auto& [m, name] : a.held) all.emplace_back(id, m);
    }
    std::shuffle(all.begin(), all.end(), rng);
    std::vector<HostRef> out;
    for (std::size_t i = 0; i < all.size() && out.size() < n; ++i) {
      Acquire& a = acquires_[all[i].first];
      out.push_back({a.held[all[i].second], all[i].second});
      a.held.erase(all[i].second);
    }
    return out;
  }
  std::vector<HostRef> TakeAllHeld() {
    std::mt19937 rng(1);
    return TakeHeld(static_cast<std::size_t>(-1), rng);
  }
  // Up to `n` held machines, at random, left held.
  std::vector<HostRef> PeekHeld(std::size_t n, std::mt19937& rng) {
    std::vector<HostRef> refs = TakeHeld(n, rng);
    PutBack(refs);
    return refs;
  }
  // Takes the held machines of one request.
  std::vector<HostRef> TakeHeldOf(const std::string& request_id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<HostRef> out;
    auto it = acquires_.find(request_id);
    if (it == acquires_.end()) return out;
    for (const auto& [m, name] : it->second.held) out.push_back({name, m});
    it->second.held.clear();
    return out;
  }
  // Puts machines back (a return that failed: HostFactory still holds them).
  void PutBack(const std::vector<HostRef>& refs) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const HostRef& m : refs) {
      auto owner = owner_.find(m.machine_id);
      if (owner != owner_.end()) acquires_[owner->second].held[m.machine_id] = m.name;
    }
  }

  // Requests not known to be settled (acquire and return).
  std::vector<std::string> OpenIds() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    for (const auto& [id, a] : acquires_) {
      if (!a.final.is_object()) ids.push_back(id);
    }
    for (const auto& [id, m] : returns_) {
      if (!final_returns_.count(id)) ids.push_back(id);
    }
    return ids;
  }
  std::vector<std::string> AllIds() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    for (const auto& [id, a] : acquires_) ids.push_back(id);
    for (const auto& [id, m] : returns_) ids.push_back(id);
    return ids;
  }
  std::map<std::string, Acquire> acquires() {
    std::lock_guard<std::mutex> lock(mu_);
    return acquires_;
  }
  std::map<std::string, std::set<std::string>> returns() {
    std::lock_guard<std::mutex> lock(mu_);
    return returns_;
  }
  std::map<std::string, json> final_returns() {
    std::lock_guard<std::mutex> lock(mu_);
    return final_returns_;
  }

  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  int invalid_json() {
    std::lock_guard<std::mutex> lock(mu_);
    return invalid_json_;
  }
  int timeouts() {
    std::lock_guard<std::mutex> lock(mu_);
    return timeouts_;
  }
  int failed_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_calls_;
  }
  int double_counted() {
    std::lock_guard<std::mutex> lock(mu_);
    return double_counted_;
  }
  double max_call_seconds() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_call_seconds_;
  }
  std::vector<std::string> problems() {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }
  // The calls that started in [from, to): how many, and the longest.
  std::pair<int, double> CallsStartedBetween(Clock::time_point from, Clock::time_point to) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    double longest = 0;
    for (const auto& [start, secs] : timings_) {
      if (start < from || start >= to) continue;
      ++n;
      longest = std::max(longest, secs);
    }
    return {n, longest};
  }
  std::map<std::string, int> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  static constexpr std::size_t kMaxProblems = 30;

  static std::set<std::string> MachineSet(const json& q) {
    std::set<std::string> ids;
    for (const json& m : q["machines"]) ids.insert(Str(m, "machineId"));
    return ids;
  }

  void CheckRequestLocked(const HfCallResult& r, const std::string& id, const json& q) {
    const std::string status = Str(q, "status");
    if (status != "running" && !IsTerminal(status)) {
      ProblemLocked("[status is running|complete|complete_with_error] " + id, r);
    }
    if (status == "complete_with_error" && Str(q, "message").empty()) {
      ProblemLocked("[complete_with_error says why in its message] " + id, r);
    }
    if (!q.contains("machines") || !q["machines"].is_array()) {
      ProblemLocked("[every request has a machines list] " + id, r);
      return;
    }
    const bool acquire = id.rfind("req-", 0) == 0;
    std::set<std::string> ids;
    bool executing = false;
    for (const json& m : q["machines"]) {
      const std::string mid = Str(m, "machineId");
      const std::string result = Str(m, "result");
      if (!ids.insert(mid).second) {
        ++double_counted_;
        ProblemLocked("[a request lists a machine once] " + id + " lists " + mid + " twice", r);
      }
      if (result != "executing" && result != "succeed" && result != "fail") {
        ProblemLocked("[result is executing|succeed|fail] " + id + " " + mid, r);
      }
      if (result == "fail" && Str(m, "message").empty()) {
        ProblemLocked("[fail carries a message] " + id + " " + mid, r);
      }
      executing = executing || result == "executing";
      if (!acquire) continue;
      auto [owner, fresh] = owner_.emplace(mid, id);
      if (!fresh && owner->second != id) {
        ++double_counted_;
        ProblemLocked("[a machine belongs to one request] " + mid + " is in " + owner->second +
                          " and " + id,
                      r);
      }
      if (result == "succeed") {
        if (Str(m, "name").empty() || Str(m, "privateIpAddress").empty()) {
          ProblemLocked("[succeed only with a name and a private IP] " + mid, r);
        }
        auto a = acquires_.find(id);
        if (a != acquires_.end()) a->second.succeeded.insert(mid);
      }
    }
    if (IsTerminal(status) && executing) {
      ProblemLocked("[never terminal while a machine is still provisioning] " + id, r);
    }
    if (!IsTerminal(status)) {
      auto a = acquires_.find(id);
      if (sticky_ && a != acquires_.end() && a->second.final.is_object()) {
        ProblemLocked("[terminal statuses are sticky] " + id + " was terminal, now " + status, r);
      }
      if (sticky_ && final_returns_.count(id)) {
        ProblemLocked("[terminal statuses are sticky] " + id + " was terminal, now " + status, r);
      }
      return;
    }
    if (!acquire) {
      if (!final_returns_.count(id)) final_returns_[id] = q;
      return;
    }
    auto a = acquires_.find(id);
    if (a == acquires_.end()) return;
    if (a->second.final.is_object()) {
      const json& before = a->second.final;
      if (Str(before, "status") != status || MachineSet(before) != MachineSet(q)) {
        ProblemLocked("[terminal statuses and machine sets are sticky] " + id + " was " +
                          before.dump(),
                      r);
      }
      return;
    }
    a->second.final = q;
    for (const json& m : q["machines"]) {
      if (Str(m, "result") == "succeed") a->second.held[Str(m, "machineId")] = Str(m, "name");
    }
  }

  void ProblemLocked(const std::string& rule, const HfCallResult& r) {
    if (problems_.size() < kMaxProblems) problems_.push_back(rule + "\n" + r.Describe());
  }

  std::mutex mu_;
  const bool sticky_;
  int calls_ = 0, invalid_json_ = 0, timeouts_ = 0, failed_calls_ = 0, double_counted_ = 0;
  double max_call_seconds_ = 0;
  std::map<std::string, int> failures_;  // failed calls by script and message start
  std::vector<std::string> problems_;
  std::map<std::string, Acquire> acquires_;
  std::map<std::string, std::set<std::string>> returns_;  // return id -> machines named
  std::map<std::string, json> final_returns_;
  std::map<std::string, std::string> owner_;  // machine -> acquire request
  std::vector<std::pair<Clock::time_point, double>> timings_;  // call start, seconds
};

// HostFactory's side of one provider instance: the five calls, each recorded and
// checked in the ledger, and the cycles HostFactory runs with them.
class HostFactory {
 public:
  HostFactory(HfSandbox& sb, Ledger& ledger, milliseconds gap)
      : sb_(sb), ledger_(ledger), gap_(gap) {}

  bool Templates() {
    HfCallResult r = sb_.Call(kGetAvailableTemplates, "{}");
    if (!ledger_.Record(r)) return false;
    if (!r.doc.contains("templates") || !r.doc["templates"].is_array() ||
        r.doc["templates"].empty()) {
      ledger_.Problem("[getAvailableTemplates lists the templates, never an empty list]", r);
    }
    return true;
  }

  // A new request; "" when the call failed.
  std::string Request(const std::string& template_id, int count, HfCallResult* out = nullptr) {
    HfCallResult r = sb_.Call(kRequestMachines, RequestInput(template_id, count));
    if (out) *out = r;
    if (!ledger_.Record(r)) return "";
    const std::string id = ledger_.CheckCreated(r, "req-");
    if (!id.empty()) ledger_.Requested(id, template_id, count);
    return id;
  }

  // One poll; empty when the call failed.
  std::map<std::string, json> Status(const std::vector<std::string>& ids,
                                     HfCallResult* out = nullptr) {
    HfCallResult r = sb_.Call(kGetRequestStatus, StatusInput(ids));
    if (out) *out = r;
    if (!ledger_.Record(r)) return {};
    return ledger_.CheckStatus(r, ids);
  }

  // A return; "" when the call failed.
  std::string Return(const std::vector<HostRef>& refs, HfCallResult* out = nullptr) {
    HfCallResult r = sb_.Call(kRequestReturnMachines, RefsInput(refs));
    if (out) *out = r;
    if (!ledger_.Record(r)) return "";
    const std::string id = ledger_.CheckCreated(r, "ret-");
    if (!id.empty()) ledger_.Returned(id, refs);
    return id;
  }

  bool ReturnRequests(const std::vector<HostRef>& refs, HfCallResult* out = nullptr) {
    HfCallResult r = sb_.Call(kGetReturnRequests, refs.empty() ? json::object() : RefsInput(refs));
    if (out) *out = r;
    if (!ledger_.Record(r)) return false;
    ledger_.CheckReturnRequests(r);
    return true;
  }

  // Polls `ids` until every one is terminal or `limit` passes; returns the last
  // report of each (none for a request no poll answered).
  std::map<std::string, json> PollUntilTerminal(const std::vector<std::string>& ids,
                                                Clock::time_point limit) {
    std::map<std::string, json> last;
    while (true) {
      for (auto& [id, q] : Status(ids)) last[id] = q;
      bool all = last.size() == ids.size();
      for (const auto& [id, q] : last) all = all && IsTerminal(Str(q, "status"));
      if (all || Clock::now() > limit) return last;
      std::this_thread::sleep_for(gap_);
    }
  }

  // HostFactory's cycle of `template_id`: asks for `count` machines (again after a
  // failed call), polls until the request settles, returns what it got (again after
  // a failed call) and polls the return until it settles. Gives up at `limit`.
  void Cycle(const std::string& template_id, int count, Clock::time_point limit) {
    std::string id;
    while ((id = Request(template_id, count)).empty()) {
      if (Clock::now() > limit) {
        ledger_.Problem("[requestMachines succeeds again once the cloud is back] " + template_id);
        return;
      }
      std::this_thread::sleep_for(gap_);
    }
    std::map<std::string, json> q = PollUntilTerminal({id}, limit);
    if (!q.count(id) || !IsTerminal(Str(q[id], "status"))) {
      ledger_.Problem("[a request reaches a terminal status] " + id + " (" + template_id +
                      ") is " + (q.count(id) ? q[id].dump() : "unanswered"));
      return;
    }
    ReturnAndSettle(ledger_.TakeHeldOf(id), limit);
  }

  // Returns `refs` (again after a failed call) and polls the return until it settles.
  void ReturnAndSettle(const std::vector<HostRef>& refs, Clock::time_point limit) {
    if (refs.empty()) return;
    std::string ret;
    while ((ret = Return(refs)).empty()) {
      if (Clock::now() > limit) {
        ledger_.Problem("[requestReturnMachines succeeds again once the cloud is back]");
        return;
      }
      std::this_thread::sleep_for(gap_);
    }
    std::map<std::string, json> q = PollUntilTerminal({ret}, limit);
    if (!q.count(ret) || Str(q[ret], "status") != "complete") {
      ledger_.Problem("[a return request completes] " + ret + " is " +
                      (q.count(ret) ? q[ret].dump() : "unanswered"));
    }
  }

  // Settles everything: polls every open request, returns every held machine,
  // polls the returns.
  void SettleAll(Clock::time_point limit) {
    std::vector<std::string> open = ledger_.OpenIds();
    if (!open.empty()) PollUntilTerminal(open, limit);
    ReturnAndSettle(ledger_.TakeAllHeld(), limit);
    open = ledger_.OpenIds();
    if (!open.empty()) {
      std::map<std::string, json> q = PollUntilTerminal(open, limit);
      for (const std::string& id : open) {
        if (!q.count(id) || !IsTerminal(Str(q[id], "status"))) {
          ledger_.Problem("[every request settles once the faults stop] " + id + " is " +
                          (q.count(id) ? q[id].dump() : "unanswered"));
        }
      }
    }
  }

 private:
  HfSandbox& sb_;
  Ledger& ledger_;
  milliseconds gap_;
};

// --- The cloud's side ------------------------------------------------------------

// What moto holds against what HostFactory was told.
struct Audit {
  int requests = 0;    // acquire and return requests HostFactory got an id for
  int duplicates = 0;  // instances beyond what their request asked, machines in two
                       // requests, machines listed twice by one request
  int orphans = 0;     // instances still running that HostFactory does not hold, and
                       // groups left with capacity
  int lost = 0;        // machines HostFactory saw succeed that their request's final
                       // report (or the store) no longer has; returned machines a
                       // return's final report misses
  int unknown_launched = 0;  // instances of requests HostFactory never got the id of
  std::vector<std::string> details;
};

// The instances of `request_id` in the orb store, read behind orb's back.
std::map<std::string, std::string> StoredMachines(const fs::path& db) {
  std::map<std::string, std::string> out;  // machine -> request
  SQLite::Database d(db.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(d, "SELECT machine_id, request_id FROM machines WHERE machine_id LIKE 'i-%' "
                           "AND request_id != ''");
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getString();
  return out;
}

std::string IntegrityCheck(const fs::path& db) {
  SQLite::Database d(db.string(), SQLite::OPEN_READONLY);
  return d.execAndGet("PRAGMA integrity_check").getString();
}

// --- Fixture ---------------------------------------------------------------------

class CampaignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MotoServer& moto = MotoServer::Shared();
    moto.Reset();
    moto_endpoint_ = moto.endpoint();
    cloud_ = std::make_unique<MotoSide>(moto_endpoint_);
    const std::string image = cloud_->ImageId();
    const std::string subnet = cloud_->SubnetId();
    json run = {{"templateId", kRunTemplate}, {"maxNumber", 1000},
                {"providerApi", "RunInstances"}, {"priceType", "ondemand"},
                {"vmType", "t3.micro"}, {"imageId", image}, {"subnetId", subnet}};
    json fleet = {{"templateId", kFleetTemplate}, {"maxNumber", 1000},
                  {"providerApi", "EC2Fleet"}, {"fleetType", "instant"},
                  {"priceType", "ondemand"}, {"vmTypes", {{"t3.micro", 1}, {"t3.small", 1}}},
                  {"imageId", image}, {"subnetId", subnet}};
    json asg = {{"templateId", kAsgTemplate}, {"maxNumber", 1000}, {"providerApi", "ASG"},
                {"vmType", "t3.small"}, {"imageId", image}, {"subnetId", subnet}};
    templates_ = {{"templates", {run, fleet, asg}}};
    started_ = Clock::now();
  }

  void TearDown() override {
    const char* verbose = std::getenv("HF_CONFORMANCE_VERBOSE");
    if (HasFailure() || (verbose != nullptr && std::string(verbose) == "1")) {
      for (auto& sb : sandboxes_) {
        std::vector<std::string> calls = sb->transcript();
        std::cout << "==== " << calls.size() << " HostFactory call(s); the last ones:\n";
        const std::size_t from = calls.size() > 12 ? calls.size() - 12 : 0;
        for (std::size_t i = from; i < calls.size(); ++i) std::cout << calls[i] << "\n";
        std::cout << "==== orb's logs\n" << sb->LogTail(80) << "====\n";
      }
    }
    sandboxes_.clear();
  }

  // A provider instance using `endpoint`, with the campaign's templates, calls
  // limited to HostFactory's time, interrupted launches resumed after
  // launch_retry_sec (HostFactory polls every ~30 s; the default, 60 s, is for that).
  HfSandbox& NewSandbox(const std::string& endpoint) {
    HfSandboxOptions options;
    options.call_timeout = kHfActionTimeout + seconds(30);  // Record() judges the limit
    auto sb = std::make_unique<HfSandbox>(endpoint, options);
    sb->WriteConfig({{"AWS_INSTANCE_PENDING_TIMEOUT_SEC", 600}});
    sb->WriteTemplates(templates_);
    sb->env()["ORB_LAUNCH_RETRY_SEC"] = std::to_string(CurrentProfile().launch_retry_sec);
    sandboxes_.push_back(std::move(sb));
    return *sandboxes_.back();
  }

  // Compares moto with what HostFactory was told. With `all_returned`, HostFactory
  // returned everything it held, so every instance must be gone.
  Audit AuditCloud(Ledger& ledger, HfSandbox& sb, bool all_returned) {
    Audit audit;
    std::map<std::string, Acquire> acquires = ledger.acquires();
    std::map<std::string, std::set<std::string>> returns = ledger.returns();
    std::map<std::string, json> final_returns = ledger.final_returns();
    audit.requests = static_cast<int>(acquires.size() + returns.size());
    audit.duplicates += ledger.double_counted();
    auto detail = [&](const std::string& text) {
      if (audit.details.size() < 40) audit.details.push_back(text);
    };

    std::vector<Instance> all = cloud_->AllInstances();
    std::map<std::string, std::vector<Instance>> by_request;
    for (const Instance& i : all) by_request[TagValue(i.tags, kRequestIdTagKey)].push_back(i);
    auto gone = [](const Instance& i) {
      return i.state == "terminated" || i.state == "shutting-down";
    };
    std::set<std::string> held;  // what HostFactory still holds
    for (const auto& [id, a] : acquires) {
      for (const auto& [m, name] : a.held) held.insert(m);
    }

    for (const auto& [id, a] : acquires) {
      const std::vector<Instance>& tagged = by_request[id];
      if (static_cast<int>(tagged.size()) > a.count) {
        audit.duplicates += static_cast<int>(tagged.size()) - a.count;
        detail("duplicate: " + id + " asked " + std::to_string(a.count) + ", moto holds " +
               std::to_string(tagged.size()) + " instances tagged with it");
      }
      std::set<std::string> reported;
      if (a.final.is_object()) {
        for (const json& m : a.final["machines"]) reported.insert(Str(m, "machineId"));
      } else {
        detail("unsettled: " + id + " never reached a terminal status");
      }
      for (const std::string& m : a.succeeded) {
        if (!reported.count(m)) {
          ++audit.lost;
          detail("lost: " + m + " was reported succeed for " + id +
                 " but is missing from its final report");
        }
      }
      std::set<std::string> tagged_ids;
      for (const Instance& i : tagged) {
        tagged_ids.insert(i.instance_id);
        if (gone(i)) continue;
        if (!reported.count(i.instance_id)) {
          ++audit.orphans;
          detail("orphan: " + i.instance_id + " (" + i.state + ") of " + id +
                 " is running but " + id + " does not report it");
        } else if (!held.count(i.instance_id) && all_returned) {
          ++audit.orphans;
          detail("orphan: " + i.instance_id + " of " + id + " was returned but is " + i.state);
        }
      }
      for (const std::string& m : reported) {
        if (!tagged_ids.count(m)) {
          ++audit.lost;
          detail("mismatch: " + id + " reports " + m + ", which moto does not tag with " + id);
        }
      }
    }
    for (const auto& [tag, instances] : by_request) {
      if (acquires.count(tag)) continue;
      for (const Instance& i : instances) {
        ++audit.unknown_launched;
        if (gone(i)) continue;
        ++audit.orphans;
        detail("orphan: " + i.instance_id + " (" + i.state + ") is tagged with request '" + tag +
               "', which HostFactory never got the id of");
      }
    }
    for (const auto& [ret, machines] : returns) {
      auto f = final_returns.find(ret);
      if (f == final_returns.end()) {
        detail("unsettled: return " + ret + " never completed");
        continue;
      }
      std::set<std::string> listed;
      for (const json& m : f->second["machines"]) listed.insert(Str(m, "machineId"));
      for (const std::string& m : machines) {
        if (!listed.count(m)) {
          ++audit.lost;
          detail("lost: return " + ret + " named " + m + " but its final report misses it");
        }
      }
    }
    // Groups: once everything is returned no Auto Scaling group may keep capacity
    // (it would launch instances nobody holds).
    if (all_returned) {
      AwsClient aws = MakeTestAwsClient(moto_endpoint_);
      AutoScalingClient asg(aws);
      for (const AutoScalingGroup& g : asg.DescribeAutoScalingGroups({})) {
        if (g.desired_capacity > 0) {
          ++audit.orphans;
          detail("orphan group: " + g.name + " keeps desired capacity " +
                 std::to_string(g.desired_capacity));
        }
      }
    }
    // The store, read behind orb's back: every instance moto tags with a request
    // HostFactory knows is recorded under that request.
    const fs::path db = sb.work_dir() / "orb.db";
    if (fs::exists(db)) {
      std::map<std::string, std::string> stored = StoredMachines(db);
      for (const auto& [id, a] : acquires) {
        for (const Instance& i : by_request[id]) {
          auto s = stored.find(i.instance_id);
          if (s == stored.end()) {
            // (one HostFactory never saw is an orphan, counted above, if it runs)
            if (!gone(i) && a.succeeded.count(i.instance_id)) {
              ++audit.lost;
              detail("lost: the store does not record " + i.instance_id + " of " + id);
            }
          } else if (s->second != id) {
            ++audit.duplicates;
            detail("mismatch: the store records " + i.instance_id + " under " + s->second +
                   ", moto tags it with " + id);
          }
        }
      }
      const std::string integrity = IntegrityCheck(db);
      if (integrity != "ok") detail("store: integrity_check says " + integrity);
      EXPECT_EQ(integrity, "ok") << "[the store stays consistent]";
    }
    return audit;
  }

  // Prints the scenario's line and fails on every broken rule.
  void Conclude(const std::string& scenario, Ledger& ledger, const Audit& audit,
                int faults_injected, const std::string& extra = "") {
    const double secs = SecondsSince(started_);
    std::ostringstream line;
    line << std::fixed << std::setprecision(1);
    line << "CAMPAIGN scenario=" << scenario << " calls=" << ledger.calls()
         << " faults_injected=" << faults_injected << " requests=" << audit.requests
         << " duplicates=" << audit.duplicates << " orphans=" << audit.orphans
         << " lost=" << audit.lost << " invalid_json=" << ledger.invalid_json()
         << " seconds=" << secs << " profile=" << CurrentProfile().name
         << " failed_calls=" << ledger.failed_calls() << " timeouts=" << ledger.timeouts()
         << " max_call_s=" << ledger.max_call_seconds()
         << " unknown_launched=" << audit.unknown_launched << extra;
    std::cout << line.str() << std::endl;
    std::map<std::string, int> failures = ledger.failures();
    if (!failures.empty()) {
      std::cout << "  failed calls (exit 1, HostFactory calls again later), by message:\n";
      for (const auto& [m, n] : failures) std::cout << "    " << n << " x " << m << "\n";
    }
    for (const std::string& d : audit.details) std::cout << "  " << d << "\n";
    for (const std::string& p : ledger.problems()) ADD_FAILURE() << p;
    EXPECT_EQ(ledger.invalid_json(), 0) << "[every output is one JSON object]";
    EXPECT_EQ(ledger.timeouts(), 0) << "[every call answers within HostFactory's time limit]";
    EXPECT_EQ(audit.duplicates, 0) << "[no instance launched twice, no machine counted twice]";
    EXPECT_EQ(audit.orphans, 0) << "[nothing left running that HostFactory does not hold]";
    EXPECT_EQ(audit.lost, 0) << "[no machine HostFactory saw is forgotten]";
  }

  std::string moto_endpoint_;
  std::unique_ptr<MotoSide> cloud_;
  json templates_;
  std::vector<std::unique_ptr<HfSandbox>> sandboxes_;
  Clock::time_point started_;
};

// --- Weather: faults on the way to AWS -------------------------------------------

struct Weather {
  std::string scenario;
  seconds window;                                   // cycles start during it
  std::function<void(FaultProxy&)> start;           // applies the faults at once
  std::function<void(FaultProxy&)> drive;           // or drives them (own thread)
  std::map<std::string, std::string> env;           // orb settings for the scenario
  int count = 2;                                    // machines per request
  std::function<std::string(Ledger&)> figures;      // more figures for the summary
};

class CampaignWeatherTest : public CampaignTest {
 protected:
  // HostFactory cycles every campaign template, one thread each, for the window
  // while `w` disturbs the way to AWS; then settles, returns everything and audits.
  void Run(const Weather& w) {
    const Profile& profile = CurrentProfile();
    FaultProxy proxy(moto_endpoint_);
    HfSandbox& sb = NewSandbox(proxy.endpoint());
    for (const auto& [k, v] : w.env) sb.env()[k] = v;
    Ledger ledger;
    HostFactory hf(sb, ledger, profile.poll_gap);
    ASSERT_TRUE(hf.Templates()) << "getAvailableTemplates fails before any fault";

    if (w.start) w.start(proxy);
    std::thread driver;
    if (w.drive) driver = std::thread([&] { w.drive(proxy); });
    const auto window_end = Clock::now() + w.window;
    const auto limit = window_end + profile.settle;
    std::vector<std::thread> threads;
    std::atomic<int> cycles{0};
    for (const std::string& t : kTemplates) {
      threads.emplace_back([&, t] {
        do {
          hf.Cycle(t, w.count, limit);
          ++cycles;
        } while (Clock::now() < window_end);
      });
    }
    // HostFactory also lists templates and asks for hosts to give back on its own.
    threads.emplace_back([&] {
      while (Clock::now() < window_end) {
        hf.ReturnRequests({});
        hf.Templates();
        std::this_thread::sleep_for(profile.poll_gap * 5);
      }
    });
    for (std::thread& t : threads) t.join();
    if (driver.joinable()) driver.join();
    const int faults = proxy.FaultsInjected();
    proxy.SetPlan(FaultPlan{});
    hf.SettleAll(Clock::now() + profile.settle);
    Audit audit = AuditCloud(ledger, sb, /*all_returned=*/true);
    // The faults were passing and no request had reached its deadline: every request
    // completes with everything it asked for.
    for (const auto& [id, a] : ledger.acquires()) {
      if (a.final.is_object()) {
        EXPECT_EQ(Str(a.final, "status"), "complete")
            << "[a passing fault never fails a request] " << id << ": " << a.final.dump();
      }
    }
    EXPECT_GT(faults, 0) << "[the scenario injected faults]";
    EXPECT_GE(cycles.load(), static_cast<int>(kTemplates.size()));
    Conclude(w.scenario, ledger, audit, faults,
             " cycles=" + std::to_string(cycles.load()) + (w.figures ? w.figures(ledger) : ""));
  }
};

TEST_F(CampaignWeatherTest, ThrottlingStormHalfOfCalls) {
  const Profile& p = CurrentProfile();
  Weather w;
  w.scenario = "throttling-50";
  w.window = p.storm;
  w.start = [&](FaultProxy& proxy) {
    FaultPlan storm;
    storm.throttle_fraction = 0.5;
    storm.seed = 50;
    proxy.SetSchedule({{p.storm, storm}});
  };
  Run(w);
}

TEST_F(CampaignWeatherTest, ThrottlingStormNineTenthsOfCalls) {
  const Profile& p = CurrentProfile();
  Weather w;
  w.scenario = "throttling-90";
  w.window = p.storm;
  w.start = [&](FaultProxy& proxy) {
    FaultPlan storm;
    storm.throttle_fraction = 0.9;
    storm.seed = 90;
    proxy.SetSchedule({{p.storm, storm}});
  };
  Run(w);
}

TEST_F(CampaignWeatherTest, LatencySpikesWithinAndBeyondTheReadTimeout) {
  const Profile& p = CurrentProfile();
  Weather w;
  w.scenario = "latency-spikes";
  w.window = p.spikes;
  w.env["ORB_AWS_READ_TIMEOUT_MS"] = std::to_string(p.read_timeout.count());
  w.start = [&](FaultProxy& proxy) {
    FaultPlan spikes;
    spikes.spike_fraction = 0.3;
    spikes.spike = p.spike;
    spikes.spike_jitter = p.spike_jitter;
    spikes.seed = 7;
    proxy.SetSchedule({{p.spikes, spikes}});
  };
  Run(w);
}

TEST_F(CampaignWeatherTest, ServerErrorBursts) {
  const Profile& p = CurrentProfile();
  Weather w;
  w.scenario = "5xx-bursts";
  w.window = p.bursts;
  w.start = [&](FaultProxy& proxy) {
    // Bursts of 2 s in which every call fails (500 InternalError or 503
    // Unavailable), 3 s apart.
    std::vector<FaultPhase> phases;
    for (seconds t{0}; t < p.bursts; t += seconds(5)) {
      FaultPlan burst;
      burst.server_error_fraction = 0.5;
      burst.unavailable_fraction = 0.5;
      burst.seed = static_cast<unsigned>(t.count()) + 3;
      phases.push_back({milliseconds(2000), burst});
      phases.push_back({milliseconds(3000), FaultPlan{}});
    }
    proxy.SetSchedule(phases);
  };
  Run(w);
}

TEST_F(CampaignWeatherTest, DroppedConnectionsBeforeAndAfterForwarding) {
  const Profile& p = CurrentProfile();
  Weather w;
  w.scenario = "dropped-connections";
  w.window = p.drops;
  w.start = [&](FaultProxy& proxy) {
    FaultPlan drops;
    drops.drop_before_fraction = 0.15;  // the call never reached AWS
    drops.drop_after_fraction = 0.15;   // AWS acted, the answer was lost
    drops.seed = 15;
    proxy.SetSchedule({{p.drops, drops}});
  };
  Run(w);
}

TEST_F(CampaignWeatherTest, AwsUnavailableInTheMiddleOfCycles) {
  const Profile& p = CurrentProfile();
  Weather w;
  w.scenario = "aws-outage";
  w.window = p.outage_lead + p.outage;
  Clock::time_point down, half, up;
  w.drive = [&](FaultProxy& proxy) {
    std::this_thread::sleep_for(p.outage_lead);
    down = Clock::now();
    proxy.SetRefusing(true);  // unreachable: every connection refused
    std::this_thread::sleep_for(p.outage / 2);
    FaultPlan unavailable;  // reachable again, but answering 503 to everything
    unavailable.unavailable_fraction = 1.0;
    proxy.SetPlan(unavailable);
    proxy.SetRefusing(false);
    half = Clock::now();
    std::this_thread::sleep_for(p.outage - p.outage / 2);
    proxy.SetPlan(FaultPlan{});
    up = Clock::now();
  };
  // The calls HostFactory made while AWS was away answered quickly: the contract
  // check is Ledger's (within HostFactory's time limit); these are the figures.
  w.figures = [&](Ledger& ledger) {
    const auto [refused_calls, refused_max] = ledger.CallsStartedBetween(down, half);
    const auto [unavailable_calls, unavailable_max] = ledger.CallsStartedBetween(half, up);
    EXPECT_GT(refused_calls, 0) << "HostFactory made no call while AWS was unreachable";
    EXPECT_GT(unavailable_calls, 0) << "HostFactory made no call while AWS answered 503";
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << " outage_s=" << p.outage.count()
        << " calls_unreachable=" << refused_calls << " max_call_s_unreachable=" << refused_max
        << " calls_503=" << unavailable_calls << " max_call_s_503=" << unavailable_max;
    return out.str();
  };
  Run(w);
}

// --- Twenty concurrent HostFactory callers ----------------------------------------

TEST_F(CampaignTest, TwentyConcurrentCallersMixingAllFiveOperations) {
  const Profile& profile = CurrentProfile();
  FaultProxy proxy(moto_endpoint_);  // no faults: AWS's ClientToken semantics only
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  Ledger ledger(/*concurrent_polls=*/true);
  HostFactory hf(sb, ledger, profile.poll_gap);
  const auto end = Clock::now() + profile.mix;
  std::atomic<int> ops[5] = {};
  std::mutex returned_mu;
  std::vector<HostRef> returned;  // returned once; some are returned again
  std::vector<std::thread> callers;
  for (int c = 0; c < profile.callers; ++c) {
    callers.emplace_back([&, c] {
      std::mt19937 rng(1000 + static_cast<unsigned>(c));
      auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
      while (Clock::now() < end) {
        const int draw = pick(100);
        if (draw < 10) {
          ++ops[0];
          hf.Templates();
        } else if (draw < 30) {
          ++ops[1];
          hf.Request(kTemplates[static_cast<std::size_t>(pick(3))], 1 + pick(2));
        } else if (draw < 62) {
          ++ops[2];
          std::vector<std::string> open = ledger.OpenIds();
          std::vector<std::string> all = ledger.AllIds();
          std::shuffle(open.begin(), open.end(), rng);
          open.resize(std::min<std::size_t>(open.size(), 4));
          if (!all.empty()) open.push_back(all[static_cast<std::size_t>(pick(static_cast<int>(all.size())))]);
          std::sort(open.begin(), open.end());
          open.erase(std::unique(open.begin(), open.end()), open.end());
          if (!open.empty()) hf.Status(open);
        } else if (draw < 84) {
          ++ops[3];
          std::vector<HostRef> refs = ledger.TakeHeld(1 + static_cast<std::size_t>(pick(3)), rng);
          {
            // HostFactory names a host again when its first return call timed out.
            std::lock_guard<std::mutex> lock(returned_mu);
            if (!returned.empty() && pick(10) == 0) {
              refs.push_back(returned[static_cast<std::size_t>(pick(static_cast<int>(returned.size())))]);
            }
          }
          if (refs.empty()) continue;
          if (hf.Return(refs).empty()) {
            ledger.PutBack(refs);
          } else {
            std::lock_guard<std::mutex> lock(returned_mu);
            returned.insert(returned.end(), refs.begin(), refs.end());
          }
        } else {
          ++ops[4];
          hf.ReturnRequests(pick(2) == 0 ? std::vector<HostRef>{} : ledger.PeekHeld(4, rng));
        }
        std::this_thread::sleep_for(milliseconds(pick(static_cast<int>(profile.poll_gap.count()) * 2)));
      }
    });
  }
  for (std::thread& t : callers) t.join();
  const int during = ledger.calls();
  hf.SettleAll(Clock::now() + profile.settle);
  Audit audit = AuditCloud(ledger, sb, /*all_returned=*/true);
  for (int i = 0; i < 5; ++i) EXPECT_GT(ops[i].load(), 0) << "operation " << i << " never ran";
  EXPECT_EQ(ledger.failed_calls(), 0)
      << "[without faults, concurrent calls on one work dir all succeed]";
  // Every machine moto ever launched is in exactly one request HostFactory knows.
  std::set<std::string> reported;
  for (const auto& [id, a] : ledger.acquires()) {
    if (!a.final.is_object()) continue;
    for (const json& m : a.final["machines"]) {
      EXPECT_TRUE(reported.insert(Str(m, "machineId")).second) << Str(m, "machineId");
    }
  }
  std::set<std::string> in_moto;
  for (const Instance& i : cloud_->AllInstances()) in_moto.insert(i.instance_id);
  EXPECT_EQ(reported, in_moto) << "[the machines recorded are exactly the instances launched]";
  std::ostringstream extra;
  extra << " callers=" << profile.callers << " calls_during_mix=" << during
        << " templates=" << ops[0].load() << " request=" << ops[1].load()
        << " status=" << ops[2].load() << " return=" << ops[3].load()
        << " return_requests=" << ops[4].load()
        << " machines=" << in_moto.size();
  Conclude("20-callers", ledger, audit, 0, extra.str());
}


// --- The work dir's storage ------------------------------------------------------

// Gives the calling thread, and the processes and threads it starts from then on, a
// mount namespace of its own in which the test may mount (root with CAP_SYS_ADMIN);
// its mounts vanish with the test process. False when that is not possible.
bool PrivateMountNamespace() {
  static int state = -1;  // gtest runs every test on the main thread
  if (state >= 0) return state == 1;
  state = 0;
  if (::geteuid() != 0) return false;
  if (::unshare(CLONE_NEWNS) != 0) return false;
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  state = 1;
  return true;
}

// What a store failure's message must say: what is wrong (one of `reasons`) and
// what to do (one of `advice`).
struct StoreFault {
  std::vector<std::string> reasons;
  std::vector<std::string> advice;
};

const StoreFault kDiskFull{{"is full", "No space left", "File too large"},
                           {"free some space", "check the disk"}};
const StoreFault kReadOnly{{"read-only", "Read-only", "Permission denied"}, {"writable"}};
const StoreFault kCorrupt{{"corrupt", "not an orb database", "malformed"},
                          {"backup", "move it aside"}};

// Checks a call refused because of the store: exit 1, one JSON object whose message
// names the database file, says what is wrong and what to do.
void ExpectStoreRefusal(const HfCallResult& r, const fs::path& db, const StoreFault& fault,
                        const std::string& rule) {
  SCOPED_TRACE(r.Describe());
  ASSERT_TRUE(r.json_ok && r.doc.is_object()) << "[" << rule << "] [stdout is one JSON object]";
  EXPECT_EQ(r.exit_code, 1) << "[" << rule << "] [a store failure exits non-zero (1)]";
  const std::string message = Str(r.doc, "message");
  EXPECT_THAT(message, ::testing::HasSubstr(db.string()))
      << "[" << rule << "] [the message names the database file]";
  auto says = [&](const std::vector<std::string>& words) {
    for (const std::string& w : words) {
      if (message.find(w) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(says(fault.reasons)) << "[" << rule << "] [the message says what is wrong: one of "
                                   << ::testing::PrintToString(fault.reasons) << "] " << message;
  EXPECT_TRUE(says(fault.advice)) << "[" << rule << "] [the message says what to do: one of "
                                  << ::testing::PrintToString(fault.advice) << "] " << message;
}

// Instance id -> state, as moto has them.
std::map<std::string, std::string> CloudStates(MotoSide& cloud) {
  std::map<std::string, std::string> out;
  for (const Instance& i : cloud.AllInstances()) out[i.instance_id] = i.state;
  return out;
}

class CampaignStorageTest : public CampaignTest {
 protected:
  void SetUp() override {
    CampaignTest::SetUp();
    // Before any proxy thread starts, so that the proxy sees the same mounts.
    mounts_ = PrivateMountNamespace();
  }

  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
      ::umount2(it->c_str(), MNT_DETACH);
    }
    mounted_.clear();
    for (auto& sb : sandboxes_) {
      std::error_code ec;
      fs::permissions(sb->work_dir(), fs::perms::owner_all, ec);
    }
    CampaignTest::TearDown();
  }

  // Puts `dir` on a tmpfs of `bytes` (it must be empty).
  void MountSmallDisk(const fs::path& dir, std::size_t bytes) {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    ASSERT_EQ(::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()), 0)
        << "mount tmpfs on " << dir << ": " << std::strerror(errno);
    mounted_.push_back(dir);
  }

  // Fills the file system holding `dir` with `dir`/filler until no byte fits.
  static std::size_t FillDisk(const fs::path& dir) {
    const std::string path = (dir / "filler").string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    std::string chunk(1 << 16, 'f');
    std::size_t written = 0;
    for (std::size_t size : {std::size_t{1} << 16, std::size_t{4096}, std::size_t{1}}) {
      while (true) {
        ssize_t n = ::write(fd, chunk.data(), size);
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
      }
    }
    ::fsync(fd);
    ::close(fd);
    return written;
  }

  static void FreeDisk(const fs::path& dir) {
    std::error_code ec;
    fs::remove(dir / "filler", ec);
  }

  // Free bytes on the file system holding `dir`.
  static unsigned long long FreeBytes(const fs::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return 0;
    return static_cast<unsigned long long>(st.f_bavail) * st.f_frsize;
  }

  // Runs the orb CLI as HostFactory's scripts would, with `extra` environment.
  OrbOutcome Orb(HfSandbox& sb, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> env = sb.env();
    env["HOME"] = sb.home_dir().string();
    for (const auto& [k, v] : extra) env[k] = v;
    return RunOrb(args, env, sb.root());
  }

  bool mounts_ = false;
  std::vector<fs::path> mounted_;
};

TEST_F(CampaignStorageTest, DiskFullRefusesCleanlyAndRecoversOnceSpaceIsFreed) {
  const Profile& profile = CurrentProfile();
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  if (mounts_) MountSmallDisk(sb.work_dir(), 16u << 20);
  const fs::path db = sb.work_dir() / "orb.db";
  Ledger ledger;
  HostFactory hf(sb, ledger, profile.poll_gap);
  const auto limit = Clock::now() + profile.settle;

  // Before: request A settled (HostFactory holds its machines); request B asked for
  // and not polled yet (open in the store).
  const std::string a = hf.Request(kRunTemplate, 2);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(Str(hf.PollUntilTerminal({a}, limit)[a], "status"), "complete");
  const std::string b = hf.Request(kRunTemplate, 1);
  ASSERT_FALSE(b.empty());
  const std::map<std::string, std::string> before = CloudStates(*cloud_);

  // The disk fills up.
  if (mounts_) {
    FillDisk(sb.work_dir());
    ASSERT_EQ(FreeBytes(sb.work_dir()), 0u) << "the work dir's disk is not full";
  } else {
    sb.SetFileSizeLimit(0);  // unprivileged stand-in: no file may grow
  }
  const StoreFault& full = kDiskFull;
  HfCallResult r;
  EXPECT_TRUE(hf.Templates()) << "[getAvailableTemplates needs no room on the disk]";
  const std::string c = hf.Request(kRunTemplate, 1, &r);
  EXPECT_TRUE(c.empty()) << "[requestMachines fails when its intent cannot be recorded]";
  ExpectStoreRefusal(r, db, full, "requestMachines on a full disk");
  EXPECT_EQ(CloudStates(*cloud_), before)
      << "[nothing is launched before its intent is durable (invariant 1)]";
  std::map<std::string, json> polled = hf.Status({a, b}, &r);
  if (r.exit_code != 0) {
    ExpectStoreRefusal(r, db, full, "getRequestStatus on a full disk");
  } else {
    EXPECT_EQ(Str(polled[a], "status"), "complete") << "[terminal statuses are sticky]";
  }
  const std::vector<HostRef> held_a = ledger.TakeHeldOf(a);
  const std::string ret = hf.Return(held_a, &r);
  if (ret.empty()) {
    ExpectStoreRefusal(r, db, full, "requestReturnMachines on a full disk");
    ledger.PutBack(held_a);
    for (const HostRef& h : held_a) {
      EXPECT_EQ(CloudStates(*cloud_)[h.machine_id], "running")
          << "[a return that could not be recorded terminates nothing]";
    }
  }
  // Reading a WAL database needs room for its shared-memory index: even the
  // read-only call may be refused, cleanly.
  hf.ReturnRequests({}, &r);
  if (r.exit_code != 0) ExpectStoreRefusal(r, db, full, "getReturnRequests on a full disk");

  // Space is freed: the store is intact and holds nothing of the refused calls.
  if (mounts_) {
    FreeDisk(sb.work_dir());
  } else {
    sb.SetFileSizeLimit(-1);
  }
  EXPECT_EQ(IntegrityCheck(db), "ok") << "[a full disk leaves the store consistent]";
  {
    SQLite::Database d(db.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(d, "SELECT request_id FROM requests ORDER BY request_id");
    std::set<std::string> stored;
    while (q.executeStep()) stored.insert(q.getColumn(0).getString());
    std::set<std::string> told = {a, b};
    if (!ret.empty()) told.insert(ret);
    EXPECT_EQ(stored, told) << "[the store holds exactly the requests HostFactory got ids for]";
  }

  // Recovery: the same operations work again.
  EXPECT_TRUE(hf.Templates());
  const std::string d = hf.Request(kRunTemplate, 1);
  EXPECT_FALSE(d.empty()) << "[requestMachines works again once space is freed]";
  hf.SettleAll(Clock::now() + profile.settle);
  Audit audit = AuditCloud(ledger, sb, /*all_returned=*/true);
  Conclude("disk-full", ledger, audit, 1,
           std::string(" method=") + (mounts_ ? "tmpfs" : "rlimit_fsize"));
}

TEST_F(CampaignStorageTest, DiskFillingUpDuringALaunchLeavesNoUntrackedInstance) {
  const Profile& profile = CurrentProfile();
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  if (mounts_) {
    MountSmallDisk(sb.work_dir(), 16u << 20);
  } else {
    sb.SetFileSizeLimit(1LL << 40);  // SIGXFSZ ignored; lowered during the call
  }
  Ledger ledger;
  HostFactory hf(sb, ledger, profile.poll_gap);
  ASSERT_TRUE(hf.Templates());
  // Warm up: the store exists, with its schema and broker id.
  ASSERT_FALSE(hf.Request(kRunTemplate, 1).empty());

  // The disk fills up while RunInstances is on its way to AWS: the intent is
  // durable, the launch happens, what it launched cannot be recorded.
  std::mutex mu;
  std::condition_variable cv;
  bool armed = true, seen = false, filled = false;
  proxy.SetObserver([&](const SeenCall& call) {
    if (call.action != "RunInstances") return;
    std::unique_lock<std::mutex> lock(mu);
    if (!armed) return;
    armed = false;
    seen = true;
    cv.notify_all();
    cv.wait_for(lock, seconds(30), [&] { return filled; });
  });
  HfProcess p = sb.Start(kRequestMachines, RequestInput(kRunTemplate, 2).dump());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(60), [&] { return seen; }))
        << "requestMachines never sent RunInstances";
    if (mounts_) {
      FillDisk(sb.work_dir());
    } else {
      rlimit none{0, 0};
      ASSERT_EQ(::prlimit(p.pid, RLIMIT_FSIZE, &none, nullptr), 0) << std::strerror(errno);
    }
    filled = true;
    cv.notify_all();
  }
  HfCallResult r = sb.Wait(p);
  proxy.SetObserver(nullptr);
  std::string id;
  if (ledger.Record(r)) {
    id = ledger.CheckCreated(r, "req-");
    ledger.Requested(id, kRunTemplate, 2);
  } else {
    ExpectStoreRefusal(r, sb.work_dir() / "orb.db", kDiskFull,
                       "requestMachines when the disk fills up during the launch");
  }
  if (mounts_) {
    FreeDisk(sb.work_dir());
  } else {
    sb.SetFileSizeLimit(-1);
  }
  // Once there is room again, whatever the launch made is HostFactory's (through the
  // id it was answered) or gone; HostFactory's next polls settle it.
  hf.SettleAll(Clock::now() + profile.settle);
  Audit audit = AuditCloud(ledger, sb, /*all_returned=*/true);
  Conclude("disk-fills-mid-launch", ledger, audit, 1,
           std::string(" answered=") + (id.empty() ? "failure" : "request_id"));
}

TEST_F(CampaignStorageTest, ReadOnlyWorkDirRefusesCleanlyAndRecovers) {
  const Profile& profile = CurrentProfile();
  if (!mounts_ && ::geteuid() == 0) {
    GTEST_SKIP() << "running as root without CAP_SYS_ADMIN: permission bits do not bind root "
                    "and no read-only mount can be made";
  }
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  const fs::path db = sb.work_dir() / "orb.db";
  Ledger ledger;
  HostFactory hf(sb, ledger, profile.poll_gap);
  const std::string a = hf.Request(kRunTemplate, 2);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(Str(hf.PollUntilTerminal({a}, Clock::now() + profile.settle)[a], "status"),
            "complete");
  ASSERT_FALSE(fs::exists(sb.work_dir() / "orb.db-wal"))
      << "the last orb process left its write-ahead log behind";
  const std::string bytes = Slurp(db);
  const std::map<std::string, std::string> before = CloudStates(*cloud_);

  // The work dir becomes read-only (a file system remounted read-only after errors,
  // or a wrong owner).
  if (mounts_) {
    const std::string dir = sb.work_dir().string();
    ASSERT_EQ(::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr), 0)
        << std::strerror(errno);
    mounted_.push_back(sb.work_dir());
    ASSERT_EQ(::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
        << std::strerror(errno);
  } else {
    fs::permissions(db, fs::perms::owner_read);
    fs::permissions(sb.work_dir(), fs::perms::owner_read | fs::perms::owner_exec);
  }
  const StoreFault& readonly = kReadOnly;
  HfCallResult r;
  EXPECT_TRUE(hf.Templates()) << "[getAvailableTemplates needs no write]";
  EXPECT_TRUE(hf.Request(kRunTemplate, 1, &r).empty());
  ExpectStoreRefusal(r, db, readonly, "requestMachines with a read-only work dir");
  hf.Status({a}, &r);
  if (r.exit_code != 0) ExpectStoreRefusal(r, db, readonly, "getRequestStatus, read-only");
  const std::vector<HostRef> held_a = ledger.TakeHeldOf(a);
  EXPECT_TRUE(hf.Return(held_a, &r).empty());
  ExpectStoreRefusal(r, db, readonly, "requestReturnMachines with a read-only work dir");
  ledger.PutBack(held_a);
  hf.ReturnRequests({}, &r);
  if (r.exit_code != 0) ExpectStoreRefusal(r, db, readonly, "getReturnRequests, read-only");
  EXPECT_EQ(CloudStates(*cloud_), before)
      << "[nothing launched or terminated that could not be recorded]";

  // Writable again: nothing was written, and everything works.
  if (mounts_) {
    ASSERT_EQ(::umount2(sb.work_dir().c_str(), 0), 0) << std::strerror(errno);
    mounted_.pop_back();
  } else {
    fs::permissions(sb.work_dir(), fs::perms::owner_all);
    fs::permissions(db, fs::perms::owner_read | fs::perms::owner_write);
  }
  EXPECT_EQ(Slurp(db), bytes) << "[a refused call writes nothing]";
  EXPECT_FALSE(hf.Request(kRunTemplate, 1).empty()) << "[requestMachines works again]";
  hf.SettleAll(Clock::now() + profile.settle);
  Audit audit = AuditCloud(ledger, sb, /*all_returned=*/true);
  Conclude("read-only-workdir", ledger, audit, 1,
           std::string(" method=") + (mounts_ ? "ro_bind_mount" : "chmod"));
}

// A store with request A settled (HostFactory holds its two machines) and a backup
// taken as docs/reliability.md says; then `damage` is done to the database file and
// every call must refuse cleanly, writing nothing, until `recover` repairs it.
class CampaignCorruptStoreTest : public CampaignStorageTest {
 protected:
  struct Variant {
    std::string scenario;
    std::function<void(const fs::path& db)> damage;
    // The documented repair; returns false (with failures) when it did not work.
    std::function<bool(HfSandbox& sb, const fs::path& db)> recover;
    bool fresh_store = false;  // the repair starts an empty store
  };

  void Run(const Variant& v) {
    const Profile& profile = CurrentProfile();
    FaultProxy proxy(moto_endpoint_);
    HfSandbox& sb = NewSandbox(proxy.endpoint());
    const fs::path db = sb.work_dir() / "orb.db";
    Ledger ledger;
    HostFactory hf(sb, ledger, profile.poll_gap);
    const std::string a = hf.Request(kRunTemplate, 2);
    ASSERT_FALSE(a.empty());
    std::map<std::string, json> settled = hf.PollUntilTerminal({a}, Clock::now() + profile.settle);
    ASSERT_EQ(Str(settled[a], "status"), "complete");
    ASSERT_FALSE(fs::exists(sb.work_dir() / "orb.db-wal"));
    const std::map<std::string, std::string> before = CloudStates(*cloud_);

    v.damage(db);
    const std::string bad = Slurp(db);
    const StoreFault& corrupt = kCorrupt;
    HfCallResult r;
    hf.Templates();
    EXPECT_TRUE(hf.Request(kRunTemplate, 1, &r).empty());
    ExpectStoreRefusal(r, db, corrupt, "requestMachines with a corrupt store");
    hf.Status({a}, &r);
    ExpectStoreRefusal(r, db, corrupt, "getRequestStatus with a corrupt store");
    const std::vector<HostRef> held_a = ledger.TakeHeldOf(a);
    EXPECT_TRUE(hf.Return(held_a, &r).empty());
    ExpectStoreRefusal(r, db, corrupt, "requestReturnMachines with a corrupt store");
    ledger.PutBack(held_a);
    hf.ReturnRequests({}, &r);
    if (r.exit_code != 0) ExpectStoreRefusal(r, db, corrupt, "getReturnRequests, corrupt store");
    EXPECT_EQ(Slurp(db), bad) << "[a refused call writes nothing into the damaged file]";
    EXPECT_EQ(CloudStates(*cloud_), before)
        << "[nothing launched or terminated that could not be recorded]";

    ASSERT_TRUE(v.recover(sb, db)) << "the documented repair did not work";
    if (!v.fresh_store) {
      EXPECT_EQ(IntegrityCheck(db), "ok") << "[the repaired store is sound]";
    }
    if (v.fresh_store) {
      // HostFactory's requests are unknown to the new store: it says so, and hosts it
      // returns are acknowledged without being terminated (the store cannot tell
      // they are this broker's); the reconciler then terminates them.
      HfCallResult s = sb.Call(kGetRequestStatus, StatusInput({a}));
      ledger.Record(s);
      EXPECT_THAT(s.out, ::testing::HasSubstr("unknown request id")) << s.Describe();
      const std::vector<HostRef> hosts = ledger.TakeHeldOf(a);
      const std::string ret = hf.Return(hosts);
      EXPECT_FALSE(ret.empty());
      hf.PollUntilTerminal({ret}, Clock::now() + profile.settle);
      OrbOutcome rec = Orb(sb, {"reconcile"}, {{"ORB_RECONCILE_ORPHAN_GRACE_SEC", "0"}});
      EXPECT_EQ(rec.code, 0) << rec.out << rec.err;
      for (const HostRef& h : hosts) {
        EXPECT_EQ(CloudStates(*cloud_)[h.machine_id], "terminated")
            << "[orb reconcile terminates what the lost store launched, once returned]";
      }
    }
    // The same operations work again; requests the repaired store knows keep their
    // machines (the ledger checks that terminal reports do not change).
    EXPECT_TRUE(hf.Templates());
    EXPECT_FALSE(hf.Request(kRunTemplate, 1).empty()) << "[requestMachines works again]";
    if (!v.fresh_store) hf.Status({a});
    hf.SettleAll(Clock::now() + profile.settle);
    Audit audit = AuditCloud(ledger, sb, /*all_returned=*/true);
    Conclude(v.scenario, ledger, audit, 1);
  }

  // The store's documented backup, taken while it is healthy.
  static bool Backup(const fs::path& db, const fs::path& to) {
    if (!HaveSqliteCli()) {
      fs::copy_file(db, to, fs::copy_options::overwrite_existing);
      return true;
    }
    return Shell("sqlite3 '" + db.string() + "' \".backup '" + to.string() + "'\"") == 0;
  }
};

TEST_F(CampaignCorruptStoreTest, GarbageInsteadOfTheDatabaseStartsAFreshStore) {
  Variant v;
  v.scenario = "corrupt-db-garbage";
  v.fresh_store = true;
  v.damage = [](const fs::path& db) {
    std::mt19937 rng(42);
    std::string junk(static_cast<std::size_t>(fs::file_size(db)), '\0');
    for (char& c : junk) c = static_cast<char>(rng() & 0xff);
    WriteBytes(db, junk);
  };
  v.recover = [](HfSandbox& sb, const fs::path& db) {
    // No backup: the damaged file is moved aside, orb creates an empty store, and
    // the reconciler must not run before HostFactory has returned its hosts.
    fs::rename(db, db.string() + ".damaged");
    sb.env()["ORB_RECONCILE_INTERVAL_SEC"] = "0";
    return true;
  };
  Run(v);
}

TEST_F(CampaignCorruptStoreTest, TruncatedDatabaseIsRestoredFromItsBackup) {
  Variant v;
  v.scenario = "corrupt-db-truncated";
  v.damage = [](const fs::path& db) {
    ASSERT_TRUE(Backup(db, db.parent_path() / "orb-backup.db"));
    fs::resize_file(db, 2 * 4096);  // the schema page survives, the tables do not
  };
  v.recover = [](HfSandbox&, const fs::path& db) {
    fs::rename(db, db.string() + ".damaged");
    fs::rename(db.parent_path() / "orb-backup.db", db);
    return true;
  };
  Run(v);
}

TEST_F(CampaignCorruptStoreTest, DamagedPageIsSalvagedWithSqliteDump) {
  if (!HaveSqliteCli()) GTEST_SKIP() << "the documented salvage uses the sqlite3 command";
  Variant v;
  v.scenario = "corrupt-db-damaged-page";
  v.damage = [](const fs::path& db) {
    // The root page of the requests' primary-key index, which every call that
    // reads or writes a request goes through.
    int page = 0;
    {
      SQLite::Database d(db.string(), SQLite::OPEN_READONLY);
      page = d.execAndGet(
                  "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_requests_1'")
                 .getInt();
    }
    ASSERT_GT(page, 1);
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(page - 1) * 4096);
    const std::string junk(64, '\xa5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  };
  v.recover = [](HfSandbox&, const fs::path& db) {
    // docs/reliability.md: dump what is readable into a new file, keep the schema
    // version, swap.
    const std::string damaged = db.string() + ".damaged";
    fs::rename(db, damaged);
    std::string out;
    const int code = Shell("sqlite3 '" + damaged + "' .dump | sqlite3 '" + db.string() +
                               "' && sqlite3 '" + db.string() +
                               "' \"PRAGMA user_version = $(sqlite3 '" + damaged +
                               "' 'PRAGMA user_version')\"",
                           &out);
    EXPECT_EQ(code, 0) << out;
    return code == 0;
  };
  Run(v);
}
}  // namespace
}  // namespace orb::testing
