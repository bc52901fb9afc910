#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "provider/aws/credentials.h"
#include "provider/aws/http_client.h"

namespace orb {

// The AWS services orb calls.
enum class AwsService { kEc2, kAutoScaling, kSts, kDynamoDb, kSqs, kSsm };

// The signing name of a service: "ec2", "autoscaling", "sts", "dynamodb", "sqs", "ssm".
std::string_view AwsServiceName(AwsService service);

// Query-protocol parameters in order ("Action" and "Version" are added by the
// client). Helpers follow the EC2/Auto Scaling flattening conventions.
class QueryParams {
 public:
  // Adds `name=value`.
  QueryParams& Add(std::string name, std::string value);

  // Adds `prefix.1=v1`, `prefix.2=v2`, ... (EC2's `InstanceId.N`; Auto Scaling
  // uses `prefix.member.N`: pass "Name.member" as the prefix).
  QueryParams& AddList(const std::string& prefix, const std::vector<std::string>& values);

  // Adds a JSON value flattened the Query way: objects become `prefix.Key`,
  // arrays `prefix.N` (1-based), scalars their text; booleans "true"/"false".
  QueryParams& AddJson(const std::string& prefix, const nlohmann::json& value);

  // The parameters, in the order added.
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  // The value of the first parameter called `name`, or "".
  std::string Get(std::string_view name) const;

  // The parameters as a JSON array of [name, value] pairs, in order (how the
  // broker persists a launch call before sending it).
  nlohmann::json ToJson() const;

  // Parameters from ToJson()'s form. Throws Error(kStore) when `json` is not an
  // array of two-string arrays (a damaged record).
  static QueryParams FromJson(const nlohmann::json& json);

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// A successful Query-protocol answer.
struct QueryResponse {
  std::shared_ptr<pugi::xml_document> doc;  // the parsed XML body
  std::string request_id;
  int http_status = 200;

  // The root element (e.g. <RunInstancesResponse>).
  pugi::xml_node root() const { return doc->document_element(); }
};

// Per-call choices.
struct CallOptions {
  // False for a call that must not run twice (it creates capacity). With a
  // "ClientToken" parameter it is still retried (the same body, so the same token:
  // AWS runs it once). Without one it is retried only when AWS certainly did not
  // act: a throttling answer, or a connection that never carried the request; never
  // after a 5xx or a lost answer, and it is sent on a fresh connection.
  bool idempotent = true;
};

// Limits for one API family's token bucket.
struct BucketLimits {
  double burst = 100;
  double refill_per_second = 20;
};

// How AwsClient reaches AWS and paces itself. Every number is a config key.
struct AwsClientOptions {
  std::string region;
  std::string endpoint_url;  // for every service (AWS_ENDPOINT_URL); "" = AWS's own
  std::map<AwsService, std::string> service_endpoints;  // per-service overrides
  HttpOptions http;
  int max_attempts = 5;  // 1 = no retry
  std::chrono::milliseconds retry_base_delay{200};
  std::chrono::milliseconds retry_max_delay{20000};
  std::chrono::milliseconds max_pacing_wait{60000};  // longest wait for a token
  std::map<std::string, BucketLimits> buckets;       // by ApiFamily(); defaults = AWS's
  int circuit_threshold = 5;                         // consecutive failures to open
  std::chrono::milliseconds circuit_open_for{30000};
};

// AWS's documented default bucket sizes per API family (AWS.md, "Throttling").
std::map<std::string, BucketLimits> DefaultBucketLimits();

// Signs, sends, paces and retries AWS calls. Retries throttling, 5xx and network
// errors with capped exponential backoff and full jitter (never other 4xx); waits
// on a client-side token bucket per API family before each attempt; fails fast
// with AwsError("CircuitOpen") while an endpoint's circuit breaker is open, and
// with AwsError("ClientThrottled", retryable) when a token would take longer than
// max_pacing_wait. Error messages never carry the signature, the secret key, the
// session token or secret parameters (an echoed one is replaced by "<redacted>").
// Thread-safe.
class AwsClient {
 public:
  // Credentials are fetched from `credentials` before every attempt. `http` may be
  // null: a client is then made from options.http. Never throws for a missing
  // region; calls and Endpoint() do (Error kInvalidConfig).
  AwsClient(AwsClientOptions options, std::shared_ptr<CredentialsProvider> credentials,
            std::shared_ptr<HttpClient> http);

  // Calls a Query-protocol action (EC2, Auto Scaling, STS) with POST and a
  // form-encoded body. Returns the parsed answer; throws AwsError carrying AWS's
  // code, message and request id when AWS refuses, or after the last retry.
  QueryResponse CallQuery(AwsService service, std::string_view action, const QueryParams& params,
                          const CallOptions& options = {});

  // Calls a JSON-protocol action (DynamoDB, SQS: JSON 1.0; SSM: JSON 1.1): `target`
  // is the X-Amz-Target header (e.g. "DynamoDB_20120810.PutItem"). Returns the
  // parsed JSON answer.
  nlohmann::json CallJson(AwsService service, std::string_view target, const nlohmann::json& body,
                          const CallOptions& options = {});

  // The endpoint URL used for `service` (override, or https://<svc>.<region>.amazonaws.com).
  std::string Endpoint(AwsService service) const;

  // The region calls are signed for.
  const std::string& region() const;

  // Counters for metrics and tests: attempts sent, retries, throttled answers.
  struct Stats {
    long long calls = 0, attempts = 0, retries = 0, throttled = 0, failures = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The Query API version of each service: "2016-11-15" (EC2), "2011-01-01" (Auto
// Scaling), "2011-06-15" (STS).
std::string_view QueryApiVersion(AwsService service);

}  // namespace orb
