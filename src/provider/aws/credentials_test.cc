#include "provider/aws/credentials.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "common/error.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/http_client.h"

namespace orb {
namespace {

using EnvMap = std::map<std::string, std::string>;

// Every secret the stand-ins hand out or receive. No message or source may contain one.
constexpr const char* kExplicitSecret = "explicitSECRETq1w2e3r4";
constexpr const char* kEnvSecret = "envSECRETwJalrXUtnFEMI";
constexpr const char* kEnvToken = "envSESSIONtokenAQoDYXdz";
constexpr const char* kProfileSecret = "profileSECRETbPxRfiCY";
constexpr const char* kIbmSecret = "ibmSECRETh7Gk2LmN";
constexpr const char* kSharedSecret = "sharedSECRETz8Yx7Wv";
constexpr const char* kImdsSessionToken = "imdsSESSIONtokenAQAEAKm";
constexpr const char* kImdsSecret = "imdsSECRETvR6tY5uI";
constexpr const char* kImdsToken = "imdsTOKENIQoJb3JpZ2lu";
constexpr const char* kEcsSecret = "ecsSECRETp0o9i8u7";
constexpr const char* kEcsToken = "ecsTOKENFwoGZXIvYXdz";
constexpr const char* kEcsAuth = "ecsAUTHORIZATIONtoken42";
constexpr const char* kWebIdentityToken = "eyJhbGciOiJSUzI1NiJ9.webIDENTITYjwt.sig";

std::vector<std::string> AllSecrets() {
  std::vector<std::string> s = {kExplicitSecret,  kEnvSecret,    kEnvToken,         kProfileSecret,
                                kIbmSecret,       kSharedSecret, kImdsSessionToken, kImdsSecret,
                                kImdsToken,       kEcsSecret,    kEcsToken,         kEcsAuth,
                                kWebIdentityToken};
  for (const char* role : {"Base", "Middle", "Top", "Web", "Echo", "Deny", "Imds", "Ecs", "Env"}) {
    s.push_back(std::string("stsSECRET") + role);
    s.push_back(std::string("stsTOKEN") + role);
  }
  return s;
}

std::string RoleArn(const std::string& name) { return "arn:aws:iam::123456789012:role/" + name; }

// A cpp-httplib server on a free loopback port, serving on its own thread.
class Loopback {
 public:
  explicit Loopback(const std::function<void(httplib::Server&)>& routes) {
    routes(server_);
    // One request per connection, so that stopping never waits out a keep-alive.
    server_.set_keep_alive_max_count(1);
    port_ = server_.bind_to_any_port("127.0.0.1");  // listening from here on
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would be lost; wait for it.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Loopback() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::string CredentialsJson(const std::string& key_id, const std::string& secret,
                            const std::string& token, EpochSeconds expiration) {
  return nlohmann::json{{"AccessKeyId", key_id},
                        {"SecretAccessKey", secret},
                        {"Token", token},
                        {"Expiration", FormatIso8601(expiration)}}
      .dump();
}

// The EC2 instance metadata service as IMDSv2 behaves: a PUT for a session token
// (which must carry the TTL header), then GETs that must carry the token (401
// otherwise). With `put_status` 403/404/405 it plays an IMDSv1-only service.
class FakeImds {
 public:
  FakeImds()
      : server_([this](httplib::Server& s) {
          s.Put("/latest/api/token", [this](const httplib::Request& req, httplib::Response& res) {
            ++token_puts;
            if (put_status != 200) {
              res.status = put_status;
              return;
            }
            if (req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds") != "21600") {
              res.status = 400;
              return;
            }
            res.set_content(kImdsSessionToken, "text/plain");
          });
          s.Get("/latest/meta-data/iam/security-credentials/",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (!Authorized(req, res)) return;
                  if (!has_role) {
                    res.status = 404;
                    return;
                  }
                  res.set_content("orb-role", "text/plain");
                });
          s.Get("/latest/meta-data/iam/security-credentials/orb-role",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (!Authorized(req, res)) return;
                  ++credential_gets;
                  if (!failure_code.empty()) {
                    res.set_content(
                        nlohmann::json{{"Code", failure_code}, {"Message", failure_message}}.dump(),
                        "text/plain");
                    return;
                  }
                  nlohmann::json body = nlohmann::json::parse(
                      CredentialsJson("ASIAIMDS", kImdsSecret, kImdsToken, expiration.load()));
                  body["Code"] = "Success";
                  body["Type"] = "AWS-HMAC";
                  body["LastUpdated"] = FormatIso8601(NowSeconds());
                  res.set_content(body.dump(), "text/plain");
                });
        }) {}

  std::string url() const { return server_.url(); }

  std::atomic<int> token_puts{0}, credential_gets{0}, unauthorized{0};
  std::atomic<int> put_status{200};
  std::atomic<bool> has_role{true};
  std::atomic<EpochSeconds> expiration{NowSeconds() + 3600};
  std::string failure_code, failure_message;  // set before use

 private:
  bool Authorized(const httplib::Request& req, httplib::Response& res) {
    if (put_status == 200 &&
        req.get_header_value("X-aws-ec2-metadata-token") != kImdsSessionToken) {
      ++unauthorized;
      res.status = 401;
      return false;
    }
    return true;
  }
  Loopback server_;
};

// The ECS / EKS container credentials endpoint: checks the Authorization header.
class FakeContainer {
 public:
  FakeContainer()
      : server_([this](httplib::Server& s) {
          s.Get("/creds", [this](const httplib::Request& req, httplib::Response& res) {
            if (req.get_header_value("Authorization") != expected_authorization) {
              ++rejected;
              res.status = 401;
              // Adversarial: echo what was sent, to prove orb redacts it.
              res.set_content(
                  nlohmann::json{{"code", "AccessDenied"},
                                 {"message", "bad token " + req.get_header_value("Authorization")}}
                      .dump(),
                  "application/json");
              return;
            }
            ++hits;
            if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
            if (malformed) {
              res.set_content(
                  std::string("{\"AccessKeyId\": \"ASIAECS\", \"SecretAccessKey\": \"") +
                      kEcsSecret + "\",",
                  "application/json");
              return;
            }
            res.set_content(CredentialsJson("ASIAECS", kEcsSecret, kEcsToken, expiration.load()),
                            "application/json");
          });
        }) {}

  std::string url() const { return server_.url() + "/creds"; }

  std::string expected_authorization = kEcsAuth;  // set before use
  std::atomic<int> hits{0}, rejected{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> malformed{false};
  std::atomic<EpochSeconds> expiration{NowSeconds() + 3600};

 private:
  Loopback server_;
};

// One call STS received.
struct StsCall {
  std::string action, role_arn, session_name, external_id, duration, signer, web_token;
  bool had_authorization = false;
};

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> form;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t end = body.find('&', pos);
    if (end == std::string::npos) end = body.size();
    std::string pair = body.substr(pos, end - pos);
    std::size_t eq = pair.find('=');
    if (eq != std::string::npos) {
      form[httplib::detail::decode_url(pair.substr(0, eq), true)] =
          httplib::detail::decode_url(pair.substr(eq + 1), true);
    }
    pos = end + 1;
  }
  return form;
}

// STS as it answers the Query protocol: AssumeRole must be signed with SigV4
// (IncompleteSignature otherwise), AssumeRoleWithWebIdentity is not signed and
// checks the token. Issued keys are "ASIA<ROLE NAME>", secrets "stsSECRET<role>".
class FakeSts {
 public:
  FakeSts()
      : server_([this](httplib::Server& s) {
          s.Post(R"(/.*)",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
        }) {}

  std::string url() const { return server_.url(); }

  std::vector<StsCall> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  std::set<std::string> refused_roles;  // set before use
  EpochSeconds lifetime = 3600;

 private:
  static std::string Error(const std::string& code, const std::string& message) {
    return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
           "  <Error>\n    <Type>Sender</Type>\n    <Code>" +
           code + "</Code>\n    <Message>" + message +
           "</Message>\n  </Error>\n"
           "  <RequestId>4f1a2b3c-0000-4000-8000-000000000001</RequestId>\n"
           "</ErrorResponse>\n";
  }

  std::string Answer(const std::string& action, const std::string& role_name) const {
    return "<" + action +
           "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
           "  <" +
           action +
           "Result>\n"
           "    <AssumedRoleUser>\n"
           "      <Arn>arn:aws:sts::123456789012:assumed-role/" +
           role_name +
           "/orb</Arn>\n"
           "      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:orb</AssumedRoleId>\n"
           "    </AssumedRoleUser>\n"
           "    <Credentials>\n"
           "      <AccessKeyId>ASIA" +
           Upper(role_name) +
           "</AccessKeyId>\n"
           "      <SecretAccessKey>stsSECRET" +
           role_name +
           "</SecretAccessKey>\n"
           "      <SessionToken>stsTOKEN" +
           role_name +
           "</SessionToken>\n"
           "      <Expiration>" +
           Iso8601WithMillis(NowSeconds() + lifetime) +
           "</Expiration>\n"
           "    </Credentials>\n"
           "    <PackedPolicySize>6</PackedPolicySize>\n"
           "  </" +
           action +
           "Result>\n"
           "  <ResponseMetadata>\n"
           "    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
           "  </ResponseMetadata>\n"
           "</" +
           action + "Response>\n";
  }

  static std::string Upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  // STS writes milliseconds: "2026-11-27T03:04:05.123Z".
  static std::string Iso8601WithMillis(EpochSeconds t) {
    std::string s = FormatIso8601(t);
    return s.substr(0, s.size() - 1) + ".359Z";
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> form = ParseForm(req.body);
    StsCall call;
    call.action = form["Action"];
    call.role_arn = form["RoleArn"];
    call.session_name = form["RoleSessionName"];
    call.external_id = form["ExternalId"];
    call.duration = form["DurationSeconds"];
    call.web_token = form["WebIdentityToken"];
    std::string authorization = req.get_header_value("Authorization");
    call.had_authorization = !authorization.empty();
    constexpr std::string_view kPrefix = "AWS4-HMAC-SHA256 Credential=";
    if (authorization.rfind(kPrefix, 0) == 0) {
      std::size_t slash = authorization.find('/', kPrefix.size());
      call.signer = authorization.substr(kPrefix.size(), slash - kPrefix.size());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(call);
    }
    std::string role_name = call.role_arn.substr(call.role_arn.rfind('/') + 1);
    res.set_header("x-amzn-RequestId", "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
    if (form["Version"] != "2011-06-15") {
      res.status = 400;
      res.set_content(Error("InvalidAction", "bad version"), "text/xml");
      return;
    }
    if (call.action == "AssumeRole") {
      if (call.signer.empty()) {
        res.status = 403;
        res.set_content(Error("IncompleteSignature", "Request must be signed"), "text/xml");
        return;
      }
      if (role_name == "Echo") {
        // Adversarial: a message that echoes the caller's session token.
        res.status = 403;
        res.set_content(Error("InvalidClientTokenId",
                              "The security token included in the request is invalid: " +
                                  req.get_header_value("X-Amz-Security-Token")),
                        "text/xml");
        return;
      }
      if (refused_roles.count(role_name) != 0) {
        res.status = 403;
        res.set_content(Error("AccessDenied",
                              "User: arn:aws:iam::123456789012:user/orb is not authorized to "
                              "perform: sts:AssumeRole on resource: " +
                                  call.role_arn),
                        "text/xml");
        return;
      }
      res.set_content(Answer("AssumeRole", role_name), "text/xml");
      return;
    }
    if (call.action == "AssumeRoleWithWebIdentity") {
      if (call.had_authorization) {
        res.status = 400;
        res.set_content(Error("InvalidRequest", "unexpected signature"), "text/xml");
        return;
      }
      if (call.web_token != kWebIdentityToken) {
        res.status = 400;
        // Adversarial: echo the token, to prove orb redacts it.
        res.set_content(
            Error("InvalidIdentityToken", "Incorrect token audience in " + call.web_token),
            "text/xml");
        return;
      }
      res.set_content(Answer("AssumeRoleWithWebIdentity", role_name), "text/xml");
      return;
    }
    res.status = 400;
    res.set_content(Error("InvalidAction", "unknown action"), "text/xml");
  }

  std::mutex mu_;
  std::vector<StsCall> calls_;
  Loopback server_;
};

// A loopback port with nothing listening: connections are refused at once.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A loopback port that accepts connections (the kernel completes them) but never
// answers: a black hole like an unreachable metadata address.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() /
            ("orb_credentials_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_ / ".aws");
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  std::string Write(const std::string& relative, const std::string& text) {
    std::filesystem::path path = home_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  // Options reading only `env` (plus HOME), with IMDS off unless the test turns it on.
  CredentialsOptions Options(EnvMap env = {}) {
    CredentialsOptions o;
    env.emplace("HOME", home_.string());
    env.emplace("AWS_EC2_METADATA_DISABLED", "true");
    o.environment = env;
    o.http = http_;
    o.imds_timeout_ms = 300;
    o.container_timeout_ms = 500;
    return o;
  }

  // Runs `get` and returns the Error it throws (fails the test when none).
  static std::pair<ErrorCode, std::string> ErrorOf(CredentialsOptions options) {
    try {
      Credentials c = MakeDefaultCredentialsChain(std::move(options))->Get();
      ADD_FAILURE() << "expected an error, got credentials from " << c.source;
    } catch (const Error& e) {
      return {e.code(), e.what()};
    }
    return {ErrorCode::kInternal, ""};
  }

  std::filesystem::path home_;
  std::shared_ptr<HttpClient> http_ = std::make_shared<HttpClient>(HttpOptions{});
};

// --- explicit keys and the environment --------------------------------------

TEST_F(CredentialsTest, ExplicitKeysComeFirst) {
  CredentialsOptions o =
      Options({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", kEnvSecret}});
  o.access_key_id = "AKIDEXPLICIT";
  o.secret_access_key = kExplicitSecret;
  o.session_token = "explicit-token";
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "AKIDEXPLICIT");
  EXPECT_EQ(c.secret_access_key, kExplicitSecret);
  EXPECT_EQ(c.session_token, "explicit-token");
  EXPECT_EQ(c.expiration, 0);
  EXPECT_EQ(c.source, "orb config (aws.access_key_id)");
}

TEST_F(CredentialsTest, EnvironmentKeysWithSessionToken) {
  Credentials c = MakeDefaultCredentialsChain(Options({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                                       {"AWS_SECRET_ACCESS_KEY", kEnvSecret},
                                                       {"AWS_SESSION_TOKEN", kEnvToken}}))
                      ->Get();
  EXPECT_EQ(c.access_key_id, "AKIDENV");
  EXPECT_EQ(c.secret_access_key, kEnvSecret);
  EXPECT_EQ(c.session_token, kEnvToken);
  EXPECT_EQ(c.source, "environment (AWS_ACCESS_KEY_ID)");
}

TEST_F(CredentialsTest, HalfAKeyPairIsAConfigErrorNotAFallThrough) {
  Write(".aws/credentials",
        "[default]\naws_access_key_id = AKIDPROFILE\n"
        "aws_secret_access_key = x\n");
  auto [code, message] = ErrorOf(Options({{"AWS_SECRET_ACCESS_KEY", kEnvSecret}}));
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
  EXPECT_NE(message.find("AWS_SECRET_ACCESS_KEY but not AWS_ACCESS_KEY_ID"), std::string::npos)
      << message;

  CredentialsOptions o = Options();
  o.access_key_id = "AKIDONLY";
  std::tie(code, message) = ErrorOf(o);
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
  EXPECT_NE(message.find("aws.secret_access_key"), std::string::npos) << message;
}

// --- shared files -------------------------------------------------------------

TEST_F(CredentialsTest, DefaultProfileFromHomeAwsCredentials) {
  std::string path = Write(".aws/credentials",
                           "[default]\naws_access_key_id = AKIDHOME\n"
                           "aws_secret_access_key = " +
                               std::string(kProfileSecret) + "\n");
  Credentials c = MakeDefaultCredentialsChain(Options())->Get();
  EXPECT_EQ(c.access_key_id, "AKIDHOME");
  EXPECT_EQ(c.secret_access_key, kProfileSecret);
  EXPECT_EQ(c.expiration, 0);
  EXPECT_EQ(c.source, "profile default (" + path + ")");
}

TEST_F(CredentialsTest, ProfileFromAwsProfileAndOptionsWins) {
  Write(".aws/credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = a\n"
        "[envprofile]\naws_access_key_id = AKIDENVPROFILE\naws_secret_access_key = b\n"
        "[optprofile]\naws_access_key_id = AKIDOPTPROFILE\naws_secret_access_key = c\n");
  EXPECT_EQ(MakeDefaultCredentialsChain(Options())->Get().access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(
      MakeDefaultCredentialsChain(Options({{"AWS_PROFILE", "envprofile"}}))->Get().access_key_id,
      "AKIDENVPROFILE");
  CredentialsOptions o = Options({{"AWS_PROFILE", "envprofile"}});
  o.profile = "optprofile";
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "AKIDOPTPROFILE");
  EXPECT_NE(c.source.find("profile optprofile"), std::string::npos);
}

TEST_F(CredentialsTest, EnvironmentKeysWinOverAwsProfileButNotOverAnOrbConfigProfile) {
  Write(".aws/credentials", "[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = p\n");
  EnvMap env = {{"AWS_PROFILE", "prod"},
                {"AWS_ACCESS_KEY_ID", "AKIDENV"},
                {"AWS_SECRET_ACCESS_KEY", kEnvSecret}};
  EXPECT_EQ(MakeDefaultCredentialsChain(Options(env))->Get().access_key_id, "AKIDENV");
  CredentialsOptions o = Options(env);
  o.profile = "prod";  // like the AWS CLI's --profile
  EXPECT_EQ(MakeDefaultCredentialsChain(o)->Get().access_key_id, "AKIDPROD");
}

TEST_F(CredentialsTest, CredentialsFilePrecedence) {
  Write(".aws/credentials", "[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = h\n");
  std::string ibm = Write("ibm/credentials",
                          "[default]\naws_access_key_id = AKIDIBM\n"
                          "aws_secret_access_key = " +
                              std::string(kIbmSecret) + "\n");
  std::string shared = Write("shared/credentials",
                             "[default]\naws_access_key_id = AKIDSHARED\n"
                             "aws_secret_access_key = " +
                                 std::string(kSharedSecret) + "\n");
  CredentialsOptions o = Options({{"AWS_SHARED_CREDENTIALS_FILE", shared}});
  o.credential_file = ibm;
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "AKIDSHARED");
  EXPECT_EQ(c.source, "profile default (" + shared + ")");

  o = Options();
  o.credential_file = ibm;  // IBM's AWS_CREDENTIAL_FILE
  c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "AKIDIBM");
  EXPECT_EQ(c.source, "profile default (" + ibm + ")");

  EXPECT_EQ(MakeDefaultCredentialsChain(Options())->Get().access_key_id, "AKIDHOME");
}

TEST_F(CredentialsTest, KeysInTheConfigFileFromAwsConfigFile) {
  std::string config = Write("elsewhere/config",
                             "[profile dev]\nregion = eu-west-1\n"
                             "s3 =\n  max_concurrent_requests = 10\n"
                             "aws_access_key_id = AKIDCONFIG\naws_secret_access_key = k\n");
  Credentials c =
      MakeDefaultCredentialsChain(Options({{"AWS_CONFIG_FILE", config}, {"AWS_PROFILE", "dev"}}))
          ->Get();
  EXPECT_EQ(c.access_key_id, "AKIDCONFIG");
  EXPECT_EQ(c.source, "profile dev (" + config + ")");
}

TEST_F(CredentialsTest, NothingFoundListsEverySourceInOrder) {
  Write(".aws/credentials", "[default]\naws_access_key_id = A\naws_secret_access_key = B\n");
  std::string credentials = (home_ / ".aws/credentials").string();
  auto [code, message] = ErrorOf(Options({{"AWS_PROFILE", "prod"}}));
  EXPECT_EQ(code, ErrorCode::kCloud);
  std::vector<std::string> expected = {
      "orb config: aws.access_key_id not set",
      "environment: AWS_ACCESS_KEY_ID not set",
      "profile 'prod' in " + credentials + ", " + (home_ / ".aws/config").string() +
          ": no such profile",
      "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set",
      "container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
      "AWS_CONTAINER_CREDENTIALS_FULL_URI not set",
      "instance profile: AWS_EC2_METADATA_DISABLED is true"};
  std::size_t at = 0;
  for (const std::string& part : expected) {
    std::size_t found = message.find(part, at);
    EXPECT_NE(found, std::string::npos)
        << "missing or out of order: " << part << "\nin: " << message;
    if (found != std::string::npos) at = found + part.size();
  }
}

TEST_F(CredentialsTest, ProfileWithoutCredentialsIsSkipped) {
  Write(".aws/config", "[default]\nregion = us-east-1\n");
  auto [code, message] = ErrorOf(Options());
  EXPECT_EQ(code, ErrorCode::kCloud);
  EXPECT_NE(message.find("profile 'default' in "), std::string::npos);
  EXPECT_NE(message.find(": no credentials in it"), std::string::npos) << message;
}

TEST_F(CredentialsTest, UnsupportedProfileKindsAreErrorsNamingTheProfile) {
  Write(".aws/config",
        "[profile sso]\nsso_session = corp\nregion = us-east-1\n"
        "[profile proc]\ncredential_process = /bin/echo hi\n");
  auto [code, message] = ErrorOf(Options({{"AWS_PROFILE", "sso"}}));
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
  EXPECT_NE(message.find("profile 'sso' uses sso_session"), std::string::npos) << message;
  std::tie(code, message) = ErrorOf(Options({{"AWS_PROFILE", "proc"}}));
  EXPECT_NE(message.find("profile 'proc' uses credential_process"), std::string::npos) << message;
}

// --- roles (STS) ----------------------------------------------------------------

TEST_F(CredentialsTest, RoleWithSourceProfileIsAssumedWithSignedCall) {
  FakeSts sts;
  std::string credentials = Write(".aws/credentials",
                                  "[base]\naws_access_key_id = AKIDBASE\n"
                                  "aws_secret_access_key = " +
                                      std::string(kProfileSecret) + "\n");
  Write(".aws/config", "[profile prod]\nrole_arn = " + RoleArn("Top") +
                           "\nsource_profile = base\nrole_session_name = hf-broker\n"
                           "external_id = ext-42\nduration_seconds = 1800\n");
  CredentialsOptions o = Options({{"AWS_PROFILE", "prod"}});
  o.sts_endpoint = sts.url();
  o.region = "eu-west-1";
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "ASIATOP");
  EXPECT_EQ(c.secret_access_key, "stsSECRETTop");
  EXPECT_EQ(c.session_token, "stsTOKENTop");
  EXPECT_GT(c.expiration, NowSeconds() + 3000);
  EXPECT_EQ(c.source,
            "profile prod (role " + RoleArn("Top") + " via profile base (" + credentials + "))");
  std::vector<StsCall> calls = sts.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].action, "AssumeRole");
  EXPECT_EQ(calls[0].signer, "AKIDBASE");  // signed with the source profile's key
  EXPECT_EQ(calls[0].role_arn, RoleArn("Top"));
  EXPECT_EQ(calls[0].session_name, "hf-broker");
  EXPECT_EQ(calls[0].external_id, "ext-42");
  EXPECT_EQ(calls[0].duration, "1800");
}

TEST_F(CredentialsTest, RoleChainsThroughSourceProfiles) {
  FakeSts sts;
  Write(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
  Write(".aws/config", "[profile top]\nrole_arn = " + RoleArn("Top") +
                           "\nsource_profile = middle\n"
                           "[profile middle]\nrole_arn = " +
                           RoleArn("Middle") + "\nsource_profile = base\n");
  CredentialsOptions o = Options({{"AWS_PROFILE", "top"}});
  o.sts_endpoint = sts.url();
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "ASIATOP");
  std::vector<StsCall> calls = sts.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].role_arn, RoleArn("Middle"));
  EXPECT_EQ(calls[0].signer, "AKIDBASE");
  EXPECT_EQ(calls[1].role_arn, RoleArn("Top"));
  EXPECT_EQ(calls[1].signer, "ASIAMIDDLE");  // signed with the middle role's credentials
  EXPECT_EQ(calls[1].session_name.rfind("orb-", 0), 0u);  // default session name
  EXPECT_NE(c.source.find("via profile middle (role " + RoleArn("Middle")), std::string::npos)
      << c.source;
}

TEST_F(CredentialsTest, SourceProfileCycleIsDetected) {
  FakeSts sts;
  Write(".aws/config", "[profile a]\nrole_arn = " + RoleArn("Top") +
                           "\nsource_profile = b\n"
                           "[profile b]\nrole_arn = " +
                           RoleArn("Middle") +
                           "\nsource_profile = c\n"
                           "[profile c]\nrole_arn = " +
                           RoleArn("Base") + "\nsource_profile = a\n");
  CredentialsOptions o = Options({{"AWS_PROFILE", "a"}});
  o.sts_endpoint = sts.url();
  auto [code, message] = ErrorOf(o);
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
  EXPECT_NE(message.find("a -> b -> c -> a"), std::string::npos) << message;
  EXPECT_TRUE(sts.calls().empty());
}

TEST_F(CredentialsTest, ProfileMayUseItsOwnKeysForItsRole) {
  FakeSts sts;
  Write(".aws/credentials", "[self]\naws_access_key_id = AKIDSELF\naws_secret_access_key = s\n");
  Write(".aws/config",
        "[profile self]\nrole_arn = " + RoleArn("Top") + "\nsource_profile = self\n");
  CredentialsOptions o = Options({{"AWS_PROFILE", "self"}});
  o.sts_endpoint = sts.url();
  EXPECT_EQ(MakeDefaultCredentialsChain(o)->Get().access_key_id, "ASIATOP");
  ASSERT_EQ(sts.calls().size(), 1u);
  EXPECT_EQ(sts.calls()[0].signer, "AKIDSELF");
}

TEST_F(CredentialsTest, MissingSourceProfileIsAnError) {
  Write(".aws/config",
        "[profile prod]\nrole_arn = " + RoleArn("Top") + "\nsource_profile = nowhere\n");
  auto [code, message] = ErrorOf(Options({{"AWS_PROFILE", "prod"}}));
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
  EXPECT_NE(message.find("profile 'nowhere' (source_profile of profile 'prod') not found"),
            std::string::npos)
      << message;
}

TEST_F(CredentialsTest, StsRefusalNamesTheProfileAndStsMessageAndStopsTheChain) {
  FakeSts sts;
  sts.refused_roles = {"Deny"};
  FakeImds imds;
  Write(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
  Write(".aws/config",
        "[profile prod]\nrole_arn = " + RoleArn("Deny") + "\nsource_profile = base\n");
  CredentialsOptions o =
      Options({{"AWS_PROFILE", "prod"}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  o.sts_endpoint = sts.url();
  try {
    MakeDefaultCredentialsChain(o)->Get();
    FAIL() << "expected STS's refusal";
  } catch (const AwsError& e) {
    std::string message = e.what();
    EXPECT_EQ(e.aws_code(), "AccessDenied");
    EXPECT_EQ(e.http_status(), 403);
    EXPECT_NE(message.find("profile 'prod'"), std::string::npos) << message;
    EXPECT_NE(message.find(RoleArn("Deny")), std::string::npos) << message;
    EXPECT_NE(message.find("is not authorized to perform: sts:AssumeRole"), std::string::npos)
        << message;
  }
  EXPECT_EQ(imds.token_puts, 0);  // no silent fall-through to the instance profile
}

TEST_F(CredentialsTest, CredentialSourceEnvironmentAndMetadataAndContainer) {
  FakeSts sts;
  FakeImds imds;
  FakeContainer ecs;
  Write(".aws/config", "[profile fromenv]\nrole_arn = " + RoleArn("Env") +
                           "\ncredential_source = Environment\n"
                           "[profile fromimds]\nrole_arn = " +
                           RoleArn("Imds") +
                           "\ncredential_source = Ec2InstanceMetadata\n"
                           "[profile fromecs]\nrole_arn = " +
                           RoleArn("Ecs") +
                           "\ncredential_source = EcsContainer\n"
                           "[profile bogus]\nrole_arn = " +
                           RoleArn("Env") + "\ncredential_source = Moon\n");

  CredentialsOptions o =
      Options({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", kEnvSecret}});
  o.profile = "fromenv";
  o.sts_endpoint = sts.url();
  EXPECT_EQ(MakeDefaultCredentialsChain(o)->Get().access_key_id, "ASIAENV");

  o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  o.profile = "fromimds";
  o.sts_endpoint = sts.url();
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "ASIAIMDS");
  EXPECT_NE(c.source.find("via instance profile (IMDSv2, role orb-role)"), std::string::npos)
      << c.source;

  o = Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
               {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}});
  o.profile = "fromecs";
  o.sts_endpoint = sts.url();
  EXPECT_EQ(MakeDefaultCredentialsChain(o)->Get().access_key_id, "ASIAECS");

  std::vector<StsCall> calls = sts.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].signer, "AKIDENV");
  EXPECT_EQ(calls[1].signer, "ASIAIMDS");
  EXPECT_EQ(calls[2].signer, "ASIAECS");

  o = Options();
  o.profile = "bogus";
  auto [code, message] = ErrorOf(o);
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
  EXPECT_NE(message.find("credential_source = Moon"), std::string::npos) << message;
}

// --- web identity ---------------------------------------------------------------

TEST_F(CredentialsTest, WebIdentityFromEnvironment) {
  FakeSts sts;
  std::string token = Write("token", std::string(kWebIdentityToken) + "\n");
  CredentialsOptions o = Options({{"AWS_WEB_IDENTITY_TOKEN_FILE", token},
                                  {"AWS_ROLE_ARN", RoleArn("Web")},
                                  {"AWS_ROLE_SESSION_NAME", "pod-7"}});
  o.sts_endpoint = sts.url();
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "ASIAWEB");
  EXPECT_EQ(c.session_token, "stsTOKENWeb");
  EXPECT_EQ(c.source, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role " + RoleArn("Web") + ")");
  std::vector<StsCall> calls = sts.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].action, "AssumeRoleWithWebIdentity");
  EXPECT_FALSE(calls[0].had_authorization);  // not signed
  EXPECT_EQ(calls[0].web_token, kWebIdentityToken);
  EXPECT_EQ(calls[0].session_name, "pod-7");
}

TEST_F(CredentialsTest, WebIdentityFromProfile) {
  FakeSts sts;
  std::string token = Write("token", kWebIdentityToken);
  Write(".aws/config", "[profile k8s]\nrole_arn = " + RoleArn("Web") +
                           "\nweb_identity_token_file = " + token + "\n");
  CredentialsOptions o = Options({{"AWS_PROFILE", "k8s"}});
  o.sts_endpoint = sts.url();
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "ASIAWEB");
  EXPECT_EQ(c.source, "profile k8s (web identity, role " + RoleArn("Web") + ")");
  ASSERT_EQ(sts.calls().size(), 1u);
  EXPECT_EQ(sts.calls()[0].action, "AssumeRoleWithWebIdentity");
}

TEST_F(CredentialsTest, WebIdentityRefusalIsAnErrorWithStsMessage) {
  FakeSts sts;
  std::string token = Write("token", "not-the-right-token");
  CredentialsOptions o =
      Options({{"AWS_WEB_IDENTITY_TOKEN_FILE", token}, {"AWS_ROLE_ARN", RoleArn("Web")}});
  o.sts_endpoint = sts.url();
  try {
    MakeDefaultCredentialsChain(o)->Get();
    FAIL() << "expected InvalidIdentityToken";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.aws_code(), "InvalidIdentityToken");
    EXPECT_NE(std::string(e.what()).find("Incorrect token audience"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("not-the-right-token"), std::string::npos) << e.what();
  }
}

// --- container credentials --------------------------------------------------

TEST_F(CredentialsTest, ContainerFullUriWithAuthorizationToken) {
  FakeContainer ecs;
  Credentials c =
      MakeDefaultCredentialsChain(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}}))
          ->Get();
  EXPECT_EQ(c.access_key_id, "ASIAECS");
  EXPECT_EQ(c.secret_access_key, kEcsSecret);
  EXPECT_EQ(c.session_token, kEcsToken);
  EXPECT_NEAR(static_cast<double>(c.expiration), static_cast<double>(ecs.expiration.load()), 1);
  EXPECT_EQ(c.source,
            "container credentials (" + ecs.url().substr(0, ecs.url().find("/creds")) + ")");
  EXPECT_EQ(ecs.hits, 1);
}

// A refused token that is itself part of the "<redacted>" marker: redacted once, and
// the redaction ends (it used to search the marker it had just put in, for ever).
TEST_F(CredentialsTest, RefusedTokenInsideTheRedactionMarkerIsRedactedOnce) {
  FakeContainer ecs;
  try {
    MakeDefaultCredentialsChain(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                         {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "redacted"}}))
        ->Get();
    ADD_FAILURE() << "a refused token must fail";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("bad token <redacted>"), std::string::npos) << e.what();
  }
}

TEST_F(CredentialsTest, ContainerTokenFileWinsOverTokenVariable) {
  FakeContainer ecs;
  std::string token_file = Write("eks-token", std::string(kEcsAuth) + "\n");
  Credentials c =
      MakeDefaultCredentialsChain(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "stale"},
                                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file}}))
          ->Get();
  EXPECT_EQ(c.access_key_id, "ASIAECS");

  auto [code, message] = ErrorOf(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong"}}));
  EXPECT_EQ(code, ErrorCode::kCloud);
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_EQ(ecs.rejected, 1);
}

TEST_F(CredentialsTest, ContainerFullUriMustBeLoopbackEcsOrEks) {
  auto [code, message] =
      ErrorOf(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds"}}));
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
  EXPECT_NE(message.find("10.1.2.3"), std::string::npos) << message;
  std::tie(code, message) =
      ErrorOf(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example.com/creds"}}));
  EXPECT_EQ(code, ErrorCode::kInvalidConfig);
}

TEST_F(CredentialsTest, ContainerRelativeUriGoesToTheEcsAddress) {
  CredentialsOptions o = Options({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x"}});
  o.container_timeout_ms = 100;
  auto [code, message] = ErrorOf(o);
  EXPECT_EQ(code, ErrorCode::kCloud);
  EXPECT_NE(message.find("container credentials from http://169.254.170.2"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("/v2/credentials/x"), std::string::npos) << message;
}

// --- instance profile ---------------------------------------------------------

TEST_F(CredentialsTest, InstanceProfileViaImdsV2) {
  FakeImds imds;
  CredentialsOptions o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url() + "/"}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "ASIAIMDS");
  EXPECT_EQ(c.secret_access_key, kImdsSecret);
  EXPECT_EQ(c.session_token, kImdsToken);
  EXPECT_EQ(c.source, "instance profile (IMDSv2, role orb-role)");
  EXPECT_EQ(imds.token_puts, 1);
  EXPECT_EQ(imds.unauthorized, 0);  // every GET carried the session token
}

TEST_F(CredentialsTest, InstanceProfileFallsBackToImdsV1On405) {
  FakeImds imds;
  imds.put_status = 405;
  CredentialsOptions o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  Credentials c = MakeDefaultCredentialsChain(o)->Get();
  EXPECT_EQ(c.access_key_id, "ASIAIMDS");
  EXPECT_EQ(c.source, "instance profile (IMDSv1, role orb-role)");
}

TEST_F(CredentialsTest, InstanceProfileWithoutRoleOrDisabled) {
  FakeImds imds;
  imds.has_role = false;
  CredentialsOptions o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  auto [code, message] = ErrorOf(o);
  EXPECT_NE(message.find("instance profile: this instance has no IAM role attached"),
            std::string::npos)
      << message;

  imds.has_role = true;
  int puts = imds.token_puts;
  std::tie(code, message) = ErrorOf(Options(
      {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}, {"AWS_EC2_METADATA_DISABLED", "TRUE"}}));
  EXPECT_NE(message.find("AWS_EC2_METADATA_DISABLED is true"), std::string::npos) << message;
  EXPECT_EQ(imds.token_puts, puts);  // not asked at all
}

TEST_F(CredentialsTest, UnreachableImdsFailsFast) {
  int port = ClosedPort();
  std::string endpoint = "http://127.0.0.1:" + std::to_string(port);
  CredentialsOptions o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  auto start = std::chrono::steady_clock::now();
  auto [code, message] = ErrorOf(o);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(code, ErrorCode::kCloud);
  EXPECT_NE(message.find("instance profile: no answer from " + endpoint + " within 300 ms"),
            std::string::npos)
      << message;
}

TEST_F(CredentialsTest, SilentImdsFailsFastWithDefaultTimeouts) {
  BlackHole hole;
  CredentialsOptions o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", hole.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  CredentialsOptions defaults;
  o.imds_timeout_ms = defaults.imds_timeout_ms;
  o.imds_attempts = defaults.imds_attempts;
  auto start = std::chrono::steady_clock::now();
  auto [code, message] = ErrorOf(o);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_NE(message.find("no answer from " + hole.url() + " within 1000 ms"), std::string::npos)
      << message;
}

// --- precedence across every source -----------------------------------------

TEST_F(CredentialsTest, EverySourceInOrder) {
  FakeSts sts;
  FakeImds imds;
  FakeContainer ecs;
  Write(".aws/credentials",
        "[default]\naws_access_key_id = AKIDPROFILE\n"
        "aws_secret_access_key = p\n");
  std::string token = Write("token", kWebIdentityToken);
  EnvMap env = {{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                {"AWS_SECRET_ACCESS_KEY", kEnvSecret},
                {"AWS_WEB_IDENTITY_TOKEN_FILE", token},
                {"AWS_ROLE_ARN", RoleArn("Web")},
                {"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth},
                {"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}};
  auto get = [&](bool explicit_keys) {
    CredentialsOptions o = Options(env);
    o.environment->erase("AWS_EC2_METADATA_DISABLED");
    o.sts_endpoint = sts.url();
    if (explicit_keys) {
      o.access_key_id = "AKIDEXPLICIT";
      o.secret_access_key = kExplicitSecret;
    }
    return MakeDefaultCredentialsChain(o)->Get().access_key_id;
  };
  EXPECT_EQ(get(true), "AKIDEXPLICIT");
  EXPECT_EQ(get(false), "AKIDENV");
  env.erase("AWS_ACCESS_KEY_ID");
  env.erase("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(get(false), "AKIDPROFILE");
  std::filesystem::remove(home_ / ".aws/credentials");
  EXPECT_EQ(sts.calls().size(), 0u);
  EXPECT_EQ(get(false), "ASIAWEB");
  env.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  EXPECT_EQ(ecs.hits, 0);
  EXPECT_EQ(get(false), "ASIAECS");
  env.erase("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  EXPECT_EQ(imds.token_puts, 0);
  EXPECT_EQ(get(false), "ASIAIMDS");
}

// --- caching and refresh ------------------------------------------------------

TEST_F(CredentialsTest, RefreshesWhenExpiringWithinFiveMinutes) {
  FakeContainer ecs;
  ecs.expiration = NowSeconds() + 4 * 60;
  auto chain =
      MakeDefaultCredentialsChain(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}}));
  chain->Get();
  EXPECT_EQ(ecs.hits, 1);
  chain->Get();
  EXPECT_EQ(ecs.hits, 2);  // 4 minutes left: refreshed
  ecs.expiration = NowSeconds() + 3600;
  chain->Get();
  EXPECT_EQ(ecs.hits, 3);
  Credentials c = chain->Get();
  chain->Get();
  EXPECT_EQ(ecs.hits, 3);  // an hour left: cached
  EXPECT_EQ(c.expiration, ecs.expiration.load());
}

TEST_F(CredentialsTest, ImdsCredentialsAreCachedUntilNearExpiry) {
  FakeImds imds;
  imds.expiration = NowSeconds() + 3600;
  CredentialsOptions o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  auto chain = MakeDefaultCredentialsChain(o);
  for (int i = 0; i < 5; ++i) chain->Get();
  EXPECT_EQ(imds.credential_gets, 1);
  imds.expiration = NowSeconds() + 60;
  // Still cached (the cached ones have an hour), so no new fetch.
  chain->Get();
  EXPECT_EQ(imds.credential_gets, 1);
}

TEST_F(CredentialsTest, LongTermKeysAreReadOnce) {
  Write(".aws/credentials",
        "[default]\naws_access_key_id = AKIDFIRST\naws_secret_access_key = a\n");
  auto chain = MakeDefaultCredentialsChain(Options());
  EXPECT_EQ(chain->Get().access_key_id, "AKIDFIRST");
  Write(".aws/credentials",
        "[default]\naws_access_key_id = AKIDSECOND\naws_secret_access_key = b\n");
  EXPECT_EQ(chain->Get().access_key_id, "AKIDFIRST");
}

TEST_F(CredentialsTest, RefreshAsksTheSourceThatWorkedFirst) {
  FakeContainer ecs;
  ecs.expiration = NowSeconds() + 60;
  auto chain =
      MakeDefaultCredentialsChain(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}}));
  EXPECT_EQ(chain->Get().access_key_id, "ASIAECS");
  // A profile that appears later would win a fresh walk of the chain, but the
  // remembered source is asked first.
  Write(".aws/credentials", "[default]\naws_access_key_id = AKIDLATE\naws_secret_access_key = a\n");
  Credentials c = chain->Get();
  EXPECT_EQ(c.access_key_id, "ASIAECS");
  EXPECT_EQ(ecs.hits, 2);
}

TEST_F(CredentialsTest, ConcurrentGetsShareOneFetch) {
  FakeContainer ecs;
  ecs.delay_ms = 300;
  auto chain =
      MakeDefaultCredentialsChain(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}}));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (chain->Get().access_key_id == "ASIAECS") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(ecs.hits, 1);
}

TEST_F(CredentialsTest, ConcurrentGetsNearExpiryCauseOneRefresh) {
  FakeContainer ecs;
  ecs.expiration = NowSeconds() + 4 * 60;  // valid, but inside the refresh margin
  auto chain =
      MakeDefaultCredentialsChain(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}}));
  chain->Get();
  ASSERT_EQ(ecs.hits, 1);
  ecs.delay_ms = 300;
  ecs.expiration = NowSeconds() + 3600;
  std::vector<std::thread> threads;
  std::atomic<int> valid{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      Credentials c = chain->Get();
      if (c.access_key_id == "ASIAECS" && !c.ExpiresWithin(NowSeconds(), 0)) ++valid;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(valid, 8);
  EXPECT_EQ(ecs.hits, 2);  // one refresh; the others used the still-valid credentials
  EXPECT_FALSE(chain->Get().ExpiresWithin(NowSeconds(), 300));
}

// --- secrets never leak -------------------------------------------------------

TEST_F(CredentialsTest, NoSecretInAnyMessageOrSource) {
  FakeSts sts;
  FakeImds imds;
  FakeContainer ecs;
  std::vector<std::string> seen;
  auto failure = [&](CredentialsOptions o) {
    try {
      Credentials c = MakeDefaultCredentialsChain(std::move(o))->Get();
      ADD_FAILURE() << "expected a failure, got " << c.source;
    } catch (const std::exception& e) {
      seen.push_back(e.what());
    }
  };
  auto success = [&](CredentialsOptions o) {
    seen.push_back(MakeDefaultCredentialsChain(std::move(o))->Get().source);
  };
  std::string good_token = Write("token", kWebIdentityToken);
  std::string bad_token = Write("bad-token", std::string(kWebIdentityToken) + "x");

  // Half key pairs.
  failure(Options({{"AWS_SECRET_ACCESS_KEY", kEnvSecret}, {"AWS_SESSION_TOKEN", kEnvToken}}));
  CredentialsOptions o = Options();
  o.secret_access_key = kExplicitSecret;
  failure(o);
  Write(".aws/credentials", "[half]\naws_secret_access_key = " + std::string(kProfileSecret) +
                                "\naws_session_token = " + kEnvToken + "\n" +
                                "[base]\naws_access_key_id = AKIDBASE\n"
                                "aws_secret_access_key = " +
                                kProfileSecret + "\naws_session_token = " + kEnvToken + "\n");
  failure(Options({{"AWS_PROFILE", "half"}}));
  // STS refusing, and STS echoing the caller's session token.
  Write(".aws/config", "[profile deny]\nrole_arn = " + RoleArn("Deny") +
                           "\nsource_profile = base\n"
                           "[profile echo]\nrole_arn = " +
                           RoleArn("Echo") +
                           "\nsource_profile = base\n"
                           "[profile ok]\nrole_arn = " +
                           RoleArn("Top") + "\nsource_profile = base\n");
  sts.refused_roles = {"Deny"};
  for (const char* profile : {"deny", "echo"}) {
    o = Options({{"AWS_PROFILE", profile}});
    o.sts_endpoint = sts.url();
    failure(o);
  }
  // Web identity refused with the token echoed.
  o = Options({{"AWS_WEB_IDENTITY_TOKEN_FILE", bad_token}, {"AWS_ROLE_ARN", RoleArn("Web")}});
  o.sts_endpoint = sts.url();
  failure(o);
  // Container endpoint refusing (echoing the token sent), and answering garbage.
  failure(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                   {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsToken}}));
  ecs.malformed = true;
  failure(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                   {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}}));
  ecs.malformed = false;
  // IMDS refusing with a message that echoes its session token.
  imds.failure_code = "Failure";
  imds.failure_message = std::string("token ") + kImdsSessionToken + " rejected";
  o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  failure(o);
  imds.failure_code.clear();
  // Nothing at all, with a stray session token in the environment.
  failure(Options({{"AWS_SESSION_TOKEN", kEnvToken}}));

  // Successes: their sources.
  success(Options({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                   {"AWS_SECRET_ACCESS_KEY", kEnvSecret},
                   {"AWS_SESSION_TOKEN", kEnvToken}}));
  o = Options({{"AWS_PROFILE", "ok"}});
  o.sts_endpoint = sts.url();
  success(o);
  o = Options({{"AWS_WEB_IDENTITY_TOKEN_FILE", good_token}, {"AWS_ROLE_ARN", RoleArn("Web")}});
  o.sts_endpoint = sts.url();
  success(o);
  success(Options({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url()},
                   {"AWS_CONTAINER_AUTHORIZATION_TOKEN", kEcsAuth}}));
  o = Options({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  o.environment->erase("AWS_EC2_METADATA_DISABLED");
  success(o);

  ASSERT_EQ(seen.size(), 15u);
  for (const std::string& text : seen) {
    EXPECT_FALSE(text.empty());
    for (const std::string& secret : AllSecrets()) {
      EXPECT_EQ(text.find(secret), std::string::npos)
          << "secret '" << secret << "' leaked in: " << text;
    }
  }
  // The echoing answers were really received and redacted, not silently dropped.
  bool redacted = false;
  for (const std::string& text : seen) redacted |= text.find("<redacted>") != std::string::npos;
  EXPECT_TRUE(redacted);
}

}  // namespace
}  // namespace orb
