#pragma once

#include <memory>
#include <string>
#include <vector>

#include "provider/aws/autoscaling_client.h"
#include "provider/aws/aws_client.h"
#include "provider/aws/aws_provider.h"
#include "provider/aws/ec2_client.h"
#include "provider/aws/image_resolver.h"
#include "provider/aws/instance_type_catalog.h"
#include "provider/aws/ssm_client.h"
#include "provider/aws/sts_client.h"
#include "provider/provider.h"

namespace orb {

// What every AWS launch handler shares: the provider's options, its AWS clients
// (built on first use) and the reading of instances as machines.
class AwsContext {
 public:
  explicit AwsContext(AwsProviderOptions options);
  ~AwsContext();

  // The provider's settings.
  const AwsProviderOptions& options() const { return options_; }

  // The clients, built on first use: most orb processes never call AWS, and loading
  // libcurl costs milliseconds.
  AwsClient& aws();
  Ec2Client& ec2();
  StsClient& sts();
  AutoScalingClient& asg();
  SsmClient& ssm();
  CredentialsProvider& credentials();

  // AWS API calls made so far (0 before any client was built).
  long long CallCount() const { return aws_ ? aws_->stats().calls : 0; }

  // Image references resolved through SSM, cached in options().cache_dir.
  ImageResolver& images();

  // Instance-type facts from DescribeInstanceTypes, cached in options().cache_dir.
  InstanceTypeCatalog& instance_types();

  // The account the credentials belong to (one STS call, then cached).
  const std::string& AccountId();

  // An EC2 instance as a machine (name chosen per options().machine_name).
  CloudMachine ToCloudMachine(const Instance& i) const;

  // The machines carrying `request_id`'s tag.
  std::vector<CloudMachine> FindByRequest(const std::string& request_id);

  // The machines among `ids` EC2 knows, in as few calls as the API allows.
  std::vector<CloudMachine> Describe(const std::vector<std::string>& ids);

  // Terminates `ids` in batches; one bad id never fails the rest.
  TerminateOutcome Terminate(const std::vector<std::string>& ids);

 private:
  void Start();

  AwsProviderOptions options_;
  std::shared_ptr<HttpClient> http_;
  std::shared_ptr<CredentialsProvider> credentials_;
  std::unique_ptr<AwsClient> aws_;
  std::unique_ptr<Ec2Client> ec2_;
  std::unique_ptr<StsClient> sts_;
  std::unique_ptr<AutoScalingClient> asg_;
  std::unique_ptr<SsmClient> ssm_;
  std::unique_ptr<ImageResolver> images_;
  std::unique_ptr<InstanceTypeCatalog> instance_types_;
  std::string account_id_;
};

// Group ids of Auto Scaling groups orb created: "asg:<group name>".
inline constexpr std::string_view kAsgGroupPrefix = "asg:";

}  // namespace orb
