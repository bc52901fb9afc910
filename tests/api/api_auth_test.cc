// `orb serve`'s access control as a client sees it: a real server process (the orb
// binary) against moto, driven over HTTP with libcurl. API keys and JWT bearer tokens
// (HS256, RS256, and the usual forgeries), roles, refusal to start on an unsafe
// configuration, rate limiting, CORS and the audit log.

#include <arpa/inet.h>
#include <jwt.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/serve_harness.h"
#include "hostfactory/hf_harness.h"
#include "provider/aws/http_client.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Keys of the test's keys file: distinctive, so that a leak is findable.
const char kViewerKey[] = "viewer-key-5f1c0d9e8a7b6c5d4e3f";
const char kOperatorKey[] = "operator-key-a1b2c3d4e5f60718293a";
const char kAdminKey[] = "admin-key-0f9e8d7c6b5a49382716";
const char kHsSecret[] = "hs256-secret-9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";


std::string HexSha256(const std::string& text) {
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string Base64Url(const std::string& in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += abc[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += abc[(buffer << (6 - bits)) & 63];
  return out;
}

// A JWT with `claims`, signed by libjwt with `alg` and `key`.
std::string SignJwt(jwt_alg_t alg, const std::string& key, const json& claims) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, claims.dump().c_str()), 0);
  EXPECT_EQ(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* text = jwt_encode_str(jwt);
  std::string token = text ? text : "";
  std::free(text);
  jwt_free(jwt);
  return token;
}

// An RSA key pair as PEM text (private, public), made with libcrypto.
std::pair<std::string, std::string> RsaKeyPair() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  EXPECT_NE(key, nullptr);
  auto pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return text;
  };
  std::string priv = pem([&](BIO* b) {
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  std::string pub = pem([&](BIO* b) { PEM_write_bio_PUBKEY(b, key); });
  EVP_PKEY_free(key);
  return {priv, pub};
}

void WriteFile(const fs::path& path, const std::string& text, mode_t mode) {
  fs::create_directories(path.parent_path());
  { std::ofstream(path) << text; }
  ::chmod(path.c_str(), mode);
}

class ApiAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MotoServer& moto = MotoServer::Shared();
    cloud_ = std::make_unique<MotoSide>(moto.endpoint());
    sb_ = std::make_unique<HfSandbox>(moto.endpoint());
    sb_->WriteConfig({{"AWS_INSTANCE_PENDING_TIMEOUT_SEC", 600}});
    sb_->WriteTemplates(SuiteTemplates(cloud_->ImageId(), cloud_->SubnetId()));
    port_ = FreePort();
    sb_->env()["ORB_SERVER_PORT"] = std::to_string(port_);
    sb_->env()["ORB_SERVER_THREADS"] = "4";
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    secrets_ = sb_->root() / "secrets";
    keys_file_ = secrets_ / "keys.yaml";
    audit_file_ = sb_->root() / "audit" / "audit.log";
    sb_->env()["ORB_SERVER_AUDIT_LOG_FILE"] = audit_file_.string();
  }

  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      EXPECT_EQ(server_->WaitExit(seconds(15)), 0) << server_->Err();
      if (HasFailure()) std::cout << "==== orb's logs\n" << sb_->LogTail(80) << "====\n";
    }
  }

  // A keys file: the viewer's key by hash, the operator's and admin's in plain text
  // (so the file must be 0600).
  void WriteKeys(mode_t mode = 0600) {
    WriteFile(keys_file_,
              "# API keys of orb serve\n"
              "- name: dashboard\n  role: viewer\n  key_sha256: " + HexSha256(kViewerKey) + "\n"
              "- name: ci-bot\n  role: operator\n  key: " + kOperatorKey + "\n"
              "- name: root\n  role: admin\n  key: \"" + kAdminKey + "\"\n",
              mode);
    sb_->env()["ORB_SERVER_API_KEYS_FILE"] = keys_file_.string();
  }

  void WriteHsSecret() {
    WriteFile(secrets_ / "jwt.secret", std::string(kHsSecret) + "\n", 0600);
    sb_->env()["ORB_SERVER_JWT_HS256_SECRET_FILE"] = (secrets_ / "jwt.secret").string();
  }

  // Writes a fresh RSA pair; configures the public key; returns the private key.
  std::string WriteRsaKey() {
    auto [priv, pub] = RsaKeyPair();
    rsa_public_pem_ = pub;
    WriteFile(secrets_ / "jwt.pub.pem", pub, 0644);
    sb_->env()["ORB_SERVER_JWT_RS256_PUBLIC_KEY_FILE"] = (secrets_ / "jwt.pub.pem").string();
    return priv;
  }

  // Starts `orb serve` on every address (0.0.0.0) and waits until it answers /livez
  // on 127.0.0.1 (a probe: no token needed).
  void Start(const std::string& host = "0.0.0.0") {
    server_ = std::make_unique<ServeProcess>(sb_->env(), sb_->root(),
                                             std::vector<std::string>{"--host", host});
    for (int i = 0; i < 200; ++i) {
      try {
        if (Send("GET", "/livez").status == 200) return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    FAIL() << "orb serve did not come up\n" << server_->Out() << server_->Err();
  }

  HttpResponse Send(const std::string& method, const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.url = base_ + path;
    r.body = body;
    r.headers = headers;
    if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
    return client_.Send(r);
  }
  static std::vector<std::pair<std::string, std::string>> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  HttpResponse GetAs(const std::string& token, const std::string& path = "/api/v1/templates") {
    return Send("GET", path, Bearer(token));
  }
  // A mutating operator call that changes nothing: the template does not exist (404
  // once past access control).
  HttpResponse RequestAs(const std::string& token) {
    return Send("POST", "/api/v1/machines/request", Bearer(token),
                R"({"template_id":"No-Such","count":1})");
  }

  static json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  static void ExpectError(const HttpResponse& r, int status, const std::string& words) {
    EXPECT_EQ(r.status, status) << r.body;
    json b = Body(r);
    ASSERT_TRUE(b.is_object()) << "[errors are JSON objects] " << r.body;
    EXPECT_TRUE(b.contains("error") && b["error"].is_string()) << r.body;
    ASSERT_TRUE(b.contains("message") && b["message"].is_string()) << r.body;
    EXPECT_NE(b["message"].get<std::string>().find(words), std::string::npos)
        << "[the message says what is wrong: '" << words << "'] " << r.body;
    if (status == 401) {
      EXPECT_EQ(r.Header("www-authenticate").rfind("Bearer", 0), 0u)
          << "[401 tells the scheme] " << r.Header("www-authenticate");
    }
  }

  // Every log, output and audit file of the sandbox, concatenated.
  std::string EverythingWritten() const {
    std::string all;
    for (const auto& e : fs::recursive_directory_iterator(sb_->root())) {
      if (!e.is_regular_file()) continue;
      const std::string name = e.path().filename().string();
      if (e.path().extension() == ".log" || name == "serve.out" || name == "serve.err") {
        all += ReadWholeFile(e.path());
      }
    }
    return all;
  }

  static json Claims(const std::string& role, long long exp_from_now = 300) {
    const long long now = std::time(nullptr);
    return json{{"sub", "alice"}, {"role", role}, {"iat", now}, {"exp", now + exp_from_now}};
  }

  std::unique_ptr<MotoSide> cloud_;
  std::unique_ptr<HfSandbox> sb_;
  std::unique_ptr<ServeProcess> server_;
  int port_ = 0;
  std::string base_;
  fs::path secrets_, keys_file_, audit_file_;
  std::string rsa_public_pem_;
  HttpClient client_{HttpOptions{}};
};

TEST_F(ApiAuthTest, ApiKeysAuthenticateAndRolesDecideWhatEachMayCall) {
  WriteKeys();
  Start();
  EXPECT_NE(server_->Out().find("listening on http://0.0.0.0:"), std::string::npos)
      << "[with keys configured, any address may be listened on] " << server_->Out();

  ExpectError(Send("GET", "/api/v1/templates"), 401, "missing bearer token");
  ExpectError(GetAs("not-a-key-of-this-server"), 401, "invalid API key");
  ExpectError(Send("GET", "/api/v1/templates", {{"Authorization", "Basic dXNlcjpwYXNz"}}), 401,
              "Bearer");
  EXPECT_EQ(Send("GET", "/health").status, 200) << "[probes need no token]";
  EXPECT_EQ(Send("GET", "/readyz").status, 200) << "[probes need no token]";

  HttpResponse viewer = GetAs(kViewerKey);
  EXPECT_EQ(viewer.status, 200) << "[a viewer reads] " << viewer.body;
  EXPECT_EQ(Send("GET", "/api/v1/requests", {{"X-API-Key", kViewerKey}}).status, 200)
      << "[X-API-Key works as well]";
  ExpectError(RequestAs(kViewerKey), 403,
              "role viewer may not call POST /api/v1/machines/request (needs operator)");
  ExpectError(RequestAs(kOperatorKey), 404, "No-Such");  // past access control
  ExpectError(RequestAs(kAdminKey), 404, "No-Such");
  EXPECT_EQ(Send("POST", "/api/v1/hostfactory/getAvailableTemplates", Bearer(kViewerKey), "{}").status,
            200)
      << "[HostFactory's read operations are viewer calls]";

  const std::string all = EverythingWritten();
  for (const char* key : {kViewerKey, kOperatorKey, kAdminKey}) {
    EXPECT_EQ(all.find(key), std::string::npos) << "[no key is ever written to a log]";
  }
}

TEST_F(ApiAuthTest, Hs256TokensAreVerifiedAndForgeriesRefused) {
  WriteHsSecret();
  sb_->env()["ORB_SERVER_JWT_ISSUER"] = "https://idp.example.com";
  sb_->env()["ORB_SERVER_JWT_AUDIENCE"] = "orb";
  Start();
  auto claims = [](const std::string& role, long long exp_from_now = 300) {
    json c = Claims(role, exp_from_now);
    c["iss"] = "https://idp.example.com";
    c["aud"] = json::array({"other", "orb"});
    return c;
  };
  const std::string viewer = SignJwt(JWT_ALG_HS256, kHsSecret, claims("viewer"));
  const std::string op = SignJwt(JWT_ALG_HS256, kHsSecret, claims("operator"));
  EXPECT_EQ(GetAs(viewer).status, 200);
  ExpectError(RequestAs(viewer), 403, "(needs operator)");
  ExpectError(RequestAs(op), 404, "No-Such");

  json scoped = claims("viewer");
  scoped.erase("role");
  scoped["scope"] = "openid orb:operator";
  ExpectError(RequestAs(SignJwt(JWT_ALG_HS256, kHsSecret, scoped)), 404, "No-Such");
  json listed = claims("viewer");
  listed.erase("role");
  listed["roles"] = {"viewer", "admin"};
  ExpectError(RequestAs(SignJwt(JWT_ALG_HS256, kHsSecret, listed)), 404, "No-Such");

  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, kHsSecret, claims("viewer", -3600))), 401,
              "token expired");
  json no_exp = claims("viewer");
  no_exp.erase("exp");
  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, kHsSecret, no_exp)), 401, "'exp'");
  json future = claims("viewer");
  future["nbf"] = std::time(nullptr) + 3600;
  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, kHsSecret, future)), 401, "not valid yet");
  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, "another-secret-of-32-bytes-or-more-xx", claims("viewer"))),
              401, "signature");
  json wrong_iss = claims("viewer");
  wrong_iss["iss"] = "https://evil.example.com";
  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, kHsSecret, wrong_iss)), 401, "issuer");
  json wrong_aud = claims("viewer");
  wrong_aud["aud"] = "someone-else";
  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, kHsSecret, wrong_aud)), 401, "audience");
  const std::string unsigned_token = Base64Url(R"({"alg":"none","typ":"JWT"})") + "." +
                                     Base64Url(claims("admin").dump()) + ".";
  ExpectError(GetAs(unsigned_token), 401, "'none' is not accepted");
  // A valid signature over a changed payload.
  std::string tampered = viewer;
  const std::size_t first = tampered.find('.'), second = tampered.find('.', first + 1);
  tampered.replace(first + 1, second - first - 1, Base64Url(claims("admin").dump()));
  ExpectError(RequestAs(tampered), 401, "signature");
  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, kHsSecret, claims("superuser"))), 403,
              "role 'superuser' is not viewer, operator or admin");

  EXPECT_EQ(EverythingWritten().find(viewer.substr(viewer.rfind('.') + 1)), std::string::npos)
      << "[no token is written to a log]";
}

TEST_F(ApiAuthTest, Rs256TokensAreVerifiedAndAnHs256TokenSignedWithThePublicKeyIsNot) {
  const std::string priv = WriteRsaKey();
  Start();
  EXPECT_EQ(GetAs(SignJwt(JWT_ALG_RS256, priv, Claims("viewer"))).status, 200);
  ExpectError(RequestAs(SignJwt(JWT_ALG_RS256, priv, Claims("operator"))), 404, "No-Such");
  ExpectError(GetAs(SignJwt(JWT_ALG_RS256, priv, Claims("viewer", -3600))), 401, "token expired");
  // The classic key confusion: HS256 "signed" with the server's RSA public key text.
  ExpectError(GetAs(SignJwt(JWT_ALG_HS256, rsa_public_pem_, Claims("admin"))), 401,
              "'HS256' is not accepted");
  // Another RSA key's signature.
  auto [other_priv, other_pub] = RsaKeyPair();
  ExpectError(GetAs(SignJwt(JWT_ALG_RS256, other_priv, Claims("viewer"))), 401, "signature");
}

TEST_F(ApiAuthTest, UnsafeConfigurationsAreRefusedAtStart) {
  OrbOutcome open = RunOrb({"serve", "--host", "0.0.0.0"}, sb_->env(), sb_->root());
  EXPECT_EQ(open.code, 1) << open.out << open.err;
  EXPECT_NE(open.err.find("not a loopback address"), std::string::npos) << open.err;
  EXPECT_NE(open.err.find("server.api_keys_file"), std::string::npos)
      << "[the message says how to serve other hosts] " << open.err;

  WriteKeys(0644);
  OrbOutcome readable = RunOrb({"serve", "--host", "0.0.0.0"}, sb_->env(), sb_->root());
  EXPECT_EQ(readable.code, 1) << readable.out << readable.err;
  EXPECT_NE(readable.err.find(keys_file_.string()), std::string::npos) << readable.err;
  EXPECT_NE(readable.err.find("0644"), std::string::npos) << readable.err;
  EXPECT_EQ(readable.err.find(kOperatorKey), std::string::npos) << "[never the key]";

  WriteFile(keys_file_, "- name: x\n  role: root\n  key_sha256: " + HexSha256(kViewerKey) + "\n",
            0600);
  OrbOutcome bad_role = RunOrb({"serve"}, sb_->env(), sb_->root());
  EXPECT_EQ(bad_role.code, 1) << bad_role.err;
  EXPECT_NE(bad_role.err.find("'role' must be viewer, operator or admin"), std::string::npos)
      << bad_role.err;

  sb_->env().erase("ORB_SERVER_API_KEYS_FILE");
  WriteFile(secrets_ / "jwt.secret", kHsSecret, 0640);
  sb_->env()["ORB_SERVER_JWT_HS256_SECRET_FILE"] = (secrets_ / "jwt.secret").string();
  OrbOutcome secret = RunOrb({"serve"}, sb_->env(), sb_->root());
  EXPECT_EQ(secret.code, 1) << secret.err;
  EXPECT_NE(secret.err.find("0640"), std::string::npos) << secret.err;
  EXPECT_EQ(secret.err.find(kHsSecret), std::string::npos) << "[never the secret]";
}

TEST_F(ApiAuthTest, ARateLimitedClientGets429WithRetryAfterAndThenRecovers) {
  WriteKeys();
  sb_->env()["ORB_SERVER_RATE_LIMIT"] = "3/0.5";
  Start();
  HttpResponse limited;
  for (int i = 0; i < 20 && limited.status != 429; ++i) limited = GetAs(kViewerKey);
  ExpectError(limited, 429, "too many calls");
  const int retry_after = std::atoi(limited.Header("retry-after").c_str());
  EXPECT_GE(retry_after, 1) << "[429 says when to come back]";
  EXPECT_EQ(GetAs(kOperatorKey).status, 200) << "[each client has its own allowance]";
  std::this_thread::sleep_for(seconds(retry_after) + milliseconds(200));
  EXPECT_EQ(GetAs(kViewerKey).status, 200) << "[after Retry-After the client is served again]";
}

TEST_F(ApiAuthTest, CorsHeadersOnlyForListedOriginsAndPreflightsAnswered) {
  WriteKeys();
  sb_->env()["ORB_SERVER_CORS_ORIGINS"] = "https://ops.example.com, https://grafana.example.com";
  Start();
  auto with_origin = [&](const std::string& origin) {
    auto h = Bearer(kViewerKey);
    h.push_back({"Origin", origin});
    return Send("GET", "/api/v1/templates", h);
  };
  HttpResponse allowed = with_origin("https://ops.example.com");
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.Header("access-control-allow-origin"), "https://ops.example.com");
  HttpResponse other = with_origin("https://evil.example.com");
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.Header("access-control-allow-origin"), "") << "[other origins get no CORS]";

  HttpResponse preflight = Send("OPTIONS", "/api/v1/machines/request",
                                {{"Origin", "https://ops.example.com"},
                                 {"Access-Control-Request-Method", "POST"},
                                 {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(preflight.status, 204) << "[a preflight needs no token] " << preflight.body;
  EXPECT_EQ(preflight.Header("access-control-allow-origin"), "https://ops.example.com");
  EXPECT_NE(preflight.Header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(preflight.Header("access-control-allow-headers").find("Authorization"),
            std::string::npos);
  HttpResponse foreign = Send("OPTIONS", "/api/v1/machines/request",
                              {{"Origin", "https://evil.example.com"},
                               {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(foreign.Header("access-control-allow-origin"), "");
  EXPECT_EQ(foreign.Header("access-control-allow-methods"), "");
}

TEST_F(ApiAuthTest, CorsIsOffUnlessConfigured) {
  WriteKeys();
  Start();
  auto h = Bearer(kViewerKey);
  h.push_back({"Origin", "https://ops.example.com"});
  HttpResponse r = Send("GET", "/api/v1/templates", h);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("access-control-allow-origin"), "");
}

TEST_F(ApiAuthTest, EveryMutatingCallIsAuditedAndNoReadIs) {
  WriteKeys();
  Start();
  EXPECT_EQ(GetAs(kViewerKey).status, 200);
  EXPECT_EQ(GetAs(kOperatorKey, "/api/v1/requests").status, 200);
  HttpResponse created = Send("POST", "/api/v1/machines/request", Bearer(kOperatorKey),
                              R"({"template_id":"OnDemand-Micro","count":1})");
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = Body(created).value("request_id", "");
  EXPECT_EQ(created.Header("location"), "/api/v1/requests/" + id);
  ExpectError(RequestAs(kViewerKey), 403, "needs operator");
  ExpectError(Send("POST", "/api/v1/machines/return", {}, R"({"machine_ids":["i-1"]})"), 401,
              "missing bearer token");

  struct stat st {};
  ASSERT_EQ(::stat(audit_file_.c_str(), &st), 0) << "[the audit log exists]";
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "[the audit log is private]";
  std::vector<json> lines;
  std::istringstream in(ReadWholeFile(audit_file_));
  for (std::string line; std::getline(in, line);) {
    lines.push_back(json::parse(line, nullptr, false));
    ASSERT_TRUE(lines.back().is_object()) << "[each line is one JSON object] " << line;
  }
  ASSERT_EQ(lines.size(), 3u) << "[the three mutating calls, no read] " << ReadWholeFile(audit_file_);
  EXPECT_EQ(lines[0].value("principal", ""), "key:ci-bot");
  EXPECT_EQ(lines[0].value("role", ""), "operator");
  EXPECT_EQ(lines[0].value("method", ""), "POST");
  EXPECT_EQ(lines[0].value("path", ""), "/api/v1/machines/request");
  EXPECT_EQ(lines[0].value("status", 0), 202);
  EXPECT_EQ(lines[0].value("request_id", ""), id);
  EXPECT_EQ(lines[0].value("remote", ""), "127.0.0.1");
  EXPECT_TRUE(lines[0].contains("duration_ms"));
  EXPECT_EQ(lines[0].value("time", "").back(), 'Z') << "[UTC]";
  EXPECT_EQ(lines[1].value("principal", ""), "key:dashboard");
  EXPECT_EQ(lines[1].value("status", 0), 403);
  EXPECT_EQ(lines[2].value("principal", ""), "-");
  EXPECT_EQ(lines[2].value("status", 0), 401);
  EXPECT_EQ(lines[2].value("path", ""), "/api/v1/machines/return");

  const std::string all = EverythingWritten();
  for (const char* key : {kViewerKey, kOperatorKey}) {
    EXPECT_EQ(all.find(key), std::string::npos) << "[no key in the log or the audit file]";
  }
}

TEST_F(ApiAuthTest, WithoutCredentialsLoopbackServesEveryoneAsBefore) {
  Start("127.0.0.1");
  EXPECT_EQ(Send("GET", "/api/v1/templates").status, 200);
  ExpectError(Send("POST", "/api/v1/machines/request", {}, R"({"template_id":"No-Such","count":1})"),
              404, "No-Such");
  std::string audit = ReadWholeFile(audit_file_);
  EXPECT_NE(audit.find("\"principal\":\"anonymous\""), std::string::npos) << audit;
}

}  // namespace
}  // namespace orb::testing
