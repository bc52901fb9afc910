#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "model/instance_types.h"
#include "model/machine_state.h"
#include "model/template.h"

namespace orb {

// What the broker asks a provider to launch: `units` capacity units of `templ`
// for one acquire request. Every call that creates capacity carries
// `client_token`, and every resource created is tagged with `tags` (which name
// the broker and the request) plus the template's own instance tags.
struct LaunchOrder {
  std::string request_id;
  std::string client_token;  // <= 64 ASCII characters
  int units = 0;
  Template templ;
  std::vector<std::pair<std::string, std::string>> tags;
  // Capacity pools (see PoolKey) that failed recently: tried last, if at all.
  std::vector<std::string> avoid_pools;
  // For a spot template: after this many spot pools failed for capacity, quota or
  // price, launch the rest on demand. 0 = never.
  int spot_fallback_after = 0;
};

// The key that names a capacity pool in failure memory: "<instance type>|<subnet>|
// <ondemand|spot>" (an empty subnet = the default one).
inline std::string PoolKey(const std::string& instance_type, const std::string& subnet,
                           bool spot) {
  return instance_type + "|" + subnet + "|" + (spot ? "spot" : "ondemand");
}

// A capacity pool that could not launch during a call.
struct FailedPool {
  std::string pool;    // PoolKey
  std::string kind;    // "capacity", "quota" or "price"
  std::string reason;  // the cloud's error code and message
};

// The exact, replayable cloud call that launches a LaunchOrder. The broker stores
// it durably before Launch sends it, so that after a crash the very same call, with
// the same idempotency token, is sent again (or the machines it made are adopted).
struct LaunchPlan {
  std::string request_id;  // the request it launches for
  std::string api;         // e.g. "RunInstances", "CreateFleet"
  nlohmann::json body;     // the call's parameters, as the provider will send them
  // A resumed launch may adopt the machines found by the request's tag instead of
  // sending the call again. False when the call creates a group that keeps
  // launching (adopting its first members would end the request early).
  bool adoptable = true;
};

// One machine as the cloud reports it.
struct CloudMachine {
  std::string machine_id;
  std::string name;  // the host name it joins the cluster with
  std::string instance_type;
  std::string private_ip;
  std::string public_ip;
  std::string availability_zone;
  std::string cloud_host_id;  // fleet / ASG id, if any
  std::string price_type;     // "ondemand" or "spot"
  std::string request_tag;    // the request id its tags name ("" if none)
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
  std::vector<FailedPool> failed_pools;  // pools that failed (to avoid for a while)
  // A further call the launch needs (more instances than one call allows, or the
  // units a failed pool did not give, asked of the next pool). The broker stores it
  // durably, then sends it with Launch.
  std::optional<LaunchPlan> next;
};

// A warning from the cloud that it is about to take a machine back (a spot
// interruption notice).
struct InterruptionNotice {
  std::string machine_id;
  std::string action;            // e.g. "terminate", "stop", "hibernate"
  EpochSeconds takes_effect_at = 0;  // when the cloud acts
  std::string detail;            // the cloud's own words, for the operator
};

// The state of a cloud group a launch created (an Auto Scaling group, a fleet that
// keeps launching), for launches whose machines arrive after the launch call.
struct GroupState {
  std::vector<CloudMachine> machines;  // every current member
  bool settled = false;                // the group will add no more machines
  std::string message;                 // launch failures the group reports
};

// What a terminate call achieved.
struct TerminateOutcome {
  std::vector<std::string> refused;    // the cloud refused for good (e.g. protection)
  std::vector<std::string> not_found;  // the cloud does not know them (already gone)
  std::string message;                 // why some were refused
};

// One check of a provider's health.
struct HealthCheck {
  std::string name;  // e.g. "credentials", "sts:GetCallerIdentity", "ec2:DescribeInstances"
  bool ok = false;
  double latency_ms = 0;
  std::string detail;  // what was found, or what is wrong and how to fix it
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
  std::string name;  // instance name, e.g. "awsinst"
  std::string type;  // "aws"
  std::string region;
  std::vector<std::pair<std::string, std::string>> endpoints;  // service -> URL
};

// A cloud. It turns launch orders into API calls and cloud state back into
// machines, and holds no lifecycle rules: those live in the broker. Methods
// that call the cloud throw Error(kCloud) (an AwsError on AWS, which says whether
// a retry may help) when the cloud refuses or cannot be reached.
class Provider {
 public:
  virtual ~Provider() = default;

  // The provider type, e.g. "aws".
  virtual std::string_view Type() const = 0;

  // Describes the provider's configuration (no network call).
  virtual ProviderInfo Info() const = 0;

  // Why this provider cannot launch `templ` (e.g. a provisioning API it does not
  // support yet), or "" when it can. No network call.
  virtual std::string CannotLaunch(const Template& templ) const = 0;

  // Builds the exact call that launches `order`, without calling the cloud (it
  // may read local files, e.g. a template's user-data script). Throws
  // Error(kInvalidConfig) for a template this provider cannot launch, naming the
  // template and field.
  virtual LaunchPlan PlanLaunch(const LaunchOrder& order) = 0;

  // Sends `plan`. Sending the same plan twice launches once (idempotency token).
  virtual LaunchResult Launch(const LaunchPlan& plan) = 0;

  // What `plan` achieved when the machines it launched, `found`, were found by the
  // request's tag rather than read from its answer (the process died in between):
  // the machines, and the next call when more remain to be launched.
  virtual LaunchResult Adopt(const LaunchPlan& plan, std::vector<CloudMachine> found) = 0;

  // The live machines (not terminated) tagged as launched by the broker `broker_id`,
  // in as few calls as the API allows (for the reconciler).
  virtual std::vector<CloudMachine> FindByBroker(const std::string& broker_id) = 0;

  // The machines carrying `request_id`'s tag (to adopt them after a crash).
  virtual std::vector<CloudMachine> FindByRequest(const std::string& request_id) = 0;

  // Reports the machines among `machine_ids` that the cloud knows, in as few
  // calls as the API allows; an id missing from the answer is unknown to the
  // cloud (gone, or not visible yet).
  virtual std::vector<CloudMachine> Describe(const std::vector<std::string>& machine_ids) = 0;

  // Starts terminating `machine_ids`, in batches; one bad id never fails the rest.
  virtual TerminateOutcome Terminate(const std::vector<std::string>& machine_ids) = 0;

  // The current members of the group `group_id` (a LaunchResult::cloud_host_id of a
  // launch that was not settled). Throws Error(kCloud) when it cannot be read.
  virtual GroupState DescribeGroup(const std::string& group_id) = 0;

  // Gives back machines of a group: lowers the group's capacity so that it does not
  // replace them, terminates them, and deletes the group once it is empty. For a
  // group that replaces nothing (e.g. an instant fleet) this is Terminate.
  virtual TerminateOutcome ReleaseFromGroup(const std::string& group_id,
                                            const std::vector<std::string>& machine_ids) = 0;

  // Deletes the group `group_id` with every instance in it, launched or still to
  // come (for a request nobody knows: see Broker::Reconcile). A group already gone
  // is not an error. Throws Error(kCloud) when the cloud cannot be asked.
  virtual void DiscardGroup(const std::string& group_id) = 0;

  // What in `templ` the cloud says is wrong (subnets, security groups, image or launch
  // template that do not exist, mismatched networks), each naming the template and
  // field; empty when all is well. Read-only calls. Throws Error(kCloud) when the
  // cloud cannot be asked (that is not a problem of the template).
  virtual std::vector<std::string> CheckInCloud(const Template& templ) = 0;

  // Facts the provider has learnt from its cloud about `types` (vCPUs, cores, memory,
  // architecture in HostFactory's form), for deriving template attributes; types it
  // knows nothing of are absent (the caller falls back to orb's built-in table).
  // With `refresh` false: only what it already holds (on AWS the on-disk cache,
  // expired entries included); no cloud call, never throws, fast enough for every
  // getAvailableTemplates. With `refresh` true: asks the cloud for every one of
  // `types` in as few calls as the API allows and rewrites its cache; throws
  // Error(kCloud) when the cloud cannot be asked. The default knows no facts.
  virtual InstanceFactsMap KnownInstanceTypes(const std::vector<std::string>& types,
                                              bool refresh) {
    (void)types;
    (void)refresh;
    return {};
  }

  // The interruption notices the cloud has given for any of `machine_ids` (spot
  // machines), in as few read-only calls as the API allows. Default: none.
  virtual std::vector<InterruptionNotice> InterruptionNotices(
      const std::vector<std::string>& machine_ids) {
    (void)machine_ids;
    return {};
  }

  // Notices waiting in this provider instance's notice queue (e.g. an SQS queue fed by
  // EventBridge), read without waiting, at most `max_messages` messages; `handles`
  // lists every message read (notices or not), for DeleteQueuedNotices once the
  // notices are recorded. Throws Error(kCloud) when the queue cannot be read.
  // Default: no queue.
  struct QueuedNotices {
    std::vector<InterruptionNotice> notices;
    std::vector<std::string> handles;
  };
  virtual QueuedNotices ReceiveQueuedNotices(int max_messages) {
    (void)max_messages;
    return {};
  }

  // Removes the messages of `handles` from the notice queue (those not removed are
  // delivered again later, and recorded again harmlessly). Throws Error(kCloud).
  virtual void DeleteQueuedNotices(const std::vector<std::string>& handles) { (void)handles; }

  // Checks that credentials, region and endpoints work, with cheap read-only calls.
  // Never throws for a failed check: it is recorded, with what to fix.
  virtual ProviderHealth CheckHealth() = 0;

  // Cloud API calls made so far by this object (for logs and metrics).
  virtual long long CallCount() const = 0;
};

}  // namespace orb
