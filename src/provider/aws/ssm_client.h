#pragma once

// Typed SSM Parameter Store reads on top of AwsClient::CallJson (JSON 1.1,
// X-Amz-Target "AmazonSSM.<Action>"). orb reads parameters such as
// /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 to turn a
// template's image reference into an AMI id. Failures are AwsError.

#include <cstddef>
#include <string>
#include <vector>

#include "provider/aws/aws_client.h"

namespace orb {

// One parameter as SSM returns it.
struct SsmParameter {
  std::string name;
  std::string value;
  std::string type;       // String | StringList | SecureString
  std::string data_type;  // "text" or "aws:ec2:image"
  long long version = 0;
};

// What GetParameters found, and the names SSM does not know.
struct GetParametersResult {
  std::vector<SsmParameter> parameters;
  std::vector<std::string> invalid;  // names that do not exist (or are malformed)
};

// The SSM calls orb makes. Thread-safe as AwsClient is.
class SsmClient {
 public:
  // AWS's limit on names per GetParameters call.
  static constexpr std::size_t kMaxGetParametersNames = 10;

  // Uses `aws` (not owned; must outlive this client) for every call.
  explicit SsmClient(AwsClient& aws) : aws_(aws) {}

  // The value of parameter `name` (SecureString values are not decrypted). Throws
  // AwsError("ParameterNotFound") with a message naming the parameter and the
  // region when it does not exist, and AwsError for any other failure.
  std::string GetParameter(const std::string& name);

  // The parameters `names` (duplicates asked once), 10 names per call, in SSM's
  // order per call. Names SSM does not know are listed in `invalid`, never thrown.
  GetParametersResult GetParameters(const std::vector<std::string>& names);

 private:
  AwsClient& aws_;
};

}  // namespace orb
