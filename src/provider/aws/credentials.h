#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"

namespace orb {

class HttpClient;

// AWS credentials. Never logged, never put in an error message.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;    // "" for long-term keys
  EpochSeconds expiration = 0;  // 0 = does not expire
  // Where they came from, never a secret: "orb config (aws.access_key_id)",
  // "environment (AWS_ACCESS_KEY_ID)", "profile prod (/root/.aws/credentials)",
  // "profile prod (role <arn> via profile base (<file>))", "profile prod (web
  // identity, role <arn>)", "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role <arn>)",
  // "container credentials (http://169.254.170.2)", "instance profile (IMDSv2, role r)".
  std::string source;

  // True when they expire within `margin_seconds` of `now`.
  bool ExpiresWithin(EpochSeconds now, int margin_seconds) const {
    return expiration != 0 && expiration - margin_seconds <= now;
  }
};

// A source of credentials. Get() is thread-safe and may call the network.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;

  // Returns valid credentials, refreshing them first when they expire within five
  // minutes. Throws Error(kCloud) saying where it looked when none can be had.
  virtual Credentials Get() = 0;
};

// What the default chain reads besides the process environment.
struct CredentialsOptions {
  std::string profile;  // aws.profile; "" = $AWS_PROFILE, else "default"
  // aws.credential_file (IBM's AWS_CREDENTIAL_FILE): the shared credentials file
  // when AWS_SHARED_CREDENTIALS_FILE is unset; "" = ~/.aws/credentials.
  std::string credential_file;
  // For STS calls (AssumeRole, web identity); "" = AWS_REGION, AWS_DEFAULT_REGION,
  // the profile's region, else us-east-1.
  std::string region;
  // STS endpoint override; "" = AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else the
  // regional endpoint https://sts.<region>.amazonaws.com.
  std::string sts_endpoint;
  // Explicit keys from the orb config (aws.access_key_id, ...), used first when set.
  std::string access_key_id, secret_access_key, session_token;
  // The environment to read; the process environment when unset (tests set it).
  std::optional<std::map<std::string, std::string>> environment;
  // For the STS, ECS and IMDS calls (the latter two with their own short per-request
  // timeouts below). nullptr = a client with default options.
  std::shared_ptr<HttpClient> http;
  long imds_timeout_ms = 1000;       // each IMDS call; short so non-EC2 hosts are not slowed
  int imds_attempts = 2;             // tries per IMDS call (network errors and 5xx)
  long container_timeout_ms = 2000;  // each ECS/EKS container endpoint call (3 tries)
};

// The standard AWS credential chain, in order: explicit keys from the orb config;
// environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; not
// used when options.profile is set, as the AWS CLI ignores them with --profile); the
// shared credentials and config files (AWS_SHARED_CREDENTIALS_FILE, IBM's
// AWS_CREDENTIAL_FILE, AWS_CONFIG_FILE, ~/.aws/...) for the profile, including
// role_arn with source_profile (chained, cycles refused) or credential_source
// (Environment, Ec2InstanceMetadata, EcsContainer) via STS AssumeRole, and
// role_arn with web_identity_token_file via AssumeRoleWithWebIdentity; web identity
// from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME); ECS/EKS
// container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); the EC2 instance profile via IMDSv2
// (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED), falling back to
// IMDSv1 when the token request answers 403/404/405.
//
// The first source that yields credentials is remembered and asked first on each
// refresh; temporary credentials are cached until five minutes before they expire,
// then refreshed by one caller while the others wait (or keep using the old ones
// while they are still valid); long-term keys are cached for good. Nothing is read
// or fetched until the first Get().
//
// Get() throws Error(kCloud) listing every source tried and why it did not apply
// when none yields credentials. A source that is configured but broken is an error
// of its own, not a fall-through: Error(kInvalidConfig) for a wrong setting (half a
// key pair, an unknown source_profile, a cycle), AwsError / Error(kCloud) naming the
// profile or source and STS's or the endpoint's message when a call is refused.
// Messages never contain secret keys, session tokens or authorization tokens.
std::shared_ptr<CredentialsProvider> MakeDefaultCredentialsChain(CredentialsOptions options);

// A provider that always returns `credentials` (tests, and AssumeRole's source).
std::shared_ptr<CredentialsProvider> MakeStaticCredentials(Credentials credentials);

}  // namespace orb
