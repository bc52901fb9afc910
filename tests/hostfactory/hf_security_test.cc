// Security properties of the real orb binary, driven through its HostFactory scripts
// and its CLI against moto:
// - every file and directory orb creates for its state and logs is private to its
//   user (no group or other permission bits) whatever the umask it is started with;
// - the AWS secret access key and session token never appear on stdout or stderr, in
//   a log file, in the store or in a cache, at the most verbose log level, however the
//   credentials are given, including when AWS refuses a call and echoes them, when the
//   endpoint cannot be reached and when the credentials are misconfigured.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hostfactory/hf_harness.h"
#include "support/fault_proxy.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

// The session token the calls get: distinctive, as HfSandbox::SecretKey().
constexpr const char* kSessionToken =
    "hfSecuritySessionToken/FwoGZXIvYXdzEJr//NeverInLogs+8c1D5e90A7f3";
constexpr const char* kAccessKeyId = "AKIAHFSECURITYTEST01";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteText(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// Where a secret was found, or "" when it was not: the whole secret, or a long
// enough piece of it (a secret cut short is still a leak).
std::string FindSecret(const std::string& text) {
  const std::string secret = HfSandbox::SecretKey();
  for (const std::string& s : {secret, std::string(kSessionToken), secret.substr(secret.size() - 16),
                               std::string(kSessionToken).substr(0, 24)}) {
    const std::size_t at = text.find(s);
    if (at != std::string::npos) {
      const std::size_t from = at > 80 ? at - 80 : 0;
      return "'" + s + "' in: ..." + text.substr(from, 200) + "...";
    }
  }
  return "";
}

class HfSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MotoServer& moto = MotoServer::Shared();
    moto.Reset();
    moto_endpoint_ = moto.endpoint();
    cloud_ = std::make_unique<MotoSide>(moto_endpoint_);
    templates_ = SuiteTemplates(cloud_->ImageId(), cloud_->SubnetId());
  }

  void TearDown() override {
    if (HasFailure()) {
      for (auto& sb : sandboxes_) {
        std::cout << "==== calls in " << sb->root() << "\n";
        for (const std::string& c : sb->transcript()) std::cout << c << "\n";
        std::cout << "==== orb's logs\n" << sb->LogTail() << "====\n";
      }
      for (const std::string& o : cli_outputs_) std::cout << o << "\n";
    }
    sandboxes_.clear();
  }

  // A provider instance on `endpoint` with the suite's templates, HostFactory's
  // debug level, orb's most verbose level and logs also on stderr.
  HfSandbox& NewSandbox(const std::string& endpoint, HfSandboxOptions options = {}) {
    auto sb = std::make_unique<HfSandbox>(endpoint, options);
    sb->WriteConfig();
    sb->WriteTemplates(templates_);
    sb->env()["HF_LOGLEVEL"] = "LOG_DEBUG";
    sb->env()["ORB_LOG_LEVEL"] = "trace";
    sb->env()["ORB_LOG_CONSOLE"] = "true";
    sb->env()["AWS_EC2_METADATA_DISABLED"] = "true";  // no instance profile off EC2
    sandboxes_.push_back(std::move(sb));
    return *sandboxes_.back();
  }

  // Runs the orb CLI in `sb`'s environment; keeps the output for the leak scan.
  OrbOutcome Cli(HfSandbox& sb, const std::vector<std::string>& args) {
    const fs::path scratch = sb.root() / "cli";
    fs::create_directories(scratch);
    OrbOutcome r = RunOrb(args, sb.env(), scratch);
    std::string line = "$ orb";
    for (const std::string& a : args) line += " " + a;
    cli_outputs_.push_back(line + "\n  exit " + std::to_string(r.code) + "\n  stdout:\n" + r.out +
                           "\n  stderr:\n" + r.err);
    return r;
  }

  // requestMachines for `count` of `template_id`, polled until terminal; returns the
  // request's last report (null when the call failed).
  json Acquire(HfSandbox& sb, const std::string& template_id, int count) {
    HfCallResult r = sb.Call(kRequestMachines,
                             json{{"template", {{"templateId", template_id},
                                                {"machineCount", count}}}});
    const std::string id = Str(r.doc, "requestId");
    if (r.exit_code != 0 || id.empty()) return nullptr;
    return PollUntilTerminal(sb, id);
  }

  json PollUntilTerminal(HfSandbox& sb, const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      HfCallResult r = sb.Call(kGetRequestStatus, json{{"requests", {{{"requestId", id}}}}});
      if (r.json_ok && r.doc.contains("requests") && r.doc["requests"].size() == 1) {
        last = r.doc["requests"][0];
        const std::string status = Str(last, "status");
        if (status == "complete" || status == "complete_with_error") return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "request " << id << " not terminal after 30 s: " << last.dump();
    return last;
  }

  // A full cycle: templates, acquire one machine of `template_id`, return it.
  void Cycle(HfSandbox& sb, const std::string& template_id) {
    HfCallResult t = sb.Call(kGetAvailableTemplates, "{}");
    ASSERT_EQ(t.exit_code, 0) << t.Describe();
    json q = Acquire(sb, template_id, 1);
    ASSERT_TRUE(q.is_object()) << "requestMachines failed";
    ASSERT_EQ(Str(q, "status"), "complete") << q.dump();
    json machines = json::array();
    for (const json& m : q["machines"]) {
      machines.push_back({{"name", Str(m, "name")}, {"machineId", Str(m, "machineId")}});
    }
    HfCallResult ret = sb.Call(kRequestReturnMachines, json{{"machines", machines}});
    ASSERT_EQ(ret.exit_code, 0) << ret.Describe();
    EXPECT_EQ(Str(PollUntilTerminal(sb, Str(ret.doc, "requestId")), "status"), "complete");
  }

  // Every way orb prints its configuration, and the other read-only commands.
  void EveryCliOutput(HfSandbox& sb) {
    for (const char* format : {"json", "yaml", "table", "list"}) {
      for (bool long_form : {false, true}) {
        std::vector<std::string> args = {"config", "show", "--format", format};
        if (long_form) args.push_back("--long");
        OrbOutcome r = Cli(sb, args);
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_THAT(r.out, HasSubstr("aws.secret_access_key")) << "config show lists the key";
      }
      Cli(sb, {"config", "validate", "--format", format});
      Cli(sb, {"providers", "show", "--format", format});
      Cli(sb, {"requests", "list", "--format", format, "--long"});
      Cli(sb, {"machines", "list", "--format", format, "--long"});
    }
    Cli(sb, {"storage", "show"});
    Cli(sb, {"templates", "list", "--format", "json"});
  }

  // The leak scan: every file under the sandbox but the ones the test wrote the
  // credentials into (conf/, home/.aws/, creds/), and every output of every call.
  void ExpectNoSecretAnywhere(HfSandbox& sb) {
    int files = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(sb.root(), ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const std::string path = it->path().string();
      if (path.find("/conf/") != std::string::npos || path.find("/home/.aws/") != std::string::npos ||
          path.find("/creds/") != std::string::npos || !it->is_regular_file(ec)) {
        continue;
      }
      ++files;
      const std::string leak = FindSecret(Slurp(it->path()));
      EXPECT_EQ(leak, "") << "[secrets never in logs, the store or caches] " << path;
    }
    EXPECT_GE(files, 2) << "the scan found the log and the store";
    for (const std::string& call : sb.transcript()) {
      EXPECT_EQ(FindSecret(call), "") << "[secrets never on stdout/stderr] in:\n" << call;
    }
    for (const std::string& out : cli_outputs_) {
      EXPECT_EQ(FindSecret(out), "") << "[secrets never in CLI output] in:\n" << out;
    }
  }

  std::string moto_endpoint_;
  std::unique_ptr<MotoSide> cloud_;
  json templates_;
  std::vector<std::unique_ptr<HfSandbox>> sandboxes_;
  std::vector<std::string> cli_outputs_;
};

// --- Secrets ------------------------------------------------------------------

// One way of giving orb its credentials: sets up `sb` (whose environment starts
// with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and names the credential source
// `orb providers health` must report.
struct CredentialWay {
  const char* name;
  std::function<void(HfSandbox&)> set_up;
  const char* expected_source;
};

void PrintTo(const CredentialWay& way, std::ostream* os) { *os << way.name; }

void WithoutEnvKeys(HfSandbox& sb) {
  sb.env().erase("AWS_ACCESS_KEY_ID");
  sb.env().erase("AWS_SECRET_ACCESS_KEY");
}

std::string CredentialsIni(const std::string& profile) {
  return "[" + profile + "]\naws_access_key_id = " + kAccessKeyId +
         "\naws_secret_access_key = " + HfSandbox::SecretKey() +
         "\naws_session_token = " + kSessionToken + "\n";
}

const CredentialWay kWays[] = {
    {"IbmConfigKeys",
     [](HfSandbox& sb) {
       WithoutEnvKeys(sb);
       sb.WriteConfig({{"AWS_ACCESS_KEY_ID", kAccessKeyId},
                       {"AWS_SECRET_ACCESS_KEY", HfSandbox::SecretKey()},
                       {"AWS_SESSION_TOKEN", kSessionToken}});
     },
     "orb config"},
    {"OrbConfigFileKeys",
     [](HfSandbox& sb) {
       WithoutEnvKeys(sb);
       const fs::path yaml = sb.conf_dir() / "orb.yaml";
       WriteText(yaml, Slurp(yaml) + "  access_key_id: " + kAccessKeyId +
                           "\n  secret_access_key: \"" + HfSandbox::SecretKey() +
                           "\"\n  session_token: \"" + kSessionToken + "\"\n");
     },
     "orb config"},
    {"OrbEnvironment",
     [](HfSandbox& sb) {
       WithoutEnvKeys(sb);
       sb.env()["ORB_AWS_ACCESS_KEY_ID"] = kAccessKeyId;
       sb.env()["ORB_AWS_SECRET_ACCESS_KEY"] = HfSandbox::SecretKey();
       sb.env()["ORB_AWS_SESSION_TOKEN"] = kSessionToken;
     },
     "orb config"},
    {"AwsEnvironment",
     [](HfSandbox& sb) {
       sb.env()["AWS_ACCESS_KEY_ID"] = kAccessKeyId;
       sb.env()["AWS_SECRET_ACCESS_KEY"] = HfSandbox::SecretKey();
       sb.env()["AWS_SESSION_TOKEN"] = kSessionToken;
     },
     "environment"},
    {"IbmCredentialFileWithSessionToken",
     [](HfSandbox& sb) {
       WithoutEnvKeys(sb);
       const fs::path file = sb.root() / "creds" / "credentials";
       WriteText(file, CredentialsIni("default"));
       sb.WriteConfig({{"AWS_CREDENTIAL_FILE", file.string()}});
     },
     "profile default"},
    {"NamedProfile",
     [](HfSandbox& sb) {
       WithoutEnvKeys(sb);
       WriteText(sb.home_dir() / ".aws" / "credentials",
                 "[default]\naws_access_key_id = AKIADEFAULTNOTUSED00\n"
                 "aws_secret_access_key = not-the-secret\n\n" +
                     CredentialsIni("hf-security"));
       sb.env()["AWS_PROFILE"] = "hf-security";
     },
     "profile hf-security"},
};

class HfSecretsTest : public HfSecurityTest, public ::testing::WithParamInterface<CredentialWay> {};

TEST_P(HfSecretsTest, NeverInOutputLogsStoreOrCachesAtTraceLevel) {
  FaultProxy proxy(moto_endpoint_);
  HfSandbox& sb = NewSandbox(proxy.endpoint());
  GetParam().set_up(sb);

  OrbOutcome health = Cli(sb, {"providers", "health", "--format", "json"});
  ASSERT_EQ(health.code, 0) << health.out << health.err;
  const json h = json::parse(health.out, nullptr, false);
  EXPECT_THAT(h.dump(), HasSubstr(GetParam().expected_source))
      << "[the credentials come from the way under test]";
  EXPECT_THAT(health.err, HasSubstr("debug")) << "[logs at the most verbose level reach stderr]";

  Cycle(sb, "OnDemand-Micro");
  Cycle(sb, "Asg-Small");  // launch template and group calls
  EveryCliOutput(sb);

  // AWS refuses, and its message echoes the secret and the token (as a service
  // echoing a request's headers or a signing string could): orb redacts them.
  const std::string echo = std::string("The security token ") + kSessionToken +
                           " or the key " + HfSandbox::SecretKey() + " is invalid.";
  FaultPlan refuse;
  refuse.refusals = {
      {"RunInstances", "Action", "RunInstances", 0, 401, "AuthFailure", echo},
      {"DescribeInstances", "Action", "DescribeInstances", 0, 403, "UnrecognizedClientException",
       echo},
      {"GetCallerIdentity", "Action", "GetCallerIdentity", 0, 403, "InvalidClientTokenId", echo},
  };
  proxy.SetPlan(refuse);
  HfCallResult r = sb.Call(kRequestMachines,
                           json{{"template", {{"templateId", "OnDemand-Micro"}, {"machineCount", 1}}}});
  EXPECT_TRUE(r.json_ok) << r.Describe();
  if (!Str(r.doc, "requestId").empty()) {
    json q = PollUntilTerminal(sb, Str(r.doc, "requestId"));
    EXPECT_EQ(Str(q, "status"), "complete_with_error") << q.dump();
    EXPECT_THAT(Str(q, "message"), HasSubstr("<redacted>"))
        << "[AWS's message is kept, the secrets in it are not]";
  }
  OrbOutcome refused = Cli(sb, {"providers", "health", "--format", "json"});
  EXPECT_EQ(refused.code, 1) << refused.out;
  Cli(sb, {"requests", "list", "--format", "json", "--long"});

  // The endpoint cannot be reached at all.
  proxy.SetPlan({});
  std::map<std::string, std::string> saved = sb.env();
  for (const char* key : {"ORB_AWS_ENDPOINT_URL", "ORB_AWS_ENDPOINT_URL_EC2",
                          "ORB_AWS_ENDPOINT_URL_STS", "ORB_AWS_ENDPOINT_URL_SSM",
                          "ORB_AWS_ENDPOINT_URL_AUTO_SCALING"}) {
    sb.env()[key] = "http://127.0.0.1:9";
  }
  sb.env()["ORB_AWS_REQUEST_RETRY_ATTEMPTS"] = "0";
  r = sb.Call(kRequestMachines,
              json{{"template", {{"templateId", "OnDemand-Micro"}, {"machineCount", 1}}}});
  EXPECT_TRUE(r.json_ok) << r.Describe();
  if (!Str(r.doc, "requestId").empty()) {
    sb.Call(kGetRequestStatus, json{{"requests", {{{"requestId", Str(r.doc, "requestId")}}}}});
  }
  OrbOutcome unreachable = Cli(sb, {"providers", "health"});
  EXPECT_EQ(unreachable.code, 1) << unreachable.out;
  sb.env() = saved;

  ExpectNoSecretAnywhere(sb);
}

INSTANTIATE_TEST_SUITE_P(EveryCredentialSource, HfSecretsTest, ::testing::ValuesIn(kWays),
                         [](const ::testing::TestParamInfo<CredentialWay>& info) {
                           return std::string(info.param.name);
                         });

// Credentials given wrongly: the errors name the setting or file, never the secret.
TEST_F(HfSecurityTest, MisconfiguredCredentialsErrorsNameNoSecret) {
  HfSandbox& sb = NewSandbox(moto_endpoint_);
  WithoutEnvKeys(sb);
  // A secret without its key id, in each place keys can be given.
  sb.env()["ORB_AWS_SECRET_ACCESS_KEY"] = HfSandbox::SecretKey();
  sb.env()["ORB_AWS_SESSION_TOKEN"] = kSessionToken;
  OrbOutcome r = Cli(sb, {"providers", "health", "--format", "json"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("aws.secret_access_key")) << "[the error names the setting]";
  // The request is stored, then its launch is refused: it ends with the message.
  HfCallResult call = sb.Call(kRequestMachines,
                              json{{"template", {{"templateId", "OnDemand-Micro"},
                                                 {"machineCount", 1}}}});
  ASSERT_FALSE(Str(call.doc, "requestId").empty()) << call.Describe();
  json q = PollUntilTerminal(sb, Str(call.doc, "requestId"));
  EXPECT_EQ(Str(q, "status"), "complete_with_error") << q.dump();
  EXPECT_THAT(Str(q, "message"), HasSubstr("aws.secret_access_key")) << q.dump();
  sb.env().erase("ORB_AWS_SECRET_ACCESS_KEY");
  sb.env().erase("ORB_AWS_SESSION_TOKEN");

  sb.env()["AWS_SECRET_ACCESS_KEY"] = HfSandbox::SecretKey();
  sb.env()["AWS_SESSION_TOKEN"] = kSessionToken;
  r = Cli(sb, {"providers", "health", "--format", "json"});
  EXPECT_EQ(r.code, 1) << r.out;
  sb.env().erase("AWS_SECRET_ACCESS_KEY");
  sb.env().erase("AWS_SESSION_TOKEN");

  // A profile with half a key pair, and one that does not exist.
  WriteText(sb.home_dir() / ".aws" / "credentials",
            std::string("[half]\naws_secret_access_key = ") + HfSandbox::SecretKey() +
                "\naws_session_token = " + kSessionToken + "\n");
  sb.env()["AWS_PROFILE"] = "half";
  r = Cli(sb, {"providers", "health", "--format", "json"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("half")) << "[the error names the profile]";
  sb.env()["AWS_PROFILE"] = "no-such-profile";
  r = Cli(sb, {"providers", "health"});
  EXPECT_EQ(r.code, 1) << r.out;
  // A malformed credentials file whose broken line holds the secret.
  WriteText(sb.home_dir() / ".aws" / "credentials",
            std::string("[broken]\n") + HfSandbox::SecretKey() + "\n" + kSessionToken + "\n");
  sb.env()["AWS_PROFILE"] = "broken";
  r = Cli(sb, {"providers", "health"});
  EXPECT_EQ(r.code, 1) << r.out;
  // Unknown keys that look like secrets in the orb config file: warned about by
  // name, their values never shown.
  sb.env().erase("AWS_PROFILE");
  const fs::path yaml = sb.conf_dir() / "orb.yaml";
  WriteText(yaml, Slurp(yaml) + "  secret_acces_key: \"" + HfSandbox::SecretKey() +
                      "\"\n  sesion_token: \"" + kSessionToken + "\"\n");
  for (const char* format : {"json", "table"}) {
    r = Cli(sb, {"config", "validate", "--format", format});
    EXPECT_THAT(r.out + r.err, HasSubstr("secret_acces_key"));
    Cli(sb, {"config", "show", "--format", format});
  }
  // A provider config file whose secret's closing quote is missing: the syntax error
  // names the file, line and column, not the text it stopped at.
  WriteText(sb.conf_dir() / "awsinstprov_config.json",
            std::string("{\n  \"AWS_REGION\": \"us-east-1\",\n  \"AWS_SECRET_ACCESS_KEY\": \"") +
                HfSandbox::SecretKey() + "\n}\n");
  r = Cli(sb, {"config", "validate", "--format", "json"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("awsinstprov_config.json: JSON syntax error at line 3"));
  HfCallResult templates = sb.Call(kGetAvailableTemplates, "{}");
  EXPECT_EQ(templates.exit_code, 1) << templates.Describe();
  ExpectNoSecretAnywhere(sb);
}

// --- File modes ---------------------------------------------------------------

// Everything orb creates under `dir` (and `dir` itself): who may read it.
std::vector<std::string> OpenToOthers(const fs::path& dir, int* seen) {
  std::vector<std::string> open;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    ++*seen;
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      open.push_back(p.string() + " (" + mode + ")");
    }
  };
  check(dir);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    check(it->path());
  }
  return open;
}

// Restores the umask when the test ends.
class UmaskScope {
 public:
  explicit UmaskScope(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskScope() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST_F(HfSecurityTest, FilesOrbCreatesArePrivateWhateverTheUmask) {
  UmaskScope wide_open(0);  // the most permissive start: every mode bit orb asks for is kept
  HfSandbox& sb = NewSandbox(moto_endpoint_);
  // State and logs in directories orb creates itself, parents included.
  const fs::path state = sb.root() / "state";
  sb.env()["HF_PROVIDER_WORKDIR"] = (state / "work" / "awsinst").string();
  sb.env()["HF_PROVIDER_LOGDIR"] = (state / "log" / "awsinst").string();
  sb.env()["ORB_RECONCILE_INTERVAL_SEC"] = "1";  // the reconciler's marker file
  json templates = templates_;
  templates["templates"].push_back(
      {{"templateId", "Latest-AL2023"}, {"maxNumber", 5}, {"vmType", "t3.micro"},
       {"imageId", "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"},
       {"subnetId", cloud_->SubnetId()}});  // SSM image: the image cache
  sb.WriteTemplates(templates);
  ::chmod(sb.templates_path().c_str(), 0664);

  Cycle(sb, "OnDemand-Micro");
  Cycle(sb, "Latest-AL2023");
  OrbOutcome refresh = Cli(sb, {"templates", "refresh"});  // the instance-type cache
  EXPECT_EQ(refresh.code, 0) << refresh.out << refresh.err;
  OrbOutcome update = Cli(sb, {"templates", "delete", "Fleet-Request"});  // the lock file
  EXPECT_EQ(update.code, 0) << update.out << update.err;

  std::set<std::string> names;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(state, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    names.insert(it->path().filename().string());
  }
  for (const char* expected : {"orb.db", "orb.log", "broker-id", "cache"}) {
    EXPECT_TRUE(names.count(expected)) << "orb created " << expected << " (the test covers it)";
  }
  EXPECT_GE(names.size(), 8u);
  int seen = 0;
  EXPECT_THAT(OpenToOthers(state, &seen), ::testing::IsEmpty())
      << "[state and log files 0600, directories 0700, whatever the umask]";
  EXPECT_GE(seen, 10);

  // The templates file is the administrator's: its mode is kept across orb's
  // rewrite; the lock file beside it is orb's and private.
  struct stat st {};
  ASSERT_EQ(::stat(sb.templates_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0664u) << "[a rewritten templates file keeps its mode]";
  ASSERT_EQ(::stat((sb.templates_path().string() + ".lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "[lock files 0600]";
}

}  // namespace
}  // namespace orb::testing
