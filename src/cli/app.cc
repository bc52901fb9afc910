#include "cli/app.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "cli/logging.h"
#include "cli/output.h"
#include "common/error.h"
#include "common/strings.h"
#include "config/config_loader.h"
#include "config/template_loader.h"
#include "model/records.h"
#include "orb/version.h"

namespace orb {

namespace {

using json = nlohmann::ordered_json;

// Options every command accepts, before or after the command name.
struct GlobalOptions {
  std::string config_file;
  std::string format = "table";
  std::vector<std::string> fields;
  bool hf = false;
  bool long_form = false;
  std::map<std::string, std::string> setting_values;  // flag text per setting key
};

// Everything a command handler needs.
struct Context {
  GlobalOptions global;
  OutputOptions output;
  std::ostream& out;
  std::ostream& err;
  std::optional<Config> config;
  std::unique_ptr<Broker> broker;

  // Loads the configuration (and sets up logging); with `strict`, refuses to go
  // on when it has errors.
  const Config& LoadConfiguration(bool strict) {
    if (!config) {
      ConfigInputs inputs;
      inputs.config_file = global.config_file;
      for (const auto& [key, value] : global.setting_values) inputs.flags[key] = value;
      config = LoadConfig(inputs);
      if (config->HasErrors()) {
        SetUpFallbackLogging();
      } else {
        SetUpLogging(*config);
      }
      for (const ConfigProblem& p : config->problems()) {
        if (!p.error) spdlog::warn("config: {}", p.ToString());
      }
    }
    if (strict) config->ThrowIfErrors();
    return *config;
  }

  Broker& GetBroker() {
    if (!broker) broker = std::make_unique<Broker>(LoadConfiguration(true));
    return *broker;
  }
};

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

int TemplatesValidate(Context& c, const std::string& file) {
  TemplateCheck check = c.GetBroker().ValidateTemplates(file);
  json doc = json::object();
  doc["file"] = check.file;
  doc["valid"] = check.problems.empty();
  doc["templates"] = check.templates.size();
  doc["problems"] = check.problems;
  if (c.output.format == OutputFormat::kJson || c.output.format == OutputFormat::kYaml) {
    c.out << FormatRecord(doc, c.output);
  } else if (check.problems.empty()) {
    c.out << check.file << ": " << check.templates.size() << " valid templates\n";
  } else {
    for (const std::string& p : check.problems) c.out << p << "\n";
    c.out << check.file << ": " << check.problems.size() << " problem(s), "
          << check.templates.size() << " valid templates\n";
  }
  return check.problems.empty() ? 0 : 1;
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

json SettingRecord(const Config& config, const SettingSpec& spec) {
  const SettingValue& v = config.Lookup(spec.key);
  json r = json::object();
  r["key"] = std::string(spec.key);
  r["value"] = spec.secret && !v.value.empty() ? std::string(kRedacted) : v.value;
  r["source"] = std::string(SettingSourceName(v.source));
  r["origin"] = v.origin;
  std::vector<std::string> env(spec.env.begin(), spec.env.end());
  r["env"] = Join(env, ",");
  r["ibm_key"] = std::string(spec.ibm_key);
  r["flag"] = std::string(spec.flag);
  r["default"] = std::string(spec.default_value);
  r["description"] = std::string(spec.description);
  return r;
}

void PrintProblems(Context& c, const Config& config) {
  for (const ConfigProblem& p : config.problems()) {
    c.err << (p.error ? "error: " : "warning: ") << p.ToString() << "\n";
  }
}

int ConfigShow(Context& c) {
  const Config& config = c.LoadConfiguration(false);
  std::vector<json> records;
  for (const SettingSpec& spec : AllSettings()) records.push_back(SettingRecord(config, spec));
  c.out << FormatRecords(records, "settings", kSettingColumns, c.output);
  PrintProblems(c, config);
  return config.HasErrors() ? 1 : 0;
}

int ConfigValidate(Context& c) {
  const Config& config = c.LoadConfiguration(false);
  json doc = json::object();
  doc["valid"] = !config.HasErrors();
  doc["files"] = config.files();
  json problems = json::array();
  for (const ConfigProblem& p : config.problems()) {
    json pr = json::object();
    pr["severity"] = p.error ? "error" : "warning";
    pr["where"] = p.where;
    pr["key"] = p.key;
    pr["message"] = p.message;
    problems.push_back(pr);
  }
  doc["problems"] = problems;
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
  StoreInfo info = c.GetBroker().store().Info();
  json r = json::object();
  r["strategy"] = info.strategy;
  r["location"] = info.location;
  r["schema_version"] = info.schema_version;
  for (const auto& [table, n] : info.counts) r[table] = n;
  c.out << FormatRecord(r, c.output);
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
  leaf(templates->add_subcommand("list", "list the templates of the templates file"),
       TemplatesList);
  std::string template_id;
  CLI::App* tshow = templates->add_subcommand("show", "show one template");
  tshow->add_option("template_id", template_id, "template id")->required();
  leaf(tshow, [&](Context& c) { return TemplatesShow(c, template_id); });
  std::string validate_file;
  CLI::App* tvalidate =
      templates->add_subcommand("validate", "check a templates file and report every problem");
  tvalidate->add_option("--file,-f", validate_file, "templates file (default: the one in use)");
  leaf(tvalidate, [&](Context& c) { return TemplatesValidate(c, validate_file); });

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
    OutputOptions o;
    o.format = json_errors ? OutputFormat::kJson : OutputFormat::kTable;
    (json_errors ? out : err) << FormatError("usage", e.what(), o);
    if (!json_errors) err << "run 'orb --help' for usage\n";
    return 2;
  }

  Context ctx{global, OutputOptions{}, out, err, std::nullopt, nullptr};
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
