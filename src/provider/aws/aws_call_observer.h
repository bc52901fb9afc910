#pragma once

// A process-wide listener told of every AWS call as it ends (after its retries), so
// that a long-running orb (`orb serve`) can count calls by API and outcome, throttles
// and latency for /metrics. A HostFactory call has no listener and pays nothing.

#include <functional>
#include <string>

namespace orb {

// One AWS call as it ended.
struct AwsCallRecord {
  std::string service;    // "ec2", "autoscaling", "sts", "ssm", "sqs"
  std::string action;     // "RunInstances", ...
  std::string outcome;    // "ok", or the error code it ended with ("Throttling", "NetworkError", ...)
  double seconds = 0;     // from the first attempt to the end, pacing and back-off included
  int attempts = 0;       // HTTP requests sent
  int throttled = 0;      // of which AWS answered "slow down"
};

// Sets the listener (an empty function removes it). Call before the calls it should
// see start; the listener must be thread-safe and must not throw.
void SetAwsCallObserver(std::function<void(const AwsCallRecord&)> observer);

// Tells the listener, if any, of `record`.
void ReportAwsCall(const AwsCallRecord& record);

}  // namespace orb
