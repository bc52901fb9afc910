#include "cli/app.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <csignal>
#include <pthread.h>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "broker/broker_records.h"
#include "cli/context.h"
#include "cli/logging.h"
#include "cli/output.h"
#include "cli/server_command.h"
#include "common/error.h"
#include "common/strings.h"
#include "config/config_loader.h"
#include "config/template_examples.h"
#include "config/template_loader.h"
#include "hostfactory/hf_operations.h"
#include "hostfactory/hf_wire.h"
#include "model/records.h"
#include "orb/version.h"

namespace orb {

namespace {

using json = nlohmann::ordered_json;

using Handler = std::function<int(Context&)>;

// Columns of the short table/list views.
const std::vector<std::string> kTemplateColumns = {"template_id", "max_number", "provider_api",
                                                   "attributes"};
const std::vector<std::string> kRequestColumns = {"request_id", "kind", "status", "template_id",
                                                  "requested_count", "created_at"};
const std::vector<std::string> kMachineColumns = {"machine_id", "name", "status", "result",
                                                  "private_ip", "request_id"};
const std::vector<std::string> kSettingColumns = {"key", "value", "source"};

int TemplatesList(Context& c) {
  std::vector<json> records;
  for (const Template& t : c.GetBroker().ListTemplates()) records.push_back(TemplateRecord(t));
  c.out << FormatRecords(records, "templates", kTemplateColumns, c.output);
  return 0;
}

int TemplatesShow(Context& c, const std::string& id) {
  c.out << FormatRecord(TemplateRecord(c.GetBroker().GetTemplate(id)), c.output);
  return 0;
}

int TemplatesValidate(Context& c, const std::string& file, bool in_cloud) {
  TemplateCheck check = c.GetBroker().ValidateTemplates(file, in_cloud);
  const json doc = TemplateCheckRecord(check);
  if (c.output.format == OutputFormat::kJson || c.output.format == OutputFormat::kYaml) {
    c.out << FormatRecord(doc, c.output);
    return check.problems.empty() ? 0 : 1;
  }
  for (const std::string& w : check.warnings) c.out << "warning: " << w << "\n";
  if (check.problems.empty()) {
    c.out << check.file << ": " << check.templates.size() << " valid templates\n";
  } else {
    for (const std::string& p : check.problems) c.out << p << "\n";
    c.out << check.file << ": " << check.problems.size() << " problem(s), "
          << check.templates.size() << " valid templates\n";
  }
  return check.problems.empty() ? 0 : 1;
}

// Options of templates create/update/delete.
struct TemplateEditOptions {
  std::string file;
  bool validate_only = false;
  bool force = false;
};

int ReportTemplateChange(Context& c, const TemplateChange& ch) {
  if (c.output.format == OutputFormat::kJson || c.output.format == OutputFormat::kYaml) {
    c.out << FormatRecord(TemplateChangeRecord(ch), c.output);
    return 0;
  }
  for (const std::string& w : ch.warnings) c.err << "warning: " << w << "\n";
  static const std::map<std::string, std::string> kDone = {
      {"create", "created"}, {"update", "updated"}, {"delete", "deleted"}};
  if (ch.written) {
    c.out << kDone.at(ch.action) << " template '" << ch.template_id << "' in " << ch.file
          << (ch.replaced_existing ? " (replacing the one there)" : "") << "\n";
  } else {
    c.out << "valid: template '" << ch.template_id << "' can be " << kDone.at(ch.action)
          << " in " << ch.file << " (--validate-only: nothing written)\n";
  }
  return 0;
}

int TemplatesCreate(Context& c, const TemplateEditOptions& o) {
  TemplateChangeOptions opts{o.validate_only, o.force};
  return ReportTemplateChange(c, c.GetBroker().CreateTemplate(ReadTemplateInput(o.file), opts));
}

int TemplatesUpdate(Context& c, const std::string& id, const TemplateEditOptions& o) {
  TemplateChangeOptions opts{o.validate_only, o.force};
  return ReportTemplateChange(c,
                              c.GetBroker().UpdateTemplate(id, ReadTemplateInput(o.file), opts));
}

int TemplatesDelete(Context& c, const std::string& id, const TemplateEditOptions& o) {
  TemplateChangeOptions opts{o.validate_only, o.force};
  return ReportTemplateChange(c, c.GetBroker().DeleteTemplate(id, opts));
}

// Refreshes the instance-type facts of the templates' types from the cloud, then
// prints the templates now in effect (every command reads the file afresh).
int TemplatesRefresh(Context& c) {
  TemplateCheck check = c.GetBroker().RefreshTemplates();
  for (const std::string& w : check.warnings) c.err << "warning: " << w << "\n";
  if (!check.problems.empty()) {
    for (const std::string& p : check.problems) c.err << "error: " << p << "\n";
    throw Error(ErrorCode::kInvalidConfig,
                check.file + ": " + std::to_string(check.problems.size()) +
                    " problem(s); HostFactory's next call will fail on them");
  }
  std::vector<json> records;
  for (const Template& t : check.templates) records.push_back(TemplateRecord(t));
  c.out << FormatRecords(records, "templates", kTemplateColumns, c.output);
  return 0;
}

struct GenerateOptions {
  std::string api, fleet_type, price_type;
};

int TemplatesGenerate(Context& c, const GenerateOptions& o) {
  TemplateExampleFilter filter;
  if (!o.api.empty()) {
    filter.api = ParseProviderApi(o.api);
    if (!filter.api) {
      throw Error(ErrorCode::kInvalidInput, "--provider-api must be RunInstances, EC2Fleet, "
                                            "SpotFleet or ASG, got '" + o.api + "'");
    }
  }
  if (!o.fleet_type.empty()) {
    filter.fleet_type = ParseFleetType(o.fleet_type);
    if (!filter.fleet_type) {
      throw Error(ErrorCode::kInvalidInput,
                  "--fleet-type must be instant, request or maintain, got '" + o.fleet_type + "'");
    }
  }
  if (!o.price_type.empty()) {
    filter.price_type = ParsePriceType(o.price_type);
    if (!filter.price_type) {
      throw Error(ErrorCode::kInvalidInput,
                  "--price-type must be ondemand or spot, got '" + o.price_type + "'");
    }
  }
  std::vector<TemplateExample> examples = ExampleTemplates(filter);
  if (examples.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                "no template combines these choices (fleet types apply to EC2Fleet and "
                "SpotFleet only; SpotFleet has no instant fleet type and is spot only)");
  }
  if (c.output.format == OutputFormat::kJson) {
    json list = json::array();
    for (const TemplateExample& e : examples) list.push_back(e.templ);
    json doc = json::object();
    doc["templates"] = list;
    c.out << DumpJson(doc, 2) << "\n";
    return 0;
  }
  c.out << "# Example orb templates: one per provider API, fleet type and price type.\n"
           "# Replace the placeholders (ami-..., subnet-..., sg-..., account 123456789012) with\n"
           "# yours, keep the templates you need, and check the file with\n"
           "# 'orb templates validate -f FILE'. attributes are what HostFactory schedules on.\n"
           "templates:\n";
  for (const TemplateExample& e : examples) {
    c.out << "\n";
    for (const std::string& line : SplitTrimmed(e.comment, '\n')) c.out << "# " << line << "\n";
    c.out << ToYaml(json::array({e.templ}));
  }
  return 0;
}

struct RequestListOptions {
  std::string status, kind, template_id;
  bool open_only = false;
  int limit = 0;
};

int RequestsList(Context& c, const RequestListOptions& o) {
  RequestQuery q;
  q.open_only = o.open_only;
  q.template_id = o.template_id;
  q.limit = o.limit;
  if (!o.kind.empty()) q.kind = ParseRequestKind(o.kind);
  if (!o.status.empty()) q.status = ParseRequestStatus(o.status);
  std::vector<json> records;
  for (const Request& r : c.GetBroker().ListRequests(q)) records.push_back(RequestRecord(r));
  c.out << FormatRecords(records, "requests", kRequestColumns, c.output);
  return 0;
}

int RequestsShow(Context& c, const std::string& id) {
  Broker& b = c.GetBroker();
  Request r = b.GetRequest(id);
  std::vector<Machine> machines = b.MachinesOfRequest(r);
  c.out << FormatRecord(RequestRecord(r, &machines), c.output);
  return 0;
}

struct MachineListOptions {
  std::string request_id, return_request_id, template_id;
  bool active_only = false;
  int limit = 0;
};

int MachinesList(Context& c, const MachineListOptions& o) {
  MachineQuery q;
  q.request_id = o.request_id;
  q.return_request_id = o.return_request_id;
  q.template_id = o.template_id;
  q.active_only = o.active_only;
  q.limit = o.limit;
  std::vector<json> records;
  for (const Machine& m : c.GetBroker().ListMachines(q)) records.push_back(MachineRecord(m));
  c.out << FormatRecords(records, "machines", kMachineColumns, c.output);
  return 0;
}

int MachinesShow(Context& c, const std::string& id) {
  c.out << FormatRecord(MachineRecord(c.GetBroker().GetMachine(id)), c.output);
  return 0;
}

void PrintProblems(Context& c, const Config& config) {
  for (const ConfigProblem& p : config.problems()) {
    c.err << (p.error ? "error: " : "warning: ") << p.ToString() << "\n";
  }
}

int ConfigShow(Context& c) {
  const Config& config = c.LoadConfiguration(false);
  const std::vector<json> records = SettingRecords(config);
  c.out << FormatRecords(records, "settings", kSettingColumns, c.output);
  PrintProblems(c, config);
  return config.HasErrors() ? 1 : 0;
}

int ConfigValidate(Context& c) {
  const Config& config = c.LoadConfiguration(false);
  const json doc = ConfigCheckRecord(config);
  if (c.output.format == OutputFormat::kJson || c.output.format == OutputFormat::kYaml) {
    c.out << FormatRecord(doc, c.output);
  } else {
    for (const ConfigProblem& p : config.problems()) {
      c.out << (p.error ? "error: " : "warning: ") << p.ToString() << "\n";
    }
    std::vector<std::string> files = config.files();
    c.out << (config.HasErrors() ? "configuration is invalid" : "configuration is valid")
          << " (files read: " << (files.empty() ? "none" : Join(files, ", ")) << ")\n";
  }
  return config.HasErrors() ? 1 : 0;
}

int StorageShow(Context& c) {
  c.out << FormatRecord(StoreInfoRecord(c.GetBroker().store().Info()), c.output);
  return 0;
}

int StorageHealth(Context& c) {
  Store& store = c.GetBroker().store();
  auto start = std::chrono::steady_clock::now();
  store.CheckHealth();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count();
  StoreInfo info = store.Info();
  json r = json::object();
  r["status"] = "ok";
  r["strategy"] = info.strategy;
  r["location"] = info.location;
  r["latency_ms"] = static_cast<double>(static_cast<long long>(ms * 1000)) / 1000.0;
  c.out << FormatRecord(r, c.output);
  return 0;
}

// Runs a HostFactory operation (a command given -f FILE): the answer is always
// Marks the new request `id` as known to its caller once the answer naming it has
// reached stdout (see Broker::AcknowledgeRequest); a write that failed leaves it
// unacknowledged, for the reconciler to give back.
void AcknowledgeIfWritten(Context& c, const std::string& id) {
  if (id.empty()) return;
  c.out.flush();
  if (c.out.good()) c.GetBroker().AcknowledgeRequest(id);
}

// HostFactory's JSON on stdout, whatever --format says.
int RunHf(Context& c, HfOperation op, const std::string& file) {
  // The configuration decides where the call's log line goes; a broken one is
  // reported by the operation itself (as its JSON message), not here.
  c.LoadConfiguration(false);
  HfOutcome outcome = RunHfOperation(op, file, [&c]() -> Broker& { return c.GetBroker(); });
  c.out << DumpJson(outcome.document) << "\n";
  AcknowledgeIfWritten(c, outcome.created_request_id);
  return outcome.exit_code;
}

json RequestCreatedRecord(const std::string& id, const std::string& message) {
  json r = json::object();
  r["request_id"] = id;
  r["message"] = message;
  return r;
}

int RequestsCreate(Context& c, const std::string& template_id, int count) {
  std::string message;
  std::string id = c.GetBroker().RequestMachines(template_id, count, &message);
  c.out << FormatRecord(RequestCreatedRecord(id, message), c.output);
  AcknowledgeIfWritten(c, id);
  return 0;
}

int RequestsStatus(Context& c, const std::vector<std::string>& ids) {
  std::vector<json> records;
  for (RequestReport& r : c.GetBroker().RequestStatuses(ids)) {
    json record = RequestRecord(r.request, &r.machines);
    if (!r.message.empty()) record["message"] = r.message;
    records.push_back(std::move(record));
  }
  c.out << FormatRecords(records, "requests", kRequestColumns, c.output);
  return 0;
}

int ReturnRefs(Context& c, const std::vector<MachineRef>& refs) {
  if (refs.empty()) throw Error(ErrorCode::kInvalidInput, "no machine to return");
  std::string message;
  std::string id = c.GetBroker().ReturnMachines(refs, &message);
  c.out << FormatRecord(RequestCreatedRecord(id, message), c.output);
  AcknowledgeIfWritten(c, id);
  return 0;
}

int RequestsReturn(Context& c, const std::string& request_id) {
  std::vector<MachineRef> refs = c.GetBroker().ReturnableMachinesOf(request_id);
  if (refs.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                "request " + request_id + " has no machine left to return");
  }
  return ReturnRefs(c, refs);
}

int RequestsListReturns(Context& c) {
  std::vector<json> records;
  for (const ReturnCandidate& rc : c.GetBroker().ReturnCandidates({})) {
    records.push_back(ReturnCandidateRecord(rc));
  }
  c.out << FormatRecords(records, "machines", {"machine_id", "name", "grace_period", "reason"},
                         c.output);
  return 0;
}

int ProvidersList(Context& c) {
  std::vector<json> records;
  for (const ProviderInfo& info : c.GetBroker().ListProviders()) {
    records.push_back(ProviderRecord(info));
  }
  c.out << FormatRecords(records, "providers", {"name", "type", "region"}, c.output);
  return 0;
}

int ProvidersShow(Context& c, const std::string& name) {
  for (const ProviderInfo& info : c.GetBroker().ListProviders()) {
    if (name.empty() || info.name == name) {
      c.out << FormatRecord(ProviderRecord(info), c.output);
      return 0;
    }
  }
  throw Error(ErrorCode::kNotFound, "unknown provider '" + name + "'");
}

int Reconcile(Context& c, bool dry_run) {
  const ReconcileReport report = c.GetBroker().Reconcile(dry_run);
  std::vector<json> records;
  for (const ReconcileAction& a : report.actions) records.push_back(ReconcileActionRecord(a));
  const bool structured =
      c.output.format == OutputFormat::kJson || c.output.format == OutputFormat::kYaml;
  if (structured) {
    json doc = json::object();
    doc["dry_run"] = report.dry_run;
    doc["instances_seen"] = report.instances_seen;
    doc["actions"] = records;
    doc["requests_abandoned"] = report.requests_abandoned;
    doc["open_requests"] = report.open_requests;
    doc["requests_ended"] = report.requests_ended;
    c.out << FormatRecord(doc, c.output);
    return 0;
  }
  if (!records.empty()) {
    c.out << FormatRecords(records, "actions", {"action", "machine_id", "request_id", "detail"},
                           c.output);
  }
  c.out << report.requests_abandoned << " request(s) nobody knows given back; "
        << report.instances_seen << " instance(s) tagged by this broker; "
        << records.size() - static_cast<std::size_t>(report.requests_abandoned)
        << " not recorded; " << report.open_requests << " open request(s)"
        << (report.dry_run ? "" : ", " + std::to_string(report.requests_ended) + " now ended")
        << (report.dry_run ? " (dry run: nothing changed)" : "") << "\n";
  return 0;
}

int ProvidersHealth(Context& c, const std::string& name) {
  Broker& broker = c.GetBroker();
  std::vector<std::string> names = name.empty() ? broker.ProviderNames()
                                                : std::vector<std::string>{name};
  if (!name.empty()) {
    const std::vector<std::string> all = broker.ProviderNames();
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      throw Error(ErrorCode::kNotFound,
                  "unknown provider '" + name + "' (configured: " + Join(all, ", ") + ")");
    }
  }
  bool ok = true;
  std::vector<json> records;
  for (const std::string& n : names) {
    const ProviderHealth h = broker.CheckProviderHealth(n);
    ok = ok && h.ok;
    records.push_back(HealthRecord(n, h));
  }
  const bool structured =
      c.output.format == OutputFormat::kJson || c.output.format == OutputFormat::kYaml;
  if (structured && records.size() == 1) {
    c.out << FormatRecord(records.front(), c.output);
  } else if (structured) {
    json doc = json::object();
    doc["status"] = ok ? "ok" : "failing";
    doc["providers"] = records;
    c.out << FormatRecord(doc, c.output);
  } else {
    for (const json& r : records) {
      if (records.size() > 1) c.out << "provider " << r["name"].get<std::string>() << ":\n";
      std::vector<json> rows(r["checks"].begin(), r["checks"].end());
      c.out << FormatRecords(rows, "checks", {"check", "ok", "latency_ms", "detail"}, c.output);
      const std::string account = r["account"].get<std::string>();
      c.out << "status: " << r["status"].get<std::string>() << " (region "
            << r["region"].get<std::string>() << (account.empty() ? "" : ", account " + account)
            << ")\n";
    }
  }
  return ok ? 0 : 1;
}

// True when the arguments ask for JSON output (read before parsing, so that a
// usage error can be reported in the format asked for).
bool WantsJson(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--format=json" || (args[i] == "--format" && i + 1 < args.size() &&
                                       ToLower(args[i + 1]) == "json")) {
      return true;
    }
  }
  return false;
}

void AddGlobalOptions(CLI::App& app, GlobalOptions& g) {
  app.add_option("--config", g.config_file, "orb config file (YAML or JSON)")
      ->envname("")
      ->type_name("FILE");
  app.add_option("--format", g.format, "output format: json, yaml, table or list")
      ->check(CLI::IsMember({"json", "yaml", "yml", "table", "list"}, CLI::ignore_case));
  app.add_flag("--hf", g.hf, "HostFactory camelCase field names instead of snake_case");
  app.add_flag("--long", g.long_form, "show every field in table and list output");
  app.add_option("--fields", g.fields, "show only these fields, comma-separated")
      ->delimiter(',')
      ->type_name("A,B,...");
  for (const SettingSpec& spec : AllSettings()) {
    if (spec.flag.empty()) continue;
    std::string key(spec.key);
    app.add_option_function<std::string>(
           std::string(spec.flag), [&g, key](const std::string& v) { g.setting_values[key] = v; },
           std::string(spec.description) + " [" + key + "]")
        ->type_name("VALUE");
  }
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           bool out_is_terminal) {
  // Until the configuration says otherwise, logs go to stderr: never to stdout,
  // which may carry a wire format.
  SetUpFallbackLogging();
  GlobalOptions global;
  CLI::App app{"orb: the Open Resource Broker, a cloud provider for IBM Spectrum Symphony "
               "HostFactory and LSF resource connector",
               "orb"};
  app.set_version_flag("--version", std::string("orb ") + ORB_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  AddGlobalOptions(app, global);
  app.footer(
      "Examples:\n"
      "  orb templates list\n"
      "  orb templates show Spot-Template --format json\n"
      "  orb requests list --open\n"
      "  orb config show --long\n"
      "Exit codes: 0 success, 1 operation failed, 2 usage error.");

  std::vector<std::pair<CLI::App*, Handler>> leaves;
  auto leaf = [&leaves](CLI::App* cmd, Handler h) { leaves.emplace_back(cmd, std::move(h)); };

  // templates
  CLI::App* templates = app.add_subcommand("templates", "templates HostFactory may request");
  templates->require_subcommand(1);
  std::string hf_file;  // -f FILE: HostFactory mode (the input file HostFactory passes)
  CLI::App* tlist = templates->add_subcommand("list", "list the templates of the templates file");
  tlist->add_option("-f,--file", hf_file,
                    "HostFactory getAvailableTemplates: read this input file, answer in "
                    "HostFactory's JSON");
  leaf(tlist, [&](Context& c) {
    return hf_file.empty() ? TemplatesList(c)
                           : RunHf(c, HfOperation::kGetAvailableTemplates, hf_file);
  });
  std::string template_id;
  CLI::App* tshow = templates->add_subcommand("show", "show one template");
  tshow->add_option("template_id", template_id, "template id")->required();
  leaf(tshow, [&](Context& c) { return TemplatesShow(c, template_id); });
  std::string validate_file;
  CLI::App* tvalidate =
      templates->add_subcommand("validate", "check a templates file and report every problem");
  tvalidate->add_option("--file,-f", validate_file, "templates file (default: the one in use)");
  bool validate_in_cloud = false;
  tvalidate->add_flag("--cloud", validate_in_cloud,
                      "also check that subnets, security groups, images and launch templates "
                      "exist (read-only AWS calls)");
  leaf(tvalidate, [&](Context& c) {
    return TemplatesValidate(c, validate_file, validate_in_cloud);
  });

  TemplateEditOptions teo;
  CLI::App* tcreate = templates->add_subcommand(
      "create", "add a template to the templates file in use (checked first; written "
                "atomically)");
  tcreate->add_option("-f,--file", teo.file, "JSON or YAML file holding one template object")
      ->required();
  tcreate->add_flag("--validate-only", teo.validate_only, "check and report; change nothing");
  tcreate->add_flag("--force", teo.force, "replace a template that has the same id");
  leaf(tcreate, [&](Context& c) { return TemplatesCreate(c, teo); });
  CLI::App* tupdate =
      templates->add_subcommand("update", "replace one template of the templates file in use");
  tupdate->add_option("template_id", template_id, "template id")->required();
  tupdate->add_option("-f,--file", teo.file, "JSON or YAML file holding the new template")
      ->required();
  tupdate->add_flag("--validate-only", teo.validate_only, "check and report; change nothing");
  leaf(tupdate, [&](Context& c) { return TemplatesUpdate(c, template_id, teo); });
  CLI::App* tdelete =
      templates->add_subcommand("delete", "remove one template from the templates file in use");
  tdelete->add_option("template_id", template_id, "template id")->required();
  tdelete->add_flag("--validate-only", teo.validate_only, "check and report; change nothing");
  tdelete->add_flag("--force", teo.force,
                    "delete even while machines or open requests of it exist");
  leaf(tdelete, [&](Context& c) { return TemplatesDelete(c, template_id, teo); });
  leaf(templates->add_subcommand(
           "refresh", "ask the cloud afresh for the facts (vCPUs, cores, memory, architecture) "
                      "of the templates' instance types, cache them for HostFactory's calls, "
                      "then check the templates file and show the templates now in effect"),
       TemplatesRefresh);
  GenerateOptions gen;
  CLI::App* tgenerate = templates->add_subcommand(
      "generate", "print a commented example template for every provider API, fleet type and "
                  "price type (YAML; --format json: bare JSON without comments)");
  tgenerate->add_option("--provider-api", gen.api, "only RunInstances, EC2Fleet, SpotFleet or ASG");
  tgenerate->add_option("--fleet-type", gen.fleet_type, "only instant, request or maintain");
  tgenerate->add_option("--price-type", gen.price_type, "only ondemand or spot");
  leaf(tgenerate, [&](Context& c) { return TemplatesGenerate(c, gen); });

  // requests
  CLI::App* requests = app.add_subcommand("requests", "acquire and return requests");
  requests->require_subcommand(1);
  RequestListOptions rlo;
  CLI::App* rlist = requests->add_subcommand("list", "list requests, newest first");
  rlist->add_option("--status", rlo.status, "only this status")
      ->check(CLI::IsMember({"running", "complete", "complete_with_error"}));
  rlist->add_option("--kind", rlo.kind, "only this kind")
      ->check(CLI::IsMember({"acquire", "return"}));
  rlist->add_option("--template-id", rlo.template_id, "only requests of this template");
  rlist->add_flag("--open", rlo.open_only, "only requests still running");
  rlist->add_option("--limit", rlo.limit, "at most this many")->check(CLI::NonNegativeNumber);
  leaf(rlist, [&](Context& c) { return RequestsList(c, rlo); });
  std::string request_id;
  CLI::App* rshow = requests->add_subcommand("show", "show one request with its machines");
  rshow->add_option("request_id", request_id, "request id (req-... or ret-...)")->required();
  leaf(rshow, [&](Context& c) { return RequestsShow(c, request_id); });
  std::string cancel_id;
  CLI::App* rcancel = requests->add_subcommand(
      "cancel", "cancel an open acquire request: its machines and groups are given back");
  rcancel->add_option("request_id", cancel_id, "acquire request id")->required();
  leaf(rcancel, [&](Context& c) {
    const char* user = std::getenv("USER");
    Request r = c.GetBroker().CancelRequest(cancel_id, std::string("orb requests cancel") +
                                                           (user ? " (" + std::string(user) + ")" : ""));
    std::vector<Machine> machines = c.GetBroker().MachinesOfRequest(r);
    c.out << FormatRecord(RequestRecord(r, &machines), c.output);
    return 0;
  });

  std::string create_template;
  int create_count = 0;
  CLI::App* rcreate =
      requests->add_subcommand("create", "ask for machines of a template (requestMachines)");
  rcreate->add_option("--template-id", create_template, "template to launch")->required();
  rcreate->add_option("--count", create_count, "capacity units (machines, or weights)")
      ->required();
  leaf(rcreate, [&](Context& c) { return RequestsCreate(c, create_template, create_count); });

  std::vector<std::string> status_ids;
  CLI::App* rstatus = requests->add_subcommand(
      "status", "bring requests up to date and show them (getRequestStatus)");
  rstatus->add_option("--request-id", status_ids, "request id; repeat for several");
  rstatus->add_option("-f,--file", hf_file, "HostFactory getRequestStatus input file");
  leaf(rstatus, [&](Context& c) {
    if (!hf_file.empty()) return RunHf(c, HfOperation::kGetRequestStatus, hf_file);
    if (status_ids.empty()) throw Error(ErrorCode::kInvalidInput, "give --request-id or -f FILE");
    return RequestsStatus(c, status_ids);
  });

  std::string return_of;
  CLI::App* rreturn = requests->add_subcommand(
      "return", "give back every machine of an acquire request (requestReturnMachines)");
  rreturn->add_option("--request-id", return_of, "acquire request id (req-...)")->required();
  leaf(rreturn, [&](Context& c) { return RequestsReturn(c, return_of); });

  CLI::App* rreturns = requests->add_subcommand(
      "list-returns", "hosts the cloud took or is taking back (getReturnRequests)");
  rreturns->add_option("-f,--file", hf_file, "HostFactory getReturnRequests input file");
  leaf(rreturns, [&](Context& c) {
    return hf_file.empty() ? RequestsListReturns(c)
                           : RunHf(c, HfOperation::kGetReturnRequests, hf_file);
  });

  // machines
  CLI::App* machines = app.add_subcommand("machines", "machines orb launched");
  machines->require_subcommand(1);
  MachineListOptions mlo;
  CLI::App* mlist = machines->add_subcommand("list", "list machines, newest first");
  mlist->add_option("--request-id", mlo.request_id, "only machines of this acquire request");
  mlist->add_option("--return-request-id", mlo.return_request_id,
                    "only machines of this return request");
  mlist->add_option("--template-id", mlo.template_id, "only machines of this template");
  mlist->add_flag("--active", mlo.active_only, "only machines not yet terminated");
  mlist->add_option("--limit", mlo.limit, "at most this many")->check(CLI::NonNegativeNumber);
  leaf(mlist, [&](Context& c) { return MachinesList(c, mlo); });
  std::string machine_id;
  CLI::App* mshow = machines->add_subcommand("show", "show one machine");
  mshow->add_option("machine", machine_id, "machine id (i-...) or host name")->required();
  leaf(mshow, [&](Context& c) { return MachinesShow(c, machine_id); });

  CLI::App* mrequest = machines->add_subcommand(
      "request", "HostFactory requestMachines (see also: requests create)");
  mrequest->add_option("-f,--file", hf_file, "HostFactory requestMachines input file")
      ->required();
  leaf(mrequest, [&](Context& c) { return RunHf(c, HfOperation::kRequestMachines, hf_file); });

  std::vector<std::string> return_ids;
  CLI::App* mreturn = machines->add_subcommand("return", "give machines back");
  mreturn->add_option("-f,--file", hf_file, "HostFactory requestReturnMachines input file");
  mreturn->add_option("machines", return_ids, "machine ids (i-...) or host names");
  leaf(mreturn, [&](Context& c) {
    if (!hf_file.empty()) return RunHf(c, HfOperation::kRequestReturnMachines, hf_file);
    std::vector<MachineRef> refs;
    for (const std::string& m : return_ids) {
      refs.push_back(m.rfind("i-", 0) == 0 ? MachineRef{"", m} : MachineRef{m, ""});
    }
    return ReturnRefs(c, refs);
  });

  // hostfactory: what the five provider scripts call.
  std::string hf_operation;
  CLI::App* hostfactory = app.add_subcommand(
      "hostfactory", "run a HostFactory provider operation on its input file, as the five "
                     "scripts do; the answer is always HostFactory's JSON");
  hostfactory
      ->add_option("operation", hf_operation,
                   "getAvailableTemplates, requestMachines, getRequestStatus, "
                   "requestReturnMachines or getReturnRequests")
      ->required();
  hostfactory->add_option("-f,--file", hf_file, "the input file HostFactory passes");
  leaf(hostfactory, [&](Context& c) {
    for (HfOperation op : {HfOperation::kGetAvailableTemplates, HfOperation::kRequestMachines,
                           HfOperation::kGetRequestStatus, HfOperation::kRequestReturnMachines,
                           HfOperation::kGetReturnRequests}) {
      if (HfOperationName(op) == hf_operation) return RunHf(c, op, hf_file);
    }
    c.out << DumpJson(FormatHfFailure("unknown HostFactory operation '" + hf_operation + "'"))
          << "\n";
    return 1;
  });

  // providers
  CLI::App* providers = app.add_subcommand("providers", "the cloud providers orb launches in");
  providers->require_subcommand(1);
  leaf(providers->add_subcommand("list", "the configured provider instances"), ProvidersList);
  std::string provider_name;
  CLI::App* pshow = providers->add_subcommand("show", "one provider's region and endpoints");
  pshow->add_option("name", provider_name, "provider instance name (default: the only one)");
  leaf(pshow, [&](Context& c) { return ProvidersShow(c, provider_name); });
  std::string health_name;
  CLI::App* phealth = providers->add_subcommand(
      "health", "check credentials, region and endpoints with cheap calls (STS "
                "GetCallerIdentity, EC2 DescribeInstances), of one instance or of every one");
  phealth->add_option("name", health_name, "provider instance name (default: every one)");
  leaf(phealth, [&](Context& c) { return ProvidersHealth(c, health_name); });

  // reconcile
  bool reconcile_dry_run = false;
  CLI::App* reconcile = app.add_subcommand(
      "reconcile", "one reconciler pass: adopt instances of open requests the store misses, "
                   "terminate this broker's instances no request owns (after "
                   "reconcile.orphan_grace_sec)");
  reconcile->add_flag("--dry-run", reconcile_dry_run, "show what it would do; change nothing");
  leaf(reconcile, [&](Context& c) { return Reconcile(c, reconcile_dry_run); });

  // config
  CLI::App* config = app.add_subcommand("config", "orb's effective configuration");
  config->require_subcommand(1);
  leaf(config->add_subcommand("show", "every setting with its value and where it came from "
                                      "(secrets redacted)"),
       ConfigShow);
  leaf(config->add_subcommand("validate", "report every problem in the configuration"),
       ConfigValidate);

  // storage
  CLI::App* storage = app.add_subcommand("storage", "the store of requests and machines");
  storage->require_subcommand(1);
  leaf(storage->add_subcommand("show", "strategy, location, schema version and row counts"),
       StorageShow);
  leaf(storage->add_subcommand("health", "prove the store can be read and written now"),
       StorageHealth);

  // serve
  CLI::App* serve = app.add_subcommand(
      "serve", "serve the REST API (under /api/v1) until SIGTERM or SIGINT");
  serve->footer("Examples:\n  orb serve\n  orb serve --port 8080\n"
                "  curl http://127.0.0.1:8000/api/v1/requests?open=true");
  leaf(serve, [](Context& c) { return RunServerCommand(c, {ServerAction::kServe}); });

  // server: orb serve in the background
  CLI::App* server = app.add_subcommand(
      "server", "run the REST API server in the background (pid file server.pid_file)");
  server->require_subcommand(1);
  bool foreground = false;
  CLI::App* server_start = server->add_subcommand(
      "start", "start the server in the background; returns once it listens");
  server_start->add_flag("--foreground", foreground, "serve in this process, like orb serve");
  leaf(server_start, [&](Context& c) {
    return RunServerCommand(c, {foreground ? ServerAction::kServe : ServerAction::kStart});
  });
  ServerCommand stop{ServerAction::kStop};
  CLI::App* server_stop = server->add_subcommand(
      "stop", "stop the background server: in-flight requests finish first");
  server_stop->add_option("--timeout", stop.stop_timeout_sec,
                          "seconds to wait for it to exit (default 30)")
      ->check(CLI::Range(1, 3600));
  leaf(server_stop, [&](Context& c) { return RunServerCommand(c, stop); });
  leaf(server->add_subcommand("status", "whether the background server runs, its pid and "
                                        "address; exit 0 running, 3 not running"),
       [](Context& c) { return RunServerCommand(c, {ServerAction::kStatus}); });

  // mcp: the broker for AI assistants (Model Context Protocol), run by orb-server.
  CLI::App* mcp = app.add_subcommand("mcp", "the broker for AI assistants over the Model Context "
                                            "Protocol (docs/mcp.md)");
  mcp->require_subcommand(1);
  bool mcp_stdio = false;
  bool mcp_read_only = false;
  CLI::App* mcp_serve = mcp->add_subcommand(
      "serve", "serve MCP on stdin/stdout (the default) or, with --port, over streamable HTTP "
               "at /mcp; --host, --port and --log-level as for orb serve");
  mcp_serve->add_flag("--stdio", mcp_stdio, "JSON-RPC lines on stdin/stdout (the default)");
  mcp_serve->add_flag("--read-only", mcp_read_only,
                      "tools that would change anything (request, return, cancel) refuse");
  mcp_serve->footer(
      "Examples:\n  orb mcp serve --read-only\n  orb mcp serve --port 3000 --host 127.0.0.1\n"
      "In stdio mode stdout carries only protocol messages; logs go to the log file.");
  leaf(mcp_serve, [&](Context& c) {
    ServerCommand command{ServerAction::kMcpServe};
    command.mcp_http = c.global.setting_values.count("server.port") > 0;
    command.read_only = mcp_read_only;
    if (mcp_stdio && command.mcp_http) {
      throw Error(ErrorCode::kInvalidInput, "--stdio and --port exclude each other");
    }
    return RunServerCommand(c, command);
  });

  const bool json_errors = WantsJson(args);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  if (!reversed.empty()) reversed.pop_back();  // the program name
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    if (args.size() > 1 && args[1] == "hostfactory") {
      // HostFactory reads stdout: even a malformed call answers one JSON message.
      out << DumpJson(FormatHfFailure(std::string("bad arguments: ") + e.what())) << "\n";
      return 1;
    }
    OutputOptions o;
    o.format = json_errors ? OutputFormat::kJson : OutputFormat::kTable;
    (json_errors ? out : err) << FormatError("usage", e.what(), o);
    if (!json_errors) err << "run 'orb --help' for usage\n";
    return 2;
  }

  Context ctx{global, args, OutputOptions{}, out, err, std::nullopt, nullptr};
  ctx.output.format = *ParseOutputFormat(global.format);
  ctx.output.hostfactory_names = global.hf;
  ctx.output.long_form = global.long_form;
  ctx.output.fields = global.fields;
  ctx.output.terminal = out_is_terminal;

  for (auto& [cmd, handler] : leaves) {
    if (!cmd->parsed()) continue;
    try {
      return handler(ctx);
    } catch (const Error& e) {
      spdlog::error("{}", e.what());
      (ctx.output.format == OutputFormat::kJson ? out : err)
          << FormatError(ErrorCodeName(e.code()), e.what(), ctx.output);
      return e.code() == ErrorCode::kInvalidInput ? 2 : 1;
    } catch (const std::exception& e) {
      spdlog::critical("unexpected failure: {}", e.what());
      (ctx.output.format == OutputFormat::kJson ? out : err)
          << FormatError("internal_error", std::string("unexpected failure: ") + e.what(),
                         ctx.output);
      return 1;
    }
  }
  err << "error: no command given; run 'orb --help' for usage\n";
  return 2;
}

}  // namespace orb
