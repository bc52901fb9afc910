#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "model/machine_state.h"
#include "model/template.h"

namespace orb {

// What the broker asks a provider to launch: `units` capacity units of
// `templ` for one acquire request. The provider must send `client_token` with
// every call that creates capacity, so that replaying the same LaunchOrder after
// a crash or a retry never launches twice, and must tag every resource it creates
// with `tags` (which name the broker and the request).
struct LaunchOrder {
  std::string request_id;
  std::string client_token;  // <= 64 ASCII characters
  int units = 0;
  Template templ;
  std::vector<std::pair<std::string, std::string>> tags;
};

// One machine as the cloud reports it.
struct CloudMachine {
  std::string machine_id;
  std::string name;  // private DNS name
  std::string instance_type;
  std::string private_ip;
  std::string public_ip;
  std::string availability_zone;
  std::string cloud_host_id;  // fleet / ASG id, if any
  MachineState state = MachineState::kPending;
  std::string state_reason;  // e.g. "Server.SpotInstanceTermination"
  int weight = 1;
  EpochSeconds launch_time = 0;
};

// What a launch call produced.
struct LaunchResult {
  std::vector<CloudMachine> machines;  // known at once (may be fewer than asked)
  std::string cloud_host_id;           // fleet / ASG id when the API creates one
  bool settled = false;                // true when no more machines will appear
  std::string message;                 // partial-failure reasons, for the user
};

// One check of a provider's health.
struct HealthCheck {
  std::string name;     // e.g. "credentials", "sts:GetCallerIdentity", "ec2:DescribeInstances"
  bool ok = false;
  double latency_ms = 0;
  std::string detail;   // what was found, or what is wrong and how to fix it
};

// The outcome of Provider::CheckHealth.
struct ProviderHealth {
  bool ok = false;  // every check passed
  std::string region;
  std::string account;             // cloud account id, when known
  std::string identity;            // the caller's identity (an ARN on AWS), when known
  std::string credentials_source;  // where the credentials came from (never the secret)
  std::vector<HealthCheck> checks;
};

// What a provider says about itself (`orb providers show`).
struct ProviderInfo {
  std::string name;    // instance name, e.g. "awsinst"
  std::string type;    // "aws"
  std::string region;
  std::vector<std::pair<std::string, std::string>> endpoints;  // service -> URL
};

// A cloud. It turns launch orders into API calls and cloud state back into
// machines, and holds no lifecycle rules: those live in the broker. Methods throw
// Error(kCloud) with the cloud's message when the cloud refuses, and Error(kCloud)
// marked as retryable for throttling and network failures (see the AWS layer).
class Provider {
 public:
  virtual ~Provider() = default;

  // The provider type, e.g. "aws".
  virtual std::string_view Type() const = 0;

  // Launches, or after a crash finds again, the machines of `order`. Calling it
  // twice with the same order launches once.
  virtual LaunchResult Launch(const LaunchOrder& order) = 0;

  // Reports the machines among `machine_ids` that the cloud knows; an id missing
  // from the answer is unknown to the cloud (it may not be visible yet).
  virtual std::vector<CloudMachine> Describe(const std::vector<std::string>& machine_ids) = 0;

  // Starts terminating `machine_ids`. Ids the cloud no longer knows count as
  // done. Returns the ids the cloud refused to terminate for good.
  virtual std::vector<std::string> Terminate(const std::vector<std::string>& machine_ids) = 0;

  // Describes the provider's configuration (no network call).
  virtual ProviderInfo Info() const = 0;

  // Checks that credentials, region and endpoints work, with cheap read-only calls.
  // Never throws for a failed check: it is recorded, with what to fix.
  virtual ProviderHealth CheckHealth() = 0;
};

}  // namespace orb
