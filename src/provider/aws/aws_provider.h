#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "provider/aws/aws_client.h"
#include "provider/aws/credentials.h"
#include "provider/aws/http_client.h"
#include "provider/provider.h"

namespace orb {

// Settings of one AWS provider instance (built from the `aws.*` config keys).
struct AwsProviderOptions {
  std::string name;  // provider instance name, e.g. "awsinst"
  AwsClientOptions client;
  CredentialsOptions credentials;
  // What a machine's host name is: "private_dns" (EC2's private DNS name),
  // "private_ip", or "tag:<Key>" (the value of that instance tag).
  std::string machine_name = "private_dns";
  // Most instances one RunInstances call asks for (EC2 allows 1000).
  int max_instances_per_call = 1000;
  // Where SSM image ids and instance-type facts are cached ("" = in memory only).
  std::string cache_dir;
  std::chrono::seconds image_cache_ttl{3600};
  std::chrono::seconds instance_types_cache_ttl{86400};
  // The SQS queue EventBridge feeds with interruption warnings and rebalance
  // recommendations ("" = none), and the grace given to a rebalance recommendation
  // (negative: ignored).
  std::string interruption_queue_url;
  long long rebalance_grace_sec = 120;
};

// The AWS provider: EC2 RunInstances, EC2 Fleet (instant, request, maintain), Spot
// Fleet and Auto Scaling group launches, batched describes and terminates, and health
// checks through STS and EC2.
class AwsProvider : public Provider {
 public:
  explicit AwsProvider(AwsProviderOptions options);
  ~AwsProvider() override;

  std::string_view Type() const override { return "aws"; }
  ProviderInfo Info() const override;
  std::string CannotLaunch(const Template& templ) const override;
  LaunchPlan PlanLaunch(const LaunchOrder& order) override;
  LaunchResult Launch(const LaunchPlan& plan) override;
  LaunchResult Adopt(const LaunchPlan& plan, std::vector<CloudMachine> found) override;
  std::vector<CloudMachine> FindByBroker(const std::string& broker_id) override;
  QueuedNotices ReceiveQueuedNotices(int max_messages) override;
  void DeleteQueuedNotices(const std::vector<std::string>& handles) override;
  std::vector<InterruptionNotice> InterruptionNotices(
      const std::vector<std::string>& machine_ids) override;
  std::vector<CloudMachine> FindByRequest(const std::string& request_id) override;
  std::vector<CloudMachine> Describe(const std::vector<std::string>& machine_ids) override;
  TerminateOutcome Terminate(const std::vector<std::string>& machine_ids) override;
  GroupState DescribeGroup(const std::string& group_id) override;
  void DiscardGroup(const std::string& group_id) override;
  TerminateOutcome ReleaseFromGroup(const std::string& group_id,
                                    const std::vector<std::string>& machine_ids) override;
  std::vector<std::string> CheckInCloud(const Template& templ) override;
  // From the InstanceTypeCatalog in the cache directory (DescribeInstanceTypes).
  InstanceFactsMap KnownInstanceTypes(const std::vector<std::string>& types,
                                      bool refresh) override;
  ProviderHealth CheckHealth() override;
  long long CallCount() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The tag orb puts on everything it launches to name the request it belongs to.
inline constexpr const char* kRequestIdTag = "orb:request-id";

}  // namespace orb
