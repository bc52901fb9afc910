#include "provider/provider_factory.h"

#include "common/error.h"
#include "provider/aws/aws_provider.h"
#include "provider/aws/pacing.h"

namespace orb {

namespace {

AwsProviderOptions AwsOptionsFromConfig(const Config& config) {
  AwsProviderOptions o;
  o.name = config.Get("provider.name").empty() ? "aws" : config.Get("provider.name");
  AwsClientOptions& c = o.client;
  c.region = config.Get("aws.region");
  c.endpoint_url = config.Get("aws.endpoint_url");
  auto endpoint = [&](AwsService service, const char* key) {
    if (!config.Get(key).empty()) c.service_endpoints[service] = config.Get(key);
  };
  endpoint(AwsService::kEc2, "aws.endpoint_url_ec2");
  endpoint(AwsService::kAutoScaling, "aws.endpoint_url_autoscaling");
  endpoint(AwsService::kSts, "aws.endpoint_url_sts");
  endpoint(AwsService::kSqs, "aws.endpoint_url_sqs");
  endpoint(AwsService::kSsm, "aws.endpoint_url_ssm");
  c.http.connect_timeout_ms = config.GetInt("aws.connect_timeout_ms");
  c.http.timeout_ms = config.GetInt("aws.read_timeout_ms");
  c.http.ca_bundle = config.Get("aws.ca_bundle");
  if (!config.Get("aws.proxy_host").empty()) {
    c.http.proxy = "http://" + config.Get("aws.proxy_host") + ":" +
                   std::to_string(config.GetInt("aws.proxy_port"));
  }
  c.max_attempts = static_cast<int>(config.GetInt("aws.request_retry_attempts")) + 1;
  c.retry_base_delay = std::chrono::milliseconds(config.GetInt("aws.retry_base_delay_ms"));
  c.retry_max_delay = std::chrono::milliseconds(config.GetInt("aws.retry_max_delay_ms"));
  c.max_pacing_wait = std::chrono::milliseconds(config.GetInt("aws.max_pacing_wait_ms"));
  c.circuit_threshold = static_cast<int>(config.GetInt("aws.circuit_breaker_failures"));
  c.circuit_open_for = std::chrono::seconds(config.GetInt("aws.circuit_breaker_open_sec"));
  c.buckets = DefaultBucketLimits();
  for (auto& [family, limits] : c.buckets) {
    const std::string key = "aws.rate_limit." + family;
    if (!FindSetting(key)) continue;
    if (auto rate = ParseRate(config.Get(key))) limits = {rate->first, rate->second};
  }
  CredentialsOptions& k = o.credentials;
  // A profile named only by AWS_PROFILE is left to the credential chain, which
  // then still prefers AWS_ACCESS_KEY_ID from the environment, as the AWS CLI does;
  // a profile named by orb's own settings selects that profile outright.
  if (config.Lookup("aws.profile").origin != "AWS_PROFILE") k.profile = config.Get("aws.profile");
  k.credential_file = config.Get("aws.credential_file");
  k.region = c.region;
  k.sts_endpoint = c.service_endpoints.count(AwsService::kSts)
                       ? c.service_endpoints[AwsService::kSts]
                       : c.endpoint_url;
  k.access_key_id = config.Get("aws.access_key_id");
  k.secret_access_key = config.Get("aws.secret_access_key");
  k.session_token = config.Get("aws.session_token");
  k.imds_timeout_ms = config.GetInt("aws.imds_timeout_ms");
  o.machine_name = config.Get("hostfactory.machine_name");
  o.max_instances_per_call = static_cast<int>(config.GetInt("aws.max_instances_per_call"));
  o.interruption_queue_url = config.Get("aws.interruption_queue_url");
  o.rebalance_grace_sec = config.GetInt("aws.rebalance_grace_sec");
  if (!config.Get("paths.work_dir").empty()) o.cache_dir = config.Get("paths.work_dir") + "/cache";
  // Instances may be in other regions or accounts: each keeps its own cache.
  if (config.has_provider_list() && !o.cache_dir.empty()) o.cache_dir += "/" + o.name;
  o.image_cache_ttl = std::chrono::seconds(config.GetInt("aws.image_cache_ttl_sec"));
  o.instance_types_cache_ttl =
      std::chrono::seconds(config.GetInt("aws.instance_types_cache_ttl_sec"));
  return o;
}

}  // namespace

std::unique_ptr<Provider> MakeProvider(const Config& config) {
  const std::string& type = config.Get("provider.type");
  if (type == "aws") return std::make_unique<AwsProvider>(AwsOptionsFromConfig(config));
  throw Error(ErrorCode::kInvalidConfig, "unknown provider type '" + type + "'");
}

}  // namespace orb
