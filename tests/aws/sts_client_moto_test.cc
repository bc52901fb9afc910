// StsClient against moto (the AWS emulator on loopback).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "provider/aws/sts_client.h"
#include "support/moto_server.h"

namespace orb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class StsMotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    aws_ = std::make_unique<AwsClient>(
        testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint()));
    sts_ = std::make_unique<StsClient>(*aws_);
  }
  std::unique_ptr<AwsClient> aws_;
  std::unique_ptr<StsClient> sts_;
};

TEST_F(StsMotoTest, GetCallerIdentityNamesTheAccount) {
  const CallerIdentity id = sts_->GetCallerIdentity();
  EXPECT_EQ(id.account.size(), 12u);
  EXPECT_THAT(id.arn, StartsWith("arn:aws:"));
  EXPECT_THAT(id.arn, HasSubstr(id.account));
  EXPECT_FALSE(id.user_id.empty());
}

TEST_F(StsMotoTest, AssumeRoleReturnsTemporaryCredentials) {
  AssumeRoleRequest r;
  r.role_arn = "arn:aws:iam::123456789012:role/orb-broker";
  r.session_name = "orb-test";
  r.duration_seconds = 900;
  r.external_id = "symphony";
  const EpochSeconds before = NowSeconds();
  const AssumedRole role = sts_->AssumeRole(r);
  EXPECT_FALSE(role.credentials.access_key_id.empty());
  EXPECT_FALSE(role.credentials.secret_access_key.empty());
  EXPECT_FALSE(role.credentials.session_token.empty());
  EXPECT_GE(role.credentials.expiration, before + 800);
  EXPECT_LE(role.credentials.expiration, before + 1000);
  EXPECT_THAT(role.assumed_role_arn, HasSubstr("orb-broker/orb-test"));
  EXPECT_FALSE(role.assumed_role_id.empty());
  EXPECT_THAT(role.credentials.source, HasSubstr("orb-broker"));
  EXPECT_THAT(role.credentials.source, Not(HasSubstr(role.credentials.secret_access_key)));
}

}  // namespace
}  // namespace orb
