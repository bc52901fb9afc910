#include "broker/broker.h"
#include "broker/store_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/private_files.h"
#include "common/strings.h"
#include "common/uuid.h"
#include "config/template_loader.h"
#include "provider/provider_factory.h"

namespace orb {

Broker::Broker(const Config& config) : config_(config) {}

Broker::~Broker() = default;

std::string Broker::TemplatesFile() const {
  const std::string& configured = config_.Get("templates.file");
  if (!configured.empty()) return configured;
  std::vector<std::string> looked_at;
  std::string found =
      FindTemplatesFile(config_.Get("paths.conf_dir"), config_.Get("provider.name"), &looked_at);
  if (found.empty()) {
    throw Error(ErrorCode::kInvalidConfig,
                "no templates file found (looked for " + Join(looked_at, ", ") +
                    "); set HF_PROVIDER_CONFDIR or --conf-dir to the provider's configuration "
                    "directory, or templates.file / --templates to the file");
  }
  return found;
}

InstanceFactsSource Broker::CachedFacts() {
  return [this](const std::vector<std::string>& types) {
    try {
      return provider().KnownInstanceTypes(types, /*refresh=*/false);
    } catch (const std::exception& e) {
      spdlog::debug("no cached instance type facts: {}", e.what());
      return InstanceFactsMap{};
    }
  };
}

std::vector<Template> Broker::ListTemplates() {
  const std::string file = TemplatesFile();
  std::vector<Template> templates = LoadTemplatesFile(file, CachedFacts());
  if (templates.empty()) {
    throw Error(ErrorCode::kInvalidConfig,
                file + ": holds no template; HostFactory needs at least one");
  }
  return templates;
}

std::vector<Template> Broker::OfferedTemplates() {
  std::vector<Template> offered;
  for (Template& t : ListTemplates()) {
    std::vector<std::string> order;
    try {
      order = ProviderOrder(t);
    } catch (const Error& e) {
      spdlog::warn("template '{}' not offered to HostFactory: {}", t.template_id, e.what());
      continue;
    }
    if (std::string why = provider(order.front()).CannotLaunch(t); !why.empty()) {
      spdlog::warn("template '{}' not offered to HostFactory: {}", t.template_id, why);
      continue;
    }
    offered.push_back(std::move(t));
  }
  if (offered.empty()) {
    throw Error(ErrorCode::kInvalidConfig,
                TemplatesFile() + ": no template can be launched by this provider (see 'orb "
                                  "templates validate')");
  }
  return offered;
}

Template Broker::GetTemplate(std::string_view template_id) {
  std::vector<Template> templates = ListTemplates();
  std::vector<std::string> ids;
  for (Template& t : templates) {
    if (t.template_id == template_id) return std::move(t);
    ids.push_back(t.template_id);
  }
  throw Error(ErrorCode::kNotFound, "unknown template '" + std::string(template_id) +
                                        "' (known: " + Join(ids, ", ") + ")");
}

TemplateCheck Broker::ValidateTemplates(const std::string& file, bool in_cloud) {
  TemplateCheck check;
  check.file = file.empty() ? TemplatesFile() : file;
  check.problems = ValidateTemplatesFile(check.file, &check.templates, CachedFacts());
  for (const Template& t : check.templates) {
    for (std::string& w : TemplateWarnings(t)) check.warnings.push_back(std::move(w));
    // The user data file is read at launch; validate reads it now, so that a missing
    // or oversized one is found before HostFactory asks for the template.
    try {
      ReadUserData(t);
    } catch (const Error& e) {
      check.problems.emplace_back(e.what());
    }
  }
  const std::vector<std::string> names = ProviderNames();
  std::vector<std::string> quoted;
  for (const std::string& n : names) quoted.push_back("'" + n + "'");
  std::vector<std::pair<const Template*, std::string>> launchers;  // template, instance
  for (const Template& t : check.templates) {
    std::vector<std::string> bound = t.providers;
    if (!t.provider_name.empty()) bound = {t.provider_name};
    const char* field = t.provider_name.empty() ? "providers" : "providerName";
    bool ok = true;
    for (const std::string& b : bound) {
      if (std::find(names.begin(), names.end(), b) == names.end()) {
        check.problems.push_back(check.file + ": template '" + t.template_id + "' field '" +
                                 field + "': '" + b + "' is not a configured provider "
                                 "instance (configured: " + Join(quoted, ", ") + ")");
        ok = false;
      }
    }
    if (!ok) continue;
    if (bound.empty()) bound = {DefaultProviderName()};
    if (std::string why = provider(bound.front()).CannotLaunch(t); !why.empty()) {
      check.problems.push_back(check.file + ": template '" + t.template_id +
                               "' field 'providerApi': " + why);
    }
    for (const std::string& b : bound) launchers.emplace_back(&t, b);
  }
  if (check.problems.empty() && check.templates.empty()) {
    check.problems.push_back(check.file + ": holds no template; HostFactory needs at least one");
  }
  if (in_cloud) {
    for (const auto& [t, instance] : launchers) {
      const std::string in = names.size() > 1 ? " (provider instance '" + instance + "')" : "";
      try {
        for (const std::string& p : provider(instance).CheckInCloud(*t)) {
          check.problems.push_back(check.file + ": " + p + in);
        }
      } catch (const Error& e) {
        check.problems.push_back(check.file + ": template '" + t->template_id +
                                 "' could not be checked in the cloud" + in + ": " + e.what());
      }
    }
  }
  return check;
}

TemplateCheck Broker::RefreshTemplates() {
  const std::string file = TemplatesFile();
  // Every type the file names: those derivation asks about (also of templates that
  // fail for want of them) and those of the valid templates.
  std::vector<std::string> types;
  auto add = [&types](const std::string& name) {
    if (std::find(types.begin(), types.end(), name) == types.end()) types.push_back(name);
  };
  std::vector<Template> valid;
  ValidateTemplatesFile(file, &valid, [&add](const std::vector<std::string>& asked) {
    for (const std::string& name : asked) add(name);
    return InstanceFactsMap{};
  });
  for (const Template& t : valid) {
    for (const auto* list : {&t.vm_types, &t.vm_types_on_demand, &t.vm_types_priority}) {
      for (const auto& [name, n] : *list) add(name);
    }
  }
  if (!types.empty()) provider().KnownInstanceTypes(types, /*refresh=*/true);
  return ValidateTemplates(file);
}

Store& Broker::store() {
  if (!store_) {
    store_ = OpenStore(StoreOptionsFrom(config_));
  }
  return *store_;
}

std::vector<Request> Broker::ListRequests(const RequestQuery& query) {
  return store().ListRequests(query);
}

Request Broker::GetRequest(std::string_view request_id) {
  if (!KindOfRequestId(request_id)) {
    throw Error(ErrorCode::kNotFound, "unknown request '" + std::string(request_id) +
                                          "' (request ids look like req-<uuid> or ret-<uuid>)");
  }
  std::optional<Request> r = store().GetRequest(request_id);
  if (!r) throw Error(ErrorCode::kNotFound, "unknown request '" + std::string(request_id) + "'");
  return std::move(*r);
}

std::vector<Machine> Broker::MachinesOfRequest(const Request& request) {
  MachineQuery query;
  if (request.kind == RequestKind::kAcquire) {
    query.request_id = request.request_id;
    return store().ListMachines(query);
  }
  query.return_request_id = request.request_id;
  std::vector<Machine> machines = store().ListMachines(query);
  // Machines an earlier return request named first (see ReturnMachines), with
  // their result for this request derived from their state.
  nlohmann::json data = nlohmann::json::parse(
      request.provider_data.empty() ? "{}" : request.provider_data, nullptr, false);
  if (data.is_object() && data.contains("also_returns") && data["also_returns"].is_array()) {
    for (const auto& id : data["also_returns"]) {
      if (!id.is_string()) continue;
      if (std::optional<Machine> m = store().GetMachine(id.get<std::string>())) {
        m->return_result = ReturnResult(m->state, m->terminate_refused, MachineResult::kExecuting);
        machines.push_back(std::move(*m));
      }
    }
  }
  return machines;
}

std::vector<Machine> Broker::ListMachines(const MachineQuery& query) {
  return store().ListMachines(query);
}

std::vector<std::string> Broker::ProviderNames() const {
  std::vector<std::string> names;
  for (const ProviderInstanceConfig& p : config_.provider_instances()) names.push_back(p.name);
  return names;
}

std::string Broker::DefaultProviderName() const {
  return config_.provider_instances().front().name;
}

Provider& Broker::provider() { return provider(DefaultProviderName()); }

Provider& Broker::provider(const std::string& name) {
  std::string resolved = DefaultProviderName();
  if (config_.has_provider_list()) {
    std::vector<std::string> names = ProviderNames();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      throw Error(ErrorCode::kInvalidConfig,
                  "provider instance '" + name + "' is not configured (configured: " +
                      Join(names, ", ") + "); restore its entry in the providers list of the "
                                          "orb config file");
    }
    resolved = name;
  }
  std::unique_ptr<Provider>& p = providers_[resolved];
  if (!p) {
    p = config_.has_provider_list() ? MakeProvider(config_.ForProviderInstance(resolved))
                                    : MakeProvider(config_);
  }
  return *p;
}

void Broker::SetProvider(std::unique_ptr<Provider> provider) {
  providers_[DefaultProviderName()] = std::move(provider);
}

void Broker::SetProvider(const std::string& name, std::unique_ptr<Provider> provider) {
  providers_[name] = std::move(provider);
}

long long Broker::CloudCalls() const {
  long long calls = 0;
  for (const auto& [name, p] : providers_) calls += p ? p->CallCount() : 0;
  return calls;
}

TerminateOutcome Broker::TerminateMachines(const std::vector<Machine>& all_machines) {
  // Each machine is terminated by the provider instance that launched it.
  std::map<std::string, std::vector<Machine>> by_instance;
  for (const Machine& m : all_machines) by_instance[m.provider_name].push_back(m);
  TerminateOutcome all;
  for (const auto& [instance, machines] : by_instance) {
  Provider& cloud = provider(instance);
  std::map<std::string, std::vector<std::string>> by_group;
  // A group member the cloud already took (terminated, or on its way) is not given
  // back through its group: that would lower the capacity of a group that may have
  // replaced it. One describe of the group members tells.
  std::vector<std::string> members;
  for (const Machine& m : machines) {
    if (!m.cloud_host_id.empty()) members.push_back(m.machine_id);
  }
  std::set<std::string> live, gone;
  if (!members.empty()) {
    for (const CloudMachine& c : cloud.Describe(members)) {
      const bool going = IsFinalMachineState(c.state) || c.state == MachineState::kShuttingDown;
      (going ? gone : live).insert(c.machine_id);
    }
  }
  std::set<std::string> taken_groups;  // groups of members the cloud already took
  for (const Machine& m : machines) {
    if (gone.count(m.machine_id)) {
      // Already on its way out: terminating it again changes nothing at AWS (and
      // upsets emulators that count a fleet's capacity per call).
      taken_groups.insert(m.cloud_host_id);
      continue;
    }
    const bool through_group = !m.cloud_host_id.empty() && live.count(m.machine_id);
    by_group[through_group ? m.cloud_host_id : std::string()].push_back(m.machine_id);
    if (!m.cloud_host_id.empty() && !through_group) taken_groups.insert(m.cloud_host_id);
  }
  for (const auto& [group, ids] : by_group) {
    TerminateOutcome o = group.empty() ? cloud.Terminate(ids) : cloud.ReleaseFromGroup(group, ids);
    all.refused.insert(all.refused.end(), o.refused.begin(), o.refused.end());
    all.not_found.insert(all.not_found.end(), o.not_found.begin(), o.not_found.end());
    if (!o.message.empty()) all.message += (all.message.empty() ? "" : "; ") + o.message;
  }
  // A group whose members were all taken (or terminated by an earlier attempt that
  // died before deleting it) is deleted once empty: releasing nothing does that.
  for (const std::string& group : taken_groups) {
    if (by_group.count(group)) continue;
    try {
      cloud.ReleaseFromGroup(group, {});
    } catch (const Error& e) {
      spdlog::warn("group {} not tidied up: {}", group, e.what());
    }
  }
  }
  return all;
}

std::vector<ProviderInfo> Broker::ListProviders() {
  std::vector<ProviderInfo> infos;
  for (const std::string& name : ProviderNames()) infos.push_back(provider(name).Info());
  return infos;
}

ProviderHealth Broker::CheckProviderHealth(const std::string& name) {
  return provider(name.empty() ? DefaultProviderName() : name).CheckHealth();
}

std::string Broker::BrokerId() {
  if (!broker_id_.empty()) return broker_id_;
  broker_id_ = config_.Get("broker.id");
  if (!broker_id_.empty()) return broker_id_;
  namespace fs = std::filesystem;
  const fs::path dir = config_.Get("paths.work_dir");
  const fs::path file = dir / "broker-id";
  auto read = [&file]() {
    std::ifstream in(file);
    std::string id;
    std::getline(in, id);
    return std::string(Trim(id));
  };
  std::string id = read();
  if (id.empty()) {
    std::error_code ec;
    std::string failed;
    if (int err = CreatePrivateDirectories(dir, &failed); err != 0) {
      throw Error(ErrorCode::kStore, "cannot create the work directory " + failed + ": " +
                                         std::strerror(err) +
                                         "; create it or set paths.work_dir to a writable place");
    }
    // Written to a temporary file and linked into place, so that concurrent first
    // calls agree on one id and nobody reads a half-written file.
    const fs::path tmp = dir / ("broker-id." + std::to_string(::getpid()));
    if (int err = WritePrivateFile(tmp.string(), NewUuid() + "\n"); err != 0) {
      fs::remove(tmp, ec);
      throw Error(ErrorCode::kStore, "cannot write " + tmp.string() + ": " + std::strerror(err));
    }
    if (::link(tmp.c_str(), file.c_str()) != 0 && errno != EEXIST) {
      const int err = errno;
      fs::remove(tmp, ec);
      throw Error(ErrorCode::kStore, "cannot create " + file.string() + ": " + std::strerror(err));
    }
    fs::remove(tmp, ec);
    id = read();
  }
  broker_id_ = id;
  return broker_id_;
}

Machine Broker::GetMachine(std::string_view id_or_name) {
  if (std::optional<Machine> m = store().GetMachine(id_or_name)) return std::move(*m);
  if (std::optional<Machine> m = store().FindMachineByName(id_or_name)) return std::move(*m);
  throw Error(ErrorCode::kNotFound, "unknown machine '" + std::string(id_or_name) + "'");
}

}  // namespace orb
