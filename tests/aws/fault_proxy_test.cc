// The AWS client against moto behind the fault proxy: throttling, lost answers,
// latency and server errors, judged by AWS's semantics (ClientToken replay).

#include "support/fault_proxy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "provider/aws/aws_client.h"
#include "provider/aws/aws_error.h"
#include "support/moto_server.h"

namespace orb::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kTagKey[] = "orb-fault-test";

class FaultProxyMotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    moto_ = &MotoServer::Shared();
    moto_->Reset();
  }

  // A client through `proxy` that retries quickly and often enough to outlast the
  // injected faults.
  std::unique_ptr<AwsClient> ClientVia(const FaultProxy& proxy, int max_attempts = 25) {
    AwsClientOptions options = TestClientOptions(proxy.endpoint());
    options.max_attempts = max_attempts;
    options.retry_base_delay = milliseconds(1);
    options.retry_max_delay = milliseconds(5);
    options.circuit_threshold = 1000;
    return std::make_unique<AwsClient>(options, TestCredentials(),
                                       std::make_shared<HttpClient>(options.http));
  }

  // An AMI moto knows (it ships a default set).
  std::string AnyImage() {
    AwsClient direct(TestClientOptions(moto_->endpoint()), TestCredentials(),
                     std::make_shared<HttpClient>(HttpOptions()));
    QueryResponse images = direct.CallQuery(AwsService::kEc2, "DescribeImages", QueryParams());
    std::string id =
        images.root().child("imagesSet").child("item").child("imageId").text().as_string();
    EXPECT_FALSE(id.empty()) << "moto listed no AMI";
    return id;
  }

  // The instances (any state) tagged kTagKey=`tag`, counted on moto directly.
  int CountTagged(const std::string& tag) {
    AwsClient direct(TestClientOptions(moto_->endpoint()), TestCredentials(),
                     std::make_shared<HttpClient>(HttpOptions()));
    QueryParams params;
    params.Add("Filter.1.Name", std::string("tag:") + kTagKey).Add("Filter.1.Value.1", tag);
    QueryResponse answer = direct.CallQuery(AwsService::kEc2, "DescribeInstances", params);
    int count = 0;
    for (pugi::xml_node reservation : answer.root().child("reservationSet").children("item")) {
      for (pugi::xml_node instance : reservation.child("instancesSet").children("item")) {
        (void)instance;
        ++count;
      }
    }
    return count;
  }

  static QueryParams RunParams(const std::string& image, const std::string& token,
                               const std::string& tag, int count = 1,
                               const std::string& type = "t3.micro") {
    QueryParams params;
    params.Add("ImageId", image)
        .Add("InstanceType", type)
        .Add("MinCount", std::to_string(count))
        .Add("MaxCount", std::to_string(count))
        .Add("ClientToken", token)
        .Add("TagSpecification.1.ResourceType", "instance")
        .Add("TagSpecification.1.Tag.1.Key", kTagKey)
        .Add("TagSpecification.1.Tag.1.Value", tag);
    return params;
  }

  // How often each ClientToken reached moto.
  static std::map<std::string, int> ForwardedTokens(const std::vector<SeenCall>& seen) {
    std::map<std::string, int> out;
    for (const SeenCall& call : seen) {
      if (!call.client_token.empty() && call.forwarded) out[call.client_token]++;
    }
    return out;
  }

  MotoServer* moto_ = nullptr;
};

TEST_F(FaultProxyMotoTest, BatchCompletesUnderHalfThrottling) {
  const std::string image = AnyImage();
  FaultPlan plan;
  plan.throttle_fraction = 0.5;
  plan.seed = 11;
  FaultProxy proxy(moto_->endpoint(), plan);
  auto client = ClientVia(proxy);

  constexpr int kThreads = 5, kCallsPerThread = 10;  // 50 calls: 25 launches
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        try {
          if (i % 2 == 0) {
            client->CallQuery(AwsService::kEc2, "DescribeInstances", QueryParams());
          } else {
            std::string token = "batch-" + std::to_string(t) + "-" + std::to_string(i);
            client->CallQuery(AwsService::kEc2, "RunInstances", RunParams(image, token, "batch"));
          }
        } catch (const std::exception& e) {
          failed++;
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed, 0);

  std::vector<SeenCall> seen = proxy.seen();
  int throttled = 0;
  for (const SeenCall& call : seen) throttled += call.status == 503 ? 1 : 0;
  EXPECT_GT(throttled, 10);  // the faults really happened
  EXPECT_EQ(client->stats().throttled, throttled);
  std::map<std::string, int> forwarded = ForwardedTokens(seen);
  EXPECT_EQ(forwarded.size(), 25u);
  for (const auto& [token, times] : forwarded) EXPECT_EQ(times, 1) << token;
  EXPECT_EQ(CountTagged("batch"), 25);
}

TEST_F(FaultProxyMotoTest, LostAnswersAreRetriedWithTheSameTokenAndLaunchOnce) {
  const std::string image = AnyImage();
  FaultPlan plan;
  plan.drop_after_fraction = 0.5;  // moto launches, the answer is lost
  plan.seed = 5;
  FaultProxy proxy(moto_->endpoint(), plan);
  auto client = ClientVia(proxy);

  constexpr int kLaunches = 8, kPerLaunch = 2;
  std::set<std::string> instance_ids;
  for (int i = 0; i < kLaunches; ++i) {
    QueryResponse answer =
        client->CallQuery(AwsService::kEc2, "RunInstances",
                          RunParams(image, "lost-" + std::to_string(i), "lost", kPerLaunch));
    for (pugi::xml_node item : answer.root().child("instancesSet").children("item")) {
      instance_ids.insert(item.child("instanceId").text().as_string());
    }
  }
  std::vector<SeenCall> seen = proxy.seen();
  int lost = 0, replayed = 0;
  for (const SeenCall& call : seen) {
    lost += call.forwarded && call.status == 0 ? 1 : 0;
    replayed += call.replayed ? 1 : 0;
  }
  EXPECT_GT(lost, 0);      // some answers were lost after moto acted
  EXPECT_GT(replayed, 0);  // and the resends got the recorded answer
  for (const auto& [token, times] : ForwardedTokens(seen)) EXPECT_EQ(times, 1) << token;
  EXPECT_EQ(instance_ids.size(), static_cast<size_t>(kLaunches * kPerLaunch));
  EXPECT_EQ(CountTagged("lost"), kLaunches * kPerLaunch);  // exactly what was asked for
}

TEST_F(FaultProxyMotoTest, LatencyAndServerErrorsAreRecoveredFrom) {
  const std::string image = AnyImage();
  FaultPlan plan;
  plan.server_error_fraction = 0.3;
  plan.latency = milliseconds(30);
  plan.seed = 9;
  FaultProxy proxy(moto_->endpoint(), plan);
  auto client = ClientVia(proxy);

  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) {
    client->CallQuery(AwsService::kEc2, "DescribeInstances", QueryParams());
  }
  for (int i = 0; i < 3; ++i) {
    client->CallQuery(AwsService::kEc2, "RunInstances",
                      RunParams(image, "slow-" + std::to_string(i), "slow"));
  }
  auto elapsed = std::chrono::steady_clock::now() - start;

  std::vector<SeenCall> seen = proxy.seen();
  int errors = 0;
  for (const SeenCall& call : seen) errors += call.status == 500 ? 1 : 0;
  EXPECT_GT(errors, 0);
  EXPECT_EQ(client->stats().retries, errors);
  EXPECT_GE(elapsed, milliseconds(30) * static_cast<int>(seen.size()));
  EXPECT_EQ(CountTagged("slow"), 3);
}

TEST_F(FaultProxyMotoTest, ReusedTokenWithOtherParametersIsRefusedLikeAws) {
  const std::string image = AnyImage();
  FaultProxy proxy(moto_->endpoint());
  auto client = ClientVia(proxy);
  QueryResponse first =
      client->CallQuery(AwsService::kEc2, "RunInstances", RunParams(image, "same-token", "reuse"));
  QueryResponse again =
      client->CallQuery(AwsService::kEc2, "RunInstances", RunParams(image, "same-token", "reuse"));
  auto id = [](const QueryResponse& r) {
    return std::string(
        r.root().child("instancesSet").child("item").child("instanceId").text().as_string());
  };
  EXPECT_FALSE(id(first).empty());
  EXPECT_EQ(id(again), id(first));  // the original result, nothing new launched
  try {
    client->CallQuery(AwsService::kEc2, "RunInstances",
                      RunParams(image, "same-token", "reuse", 1, "m5.large"));
    FAIL() << "expected IdempotentParameterMismatch";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.aws_code(), "IdempotentParameterMismatch");
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_FALSE(e.retryable());
  }
  EXPECT_EQ(CountTagged("reuse"), 1);
  EXPECT_EQ(proxy.seen().size(), 3u);
}


TEST_F(FaultProxyMotoTest, ScheduledPhasesApplyInTurnThenTheBasePlan) {
  FaultProxy proxy(moto_->endpoint());
  auto client = ClientVia(proxy, 1);  // no retries: every answer is seen as it was
  FaultPlan throttled;
  throttled.throttle_fraction = 1.0;
  FaultPlan unavailable;
  unavailable.unavailable_fraction = 1.0;
  proxy.SetSchedule({{milliseconds(400), throttled}, {milliseconds(400), unavailable}});
  auto code_of_call = [&]() -> std::string {
    try {
      client->CallQuery(AwsService::kEc2, "DescribeInstances", QueryParams());
      return "ok";
    } catch (const AwsError& e) {
      return e.aws_code() + "/" + std::to_string(e.http_status());
    }
  };
  EXPECT_EQ(code_of_call(), "RequestLimitExceeded/503");  // EC2's throttling answer
  std::this_thread::sleep_for(milliseconds(450));
  EXPECT_EQ(code_of_call(), "Unavailable/503");
  std::this_thread::sleep_for(milliseconds(450));
  EXPECT_EQ(code_of_call(), "ok");  // the schedule ended: the base plan (no faults)
  std::vector<SeenCall> seen = proxy.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].fault, "throttle");
  EXPECT_EQ(seen[1].fault, "unavailable");
  EXPECT_EQ(seen[2].fault, "");
  EXPECT_EQ(proxy.FaultsInjected(), 2);
}

TEST_F(FaultProxyMotoTest, AutoScalingErrorsHaveItsErrorResponseShape) {
  FaultPlan plan;
  plan.unavailable_fraction = 1.0;
  FaultProxy proxy(moto_->endpoint(), plan);
  auto client = ClientVia(proxy, 1);
  try {
    client->CallQuery(AwsService::kAutoScaling, "DescribeAutoScalingGroups", QueryParams());
    FAIL() << "expected ServiceUnavailable";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.aws_code(), "ServiceUnavailable");  // parsed from <ErrorResponse>
    EXPECT_EQ(e.http_status(), 503);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("temporary failure"));
  }
}

TEST_F(FaultProxyMotoTest, RefusingProxyIsUnreachableUntilItListensAgain) {
  FaultProxy proxy(moto_->endpoint());
  const std::string endpoint = proxy.endpoint();
  auto client = ClientVia(proxy, 1);
  proxy.SetRefusing(true);
  try {
    client->CallQuery(AwsService::kEc2, "DescribeInstances", QueryParams());
    FAIL() << "expected a network error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.aws_code(), "NetworkError");
    EXPECT_EQ(e.http_status(), 0);
  }
  EXPECT_TRUE(proxy.seen().empty()) << "a refused connection never reaches the proxy";
  proxy.SetRefusing(false);
  EXPECT_EQ(proxy.endpoint(), endpoint) << "the same port again";
  client->CallQuery(AwsService::kEc2, "DescribeInstances", QueryParams());
  EXPECT_EQ(proxy.seen().size(), 1u);
}

TEST_F(FaultProxyMotoTest, SpikeHoldsTheAnswerOfACallAwsActedOn) {
  const std::string image = AnyImage();
  FaultPlan plan;
  plan.spike_fraction = 1.0;
  plan.spike = milliseconds(600);
  plan.spike_jitter = milliseconds(200);
  FaultProxy proxy(moto_->endpoint(), plan);
  AwsClientOptions options = TestClientOptions(proxy.endpoint());
  options.max_attempts = 3;
  options.retry_base_delay = milliseconds(1);
  options.retry_max_delay = milliseconds(5);
  options.http.timeout_ms = 300;  // the spike outlasts the read timeout
  AwsClient client(options, TestCredentials(), std::make_shared<HttpClient>(options.http));
  EXPECT_THROW(client.CallQuery(AwsService::kEc2, "RunInstances",
                                RunParams(image, "spiked", "spiked")),
               AwsError);
  std::this_thread::sleep_for(milliseconds(900));  // the held answers are let go
  EXPECT_EQ(CountTagged("spiked"), 1) << "AWS acted once; the resends were replays";
  int spiked = 0;
  for (const SeenCall& c : proxy.seen()) spiked += c.fault == "spike" ? 1 : 0;
  EXPECT_EQ(spiked, 3);
  EXPECT_EQ(ForwardedTokens(proxy.seen())["spiked"], 1);
}
}  // namespace
}  // namespace orb::testing
