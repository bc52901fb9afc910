#include "hostfactory/hf_harness.h"

#include <fcntl.h>
#include <spawn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "provider/aws/autoscaling_client.h"
#include "support/moto_server.h"
#include "support/sanitizer_report.h"

namespace orb::testing {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteText(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

// `text` cut to `max` characters, saying how much was left out.
std::string Clip(const std::string& text, std::size_t max = 4000) {
  if (text.size() <= max) return text;
  return text.substr(0, max) + "\n... (" + std::to_string(text.size() - max) + " more characters)";
}

std::string Indent(const std::string& text) {
  std::string out = "    ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}

}  // namespace

std::string HfCallResult::Describe() const {
  std::ostringstream s;
  s << "$ " << script;
  for (const std::string& a : args) s << " " << a;
  s << "\n  input: " << (input.empty() ? "(none)" : Clip(input, 2000));
  s << "\n  exit: " << exit_code;
  if (timed_out) s << " (KILLED: overran its time limit)";
  if (killed) s << " (killed by the test)";
  s << "  after " << seconds << " s";
  s << "\n  stdout:\n" << Indent(Clip(out));
  if (!json_ok && !killed) s << "\n  stdout is not one JSON document: " << json_error;
  s << "\n  stderr:\n" << Indent(Clip(err, 2000));
  return s.str();
}

std::string CheckWireBasics(const HfCallResult& r) {
  if (r.timed_out) return "the call overran its time limit and was killed";
  if (!r.json_ok) return "stdout is not exactly one JSON document: " + r.json_error;
  if (!r.doc.is_object()) return "stdout is JSON but not an object";
  return "";
}

// ---------------------------------------------------------------------------
// HfSandbox

const char* HfSandbox::SecretKey() { return "hfConformanceSecretKey/DoNotLog+9f3A7c21E8b4"; }

HfSandbox::HfSandbox(std::string endpoint, HfSandboxOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  std::random_device rd;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? info->name() : "hf";
  std::replace(name.begin(), name.end(), '/', '_');
  root_ = fs::temp_directory_path() / ("orb-hf-" + std::to_string(::getpid()) + "-" + name + "-" +
                                       std::to_string(rd() % 100000));
  fs::remove_all(root_);
  for (const fs::path& d : {conf_dir(), work_dir(), log_dir(), home_dir(), cwd_dir()}) {
    fs::create_directories(d);
  }
  fs::create_directories(root_ / "calls");

  // The scripts, copied (with their permissions) to where this layout wants them.
  const fs::path source = fs::path(ORB_SOURCE_DIR) / "scripts" / "hostfactory";
  std::string path = "/usr/bin:/bin";
  switch (options_.orb_lookup) {
    case HfOrbLookup::kEnvVar:
      script_dir_ = root_ / "hfplugin" / "scripts";
      break;
    case HfOrbLookup::kInstallPrefix:
      script_dir_ = root_ / "prefix" / "share" / "orb" / "scripts" / "hostfactory";
      fs::create_directories(root_ / "prefix" / "bin");
      fs::create_symlink(fs::absolute(ORB_BINARY), root_ / "prefix" / "bin" / "orb");
      break;
    case HfOrbLookup::kPath:
      script_dir_ = root_ / "hfplugin" / "scripts";
      fs::create_directories(root_ / "pathbin");
      fs::create_symlink(fs::absolute(ORB_BINARY), root_ / "pathbin" / "orb");
      path += ":" + (root_ / "pathbin").string();
      break;
  }
  fs::create_directories(script_dir_);
  if (fs::is_directory(source)) {
    for (const auto& entry : fs::directory_iterator(source)) {
      if (entry.is_regular_file()) {
        fs::copy_file(entry.path(), script_dir_ / entry.path().filename(),
                      fs::copy_options::overwrite_existing);
      }
    }
  }

  env_ = {{"HOME", home_dir().string()},
          {"PATH", path},
          {"AWS_ACCESS_KEY_ID", "testing"},
          {"AWS_SECRET_ACCESS_KEY", SecretKey()}};
  if (options_.orb_lookup == HfOrbLookup::kEnvVar) env_["ORB_BIN"] = ORB_BINARY;
  const std::string& n = options_.provider_name;
  switch (options_.env_style) {
    case HfEnvStyle::kHostFactoryFull: {
      const fs::path top = root_ / "hf";
      for (const char* d : {"conf", "work", "log", "db"}) fs::create_directories(top / d);
      env_["HF_TOP"] = top.string();
      env_["HF_VERSION"] = "1.2";
      env_["HF_CONFDIR"] = (top / "conf").string();
      env_["HF_WORKDIR"] = (top / "work").string();
      env_["HF_LOGDIR"] = (top / "log").string();
      env_["HF_DBDIR"] = (top / "db").string();
      env_["HF_LOGLEVEL"] = "LOG_DEBUG";
      [[fallthrough]];
    }
    case HfEnvStyle::kHostFactory:
      env_["HF_PROVIDER_NAME"] = n;
      env_["HF_PROVIDER_CONFDIR"] = conf_dir().string();
      env_["HF_PROVIDER_WORKDIR"] = work_dir().string();
      env_["HF_PROVIDER_LOGDIR"] = log_dir().string();
      break;
    case HfEnvStyle::kMinimal:
      env_["HF_PROVIDER_NAME"] = n;
      env_["HF_PROVIDER_CONFDIR"] = conf_dir().string();
      break;
    case HfEnvStyle::kLsf:
      env_["PROVIDER_NAME"] = n;
      env_["PRO_CONF_DIR"] = conf_dir().string();
      env_["PRO_DATA_DIR"] = work_dir().string();
      env_["PRO_LSF_LOGDIR"] = log_dir().string();
      break;
  }
}

HfSandbox::~HfSandbox() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

void HfSandbox::WriteConfig(const json& extra, const std::string& endpoint) {
  json config = {{"AWS_REGION", "us-east-1"},
                 {"AWS_ENDPOINT_URL", endpoint.empty() ? endpoint_ : endpoint}};
  for (const auto& [k, v] : extra.items()) config[k] = v;
  WriteText(conf_dir() / (options_.provider_name + "prov_config.json"), config.dump(2));
  // IBM's AWS_ENDPOINT_URL is the EC2 endpoint only; the other services are
  // pointed at the same emulator in orb's own config file.
  const std::string all = endpoint.empty() ? endpoint_ : endpoint;
  WriteText(conf_dir() / "orb.yaml", "aws:\n  endpoint_url_autoscaling: " + all +
                                         "\n  endpoint_url_sts: " + all +
                                         "\n  endpoint_url_ssm: " + all + "\n");
}

fs::path HfSandbox::templates_path() const {
  return conf_dir() / (options_.provider_name + "prov_templates.json");
}

void HfSandbox::WriteTemplates(const json& doc) { WriteTemplatesText(doc.dump(2)); }

void HfSandbox::WriteTemplatesText(const std::string& text) {
  // Write beside and rename, as an operator's editor would: a call never sees half a file.
  const fs::path tmp = root_ / "templates.tmp";
  WriteText(tmp, text);
  fs::rename(tmp, templates_path());
}

HfProcess HfSandbox::Spawn(const std::string& program, const std::string& display_name,
                           const std::vector<std::string>& args, const std::string& input,
                           const std::string& input_path) {
  HfProcess p;
  p.script = display_name;
  p.args = args;
  p.input = input;
  p.input_path = input_path;
  int n = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = next_call_++;
  }
  p.out_path = (root_ / "calls" / (std::to_string(n) + ".out")).string();
  p.err_path = (root_ / "calls" / (std::to_string(n) + ".err")).string();

  // Everything the child needs is built before fork (only async-signal-safe calls after).
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string program_copy = program;
  std::vector<std::string> arg_strings = args;
  std::vector<char*> argv = {program_copy.data()};
  for (std::string& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string cwd = cwd_dir().string();
  const std::string out = p.out_path, err = p.err_path;
  const long long file_size_limit = file_size_limit_;
  static const char kExecFailed[] = "hf harness: exec failed: ";

  p.started = std::chrono::steady_clock::now();
  if (file_size_limit < 0) {
    // posix_spawn where it can do all the child needs: a forked child of this
    // threaded process can deadlock before exec (seen under the sanitizers). A
    // program that cannot be started falls through to fork, which reports it with
    // a shell's exit codes.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t spawned_pid = -1;
    const int rc = posix_spawn(&spawned_pid, program_copy.c_str(), &actions, &attr, argv.data(),
                               envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc == 0) {
      p.pid = spawned_pid;
      return p;
    }
  }
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || in < 0) _exit(125);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    if (chdir(cwd.c_str()) != 0) _exit(125);
    if (file_size_limit >= 0) {
      signal(SIGXFSZ, SIG_IGN);  // kept across exec: writes past the limit fail with EFBIG
      rlimit limit{static_cast<rlim_t>(file_size_limit), static_cast<rlim_t>(file_size_limit)};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(125);
    }
    execve(program_copy.c_str(), argv.data(), envp.data());
    const int saved = errno;
    (void)!write(2, kExecFailed, sizeof(kExecFailed) - 1);
    const char* why = strerror(saved);
    (void)!write(2, why, strlen(why));
    _exit(saved == EACCES ? 126 : 127);
  }
  setpgid(pid, pid);  // also from the parent, so Kill() never races the child's own call
  p.pid = pid;
  return p;
}

HfProcess HfSandbox::Start(const std::string& script, const std::string& input) {
  char path[] = "/tmp/hf_in_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
  std::size_t done = 0;
  while (done < input.size()) {
    ssize_t n = write(fd, input.data() + done, input.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  close(fd);
  return Spawn((script_dir_ / script).string(), script, {"-f", path}, input, path);
}

HfCallResult HfSandbox::Call(const std::string& script, const std::string& input) {
  HfProcess p = Start(script, input);
  return Wait(p);
}

HfCallResult HfSandbox::CallWithArgs(const std::string& script,
                                     const std::vector<std::string>& args) {
  HfProcess p = Spawn((script_dir_ / script).string(), script, args, "", "");
  return Wait(p);
}

bool HfSandbox::Running(const HfProcess& process) {
  if (process.pid <= 0) return false;
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(process.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return false;
  }
  return info.si_pid == 0;  // nothing to report yet: still running
}

HfCallResult HfSandbox::Wait(HfProcess& process) { return Finish(process, false); }

HfCallResult HfSandbox::Kill(HfProcess& process) { return Finish(process, true); }

HfCallResult HfSandbox::Finish(HfProcess& p, bool kill_now) {
  HfCallResult r;
  r.script = p.script;
  r.args = p.args;
  r.input = p.input;
  r.pid = p.pid;
  int status = 0;
  if (kill_now) {
    kill(-p.pid, SIGKILL);
    kill(p.pid, SIGKILL);
    waitpid(p.pid, &status, 0);
    r.killed = true;
  } else {
    const auto deadline = p.started + options_.call_timeout;
    while (true) {
      pid_t done = waitpid(p.pid, &status, WNOHANG);
      if (done == p.pid) break;
      if (done < 0 && errno != EINTR) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(-p.pid, SIGKILL);
        kill(p.pid, SIGKILL);
        waitpid(p.pid, &status, 0);
        r.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p.started).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(p.out_path);
  r.err = Slurp(p.err_path);
  if (std::string report = SanitizerReport(r.err); !report.empty()) {
    ADD_FAILURE() << "[sanitizer report from orb] " << r.script << ": " << report;
  }
  std::error_code ec;
  if (!p.input_path.empty()) fs::remove(p.input_path, ec);
  fs::remove(p.out_path, ec);
  fs::remove(p.err_path, ec);
  p.pid = -1;

  try {
    r.doc = json::parse(r.out);  // throws on anything but one JSON document (+ whitespace)
    r.json_ok = true;
  } catch (const std::exception& e) {
    r.json_error = r.out.empty() ? std::string("stdout is empty") : e.what();
    r.doc = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    transcript_.push_back(r.Describe());
  }
  return r;
}

std::vector<std::string> HfSandbox::transcript() const {
  std::lock_guard<std::mutex> lock(mu_);
  return transcript_;
}

std::string HfSandbox::LogTail(std::size_t max_lines) const {
  std::ostringstream s;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.find(".log") == std::string::npos) continue;
    std::deque<std::string> lines;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
      if (lines.size() > max_lines) lines.pop_front();
    }
    s << "--- last " << lines.size() << " lines of " << p.string() << "\n";
    for (const std::string& line : lines) s << line << "\n";
  }
  return s.str();
}

// ---------------------------------------------------------------------------
// MotoSide

MotoSide::MotoSide(const std::string& endpoint) : aws_(MakeTestAwsClient(endpoint)), ec2_(aws_) {}

void MotoSide::SetDesiredCapacity(const std::string& group, int desired) {
  AutoScalingClient asg(aws_);
  asg.SetDesiredCapacity(group, desired, false);
}

std::vector<std::string> MotoSide::AutoScalingGroupNames() {
  std::vector<std::string> names;
  for (const AutoScalingGroup& g : AutoScalingClient(aws_).DescribeAutoScalingGroups({})) {
    names.push_back(g.name);
  }
  return names;
}

std::string MotoSide::ImageId() {
  ImageQuery q;
  q.owners = {"amazon"};
  std::vector<Image> images = ec2_.DescribeImages(q);
  std::string first;
  for (const Image& i : images) {
    if (i.architecture != "x86_64" || (!i.state.empty() && i.state != "available")) continue;
    if (i.image_id == "ami-760aaa0f") return i.image_id;  // Amazon Linux, in every moto
    if (first.empty()) first = i.image_id;
  }
  if (first.empty()) throw std::runtime_error("moto knows no x86_64 AMI (DescribeImages)");
  return first;
}

std::string MotoSide::SubnetId() {
  std::vector<Subnet> subnets = ec2_.DescribeSubnets({}, {{"default-for-az", {"true"}}});
  if (subnets.empty()) throw std::runtime_error("moto has no default subnet in us-east-1");
  for (const Subnet& s : subnets) {
    if (s.availability_zone == "us-east-1a") return s.subnet_id;
  }
  return subnets.front().subnet_id;
}

std::vector<Instance> MotoSide::InstancesOfRequest(const std::string& request_id) {
  return ec2_.DescribeInstancesByFilter({{std::string("tag:") + kRequestIdTagKey, {request_id}}});
}

std::vector<Instance> MotoSide::AllInstances() { return ec2_.DescribeInstancesByFilter({}); }

std::map<std::string, Instance> MotoSide::InstancesById(const std::vector<std::string>& ids) {
  std::map<std::string, Instance> out;
  if (ids.empty()) return out;
  for (const Instance& i : ec2_.DescribeInstancesById(ids).instances) out[i.instance_id] = i;
  return out;
}

void MotoSide::Terminate(const std::vector<std::string>& ids) { ec2_.TerminateInstances(ids); }

void MotoSide::Stop(const std::vector<std::string>& ids) {
  QueryParams params;
  params.AddList("InstanceId", ids);
  aws_.CallQuery(AwsService::kEc2, "StopInstances", params);
}

json SuiteTemplates(const std::string& image_id, const std::string& subnet_id) {
  const fs::path file =
      fs::path(ORB_SOURCE_DIR) / "tests" / "data" / "hostfactory" / "awsinstprov_templates.json.in";
  std::string text = Slurp(file);
  if (text.empty()) throw std::runtime_error("cannot read " + file.string());
  auto replace_all = [&text](const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  };
  replace_all("${IMAGE_ID}", image_id);
  replace_all("${SUBNET_ID}", subnet_id);
  return json::parse(text);
}

}  // namespace orb::testing
