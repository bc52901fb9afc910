#include "provider/aws/aws_client.h"
#include "provider/aws/aws_call_observer.h"

#ifndef SPDLOG_FMT_EXTERNAL
#define SPDLOG_FMT_EXTERNAL
#endif
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "common/crash_point.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/capacity_errors.h"
#include "provider/aws/pacing.h"
#include "provider/aws/sigv4.h"

namespace orb {

namespace {

using std::chrono::milliseconds;

// How much of an unexpected (non-AWS) answer body goes into an error message.
constexpr size_t kExcerptChars = 160;

std::string ServiceLabel(AwsService service) {
  switch (service) {
    case AwsService::kEc2:
      return "EC2";
    case AwsService::kAutoScaling:
      return "Auto Scaling";
    case AwsService::kSts:
      return "STS";
    case AwsService::kDynamoDb:
      return "DynamoDB";
    case AwsService::kSqs:
      return "SQS";
    case AwsService::kSsm:
      return "SSM";
  }
  return "AWS";
}

// A short, single-line excerpt of a body that is not an AWS answer (e.g. an HTML
// error page): tags dropped, white space collapsed, cut at kExcerptChars.
std::string Excerpt(std::string_view body) {
  std::string out;
  bool in_tag = false, space = false;
  for (char c : body) {
    if (c == '<') {
      in_tag = true;
      space = true;
      continue;
    }
    if (c == '>' && in_tag) {
      in_tag = false;
      continue;
    }
    if (in_tag) continue;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = true;
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) continue;
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
    if (out.size() >= kExcerptChars) {
      out += "...";
      break;
    }
  }
  return out.empty() ? "(empty body)" : out;
}

// The scheme://host[:port] of an endpoint URL, which a circuit breaker guards.
std::string EndpointKey(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(0, end);
}

std::string WithRootPath(std::string url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  if (url.find('/', start) == std::string::npos) url += '/';
  return url;
}

std::string Seconds(milliseconds ms) {
  long long s = (ms.count() + 999) / 1000;
  return std::to_string(s) + " s";
}

std::string FormatNumber(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// An error answer as the service described it.
struct ServiceError {
  std::string code, message, request_id;
  bool recognised = false;  // the body had the service's error shape
};

std::string HeaderRequestId(const HttpResponse& response) {
  std::string id = response.Header("x-amzn-requestid");
  if (id.empty()) id = response.Header("x-amz-request-id");
  return id;
}

// Parses the Query protocol's error shapes: EC2's
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
// and Auto Scaling's / STS's
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.
ServiceError ParseXmlError(const HttpResponse& response) {
  ServiceError out;
  out.request_id = HeaderRequestId(response);
  pugi::xml_document doc;
  if (!doc.load_buffer(response.body.data(), response.body.size())) return out;
  pugi::xml_node root = doc.document_element();
  pugi::xml_node error;
  std::string_view name = root.name();
  if (name == "Response") {
    error = root.child("Errors").child("Error");
  } else if (name == "ErrorResponse") {
    error = root.child("Error");
  } else if (name == "Error") {
    error = root;
  }
  if (!error) return out;
  out.code = error.child("Code").text().as_string();
  out.message = error.child("Message").text().as_string();
  std::string id = root.child("RequestID").text().as_string();
  if (id.empty()) id = root.child("RequestId").text().as_string();
  if (id.empty()) id = error.child("RequestId").text().as_string();
  if (!id.empty()) out.request_id = id;
  out.recognised = !out.code.empty();
  return out;
}

// Takes the error code out of "prefix#Code" or "Code:http://..." forms.
std::string BareCode(std::string code) {
  size_t hash = code.rfind('#');
  if (hash != std::string::npos) code.erase(0, hash + 1);
  size_t colon = code.find(':');
  if (colon != std::string::npos) code.erase(colon);
  return code;
}

// Parses the JSON protocol's error shape {"__type": "...#Code", "message": "..."}.
ServiceError ParseJsonError(const HttpResponse& response) {
  ServiceError out;
  out.request_id = HeaderRequestId(response);
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    if (body.contains("__type") && body["__type"].is_string()) {
      out.code = BareCode(body["__type"].get<std::string>());
    } else if (body.contains("code") && body["code"].is_string()) {
      out.code = BareCode(body["code"].get<std::string>());
    }
    for (const char* key : {"message", "Message", "errorMessage"}) {
      if (body.contains(key) && body[key].is_string()) {
        out.message = body[key].get<std::string>();
        break;
      }
    }
  }
  if (out.code.empty()) out.code = BareCode(response.Header("x-amzn-errortype"));
  out.recognised = !out.code.empty();
  return out;
}

using ErrorParser = ServiceError (*)(const HttpResponse&);

// The JSON protocol version a service speaks: SSM uses JSON 1.1, DynamoDB and SQS 1.0.
const char* JsonContentType(AwsService service) {
  return service == AwsService::kSsm ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0";
}

// Query parameters whose values are secrets (tokens a caller passes to STS).
bool IsSecretParameter(std::string_view name) {
  return name == "WebIdentityToken" || name == "SAMLAssertion" || name == "TokenCode" ||
         name == "Password";
}

// Replaces every occurrence of each secret in `text` by `marker`: a service may
// echo what it was sent (a token it refuses) in its error message.
std::string Redact(std::string text, const std::vector<std::string>& secrets,
                   std::string_view marker = "<redacted>") {
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;  // too short to be a secret; would mangle text
    for (size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + marker.size())) {
      text.replace(at, secret.size(), marker);
    }
  }
  return text;
}

// An excerpt of an answer with every secret redacted, before (Excerpt drops tags, so
// that marker has no angle brackets) and after (Excerpt drops control characters,
// which may join a secret split by one).
std::string RedactedExcerpt(std::string_view body, const std::vector<std::string>& secrets) {
  return Redact(Excerpt(Redact(std::string(body), secrets, "[redacted]")), secrets, "[redacted]");
}

}  // namespace

std::string_view AwsServiceName(AwsService service) {
  switch (service) {
    case AwsService::kEc2:
      return "ec2";
    case AwsService::kAutoScaling:
      return "autoscaling";
    case AwsService::kSts:
      return "sts";
    case AwsService::kDynamoDb:
      return "dynamodb";
    case AwsService::kSqs:
      return "sqs";
    case AwsService::kSsm:
      return "ssm";
  }
  return "";
}

std::string_view QueryApiVersion(AwsService service) {
  switch (service) {
    case AwsService::kEc2:
      return "2016-11-15";
    case AwsService::kAutoScaling:
      return "2011-01-01";
    case AwsService::kSts:
      return "2011-06-15";
    case AwsService::kDynamoDb:
      return "2012-08-10";
    case AwsService::kSqs:
      return "2012-11-05";
    case AwsService::kSsm:
      return "2014-11-06";
  }
  return "";
}

QueryParams& QueryParams::Add(std::string name, std::string value) {
  items_.emplace_back(std::move(name), std::move(value));
  return *this;
}

QueryParams& QueryParams::AddList(const std::string& prefix,
                                  const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    items_.emplace_back(prefix + "." + std::to_string(i + 1), values[i]);
  }
  return *this;
}

QueryParams& QueryParams::AddJson(const std::string& prefix, const nlohmann::json& value) {
  auto join = [&prefix](const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  };
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      for (const auto& [key, item] : value.items()) AddJson(join(key), item);
      break;
    case nlohmann::json::value_t::array:
      for (size_t i = 0; i < value.size(); ++i) AddJson(join(std::to_string(i + 1)), value[i]);
      break;
    case nlohmann::json::value_t::string:
      Add(prefix, value.get<std::string>());
      break;
    case nlohmann::json::value_t::boolean:
      Add(prefix, value.get<bool>() ? "true" : "false");
      break;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      break;  // absent
    default:  // numbers
      Add(prefix, value.dump());
      break;
  }
  return *this;
}

nlohmann::json QueryParams::ToJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, value] : items_) out.push_back({name, value});
  return out;
}

QueryParams QueryParams::FromJson(const nlohmann::json& json) {
  QueryParams p;
  if (!json.is_array()) throw Error(ErrorCode::kStore, "stored call parameters are damaged");
  for (const nlohmann::json& item : json) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_string()) {
      throw Error(ErrorCode::kStore, "stored call parameters are damaged");
    }
    p.Add(item[0].get<std::string>(), item[1].get<std::string>());
  }
  return p;
}

std::string QueryParams::Get(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (key == name) return value;
  }
  return "";
}

std::map<std::string, BucketLimits> DefaultBucketLimits() {
  // EC2's documented request-rate buckets (burst / refill per second); Auto Scaling
  // and STS publish no numbers, so these are conservative; DynamoDB and SQS are
  // limited by capacity rather than request rate.
  return {
      {"run_instances", {5, 2}},  {"terminate_instances", {100, 5}},
      {"mutating", {50, 5}},      {"describe", {100, 20}},
      {"create_tags", {100, 10}}, {"describe_spot_fleet_instances", {100, 5}},
      {"autoscaling", {40, 10}},  {"sts", {50, 10}},
      {"dynamodb", {1000, 1000}}, {"sqs", {1000, 1000}},
      {"ssm", {40, 40}},  // GetParameter's default throughput: 40 per second
  };
}

struct AwsClient::Impl {
  AwsClientOptions options;
  std::shared_ptr<CredentialsProvider> credentials;
  std::shared_ptr<HttpClient> http;
  Backoff backoff;
  std::map<std::string, BucketLimits> limits;

  std::mutex mu;  // guards the two maps below
  std::map<std::string, std::unique_ptr<TokenBucket>> buckets;
  std::map<std::string, std::unique_ptr<CircuitBreaker>> breakers;

  std::atomic<long long> calls{0}, attempts{0}, retries{0}, throttled{0}, failures{0};

  Impl(AwsClientOptions o, std::shared_ptr<CredentialsProvider> c, std::shared_ptr<HttpClient> h)
      : options(std::move(o)),
        credentials(std::move(c)),
        http(std::move(h)),
        backoff(options.retry_base_delay, options.retry_max_delay),
        limits(DefaultBucketLimits()) {
    for (const auto& [family, limit] : options.buckets) limits[family] = limit;
    if (!http) http = std::make_shared<HttpClient>(options.http);
  }

  BucketLimits LimitsFor(const std::string& family) const {
    auto it = limits.find(family);
    return it == limits.end() ? BucketLimits{} : it->second;
  }

  TokenBucket& Bucket(const std::string& family) {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = buckets[family];
    if (!slot) {
      BucketLimits l = LimitsFor(family);
      slot = std::make_unique<TokenBucket>(l.burst, l.refill_per_second);
    }
    return *slot;
  }

  CircuitBreaker& Breaker(const std::string& endpoint) {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = breakers[endpoint];
    if (!slot) {
      slot = std::make_unique<CircuitBreaker>(options.circuit_threshold, options.circuit_open_for);
    }
    return *slot;
  }

  void RequireRegion() const {
    if (options.region.empty()) {
      throw Error(ErrorCode::kInvalidConfig,
                  "no AWS region configured: set aws.region in awsprov_config.json, or "
                  "AWS_REGION / AWS_DEFAULT_REGION in the environment");
    }
  }

  std::string Endpoint(AwsService service) const {
    RequireRegion();
    std::string url;
    auto it = options.service_endpoints.find(service);
    if (it != options.service_endpoints.end() && !it->second.empty()) {
      url = it->second;
    } else if (!options.endpoint_url.empty()) {
      url = options.endpoint_url;
    } else {
      const char* suffix =
          options.region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
      url = "https://" + std::string(AwsServiceName(service)) + "." + options.region + suffix;
    }
    while (url.size() > 1 && url.back() == '/') url.pop_back();
    return url;
  }

  // Throws the error for a call refused by an open circuit: the last real error
  // of this call when there was one (it is the cause), else "CircuitOpen".
  [[noreturn]] void ThrowCircuitOpen(CircuitBreaker& breaker, const std::string& label,
                                     const std::string& endpoint,
                                     const std::optional<AwsError>& last) {
    failures++;
    std::string open_text =
        "AWS endpoint " + endpoint + " failed " + std::to_string(options.circuit_threshold) +
        " times in a row; failing fast for " +
        Seconds(std::max(breaker.RemainingOpen(), milliseconds(1))) + " before trying it again";
    if (last) {
      throw AwsError(last->aws_code(), std::string(last->what()) + "; " + open_text,
                     last->request_id(), last->http_status(), false);
    }
    throw AwsError("CircuitOpen", label + " not sent: " + open_text, "", 0, false);
  }

  // Runs one logical call: paces, signs (`build` makes a fresh unsigned request for
  // each attempt), sends, retries and guards the endpoint's circuit. Returns the
  // 2xx answer; throws AwsError otherwise. `secrets` holds the caller's secret
  // values; the secrets of the credentials used are added to it, so that the caller
  // can keep them out of its own messages about the answer too.
  // Each call is reported to the AwsCallObserver as it ends.
  HttpResponse Execute(AwsService service, const std::string& action, const std::string& url,
                       const std::function<HttpRequest()>& build, bool may_resend,
                       ErrorParser parse_error, std::vector<std::string>& secrets) {
    AwsCallRecord record;
    record.service = std::string(AwsServiceName(service));
    record.action = action;
    const auto started = std::chrono::steady_clock::now();
    auto report = [&](std::string outcome) {
      record.outcome = std::move(outcome);
      record.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      ReportAwsCall(record);
    };
    try {
      HttpResponse response = ExecuteAttempts(service, action, url, build, may_resend,
                                              parse_error, secrets, record);
      report("ok");
      return response;
    } catch (const AwsError& e) {
      report(e.aws_code().empty() ? "error" : e.aws_code());
      throw;
    } catch (...) {
      report("error");
      throw;
    }
  }

  HttpResponse ExecuteAttempts(AwsService service, const std::string& action,
                               const std::string& url, const std::function<HttpRequest()>& build,
                               bool may_resend, ErrorParser parse_error,
                               std::vector<std::string>& secrets, AwsCallRecord& record) {
    const size_t caller_secrets = secrets.size();
    RequireRegion();
    calls++;
    const std::string service_name(AwsServiceName(service));
    const std::string label = ServiceLabel(service) + " " + action;
    const std::string family = ApiFamily(service_name, action);
    const std::string endpoint = EndpointKey(url);
    CircuitBreaker& breaker = Breaker(endpoint);
    TokenBucket& bucket = Bucket(family);
    const int max_attempts = std::max(options.max_attempts, 1);

    std::optional<AwsError> last;
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      if (attempt > 0) {
        retries++;
        std::this_thread::sleep_for(backoff.Delay(attempt - 1));
      }
      // Fail fast while the endpoint's circuit is open (checked again, granting the
      // half-open trial, right before sending).
      if (breaker.IsOpen()) ThrowCircuitOpen(breaker, label, endpoint, last);
      if (!bucket.Acquire(1, options.max_pacing_wait)) {
        failures++;
        BucketLimits l = LimitsFor(family);
        throw AwsError("ClientThrottled",
                       label + " not sent: orb's own rate limit for " + family + " calls (" +
                           FormatNumber(l.burst) + " burst, " + FormatNumber(l.refill_per_second) +
                           " per second) would delay it by more than " +
                           Seconds(options.max_pacing_wait) +
                           "; retry later, or raise the limit if your account's AWS "
                           "limits are higher",
                       "", 0, true);
      }

      Credentials creds;
      try {
        creds = credentials->Get();  // per attempt, so refreshed credentials are used
      } catch (...) {
        failures++;
        throw;
      }
      secrets.resize(caller_secrets);
      secrets.push_back(creds.secret_access_key);
      secrets.push_back(creds.session_token);
      HttpRequest request = build();
      request.fresh_connection = !may_resend;
      SignV4(request, creds, options.region, service_name, NowSeconds());
      if (!breaker.Allow()) ThrowCircuitOpen(breaker, label, endpoint, last);

      attempts++;
      record.attempts++;
      auto started = std::chrono::steady_clock::now();
      HttpResponse response;
      try {
        response = http->Send(request);
      } catch (const NetworkError& e) {
        breaker.RecordFailure();
        spdlog::debug("AWS {} attempt {}: {}", label, attempt + 1, e.what());
        if (!may_resend && e.request_sent()) {
          failures++;
          throw AwsError("NetworkError",
                         label + ": " + e.what() +
                             "; not retried because the call is not idempotent and may "
                             "have reached AWS: check whether it took effect",
                         "", 0, false);
        }
        last.emplace("NetworkError", label + ": " + e.what(), "", 0, true);
        continue;
      } catch (...) {
        breaker.RecordFailure();  // never leave a half-open trial unresolved
        failures++;
        throw;
      }
      long long elapsed_ms =
          std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started)
              .count();

      if (response.status >= 200 && response.status < 300) {
        // The call took effect at AWS; a crash here loses only its answer.
        CrashPoint("aws.answered." + action);
        breaker.RecordSuccess();
        spdlog::debug("AWS {} attempt {}: HTTP {} request id {} in {} ms", label, attempt + 1,
                      response.status, HeaderRequestId(response), elapsed_ms);
        return response;
      }

      ServiceError error = parse_error(response);
      spdlog::debug("AWS {} attempt {}: HTTP {} {} request id {} in {} ms", label, attempt + 1,
                    response.status, error.code, error.request_id, elapsed_ms);
      std::string text;
      std::string code = error.code;
      if (error.recognised) {
        text = label + " failed: " + error.code + (error.message.empty() ? "" : ": ") +
               error.message + " (HTTP " + std::to_string(response.status) +
               (error.request_id.empty() ? "" : ", request id " + error.request_id) + ")";
      } else {
        code = response.status == 429 ? "TooManyRequestsException" : "UnexpectedResponse";
        text = label + " failed: " + url + " answered HTTP " + std::to_string(response.status) +
               " with a body that is not an AWS error: " + RedactedExcerpt(response.body, secrets);
      }
      text = Redact(std::move(text), secrets);

      bool throttled_answer = IsThrottlingCode(code) || response.status == 429;
      // EC2 answers capacity shortages (InsufficientInstanceCapacity, ...) as server
      // errors; resending the same call soon fails the same way, so they are final here
      // and the launch moves on to another pool instead.
      bool server_error = response.status >= 500 && ClassifyLaunchError(code).empty();
      if (throttled_answer) {
        throttled++;
        record.throttled++;
        breaker.RecordSuccess();  // the endpoint answers; it only asks us to slow down
        last.emplace(code, text, error.request_id, response.status, true);
        continue;  // AWS did not act on a throttled call: safe to resend
      }
      if (server_error) {
        breaker.RecordFailure();
        if (!may_resend) {
          failures++;
          throw AwsError(code,
                         text +
                             "; not retried because the call is not idempotent and AWS "
                             "may have acted on it: check whether it took effect",
                         error.request_id, response.status, false);
        }
        last.emplace(code, text, error.request_id, response.status, true);
        continue;
      }
      breaker.RecordSuccess();
      failures++;
      throw AwsError(code, text, error.request_id, response.status, false);
    }
    failures++;
    throw AwsError(last->aws_code(),
                   std::string(last->what()) + " (gave up after " + std::to_string(max_attempts) +
                       (max_attempts == 1 ? " attempt)" : " attempts)"),
                   last->request_id(), last->http_status(), last->retryable());
  }
};

AwsClient::AwsClient(AwsClientOptions options, std::shared_ptr<CredentialsProvider> credentials,
                     std::shared_ptr<HttpClient> http)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(credentials), std::move(http))) {
  if (!impl_->credentials) {
    throw Error(ErrorCode::kInternal, "AwsClient needs a credentials provider");
  }
}

std::string AwsClient::Endpoint(AwsService service) const { return impl_->Endpoint(service); }

const std::string& AwsClient::region() const { return impl_->options.region; }

AwsClient::Stats AwsClient::stats() const {
  Stats s;
  s.calls = impl_->calls;
  s.attempts = impl_->attempts;
  s.retries = impl_->retries;
  s.throttled = impl_->throttled;
  s.failures = impl_->failures;
  return s;
}

QueryResponse AwsClient::CallQuery(AwsService service, std::string_view action,
                                   const QueryParams& params, const CallOptions& options) {
  const std::string url = WithRootPath(impl_->Endpoint(service));
  std::string body =
      "Action=" + UriEncode(action) + "&Version=" + UriEncode(QueryApiVersion(service));
  for (const auto& [name, value] : params.items()) {
    body += "&" + UriEncode(name) + "=" + UriEncode(value);
  }
  auto build = [&] {
    HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.SetHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    request.body = body;
    return request;
  };
  // A call carrying a ClientToken is safe to resend: AWS runs it at most once.
  bool may_resend = options.idempotent || !params.Get("ClientToken").empty();
  std::vector<std::string> secrets;
  for (const auto& [name, value] : params.items()) {
    if (IsSecretParameter(name)) secrets.push_back(value);
  }
  const std::string action_name(action);
  HttpResponse response =
      impl_->Execute(service, action_name, url, build, may_resend, &ParseXmlError, secrets);

  QueryResponse out;
  out.http_status = response.status;
  out.doc = std::make_shared<pugi::xml_document>();
  if (!out.doc->load_buffer(response.body.data(), response.body.size()) ||
      !out.doc->document_element()) {
    impl_->failures++;
    // Redacted again after the excerpt, which drops control characters that may have
    // split a secret.
    throw AwsError("InvalidResponse",
                   ServiceLabel(service) + " " + action_name + " answered HTTP " +
                       std::to_string(response.status) + " with a body that is not XML: " +
                       RedactedExcerpt(response.body, secrets),
                   HeaderRequestId(response), response.status, false);
  }
  pugi::xml_node root = out.doc->document_element();
  out.request_id = root.child("requestId").text().as_string();
  if (out.request_id.empty()) {
    out.request_id = root.child("ResponseMetadata").child("RequestId").text().as_string();
  }
  if (out.request_id.empty()) out.request_id = HeaderRequestId(response);
  return out;
}

nlohmann::json AwsClient::CallJson(AwsService service, std::string_view target,
                                   const nlohmann::json& body, const CallOptions& options) {
  const std::string url = WithRootPath(impl_->Endpoint(service));
  const std::string payload = body.dump();
  const std::string target_name(target);
  size_t dot = target_name.rfind('.');
  const std::string action = dot == std::string::npos ? target_name : target_name.substr(dot + 1);
  auto build = [&] {
    HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.SetHeader("Content-Type", JsonContentType(service));
    request.SetHeader("X-Amz-Target", target_name);
    request.body = payload;
    return request;
  };
  std::vector<std::string> secrets;
  HttpResponse response =
      impl_->Execute(service, action, url, build, options.idempotent, &ParseJsonError, secrets);
  if (response.body.empty()) return nlohmann::json::object();
  nlohmann::json out = nlohmann::json::parse(response.body, nullptr, false);
  if (out.is_discarded()) {
    impl_->failures++;
    throw AwsError("InvalidResponse",
                   ServiceLabel(service) + " " + action + " answered HTTP " +
                       std::to_string(response.status) +
                       " with a body that is not JSON: " +
                       RedactedExcerpt(response.body, secrets),
                   HeaderRequestId(response), response.status, false);
  }
  return out;
}

}  // namespace orb
