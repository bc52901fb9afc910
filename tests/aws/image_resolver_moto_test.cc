// ImageResolver end to end: SSM parameters read from moto through SsmClient, then
// served from the on-disk cache.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "provider/aws/image_resolver.h"
#include "provider/aws/ssm_client.h"
#include "support/moto_server.h"

namespace orb {
namespace {

using ::testing::StartsWith;

constexpr const char* kAl2023 =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

TEST(ImageResolverMotoTest, ResolvesThroughSsmOnceThenFromTheCacheFile) {
  testing::MotoServer::Shared().Reset();
  AwsClient aws = testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint());
  SsmClient ssm(aws);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("orb_image_resolver_moto_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ImageResolverOptions options;
  options.cache_dir = dir.string();
  options.region = aws.region();

  ImageResolver first(options, SsmParameterFetch(ssm));
  ResolvedImage r = first.Resolve(std::string("resolve:ssm:") + kAl2023);
  EXPECT_THAT(r.image_id, StartsWith("ami-"));
  EXPECT_EQ(r.source, ImageSource::kSsm);
  EXPECT_EQ(ssm.GetParameter(kAl2023), r.image_id);
  const long long calls = aws.stats().calls;

  ImageResolver second(options, SsmParameterFetch(ssm));
  ResolvedImage again = second.Resolve(kAl2023);
  EXPECT_EQ(again.image_id, r.image_id);
  EXPECT_EQ(again.source, ImageSource::kCache);
  EXPECT_EQ(aws.stats().calls, calls);
  EXPECT_TRUE(std::filesystem::exists(second.cache_path()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace orb
