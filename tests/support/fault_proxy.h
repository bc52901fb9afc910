#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace orb::testing {

// A call the proxy refuses with an AWS error of its choosing, as AWS refuses a
// launch in a pool without capacity: every Query call whose Action is `action` and
// whose parameter `param` equals `value` is answered `status` with `code`.
struct Refusal {
  std::string action;  // e.g. "RunInstances"
  std::string param;   // e.g. "InstanceType"
  std::string value;   // e.g. "c5.large"
  int after = 0;       // let this many matching calls through first
  int status = 500;    // EC2 answers capacity shortages as server errors
  std::string code = "InsufficientInstanceCapacity";
  std::string message = "We currently do not have sufficient capacity in the Availability "
                        "Zone you requested (injected by the fault proxy).";
};

// What the fault proxy does to the calls it sees. Fractions are probabilities per
// call, drawn from a generator seeded with `seed` (runs are repeatable); one draw
// per call picks at most one of throttle, server error, unavailable, drop before
// and drop after (their fractions add up), and a second draw decides a spike.
// Errors are answered as the service would: EC2 in its <Response><Errors> shape,
// Auto Scaling/STS in <ErrorResponse>, JSON services with __type.
struct FaultPlan {
  double throttle_fraction = 0;          // EC2: 503 RequestLimitExceeded; Auto Scaling/STS:
                                         // 400 Throttling; JSON: 400 ThrottlingException
  double server_error_fraction = 0;      // answer 500 InternalError without forwarding
  double unavailable_fraction = 0;       // answer 503 Unavailable (EC2) / ServiceUnavailable
  double drop_before_fraction = 0;       // close the connection without forwarding
  double drop_after_fraction = 0;        // forward, then close without answering (lost answer)
  std::chrono::milliseconds latency{0};  // added before answering every call
  // Latency spikes: this fraction of the forwarded calls gets its answer held back
  // for `spike` plus a uniform extra in [0, spike_jitter] after AWS acted on it (a
  // client that times out first has lost the answer of a call that took effect).
  double spike_fraction = 0;
  std::chrono::milliseconds spike{0};
  std::chrono::milliseconds spike_jitter{0};
  std::vector<Refusal> refusals;  // applied before the random faults
  // Action -> XML body answered with HTTP 200 without forwarding: answers AWS gives
  // that moto cannot (e.g. a spot interruption notice), shaped as AWS documents them.
  std::map<std::string, std::string> answers;
  // When not empty, the random faults (and spikes) hit only calls of these actions.
  std::vector<std::string> actions;
  unsigned seed = 1;
};

// One phase of a schedule: `plan` for `duration`.
struct FaultPhase {
  std::chrono::milliseconds duration{0};
  FaultPlan plan;
};

// One call the proxy received.
struct SeenCall {
  std::string action;        // the Query "Action" (or X-Amz-Target for JSON calls)
  std::string client_token;  // the "ClientToken" parameter, if any
  bool forwarded = false;    // reached the upstream (moto)
  bool replayed = false;     // answered from the idempotency record, not forwarded
  int status = 0;            // status answered (0 = connection dropped)
  std::string fault;         // what the proxy did to it: "" (nothing), "throttle",
                             // "server_error", "unavailable", "drop_before",
                             // "drop_after", "spike", "refusal"
  std::vector<std::pair<std::string, std::string>> params;  // Query parameters, by name

  // The value of Query parameter `name` ("" when absent).
  std::string Param(const std::string& name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return "";
  }
};

// An HTTP proxy on a free loopback port in front of an AWS endpoint (moto) that
// injects faults and gives AWS's ClientToken semantics, which moto lacks: a call
// repeating an earlier (Action, ClientToken) with the same parameters gets the
// recorded answer without reaching moto; with other parameters it gets 400
// IdempotentParameterMismatch. Likewise CreateAutoScalingGroup of a name it created
// (and did not see deleted) gets AWS's 400 AlreadyExists, where moto would replace
// the group. Records every call for assertions.
class FaultProxy {
 public:
  FaultProxy(std::string upstream_endpoint, FaultPlan plan = {});
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // "http://127.0.0.1:<port>".
  std::string endpoint() const;

  // Replaces the plan for the calls that follow (and ends any schedule).
  void SetPlan(const FaultPlan& plan);

  // Runs `phases` one after the other from now (each phase's plan is applied to the
  // calls arriving during it; its generator seeded afresh), over and over with
  // `repeat`, else then the plan set by SetPlan. A call is judged by the phase in
  // which it arrives.
  void SetSchedule(std::vector<FaultPhase> phases, bool repeat = false);

  // While refusing, nothing listens on the proxy's port: every connection attempt
  // is refused by the kernel (ECONNREFUSED), as when an endpoint is unreachable.
  // Switching back listens again on the same port.
  void SetRefusing(bool refusing);

  // Called with each call as it arrives, before the proxy does anything with it
  // (on the proxy's thread for that connection; must not call back into the proxy).
  void SetObserver(std::function<void(const SeenCall&)> observer);

  // Every call received so far, in arrival order.
  std::vector<SeenCall> seen() const;

  // Forgets the recorded calls (not the idempotency record).
  void ClearSeen();

  // Calls (since the last ClearSeen) the proxy disturbed: answered an injected
  // error, dropped, or held back by a spike.
  int FaultsInjected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orb::testing
