#pragma once

// Drives orb's five HostFactory provider scripts exactly as IBM Symphony
// HostFactory does: each call a new process running `<script> -f <input file>`
// from an unrelated current directory, with HostFactory's environment, the input
// in a fresh /tmp/hf_in_XXXXXX file deleted after the call, a time limit, and
// stdout read as the one JSON document of the answer. Also reads the cloud side
// (moto) directly, behind the broker's back.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "provider/aws/aws_client.h"
#include "provider/aws/ec2_client.h"

namespace orb::testing {

// The five scripts of the contract, in the order HostFactory first uses them.
inline constexpr const char* kGetAvailableTemplates = "getAvailableTemplates.sh";
inline constexpr const char* kRequestMachines = "requestMachines.sh";
inline constexpr const char* kGetRequestStatus = "getRequestStatus.sh";
inline constexpr const char* kRequestReturnMachines = "requestReturnMachines.sh";
inline constexpr const char* kGetReturnRequests = "getReturnRequests.sh";

// The instance tag orb puts the request id in (the contract's adoption key).
inline constexpr const char* kRequestIdTagKey = "orb:request-id";

// What one script call did.
struct HfCallResult {
  std::string script;             // e.g. "requestMachines.sh"
  std::vector<std::string> args;  // the arguments after the script
  std::string input;              // the input file's text ("" when no file was written)
  pid_t pid = -1;                 // the script's process (orb's, since the script execs it)
  int exit_code = -1;             // exit status, or 128 + signal when killed
  bool timed_out = false;         // killed by the harness for overrunning its time limit
  bool killed = false;            // killed on purpose by the test (crash simulation)
  std::string out;                // everything written on stdout
  std::string err;                // everything written on stderr
  double seconds = 0;             // wall time of the call
  bool json_ok = false;           // stdout is exactly one JSON document and nothing else
  std::string json_error;         // why not, when !json_ok
  nlohmann::json doc;             // stdout parsed (null when !json_ok)

  // A multi-line account of the call and its answer, for failure messages.
  std::string Describe() const;
};

// Which environment variables a call gets, as the different hosts set them.
enum class HfEnvStyle {
  kHostFactory,      // HF_PROVIDER_NAME/CONFDIR/WORKDIR/LOGDIR
  kHostFactoryFull,  // the above plus HF_TOP, HF_VERSION, HF_CONFDIR, HF_WORKDIR,
                     // HF_LOGDIR, HF_DBDIR and HF_LOGLEVEL=LOG_DEBUG
  kMinimal,          // only HF_PROVIDER_NAME and HF_PROVIDER_CONFDIR
  kLsf,              // LSF resource connector: PROVIDER_NAME, PRO_CONF_DIR, PRO_DATA_DIR,
                     // PRO_LSF_LOGDIR
};

// How the scripts find the orb binary.
enum class HfOrbLookup {
  kEnvVar,         // $ORB_BIN = ORB_BINARY; scripts copied to a loose scriptPath folder
  kInstallPrefix,  // scripts in <prefix>/share/orb/scripts/hostfactory, orb at <prefix>/bin
  kPath,           // orb only on PATH
};

// Choices for an HfSandbox.
struct HfSandboxOptions {
  HfEnvStyle env_style = HfEnvStyle::kHostFactory;
  HfOrbLookup orb_lookup = HfOrbLookup::kEnvVar;
  std::string provider_name = "awsinst";
  std::chrono::seconds call_timeout{60};
};

// A running script call (see HfSandbox::Start).
struct HfProcess {
  pid_t pid = -1;
  std::string script;
  std::vector<std::string> args;
  std::string input;
  std::string input_path;  // deleted by Wait
  std::string out_path, err_path;
  std::chrono::steady_clock::time_point started;
};

// A provider instance as HostFactory sets one up, in a fresh temp folder: the
// scripts copied from <ORB_SOURCE_DIR>/scripts/hostfactory into a scriptPath of
// their own, conf/log/work/home folders, an empty current directory, and the
// environment of `options.env_style`. Removes the folder when destroyed. Every
// call is recorded in transcript() for failure reports. Thread-safe for calls.
class HfSandbox {
 public:
  // `endpoint` is the AWS endpoint the provider config points at (moto or a proxy).
  explicit HfSandbox(std::string endpoint, HfSandboxOptions options = {});
  ~HfSandbox();
  HfSandbox(const HfSandbox&) = delete;
  HfSandbox& operator=(const HfSandbox&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path conf_dir() const { return root_ / "conf"; }
  std::filesystem::path work_dir() const { return root_ / "work"; }
  std::filesystem::path log_dir() const { return root_ / "log"; }
  std::filesystem::path home_dir() const { return root_ / "home"; }
  std::filesystem::path cwd_dir() const { return root_ / "cwd"; }
  const std::filesystem::path& script_dir() const { return script_dir_; }
  const std::string& endpoint() const { return endpoint_; }
  const HfSandboxOptions& options() const { return options_; }

  // The AWS secret key the calls get: distinctive, so that a leak is findable.
  static const char* SecretKey();

  // Writes <name>prov_config.json: region us-east-1, AWS_ENDPOINT_URL = endpoint()
  // (or `endpoint` when given), plus `extra` keys.
  void WriteConfig(const nlohmann::json& extra = nlohmann::json::object(),
                   const std::string& endpoint = "");

  // Writes <name>prov_templates.json from `doc`, or `text` verbatim.
  void WriteTemplates(const nlohmann::json& doc);
  void WriteTemplatesText(const std::string& text);
  std::filesystem::path templates_path() const;

  // The environment of the calls (edit it before calling).
  std::map<std::string, std::string>& env() { return env_; }

  // Calls started from now on run with RLIMIT_FSIZE = `bytes` (a write that would
  // grow a file past it fails with EFBIG, SIGXFSZ ignored), as on a disk that has no
  // room left for growth; a negative value lifts the limit.
  void SetFileSizeLimit(long long bytes) { file_size_limit_ = bytes; }

  // Calls `script -f <fresh /tmp/hf_in_XXXXXX holding input>` and waits for it
  // (killing it past the time limit).
  HfCallResult Call(const std::string& script, const std::string& input);
  HfCallResult Call(const std::string& script, const nlohmann::json& input) {
    return Call(script, input.dump());
  }
  HfCallResult Call(const std::string& script, const char* input) {
    return Call(script, std::string(input));
  }

  // Calls `script args...` without writing an input file (missing-file cases).
  HfCallResult CallWithArgs(const std::string& script, const std::vector<std::string>& args);

  // Starts a call like Call() without waiting.
  HfProcess Start(const std::string& script, const std::string& input);

  // True while a started call's process has not exited (does not reap it).
  static bool Running(const HfProcess& process);

  // Waits for a started call, killing it past the time limit; deletes its input file.
  HfCallResult Wait(HfProcess& process);

  // Kills a started call at once (SIGKILL to its process group) and reaps it.
  HfCallResult Kill(HfProcess& process);

  // Every call so far, described.
  std::vector<std::string> transcript() const;

  // The last lines of every *.log file in the sandbox (orb's logs, wherever they went).
  std::string LogTail(std::size_t max_lines = 60) const;

 private:
  HfProcess Spawn(const std::string& program, const std::string& display_name,
                  const std::vector<std::string>& args, const std::string& input,
                  const std::string& input_path);
  HfCallResult Finish(HfProcess& process, bool kill_now);

  std::string endpoint_;
  HfSandboxOptions options_;
  std::filesystem::path root_;
  std::filesystem::path script_dir_;
  std::map<std::string, std::string> env_;
  mutable std::mutex mu_;
  std::vector<std::string> transcript_;
  int next_call_ = 0;
  long long file_size_limit_ = -1;
};

// Checks one answer against the parts of the contract every call shares: the
// time limit held, stdout is exactly one JSON object. Returns "" when fine, else
// what is wrong.
std::string CheckWireBasics(const HfCallResult& r);

// The cloud side of a test, read and changed behind the broker's back.
class MotoSide {
 public:
  explicit MotoSide(const std::string& endpoint);

  // An AMI moto knows (x86_64), found with DescribeImages.
  std::string ImageId();

  // A subnet of moto's default VPC in us-east-1, found with DescribeSubnets.
  std::string SubnetId();

  // Instances carrying tag orb:request-id = `request_id`, in every state.
  std::vector<Instance> InstancesOfRequest(const std::string& request_id);

  // Every instance moto holds, in every state.
  std::vector<Instance> AllInstances();

  // Every instance by id (state etc.); ids moto does not know are absent.
  std::map<std::string, Instance> InstancesById(const std::vector<std::string>& ids);

  // Terminates instances directly.
  void Terminate(const std::vector<std::string>& ids);

  // Stops instances directly (StopInstances).
  void Stop(const std::vector<std::string>& ids);

  Ec2Client& ec2() { return ec2_; }

  // The Auto Scaling groups moto holds, by name.
  std::vector<std::string> AutoScalingGroupNames();

  // Sets an Auto Scaling group's desired capacity directly (moto launches or
  // terminates members at once), as the group would on its own.
  void SetDesiredCapacity(const std::string& group, int desired);

 private:
  AwsClient aws_;
  Ec2Client ec2_;
};

// The suite's templates file (tests/data/hostfactory/awsinstprov_templates.json.in)
// with ${IMAGE_ID} and ${SUBNET_ID} filled in.
nlohmann::json SuiteTemplates(const std::string& image_id, const std::string& subnet_id);

}  // namespace orb::testing
