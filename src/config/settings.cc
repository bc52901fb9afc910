#include "config/settings.h"

#include <charconv>
#include <deque>

#include "common/strings.h"

// The registry below names only the fields each setting uses; the rest keep
// their defaults, which is what designated initializers are for.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace orb {

namespace {

// Keeps a built name alive for the program's lifetime, for the string_views of the
// registry.
std::string_view InternName(std::string name) {
  static std::deque<std::string> names;
  return names.emplace_back(std::move(name));
}

std::vector<SettingSpec> BuildSettings() {
  using T = SettingType;
  std::vector<SettingSpec> s;
  auto add = [&s](SettingSpec spec) { s.push_back(std::move(spec)); };

  // Where orb finds its files. These cannot be set in the orb config file, since
  // they decide where that file is looked for (conf_dir) or are HostFactory's word.
  add({.key = "provider.name", .type = T::kString,
       .env = {"HF_PROVIDER_NAME", "PROVIDER_NAME", "ORB_PROVIDER_NAME"},
       .flag = "--provider-name",
       .description = "HostFactory provider instance name (selects <name>prov_config.json "
                      "and <name>prov_templates.json)"});
  add({.key = "paths.conf_dir", .type = T::kPath,
       .env = {"HF_PROVIDER_CONFDIR", "PRO_CONF_DIR", "ORB_CONF_DIR"},
       .flag = "--conf-dir",
       .description = "directory holding the provider's config and templates files "
                      "(default: $XDG_CONFIG_HOME/orb)"});
  add({.key = "paths.work_dir", .type = T::kPath,
       .env = {"HF_PROVIDER_WORKDIR", "PRO_DATA_DIR", "ORB_WORK_DIR"},
       .flag = "--work-dir",
       .description = "directory for orb's state (default: $XDG_STATE_HOME/orb)"});
  add({.key = "paths.log_dir", .type = T::kPath,
       .env = {"HF_PROVIDER_LOGDIR", "PRO_LSF_LOGDIR", "ORB_LOG_DIR"},
       .flag = "--log-dir",
       .description = "directory for orb's log file (default: <work_dir>/log)"});

  add({.key = "provider.type", .type = T::kChoice, .default_value = "aws",
       .env = {"ORB_PROVIDER_TYPE"}, .choices = {"aws"},
       .description = "cloud provider of this instance"});

  add({.key = "aws.region", .type = T::kString,
       .env = {"ORB_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"},
       .ibm_key = "AWS_REGION", .flag = "--region",
       .description = "AWS Region to provision in (also the signing region with an endpoint "
                      "override)"});
  add({.key = "aws.profile", .type = T::kString, .env = {"ORB_AWS_PROFILE", "AWS_PROFILE"},
       .ibm_key = "AWS_PROFILE", .flag = "--profile",
       .description = "profile in the shared AWS credentials/config files"});
  add({.key = "aws.credential_file", .type = T::kPath,
       .env = {"ORB_AWS_CREDENTIAL_FILE", "AWS_CREDENTIAL_FILE"},
       .ibm_key = "AWS_CREDENTIAL_FILE",
       .description = "shared credentials file with long-term keys (IBM's AWS_CREDENTIAL_FILE)"});
  add({.key = "aws.access_key_id", .type = T::kString, .env = {"ORB_AWS_ACCESS_KEY_ID"},
       .ibm_key = "AWS_ACCESS_KEY_ID", .secret = true,
       .description = "access key id (prefer a credentials file or an instance profile)"});
  add({.key = "aws.secret_access_key", .type = T::kString,
       .env = {"ORB_AWS_SECRET_ACCESS_KEY"}, .ibm_key = "AWS_SECRET_ACCESS_KEY", .secret = true,
       .description = "secret access key (prefer a credentials file or an instance profile)"});
  add({.key = "aws.session_token", .type = T::kString, .env = {"ORB_AWS_SESSION_TOKEN"},
       .ibm_key = "AWS_SESSION_TOKEN", .secret = true,
       .description = "session token for temporary credentials"});
  add({.key = "aws.key_file", .type = T::kPath, .env = {"ORB_AWS_KEY_FILE"},
       .ibm_key = "AWS_KEY_FILE",
       .description = "directory with the key pair files named by templates' keyName"});
  add({.key = "aws.endpoint_url", .type = T::kString,
       .env = {"ORB_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"},
       .flag = "--endpoint-url",
       .description = "endpoint for every AWS service (private endpoint, emulator)"});
  add({.key = "aws.endpoint_url_ec2", .type = T::kString,
       .env = {"ORB_AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_EC2"}, .ibm_key = "AWS_ENDPOINT_URL",
       .description = "endpoint for EC2 only (IBM's AWS_ENDPOINT_URL is an EC2 endpoint)"});
  add({.key = "aws.endpoint_url_autoscaling", .type = T::kString,
       .env = {"ORB_AWS_ENDPOINT_URL_AUTO_SCALING", "AWS_ENDPOINT_URL_AUTO_SCALING"},
       .description = "endpoint for Auto Scaling only"});
  add({.key = "aws.endpoint_url_sts", .type = T::kString,
       .env = {"ORB_AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_STS"},
       .description = "endpoint for STS only"});
  add({.key = "aws.endpoint_url_ssm", .type = T::kString,
       .env = {"ORB_AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SSM"},
       .description = "endpoint for SSM only (image ids kept in SSM parameters)"});
  add({.key = "aws.endpoint_url_sqs", .type = T::kString,
       .env = {"ORB_AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SQS"},
       .description = "endpoint for SQS only (the interruption queue)"});
  add({.key = "aws.image_cache_ttl_sec", .type = T::kInt, .default_value = "3600",
       .env = {"ORB_AWS_IMAGE_CACHE_TTL_SEC"}, .min = 0, .max = 604800,
       .description = "how long an image id read from an SSM parameter (imageId "
                      "/aws/service/...) is reused before SSM is asked again "
                      "(cache in <work_dir>/cache)"});
  add({.key = "aws.instance_types_cache_ttl_sec", .type = T::kInt, .default_value = "86400",
       .env = {"ORB_AWS_INSTANCE_TYPES_CACHE_TTL_SEC"}, .min = 0, .max = 2592000,
       .description = "how long instance-type facts read with DescribeInstanceTypes are "
                      "reused before a lookup asks EC2 again (cache in <work_dir>/cache); "
                      "template attributes read the cache at any age, and 'orb templates "
                      "refresh' renews it"});
  add({.key = "aws.proxy_host", .type = T::kString,
       .env = {"ORB_AWS_PROXY_HOST", "AWS_PROXY_HOST"}, .ibm_key = "AWS_PROXY_HOST",
       .description = "HTTP proxy host for AWS calls (HTTPS_PROXY/NO_PROXY are honoured too)"});
  add({.key = "aws.proxy_port", .type = T::kInt, .default_value = "80",
       .env = {"ORB_AWS_PROXY_PORT", "AWS_PROXY_PORT"}, .ibm_key = "AWS_PROXY_PORT",
       .min = 1, .max = 65535, .description = "HTTP proxy port"});
  add({.key = "aws.connect_timeout_ms", .type = T::kInt, .default_value = "10000",
       .env = {"ORB_AWS_CONNECT_TIMEOUT_MS"}, .ibm_key = "AWS_CONNECTION_TIMEOUT_MS",
       .min = 1, .max = 2147483647, .description = "connect timeout of one AWS call"});
  add({.key = "aws.read_timeout_ms", .type = T::kInt, .default_value = "30000",
       .env = {"ORB_AWS_READ_TIMEOUT_MS"}, .min = 1, .max = 2147483647,
       .description = "time allowed for one AWS answer once connected"});
  add({.key = "aws.request_retry_attempts", .type = T::kInt, .default_value = "4",
       .env = {"ORB_AWS_REQUEST_RETRY_ATTEMPTS"}, .ibm_key = "AWS_REQUEST_RETRY_ATTEMPTS",
       .min = 0, .max = 10,
       .description = "retries of a throttled or failed AWS call (idempotent calls only)"});

  add({.key = "aws.interruption_queue_url", .type = T::kString,
       .env = {"ORB_AWS_INTERRUPTION_QUEUE_URL"},
       .description = "an SQS queue that an EventBridge rule feeds with this account's \"EC2 "
                      "Spot Instance Interruption Warning\" and \"EC2 Instance Rebalance "
                      "Recommendation\" events; getReturnRequests reads it, records the "
                      "notices of this broker's machines and deletes every message, so the "
                      "queue must serve this provider instance alone (empty: spot interruption "
                      "notices are read from DescribeSpotInstanceRequests only)"});
  add({.key = "aws.rebalance_grace_sec", .type = T::kInt, .default_value = "120",
       .env = {"ORB_AWS_REBALANCE_GRACE_SEC"}, .min = -1, .max = 86400,
       .description = "a machine with a rebalance recommendation from the interruption queue is "
                      "listed by getReturnRequests with this gracePeriod, counted from the "
                      "recommendation (-1 = rebalance recommendations are ignored)"});
  add({.key = "aws.ca_bundle", .type = T::kPath, .env = {"ORB_AWS_CA_BUNDLE", "AWS_CA_BUNDLE"},
       .description = "CA certificates file for TLS to AWS (default: the system's)"});
  add({.key = "aws.retry_base_delay_ms", .type = T::kInt, .default_value = "200",
       .env = {"ORB_AWS_RETRY_BASE_DELAY_MS"}, .min = 1, .max = 60000,
       .description = "first retry waits up to this long; each further retry doubles it "
                      "(full jitter)"});
  add({.key = "aws.retry_max_delay_ms", .type = T::kInt, .default_value = "20000",
       .env = {"ORB_AWS_RETRY_MAX_DELAY_MS"}, .min = 1, .max = 600000,
       .description = "longest wait before one retry"});
  add({.key = "aws.max_pacing_wait_ms", .type = T::kInt, .default_value = "60000",
       .env = {"ORB_AWS_MAX_PACING_WAIT_MS"}, .min = 0, .max = 600000,
       .description = "longest wait for the client-side rate limit before a call fails"});
  add({.key = "aws.circuit_breaker_failures", .type = T::kInt, .default_value = "5",
       .env = {"ORB_AWS_CIRCUIT_BREAKER_FAILURES"}, .min = 1, .max = 1000,
       .description = "consecutive network/5xx failures of an endpoint before orb fails fast"});
  add({.key = "aws.circuit_breaker_open_sec", .type = T::kInt, .default_value = "30",
       .env = {"ORB_AWS_CIRCUIT_BREAKER_OPEN_SEC"}, .min = 1, .max = 3600,
       .description = "how long orb fails fast before trying the endpoint again"});
  add({.key = "aws.imds_timeout_ms", .type = T::kInt, .default_value = "1000",
       .env = {"ORB_AWS_IMDS_TIMEOUT_MS"}, .min = 50, .max = 60000,
       .description = "timeout of each instance-metadata call (instance-profile credentials)"});
  add({.key = "aws.max_instances_per_call", .type = T::kInt, .default_value = "1000",
       .env = {"ORB_AWS_MAX_INSTANCES_PER_CALL"}, .min = 1, .max = 1000,
       .description = "most instances one RunInstances call asks for; larger requests are "
                      "split into several calls (EC2 allows 1000)"});
  // Client-side rate limits per EC2 API family: AWS's default token buckets.
  const std::pair<const char*, const char*> rates[] = {
      {"run_instances", "5/2"},   {"terminate_instances", "100/5"}, {"mutating", "50/5"},
      {"describe", "100/20"},     {"create_tags", "100/10"},
      {"describe_spot_fleet_instances", "100/5"}, {"autoscaling", "20/5"}, {"sts", "50/10"}};
  for (const auto& [family, rate] : rates) {
    add({.key = InternName(std::string("aws.rate_limit.") + family), .type = T::kRate,
         .default_value = rate, .env = {InternName("ORB_AWS_RATE_LIMIT_" + ToUpperSnake(family))},
         .description = "client-side rate limit of this API family: BURST/REFILL_PER_SECOND "
                        "(raise it with your account's limits)"});
  }

  add({.key = "hostfactory.machine_name", .type = T::kString, .default_value = "private_dns",
       .env = {"ORB_MACHINE_NAME"},
       .description = "what a machine's host name is: private_dns, private_ip, or tag:<Key> "
                      "(the value of that instance tag)"});

  add({.key = "request.instance_pending_timeout_sec", .type = T::kInt, .default_value = "900",
       .env = {"ORB_INSTANCE_PENDING_TIMEOUT_SEC"},
       .ibm_key = "AWS_INSTANCE_PENDING_TIMEOUT_SEC", .min = 60, .max = 86400,
       .description = "a machine not usable after this long is failed and terminated"});
  add({.key = "request.timeout_sec", .type = T::kInt, .default_value = "3600",
       .env = {"ORB_REQUEST_TIMEOUT_SEC"}, .min = 60, .max = 604800,
       .description = "an acquire request still running after this long is expired"});

  add({.key = "request.visibility_grace_sec", .type = T::kInt, .default_value = "120",
       .env = {"ORB_VISIBILITY_GRACE_SEC"}, .min = 0, .max = 3600,
       .description = "a new machine the cloud does not list yet is not taken for gone "
                      "before this long (EC2 is eventually consistent)"});
  add({.key = "request.launch_retry_sec", .type = T::kInt, .default_value = "60",
       .env = {"ORB_LAUNCH_RETRY_SEC"}, .min = 1, .max = 3600,
       .description = "an interrupted launch is resumed by a status call once it is this old "
                      "(same call, same idempotency token)"});
  add({.key = "request.failed_pool_ttl_sec", .type = T::kInt, .default_value = "180",
       .env = {"ORB_FAILED_POOL_TTL_SEC"}, .min = 0, .max = 86400,
       .description = "a capacity pool (instance type, subnet, price type) that failed for "
                      "capacity, quota or price is tried last for this long (0 = forget at once)"});
  add({.key = "request.spot_fallback_after", .type = T::kInt, .default_value = "0",
       .env = {"ORB_SPOT_FALLBACK_AFTER"}, .min = 0, .max = 1000,
       .description = "after this many spot pools failed within one request, RunInstances "
                      "launches the rest on demand (0 = never buy on demand for a spot template)"});
  add({.key = "request.group_watch_sec", .type = T::kInt, .default_value = "120",
       .env = {"ORB_GROUP_WATCH_SEC"}, .min = 0, .max = 86400,
       .description = "how often getReturnRequests asks a completed request's live group "
                      "(maintain fleet, Auto Scaling group) for machines it launched to replace "
                      "lost ones, which are then attached to the request"});
  add({.key = "reconcile.orphan_grace_sec", .type = T::kInt, .default_value = "300",
       .env = {"ORB_RECONCILE_ORPHAN_GRACE_SEC"}, .min = 0, .max = 604800,
       .description = "an instance tagged by this broker that no request owns is terminated by "
                      "`orb reconcile` once it is this old (younger ones may belong to a launch "
                      "whose record is being written)"});
  add({.key = "reconcile.unacknowledged_grace_sec", .type = T::kInt, .default_value = "300",
       .env = {"ORB_RECONCILE_UNACKNOWLEDGED_GRACE_SEC"}, .min = 0, .max = 604800,
       .description = "an acquire request whose creating call never answered (its process died "
                      "or was killed by HostFactory's timeout) is given back by the reconciler "
                      "once idle this long: its groups deleted, its instances terminated"});
  add({.key = "server.host", .type = T::kString, .default_value = "127.0.0.1",
       .env = {"ORB_SERVER_HOST"}, .flag = "--host",
       .description = "address `orb serve` listens on; one that is not loopback (127.0.0.1, "
                      "::1, localhost) needs credentials (server.api_keys_file or a JWT key)"});
  add({.key = "server.port", .type = T::kInt, .default_value = "8000",
       .env = {"ORB_SERVER_PORT"}, .flag = "--port", .min = 0, .max = 65535,
       .description = "TCP port `orb serve` listens on (0: any free port, logged)"});
  add({.key = "server.threads", .type = T::kInt, .default_value = "64",
       .env = {"ORB_SERVER_THREADS"}, .min = 1, .max = 1024,
       .description = "connections `orb serve` serves at once, a thread each (a keep-alive "
                      "connection holds its thread; more wait to be accepted)"});
  add({.key = "server.brokers", .type = T::kInt, .default_value = "8",
       .env = {"ORB_SERVER_BROKERS"}, .min = 1, .max = 256,
       .description = "brokers the server threads share, each with its own store "
                      "connection; a call waits while all are busy"});
  add({.key = "server.max_body_bytes", .type = T::kInt, .default_value = "1048576",
       .env = {"ORB_SERVER_MAX_BODY_BYTES"}, .min = 1024, .max = 67108864,
       .description = "largest request body `orb serve` accepts (larger: 413)"});
  add({.key = "server.read_timeout_sec", .type = T::kInt, .default_value = "10",
       .env = {"ORB_SERVER_READ_TIMEOUT_SEC"}, .min = 1, .max = 3600,
       .description = "a client that sends nothing (or takes no answer) this long is "
                      "disconnected, so slow clients cannot hold every worker"});
  add({.key = "server.max_streams", .type = T::kInt, .default_value = "32",
       .env = {"ORB_SERVER_MAX_STREAMS"}, .min = 0, .max = 1024,
       .description = "server-sent-event streams open at once (each holds a thread of its "
                      "own); more are refused with 503"});
  add({.key = "server.events_poll_ms", .type = T::kInt, .default_value = "1000",
       .env = {"ORB_SERVER_EVENTS_POLL_MS"}, .min = 100, .max = 60000,
       .description = "how often `orb serve` reads the store and templates file for the "
                      "changes it streams as events"});
  add({.key = "server.stream_poll_sec", .type = T::kInt, .default_value = "10",
       .env = {"ORB_SERVER_STREAM_POLL_SEC"}, .min = 1, .max = 3600,
       .description = "a request's event stream polls the cloud for it this often while it "
                      "is open, as getRequestStatus does"});
  add({.key = "server.tls_cert_file", .type = T::kPath, .env = {"ORB_SERVER_TLS_CERT_FILE"},
       .description = "certificate chain (PEM) for HTTPS; with server.tls_key_file, `orb serve` "
                      "speaks only HTTPS"});
  add({.key = "server.tls_key_file", .type = T::kPath, .env = {"ORB_SERVER_TLS_KEY_FILE"},
       .description = "private key (PEM) of server.tls_cert_file; keep it mode 0600"});
  // Access control of `orb serve` (src/api/access_control.h, docs/rest-api.md).
  add({.key = "server.api_keys_file", .type = T::kPath, .env = {"ORB_SERVER_API_KEYS_FILE"},
       .description = "YAML or JSON list of API keys {name, role, key_sha256 or key}; when "
                      "set, every call but the probes needs a key or token"});
  add({.key = "server.jwt_hs256_secret_file", .type = T::kPath,
       .env = {"ORB_SERVER_JWT_HS256_SECRET_FILE"},
       .description = "file holding the shared secret (32 bytes or more) of HS256 bearer "
                      "tokens; must be mode 0600"});
  add({.key = "server.jwt_rs256_public_key_file", .type = T::kPath,
       .env = {"ORB_SERVER_JWT_RS256_PUBLIC_KEY_FILE"},
       .description = "RSA public key (PEM) that verifies RS256 bearer tokens"});
  add({.key = "server.jwt_issuer", .type = T::kString, .env = {"ORB_SERVER_JWT_ISSUER"},
       .description = "when set, a token's `iss` claim must equal it"});
  add({.key = "server.jwt_audience", .type = T::kString, .env = {"ORB_SERVER_JWT_AUDIENCE"},
       .description = "when set, a token's `aud` claim must be or contain it"});
  add({.key = "server.rate_limit", .type = T::kRate, .default_value = "200/100",
       .env = {"ORB_SERVER_RATE_LIMIT"},
       .description = "calls per client (principal, else address): BURST/REFILL_PER_SECOND, "
                      "or off; past it: 429 with Retry-After"});
  add({.key = "server.cors_origins", .type = T::kString, .env = {"ORB_SERVER_CORS_ORIGINS"},
       .description = "comma-separated exact origins browsers may call from "
                      "(https://ops.example.com); empty: CORS off"});
  add({.key = "server.audit_log_file", .type = T::kPath, .env = {"ORB_SERVER_AUDIT_LOG_FILE"},
       .description = "JSON line per mutating call (who, what, status; default: "
                      "<log_dir>/audit.log, mode 0600)"});
  add({.key = "server.docs_dir", .type = T::kPath, .env = {"ORB_SERVER_DOCS_DIR"},
       .description = "directory holding Swagger UI's files (swagger-ui.css, "
                      "swagger-ui-bundle.js, swagger-ui-standalone-preset.js) for the API page "
                      "/docs (default: the first of <prefix>/share/orb/swagger-ui next to "
                      "orb-server and the build's node_modules/swagger-ui-dist, installed by "
                      "tools/setup.sh)"});
  add({.key = "server.pid_file", .type = T::kPath, .env = {"ORB_SERVER_PID_FILE"},
       .description = "pid file of the background server (`orb server start|stop|status`; "
                      "default: <work_dir>/orb-server.pid)"});
  add({.key = "reconcile.interval_sec", .type = T::kInt, .default_value = "300",
       .env = {"ORB_RECONCILE_INTERVAL_SEC"}, .min = 0, .max = 86400,
       .description = "getRequestStatus also adopts or terminates untracked instances (as "
                      "`orb reconcile`) when the last pass is older than this (0 = only "
                      "`orb reconcile`)"});
  add({.key = "broker.id", .type = T::kString, .env = {"ORB_BROKER_ID"},
       .description = "stable id of this installation, tagged on every instance as "
                      "orb:broker-id (default: generated once into <work_dir>/broker-id)"});

  add({.key = "templates.file", .type = T::kPath, .env = {"ORB_TEMPLATES_FILE"},
       .flag = "--templates",
       .description = "templates file (default: <name>prov_templates.json, "
                      "awsprov_templates.json, templates.json/.yaml in conf_dir)"});

  add({.key = "storage.strategy", .type = T::kChoice, .default_value = "sqlite",
       .env = {"ORB_STORAGE_STRATEGY"}, .choices = {"sqlite", "postgresql"},
       .description = "where requests and machines are kept: sqlite (one host) or "
                      "postgresql (several brokers sharing one database)"});
  add({.key = "storage.path", .type = T::kPath, .env = {"ORB_STORAGE_PATH"},
       .description = "SQLite database file (default: <work_dir>/orb.db)"});
  add({.key = "storage.url", .type = T::kString, .env = {"ORB_STORAGE_URL"}, .secret = true,
       .description = "postgresql: the server as a libpq URL, e.g. "
                      "postgresql://orb@db.example.com:5432/orb?sslmode=verify-full&"
                      "sslrootcert=/etc/orb/db-ca.pem (keep the password out of it)"});
  add({.key = "storage.password", .type = T::kString, .env = {"ORB_STORAGE_PASSWORD"},
       .secret = true,
       .description = "postgresql: the password (prefer storage.password_file; libpq's "
                      "PGPASSWORD and ~/.pgpass work too)"});
  add({.key = "storage.password_file", .type = T::kPath, .env = {"ORB_STORAGE_PASSWORD_FILE"},
       .description = "postgresql: file holding the password (mode 0600; trailing newline "
                      "ignored)"});
  add({.key = "storage.schema", .type = T::kString, .default_value = "orb",
       .env = {"ORB_STORAGE_SCHEMA"},
       .description = "postgresql: the schema holding orb's tables (created when missing); "
                      "brokers sharing state use the same one"});
  add({.key = "storage.busy_timeout_ms", .type = T::kInt, .default_value = "10000",
       .env = {"ORB_STORAGE_BUSY_TIMEOUT_MS"}, .min = 1, .max = 600000,
       .description = "how long to wait for another orb process's lock on the store"});

  add({.key = "logging.level", .type = T::kChoice, .default_value = "info",
       .env = {"ORB_LOG_LEVEL", "HF_LOGLEVEL"}, .ibm_key = "LogLevel", .flag = "--log-level",
       .choices = {"trace", "debug", "info", "warn", "error", "critical", "off"},
       .description = "least severe log level written"});
  add({.key = "logging.file", .type = T::kPath, .env = {"ORB_LOG_FILE"},
       .description = "log file (default: <log_dir>/orb.log)"});
  add({.key = "logging.max_size_mb", .type = T::kInt, .default_value = "20",
       .env = {"ORB_LOG_MAX_SIZE_MB"}, .min = 1, .max = 10240,
       .description = "the log file is rotated when it reaches this size"});
  add({.key = "logging.max_files", .type = T::kInt, .default_value = "5",
       .env = {"ORB_LOG_MAX_FILES"}, .min = 1, .max = 1000,
       .description = "rotated log files kept (orb.1.log ... orb.N.log)"});
  add({.key = "logging.console", .type = T::kBool, .default_value = "false",
       .env = {"ORB_LOG_CONSOLE"},
       .description = "also write logs to stderr (never to stdout)"});
  return s;
}

}  // namespace

const std::vector<SettingSpec>& AllSettings() {
  static const std::vector<SettingSpec> settings = BuildSettings();
  return settings;
}

const SettingSpec* FindSetting(std::string_view key) {
  for (const SettingSpec& s : AllSettings()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::optional<std::pair<double, double>> ParseRate(std::string_view value) {
  std::vector<std::string> parts = SplitTrimmed(value, '/');
  if (parts.size() != 2) return std::nullopt;
  double numbers[2];
  for (int i = 0; i < 2; ++i) {
    const std::string& p = parts[static_cast<std::size_t>(i)];
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), numbers[i]);
    if (ec != std::errc() || ptr != p.data() + p.size() || !(numbers[i] > 0)) return std::nullopt;
  }
  return std::make_pair(numbers[0], numbers[1]);
}

std::optional<bool> ParseBool(std::string_view value) {
  const std::string v = ToLower(Trim(value));
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

std::optional<std::string> NormalizeLogLevel(std::string_view value) {
  std::string v = ToLower(Trim(value));
  if (v.rfind("log_", 0) == 0) v = v.substr(4);
  // HostFactory passes syslog-style names (LOG_NOTICE, LOG_ERR, LOG_CRIT, ...).
  if (v == "warning") v = "warn";
  if (v == "notice") v = "info";
  if (v == "err") v = "error";
  if (v == "fatal" || v == "crit" || v == "alert" || v == "emerg") v = "critical";
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (v == level) return v;
  }
  return std::nullopt;
}

std::string CheckSettingValue(const SettingSpec& spec, std::string_view value) {
  switch (spec.type) {
    case SettingType::kString:
      if (spec.key == "hostfactory.machine_name") {
        std::string v(Trim(value));
        if (v == "private_dns" || v == "private_ip" || (v.rfind("tag:", 0) == 0 && v.size() > 4)) {
          return "";
        }
        return "must be private_dns, private_ip or tag:<Key>";
      }
      return "";
    case SettingType::kPath:
      return "";
    case SettingType::kBool:
      return ParseBool(value) ? "" : "must be true or false";
    case SettingType::kRate:
      if (spec.key == "server.rate_limit" && (Trim(value) == "off" || Trim(value) == "0")) return "";
      return ParseRate(value) ? "" : "must be BURST/REFILL_PER_SECOND with numbers > 0, e.g. 5/2";
    case SettingType::kInt: {
      std::string_view v = Trim(value);
      long long n = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      const bool bounded = spec.min != 0 || spec.max != 0;
      std::string range = bounded ? " between " + std::to_string(spec.min) + " and " +
                                        std::to_string(spec.max)
                                  : "";
      if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
        return "must be an integer" + range;
      }
      if (bounded && (n < spec.min || n > spec.max)) return "must be an integer" + range;
      return "";
    }
    case SettingType::kChoice: {
      std::string v(Trim(value));
      if (spec.key == "logging.level") {
        if (auto level = NormalizeLogLevel(v)) return "";
      }
      for (std::string_view c : spec.choices) {
        if (ToLower(v) == c) return "";
      }
      std::vector<std::string> names(spec.choices.begin(), spec.choices.end());
      return "must be one of: " + Join(names, ", ");
    }
  }
  return "";
}

}  // namespace orb
