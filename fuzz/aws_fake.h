#pragma once

// The AWS layer fed with fuzzer-made answers instead of the network: an AwsClient
// whose HttpClient hands each request the next answer cut from the fuzz input.
//
// Input layout shared by the AWS targets:
//   byte 0     which call to make (the target's own table, modulo its size)
//   byte 1     HTTP status of the first answer (low 4 bits) and of the later ones
//              (high 4 bits), each an index into kStatuses
//   the rest   the answer bodies, separated by "@@NEXT@@"; calls past the last body
//              get the last body again.
// Checks every target makes: only orb::Error (AwsError) leaves a call; no message
// carries the secret key or the session token; an AwsError's HTTP status is one
// that was served (or 0 / 200 for orb's own); one call of the client never makes
// more than kMaxCalls requests (a loop that does not end).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "provider/aws/aws_client.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/credentials.h"
#include "provider/aws/http_client.h"

namespace orb::fuzz {

inline constexpr int kStatuses[16] = {200, 200, 200, 200, 200, 200, 200, 200,
                                      400, 400, 401, 403, 404, 500, 503, 429};
inline constexpr std::string_view kSeparator = "@@NEXT@@";
inline constexpr std::size_t kMaxCalls = 1000;
// Credentials the fake client signs with; neither secret may appear in an error.
inline constexpr const char* kAccessKey = "AKIAFUZZEXAMPLE00001";
inline constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFUZZSECRET";
inline constexpr const char* kSessionToken = "FuzzSessionToken/0123456789abcdefSECRET";

// One fuzz input turned into answers, and a client that serves them.
class FakeAws {
 public:
  FakeAws(const uint8_t* data, size_t size) {
    if (size < 2) return;
    op_ = data[0];
    first_status_ = kStatuses[data[1] & 0x0f];
    later_status_ = kStatuses[data[1] >> 4];
    std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    for (;;) {
      std::size_t at = rest.find(kSeparator);
      bodies_.emplace_back(rest.substr(0, at));
      if (at == std::string_view::npos) break;
      rest.remove_prefix(at + kSeparator.size());
    }
    AwsClientOptions options;
    options.region = "us-east-1";
    options.endpoint_url = "https://aws.fuzz.invalid";
    options.max_attempts = 1;  // every answer is used once; no sleeping between tries
    options.retry_base_delay = std::chrono::milliseconds(0);
    options.retry_max_delay = std::chrono::milliseconds(0);
    options.circuit_threshold = 1 << 30;
    for (auto& [family, limits] : DefaultBucketLimits()) {
      options.buckets[family] = {1e12, 1e12};
    }
    Credentials creds;
    creds.access_key_id = kAccessKey;
    creds.secret_access_key = kSecretKey;
    creds.session_token = kSessionToken;
    http_ = std::make_shared<HttpClient>([this](const HttpRequest& r) { return Answer(r); });
    client_ = std::make_unique<AwsClient>(options, MakeStaticCredentials(creds), http_);
  }

  // False when the input is too short to say anything.
  bool ok() const { return client_ != nullptr; }
  uint8_t op() const { return op_; }
  AwsClient& client() { return *client_; }
  std::size_t calls() const { return calls_; }

  // Runs one client call and applies the shared checks to what it throws.
  template <class Fn>
  void Run(std::string_view what, Fn&& fn) {
    calls_ = 0;
    std::exception_ptr error = OnlyOrbErrors(what, fn);
    if (!error) return;
    const Error& e = ErrorOf(error);
    const std::string message = e.what();
    ORB_FUZZ_CHECK(message.find(kSecretKey) == std::string::npos, message);
    ORB_FUZZ_CHECK(message.find(kSessionToken) == std::string::npos, message);
    if (const auto* aws = dynamic_cast<const AwsError*>(&e)) {
      const int s = aws->http_status();
      ORB_FUZZ_CHECK(s == 0 || s == 200 || served_.count(s) != 0,
                     "status " + std::to_string(s) + ": " + message);
    }
  }

 private:
  HttpResponse Answer(const HttpRequest&) {
    if (++calls_ > kMaxCalls) {
      Fail("more than " + std::to_string(kMaxCalls) +
           " requests for one call: a loop that does not end");
    }
    const std::size_t i = calls_ - 1;
    HttpResponse r;
    r.status = i == 0 ? first_status_ : later_status_;
    r.body = bodies_[std::min(i, bodies_.size() - 1)];
    r.headers = {{"x-amzn-requestid", "fuzz-header-request-id"},
                 {"content-type", "text/xml;charset=UTF-8"}};
    served_.insert(r.status);
    return r;
  }

  uint8_t op_ = 0;
  int first_status_ = 200, later_status_ = 200;
  std::vector<std::string> bodies_;
  std::size_t calls_ = 0;
  std::set<int> served_;
  std::shared_ptr<HttpClient> http_;
  std::unique_ptr<AwsClient> client_;
};

// True when every element of `part` is in `whole`.
template <class A, class B>
bool Within(const A& part, const B& whole) {
  std::set<std::string> w(whole.begin(), whole.end());
  for (const auto& x : part) {
    if (!w.count(x)) return false;
  }
  return true;
}

}  // namespace orb::fuzz
