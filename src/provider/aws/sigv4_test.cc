#include "provider/aws/sigv4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/strings.h"
#include "provider/aws/credentials.h"

namespace orb {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSuiteDir[] = ORB_TEST_DATA_DIR "/aws-sigv4-test-suite";
constexpr char kAccessKey[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr EpochSeconds kSuiteTime = 1440938160;  // 2015-08-30T12:36:00Z

Credentials TestCredentials(std::string token = "") {
  Credentials credentials;
  credentials.access_key_id = kAccessKey;
  credentials.secret_access_key = kSecret;
  credentials.session_token = std::move(token);
  return credentials;
}

// Every value of the headers called `name` (any case), in order.
std::vector<std::string> HeaderValues(const HttpRequest& request, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : request.headers) {
    if (ToLower(n) == ToLower(name)) values.push_back(v);
  }
  return values;
}

// The secret key appears nowhere the signer puts text.
void ExpectNoSecret(const SigV4Parts& parts, const HttpRequest& request) {
  EXPECT_THAT(parts.canonical_request, Not(HasSubstr(kSecret)));
  EXPECT_THAT(parts.string_to_sign, Not(HasSubstr(kSecret)));
  EXPECT_THAT(parts.signature, Not(HasSubstr(kSecret)));
  EXPECT_THAT(parts.authorization, Not(HasSubstr(kSecret)));
  for (const auto& [name, value] : request.headers) {
    EXPECT_THAT(value, Not(HasSubstr(kSecret))) << "header " << name;
  }
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ADD_FAILURE() << "cannot read " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A raw HTTP request of the test suite: "METHOD target HTTP/1.1", header lines
// ("Name:value", continuation lines starting with white space), a blank line, the body.
struct RawRequest {
  std::string method;
  std::string target;  // path and query, as written (may hold spaces and UTF-8)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

RawRequest ParseRawRequest(const std::string& text) {
  RawRequest raw;
  std::string head = text;
  if (const size_t blank = text.find("\n\n"); blank != std::string::npos) {
    head = text.substr(0, blank);
    raw.body = text.substr(blank + 2);
  }
  std::istringstream lines(head);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first) {
      first = false;
      const size_t method_end = line.find(' ');
      const size_t version_start = line.rfind(' ');
      raw.method = line.substr(0, method_end);
      raw.target = line.substr(method_end + 1, version_start - method_end - 1);
    } else if (line.empty()) {
      continue;
    } else if ((line[0] == ' ' || line[0] == '\t') && !raw.headers.empty()) {
      raw.headers.back().second += "\n" + line;  // a folded value: the signer unfolds it
    } else {
      const size_t colon = line.find(':');
      raw.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
  }
  return raw;
}

// Headers as a sorted list of (lower-case name, value), to compare regardless of order.
std::vector<std::pair<std::string, std::string>> SortedHeaders(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : headers) out.emplace_back(ToLower(name), value);
  std::sort(out.begin(), out.end());
  return out;
}

EpochSeconds ParseTimestamp(const std::string& iso) {
  std::tm tm{};
  std::istringstream in(iso);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  EXPECT_FALSE(in.fail()) << "bad timestamp " << iso;
  return static_cast<EpochSeconds>(timegm(&tm));
}

// One case directory of AWS's SigV4 test suite.
struct SuiteCase {
  std::string name;  // relative to the suite, e.g. "get-vanilla"
  fs::path dir;
};

void PrintTo(const SuiteCase& c, std::ostream* os) { *os << c.name; }

// Every directory under the suite holding a request.txt, at any depth, sorted.
std::vector<SuiteCase> ListSuiteCases() {
  std::vector<SuiteCase> cases;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(kSuiteDir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory() && fs::exists(it->path() / "request.txt")) {
      cases.push_back({fs::relative(it->path(), kSuiteDir).generic_string(), it->path()});
    }
  }
  std::sort(cases.begin(), cases.end(),
            [](const SuiteCase& a, const SuiteCase& b) { return a.name < b.name; });
  return cases;
}

std::string CaseTestName(const ::testing::TestParamInfo<SuiteCase>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

TEST(SigV4SuiteFiles, HoldEveryCaseOfTheSuite) {
  const std::vector<SuiteCase> cases = ListSuiteCases();
  EXPECT_GE(cases.size(), 38u) << "AWS's SigV4 test suite is missing or incomplete in "
                               << kSuiteDir;
  for (const SuiteCase& c : cases) {
    for (const char* file :
         {"context.json", "header-canonical-request.txt", "header-string-to-sign.txt",
          "header-signature.txt", "header-signed-request.txt"}) {
      EXPECT_TRUE(fs::exists(c.dir / file)) << c.name << " lacks " << file;
    }
  }
}

class SigV4Suite : public ::testing::TestWithParam<SuiteCase> {};

// Signs the case's request.txt with its context.json (header signing) and compares
// every intermediate result with AWS's expected files.
TEST_P(SigV4Suite, SignsLikeAws) {
  const SuiteCase& c = GetParam();
  const nlohmann::json context = nlohmann::json::parse(ReadFile(c.dir / "context.json"));
  Credentials credentials;
  credentials.access_key_id = context.at("credentials").at("access_key_id");
  credentials.secret_access_key = context.at("credentials").at("secret_access_key");
  credentials.session_token = context.at("credentials").value("token", "");
  ASSERT_EQ(credentials.access_key_id, kAccessKey);
  ASSERT_EQ(credentials.secret_access_key, kSecret);
  SigV4Options options;
  options.normalize_path = context.value("normalize", true);
  options.add_content_sha256 = context.value("sign_body", false);
  options.sign_session_token = !context.value("omit_session_token", false);
  const EpochSeconds now = ParseTimestamp(context.at("timestamp"));
  ASSERT_EQ(now, kSuiteTime);

  const RawRequest raw = ParseRawRequest(ReadFile(c.dir / "request.txt"));
  HttpRequest request;
  request.method = raw.method;
  request.headers = raw.headers;
  request.body = raw.body;
  std::string host;
  for (const auto& [name, value] : raw.headers) {
    if (ToLower(name) == "host") host = std::string(Trim(value));
  }
  ASSERT_FALSE(host.empty()) << "request.txt has no Host header";
  request.url = "https://" + host + raw.target;

  const SigV4Parts parts = SignV4(request, credentials, context.at("region").get<std::string>(),
                                  context.at("service").get<std::string>(), now, options);

  EXPECT_EQ(parts.canonical_request, ReadFile(c.dir / "header-canonical-request.txt"));
  EXPECT_EQ(parts.string_to_sign, ReadFile(c.dir / "header-string-to-sign.txt"));
  EXPECT_EQ(parts.signature, ReadFile(c.dir / "header-signature.txt"));
  const RawRequest expected = ParseRawRequest(ReadFile(c.dir / "header-signed-request.txt"));
  std::string expected_authorization;
  for (const auto& [name, value] : expected.headers) {
    if (name == "Authorization") expected_authorization = value;
  }
  EXPECT_EQ(parts.authorization, expected_authorization);
  // The signed request carries exactly the headers AWS's does.
  EXPECT_EQ(SortedHeaders(request.headers), SortedHeaders(expected.headers));
  EXPECT_EQ(request.body, expected.body);
  ExpectNoSecret(parts, request);
}

INSTANTIATE_TEST_SUITE_P(SigV4, SigV4Suite, ::testing::ValuesIn(ListSuiteCases()), CaseTestName);

TEST(SigV4UriEncode, KeepsUnreservedCharacters) {
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
  EXPECT_EQ(UriEncode(unreserved), unreserved);
  EXPECT_EQ(UriEncode(""), "");
}

TEST(SigV4UriEncode, EncodesEveryOtherByteInUpperCaseHex) {
  EXPECT_EQ(UriEncode(" "), "%20");
  EXPECT_EQ(UriEncode("a+b=c&d"), "a%2Bb%3Dc%26d");
  EXPECT_EQ(UriEncode("*%:@!'()"), "%2A%25%3A%40%21%27%28%29");
  EXPECT_EQ(UriEncode("tag:Name"), "tag%3AName");
  EXPECT_EQ(UriEncode("\xc3\xa9\xe1\x88\xb4"), "%C3%A9%E1%88%B4");  // é, U+1234
  EXPECT_EQ(UriEncode(std::string_view("\0\x7f\xff", 3)), "%00%7F%FF");
  EXPECT_EQ(UriEncode("%20"), "%2520");  // encoding is not idempotent: no double decoding
}

TEST(SigV4UriEncode, KeepSlashKeepsSlashesOnly) {
  EXPECT_EQ(UriEncode("/a b/c+d/"), "%2Fa%20b%2Fc%2Bd%2F");
  EXPECT_EQ(UriEncode("/a b/c+d/", /*keep_slash=*/true), "/a%20b/c%2Bd/");
}

TEST(SigV4Sha256, HexDigestsOfKnownInputs) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string(1000, 'a')).size(), 64u);
}

// Expected values below were computed independently with botocore 1.43's SigV4Auth
// for the same request, credentials and time.

TEST(SigV4, JsonProtocolPostSignsTheBody) {
  HttpRequest request;
  request.method = "POST";
  request.url = "https://dynamodb.us-east-1.amazonaws.com/";
  request.headers = {{"Content-Type", "application/x-amz-json-1.0"},
                     {"X-Amz-Target", "DynamoDB_20120810.ListTables"}};
  request.body = R"({"Limit":10})";
  const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "dynamodb", kSuiteTime);
  EXPECT_EQ(parts.canonical_request,
            "POST\n/\n\n"
            "content-type:application/x-amz-json-1.0\n"
            "host:dynamodb.us-east-1.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n"
            "x-amz-target:DynamoDB_20120810.ListTables\n\n"
            "content-type;host;x-amz-date;x-amz-target\n" +
                Sha256Hex(request.body));
  EXPECT_EQ(parts.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature=11041d969631ff3f1d1f8d3b5fac1fe918edd3847f40dcc4423df1f26416af70");
  EXPECT_EQ(HeaderValues(request, "Authorization"), std::vector<std::string>{parts.authorization});
  EXPECT_EQ(HeaderValues(request, "Host"),
            std::vector<std::string>{"dynamodb.us-east-1.amazonaws.com"});
  EXPECT_EQ(HeaderValues(request, "X-Amz-Date"), std::vector<std::string>{"20150830T123600Z"});
  EXPECT_EQ(request.body, R"({"Limit":10})");  // sent as given
  ExpectNoSecret(parts, request);

  // Another body, another signature.
  HttpRequest other = request;
  other.headers.resize(2);
  other.body = R"({"Limit":11})";
  EXPECT_NE(SignV4(other, TestCredentials(), "us-east-1", "dynamodb", kSuiteTime).signature,
            parts.signature);
}

TEST(SigV4, QueryGetWithSessionTokenOnNonDefaultPort) {
  HttpRequest request;
  request.url =
      "http://127.0.0.1:5000/?Version=2016-11-15&Action=DescribeInstances&"
      "Filter.1.Name=tag%3AName";
  const SigV4Parts parts = SignV4(request, TestCredentials("FQoGZXIvYXdzEXAMPLETOKEN/+="),
                                  "us-east-1", "ec2", kSuiteTime);
  EXPECT_EQ(parts.canonical_request,
            "GET\n/\nAction=DescribeInstances&Filter.1.Name=tag%3AName&Version=2016-11-15\n"
            "host:127.0.0.1:5000\n"
            "x-amz-date:20150830T123600Z\n"
            "x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN/+=\n\n"
            "host;x-amz-date;x-amz-security-token\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(parts.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-security-token, "
            "Signature=8baa3d1e69da02e539d79fa030dfa64f517d0f27ecc1bd84d323e633d53dd9c2");
  EXPECT_EQ(HeaderValues(request, "Host"), std::vector<std::string>{"127.0.0.1:5000"});
  EXPECT_EQ(HeaderValues(request, "X-Amz-Security-Token"),
            std::vector<std::string>{"FQoGZXIvYXdzEXAMPLETOKEN/+="});
  EXPECT_THAT(parts.authorization, Not(HasSubstr("FQoGZXIvYXdzEXAMPLETOKEN")));
  ExpectNoSecret(parts, request);
}

TEST(SigV4, HostCarriesThePortOnlyWhenNotTheDefault) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://ec2.us-east-1.amazonaws.com/", "ec2.us-east-1.amazonaws.com"},
      {"https://ec2.us-east-1.amazonaws.com:443/", "ec2.us-east-1.amazonaws.com"},
      {"http://localhost:80/", "localhost"},
      {"HTTP://localhost:80", "localhost"},
      {"https://localhost:80/", "localhost:80"},
      {"http://localhost:443/", "localhost:443"},
      {"https://vpce.example:8443?a=b", "vpce.example:8443"},
      {"http://[::1]:5000/", "[::1]:5000"},
      {"https://[::1]/", "[::1]"},
      {"https://[::1]:443/", "[::1]"},
      {"http://user:pw@proxy.example:3128/", "proxy.example:3128"},
  };
  for (const auto& [url, host] : cases) {
    SCOPED_TRACE(url);
    HttpRequest request;
    request.url = url;
    const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "ec2", kSuiteTime);
    EXPECT_EQ(HeaderValues(request, "Host"), std::vector<std::string>{host});
    EXPECT_THAT(parts.canonical_request, HasSubstr("\nhost:" + host + "\n"));
  }
}

TEST(SigV4, KeepsAHostHeaderTheCallerSet) {
  HttpRequest request;
  request.url = "http://127.0.0.1:5000/";
  request.headers = {{"host", "ec2.us-east-1.amazonaws.com"}};
  const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "ec2", kSuiteTime);
  EXPECT_EQ(HeaderValues(request, "Host"), std::vector<std::string>{"ec2.us-east-1.amazonaws.com"});
  EXPECT_THAT(parts.canonical_request, HasSubstr("\nhost:ec2.us-east-1.amazonaws.com\n"));
}

TEST(SigV4, NormalisesThePathAndEncodesItAgain) {
  HttpRequest request;
  request.url = "https://example.amazonaws.com/a%20b/./c//d/../e";
  const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "service", kSuiteTime);
  EXPECT_THAT(parts.canonical_request, ::testing::StartsWith("GET\n/a%2520b/c/e\n\n"));
  EXPECT_EQ(parts.signature, "37036ee0871a1c29cb186ea1d259b6be3f380d54a1b90b7b6ddf68675d694969");
  EXPECT_EQ(request.url, "https://example.amazonaws.com/a%20b/./c//d/../e");  // unchanged

  const std::vector<std::pair<std::string, std::string>> paths = {
      {"https://h", "/"},           {"https://h/", "/"},        {"https://h/a/b/..", "/a/"},
      {"https://h/a/b/.", "/a/b/"}, {"https://h/../a", "/a"},   {"https://h/a/", "/a/"},
      {"https://h/a//b", "/a/b"},   {"https://h/a#frag", "/a"}, {"https://h/~a-b_c.d", "/~a-b_c.d"},
  };
  for (const auto& [url, canonical_uri] : paths) {
    SCOPED_TRACE(url);
    HttpRequest r;
    r.url = url;
    EXPECT_THAT(SignV4(r, TestCredentials(), "us-east-1", "service", kSuiteTime).canonical_request,
                ::testing::StartsWith("GET\n" + canonical_uri + "\n"));
  }

  SigV4Options raw_path;
  raw_path.normalize_path = false;
  HttpRequest r;
  r.url = "https://h/a/./b//c/../d e";
  EXPECT_THAT(
      SignV4(r, TestCredentials(), "us-east-1", "service", kSuiteTime, raw_path).canonical_request,
      ::testing::StartsWith("GET\n/a/./b//c/../d%20e\n"));
}

TEST(SigV4, CanonicalQueryIsDecodedReencodedAndSorted) {
  HttpRequest request;
  request.url = "https://h/?b=2&a=2&a=1&c&d=&&e=%7e&f=a+b&g=%zz&%E1%88%B4=%2F#x=y";
  const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "service", kSuiteTime);
  EXPECT_THAT(
      parts.canonical_request,
      ::testing::StartsWith("GET\n/\n%E1%88%B4=%2F&a=1&a=2&b=2&c=&d=&e=~&f=a%2Bb&g=%25zz\n"));
}

TEST(SigV4, UsesTheRequestsOwnDate) {
  HttpRequest request;
  request.url = "https://h/";
  request.headers = {{"x-amz-date", "20200101T000000Z"}};
  const SigV4Parts parts = SignV4(request, TestCredentials(), "eu-west-1", "sts", kSuiteTime);
  EXPECT_THAT(parts.string_to_sign,
              ::testing::StartsWith(
                  "AWS4-HMAC-SHA256\n20200101T000000Z\n20200101/eu-west-1/sts/aws4_request\n"));
  EXPECT_EQ(HeaderValues(request, "X-Amz-Date"), std::vector<std::string>{"20200101T000000Z"});

  HttpRequest bad;
  bad.url = "https://h/";
  bad.headers = {{"X-Amz-Date", "2020-01-01T00:00:00Z"}};
  EXPECT_THROW(SignV4(bad, TestCredentials(), "eu-west-1", "sts", kSuiteTime), Error);
}

TEST(SigV4, FormatsNowAsTheAmzDate) {
  HttpRequest request;
  request.url = "https://h/";
  // 2024-02-29T23:59:59Z: a leap day, the last second of it.
  const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "ec2", 1709251199);
  EXPECT_EQ(HeaderValues(request, "X-Amz-Date"), std::vector<std::string>{"20240229T235959Z"});
  EXPECT_THAT(parts.authorization, HasSubstr("Credential=AKIDEXAMPLE/20240229/us-east-1/ec2/"));
}

TEST(SigV4, SigningAgainReplacesTheAuthorization) {
  HttpRequest request;
  request.method = "POST";
  request.url = "https://ec2.us-east-1.amazonaws.com/";
  request.body = "Action=DescribeRegions&Version=2016-11-15";
  const SigV4Parts first =
      SignV4(request, TestCredentials("token1"), "us-east-1", "ec2", kSuiteTime);
  const SigV4Parts second =
      SignV4(request, TestCredentials("token1"), "us-east-1", "ec2", kSuiteTime);
  EXPECT_EQ(second.signature, first.signature);  // Authorization itself is never signed
  EXPECT_EQ(HeaderValues(request, "Authorization").size(), 1u);
  EXPECT_EQ(HeaderValues(request, "X-Amz-Security-Token"), std::vector<std::string>{"token1"});
  EXPECT_EQ(HeaderValues(request, "X-Amz-Date").size(), 1u);
  EXPECT_EQ(HeaderValues(request, "Host").size(), 1u);

  // Fresh credentials replace the old token, not add a second one.
  const SigV4Parts third =
      SignV4(request, TestCredentials("token2"), "us-east-1", "ec2", kSuiteTime);
  EXPECT_EQ(HeaderValues(request, "X-Amz-Security-Token"), std::vector<std::string>{"token2"});
  EXPECT_NE(third.signature, first.signature);
}

TEST(SigV4, SessionTokenCanBeAddedUnsigned) {
  SigV4Options options;
  options.sign_session_token = false;
  HttpRequest request;
  request.url = "https://h/";
  request.headers = {{"X-Amz-Security-Token", "stale"}};
  const SigV4Parts parts =
      SignV4(request, TestCredentials("fresh"), "us-east-1", "service", kSuiteTime, options);
  EXPECT_THAT(parts.authorization, HasSubstr("SignedHeaders=host;x-amz-date,"));
  EXPECT_THAT(parts.canonical_request, Not(HasSubstr("fresh")));
  EXPECT_EQ(HeaderValues(request, "X-Amz-Security-Token"), std::vector<std::string>{"fresh"});
}

TEST(SigV4, LeavesMutableHeadersUnsigned) {
  HttpRequest request;
  request.url = "https://h/";
  request.headers = {
      {"User-Agent", "orb/0.1"},     {"X-Amzn-Trace-Id", "Root=1"},    {"Expect", ""},
      {"Connection", "keep-alive"},  {"Transfer-Encoding", "chunked"}, {"Authorization", "old"},
      {"Content-Type", "text/plain"}};
  const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "service", kSuiteTime);
  EXPECT_THAT(parts.authorization, HasSubstr("SignedHeaders=content-type;host;x-amz-date,"));
  EXPECT_EQ(HeaderValues(request, "User-Agent"), std::vector<std::string>{"orb/0.1"});
  EXPECT_EQ(HeaderValues(request, "Authorization"), std::vector<std::string>{parts.authorization});
}

TEST(SigV4, UsesAGivenPayloadHash) {
  HttpRequest request;
  request.method = "PUT";
  request.url = "https://h/";
  request.headers = {{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}};
  request.body = "data";
  const SigV4Parts parts = SignV4(request, TestCredentials(), "us-east-1", "service", kSuiteTime);
  EXPECT_THAT(parts.canonical_request, ::testing::EndsWith("\nUNSIGNED-PAYLOAD"));
  EXPECT_THAT(parts.canonical_request, HasSubstr("\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
}

TEST(SigV4, RejectsIncompleteSettingsWithoutLeakingTheSecret) {
  HttpRequest request;
  request.url = "https://h/";
  Credentials no_key = TestCredentials();
  no_key.access_key_id.clear();
  no_key.source = "environment";
  try {
    SignV4(request, no_key, "us-east-1", "ec2", kSuiteTime);
    ADD_FAILURE() << "signed without an access key id";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_THAT(e.what(), HasSubstr("environment"));
    EXPECT_THAT(e.what(), Not(HasSubstr(kSecret)));
  }
  Credentials no_secret = TestCredentials();
  no_secret.secret_access_key.clear();
  EXPECT_THROW(SignV4(request, no_secret, "us-east-1", "ec2", kSuiteTime), Error);
  try {
    SignV4(request, TestCredentials(), "", "ec2", kSuiteTime);
    ADD_FAILURE() << "signed without a region";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_THAT(e.what(), HasSubstr("region"));
  }
  HttpRequest relative;
  relative.url = "/path";
  EXPECT_THROW(SignV4(relative, TestCredentials(), "us-east-1", "ec2", kSuiteTime), Error);
}

}  // namespace
}  // namespace orb
