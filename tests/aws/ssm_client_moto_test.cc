// SsmClient against moto (the AWS emulator on loopback), which serves AWS's public
// /aws/service/ami-amazon-linux-latest/... parameters.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/aws/aws_error.h"
#include "provider/aws/ssm_client.h"
#include "support/moto_server.h"

namespace orb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

// A public parameter moto ships for every region.
constexpr const char* kAl2023 =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

class SsmMotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MotoServer::Shared().Reset();
    aws_ = std::make_unique<AwsClient>(
        testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint()));
    ssm_ = std::make_unique<SsmClient>(*aws_);
  }

  void Put(const std::string& name, const std::string& value) {
    aws_->CallJson(AwsService::kSsm, "AmazonSSM.PutParameter",
                   {{"Name", name}, {"Value", value}, {"Type", "String"}, {"Overwrite", true}});
  }

  long long Calls() const { return aws_->stats().calls; }

  std::unique_ptr<AwsClient> aws_;
  std::unique_ptr<SsmClient> ssm_;
};

TEST_F(SsmMotoTest, ReadsAwsPublicAmiParameter) {
  EXPECT_THAT(ssm_->GetParameter(kAl2023), StartsWith("ami-"));
}

TEST_F(SsmMotoTest, ReadsAParameterItCreated) {
  Put("/orb/test/golden-ami", "ami-760aaa0f");
  EXPECT_EQ(ssm_->GetParameter("/orb/test/golden-ami"), "ami-760aaa0f");
}

TEST_F(SsmMotoTest, AMissingParameterIsNamedInTheError) {
  try {
    ssm_->GetParameter("/orb/test/no-such-parameter");
    FAIL() << "expected an AwsError";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.aws_code(), "ParameterNotFound");
    EXPECT_FALSE(e.retryable());
    EXPECT_THAT(e.what(), HasSubstr("/orb/test/no-such-parameter"));
    EXPECT_THAT(e.what(), HasSubstr("us-east-1"));
  }
}

TEST_F(SsmMotoTest, GetParametersAsksTenNamesPerCallAndListsTheMissing) {
  std::vector<std::string> names;
  for (int i = 0; i < 11; ++i) {
    names.push_back("/orb/test/p" + std::to_string(i));
    Put(names.back(), "ami-0000000" + std::to_string(i % 10));
  }
  names.push_back(kAl2023);
  names.push_back("/orb/test/missing");
  names.push_back("/orb/test/p0");  // asked once
  const long long before = Calls();
  GetParametersResult r = ssm_->GetParameters(names);
  EXPECT_EQ(Calls() - before, 2);
  EXPECT_THAT(r.parameters, SizeIs(12));
  EXPECT_THAT(r.invalid, ElementsAre("/orb/test/missing"));
  for (const SsmParameter& p : r.parameters) {
    if (p.name == "/orb/test/p3") {
      EXPECT_EQ(p.value, "ami-00000003");
      EXPECT_EQ(p.type, "String");
      EXPECT_GE(p.version, 1);
    }
  }
}

}  // namespace
}  // namespace orb
