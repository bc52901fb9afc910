#include "provider/aws/http_client.h"

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
#include <set>
#include <thread>
#include <vector>

#include "common/strings.h"

namespace orb {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

// An HTTP server on a free loopback port that runs `handler` for every request and
// counts the client connections it accepted (by the client's port).
class LoopbackServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
    server_.set_keep_alive_max_count(100000);
    server_.set_tcp_nodelay(true);  // no 40 ms Nagle / delayed-ACK stalls on reuse
    auto route = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        client_ports_.insert(req.remote_port);
      }
      requests_++;
      handler_(req, res);
    };
    server_.Get(".*", route);
    server_.Post(".*", route);
    server_.Put(".*", route);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  size_t connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return client_ports_.size();
  }
  int requests() const { return requests_; }

 private:
  Handler handler_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::set<int> client_ports_;
  std::atomic<int> requests_{0};
};

// A loopback port nothing listens on.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

HttpOptions FastOptions() {
  HttpOptions options;
  options.connect_timeout_ms = 2000;
  options.timeout_ms = 5000;
  return options;
}

TEST(HttpRequestTest, SetHeaderReplacesCaseInsensitively) {
  HttpRequest request;
  request.SetHeader("Content-Type", "text/plain");
  request.SetHeader("X-Other", "1");
  request.SetHeader("content-type", "application/json");
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(request.Header("x-other"), "1");
  EXPECT_EQ(request.Header("missing"), "");
}

TEST(HttpClientTest, SendsTheRequestAndReturnsStatusHeadersAndBody) {
  std::string seen_method, seen_body, seen_type, seen_custom, seen_encoding, seen_expect;
  LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    seen_method = req.method;
    seen_body = req.body;
    seen_type = req.get_header_value("Content-Type");
    seen_custom = req.get_header_value("X-Custom");
    seen_encoding = req.get_header_value("Accept-Encoding");
    seen_expect = req.get_header_value("Expect");
    res.status = 201;
    res.set_header("X-Amzn-RequestId", "req-123");
    res.set_content("created", "text/plain");
  });
  HttpClient client(FastOptions());
  HttpRequest request;
  request.method = "POST";
  request.url = server.url("/path?x=1");
  request.SetHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  request.SetHeader("X-Custom", "value");
  request.body = std::string(4000, 'a');  // large enough that curl would ask Expect: 100
  HttpResponse response = client.Send(request);

  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "created");
  EXPECT_EQ(response.Header("X-AMZN-REQUESTID"), "req-123");
  for (const auto& [name, value] : response.headers) {
    EXPECT_EQ(name, ToLower(name));
  }
  EXPECT_EQ(seen_method, "POST");
  EXPECT_EQ(seen_body, request.body);
  EXPECT_EQ(seen_type, "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(seen_custom, "value");
  EXPECT_EQ(seen_encoding, "identity");
  EXPECT_EQ(seen_expect, "");
}

TEST(HttpClientTest, ErrorStatusesAreAnswersNotExceptions) {
  LoopbackServer server([](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("<Response/>", "text/xml");
  });
  HttpClient client(FastOptions());
  HttpRequest request;
  request.url = server.url();
  HttpResponse response = client.Send(request);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "<Response/>");
}

TEST(HttpClientTest, PutWithEmptyBodyAndGetWork) {
  std::string put_length, put_type;
  LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "PUT") {
      put_length = req.get_header_value("Content-Length");
      put_type = req.get_header_value("Content-Type");
      res.set_content("token", "text/plain");
    } else {
      res.set_content("got " + req.get_header_value("X-Token"), "text/plain");
    }
  });
  HttpClient client(FastOptions());
  HttpRequest put;
  put.method = "PUT";
  put.url = server.url("/latest/api/token");
  put.SetHeader("X-Ttl", "21600");
  EXPECT_EQ(client.Send(put).body, "token");
  EXPECT_EQ(put_length, "0");
  EXPECT_EQ(put_type, "");  // libcurl invents no form content type
  HttpRequest get;
  get.url = server.url("/latest/meta-data/");
  get.SetHeader("X-Token", "abc");
  EXPECT_EQ(client.Send(get).body, "got abc");
}

TEST(HttpClientTest, KeepsOneConnectionAliveAcrossCalls) {
  LoopbackServer server(
      [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  HttpClient client(FastOptions());
  for (int i = 0; i < 30; ++i) {
    HttpRequest request;
    request.method = "POST";
    request.url = server.url();
    request.body = "n=" + std::to_string(i);
    ASSERT_EQ(client.Send(request).status, 200);
  }
  EXPECT_EQ(server.requests(), 30);
  EXPECT_EQ(server.connections(), 1u);
}

TEST(HttpClientTest, FreshConnectionDoesNotReuse) {
  LoopbackServer server(
      [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  HttpClient client(FastOptions());
  HttpRequest request;
  request.url = server.url();
  client.Send(request);
  request.fresh_connection = true;
  client.Send(request);
  EXPECT_EQ(server.connections(), 2u);
}

TEST(HttpClientTest, EightThreadsShareTheClientAndItsConnections) {
  LoopbackServer server([](const httplib::Request& req, httplib::Response& res) {
    res.set_content("echo " + req.body, "text/plain");
  });
  HttpClient client(FastOptions());
  constexpr int kThreads = 8, kCalls = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        HttpRequest request;
        request.method = "POST";
        request.url = server.url();
        request.body = std::to_string(t) + "/" + std::to_string(i);
        try {
          HttpResponse response = client.Send(request);
          if (response.status == 200 && response.body == "echo " + request.body) good++;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good, kThreads * kCalls);
  // Connections are reused: at most one per thread, far fewer than calls.
  EXPECT_LE(server.connections(), static_cast<size_t>(kThreads));
}

TEST(HttpClientTest, ConnectionRefusedIsARetryableNetworkErrorNamingTheHost) {
  int port = UnusedPort();
  HttpClient client(FastOptions());
  HttpRequest request;
  request.method = "POST";
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  request.SetHeader("Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ec2/"
                    "aws4_request, SignedHeaders=host, Signature=feedfacecafe");
  request.SetHeader("X-Amz-Security-Token", "session-token-value");
  request.body = "Action=Secret&Password=hunter2";
  try {
    client.Send(request);
    FAIL() << "expected a NetworkError";
  } catch (const NetworkError& e) {
    EXPECT_EQ(e.aws_code(), "NetworkError");
    EXPECT_EQ(e.http_status(), 0);
    EXPECT_TRUE(e.retryable());
    EXPECT_FALSE(e.request_sent());
    std::string message = e.what();
    EXPECT_THAT(message, HasSubstr("127.0.0.1:" + std::to_string(port)));
    EXPECT_THAT(message, Not(HasSubstr("feedfacecafe")));
    EXPECT_THAT(message, Not(HasSubstr("session-token-value")));
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));
  }
}

TEST(HttpClientTest, UnresolvableHostIsANetworkError) {
  HttpClient client(FastOptions());
  HttpRequest request;
  request.url = "http://no-such-host.invalid/";
  try {
    client.Send(request);
    FAIL() << "expected a NetworkError";
  } catch (const NetworkError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("no-such-host.invalid"));
    EXPECT_FALSE(e.request_sent());
  }
}

TEST(HttpClientTest, SlowAnswerTimesOut) {
  LoopbackServer server([](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(milliseconds(400));
    res.set_content("late", "text/plain");
  });
  HttpOptions options = FastOptions();
  options.timeout_ms = 150;
  HttpClient client(options);
  HttpRequest request;
  request.method = "POST";
  request.url = server.url();
  auto start = std::chrono::steady_clock::now();
  try {
    client.Send(request);
    FAIL() << "expected a timeout";
  } catch (const NetworkError& e) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, milliseconds(350));
    EXPECT_TRUE(e.request_sent());  // it reached the server: not safe to resend blindly
    EXPECT_THAT(std::string(e.what()), HasSubstr("127.0.0.1:" + std::to_string(server.port())));
    EXPECT_THAT(std::string(e.what()), HasSubstr("timed out"));
  }
}

TEST(HttpClientTest, PerRequestTimeoutOverridesTheClients) {
  LoopbackServer server([](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(milliseconds(400));
    res.set_content("late", "text/plain");
  });
  HttpClient client(FastOptions());  // 5 s
  HttpRequest request;
  request.url = server.url();
  request.timeout_ms = 100;
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.Send(request), NetworkError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(350));
}

TEST(HttpClientTest, ConfiguredProxyCarriesTheRequest) {
  std::string target;
  LoopbackServer proxy([&](const httplib::Request& req, httplib::Response& res) {
    target = req.target;
    res.set_content("via proxy", "text/plain");
  });
  HttpOptions options = FastOptions();
  options.proxy = proxy.url();
  HttpClient client(options);
  HttpRequest request;
  request.url = "http://ec2.example.invalid/some/path";
  HttpResponse response = client.Send(request);
  EXPECT_EQ(response.body, "via proxy");
  EXPECT_EQ(target, "http://ec2.example.invalid/some/path");
}

TEST(HttpClientTest, DirectRequestsBypassTheProxy) {
  int proxied = 0;
  LoopbackServer proxy([&](const httplib::Request&, httplib::Response& res) {
    ++proxied;
    res.set_content("via proxy", "text/plain");
  });
  LoopbackServer metadata([&](const httplib::Request&, httplib::Response& res) {
    res.set_content("straight", "text/plain");
  });
  HttpOptions options = FastOptions();
  options.proxy = proxy.url();
  HttpClient client(options);
  HttpRequest request;
  request.url = metadata.url() + "/latest/api/token";
  request.direct = true;
  EXPECT_EQ(client.Send(request).body, "straight");
  EXPECT_EQ(proxied, 0);
  // The next request on the same client goes through the proxy again.
  request.direct = false;
  EXPECT_EQ(client.Send(request).body, "via proxy");
  EXPECT_EQ(proxied, 1);
}

}  // namespace
}  // namespace orb
