#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "provider/aws/aws_error.h"

namespace orb {

// One HTTP request as the AWS layer builds it.
struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, ...
  std::string url;             // absolute: scheme, host, optional port, path, query
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as given
  std::string body;
  // The whole exchange's time limit for this request only (e.g. short IMDS calls);
  // 0 = the client's HttpOptions::timeout_ms. Also caps the connect time.
  long timeout_ms = 0;
  // Open a new connection instead of reusing a kept-alive one. For requests that
  // must not reach the server twice: on a reused connection that turns out dead
  // before any answer byte, libcurl silently sends the request again.
  bool fresh_connection = false;
  // Never through a proxy: for the link-local credential endpoints (instance
  // metadata, ECS), which a site's HTTPS_PROXY or AWS_PROXY_HOST cannot reach.
  bool direct = false;

  // Sets a header, replacing any header of the same name (case-insensitively).
  void SetHeader(std::string_view name, std::string_view value);

  // The value of a header (case-insensitive name), or "" when absent.
  std::string Header(std::string_view name) const;
};

// One HTTP answer.
struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  // The value of a header (case-insensitive name), or "" when absent.
  std::string Header(std::string_view name) const;
};

// How HttpClient connects.
struct HttpOptions {
  long connect_timeout_ms = 10000;  // to establish a connection (TCP + TLS)
  long timeout_ms = 30000;          // for the whole exchange once started
  // Proxy URL ("http://proxy:3128"); "" = libcurl's default, which honours the
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY environment variables.
  std::string proxy;
  std::string ca_bundle;   // CA certificates file; "" = the system's
  bool verify_tls = true;  // never turned off outside tests of plain-http endpoints
};

// What HttpClient::Send throws when no answer arrived: an AwsError with code
// "NetworkError", HTTP status 0, retryable, that also tells whether the request
// may have reached the server.
class NetworkError : public AwsError {
 public:
  NetworkError(const std::string& message, bool request_sent)
      : AwsError("NetworkError", message, "", 0, true), request_sent_(request_sent) {}

  // False when the request certainly did not reach the server (DNS, connect or TLS
  // handshake failed); true when it may have, so a non-idempotent call must not
  // simply be sent again.
  bool request_sent() const { return request_sent_; }

 private:
  bool request_sent_;
};

// Answers a request in place of the network (see HttpClient's second constructor).
using HttpTransport = std::function<HttpResponse(const HttpRequest&)>;

// An HTTP/1.1 client on libcurl that keeps connections alive across calls (a pool
// of reused handles, each keeping its connections; DNS and TLS sessions shared
// between them), verifies TLS, and applies timeouts and proxies. Thread-safe: many
// threads may call Send at once; each concurrent call uses its own connection.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  // A client that hands every request to `transport` instead of sending it (libcurl
  // is not loaded): for feeding recorded or generated answers to the AWS layer's
  // parsers (fuzzing, tests). What `transport` throws, Send throws.
  explicit HttpClient(HttpTransport transport);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and returns the answer, whatever its HTTP status. Throws
  // NetworkError (an AwsError "NetworkError", retryable) when no answer arrived
  // (DNS, connect, TLS, timeout, connection reset); its message names the host and
  // libcurl's reason, never the request's headers or body (they may carry secrets).
  HttpResponse Send(const HttpRequest& request);

  // The options in force.
  const HttpOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orb
