#include "mcp/mcp_tools.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "broker/broker_records.h"
#include "broker/dry_run.h"
#include "common/error.h"
#include "common/strings.h"
#include "config/settings.h"
#include "config/template_loader.h"
#include "model/records.h"

namespace orb::mcp {

namespace {

using Handler = std::function<json(McpContext&, const json& args)>;

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  json input;   // JSON Schema of the arguments
  json output;  // JSON Schema of structuredContent
  bool read_only = true;
  bool destructive = false;
  bool idempotent = true;
  bool open_world = false;  // reaches AWS
  Handler run;
};

// {"type": "object", "properties": props, "required": [...], "additionalProperties": false}.
json Input(json props = json::object(), std::vector<std::string> required = {}) {
  json s = json::object();
  s["type"] = "object";
  s["properties"] = std::move(props);
  if (!required.empty()) s["required"] = required;
  s["additionalProperties"] = false;
  return s;
}

// An output object with `key` holding an array of objects.
json ListOutput(const std::string& key) {
  json s = json::object();
  s["type"] = "object";
  s["properties"] = json{{key, {{"type", "array"}, {"items", {{"type", "object"}}}}}};
  s["required"] = json::array({key});
  return s;
}

json ObjectOutput(json props, std::vector<std::string> required) {
  json s = json::object();
  s["type"] = "object";
  s["properties"] = std::move(props);
  if (!required.empty()) s["required"] = required;
  return s;
}

json Str(const std::string& description) {
  return json{{"type", "string"}, {"description", description}};
}
json Bool(const std::string& description) {
  return json{{"type", "boolean"}, {"description", description}};
}
json Int(const std::string& description, long long min, long long max) {
  return json{{"type", "integer"}, {"description", description}, {"minimum", min}, {"maximum", max}};
}
json Ids(const std::string& description, int max) {
  return json{{"type", "array"},
              {"description", description},
              {"items", {{"type", "string"}, {"minLength", 1}}},
              {"minItems", 1},
              {"maxItems", max}};
}

const json kDryRunOutput = ObjectOutput(json{{"dry_run", {{"type", "boolean"}}},
                                             {"aws_calls", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                                             {"request_id", {{"type", "string"}}},
                                             {"message", {{"type", "string"}}}},
                                        {});

std::string OptString(const json& a, const std::string& key) {
  return a.contains(key) ? a[key].get<std::string>() : std::string();
}
bool OptBool(const json& a, const std::string& key) {
  return a.contains(key) && a[key].get<bool>();
}
int OptInt(const json& a, const std::string& key, int fallback) {
  return a.contains(key) ? static_cast<int>(a[key].get<double>()) : fallback;
}
std::vector<std::string> StringList(const json& a, const std::string& key) {
  std::vector<std::string> out;
  for (const json& v : a[key]) out.push_back(v.get<std::string>());
  return out;
}

// The result of `fn` run with a broker of its own.
json WithBroker(McpContext& ctx, const std::function<json(Broker&)>& fn) {
  json out;
  ctx.with_broker([&](Broker& b) { out = fn(b); });
  return out;
}

// Throws Error(kNotFound) naming the configured ones unless `name` is one of them.
void RequireProvider(Broker& b, const std::string& name) {
  const std::vector<std::string> all = b.ProviderNames();
  if (std::find(all.begin(), all.end(), name) == all.end()) {
    throw Error(ErrorCode::kNotFound,
                "unknown provider '" + name + "' (configured: " + Join(all, ", ") + ")");
  }
}

json ProviderSettings(const Config& config, const std::string& name) {
  const Config instance = config.ForProviderInstance(name);
  json settings = json::array();
  for (const SettingSpec& spec : AllSettings()) {
    if (spec.key.rfind("provider.", 0) != 0 && spec.key.rfind("aws.", 0) != 0) continue;
    settings.push_back(SettingRecord(instance, spec));  // secrets redacted
  }
  return settings;
}

std::vector<Tool> MakeTools() {
  std::vector<Tool> t;
  t.push_back(
      {"check_provider_health", "Check provider health",
       "Checks a provider instance's credentials, region and endpoints with cheap AWS calls "
       "(all instances when no name is given).",
       Input({{"name", Str("provider instance name (default: every configured instance)")}}),
       ObjectOutput(json{{"status", {{"type", "string"}, {"enum", {"ok", "failing"}}}},
                         {"providers", {{"type", "array"}, {"items", {{"type", "object"}}}}}},
                    {"status", "providers"}),
       true, false, true, true, [](McpContext& ctx, const json& a) {
         return WithBroker(ctx, [&](Broker& b) {
           std::vector<std::string> names = b.ProviderNames();
           if (a.contains("name")) {
             RequireProvider(b, a["name"].get<std::string>());
             names = {a["name"].get<std::string>()};
           }
           bool ok = true;
           json list = json::array();
           for (const std::string& n : names) {
             const ProviderHealth h = b.CheckProviderHealth(n);
             ok = ok && h.ok;
             list.push_back(HealthRecord(n, h));
           }
           return json{{"status", ok ? "ok" : "failing"}, {"providers", list}};
         });
       }});
  t.push_back({"list_providers", "List providers",
               "The configured provider instances: name, type, region and endpoints.", Input(),
               ListOutput("providers"), true, false, true, false,
               [](McpContext& ctx, const json&) {
                 return WithBroker(ctx, [&](Broker& b) {
                   json list = json::array();
                   for (const ProviderInfo& i : b.ListProviders()) list.push_back(ProviderRecord(i));
                   return json{{"providers", list}};
                 });
               }});
  t.push_back({"get_provider_config", "Get provider configuration",
               "The provider.* and aws.* settings a provider instance uses, with where each "
               "value came from; secrets are redacted.",
               Input({{"name", Str("provider instance name (default: the default instance)")}}),
               ObjectOutput(json{{"provider", {{"type", "string"}}},
                                 {"settings", {{"type", "array"}, {"items", {{"type", "object"}}}}}},
                            {"provider", "settings"}),
               true, false, true, false, [](McpContext& ctx, const json& a) {
                 return WithBroker(ctx, [&](Broker& b) {
                   const std::string name =
                       a.contains("name") ? a["name"].get<std::string>() : b.DefaultProviderName();
                   RequireProvider(b, name);
                   return json{{"provider", name}, {"settings", ProviderSettings(ctx.config, name)}};
                 });
               }});
  t.push_back(
      {"get_provider_metrics", "Get provider metrics",
       "AWS calls made by this MCP server process (by service, action and outcome, with "
       "throttles) and the store's requests by kind and status and machines by state.",
       Input(),
       ObjectOutput(json{{"aws", {{"type", "object"}}}, {"store", {{"type", "object"}}}},
                    {"aws", "store"}),
       true, false, false, false, [](McpContext& ctx, const json&) {
         json store = json::object();
         ctx.with_broker([&](Broker& b) {
           const StoreTally tally = b.store().Tally();
           json requests = json::array();
           for (const auto& [key, n] : tally.requests) {
             requests.push_back(json{{"kind", key.first}, {"status", key.second}, {"count", n}});
           }
           json machines = json::array();
           for (const auto& [state, n] : tally.machines) {
             machines.push_back(json{{"state", state}, {"count", n}});
           }
           store["requests"] = requests;
           store["machines"] = machines;
         });
         return json{{"aws", ctx.aws_calls.Snapshot()}, {"store", store}};
       }});
  t.push_back({"list_templates", "List templates",
               "Every template of the templates file: id, maxNumber, attributes (cpus, memory, "
               "instance types) and how it launches (provider API, price type).",
               Input(), ListOutput("templates"), true, false, true, false,
               [](McpContext& ctx, const json&) {
                 return WithBroker(ctx, [&](Broker& b) {
                   json list = json::array();
                   for (const Template& tp : b.ListTemplates()) list.push_back(TemplateRecord(tp));
                   return json{{"templates", list}};
                 });
               }});
  t.push_back({"get_template", "Get template", "One template of the templates file, by id.",
               Input({{"template_id", Str("template id")}}, {"template_id"}),
               ObjectOutput(json{{"template", {{"type", "object"}}}}, {"template"}), true, false,
               true, false, [](McpContext& ctx, const json& a) {
                 return WithBroker(ctx, [&](Broker& b) {
                   return json{{"template",
                                TemplateRecord(b.GetTemplate(a["template_id"].get<std::string>()))}};
                 });
               }});
  t.push_back(
      {"validate_template", "Validate template",
       "Checks a template object (IBM camelCase or snake_case keys) as it would be added to "
       "the templates file, together with the file's other templates; writes nothing.",
       Input({{"template", {{"type", "object"}, {"description", "the template object"}}}},
             {"template"}),
       ObjectOutput(json{{"valid", {{"type", "boolean"}}},
                         {"template_id", {{"type", "string"}}},
                         {"warnings", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
                    {"valid"}),
       true, false, true, false, [](McpContext& ctx, const json& a) {
         return WithBroker(ctx, [&](Broker& b) {
           TemplateChangeOptions o;
           o.validate_only = true;
           o.force = true;
           const TemplateChange ch =
               b.CreateTemplate(OneTemplateOf(a["template"], "argument 'template'"), o);
           json r = TemplateChangeRecord(ch);
           r["valid"] = true;
           return r;
         });
       }});
  t.push_back(
      {"request_machines", "Request machines",
       "Asks for `count` capacity units of a template: records the request durably, then "
       "launches through the template's provider API. Answers the request id at once; "
       "poll get_request_status until it is complete. With dry_run, changes nothing and "
       "shows the AWS calls it would make.",
       Input({{"template_id", Str("template id")},
              {"count", Int("capacity units to launch", 1, 1000000)},
              {"dry_run", Bool("describe what would be done and change nothing")}},
             {"template_id", "count"}),
       kDryRunOutput, false, false, false, true, [](McpContext& ctx, const json& a) {
         const std::string id = a["template_id"].get<std::string>();
         const int count = OptInt(a, "count", 0);
         if (OptBool(a, "dry_run")) {
           return WithBroker(ctx, [&](Broker& b) {
             const Template templ = b.GetTemplate(id);
             const std::string provider = b.ProviderOrder(templ).front();
             const int per_call = static_cast<int>(
                 ctx.config.ForProviderInstance(provider).GetInt("aws.max_instances_per_call"));
             return DescribeLaunch(templ, count, provider, per_call);
           });
         }
         json r = WithBroker(ctx, [&](Broker& b) {
           std::string message;
           const std::string request_id = b.RequestMachines(id, count, &message);
           // Named in the answer about to be sent (see Broker::AcknowledgeRequest).
           b.AcknowledgeRequest(request_id);
           return json{{"request_id", request_id}, {"message", message}};
         });
         ctx.resources_changed({"requests://" + r["request_id"].get<std::string>()});
         return r;
       }});
  t.push_back(
      {"get_request_status", "Get request status",
       "Reports acquire and return requests with their machines, bringing open ones up to "
       "date with the cloud (one batched describe). Unknown ids are reported "
       "complete_with_error.",
       Input({{"request_ids", Ids("request ids (req-... or ret-...)", 1000)}}, {"request_ids"}),
       ListOutput("requests"), true, false, false, true, [](McpContext& ctx, const json& a) {
         json list = json::array();
         ctx.with_broker([&](Broker& b) {
           for (RequestReport& r : b.RequestStatuses(StringList(a, "request_ids"))) {
             json record = RequestRecord(r.request, &r.machines);
             if (!r.message.empty()) record["poll_message"] = r.message;
             list.push_back(std::move(record));
           }
         });
         return json{{"requests", list}};
       }});
  t.push_back(
      {"list_requests", "List requests", "Requests from the store, newest first (no cloud call).",
       Input({{"open", Bool("only requests still running")},
              {"status", {{"type", "string"}, {"enum", {"running", "complete", "complete_with_error"}}}},
              {"kind", {{"type", "string"}, {"enum", {"acquire", "return"}}}},
              {"template_id", Str("only requests of this template")},
              {"limit", Int("at most this many (default 100)", 1, 10000)}}),
       ListOutput("requests"), true, false, true, false, [](McpContext& ctx, const json& a) {
         RequestQuery q;
         q.open_only = OptBool(a, "open");
         if (a.contains("status")) q.status = ParseRequestStatus(a["status"].get<std::string>());
         if (a.contains("kind")) q.kind = ParseRequestKind(a["kind"].get<std::string>());
         q.template_id = OptString(a, "template_id");
         q.limit = OptInt(a, "limit", 100);
         return WithBroker(ctx, [&](Broker& b) {
           json list = json::array();
           for (const Request& r : b.ListRequests(q)) list.push_back(RequestRecord(r));
           return json{{"requests", list}};
         });
       }});
  t.push_back({"list_return_requests", "List return candidates",
               "Hosts the cloud took or is taking back (spot interruptions, rebalance "
               "recommendations, terminated or stopped machines) with the seconds left: "
               "HostFactory's getReturnRequests.",
               Input(), ListOutput("machines"), true, false, false, true,
               [](McpContext& ctx, const json&) {
                 return WithBroker(ctx, [&](Broker& b) {
                   json list = json::array();
                   for (const ReturnCandidate& rc : b.ReturnCandidates({})) {
                     list.push_back(ReturnCandidateRecord(rc));
                   }
                   return json{{"machines", list}};
                 });
               }});
  t.push_back(
      {"return_machines", "Return machines",
       "Gives machines back: records a return request naming them, then terminates them "
       "(machines of a fleet or Auto Scaling group through their group, so it does not "
       "replace them). With dry_run, changes nothing and shows the machines and AWS calls.",
       Input({{"machine_ids", Ids("cloud instance ids (i-...)", 1000)},
              {"dry_run", Bool("describe what would be done and change nothing")}},
             {"machine_ids"}),
       kDryRunOutput, false, true, true, true, [](McpContext& ctx, const json& a) {
         const std::vector<std::string> ids = StringList(a, "machine_ids");
         if (OptBool(a, "dry_run")) {
           return WithBroker(ctx, [&](Broker& b) {
             std::vector<Machine> found;
             std::vector<std::string> unknown;
             for (const std::string& id : ids) {
               std::optional<Machine> m = b.store().GetMachine(id);
               if (m) {
                 found.push_back(*m);
               } else {
                 unknown.push_back(id);
               }
             }
             return DescribeReturn(found, unknown);
           });
         }
         json r = WithBroker(ctx, [&](Broker& b) {
           std::vector<MachineRef> refs;
           for (const std::string& id : ids) refs.push_back({"", id});
           std::string message;
           const std::string request_id = b.ReturnMachines(refs, &message);
           b.AcknowledgeRequest(request_id);
           return json{{"request_id", request_id}, {"message", message}};
         });
         ctx.resources_changed({"requests://" + r["request_id"].get<std::string>()});
         return r;
       }});
  t.push_back(
      {"list_machines", "List machines", "Machines from the store, newest first (no cloud call).",
       Input({{"active", Bool("only machines not yet terminated")},
              {"request_id", Str("only machines launched by this acquire request")},
              {"template_id", Str("only machines of this template")},
              {"limit", Int("at most this many (default 100)", 1, 10000)}}),
       ListOutput("machines"), true, false, true, false, [](McpContext& ctx, const json& a) {
         MachineQuery q;
         q.active_only = OptBool(a, "active");
         q.request_id = OptString(a, "request_id");
         q.template_id = OptString(a, "template_id");
         q.limit = OptInt(a, "limit", 100);
         return WithBroker(ctx, [&](Broker& b) {
           json list = json::array();
           for (const Machine& m : b.ListMachines(q)) list.push_back(MachineRecord(m));
           return json{{"machines", list}};
         });
       }});
  t.push_back({"get_machine", "Get machine", "One machine, by cloud id or host name.",
               Input({{"machine_id", Str("cloud instance id (i-...) or host name")}}, {"machine_id"}),
               ObjectOutput(json{{"machine", {{"type", "object"}}}}, {"machine"}), true, false, true,
               false, [](McpContext& ctx, const json& a) {
                 return WithBroker(ctx, [&](Broker& b) {
                   return json{{"machine",
                                MachineRecord(b.GetMachine(a["machine_id"].get<std::string>()))}};
                 });
               }});
  t.push_back(
      {"cancel_request", "Cancel request",
       "Cancels an open acquire request: no more machines are launched for it, its groups "
       "are deleted and its machines terminated; it ends complete_with_error. With dry_run, "
       "changes nothing and shows what would be given back.",
       Input({{"request_id", Str("acquire request id (req-...)")},
              {"dry_run", Bool("describe what would be done and change nothing")}},
             {"request_id"}),
       ObjectOutput(json{{"dry_run", {{"type", "boolean"}}}, {"request", {{"type", "object"}}}}, {}),
       false, true, true, true, [](McpContext& ctx, const json& a) {
         const std::string id = a["request_id"].get<std::string>();
         if (OptBool(a, "dry_run")) {
           return WithBroker(ctx, [&](Broker& b) {
             const Request r = b.GetRequest(id);
             return DescribeCancel(r, b.MachinesOfRequest(r));
           });
         }
         json r = WithBroker(ctx, [&](Broker& b) {
           const Request ended = b.CancelRequest(id, ctx.caller);
           std::vector<Machine> machines = b.MachinesOfRequest(ended);
           return json{{"request", RequestRecord(ended, &machines)}};
         });
         ctx.resources_changed({"requests://" + id});
         return r;
       }});
  return t;
}

const std::vector<Tool>& Tools() {
  static const std::vector<Tool> tools = MakeTools();
  return tools;
}

json ToolResult(const json& structured) {
  json r = json::object();
  r["content"] = json::array({json{{"type", "text"}, {"text", structured.dump(2)}}});
  r["structuredContent"] = structured;
  r["isError"] = false;
  return r;
}

json ToolFailure(const std::string& text) {
  json r = json::object();
  r["content"] = json::array({json{{"type", "text"}, {"text", text}}});
  r["isError"] = true;
  return r;
}

}  // namespace

json ListTools() {
  json list = json::array();
  for (const Tool& t : Tools()) {
    json d = json::object();
    d["name"] = t.name;
    d["title"] = t.title;
    d["description"] = t.description;
    d["inputSchema"] = t.input;
    d["outputSchema"] = t.output;
    d["annotations"] = json{{"title", t.title},
                            {"readOnlyHint", t.read_only},
                            {"destructiveHint", t.destructive},
                            {"idempotentHint", t.idempotent},
                            {"openWorldHint", t.open_world}};
    list.push_back(d);
  }
  return json{{"tools", list}};
}

bool IsMutatingTool(const std::string& name) {
  for (const Tool& t : Tools()) {
    if (t.name == name) return !t.read_only;
  }
  return false;
}

json CallTool(McpContext& ctx, const std::string& name, const json& arguments) {
  const Tool* tool = nullptr;
  for (const Tool& t : Tools()) {
    if (t.name == name) tool = &t;
  }
  if (tool == nullptr) throw RpcError(kInvalidParams, "unknown tool: " + name);
  const json args = arguments.is_null() ? json::object() : arguments;
  CheckAgainstSchema(args, tool->input, "invalid arguments for tool " + name);
  const bool dry_run = args.contains("dry_run") && args["dry_run"].get<bool>();
  if (!tool->read_only && ctx.options.read_only && !dry_run) {
    return ToolFailure("orb mcp serve was started --read-only: " + name +
                       " changes nothing (dry_run: true shows what it would do)");
  }
  try {
    return ToolResult(tool->run(ctx, args));
  } catch (const Error& e) {
    return ToolFailure(name + " failed (" + std::string(ErrorCodeName(e.code())) + "): " + e.what());
  } catch (const RpcError&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::error("MCP tool {} failed: {}", name, e.what());
    return ToolFailure(name + " failed (internal): " + e.what());
  }
}

}  // namespace orb::mcp
