#include "provider/aws/aws_client.h"

// Debian's cpp-httplib is a compiled library built with OpenSSL support, which
// changes the layout of its classes: declare the same here.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "provider/aws/aws_error.h"
#include "support/fault_proxy.h"

namespace orb {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A stand-in AWS endpoint on a free loopback port: answers every request with
// `handler` and keeps what it received.
class FakeAws {
 public:
  using Handler = std::function<void(int call, const httplib::Request&, httplib::Response&)>;

  FakeAws() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
    server_.set_keep_alive_max_count(100000);
    server_.set_tcp_nodelay(true);  // no 40 ms Nagle / delayed-ACK stalls on reuse
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      int call = 0;
      Handler handler;
      {
        std::lock_guard<std::mutex> lock(mu_);
        call = static_cast<int>(requests_.size());
        requests_.push_back(req);
        handler = handler_;
      }
      if (handler) handler(call, req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~FakeAws() {
    server_.stop();
    thread_.join();
  }

  void set_handler(Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(requests_.size());
  }
  httplib::Request request(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.at(i);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  Handler handler_;
  std::vector<httplib::Request> requests_;
};

// Credentials that change on every Get(), counting the calls.
class CountingCredentials : public CredentialsProvider {
 public:
  Credentials Get() override {
    int n = ++gets;
    Credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    c.session_token = "session-token-" + std::to_string(n);
    c.source = "test";
    return c;
  }
  std::atomic<int> gets{0};
};

const char kEc2Ok[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "<requestId>ok-req-1</requestId><reservationSet/></DescribeInstancesResponse>";

std::string Ec2Error(const std::string& code, const std::string& message,
                     const std::string& request_id = "err-req-1") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" + code +
         "</Code><Message>" + message + "</Message></Error></Errors><RequestID>" + request_id +
         "</RequestID></Response>";
}

void AnswerOk(httplib::Response& res) { res.set_content(kEc2Ok, "text/xml"); }

void AnswerError(httplib::Response& res, int status, const std::string& code,
                 const std::string& message = "message") {
  res.status = status;
  res.set_content(Ec2Error(code, message), "text/xml");
}

AwsClientOptions FastOptions(const std::string& endpoint) {
  AwsClientOptions options;
  options.region = "us-east-1";
  options.endpoint_url = endpoint;
  options.http.connect_timeout_ms = 2000;
  options.http.timeout_ms = 5000;
  options.max_attempts = 5;
  options.retry_base_delay = milliseconds(1);
  options.retry_max_delay = milliseconds(5);
  options.max_pacing_wait = milliseconds(5000);
  for (const auto& [family, limits] : DefaultBucketLimits()) {
    options.buckets[family] = BucketLimits{1000, 1000};
  }
  return options;
}

struct Fixture {
  explicit Fixture(AwsClientOptions options)
      : credentials(std::make_shared<CountingCredentials>()),
        client(std::move(options), credentials, nullptr) {}
  std::shared_ptr<CountingCredentials> credentials;
  AwsClient client;
};

AwsError CatchAwsError(const std::function<void()>& call) {
  try {
    call();
  } catch (const AwsError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an AwsError";
  return AwsError("none", "none", "", 0, false);
}

QueryParams DescribeParams() {
  QueryParams params;
  params.Add("InstanceId.1", "i-0123456789abcdef0");
  return params;
}

TEST(QueryParamsTest, AddsListsAndFlattensJsonTheQueryWay) {
  QueryParams params;
  params.Add("ImageId", "ami-1").AddList("InstanceId", {"i-1", "i-2"});
  params.AddList("AutoScalingGroupNames.member", {"g"});
  params.AddJson("", nlohmann::json::parse(R"({
      "TagSpecification": [{"ResourceType": "instance",
                            "Tag": [{"Key": "a", "Value": "b"}, {"Key": "c", "Value": ""}]}],
      "Monitoring": {"Enabled": true},
      "MaxCount": 2,
      "SpotPrice": 0.5,
      "Skipped": null,
      "Empty": []})"));
  std::vector<std::pair<std::string, std::string>> expected = {
      {"ImageId", "ami-1"},
      {"InstanceId.1", "i-1"},
      {"InstanceId.2", "i-2"},
      {"AutoScalingGroupNames.member.1", "g"},
      // nlohmann::json orders object keys by name.
      {"MaxCount", "2"},
      {"Monitoring.Enabled", "true"},
      {"SpotPrice", "0.5"},
      {"TagSpecification.1.ResourceType", "instance"},
      {"TagSpecification.1.Tag.1.Key", "a"},
      {"TagSpecification.1.Tag.1.Value", "b"},
      {"TagSpecification.1.Tag.2.Key", "c"},
      {"TagSpecification.1.Tag.2.Value", ""},
  };
  EXPECT_EQ(params.items(), expected);
  EXPECT_EQ(params.Get("InstanceId.2"), "i-2");
  EXPECT_EQ(params.Get("Nope"), "");

  QueryParams prefixed;
  prefixed.AddJson("LaunchTemplate", nlohmann::json{{"LaunchTemplateId", "lt-1"}});
  EXPECT_EQ(prefixed.Get("LaunchTemplate.LaunchTemplateId"), "lt-1");
}

TEST(EndpointTest, ResolvesOverridesThenSharedUrlThenAwsDefaults) {
  auto creds = std::make_shared<CountingCredentials>();
  AwsClientOptions options;
  options.region = "eu-west-1";
  AwsClient plain(options, creds, nullptr);
  EXPECT_EQ(plain.Endpoint(AwsService::kEc2), "https://ec2.eu-west-1.amazonaws.com");
  EXPECT_EQ(plain.Endpoint(AwsService::kAutoScaling),
            "https://autoscaling.eu-west-1.amazonaws.com");
  EXPECT_EQ(plain.Endpoint(AwsService::kSts), "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(plain.Endpoint(AwsService::kDynamoDb), "https://dynamodb.eu-west-1.amazonaws.com");
  EXPECT_EQ(plain.Endpoint(AwsService::kSqs), "https://sqs.eu-west-1.amazonaws.com");
  EXPECT_EQ(plain.Endpoint(AwsService::kSsm), "https://ssm.eu-west-1.amazonaws.com");
  EXPECT_EQ(plain.region(), "eu-west-1");

  options.endpoint_url = "http://127.0.0.1:5000/";
  options.service_endpoints[AwsService::kSts] = "https://sts.example.test";
  AwsClient overridden(options, creds, nullptr);
  EXPECT_EQ(overridden.Endpoint(AwsService::kEc2), "http://127.0.0.1:5000");
  EXPECT_EQ(overridden.Endpoint(AwsService::kAutoScaling), "http://127.0.0.1:5000");
  EXPECT_EQ(overridden.Endpoint(AwsService::kSts), "https://sts.example.test");
  EXPECT_EQ(overridden.Endpoint(AwsService::kSsm), "http://127.0.0.1:5000");
  options.service_endpoints[AwsService::kSsm] = "https://ssm.example.test/";
  AwsClient ssm_overridden(options, creds, nullptr);
  EXPECT_EQ(ssm_overridden.Endpoint(AwsService::kSsm), "https://ssm.example.test");
  EXPECT_EQ(ssm_overridden.Endpoint(AwsService::kEc2), "http://127.0.0.1:5000");

  options = AwsClientOptions();
  options.region = "cn-north-1";
  AwsClient china(options, creds, nullptr);
  EXPECT_EQ(china.Endpoint(AwsService::kEc2), "https://ec2.cn-north-1.amazonaws.com.cn");
}

TEST(EndpointTest, MissingRegionIsAConfigErrorSayingWhatToSet) {
  AwsClient client(AwsClientOptions(), std::make_shared<CountingCredentials>(), nullptr);
  try {
    client.Endpoint(AwsService::kEc2);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_THAT(std::string(e.what()), HasSubstr("aws.region"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("AWS_REGION"));
  }
  EXPECT_THROW(client.CallQuery(AwsService::kEc2, "DescribeInstances", QueryParams()), Error);
}

TEST(AwsClientTest, PostsASignedFormBodyAndParsesTheAnswer) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) { AnswerOk(res); });
  Fixture f(FastOptions(aws.endpoint()));
  QueryParams params;
  params.Add("Filter.1.Name", "tag:Name").Add("Filter.1.Value.1", "a b&c");
  QueryResponse response = f.client.CallQuery(AwsService::kEc2, "DescribeInstances", params);

  EXPECT_EQ(std::string(response.root().name()), "DescribeInstancesResponse");
  EXPECT_EQ(response.request_id, "ok-req-1");
  EXPECT_EQ(response.http_status, 200);
  ASSERT_EQ(aws.calls(), 1);
  httplib::Request req = aws.request(0);
  EXPECT_EQ(req.path, "/");
  EXPECT_EQ(req.body,
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName"
            "&Filter.1.Value.1=a%20b%26c");
  EXPECT_EQ(req.get_header_value("Content-Type"),
            "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_THAT(req.get_header_value("Authorization"),
              StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
  EXPECT_THAT(req.get_header_value("Authorization"), HasSubstr("/us-east-1/ec2/aws4_request"));
  EXPECT_FALSE(req.get_header_value("X-Amz-Date").empty());
  EXPECT_EQ(req.get_header_value("X-Amz-Security-Token"), "session-token-1");
}

TEST(AwsClientTest, Ec2ErrorCarriesCodeMessageAndRequestIdAndIsNotRetried) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(
        Ec2Error("InvalidParameterValue", "Value (t9.nano) for parameter instanceType is invalid.",
                 "5d1c1b2e-aaaa"),
        "text/xml");
  });
  Fixture f(FastOptions(aws.endpoint()));
  AwsError e = CatchAwsError(
      [&] { f.client.CallQuery(AwsService::kEc2, "RunInstances", DescribeParams()); });
  EXPECT_EQ(e.aws_code(), "InvalidParameterValue");
  EXPECT_EQ(e.request_id(), "5d1c1b2e-aaaa");
  EXPECT_EQ(e.http_status(), 400);
  EXPECT_FALSE(e.retryable());
  EXPECT_EQ(e.code(), ErrorCode::kCloud);
  EXPECT_THAT(std::string(e.what()), HasSubstr("RunInstances"));
  EXPECT_THAT(std::string(e.what()), HasSubstr("Value (t9.nano) for parameter instanceType"));
  EXPECT_EQ(aws.calls(), 1);
  EXPECT_EQ(f.client.stats().failures, 1);
}

TEST(AwsClientTest, AutoScalingAndStsErrorShapeIsParsed) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(
        "<ErrorResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error>"
        "<Type>Sender</Type><Code>ValidationError</Code><Message>Group x not found</Message>"
        "</Error><RequestId>asg-req-9</RequestId></ErrorResponse>",
        "text/xml");
  });
  Fixture f(FastOptions(aws.endpoint()));
  AwsError e = CatchAwsError([&] {
    f.client.CallQuery(AwsService::kAutoScaling, "DescribeAutoScalingGroups", QueryParams());
  });
  EXPECT_EQ(e.aws_code(), "ValidationError");
  EXPECT_EQ(e.request_id(), "asg-req-9");
  EXPECT_THAT(std::string(e.what()), HasSubstr("Group x not found"));
  EXPECT_THAT(aws.request(0).body,
              StartsWith("Action=DescribeAutoScalingGroups&Version=2011-01-01"));
}

TEST(AwsClientTest, ThrottledTwiceThenSucceedsOnTheThirdAttempt) {
  FakeAws aws;
  aws.set_handler([](int call, const httplib::Request&, httplib::Response& res) {
    if (call < 2) {
      AnswerError(res, 503, "RequestLimitExceeded", "Request limit exceeded.");
    } else {
      AnswerOk(res);
    }
  });
  Fixture f(FastOptions(aws.endpoint()));
  QueryResponse response =
      f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
  EXPECT_EQ(response.request_id, "ok-req-1");
  EXPECT_EQ(aws.calls(), 3);
  AwsClient::Stats stats = f.client.stats();
  EXPECT_EQ(stats.calls, 1);
  EXPECT_EQ(stats.attempts, 3);
  EXPECT_EQ(stats.retries, 2);
  EXPECT_EQ(stats.throttled, 2);
  EXPECT_EQ(stats.failures, 0);
}

TEST(AwsClientTest, CredentialsAreFetchedForEveryAttempt) {
  FakeAws aws;
  aws.set_handler([](int call, const httplib::Request&, httplib::Response& res) {
    if (call < 2) {
      AnswerError(res, 503, "RequestLimitExceeded");
    } else {
      AnswerOk(res);
    }
  });
  Fixture f(FastOptions(aws.endpoint()));
  f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
  EXPECT_EQ(f.credentials->gets, 3);
  // Each attempt was signed with the credentials current at that time.
  EXPECT_EQ(aws.request(0).get_header_value("X-Amz-Security-Token"), "session-token-1");
  EXPECT_EQ(aws.request(2).get_header_value("X-Amz-Security-Token"), "session-token-3");
}

TEST(AwsClientTest, ServerErrorsAreRetriedThenReportedWithTheAttemptCount) {
  FakeAws aws;
  aws.set_handler([](int call, const httplib::Request&, httplib::Response& res) {
    if (call == 0) {
      AnswerError(res, 500, "InternalError", "An internal error has occurred");
    } else {
      AnswerOk(res);
    }
  });
  AwsClientOptions options = FastOptions(aws.endpoint());
  options.max_attempts = 3;
  {
    Fixture f(options);
    f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
    EXPECT_EQ(aws.calls(), 2);
  }
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) {
    AnswerError(res, 500, "InternalError", "An internal error has occurred");
  });
  Fixture f(options);
  AwsError e = CatchAwsError(
      [&] { f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams()); });
  EXPECT_EQ(e.aws_code(), "InternalError");
  EXPECT_EQ(e.http_status(), 500);
  EXPECT_TRUE(e.retryable());
  EXPECT_THAT(std::string(e.what()), HasSubstr("gave up after 3 attempts"));
  EXPECT_EQ(aws.calls(), 2 + 3);
}

TEST(AwsClientTest, NonAwsBodyIsReportedWithStatusAndExcerpt) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) {
    res.status = 501;
    res.set_content(
        "<!DOCTYPE html>\n<html><head><title>501 Not Implemented</title></head>"
        "<body><h1>Not Implemented</h1><p>The action ModifyFleet is not implemented.</p>"
        "</body></html>",
        "text/html");
  });
  AwsClientOptions options = FastOptions(aws.endpoint());
  options.max_attempts = 2;
  Fixture f(options);
  AwsError e =
      CatchAwsError([&] { f.client.CallQuery(AwsService::kEc2, "ModifyFleet", QueryParams()); });
  EXPECT_EQ(e.http_status(), 501);
  EXPECT_EQ(e.aws_code(), "UnexpectedResponse");
  EXPECT_THAT(std::string(e.what()), HasSubstr("HTTP 501"));
  EXPECT_THAT(std::string(e.what()), HasSubstr("The action ModifyFleet is not implemented."));
  EXPECT_THAT(std::string(e.what()), Not(HasSubstr("<p>")));
}

TEST(AwsClientTest, NonIdempotentCallIsNotResentAfterALostAnswer) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) { AnswerOk(res); });
  testing::FaultPlan plan;
  plan.drop_after_fraction = 1.0;  // AWS acts, the answer is lost
  testing::FaultProxy proxy(aws.endpoint(), plan);
  Fixture f(FastOptions(proxy.endpoint()));
  CallOptions once;
  once.idempotent = false;
  AwsError e = CatchAwsError(
      [&] { f.client.CallQuery(AwsService::kEc2, "CreateFleet", QueryParams(), once); });
  EXPECT_EQ(e.aws_code(), "NetworkError");
  EXPECT_FALSE(e.retryable());
  EXPECT_THAT(std::string(e.what()), HasSubstr("not idempotent"));
  EXPECT_EQ(aws.calls(), 1);  // exactly once
  EXPECT_EQ(proxy.seen().size(), 1u);

  // The same kind of call carrying a ClientToken is resent: AWS runs it once.
  testing::FaultPlan lossy;
  lossy.drop_after_fraction = 0.5;
  lossy.seed = 7;
  proxy.SetPlan(lossy);
  QueryParams tokened;
  tokened.Add("ClientToken", "token-1");
  f.client.CallQuery(AwsService::kEc2, "CreateFleet", tokened, once);
  EXPECT_EQ(aws.calls(), 2);  // forwarded once more; repeats were replayed by the proxy
}

TEST(AwsClientTest, NonIdempotentCallIsRetriedOnThrottlingButNotOnServerErrors) {
  FakeAws aws;
  aws.set_handler([](int call, const httplib::Request&, httplib::Response& res) {
    if (call == 0) {
      AnswerError(res, 503, "RequestLimitExceeded");
    } else {
      AnswerError(res, 500, "InternalError");
    }
  });
  Fixture f(FastOptions(aws.endpoint()));
  CallOptions once;
  once.idempotent = false;
  AwsError e = CatchAwsError(
      [&] { f.client.CallQuery(AwsService::kEc2, "CreateFleet", QueryParams(), once); });
  EXPECT_EQ(aws.calls(), 2);  // throttled (AWS did nothing) then 500 (AWS may have acted)
  EXPECT_EQ(e.aws_code(), "InternalError");
  EXPECT_FALSE(e.retryable());
}

TEST(AwsClientTest, IdempotentCallIsRetriedAfterNetworkErrors) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) { AnswerOk(res); });
  testing::FaultPlan plan;
  plan.drop_before_fraction = 0.5;
  plan.seed = 3;
  testing::FaultProxy proxy(aws.endpoint(), plan);
  AwsClientOptions options = FastOptions(proxy.endpoint());
  options.max_attempts = 10;
  Fixture f(options);
  for (int i = 0; i < 10; ++i) {
    f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
  }
  EXPECT_EQ(aws.calls(), 10);
  int dropped = 0;
  for (const auto& call : proxy.seen()) dropped += call.status == 0 ? 1 : 0;
  EXPECT_GT(dropped, 0);
}

TEST(AwsClientTest, TokenBucketPacesABurst) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) { AnswerOk(res); });
  AwsClientOptions options = FastOptions(aws.endpoint());
  options.buckets["describe"] = BucketLimits{5, 50};  // 5 at once, then one per 20 ms
  Fixture f(options);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(80));  // 5 calls beyond the burst, 20 ms each
  EXPECT_LT(elapsed, milliseconds(2000));
}

TEST(AwsClientTest, PacingWaitBeyondTheCapFailsWithoutCallingAws) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) { AnswerOk(res); });
  AwsClientOptions options = FastOptions(aws.endpoint());
  options.buckets["run_instances"] = BucketLimits{1, 1};
  options.max_pacing_wait = milliseconds(50);
  Fixture f(options);
  f.client.CallQuery(AwsService::kEc2, "RunInstances", QueryParams());
  AwsError e =
      CatchAwsError([&] { f.client.CallQuery(AwsService::kEc2, "RunInstances", QueryParams()); });
  EXPECT_EQ(e.aws_code(), "ClientThrottled");
  EXPECT_TRUE(e.retryable());
  EXPECT_THAT(std::string(e.what()), HasSubstr("run_instances"));
  EXPECT_EQ(aws.calls(), 1);
  // Other families have their own buckets.
  f.client.CallQuery(AwsService::kEc2, "DescribeInstances", QueryParams());
  EXPECT_EQ(aws.calls(), 2);
}

TEST(AwsClientTest, CircuitOpensAfterRepeatedFailuresAndFailsFast) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) {
    AnswerError(res, 500, "InternalError");
  });
  AwsClientOptions options = FastOptions(aws.endpoint());
  options.max_attempts = 1;
  options.circuit_threshold = 3;
  options.circuit_open_for = milliseconds(10000);
  Fixture f(options);
  for (int i = 0; i < 3; ++i) {
    AwsError e = CatchAwsError(
        [&] { f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams()); });
    EXPECT_EQ(e.aws_code(), "InternalError");
  }
  auto start = std::chrono::steady_clock::now();
  AwsError e = CatchAwsError(
      [&] { f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams()); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(100));
  EXPECT_EQ(e.aws_code(), "CircuitOpen");
  EXPECT_FALSE(e.retryable());
  EXPECT_THAT(std::string(e.what()), HasSubstr(aws.endpoint()));
  EXPECT_THAT(std::string(e.what()), HasSubstr("3 times in a row"));
  EXPECT_EQ(aws.calls(), 3);  // the fourth call never left
}

TEST(AwsClientTest, CircuitClosesAgainWhenTheEndpointRecovers) {
  FakeAws aws;
  std::atomic<bool> healthy{false};
  aws.set_handler([&](int, const httplib::Request&, httplib::Response& res) {
    if (healthy) {
      AnswerOk(res);
    } else {
      AnswerError(res, 500, "InternalError");
    }
  });
  AwsClientOptions options = FastOptions(aws.endpoint());
  options.max_attempts = 1;
  options.circuit_threshold = 2;
  options.circuit_open_for = milliseconds(50);
  Fixture f(options);
  for (int i = 0; i < 2; ++i) {
    EXPECT_THROW(f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams()),
                 AwsError);
  }
  EXPECT_EQ(CatchAwsError([&] {
              f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
            }).aws_code(),
            "CircuitOpen");
  healthy = true;
  std::this_thread::sleep_for(milliseconds(70));
  f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());  // the trial
  f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
  EXPECT_EQ(aws.calls(), 4);
}

TEST(AwsClientTest, ConnectionRefusedIsRetriedAndNamesTheHost) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  AwsClientOptions options = FastOptions("http://127.0.0.1:" + std::to_string(port));
  options.max_attempts = 3;
  options.circuit_threshold = 100;
  Fixture f(options);
  AwsError e = CatchAwsError(
      [&] { f.client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams()); });
  EXPECT_EQ(e.aws_code(), "NetworkError");
  EXPECT_TRUE(e.retryable());
  EXPECT_THAT(std::string(e.what()), HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(f.client.stats().attempts, 3);
  // A non-idempotent call is retried too: a refused connection never reached AWS.
  CallOptions once;
  once.idempotent = false;
  CatchAwsError([&] { f.client.CallQuery(AwsService::kEc2, "CreateFleet", QueryParams(), once); });
  EXPECT_EQ(f.client.stats().attempts, 6);
}

TEST(AwsClientTest, AuthorizationIsSentButNeverInErrorMessages) {
  FakeAws aws;
  std::string authorization;
  std::mutex mu;
  aws.set_handler([&](int call, const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      authorization = req.get_header_value("Authorization");
    }
    switch (call % 4) {
      case 0:
        AnswerError(res, 400, "AuthFailure", "AWS was not able to validate the credentials");
        break;
      case 1:
        AnswerError(res, 500, "InternalError");
        break;
      case 2:
        res.status = 500;
        res.set_content("<html>oops</html>", "text/html");
        break;
      default:
        AnswerError(res, 503, "RequestLimitExceeded");
        break;
    }
  });
  AwsClientOptions options = FastOptions(aws.endpoint());
  options.max_attempts = 1;
  options.circuit_threshold = 100;
  Fixture f(options);
  std::vector<std::string> messages;
  for (int i = 0; i < 4; ++i) {
    messages.push_back(CatchAwsError([&] {
                         f.client.CallQuery(AwsService::kEc2, "DescribeInstances",
                                            DescribeParams());
                       }).what());
  }
  ASSERT_THAT(authorization, StartsWith("AWS4-HMAC-SHA256"));
  std::string signature = authorization.substr(authorization.find("Signature=") + 10);
  ASSERT_GE(signature.size(), 64u);
  for (const std::string& message : messages) {
    EXPECT_THAT(message, Not(HasSubstr(signature)));
    EXPECT_THAT(message, Not(HasSubstr("Signature=")));
    EXPECT_THAT(message, Not(HasSubstr("wJalrXUtnFEMI")));
    EXPECT_THAT(message, Not(HasSubstr("session-token-")));
  }
}

TEST(AwsClientTest, SecretsEchoedByTheServiceAreRedacted) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request& req, httplib::Response& res) {
    // A service quoting back what it refuses: the caller's session token and the
    // web identity token it was sent.
    std::string body = req.body;
    std::string token = body.substr(body.find("WebIdentityToken=") + 17);
    res.status = 400;
    res.set_content(
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>"
        "bad token " +
            token + " with session " + req.get_header_value("X-Amz-Security-Token") +
            "</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
        "text/xml");
  });
  Fixture f(FastOptions(aws.endpoint()));
  QueryParams params;
  params.Add("RoleArn", "arn:aws:iam::123456789012:role/Web")
      .Add("WebIdentityToken", "eyJhbGciOiJSUzI1NiJ9.payload.sig");
  AwsError e = CatchAwsError(
      [&] { f.client.CallQuery(AwsService::kSts, "AssumeRoleWithWebIdentity", params); });
  std::string message = e.what();
  EXPECT_EQ(e.aws_code(), "InvalidIdentityToken");
  EXPECT_THAT(message, Not(HasSubstr("eyJhbGciOiJSUzI1NiJ9")));
  EXPECT_THAT(message, Not(HasSubstr("session-token-1")));
  EXPECT_THAT(message, HasSubstr("bad token <redacted> with session <redacted>"));
}

// Found by fuzzing (fuzz/corpus/ec2_response/regression-secret-in-non-xml-answer): a
// 2xx answer that is not XML (or JSON) was quoted without the credentials' secrets
// redacted. An endpoint that reflects the request (a proxy's page, an echo service)
// sends the session token header back; the excerpt drops control characters, which
// can join a secret split by one.
TEST(AwsClientTest, UnreadableAnswersNeverQuoteTheCredentials) {
  auto http = std::make_shared<HttpClient>([](const HttpRequest& req) {
    HttpResponse res;
    res.status = 200;
    res.body = "<html>you sent " + req.Header("X-Amz-Security-Token") +
               " and wJalrXUtnFEMI/K7MD\x01" "ENG/bPxRfiCYEXAMPLEKEY {not json";
    return res;
  });
  auto credentials = std::make_shared<CountingCredentials>();
  AwsClient client(FastOptions("https://aws.test.invalid"), credentials, http);
  for (bool json : {false, true}) {
    AwsError e = CatchAwsError([&] {
      if (json) {
        client.CallJson(AwsService::kSsm, "AmazonSSM.GetParameter", {{"Name", "/x"}});
      } else {
        client.CallQuery(AwsService::kEc2, "DescribeInstances", DescribeParams());
      }
    });
    const std::string message = e.what();
    EXPECT_EQ(e.aws_code(), "InvalidResponse");
    EXPECT_THAT(message, HasSubstr(json ? "not JSON" : "not XML"));
    EXPECT_THAT(message, HasSubstr("you sent [redacted] and [redacted]"));
    EXPECT_THAT(message, Not(HasSubstr("session-token-")));
    EXPECT_THAT(message, Not(HasSubstr("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")));
  }
}

TEST(AwsClientTest, JsonProtocolCallsAndErrors) {
  FakeAws aws;
  aws.set_handler([](int call, const httplib::Request& req, httplib::Response& res) {
    if (call == 0) {
      res.set_content("{\"Item\":{\"id\":{\"S\":\"" +
                          nlohmann::json::parse(req.body)["Key"]["id"]["S"].get<std::string>() +
                          "\"}}}",
                      "application/x-amz-json-1.0");
    } else {
      res.status = 400;
      res.set_header("x-amzn-RequestId", "ddb-req-2");
      res.set_content(
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
          "\"message\":\"Requested resource not found\"}",
          "application/x-amz-json-1.0");
    }
  });
  Fixture f(FastOptions(aws.endpoint()));
  nlohmann::json answer = f.client.CallJson(AwsService::kDynamoDb, "DynamoDB_20120810.GetItem",
                                            {{"TableName", "t"}, {"Key", {{"id", {{"S", "x"}}}}}});
  EXPECT_EQ(answer["Item"]["id"]["S"], "x");
  httplib::Request req = aws.request(0);
  EXPECT_EQ(req.get_header_value("X-Amz-Target"), "DynamoDB_20120810.GetItem");
  EXPECT_EQ(req.get_header_value("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_THAT(req.get_header_value("Authorization"), HasSubstr("/us-east-1/dynamodb/aws4_request"));

  AwsError e = CatchAwsError([&] {
    f.client.CallJson(AwsService::kDynamoDb, "DynamoDB_20120810.GetItem", {{"TableName", "t"}});
  });
  EXPECT_EQ(e.aws_code(), "ResourceNotFoundException");
  EXPECT_EQ(e.request_id(), "ddb-req-2");
  EXPECT_THAT(std::string(e.what()), HasSubstr("Requested resource not found"));
  EXPECT_EQ(aws.calls(), 2);
}

TEST(AwsClientTest, SsmSpeaksJson11AndSignsForSsm) {
  FakeAws aws;
  aws.set_handler([](int, const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"Parameter\":{\"Name\":\"/p\",\"Value\":\"ami-1\"}}",
                    "application/x-amz-json-1.1");
  });
  Fixture f(FastOptions(aws.endpoint()));
  nlohmann::json answer =
      f.client.CallJson(AwsService::kSsm, "AmazonSSM.GetParameter", {{"Name", "/p"}});
  EXPECT_EQ(answer["Parameter"]["Value"], "ami-1");
  httplib::Request req = aws.request(0);
  EXPECT_EQ(req.get_header_value("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(req.get_header_value("X-Amz-Target"), "AmazonSSM.GetParameter");
  EXPECT_THAT(req.get_header_value("Authorization"), HasSubstr("/us-east-1/ssm/aws4_request"));
}

}  // namespace
}  // namespace orb
