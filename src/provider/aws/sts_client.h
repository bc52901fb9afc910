#pragma once

// Typed STS calls on top of AwsClient::CallQuery. Failures are AwsError.

#include <string>

#include "provider/aws/aws_client.h"
#include "provider/aws/credentials.h"

namespace orb {

// Who the caller's credentials belong to.
struct CallerIdentity {
  std::string account;  // 12-digit account id
  std::string arn;      // e.g. arn:aws:iam::123456789012:user/alice
  std::string user_id;
};

// AssumeRole's question.
struct AssumeRoleRequest {
  std::string role_arn;
  std::string session_name;  // 2..64 characters of [\w+=,.@-]
  int duration_seconds = 0;  // 0 = AWS's default (one hour)
  std::string external_id;   // "" = none
  std::string policy;        // inline session policy JSON; "" = none
};

// Temporary credentials for a role, and who they act as.
struct AssumedRole {
  Credentials credentials;  // source: "assumed role <arn>"; never log them
  std::string assumed_role_arn;
  std::string assumed_role_id;
};

// The STS calls orb makes. Thread-safe as AwsClient is.
class StsClient {
 public:
  // Uses `aws` (not owned; must outlive this client) for every call.
  explicit StsClient(AwsClient& aws) : aws_(aws) {}

  // The account and principal of the credentials in use (a cheap health check).
  CallerIdentity GetCallerIdentity();

  // Temporary credentials for `request.role_arn`. Throws AwsError when STS
  // refuses; the message names the role, never a secret.
  AssumedRole AssumeRole(const AssumeRoleRequest& request);

 private:
  AwsClient& aws_;
};

}  // namespace orb
