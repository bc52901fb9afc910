#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "provider/aws/aws_context.h"
#include "provider/aws/launch_spec.h"
#include "provider/provider.h"

namespace orb {

// One AWS provisioning API (RunInstances, EC2 Fleet, Spot Fleet, Auto Scaling): how
// a launch order becomes its calls, and, for the APIs that create a group that keeps
// launching, how the group's members are read and given back. AwsProvider picks the
// handler by the template's API, the stored plan's API or the group id.
class LaunchHandler {
 public:
  virtual ~LaunchHandler() = default;

  // The API name stored in the plans this handler makes (e.g. "RunInstances").
  virtual std::string_view PlanApi() const = 0;

  // True when `group_id` names a group this handler creates.
  virtual bool OwnsGroup(const std::string& group_id) const = 0;

  // Builds the exact, replayable call for `spec` (see Provider::PlanLaunch).
  virtual LaunchPlan Plan(const LaunchSpec& spec) = 0;

  // Sends a stored plan (see Provider::Launch).
  virtual LaunchResult Launch(const LaunchPlan& plan) = 0;

  // What a stored plan launched, found by tag after a crash (see Provider::Adopt).
  // By default: those machines, and nothing more to launch.
  virtual LaunchResult Adopt(const LaunchPlan& plan, std::vector<CloudMachine> found) {
    (void)plan;
    LaunchResult result;
    result.machines = std::move(found);
    result.settled = true;
    return result;
  }

  // The group's current members (see Provider::DescribeGroup).
  virtual GroupState DescribeGroup(const std::string& group_id) = 0;

  // Gives machines of the group back (see Provider::ReleaseFromGroup).
  virtual TerminateOutcome Release(const std::string& group_id,
                                   const std::vector<std::string>& machine_ids) = 0;

  // Deletes the group with all its instances (see Provider::DiscardGroup).
  virtual void Discard(const std::string& group_id) = 0;
};

// EC2 RunInstances: one call per launch, machines known at once.
std::unique_ptr<LaunchHandler> MakeRunInstancesHandler(AwsContext& context);

// EC2 Fleet of type instant, request or maintain ("fleet-..." groups).
std::unique_ptr<LaunchHandler> MakeEc2FleetHandler(AwsContext& context);

// Spot Fleet requests of type request or maintain ("sfr-..." groups).
std::unique_ptr<LaunchHandler> MakeSpotFleetHandler(AwsContext& context);

// One Auto Scaling group per request ("asg:<name>" groups).
std::unique_ptr<LaunchHandler> MakeAsgHandler(AwsContext& context);

}  // namespace orb
