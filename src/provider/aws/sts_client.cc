#include "provider/aws/sts_client.h"

#include "provider/aws/aws_xml.h"

namespace orb {

namespace x = aws_xml;

CallerIdentity StsClient::GetCallerIdentity() {
  const QueryResponse r = aws_.CallQuery(AwsService::kSts, "GetCallerIdentity", QueryParams());
  pugi::xml_node result = r.root().child("GetCallerIdentityResult");
  return {x::Text(result, "Account"), x::Text(result, "Arn"), x::Text(result, "UserId")};
}

AssumedRole StsClient::AssumeRole(const AssumeRoleRequest& request) {
  QueryParams p;
  p.Add("RoleArn", request.role_arn);
  p.Add("RoleSessionName", request.session_name);
  if (request.duration_seconds > 0) {
    p.Add("DurationSeconds", std::to_string(request.duration_seconds));
  }
  if (!request.external_id.empty()) p.Add("ExternalId", request.external_id);
  if (!request.policy.empty()) p.Add("Policy", request.policy);
  const QueryResponse r = aws_.CallQuery(AwsService::kSts, "AssumeRole", p);
  pugi::xml_node result = r.root().child("AssumeRoleResult");
  pugi::xml_node c = result.child("Credentials");
  AssumedRole role;
  role.credentials.access_key_id = x::Text(c, "AccessKeyId");
  role.credentials.secret_access_key = x::Text(c, "SecretAccessKey");
  role.credentials.session_token = x::Text(c, "SessionToken");
  role.credentials.expiration = x::Time(c, "Expiration");
  role.credentials.source = "assumed role " + request.role_arn;
  pugi::xml_node user = result.child("AssumedRoleUser");
  role.assumed_role_arn = x::Text(user, "Arn");
  role.assumed_role_id = x::Text(user, "AssumedRoleId");
  if (role.credentials.access_key_id.empty() || role.credentials.secret_access_key.empty()) {
    throw AwsError("MalformedAnswer",
                   "STS AssumeRole for " + request.role_arn + " answered without credentials",
                   r.request_id, r.http_status, false);
  }
  return role;
}

}  // namespace orb
