// InstanceTypeCatalog against moto's DescribeInstanceTypes, and with EC2 out of
// reach.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/aws/instance_type_catalog.h"
#include "support/moto_server.h"

namespace orb {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(InstanceTypeCatalogMotoTest, FactsFromEc2InOneCallThenFromTheCache) {
  AwsClient aws = testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint());
  Ec2Client ec2(aws);
  InstanceTypeCatalogOptions options;
  options.region = aws.region();
  InstanceTypeCatalog catalog(options, Ec2InstanceTypeFetch(ec2));

  const long long before = aws.stats().calls;
  InstanceTypeLookup r = catalog.Lookup({"m5.large", "m6g.large", "c5.2xlarge"});
  EXPECT_EQ(aws.stats().calls - before, 1);
  EXPECT_THAT(r.unknown, IsEmpty());
  EXPECT_EQ(r.aws_error, "");
  const InstanceTypeFacts& m5 = r.facts["m5.large"];
  EXPECT_EQ(m5.source, FactSource::kAws);
  EXPECT_EQ(m5.vcpus, 2);
  EXPECT_EQ(m5.cores, 1);
  EXPECT_EQ(m5.memory_mib, 8192);
  EXPECT_THAT(m5.architectures, Contains("x86_64"));
  EXPECT_THAT(r.facts["m6g.large"].architectures, ElementsAre("arm64"));
  EXPECT_EQ(r.facts["c5.2xlarge"].vcpus, 8);

  r = catalog.Lookup({"c5.2xlarge", "m5.large"});
  EXPECT_EQ(aws.stats().calls - before, 1);
  EXPECT_EQ(r.facts["m5.large"].source, FactSource::kCache);
}

TEST(InstanceTypeCatalogMotoTest, AMisspeltTypeIsUnknownAndDoesNotHideTheOthers) {
  AwsClient aws = testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint());
  Ec2Client ec2(aws);
  InstanceTypeCatalog catalog({"", aws.region()}, Ec2InstanceTypeFetch(ec2));
  const long long before = aws.stats().calls;
  InstanceTypeLookup r = catalog.Lookup({"m5.large", "m5.lagre"});
  // EC2 refuses the id list (InvalidInstanceType); the filter asks again.
  EXPECT_EQ(aws.stats().calls - before, 2);
  EXPECT_THAT(r.unknown, ElementsAre("m5.lagre"));
  EXPECT_EQ(r.facts["m5.large"].source, FactSource::kAws);
  EXPECT_EQ(r.aws_error, "");
}

TEST(InstanceTypeCatalogMotoTest, UnreachableEc2AnswersFromTheBuiltInTable) {
  // A loopback port nothing listens on; one attempt, so the test stays quick.
  AwsClientOptions options = testing::TestClientOptions("http://127.0.0.1:9");
  options.max_attempts = 1;
  AwsClient aws(options, testing::TestCredentials(), nullptr);
  Ec2Client ec2(aws);
  InstanceTypeCatalog catalog({"", aws.region()}, Ec2InstanceTypeFetch(ec2));
  InstanceTypeLookup r = catalog.Lookup({"m5.large"});
  EXPECT_THAT(r.aws_error, Not(IsEmpty()));
  EXPECT_EQ(r.facts["m5.large"].source, FactSource::kBuiltIn);
  EXPECT_EQ(r.facts["m5.large"].memory_mib, 8192);
}

}  // namespace
}  // namespace orb
