#include "config/config_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"

namespace orb {
namespace {

namespace fs = std::filesystem;

class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("orb-config-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "home");
    fs::create_directories(root_ / "conf");
    env_["HOME"] = (root_ / "home").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Write(const std::string& rel, const std::string& text) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  Config Load(std::map<std::string, std::string> flags = {}, std::string config_file = "") {
    ConfigInputs in;
    in.flags = std::move(flags);
    in.config_file = std::move(config_file);
    in.environment = env_;
    return LoadConfig(in);
  }

  // The problems of `c` as one string, for messages and substring checks.
  static std::string Problems(const Config& c) {
    std::string out;
    for (const ConfigProblem& p : c.problems()) out += p.ToString() + "\n";
    return out;
  }

  std::string Conf() const { return (root_ / "conf").string(); }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigLoaderTest, DefaultsAndDerivedPaths) {
  Config c = Load();
  EXPECT_FALSE(c.HasErrors()) << Problems(c);
  EXPECT_EQ(c.Get("provider.type"), "aws");
  EXPECT_EQ(c.Get("storage.strategy"), "sqlite");
  EXPECT_EQ(c.Lookup("storage.strategy").source, SettingSource::kDefault);
  const std::string home = (root_ / "home").string();
  EXPECT_EQ(c.Get("paths.conf_dir"), home + "/.config/orb");
  EXPECT_EQ(c.Get("paths.work_dir"), home + "/.local/state/orb");
  EXPECT_EQ(c.Get("paths.log_dir"), home + "/.local/state/orb/log");
  EXPECT_EQ(c.Get("storage.path"), home + "/.local/state/orb/orb.db");
  EXPECT_EQ(c.Lookup("storage.path").source, SettingSource::kDerived);
  EXPECT_EQ(c.Get("logging.file"), home + "/.local/state/orb/log/orb.log");
  EXPECT_EQ(c.GetInt("aws.connect_timeout_ms"), 10000);
  EXPECT_FALSE(c.GetBool("logging.console"));
  EXPECT_TRUE(c.files().empty());
}

TEST_F(ConfigLoaderTest, XdgDirectoriesAreHonoured) {
  env_["XDG_STATE_HOME"] = (root_ / "state").string();
  env_["XDG_CONFIG_HOME"] = (root_ / "cfg").string();
  Config c = Load();
  EXPECT_EQ(c.Get("paths.work_dir"), (root_ / "state/orb").string());
  EXPECT_EQ(c.Get("paths.conf_dir"), (root_ / "cfg/orb").string());
}

TEST_F(ConfigLoaderTest, PrecedenceFlagEnvOrbFileIbmFileDefault) {
  env_["HF_PROVIDER_CONFDIR"] = Conf();
  env_["HF_PROVIDER_NAME"] = "awsinst";
  Write("conf/awsinstprov_config.json", R"({"AWS_REGION": "eu-west-1", "AWS_PROXY_PORT": 3128})");
  EXPECT_EQ(Load().Get("aws.region"), "eu-west-1");
  EXPECT_EQ(Load().Lookup("aws.region").source, SettingSource::kIbmFile);

  Write("conf/orb.yaml", "aws:\n  region: eu-west-2\n");
  EXPECT_EQ(Load().Get("aws.region"), "eu-west-2");
  EXPECT_EQ(Load().Lookup("aws.region").source, SettingSource::kOrbFile);
  EXPECT_EQ(Load().Lookup("aws.region").origin, Conf() + "/orb.yaml");

  env_["AWS_DEFAULT_REGION"] = "ap-south-1";
  EXPECT_EQ(Load().Get("aws.region"), "ap-south-1");
  env_["AWS_REGION"] = "ap-east-1";
  EXPECT_EQ(Load().Get("aws.region"), "ap-east-1");
  env_["ORB_AWS_REGION"] = "us-west-2";
  Config c = Load();
  EXPECT_EQ(c.Get("aws.region"), "us-west-2");
  EXPECT_EQ(c.Lookup("aws.region").source, SettingSource::kEnv);
  EXPECT_EQ(c.Lookup("aws.region").origin, "ORB_AWS_REGION");

  c = Load({{"aws.region", "us-east-2"}});
  EXPECT_EQ(c.Get("aws.region"), "us-east-2");
  EXPECT_EQ(c.Lookup("aws.region").source, SettingSource::kFlag);
  // Values no higher tier sets still come from the IBM file.
  EXPECT_EQ(c.GetInt("aws.proxy_port"), 3128);
}

TEST_F(ConfigLoaderTest, HostFactoryDirectoriesBeatOrbVariables) {
  env_["ORB_WORK_DIR"] = (root_ / "orbwork").string();
  EXPECT_EQ(Load().Get("paths.work_dir"), (root_ / "orbwork").string());
  env_["PRO_DATA_DIR"] = (root_ / "lsfwork").string();
  EXPECT_EQ(Load().Get("paths.work_dir"), (root_ / "lsfwork").string());
  env_["HF_PROVIDER_WORKDIR"] = (root_ / "hfwork").string();
  Config c = Load();
  EXPECT_EQ(c.Get("paths.work_dir"), (root_ / "hfwork").string());
  EXPECT_EQ(c.Get("storage.path"), (root_ / "hfwork/orb.db").string());
  env_["HF_PROVIDER_LOGDIR"] = (root_ / "hflog").string();
  EXPECT_EQ(Load().Get("logging.file"), (root_ / "hflog/orb.log").string());
  env_.erase("HF_PROVIDER_LOGDIR");
  env_["PRO_LSF_LOGDIR"] = (root_ / "lsflog").string();
  EXPECT_EQ(Load().Get("paths.log_dir"), (root_ / "lsflog").string());
}

TEST_F(ConfigLoaderTest, LsfVariablesLocateTheConfiguration) {
  env_["PRO_CONF_DIR"] = Conf();
  env_["PROVIDER_NAME"] = "lsfaws";
  Write("conf/lsfawsprov_config.json", R"({"AWS_REGION": "ca-central-1"})");
  Config c = Load();
  EXPECT_EQ(c.Get("provider.name"), "lsfaws");
  EXPECT_EQ(c.Get("aws.region"), "ca-central-1");
}

TEST_F(ConfigLoaderTest, IbmFileFallsBackToAwsprovConfig) {
  env_["HF_PROVIDER_CONFDIR"] = Conf();
  env_["HF_PROVIDER_NAME"] = "awsinst";
  Write("conf/awsprov_config.json", R"({"AWS_REGION": "us-east-1"})");
  EXPECT_EQ(Load().Get("aws.region"), "us-east-1");
  Write("conf/awsinstprov_config.json", R"({"AWS_REGION": "sa-east-1"})");
  Config c = Load();
  EXPECT_EQ(c.Get("aws.region"), "sa-east-1");
  EXPECT_EQ(c.files(), std::vector<std::string>{Conf() + "/awsinstprov_config.json"});
}

TEST_F(ConfigLoaderTest, IbmExampleFileLoadsCleanly) {
  env_["HF_PROVIDER_CONFDIR"] = Conf();
  Write("conf/awsprov_config.json", R"({
    "ACCEPT_PROPAGATED_LOG_SETTING": "false",
    "AWS_CREDENTIAL_FILE": "/home/aws/credentials",
    "AWS_KEY_FILE": "/home/aws/",
    "AWS_REGION": "us-east-1",
    "AWS_PROXY_HOST": "",
    "AWS_PROXY_PORT": 80,
    "AWS_CONNECTION_TIMEOUT_MS": 10000,
    "AWS_REQUEST_RETRY_ATTEMPTS": 0,
    "AWS_INSTANCE_PENDING_TIMEOUT_SEC": 180,
    "LogLevel": "DEBUG"
  })");
  Config c = Load();
  EXPECT_FALSE(c.HasErrors()) << Problems(c);
  EXPECT_EQ(c.Get("aws.credential_file"), "/home/aws/credentials");
  EXPECT_EQ(c.Get("aws.proxy_host"), "");
  EXPECT_EQ(c.GetInt("aws.request_retry_attempts"), 0);
  EXPECT_EQ(c.GetInt("request.instance_pending_timeout_sec"), 180);
  EXPECT_EQ(c.Get("logging.level"), "debug");
  // The one key orb does not use is reported, as a warning.
  ASSERT_EQ(c.problems().size(), 1u) << Problems(c);
  EXPECT_FALSE(c.problems()[0].error);
  EXPECT_EQ(c.problems()[0].key, "ACCEPT_PROPAGATED_LOG_SETTING");
}

TEST_F(ConfigLoaderTest, OrbConfigFileDiscoveryOrder) {
  env_["HF_PROVIDER_CONFDIR"] = Conf();
  Write("home/.config/orb/config.yaml", "aws:\n  region: from-xdg\n");
  EXPECT_EQ(Load().Get("aws.region"), "from-xdg");
  Write("conf/config.json", R"({"aws": {"region": "from-conf-json"}})");
  EXPECT_EQ(Load().Get("aws.region"), "from-conf-json");
  Write("conf/orb.yaml", "aws:\n  region: from-orb-yaml\n");
  EXPECT_EQ(Load().Get("aws.region"), "from-orb-yaml");
  std::string env_file = Write("elsewhere/env.yaml", "aws.region: from-env-file\n");
  env_["ORB_CONFIG_FILE"] = env_file;
  EXPECT_EQ(Load().Get("aws.region"), "from-env-file");
  std::string flag_file = Write("elsewhere/flag.json", R"({"aws.region": "from-flag-file"})");
  Config c = Load({}, flag_file);
  EXPECT_EQ(c.Get("aws.region"), "from-flag-file");
  EXPECT_EQ(c.files().front(), flag_file);
}

TEST_F(ConfigLoaderTest, MissingExplicitConfigFileIsAnError) {
  Config c = Load({}, (root_ / "nope.yaml").string());
  ASSERT_TRUE(c.HasErrors());
  EXPECT_NE(Problems(c).find("nope.yaml' does not exist"), std::string::npos) << Problems(c);
  EXPECT_NE(Problems(c).find("flag --config"), std::string::npos);
  env_["ORB_CONFIG_FILE"] = (root_ / "gone.json").string();
  c = Load();
  EXPECT_NE(Problems(c).find("env ORB_CONFIG_FILE"), std::string::npos) << Problems(c);
  EXPECT_THROW(c.ThrowIfErrors(), Error);
}

TEST_F(ConfigLoaderTest, PythonOrbConfigJsonIsUnderstood) {
  std::string f = Write("conf/config.json", R"({
    "version": "2.0.0",
    "scheduler": {"type": "hostfactory", "config_root": "$HF_PROVIDER_CONFDIR"},
    "provider": {
      "active_provider": "aws-prod",
      "providers": [
        {"name": "aws-dev", "type": "aws", "enabled": true,
         "config": {"region": "us-east-1", "profile": "dev"}},
        {"name": "aws-prod", "type": "aws", "enabled": true,
         "config": {"region": "eu-central-1", "profile": "prod"}}
      ]
    },
    "storage": {"type": "sqlite"},
    "logging": {"level": "INFO", "file_path": "logs/app.log", "console_enabled": true},
    "server": {"host": "0.0.0.0", "port": 8000}
  })");
  Config c = Load({}, f);
  EXPECT_FALSE(c.HasErrors()) << Problems(c);
  EXPECT_EQ(c.Get("aws.region"), "eu-central-1");
  EXPECT_EQ(c.Get("aws.profile"), "prod");
  EXPECT_EQ(c.Get("storage.strategy"), "sqlite");
  EXPECT_EQ(c.Get("logging.level"), "info");
  EXPECT_TRUE(c.GetBool("logging.console"));
  // Relative paths in a file are relative to that file's directory.
  EXPECT_EQ(c.Get("logging.file"), Conf() + "/logs/app.log");
}

TEST_F(ConfigLoaderTest, PythonOrbStorageStrategiesAreIgnoredWithAWarning) {
  std::string f = Write("conf/config.json", R"({"storage": {"strategy": "json"}})");
  Config c = Load({}, f);
  EXPECT_FALSE(c.HasErrors()) << Problems(c);
  EXPECT_EQ(c.Get("storage.strategy"), "sqlite");
  EXPECT_NE(Problems(c).find("'json' storage is not used by orb"), std::string::npos);
  f = Write("conf/bad.json", R"({"storage": {"strategy": "mongo"}})");
  EXPECT_TRUE(Load({}, f).HasErrors());
}

TEST_F(ConfigLoaderTest, IbmEndpointUrlIsTheEc2Endpoint) {
  env_["HF_PROVIDER_CONFDIR"] = Conf();
  Write("conf/awsprov_config.json",
        R"({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "https://ec2.eu-west-1.amazonaws.com:443"})");
  Config c = Load();
  EXPECT_EQ(c.Get("aws.endpoint_url_ec2"), "https://ec2.eu-west-1.amazonaws.com:443");
  EXPECT_EQ(c.Get("aws.endpoint_url"), "");
}

TEST_F(ConfigLoaderTest, PathsExpandVariablesAndHome) {
  env_["SITE_TOP"] = (root_ / "site").string();
  std::string f = Write("conf/orb.yaml",
                        "storage:\n  path: ${SITE_TOP}/db/orb.db\nlogging:\n  file: ~/orb.log\n");
  Config c = Load({}, f);
  EXPECT_FALSE(c.HasErrors()) << Problems(c);
  EXPECT_EQ(c.Get("storage.path"), (root_ / "site/db/orb.db").string());
  EXPECT_EQ(c.Get("logging.file"), (root_ / "home/orb.log").string());
}

TEST_F(ConfigLoaderTest, HostFactoryLogLevelIsMapped) {
  env_["HF_LOGLEVEL"] = "LOG_DEBUG";
  EXPECT_EQ(Load().Get("logging.level"), "debug");
  env_["HF_LOGLEVEL"] = "LOG_WARNING";
  EXPECT_EQ(Load().Get("logging.level"), "warn");
  // Syslog-style names HostFactory may pass never make the configuration invalid.
  for (const auto& [hf, level] : std::vector<std::pair<std::string, std::string>>{
           {"LOG_NOTICE", "info"}, {"LOG_ERR", "error"}, {"LOG_CRIT", "critical"},
           {"LOG_EMERG", "critical"}, {"LOG_TRACE", "trace"}}) {
    env_["HF_LOGLEVEL"] = hf;
    Config c = Load();
    EXPECT_FALSE(c.HasErrors()) << hf;
    EXPECT_EQ(c.Get("logging.level"), level) << hf;
  }
  env_["ORB_LOG_LEVEL"] = "error";
  EXPECT_EQ(Load().Get("logging.level"), "error");
}

struct BadFileCase {
  const char* name;
  const char* file;
  const char* text;
  const char* expected;  // substring of the problem
};

TEST_F(ConfigLoaderTest, MalformedOrbFilesGiveLocatedErrors) {
  const BadFileCase cases[] = {
      {"truncated json", "a.json", "{\"aws\": {\"region\": \"x\"", "JSON syntax error at line 1"},
      {"json on line 3", "b.json", "{\n  \"aws\": {\n    \"region\" \"x\"}}",
       "JSON syntax error at line 3"},
      {"bad yaml", "c.yaml", "aws:\n  region: [unclosed\n", "YAML syntax error at line"},
      {"top-level list", "d.yaml", "- a\n- b\n", "must be a mapping"},
      {"top-level string", "e.json", "\"hello\"", "must be a mapping"},
      {"port not a number", "f.yaml", "aws:\n  proxy_port: eighty\n",
       "key 'aws.proxy_port': must be an integer between 1 and 65535, got \"eighty\""},
      {"port out of range", "g.yaml", "aws:\n  proxy_port: 70000\n",
       "must be an integer between 1 and 65535"},
      {"unknown strategy", "h.yaml", "storage:\n  strategy: mongo\n",
       "key 'storage.strategy': must be one of: sqlite"},
      {"bad level", "i.yaml", "logging:\n  level: loud\n", "key 'logging.level': must be one of"},
      {"bad bool", "j.yaml", "logging:\n  console: maybe\n", "must be true or false"},
      {"list for scalar", "k.yaml", "aws:\n  region: [a, b]\n", "must be a single value"},
      {"conf dir in file", "l.yaml", "paths:\n  conf_dir: /x\n",
       "cannot be set in the config file"},
      {"float timeout", "m.json", "{\"aws\": {\"connect_timeout_ms\": 1.5}}",
       "must be an integer"},
  };
  for (const BadFileCase& bad : cases) {
    std::string path = Write(std::string("bad/") + bad.file, bad.text);
    Config c = Load({}, path);
    EXPECT_TRUE(c.HasErrors()) << bad.name;
    std::string problems = Problems(c);
    EXPECT_NE(problems.find(path), std::string::npos) << bad.name << ": " << problems;
    EXPECT_NE(problems.find(bad.expected), std::string::npos) << bad.name << ": " << problems;
  }
}

TEST_F(ConfigLoaderTest, ConfigFileThatIsADirectory) {
  fs::create_directories(root_ / "adir.yaml");
  Config c = Load({}, (root_ / "adir.yaml").string());
  EXPECT_TRUE(c.HasErrors());
}

TEST_F(ConfigLoaderTest, EmptyConfigFileSetsNothing) {
  std::string f = Write("conf/empty.yaml", "\n\n");
  Config c = Load({}, f);
  EXPECT_FALSE(c.HasErrors()) << Problems(c);
  EXPECT_EQ(c.Get("storage.strategy"), "sqlite");
}

TEST_F(ConfigLoaderTest, MalformedIbmFile) {
  env_["HF_PROVIDER_CONFDIR"] = Conf();
  Write("conf/awsprov_config.json", "{\"AWS_REGION\": \"us-east-1\",}");
  Config c = Load();
  ASSERT_TRUE(c.HasErrors());
  EXPECT_NE(Problems(c).find("awsprov_config.json: JSON syntax error"), std::string::npos)
      << Problems(c);
  Write("conf/awsprov_config.json", "[1, 2]");
  EXPECT_NE(Problems(Load()).find("must be a JSON object"), std::string::npos);
  Write("conf/awsprov_config.json", R"({"AWS_CONNECTION_TIMEOUT_MS": "soon"})");
  c = Load();
  EXPECT_NE(Problems(c).find("key 'AWS_CONNECTION_TIMEOUT_MS': must be an integer"),
            std::string::npos)
      << Problems(c);
  // The broken value does not stick: the default stays in force.
  EXPECT_EQ(c.GetInt("aws.connect_timeout_ms"), 10000);
}

TEST_F(ConfigLoaderTest, BadEnvironmentAndFlagValuesAreReported) {
  env_["ORB_STORAGE_BUSY_TIMEOUT_MS"] = "-5";
  Config c = Load({{"logging.level", "shouty"}});
  std::string problems = Problems(c);
  EXPECT_NE(problems.find("env ORB_STORAGE_BUSY_TIMEOUT_MS: key 'storage.busy_timeout_ms'"),
            std::string::npos)
      << problems;
  EXPECT_NE(problems.find("flag --log-level"), std::string::npos) << problems;
  EXPECT_EQ(c.GetInt("storage.busy_timeout_ms"), 10000);
}

TEST_F(ConfigLoaderTest, UnknownKeysAndVariablesAreWarnings) {
  env_["ORB_AWS_REGOIN"] = "typo";
  std::string f = Write("conf/orb.yaml", "aws:\n  regoin: us-east-1\n");
  Config c = Load({}, f);
  EXPECT_FALSE(c.HasErrors()) << Problems(c);
  std::string problems = Problems(c);
  EXPECT_NE(problems.find("key 'aws.regoin': unknown key, ignored"), std::string::npos)
      << problems;
  EXPECT_NE(problems.find("env ORB_AWS_REGOIN: unknown variable"), std::string::npos) << problems;
}

TEST_F(ConfigLoaderTest, SecretsNeverAppearInProblems) {
  std::string f = Write("conf/orb.yaml",
                        "aws:\n  secret_access_key: [wJalrXUtnFEMI]\n  access_key_id: AKIDEXAMPLE\n");
  Config c = Load({}, f);
  EXPECT_EQ(Problems(c).find("wJalrXUtnFEMI"), std::string::npos) << Problems(c);
  EXPECT_EQ(c.Get("aws.access_key_id"), "AKIDEXAMPLE");
  EXPECT_TRUE(FindSetting("aws.access_key_id")->secret);
}

TEST(SettingsTest, RegistryIsConsistent) {
  std::set<std::string_view> keys, envs, flags;
  for (const SettingSpec& s : AllSettings()) {
    EXPECT_TRUE(keys.insert(s.key).second) << "duplicate key " << s.key;
    for (std::string_view e : s.env) EXPECT_TRUE(envs.insert(e).second) << "duplicate env " << e;
    if (!s.flag.empty()) {
      EXPECT_TRUE(flags.insert(s.flag).second) << "duplicate flag " << s.flag;
    }
    if (!s.default_value.empty()) {
      EXPECT_EQ(CheckSettingValue(s, s.default_value), "") << s.key << " default is invalid";
    }
    EXPECT_FALSE(s.description.empty()) << s.key;
  }
  EXPECT_EQ(FindSetting("no.such.key"), nullptr);
}

TEST(SettingsTest, ValueChecks) {
  EXPECT_EQ(ParseBool("Yes"), true);
  EXPECT_EQ(ParseBool("off"), false);
  EXPECT_FALSE(ParseBool("2").has_value());
  EXPECT_EQ(NormalizeLogLevel("LOG_INFO"), "info");
  EXPECT_EQ(NormalizeLogLevel("Warning"), "warn");
  EXPECT_FALSE(NormalizeLogLevel("verbose").has_value());
  const SettingSpec* port = FindSetting("aws.proxy_port");
  EXPECT_EQ(CheckSettingValue(*port, "8080"), "");
  EXPECT_NE(CheckSettingValue(*port, "0"), "");
  EXPECT_NE(CheckSettingValue(*port, "80x"), "");
  EXPECT_NE(CheckSettingValue(*port, ""), "");
  EXPECT_NE(CheckSettingValue(*port, "99999999999999999999999"), "");
  EXPECT_EQ(ParseRate("5/2"), std::make_pair(5.0, 2.0));
  EXPECT_EQ(ParseRate(" 100 / 0.5 "), std::make_pair(100.0, 0.5));
  EXPECT_FALSE(ParseRate("5").has_value());
  EXPECT_FALSE(ParseRate("0/2").has_value());
  EXPECT_FALSE(ParseRate("5/x").has_value());
  const SettingSpec* run = FindSetting("aws.rate_limit.run_instances");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->default_value, "5/2");
  EXPECT_EQ(run->env.front(), "ORB_AWS_RATE_LIMIT_RUN_INSTANCES");
  EXPECT_NE(CheckSettingValue(*run, "fast"), "");
  const SettingSpec* name = FindSetting("hostfactory.machine_name");
  EXPECT_EQ(CheckSettingValue(*name, "private_ip"), "");
  EXPECT_EQ(CheckSettingValue(*name, "tag:Name"), "");
  EXPECT_NE(CheckSettingValue(*name, "tag:"), "");
  EXPECT_NE(CheckSettingValue(*name, "hostname"), "");
}

}  // namespace
}  // namespace orb

namespace orb {
namespace {

// docs/configuration.md documents every setting (it is generated from the
// registry; this keeps it from falling behind).
TEST(SettingsTest, EverySettingIsDocumented) {
  std::ifstream in(std::string(ORB_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  for (const SettingSpec& s : AllSettings()) {
    EXPECT_NE(text.str().find("| `" + std::string(s.key) + "` |"), std::string::npos)
        << s.key << " is not in docs/configuration.md";
    for (std::string_view e : s.env) {
      EXPECT_NE(text.str().find("`" + std::string(e) + "`"), std::string::npos) << e;
    }
  }
}

}  // namespace
}  // namespace orb

namespace orb {
namespace {

TEST_F(ConfigLoaderTest, ProvidersListGivesEachInstanceItsOwnSettings) {
  const std::string file = Write("conf/orb.yaml",
                                 "aws:\n  region: eu-west-1\n  connect_timeout_ms: 5000\n"
                                 "providers:\n"
                                 "  - name: east\n    type: aws\n    aws:\n      region: us-east-1\n"
                                 "      access_key_id: AKIAEAST\n      secret_access_key: s3cr3t\n"
                                 "  - name: west-2\n    weight: 3\n    aws:\n"
                                 "      region: us-west-2\n      credential_file: creds\n");
  env_["ORB_CONF_DIR"] = Conf();
  env_["AWS_REGION"] = "ap-south-1";  // an instance's own region beats every tier
  Config c = Load();
  ASSERT_FALSE(c.HasErrors()) << Problems(c);
  ASSERT_TRUE(c.has_provider_list());
  std::vector<ProviderInstanceConfig> p = c.provider_instances();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].name, "east");
  EXPECT_EQ(p[1].weight, 3);
  Config east = c.ForProviderInstance("east");
  EXPECT_EQ(east.Get("aws.region"), "us-east-1");
  EXPECT_EQ(east.Get("provider.name"), "east");
  EXPECT_EQ(east.Get("aws.connect_timeout_ms"), "5000");  // inherited
  EXPECT_EQ(east.Get("aws.access_key_id"), "AKIAEAST");
  Config west = c.ForProviderInstance("west-2");
  EXPECT_EQ(west.Get("aws.region"), "us-west-2");
  EXPECT_EQ(west.Get("aws.credential_file"), (root_ / "conf" / "creds").string());
  EXPECT_EQ(c.Get("aws.region"), "ap-south-1");  // the top level is unchanged
  EXPECT_THROW(c.ForProviderInstance("north"), Error);
}

TEST_F(ConfigLoaderTest, WithoutProvidersListOneInstanceNamedAfterProviderName) {
  env_["HF_PROVIDER_NAME"] = "awsinst";
  Config c = Load();
  EXPECT_FALSE(c.has_provider_list());
  ASSERT_EQ(c.provider_instances().size(), 1u);
  EXPECT_EQ(c.provider_instances()[0].name, "awsinst");
}

TEST_F(ConfigLoaderTest, BadProviderEntriesAreLocatedErrors) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"providers: east\n", "key 'providers': must be a list"},
      {"providers: []\n", "key 'providers': is empty"},
      {"providers:\n  - aws: {region: x}\n", "key 'providers[0].name': missing"},
      {"providers:\n  - name: 'a b'\n", "key 'providers[0].name': must be 1 to 64"},
      {"providers:\n  - name: a\n  - name: a\n",
       "key 'providers[1].name': duplicate provider instance name 'a'"},
      {"providers:\n  - name: a\n    type: gcp\n", "key 'providers[0].type': must be aws"},
      {"providers:\n  - name: a\n    weight: 0\n", "key 'providers[0].weight': must be an integer"},
      {"providers:\n  - name: a\n    colour: red\n", "key 'providers[0].colour': unknown key"},
      {"providers:\n  - name: a\n    aws: {regoin: x}\n", "key 'providers[0].aws.regoin': unknown"},
      {"providers:\n  - name: a\n    aws: {proxy_port: 0}\n",
       "key 'providers[0].aws.proxy_port': must be an integer between 1 and 65535"},
      {"providers:\n  - name: a\n    aws: {secret_access_key: hunter2}\n",
       "key 'providers[0].aws': access_key_id and secret_access_key go together"},
      {"providers:\n  - name: a\n    aws: {rate_limit: {run_instances: fast}}\n",
       "key 'providers[0].aws.rate_limit.run_instances': must be BURST/REFILL"},
  };
  for (const Case& k : cases) {
    const std::string file = Write("bad.yaml", k.yaml);
    Config c = Load({}, file);
    EXPECT_TRUE(c.HasErrors()) << k.yaml;
    EXPECT_NE(Problems(c).find(file + ": " + k.expected), std::string::npos)
        << k.yaml << "\n" << Problems(c);
    EXPECT_EQ(Problems(c).find("hunter2"), std::string::npos) << "[secrets never in messages]";
  }
}

}  // namespace
}  // namespace orb
