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
  std::string session_token;  // "" for long-term keys
  EpochSeconds expiration = 0;  // 0 = does not expire
  std::string source;  // where they came from, e.g. "environment", "profile prod
                       // (/root/.aws/credentials)", "instance profile (IMDSv2)"

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
  std::string profile;          // aws.profile; "" = $AWS_PROFILE, else "default"
  std::string credential_file;  // aws.credential_file (IBM's AWS_CREDENTIAL_FILE)
  std::string region;           // for STS calls (AssumeRole, web identity)
  std::string sts_endpoint;     // STS endpoint override; "" = the regional endpoint
  // Explicit keys from the orb config (aws.access_key_id, ...), used first when set.
  std::string access_key_id, secret_access_key, session_token;
  // The environment to read; the process environment when unset (tests set it).
  std::optional<std::map<std::string, std::string>> environment;
  std::shared_ptr<HttpClient> http;  // for STS, ECS and IMDS calls
  long imds_timeout_ms = 1000;       // each IMDS call; short so non-EC2 hosts are not slowed
  int imds_attempts = 2;
};

// The standard AWS credential chain, in order: explicit keys from the orb config;
// environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN); the
// shared credentials and config files (AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE, IBM's AWS_CREDENTIAL_FILE, ~/.aws/...) for the profile,
// including role_arn with source_profile or credential_source (STS AssumeRole) and
// web_identity_token_file; web identity from AWS_WEB_IDENTITY_TOKEN_FILE +
// AWS_ROLE_ARN; ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI /
// _FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); the EC2 instance profile
// via IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED). The
// first source that yields credentials is remembered; temporary credentials are
// cached until five minutes before they expire, then refreshed.
std::shared_ptr<CredentialsProvider> MakeDefaultCredentialsChain(CredentialsOptions options);

// A provider that always returns `credentials` (tests, and AssumeRole's source).
std::shared_ptr<CredentialsProvider> MakeStaticCredentials(Credentials credentials);

}  // namespace orb
