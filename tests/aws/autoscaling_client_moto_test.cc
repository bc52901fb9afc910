// AutoScalingClient against moto (the AWS emulator on loopback), and against a
// recorded AWS answer for DescribeScalingActivities (moto answers it empty).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "provider/aws/autoscaling_client.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/ec2_client.h"
#include "support/moto_server.h"

// Debian's cpp-httplib is a compiled library built with OpenSSL support, which
// changes the layout of its classes: declare the same here.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <httplib.h>

namespace orb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr const char* kImage = "ami-760aaa0f";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class AutoScalingMotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MotoServer::Shared().Reset();
    aws_ = std::make_unique<AwsClient>(
        testing::MakeTestAwsClient(testing::MotoServer::Shared().endpoint()));
    ec2_ = std::make_unique<Ec2Client>(*aws_);
    asg_ = std::make_unique<AutoScalingClient>(*aws_);
    CreateLaunchTemplateRequest lt;
    lt.client_token = "asg-lt";
    lt.launch_template_name = "orb-asg";
    lt.data.image_id = kImage;
    lt.data.instance_type = "t3.micro";
    template_ = ec2_->CreateLaunchTemplate(lt);
    auto subnets = ec2_->DescribeSubnets({}, {{"default-for-az", {"true"}}});
    ASSERT_GE(subnets.size(), 2u);
    subnets_ = {subnets[0].subnet_id, subnets[1].subnet_id};
  }

  AutoScalingGroupRequest Group(const std::string& name, int desired) {
    AutoScalingGroupRequest r;
    r.name = name;
    LaunchTemplateSpec lt;
    lt.id = template_.launch_template_id;
    lt.version = "$Latest";
    r.launch_template = lt;
    r.min_size = 0;
    r.max_size = 10;
    r.desired_capacity = desired;
    r.subnet_ids = subnets_;
    return r;
  }

  AutoScalingGroup Describe(const std::string& name) {
    auto groups = asg_->DescribeAutoScalingGroups({name});
    EXPECT_THAT(groups, SizeIs(1));
    return groups.empty() ? AutoScalingGroup{} : groups[0];
  }

  std::unique_ptr<AwsClient> aws_;
  std::unique_ptr<Ec2Client> ec2_;
  std::unique_ptr<AutoScalingClient> asg_;
  LaunchTemplate template_;
  std::vector<std::string> subnets_;
};

TEST_F(AutoScalingMotoTest, GroupLifecycle) {
  AutoScalingGroupRequest create = Group("orb-req-1", 2);
  create.new_instances_protected_from_scale_in = true;
  create.tags = {{"orb:request-id", "req-1", true}, {"orb:owner", "orb", false}};
  asg_->CreateAutoScalingGroup(create);

  AutoScalingGroup g = Describe("orb-req-1");
  EXPECT_EQ(g.name, "orb-req-1");
  EXPECT_THAT(g.arn, HasSubstr("autoScalingGroupName/orb-req-1"));
  ASSERT_TRUE(g.launch_template.has_value());
  EXPECT_EQ(g.launch_template->id, template_.launch_template_id);
  EXPECT_FALSE(g.mixed_instances_policy.has_value());
  EXPECT_EQ(g.min_size, 0);
  EXPECT_EQ(g.max_size, 10);
  EXPECT_EQ(g.desired_capacity, 2);
  EXPECT_EQ(g.subnet_ids, subnets_);
  EXPECT_TRUE(g.new_instances_protected_from_scale_in);
  EXPECT_GT(g.created_time, 0);
  ASSERT_THAT(g.instances, SizeIs(2));
  for (const AsgInstance& i : g.instances) {
    EXPECT_EQ(i.instance_type, "t3.micro");
    EXPECT_EQ(i.lifecycle_state, "InService");
    EXPECT_EQ(i.health_status, "Healthy");
    EXPECT_TRUE(i.protected_from_scale_in);
  }
  std::map<std::string, AsgTag> tags;
  for (const AsgTag& t : g.tags) tags[t.key] = t;
  EXPECT_EQ(tags["orb:request-id"].value, "req-1");
  EXPECT_TRUE(tags["orb:request-id"].propagate_at_launch);
  EXPECT_FALSE(tags["orb:owner"].propagate_at_launch);

  asg_->SetDesiredCapacity("orb-req-1", 3);
  g = Describe("orb-req-1");
  EXPECT_EQ(g.desired_capacity, 3);
  ASSERT_THAT(g.instances, SizeIs(3));

  const std::string victim = g.instances[0].instance_id;
  const ScalingActivity activity =
      asg_->TerminateInstanceInAutoScalingGroup(victim, /*decrement_desired_capacity=*/true);
  EXPECT_FALSE(activity.activity_id.empty());
  EXPECT_EQ(activity.description, "Terminating EC2 instance: " + victim);
  EXPECT_EQ(activity.status_code, "InProgress");
  g = Describe("orb-req-1");
  EXPECT_EQ(g.desired_capacity, 2);
  for (const AsgInstance& i : g.instances) EXPECT_NE(i.instance_id, victim);

  asg_->CreateOrUpdateTags("orb-req-1", {{"team", "hpc", false}});
  g = Describe("orb-req-1");
  EXPECT_EQ(g.tags.size(), 3u);

  AutoScalingGroupRequest update;
  update.name = "orb-req-1";
  update.max_size = 20;
  asg_->UpdateAutoScalingGroup(update);
  g = Describe("orb-req-1");
  EXPECT_EQ(g.max_size, 20);
  EXPECT_EQ(g.min_size, 0) << "fields not set are left alone";

  // moto keeps no activity history; the answer's shape is tested below.
  EXPECT_NO_THROW(asg_->DescribeScalingActivities("orb-req-1"));

  asg_->DeleteAutoScalingGroup("orb-req-1", /*force_delete=*/true);
  EXPECT_THAT(asg_->DescribeAutoScalingGroups({"orb-req-1"}), IsEmpty());
}

TEST_F(AutoScalingMotoTest, MixedInstancesPolicyRoundTrip) {
  AutoScalingGroupRequest r = Group("orb-mixed", 1);
  r.launch_template.reset();
  MixedInstancesPolicy m;
  m.launch_template.id = template_.launch_template_id;
  m.launch_template.version = "$Default";
  m.overrides = {{"t3.micro", "1", std::nullopt, nullptr},
                 {"t3.small", "2", std::nullopt, nullptr}};
  m.distribution.on_demand_base_capacity = 0;
  m.distribution.on_demand_percentage_above_base_capacity = 0;
  m.distribution.spot_allocation_strategy = "price-capacity-optimized";
  r.mixed_instances_policy = m;
  r.capacity_rebalance = true;
  asg_->CreateAutoScalingGroup(r);

  const AutoScalingGroup g = Describe("orb-mixed");
  ASSERT_TRUE(g.mixed_instances_policy.has_value());
  EXPECT_EQ(g.mixed_instances_policy->launch_template.id, template_.launch_template_id);
  ASSERT_THAT(g.mixed_instances_policy->overrides, SizeIs(2));
  EXPECT_EQ(g.mixed_instances_policy->overrides[1].instance_type, "t3.small");
  EXPECT_EQ(g.mixed_instances_policy->overrides[1].weighted_capacity, "2");
  EXPECT_EQ(g.mixed_instances_policy->distribution.spot_allocation_strategy,
            "price-capacity-optimized");
  EXPECT_EQ(g.mixed_instances_policy->distribution.on_demand_percentage_above_base_capacity, 0);
}

TEST_F(AutoScalingMotoTest, DescribeAutoScalingGroupsFollowsEveryPage) {
  for (int i = 0; i < 5; ++i)
    asg_->CreateAutoScalingGroup(Group("orb-page-" + std::to_string(i), 0));
  const long long calls = aws_->stats().calls;
  const auto groups = asg_->DescribeAutoScalingGroups({}, {}, /*page_size=*/2);
  EXPECT_EQ(aws_->stats().calls - calls, 3);
  std::vector<std::string> names;
  for (const auto& g : groups) names.push_back(g.name);
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("orb-page-0", "orb-page-1", "orb-page-2",
                                                     "orb-page-3", "orb-page-4"));
}

// DescribeScalingActivities against two recorded pages served on loopback.
TEST(AutoScalingRecordedTest, DescribeScalingActivitiesReadsEveryPageUpToTheLimit) {
  const std::string dir = std::string(ORB_TEST_DATA_DIR) + "/aws/";
  const std::string page1 = ReadFile(dir + "describe_scaling_activities_page1.xml");
  const std::string page2 = ReadFile(dir + "describe_scaling_activities_page2.xml");
  ASSERT_FALSE(page1.empty());
  ASSERT_FALSE(page2.empty());
  httplib::Server server;
  std::vector<std::string> bodies;
  server.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    bodies.push_back(req.body);
    const bool second = req.body.find("NextToken=") != std::string::npos;
    res.set_content(second ? page2 : page1, "text/xml");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::vector<ScalingActivity> all, first;
  {
    AwsClient aws = testing::MakeTestAwsClient("http://127.0.0.1:" + std::to_string(port));
    AutoScalingClient asg(aws);
    all = asg.DescribeScalingActivities("orb-req-42");
    first = asg.DescribeScalingActivities("orb-req-42", 1);
  }  // closes the kept-alive connection, so that stop() need not wait for it
  server.stop();
  thread.join();

  ASSERT_THAT(all, SizeIs(3));
  EXPECT_EQ(all[0].status_code, "Failed");
  EXPECT_THAT(all[0].status_message, HasSubstr("sufficient c5.24xlarge capacity"));
  EXPECT_EQ(all[0].group_name, "orb-req-42");
  EXPECT_EQ(all[0].progress, 100);
  EXPECT_EQ(all[0].start_time, 1714564807);  // 2024-05-01T12:00:07.120Z
  EXPECT_EQ(all[1].description, "Launching a new EC2 instance: i-0a1b2c3d4e5f60718");
  EXPECT_EQ(all[2].status_code, "InProgress");
  EXPECT_EQ(all[2].end_time, 0);
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].activity_id, all[0].activity_id);

  ASSERT_THAT(bodies, SizeIs(3));
  EXPECT_THAT(bodies[0], HasSubstr("Action=DescribeScalingActivities"));
  EXPECT_THAT(bodies[0], HasSubstr("AutoScalingGroupName=orb-req-42"));
  EXPECT_THAT(bodies[1], HasSubstr("NextToken=b5a3b43e-10c6-4b61-8e41-2756db1fb8f5"));
  EXPECT_THAT(bodies[2], HasSubstr("MaxRecords=1"));
}

}  // namespace
}  // namespace orb
