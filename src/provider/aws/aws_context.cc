#include "provider/aws/aws_context.h"

#include "common/strings.h"

namespace orb {

AwsContext::AwsContext(AwsProviderOptions options) : options_(std::move(options)) {}

AwsContext::~AwsContext() = default;

void AwsContext::Start() {
  if (aws_) return;
  http_ = std::make_shared<HttpClient>(options_.client.http);
  CredentialsOptions credentials = options_.credentials;
  credentials.http = http_;
  if (credentials.region.empty()) credentials.region = options_.client.region;
  credentials_ = MakeDefaultCredentialsChain(credentials);
  aws_ = std::make_unique<AwsClient>(options_.client, credentials_, http_);
  ec2_ = std::make_unique<Ec2Client>(*aws_);
  sts_ = std::make_unique<StsClient>(*aws_);
  asg_ = std::make_unique<AutoScalingClient>(*aws_);
  ssm_ = std::make_unique<SsmClient>(*aws_);
}

AwsClient& AwsContext::aws() {
  Start();
  return *aws_;
}

Ec2Client& AwsContext::ec2() {
  Start();
  return *ec2_;
}

StsClient& AwsContext::sts() {
  Start();
  return *sts_;
}

AutoScalingClient& AwsContext::asg() {
  Start();
  return *asg_;
}

SsmClient& AwsContext::ssm() {
  Start();
  return *ssm_;
}

ImageResolver& AwsContext::images() {
  if (!images_) {
    ImageResolverOptions o;
    o.cache_dir = options_.cache_dir;
    o.region = options_.client.region;
    o.ttl = options_.image_cache_ttl;
    images_ = std::make_unique<ImageResolver>(
        o, [this](const std::string& name) { return SsmParameterFetch(ssm())(name); });
  }
  return *images_;
}

InstanceTypeCatalog& AwsContext::instance_types() {
  if (!instance_types_) {
    InstanceTypeCatalogOptions o;
    o.cache_dir = options_.cache_dir;
    o.region = options_.client.region;
    o.ttl = options_.instance_types_cache_ttl;
    instance_types_ = std::make_unique<InstanceTypeCatalog>(o, [this](const auto& types) {
      return Ec2InstanceTypeFetch(ec2())(types);
    });
  }
  return *instance_types_;
}

CredentialsProvider& AwsContext::credentials() {
  Start();
  return *credentials_;
}

const std::string& AwsContext::AccountId() {
  if (account_id_.empty()) account_id_ = sts().GetCallerIdentity().account;
  return account_id_;
}

CloudMachine AwsContext::ToCloudMachine(const Instance& i) const {
  CloudMachine m;
  m.machine_id = i.instance_id;
  const std::string& how = options_.machine_name;
  if (how == "private_ip") {
    m.name = i.private_ip;
  } else if (how.rfind("tag:", 0) == 0) {
    m.name = TagValue(i.tags, how.substr(4));
  } else {
    m.name = i.private_dns_name;
  }
  m.instance_type = i.instance_type;
  m.private_ip = i.private_ip;
  m.public_ip = i.public_ip;
  m.availability_zone = i.availability_zone;
  m.price_type = i.lifecycle == "spot" ? "spot" : "ondemand";
  m.request_tag = TagValue(i.tags, kRequestIdTag);
  m.cloud_host_id = TagValue(i.tags, "aws:ec2:fleet-id");
  if (std::string group = TagValue(i.tags, "aws:autoscaling:groupName"); !group.empty()) {
    m.cloud_host_id = std::string(kAsgGroupPrefix) + group;
  }
  m.state = ParseMachineState(i.state).value_or(MachineState::kPending);
  m.state_reason = i.state_reason_code;
  m.launch_time = i.launch_time;
  return m;
}

std::vector<CloudMachine> AwsContext::FindByRequest(const std::string& request_id) {
  std::vector<CloudMachine> out;
  for (const Instance& i :
       ec2().DescribeInstancesByFilter({{std::string("tag:") + kRequestIdTag, {request_id}}})) {
    out.push_back(ToCloudMachine(i));
  }
  return out;
}

std::vector<CloudMachine> AwsContext::Describe(const std::vector<std::string>& ids) {
  std::vector<CloudMachine> out;
  if (ids.empty()) return out;
  DescribeInstancesResult r = ec2().DescribeInstancesById(ids);
  out.reserve(r.instances.size());
  for (const Instance& i : r.instances) out.push_back(ToCloudMachine(i));
  return out;
}

TerminateOutcome AwsContext::Terminate(const std::vector<std::string>& ids) {
  TerminateOutcome outcome;
  if (ids.empty()) return outcome;
  TerminateInstancesResult r = ec2().TerminateInstances(ids);
  outcome.not_found = r.not_found;
  std::vector<std::string> reasons;
  for (const InstanceFailure& f : r.failed) {
    outcome.refused.push_back(f.instance_id);
    reasons.push_back(f.instance_id + ": " + f.code + " " + f.message);
  }
  outcome.message = Join(reasons, "; ");
  return outcome;
}

}  // namespace orb
