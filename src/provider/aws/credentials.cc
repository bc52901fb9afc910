#include "provider/aws/credentials.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/strings.h"
#include "provider/aws/aws_client.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/aws_ini.h"
#include "provider/aws/http_client.h"
#include "provider/aws/sigv4.h"

namespace orb {
namespace {

// Temporary credentials are refreshed when they expire within this margin.
constexpr int kRefreshMarginSeconds = 300;
constexpr const char* kDefaultImdsEndpoint = "http://169.254.169.254";
constexpr const char* kEcsHost = "http://169.254.170.2";
constexpr const char* kImdsTokenTtlSeconds = "21600";

// ---------------------------------------------------------------------------
// Small helpers.

// Reads variables from the given map, or from the process environment.
class Env {
 public:
  explicit Env(std::optional<std::map<std::string, std::string>> vars) : vars_(std::move(vars)) {}

  // The variable's value, or "" when unset.
  std::string Get(const std::string& name) const {
    if (vars_) {
      auto it = vars_->find(name);
      return it == vars_->end() ? "" : it->second;
    }
    const char* v = std::getenv(name.c_str());
    return v == nullptr ? "" : v;
  }

  // The home directory: $HOME, else (process environment only) the passwd entry.
  std::string Home() const {
    std::string home = Get("HOME");
    if (!home.empty() || vars_) return home;
    struct passwd pw {};
    struct passwd* found = nullptr;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr &&
        found->pw_dir != nullptr) {
      return found->pw_dir;
    }
    return "";
  }

 private:
  std::optional<std::map<std::string, std::string>> vars_;
};

// Replaces every occurrence of each secret in `text` by "<redacted>". Used on every
// text that comes from elsewhere (STS, ECS, IMDS answers) before it goes into a
// message, in case it echoes a key or token.
std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  static constexpr std::string_view kMarker = "<redacted>";
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    // The search goes on after the marker just put in (which may hold the secret).
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + kMarker.size())) {
      text.replace(at, secret.size(), kMarker);
    }
  }
  return text;
}

// Parses "2026-11-27T03:04:05Z", with optional fractional seconds and a "Z" or
// "+hh:mm" / "-hhmm" offset. Returns nullopt when malformed.
std::optional<EpochSeconds> ParseIso8601(std::string_view text) {
  std::string s(Trim(text));
  int year, month, day, hour, minute, second, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &used) != 6 ||
      used == 0) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t i = static_cast<std::size_t>(used);
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  long offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    std::string digits;
    for (++i; i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == ':');
         ++i) {
      if (s[i] != ':') digits.push_back(s[i]);
    }
    if (digits.size() != 4) return std::nullopt;
    offset = sign * (std::stol(digits.substr(0, 2)) * 3600 + std::stol(digits.substr(2)) * 60);
  }
  if (i != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<EpochSeconds>(timegm(&tm)) - offset;
}

// Reads a small file (token files). Throws Error(kInvalidConfig) naming `what`.
std::string ReadSmallFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::kInvalidConfig, what + ": cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::string(Trim(text.str()));
}

std::string ExpandHome(const std::string& path, const Env& env) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    std::string home = env.Home();
    if (!home.empty()) return home + path.substr(1);
  }
  return path;
}

std::string WithoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// "http://host:port" of a URL, without its path and query (which may carry a
// credential-bearing id), for messages.
std::string Origin(const std::string& url) {
  std::size_t scheme = url.find("://");
  std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  std::size_t end = url.find_first_of("/?#", start);
  return end == std::string::npos ? url : url.substr(0, end);
}

// Throws Error(kInvalidConfig) unless `value` is a whole number in [lo, hi].
int ParseBoundedInt(const std::string& value, int lo, int hi, const std::string& what) {
  int n = 0;
  std::size_t used = 0;
  try {
    n = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || n < lo || n > hi) {
    throw Error(ErrorCode::kInvalidConfig, what + " must be a whole number from " +
                                               std::to_string(lo) + " to " + std::to_string(hi) +
                                               ", not '" + value + "'");
  }
  return n;
}

bool IsTrue(const std::string& value) { return ToLower(Trim(value)) == "true"; }

// The answer of one source: credentials, or why the source did not apply.
struct Attempt {
  std::optional<Credentials> credentials;
  std::string skipped;  // "<source>: <reason>" when `credentials` is empty

  static Attempt Got(Credentials c) { return Attempt{std::move(c), ""}; }
  static Attempt Skip(std::string why) { return Attempt{std::nullopt, std::move(why)}; }
};

// What AssumeRole / AssumeRoleWithWebIdentity need besides the source.
struct RoleRequest {
  std::string role_arn;
  std::string session_name;  // "" = orb-<epoch>
  std::string external_id;
  std::string duration_seconds;  // "" = STS's default
  std::string who;               // for messages: "profile 'prod'", "web identity (...)"
};

// ---------------------------------------------------------------------------
// The fetchers: everything the chain's sources need, sharing the options.

class Fetchers {
 public:
  explicit Fetchers(CredentialsOptions options)
      : options_(std::move(options)), env_(options_.environment) {
    http_ = options_.http ? options_.http : std::make_shared<HttpClient>(HttpOptions{});
  }

  // --- explicit keys and the environment --------------------------------

  Attempt Explicit() const {
    const auto& o = options_;
    if (o.access_key_id.empty() && o.secret_access_key.empty()) {
      return Attempt::Skip("orb config: aws.access_key_id not set");
    }
    if (o.access_key_id.empty() || o.secret_access_key.empty()) {
      throw Error(ErrorCode::kInvalidConfig,
                  "the orb config sets only one of aws.access_key_id and "
                  "aws.secret_access_key; set both or neither");
    }
    Credentials c;
    c.access_key_id = o.access_key_id;
    c.secret_access_key = o.secret_access_key;
    c.session_token = o.session_token;
    c.source = "orb config (aws.access_key_id)";
    return Attempt::Got(std::move(c));
  }

  // `as_credential_source`: asked by a profile's credential_source = Environment.
  Attempt Environment(bool as_credential_source = false) const {
    std::string id = env_.Get("AWS_ACCESS_KEY_ID");
    std::string secret = env_.Get("AWS_SECRET_ACCESS_KEY");
    if (id.empty() && secret.empty()) {
      return Attempt::Skip("environment: AWS_ACCESS_KEY_ID not set");
    }
    // A profile named in the orb config is an explicit choice, like the AWS CLI's
    // --profile: keys left in the environment must not silently override it (and a
    // profile's credential_source = Environment could never be reached otherwise).
    if (!options_.profile.empty() && !as_credential_source) {
      return Attempt::Skip("environment: not used because aws.profile ('" + options_.profile +
                           "') is set");
    }
    if (id.empty() || secret.empty()) {
      throw Error(ErrorCode::kInvalidConfig,
                  std::string("the environment sets ") +
                      (id.empty() ? "AWS_SECRET_ACCESS_KEY but not AWS_ACCESS_KEY_ID"
                                  : "AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY") +
                      "; set both or neither");
    }
    Credentials c;
    c.access_key_id = id;
    c.secret_access_key = secret;
    c.session_token = env_.Get("AWS_SESSION_TOKEN");
    c.source = "environment (AWS_ACCESS_KEY_ID)";
    return Attempt::Got(std::move(c));
  }

  // --- shared files -----------------------------------------------------

  std::string ProfileName() const {
    if (!options_.profile.empty()) return options_.profile;
    std::string env_profile = env_.Get("AWS_PROFILE");
    return env_profile.empty() ? "default" : env_profile;
  }

  AwsSharedFiles LoadFiles() const {
    std::string home = env_.Home();
    std::string credentials = env_.Get("AWS_SHARED_CREDENTIALS_FILE");
    if (credentials.empty()) credentials = options_.credential_file;
    if (credentials.empty() && !home.empty()) credentials = home + "/.aws/credentials";
    std::string config = env_.Get("AWS_CONFIG_FILE");
    if (config.empty() && !home.empty()) config = home + "/.aws/config";
    return AwsSharedFiles::Load(ExpandHome(credentials, env_), ExpandHome(config, env_));
  }

  static std::string FilesNamed(const AwsSharedFiles& files) {
    std::vector<std::string> names;
    if (!files.credentials_path.empty()) names.push_back(files.credentials_path);
    if (!files.config_path.empty()) names.push_back(files.config_path);
    return Join(names, ", ");
  }

  Attempt Profile() const {
    std::string name = ProfileName();
    AwsSharedFiles files = LoadFiles();
    if (files.credentials_path.empty() && files.config_path.empty()) {
      return Attempt::Skip("profile '" + name + "': HOME is not set, so there are no shared files");
    }
    std::string where = "profile '" + name + "' in " + FilesNamed(files);
    if (!files.credentials && !files.config) {
      return Attempt::Skip(where + ": no such files");
    }
    AwsProfile profile = files.Profile(name);
    if (!profile.found) return Attempt::Skip(where + ": no such profile");
    std::optional<Credentials> c = ResolveProfile(files, name, {name});
    if (!c) return Attempt::Skip(where + ": no credentials in it");
    return Attempt::Got(std::move(*c));
  }

  // The credentials of profile `name`; nullopt when it holds no credential
  // settings at all. Throws when the profile is configured but broken. `chain`
  // holds the profiles visited so far (cycle detection).
  std::optional<Credentials> ResolveProfile(const AwsSharedFiles& files, const std::string& name,
                                            std::vector<std::string> chain) const {
    AwsProfile p = files.Profile(name);
    std::string who = "profile '" + name + "'";
    if (!p.found) {
      std::string referrer = chain.size() >= 2 ? chain[chain.size() - 2] : name;
      throw Error(ErrorCode::kInvalidConfig, who + " (source_profile of profile '" + referrer +
                                                 "') not found in " + FilesNamed(files));
    }
    if (p.Has("role_arn")) {
      RoleRequest role;
      role.role_arn = p.Get("role_arn");
      role.session_name = p.Get("role_session_name");
      role.external_id = p.Get("external_id");
      role.duration_seconds = p.Get("duration_seconds");
      role.who = who;
      std::string region = StsRegion(p);
      if (p.Has("web_identity_token_file")) {
        std::string token_file = ExpandHome(p.Get("web_identity_token_file"), env_);
        Credentials c = AssumeRoleWithWebIdentity(role, token_file, region);
        c.source = "profile " + name + " (web identity, role " + role.role_arn + ")";
        return c;
      }
      bool has_source_profile = p.Has("source_profile");
      bool has_credential_source = p.Has("credential_source");
      if (has_source_profile && has_credential_source) {
        throw Error(ErrorCode::kInvalidConfig,
                    who + " sets both source_profile and credential_source; keep one");
      }
      if (!has_source_profile && !has_credential_source) {
        throw Error(ErrorCode::kInvalidConfig,
                    who +
                        " sets role_arn without source_profile, credential_source or "
                        "web_identity_token_file, so orb has nothing to assume the role with");
      }
      if (p.Has("mfa_serial")) {
        throw Error(ErrorCode::kInvalidConfig,
                    who +
                        " requires an MFA code (mfa_serial), which orb cannot prompt for; "
                        "use a profile without MFA for the broker");
      }
      Credentials source;
      if (has_source_profile) {
        std::string source_name = p.Get("source_profile");
        if (source_name == name) {
          // A profile may name itself to use its own static keys for the role.
          std::optional<Credentials> own = StaticKeys(p, who);
          if (!own) {
            throw Error(ErrorCode::kInvalidConfig, who +
                                                       " names itself as source_profile but has no "
                                                       "aws_access_key_id / aws_secret_access_key");
          }
          source = *own;
        } else {
          if (std::find(chain.begin(), chain.end(), source_name) != chain.end()) {
            chain.push_back(source_name);
            throw Error(ErrorCode::kInvalidConfig,
                        "profiles form a source_profile cycle: " + Join(chain, " -> "));
          }
          chain.push_back(source_name);
          std::optional<Credentials> from = ResolveProfile(files, source_name, chain);
          if (!from) {
            throw Error(
                ErrorCode::kInvalidConfig,
                "profile '" + source_name + "' (source_profile of " + who + ") has no credentials");
          }
          source = *from;
        }
      } else {
        source = CredentialSource(p.Get("credential_source"), who);
      }
      Credentials c = AssumeRole(source, role, region);
      c.source = "profile " + name + " (role " + role.role_arn + " via " + source.source + ")";
      return c;
    }
    if (std::optional<Credentials> own = StaticKeys(p, who)) return own;
    for (const char* unsupported : {"credential_process", "sso_session", "sso_start_url"}) {
      if (p.Has(unsupported)) {
        throw Error(ErrorCode::kInvalidConfig,
                    who + " uses " + unsupported +
                        ", which orb does not support; give the broker a profile with keys, "
                        "a role, web identity, or run it with an instance profile");
      }
    }
    return std::nullopt;
  }

  // The profile's own aws_access_key_id / aws_secret_access_key, if any.
  std::optional<Credentials> StaticKeys(const AwsProfile& p, const std::string& who) const {
    bool has_id = p.Has("aws_access_key_id"), has_secret = p.Has("aws_secret_access_key");
    if (!has_id && !has_secret) return std::nullopt;
    if (!has_id || !has_secret) {
      throw Error(ErrorCode::kInvalidConfig,
                  who + " sets only one of aws_access_key_id and aws_secret_access_key");
    }
    Credentials c;
    c.access_key_id = p.Get("aws_access_key_id");
    c.secret_access_key = p.Get("aws_secret_access_key");
    c.session_token = p.Get("aws_session_token");
    auto origin = p.origin.find("aws_access_key_id");
    c.source = "profile " + p.name + " (" + origin->second + ")";
    return c;
  }

  // The credentials a profile's credential_source names.
  Credentials CredentialSource(const std::string& kind, const std::string& who) const {
    Attempt a;
    if (kind == "Environment") {
      a = Environment(/*as_credential_source=*/true);
    } else if (kind == "Ec2InstanceMetadata") {
      a = InstanceProfile();
    } else if (kind == "EcsContainer") {
      a = Container();
    } else {
      throw Error(ErrorCode::kInvalidConfig,
                  who + " has credential_source = " + kind +
                      "; use Environment, Ec2InstanceMetadata or EcsContainer");
    }
    if (!a.credentials) {
      throw Error(ErrorCode::kCloud, who + " takes its source credentials from " + kind +
                                         ", which has none: " + a.skipped);
    }
    return *a.credentials;
  }

  // --- STS --------------------------------------------------------------

  // The region STS calls are made in: the option, AWS_REGION, AWS_DEFAULT_REGION,
  // the profile's region, else us-east-1.
  std::string StsRegion(const AwsProfile* profile) const {
    if (!options_.region.empty()) return options_.region;
    for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
      std::string v = env_.Get(var);
      if (!v.empty()) return v;
    }
    if (profile != nullptr && profile->Has("region")) return profile->Get("region");
    return "us-east-1";
  }
  std::string StsRegion(const AwsProfile& profile) const { return StsRegion(&profile); }

  // The STS endpoint override ("" = AWS's regional endpoint).
  std::string StsEndpointOverride() const {
    if (!options_.sts_endpoint.empty()) return WithoutTrailingSlash(options_.sts_endpoint);
    for (const char* var : {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}) {
      std::string v = env_.Get(var);
      if (!v.empty()) return WithoutTrailingSlash(v);
    }
    return "";
  }

  std::string StsEndpoint(const std::string& region) const {
    std::string endpoint = StsEndpointOverride();
    if (!endpoint.empty()) return endpoint;
    std::string suffix = region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
    return "https://sts." + region + suffix;
  }

  static std::string SessionName(const RoleRequest& role) {
    return role.session_name.empty() ? "orb-" + std::to_string(NowSeconds()) : role.session_name;
  }

  // Reads <Credentials> of an AssumeRole / AssumeRoleWithWebIdentity result.
  static Credentials ParseStsCredentials(pugi::xml_node result, const std::string& what) {
    pugi::xml_node node = result.child("Credentials");
    Credentials c;
    c.access_key_id = Trim(node.child_value("AccessKeyId"));
    c.secret_access_key = Trim(node.child_value("SecretAccessKey"));
    c.session_token = Trim(node.child_value("SessionToken"));
    std::optional<EpochSeconds> expiration = ParseIso8601(node.child_value("Expiration"));
    if (c.access_key_id.empty() || c.secret_access_key.empty() || !expiration) {
      throw Error(ErrorCode::kCloud, what + ": STS answered without complete credentials");
    }
    c.expiration = *expiration;
    return c;
  }

  Credentials AssumeRole(const Credentials& source, const RoleRequest& role,
                         const std::string& region) const {
    std::string what = role.who + " (role " + role.role_arn + ")";
    AwsClientOptions client_options;
    client_options.region = region;
    std::string endpoint = StsEndpointOverride();
    if (!endpoint.empty()) client_options.service_endpoints[AwsService::kSts] = endpoint;
    client_options.http = http_->options();
    client_options.max_attempts = 3;
    AwsClient sts(client_options, MakeStaticCredentials(source), http_);
    QueryParams params;
    params.Add("RoleArn", role.role_arn).Add("RoleSessionName", SessionName(role));
    if (!role.external_id.empty()) params.Add("ExternalId", role.external_id);
    if (!role.duration_seconds.empty()) {
      ParseBoundedInt(role.duration_seconds, 900, 43200, role.who + ": duration_seconds");
      params.Add("DurationSeconds", role.duration_seconds);
    }
    std::vector<std::string> secrets = {source.secret_access_key, source.session_token};
    QueryResponse answer;
    try {
      answer = sts.CallQuery(AwsService::kSts, "AssumeRole", params);
    } catch (const AwsError& e) {
      // AwsClient's message reads "STS AssumeRole failed: <code>: <STS's message> (...)".
      throw AwsError(e.aws_code(), what + ": " + Redact(e.what(), secrets), e.request_id(),
                     e.http_status(), e.retryable());
    } catch (const Error& e) {
      throw Error(e.code(), what + ": STS AssumeRole failed: " + Redact(e.what(), secrets));
    }
    return ParseStsCredentials(answer.root().child("AssumeRoleResult"), what);
  }

  // AssumeRoleWithWebIdentity is not signed: a plain form POST to STS.
  Credentials AssumeRoleWithWebIdentity(const RoleRequest& role, const std::string& token_file,
                                        const std::string& region) const {
    std::string what = role.who + " (role " + role.role_arn + ")";
    std::string token = ReadSmallFile(token_file, role.who + ": web identity token file");
    if (token.empty()) {
      throw Error(ErrorCode::kInvalidConfig,
                  role.who + ": web identity token file " + token_file + " is empty");
    }
    std::string body = "Action=AssumeRoleWithWebIdentity&Version=" +
                       std::string(QueryApiVersion(AwsService::kSts)) +
                       "&RoleArn=" + UriEncode(role.role_arn) +
                       "&RoleSessionName=" + UriEncode(SessionName(role)) +
                       "&WebIdentityToken=" + UriEncode(token);
    if (!role.duration_seconds.empty()) {
      ParseBoundedInt(role.duration_seconds, 900, 43200, role.who + ": duration_seconds");
      body += "&DurationSeconds=" + role.duration_seconds;
    }
    HttpRequest request;
    request.method = "POST";
    request.url = StsEndpoint(region) + "/";
    request.SetHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    request.SetHeader("Accept", "text/xml");
    request.body = body;
    std::vector<std::string> secrets = {token};

    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
      HttpResponse response;
      try {
        response = http_->Send(request);
      } catch (const AwsError& e) {
        if (attempt < kAttempts) continue;
        throw AwsError(
            e.aws_code(),
            what + ": STS AssumeRoleWithWebIdentity failed: " + Redact(e.what(), secrets), "", 0,
            true);
      }
      pugi::xml_document doc;
      bool parsed = static_cast<bool>(doc.load_string(response.body.c_str()));
      if (response.status == 200 && parsed) {
        return ParseStsCredentials(doc.document_element().child("AssumeRoleWithWebIdentityResult"),
                                   what);
      }
      pugi::xml_node error = doc.document_element().child("Error");
      std::string code = parsed ? error.child_value("Code") : "";
      std::string message = parsed ? error.child_value("Message") : "";
      std::string request_id = parsed ? doc.document_element().child_value("RequestId") : "";
      // IDPCommunicationError is STS's "the identity provider did not answer": retryable.
      bool retryable =
          response.status >= 500 || code == "IDPCommunicationError" || IsThrottlingCode(code);
      if (retryable && attempt < kAttempts) continue;
      std::string detail =
          (code.empty() ? "" : code + (message.empty() ? "" : ": " + message) + " (") + "HTTP " +
          std::to_string(response.status) +
          (request_id.empty() ? "" : ", request id " + request_id) + (code.empty() ? "" : ")");
      throw AwsError(code.empty() ? "HttpError" : code,
                     what + ": STS AssumeRoleWithWebIdentity failed: " + Redact(detail, secrets),
                     request_id, response.status, retryable);
    }
  }

  Attempt WebIdentityFromEnv() const {
    std::string token_file = env_.Get("AWS_WEB_IDENTITY_TOKEN_FILE");
    std::string role_arn = env_.Get("AWS_ROLE_ARN");
    if (token_file.empty() && role_arn.empty()) {
      return Attempt::Skip("web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set");
    }
    if (token_file.empty() || role_arn.empty()) {
      return Attempt::Skip(std::string("web identity: ") +
                           (token_file.empty() ? "AWS_ROLE_ARN is set but not "
                                                 "AWS_WEB_IDENTITY_TOKEN_FILE"
                                               : "AWS_WEB_IDENTITY_TOKEN_FILE is set but not "
                                                 "AWS_ROLE_ARN"));
    }
    RoleRequest role;
    role.role_arn = role_arn;
    role.session_name = env_.Get("AWS_ROLE_SESSION_NAME");
    role.who = "web identity from AWS_WEB_IDENTITY_TOKEN_FILE";
    Credentials c =
        AssumeRoleWithWebIdentity(role, ExpandHome(token_file, env_), StsRegion(nullptr));
    c.source = "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role " + role_arn + ")";
    return Attempt::Got(std::move(c));
  }

  // --- ECS / EKS container credentials ------------------------------------

  // True when the host of a FULL_URI may serve credentials over plain http:
  // loopback, the ECS task metadata address, the EKS Pod Identity addresses.
  static bool AllowedContainerHost(std::string host) {
    host = ToLower(host);
    if (!host.empty() && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost" || host == "::1" || host == "169.254.170.2" ||
        host == "169.254.170.23" || host == "fd00:ec2::23") {
      return true;
    }
    int a, b, c, d;
    char extra;
    if (std::sscanf(host.c_str(), "%d.%d.%d.%d%c", &a, &b, &c, &d, &extra) == 4) {
      return a == 127 && b >= 0 && b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255;
    }
    return false;
  }

  static std::string HostOf(const std::string& url) {
    std::string origin = Origin(url);
    std::size_t scheme = origin.find("://");
    std::string authority = scheme == std::string::npos ? origin : origin.substr(scheme + 3);
    std::size_t at = authority.rfind('@');
    if (at != std::string::npos) authority = authority.substr(at + 1);
    if (!authority.empty() && authority.front() == '[') {
      std::size_t close = authority.find(']');
      return close == std::string::npos ? authority : authority.substr(0, close + 1);
    }
    return authority.substr(0, authority.find(':'));
  }

  Attempt Container() const {
    std::string relative = env_.Get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    std::string full = env_.Get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    std::string url;
    if (!relative.empty()) {
      url = std::string(kEcsHost) + (relative.front() == '/' ? "" : "/") + relative;
    } else if (!full.empty()) {
      std::string scheme = ToLower(full.substr(0, full.find("://")));
      if (scheme != "https" && scheme != "http") {
        throw Error(ErrorCode::kInvalidConfig,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http or https URL");
      }
      // As in the AWS SDKs: plain http only to a loopback, ECS or EKS address.
      if (scheme == "http" && !AllowedContainerHost(HostOf(full))) {
        throw Error(ErrorCode::kInvalidConfig,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI points at " + HostOf(full) +
                        "; over http it must be a loopback address, the ECS address "
                        "169.254.170.2 or an EKS Pod Identity address (169.254.170.23, "
                        "fd00:ec2::23)");
      }
      url = full;
    } else {
      return Attempt::Skip(
          "container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
          "AWS_CONTAINER_CREDENTIALS_FULL_URI not set");
    }
    std::string what = "container credentials from " + Origin(url);

    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.SetHeader("Accept", "application/json");
    request.timeout_ms = std::max(1L, options_.container_timeout_ms);
    // The ECS/EKS agents listen on link-local or loopback addresses that no proxy
    // reaches; an https FULL_URI elsewhere goes the normal way.
    request.direct = url.rfind("http://", 0) == 0;
    std::string authorization;
    std::string token_file = env_.Get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (!token_file.empty()) {
      authorization = ReadSmallFile(token_file, what + ": AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    } else {
      authorization = std::string(Trim(env_.Get("AWS_CONTAINER_AUTHORIZATION_TOKEN")));
    }
    if (authorization.find_first_of("\r\n") != std::string::npos) {
      throw Error(ErrorCode::kInvalidConfig,
                  what + ": the authorization token contains a line break");
    }
    if (!authorization.empty()) request.SetHeader("Authorization", authorization);
    std::vector<std::string> secrets = {authorization};

    constexpr int kAttempts = 3;
    HttpResponse response;
    for (int attempt = 1;; ++attempt) {
      try {
        response = http_->Send(request);
      } catch (const AwsError&) {
        if (attempt < kAttempts) continue;
        throw Error(ErrorCode::kCloud, what + ": no answer within " +
                                           std::to_string(options_.container_timeout_ms) + " ms (" +
                                           std::to_string(kAttempts) + " attempts)");
      }
      if (response.status >= 500 && attempt < kAttempts) continue;
      break;
    }
    nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    if (response.status != 200) {
      std::string detail;
      if (body.is_object()) {
        for (const char* key : {"code", "Code", "message", "Message"}) {
          if (body.contains(key) && body[key].is_string()) {
            detail += (detail.empty() ? "" : ": ") + body[key].get<std::string>();
          }
        }
      }
      throw Error(ErrorCode::kCloud,
                  what + ": HTTP " + std::to_string(response.status) +
                      (detail.empty() ? "" : " (" + Redact(detail, secrets) + ")"));
    }
    Credentials c = CredentialsFromJson(body, what);
    c.source = "container credentials (" + Origin(url) + ")";
    return Attempt::Got(std::move(c));
  }

  // Reads AccessKeyId / SecretAccessKey / Token / Expiration (ECS and IMDS).
  static Credentials CredentialsFromJson(const nlohmann::json& body, const std::string& what) {
    auto text = [&body](const char* key) -> std::string {
      return body.is_object() && body.contains(key) && body[key].is_string()
                 ? body[key].get<std::string>()
                 : "";
    };
    if (!body.is_object()) {
      // Never quote the body: it would hold the keys.
      throw Error(ErrorCode::kCloud, what + ": the answer is not a JSON object");
    }
    Credentials c;
    c.access_key_id = text("AccessKeyId");
    c.secret_access_key = text("SecretAccessKey");
    c.session_token = text("Token");
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      throw Error(ErrorCode::kCloud, what + ": the answer lacks AccessKeyId or SecretAccessKey");
    }
    std::string expiration = text("Expiration");
    if (!expiration.empty()) {
      std::optional<EpochSeconds> t = ParseIso8601(expiration);
      if (!t) {
        throw Error(ErrorCode::kCloud, what + ": cannot read the Expiration '" + expiration + "'");
      }
      c.expiration = *t;
    }
    return c;
  }

  // --- EC2 instance profile (IMDS) ----------------------------------------

  Attempt InstanceProfile() const {
    if (IsTrue(env_.Get("AWS_EC2_METADATA_DISABLED"))) {
      return Attempt::Skip("instance profile: AWS_EC2_METADATA_DISABLED is true");
    }
    std::string endpoint = env_.Get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (endpoint.empty()) endpoint = kDefaultImdsEndpoint;
    endpoint = WithoutTrailingSlash(endpoint);
    std::string who = "instance profile";
    int attempts = std::max(1, options_.imds_attempts);
    std::string no_answer = who + ": no answer from " + endpoint + " within " +
                            std::to_string(options_.imds_timeout_ms) + " ms" +
                            (attempts > 1 ? " (" + std::to_string(attempts) + " attempts)" : "");

    // IMDSv2: a session token first.
    std::string token;
    bool v1 = false;
    {
      HttpRequest put;
      put.method = "PUT";
      put.url = endpoint + "/latest/api/token";
      put.SetHeader("X-aws-ec2-metadata-token-ttl-seconds", kImdsTokenTtlSeconds);
      std::optional<HttpResponse> answer = SendImds(put, attempts);
      if (!answer) return Attempt::Skip(no_answer);
      if (answer->status == 200) {
        token = std::string(Trim(answer->body));
      } else if (answer->status == 403 || answer->status == 404 || answer->status == 405) {
        // Like the AWS SDKs, fall back to IMDSv1 (plain GETs without a token) when the
        // token request is refused in a way that says "no IMDSv2 here" (403, 404, 405).
        v1 = true;
      } else {
        return Attempt::Skip(who + ": " + endpoint + " answered HTTP " +
                             std::to_string(answer->status) + " to the IMDSv2 token request");
      }
    }
    std::string version = v1 ? "IMDSv1" : "IMDSv2";
    auto get = [&](const std::string& path) -> std::optional<HttpResponse> {
      HttpRequest request;
      request.method = "GET";
      request.url = endpoint + path;
      if (!v1) request.SetHeader("X-aws-ec2-metadata-token", token);
      return SendImds(request, attempts);
    };
    constexpr const char* kCredentialsPath = "/latest/meta-data/iam/security-credentials/";
    std::optional<HttpResponse> roles = get(kCredentialsPath);
    if (!roles) return Attempt::Skip(no_answer);
    if (roles->status == 404) {
      return Attempt::Skip(who + ": this instance has no IAM role attached (" + version + ")");
    }
    if (roles->status != 200) {
      return Attempt::Skip(who + ": " + endpoint + " answered HTTP " +
                           std::to_string(roles->status) + " for the role name (" + version + ")");
    }
    std::string role(Trim(roles->body.substr(0, roles->body.find('\n'))));
    if (role.empty()) {
      return Attempt::Skip(who + ": this instance has no IAM role attached (" + version + ")");
    }
    std::optional<HttpResponse> answer = get(kCredentialsPath + UriEncode(role));
    std::string what = who + " (" + version + ", role " + role + ")";
    if (!answer) return Attempt::Skip(no_answer);
    if (answer->status != 200) {
      throw Error(ErrorCode::kCloud,
                  what + ": " + endpoint + " answered HTTP " + std::to_string(answer->status));
    }
    nlohmann::json body = nlohmann::json::parse(answer->body, nullptr, false);
    if (body.is_object() && body.contains("Code") && body["Code"].is_string() &&
        body["Code"].get<std::string>() != "Success") {
      std::string message = body.contains("Message") && body["Message"].is_string()
                                ? ": " + body["Message"].get<std::string>()
                                : "";
      throw Error(ErrorCode::kCloud, what + ": IMDS answered " + body["Code"].get<std::string>() +
                                         Redact(message, {token}));
    }
    Credentials c = CredentialsFromJson(body, what);
    c.source = what;
    return Attempt::Got(std::move(c));
  }

  // Sends an IMDS request up to `attempts` times (network errors and 5xx), with the
  // short IMDS timeouts. nullopt when no answer came.
  std::optional<HttpResponse> SendImds(HttpRequest request, int attempts) const {
    request.timeout_ms = std::max(1L, options_.imds_timeout_ms);
    request.direct = true;  // the metadata service is never behind the site's proxy
    std::optional<HttpResponse> last;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      try {
        last = http_->Send(request);
      } catch (const AwsError&) {
        continue;  // connection refused, timeout: try again, then give up
      }
      if (last->status < 500) break;
    }
    return last;
  }

 private:
  CredentialsOptions options_;
  Env env_;
  std::shared_ptr<HttpClient> http_;
};

// ---------------------------------------------------------------------------
// The chain.

class DefaultChain : public CredentialsProvider {
 public:
  explicit DefaultChain(CredentialsOptions options)
      : fetchers_(std::make_shared<Fetchers>(std::move(options))) {
    auto f = fetchers_;
    sources_ = {
        [f] { return f->Explicit(); },  [f] { return f->Environment(); },
        [f] { return f->Profile(); },   [f] { return f->WebIdentityFromEnv(); },
        [f] { return f->Container(); }, [f] { return f->InstanceProfile(); },
    };
  }

  Credentials Get() override {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      EpochSeconds now = NowSeconds();
      if (cached_ && !cached_->ExpiresWithin(now, kRefreshMarginSeconds)) return *cached_;
      if (!refreshing_) break;
      // Someone else is refreshing: credentials that have not expired yet still
      // serve; otherwise wait for the outcome.
      if (cached_ && !cached_->ExpiresWithin(now, 0)) return *cached_;
      std::uint64_t generation = generation_;
      cv_.wait(lock, [&] { return generation_ != generation; });
      // The refresh we waited for is over: take its outcome rather than start another.
      if (cached_ && !cached_->ExpiresWithin(NowSeconds(), 0)) return *cached_;
      if (last_failure_) std::rethrow_exception(last_failure_);
    }
    refreshing_ = true;
    int remembered = remembered_;
    lock.unlock();

    std::optional<Credentials> fresh;
    std::exception_ptr failure;
    int used = -1;
    try {
      fresh = Resolve(remembered, &used);
    } catch (...) {
      failure = std::current_exception();
    }

    lock.lock();
    refreshing_ = false;
    ++generation_;
    last_failure_ = failure;
    if (fresh) {
      cached_ = fresh;
      remembered_ = used;
    }
    cv_.notify_all();
    if (fresh) return *fresh;
    // The refresh failed: credentials that have not expired yet still serve.
    if (cached_ && !cached_->ExpiresWithin(NowSeconds(), 0)) return *cached_;
    std::rethrow_exception(failure);
  }

 private:
  // Asks the remembered source first, then walks the chain in order.
  Credentials Resolve(int remembered, int* used) {
    std::optional<Attempt> first;
    if (remembered >= 0) {
      first = sources_[remembered]();
      if (first->credentials) {
        *used = remembered;
        return *first->credentials;
      }
    }
    std::vector<std::string> reasons;
    for (int i = 0; i < static_cast<int>(sources_.size()); ++i) {
      // The remembered source was just asked (it may have waited out a timeout).
      Attempt a = i == remembered ? *first : sources_[i]();
      if (a.credentials) {
        *used = i;
        return *a.credentials;
      }
      reasons.push_back(a.skipped);
    }
    throw Error(ErrorCode::kCloud,
                "no AWS credentials found; tried, in order: " + Join(reasons, "; ") +
                    ". Set aws.access_key_id/aws.secret_access_key, AWS_ACCESS_KEY_ID/"
                    "AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE or aws.profile), or run on "
                    "an instance with an IAM role");
  }

  std::shared_ptr<Fetchers> fetchers_;
  std::vector<std::function<Attempt()>> sources_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Credentials> cached_;
  int remembered_ = -1;
  bool refreshing_ = false;
  std::uint64_t generation_ = 0;
  std::exception_ptr last_failure_;
};

class StaticProvider : public CredentialsProvider {
 public:
  explicit StaticProvider(Credentials credentials) : credentials_(std::move(credentials)) {}
  Credentials Get() override { return credentials_; }

 private:
  Credentials credentials_;
};

}  // namespace

std::shared_ptr<CredentialsProvider> MakeDefaultCredentialsChain(CredentialsOptions options) {
  return std::make_shared<DefaultChain>(std::move(options));
}

std::shared_ptr<CredentialsProvider> MakeStaticCredentials(Credentials credentials) {
  return std::make_shared<StaticProvider>(std::move(credentials));
}

}  // namespace orb
