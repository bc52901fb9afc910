// Fuzz target ssm_response: the JSON-protocol answers (SSM's JSON 1.1), as
// AwsClient::CallJson, SsmClient and the image resolver read them: GetParameter,
// GetParameters (batches of 10), an image reference resolved through SSM, and the
// JSON error shapes ({"__type": "...#Code", "message": ...}, "code", none).
//
// Input layout and the checks shared by the AWS targets: see aws_fake.h. Besides,
// a resolved image id is always an AMI id ("ami-...").

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "aws_fake.h"
#include "provider/aws/image_resolver.h"
#include "provider/aws/ssm_client.h"

namespace {

using orb::fuzz::FakeAws;

void Call(FakeAws& aws, int op) {
  orb::SsmClient ssm(aws.client());
  switch (op) {
    case 0:
      aws.Run("GetParameter", [&] { ssm.GetParameter("/aws/service/ami-amazon-linux-latest/x"); });
      break;
    case 1:
      aws.Run("GetParameters", [&] {
        std::vector<std::string> names;
        for (int i = 0; i < 12; ++i) names.push_back("/orb/image/" + std::to_string(i % 11));
        ssm.GetParameters(names);
      });
      break;
    case 2:
      aws.Run("ImageResolver", [&] {
        orb::ImageResolver resolver({.cache_dir = "", .region = "us-east-1"},
                                    orb::SsmParameterFetch(ssm), [] { return 1700000000; });
        const orb::ResolvedImage image = resolver.Resolve("resolve:ssm:/orb/image");
        ORB_FUZZ_CHECK(image.image_id.rfind("ami-", 0) == 0, image.image_id);
      });
      break;
    default:
      aws.Run("CallJson", [&] {
        aws.client().CallJson(orb::AwsService::kSsm, "AmazonSSM.DescribeParameters",
                              {{"MaxResults", 10}});
      });
      break;
  }
}

constexpr int kCalls = 4;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  orb::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FakeAws aws(data, size);
  if (!aws.ok()) return 0;
  Call(aws, aws.op() % kCalls);
  return 0;
}
