#pragma once

#include <chrono>
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
// call, drawn from a generator seeded with `seed` (runs are repeatable).
struct FaultPlan {
  double throttle_fraction = 0;          // answer 503 RequestLimitExceeded without forwarding
  double server_error_fraction = 0;      // answer 500 InternalError without forwarding
  double drop_before_fraction = 0;       // close the connection without forwarding
  double drop_after_fraction = 0;        // forward, then close without answering (lost answer)
  std::chrono::milliseconds latency{0};  // added before answering
  std::vector<Refusal> refusals;         // applied before the random faults
  // Action -> XML body answered with HTTP 200 without forwarding: answers AWS gives
  // that moto cannot (e.g. a spot interruption notice), shaped as AWS documents them.
  std::map<std::string, std::string> answers;
  unsigned seed = 1;
};

// One call the proxy received.
struct SeenCall {
  std::string action;        // the Query "Action" (or X-Amz-Target for JSON calls)
  std::string client_token;  // the "ClientToken" parameter, if any
  bool forwarded = false;    // reached the upstream (moto)
  bool replayed = false;     // answered from the idempotency record, not forwarded
  int status = 0;            // status answered (0 = connection dropped)
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
// IdempotentParameterMismatch. Records every call for assertions.
class FaultProxy {
 public:
  FaultProxy(std::string upstream_endpoint, FaultPlan plan = {});
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // "http://127.0.0.1:<port>".
  std::string endpoint() const;

  // Replaces the plan for the calls that follow.
  void SetPlan(const FaultPlan& plan);

  // Every call received so far, in arrival order.
  std::vector<SeenCall> seen() const;

  // Forgets the recorded calls (not the idempotency record).
  void ClearSeen();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orb::testing
