#pragma once

#include <string>

#include "common/clock.h"
#include "model/machine_state.h"

namespace orb {

// One cloud machine (an EC2 instance) that orb launched for an acquire request.
// Plain data; the store keeps it and the broker decides its fields.
struct Machine {
  std::string machine_id;         // cloud id, e.g. "i-0721bb06651cad7f1"
  std::string name;               // host name it joins the cluster with (private DNS)
  std::string request_id;         // the acquire request that launched it ("req-...")
  std::string return_request_id;  // the return request giving it back, or empty
  std::string template_id;        // template it was launched from
  std::string provider_name;      // provider instance that owns it, e.g. "awsinst"
  std::string instance_type;      // e.g. "m5.large"
  std::string private_ip;         // empty until the cloud assigned one
  std::string public_ip;          // empty when it has none
  std::string availability_zone;  // e.g. "us-east-1a"
  std::string price_type;         // "ondemand" or "spot"
  std::string cloud_host_id;      // fleet / spot fleet / ASG id it belongs to, if any
  MachineState state = MachineState::kPending;
  MachineResult acquire_result = MachineResult::kExecuting;  // sticky, see AcquireResult
  MachineResult return_result = MachineResult::kExecuting;   // sticky, see ReturnResult
  bool terminate_refused = false;  // the cloud refused to terminate it for good
  int weight = 1;                  // capacity units it counts for (vmTypes weight)
  EpochSeconds launch_time = 0;    // cloud launch time; set once, never changes
  EpochSeconds created_at = 0;     // when orb first recorded it
  EpochSeconds updated_at = 0;     // when orb last changed it
  std::string message;             // why it failed, or other news for the user
  // The cloud's latest warning about it, from a notice queue: "terminate", "stop" or
  // "hibernate" (a spot interruption), "rebalance" (a rebalance recommendation), or "".
  std::string notice_action;
  EpochSeconds notice_takes_effect_at = 0;  // when the cloud acts (0: not said)
  long long version = 0;           // optimistic-concurrency counter kept by the store

  // True when the machine has what HostFactory needs to use it: a host name and a
  // private IP address.
  bool Addressable() const { return !name.empty() && !private_ip.empty(); }
};

}  // namespace orb
