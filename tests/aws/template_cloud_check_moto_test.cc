// CheckTemplateInCloud against moto: real subnets, security groups, VPCs, AMIs,
// launch templates and SSM parameters.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/aws/image_resolver.h"
#include "provider/aws/ssm_client.h"
#include "provider/aws/template_cloud_check.h"
#include "support/moto_server.h"

namespace orb {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// An Amazon Linux AMI moto ships in every region.
constexpr const char* kImage = "ami-760aaa0f";

class TemplateCloudCheckMotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MotoServer::Shared().Reset();
    aws_ = std::make_unique<AwsClient>(
        testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint()));
    ec2_ = std::make_unique<Ec2Client>(*aws_);
    ssm_ = std::make_unique<SsmClient>(*aws_);
    images_ = std::make_unique<ImageResolver>(ImageResolverOptions{"", aws_->region()},
                                              SsmParameterFetch(*ssm_));
    default_subnet_ = ec2_->DescribeSubnets({}, {{"default-for-az", {"true"}}}).at(0);
    default_group_ = ec2_->DescribeSecurityGroups({}, {{"vpc-id", {default_subnet_.vpc_id}},
                                                       {"group-name", {"default"}}})
                         .at(0)
                         .group_id;
  }

  // A security group in a new VPC.
  std::string GroupInNewVpc() {
    QueryParams vpc;
    vpc.Add("CidrBlock", "10.9.0.0/16");
    std::string vpc_id = aws_->CallQuery(AwsService::kEc2, "CreateVpc", vpc)
                             .root()
                             .child("vpc")
                             .child_value("vpcId");
    QueryParams sg;
    sg.Add("GroupName", "orb-other").Add("GroupDescription", "other VPC").Add("VpcId", vpc_id);
    return aws_->CallQuery(AwsService::kEc2, "CreateSecurityGroup", sg)
        .root()
        .child_value("groupId");
  }

  Template Good() {
    Template t;
    t.template_id = "tpl-1";
    t.image_id = kImage;
    t.subnet_ids = {default_subnet_.subnet_id};
    t.security_group_ids = {default_group_};
    return t;
  }

  std::unique_ptr<AwsClient> aws_;
  std::unique_ptr<Ec2Client> ec2_;
  std::unique_ptr<SsmClient> ssm_;
  std::unique_ptr<ImageResolver> images_;
  Subnet default_subnet_;
  std::string default_group_;
};

TEST_F(TemplateCloudCheckMotoTest, ATemplateOfExistingResourcesHasNoProblem) {
  Template t = Good();
  const long long before = aws_->stats().calls;
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()), IsEmpty());
  EXPECT_EQ(aws_->stats().calls - before, 3);  // subnets, security groups, image
}

TEST_F(TemplateCloudCheckMotoTest, NamesEachMissingResourceWithItsField) {
  Template t = Good();
  t.subnet_ids = {default_subnet_.subnet_id, "subnet-0123456789abcdef0",
                  "subnet-0badbadbadbadbad0"};
  t.security_group_ids = {"sg-0123456789abcdef0", default_group_};
  t.image_id = "ami-0123456789abcdef0";
  t.launch_template_id = "lt-0123456789abcdef0";
  const long long before = aws_->stats().calls;
  std::vector<std::string> problems = CheckTemplateInCloud(t, *ec2_, images_.get());
  EXPECT_EQ(aws_->stats().calls - before, 4);  // one call per kind of resource
  EXPECT_THAT(
      problems,
      ElementsAre(
          AllOf(HasSubstr("template 'tpl-1' field 'subnetIds':"),
                HasSubstr("subnet-0123456789abcdef0 does not exist")),
          AllOf(HasSubstr("subnetIds':"), HasSubstr("subnet-0badbadbadbadbad0")),
          AllOf(HasSubstr("securityGroupIds':"), HasSubstr("sg-0123456789abcdef0 does not exist")),
          AllOf(HasSubstr("imageId':"), HasSubstr("ami-0123456789abcdef0")),
          AllOf(HasSubstr("launchTemplateId':"),
                HasSubstr("lt-0123456789abcdef0 does not exist"))));
}

TEST_F(TemplateCloudCheckMotoTest, SecurityGroupsOfAnotherVpcThanTheSubnets) {
  Template t = Good();
  const std::string other = GroupInNewVpc();
  t.security_group_ids = {default_group_, other};
  std::vector<std::string> problems = CheckTemplateInCloud(t, *ec2_, images_.get());
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0],
              AllOf(HasSubstr("securityGroupIds': " + other + " belongs to vpc-"),
                    HasSubstr(default_subnet_.subnet_id + " is in " + default_subnet_.vpc_id)));

  // With no subnet, instances go to the default VPC: the same mismatch.
  t.subnet_ids.clear();
  problems = CheckTemplateInCloud(t, *ec2_, images_.get());
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0],
              AllOf(HasSubstr(other), HasSubstr("default VPC " + default_subnet_.vpc_id)));
}

TEST_F(TemplateCloudCheckMotoTest, NoSubnetNeedsADefaultVpc) {
  Template t = Good();
  t.subnet_ids.clear();
  t.security_group_ids.clear();
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()), IsEmpty());

  // Remove the default VPC (its subnets first).
  for (const Subnet& s : ec2_->DescribeSubnets({}, {{"vpc-id", {default_subnet_.vpc_id}}})) {
    QueryParams p;
    p.Add("SubnetId", s.subnet_id);
    aws_->CallQuery(AwsService::kEc2, "DeleteSubnet", p);
  }
  QueryParams vpc;
  vpc.Add("VpcId", default_subnet_.vpc_id);
  aws_->CallQuery(AwsService::kEc2, "DeleteVpc", vpc);
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()),
              ElementsAre(AllOf(HasSubstr("template 'tpl-1' field 'subnetIds': not given"),
                                HasSubstr("no default VPC"))));
  // A launch template may carry the network: then nothing is asked of the VPCs.
  t.image_id.clear();
  CreateLaunchTemplateRequest r;
  r.client_token = "lt-network";
  r.launch_template_name = "orb-network";
  r.data.image_id = kImage;
  t.launch_template_id = ec2_->CreateLaunchTemplate(r).launch_template_id;
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()), IsEmpty());
}

TEST_F(TemplateCloudCheckMotoTest, ChecksTheAmiBehindAnSsmParameter) {
  aws_->CallJson(AwsService::kSsm, "AmazonSSM.PutParameter",
                 {{"Name", "/orb/test/good"}, {"Value", kImage}, {"Type", "String"}});
  aws_->CallJson(
      AwsService::kSsm, "AmazonSSM.PutParameter",
      {{"Name", "/orb/test/gone"}, {"Value", "ami-0feedfeedfeedfeed"}, {"Type", "String"}});
  Template t = Good();
  t.image_id = "resolve:ssm:/orb/test/good";
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()), IsEmpty());

  t.image_id = "/orb/test/gone";
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()),
              ElementsAre(AllOf(HasSubstr("imageId': AMI ami-0feedfeedfeedfeed"),
                                HasSubstr("from SSM parameter /orb/test/gone"))));

  t.image_id = "/orb/test/missing";
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()),
              ElementsAre(AllOf(HasSubstr("imageId':"), HasSubstr("/orb/test/missing"),
                                HasSubstr("does not exist"))));
  // Without a resolver an SSM reference is left unchecked.
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, nullptr), IsEmpty());
}

TEST_F(TemplateCloudCheckMotoTest, AnExistingLaunchTemplateAndItsVersion) {
  CreateLaunchTemplateRequest r;
  r.client_token = "lt-check";
  r.launch_template_name = "orb-check";
  r.data.image_id = kImage;
  r.data.instance_type = "t3.micro";
  LaunchTemplate lt = ec2_->CreateLaunchTemplate(r);
  Template t = Good();
  t.launch_template_id = lt.launch_template_id;
  t.launch_template_version = "1";
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()), IsEmpty());
  t.launch_template_version = "4";
  EXPECT_THAT(CheckTemplateInCloud(t, *ec2_, images_.get()),
              ElementsAre(AllOf(HasSubstr("launchTemplateVersion': version 4"),
                                HasSubstr("the latest is 1"))));
}

}  // namespace
}  // namespace orb
