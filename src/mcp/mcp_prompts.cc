#include "mcp/mcp_prompts.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "config/template_loader.h"
#include "model/machine_state.h"
#include "model/records.h"

namespace orb::mcp {

namespace {

struct Argument {
  std::string name;
  std::string description;
  bool required = false;
};

struct Prompt {
  std::string name;
  std::string title;
  std::string description;
  std::vector<Argument> arguments;
  std::function<std::string(McpContext&, const std::map<std::string, std::string>&)> text;
};

std::string Arg(const std::map<std::string, std::string>& args, const std::string& name) {
  auto it = args.find(name);
  return it == args.end() ? "" : it->second;
}

// "m5.large, m5.xlarge" and the attributes that say what a machine is.
std::string TemplateLine(const Template& t) {
  std::ostringstream o;
  o << "- " << t.template_id << ": " << ProviderApiName(t.provider_api);
  if (t.fleet_type) o << " (" << FleetTypeName(*t.fleet_type) << ")";
  o << ", " << PriceTypeName(t.price_type) << ", maxNumber "
    << (t.max_number < 0 ? std::string("unlimited") : std::to_string(t.max_number));
  const std::vector<std::string> types = t.InstanceTypeNames();
  if (!types.empty()) {
    o << ", instance types ";
    for (size_t i = 0; i < types.size() && i < 8; ++i) o << (i ? ", " : "") << types[i];
    if (types.size() > 8) o << ", ...";
  }
  for (const char* a : {"ncpus", "nram"}) {
    if (const Attribute* attr = t.FindAttribute(a)) o << ", " << a << " " << attr->value;
  }
  if (t.all_or_nothing) o << ", all-or-nothing";
  o << "\n";
  return o.str();
}

std::string ProvisionText(McpContext& ctx, const std::map<std::string, std::string>& args) {
  const std::string wanted = Arg(args, "template_id");
  const std::string count = Arg(args, "count");
  std::ostringstream o;
  o << "Help me provision machines with orb (Open Resource Broker).\n";
  if (!wanted.empty()) o << "I want template " << wanted << ".\n";
  if (!count.empty()) o << "I want " << count << " capacity unit(s).\n";
  ctx.with_broker([&](Broker& b) {
    o << "\nTemplates available now:\n";
    try {
      for (const Template& t : b.ListTemplates()) o << TemplateLine(t);
    } catch (const Error& e) {
      o << "(none can be read: " << e.what() << ")\n";
    }
    RequestQuery open;
    open.open_only = true;
    o << "\nOpen requests: " << b.ListRequests(open).size() << "\n";
  });
  o << "\nSteps:\n"
       "1. Pick a template (get_template shows one in full); a count is in capacity units "
       "(an instance type's weight counts that many), within the template's maxNumber.\n"
       "2. Run request_machines with dry_run: true first to see the AWS calls it would make.\n"
       "3. Run request_machines; it answers a request id at once.\n"
       "4. Poll get_request_status with that id every few seconds until its status is "
       "complete or complete_with_error; the machines listed carry their host names and "
       "addresses.\n"
       "5. When done with machines, give them back with return_machines.\n";
  if (ctx.options.read_only) {
    o << "\nNote: this orb MCP server runs --read-only: request_machines only works with dry_run.\n";
  }
  return o.str();
}

std::string TroubleshootText(McpContext& ctx, const std::map<std::string, std::string>& args) {
  const std::string id = Arg(args, "request_id");
  std::ostringstream o;
  o << "Help me find out why an orb deployment is not going as expected.\n";
  ctx.with_broker([&](Broker& b) {
    if (!id.empty()) {
      o << "\nRequest " << id << ":\n";
      try {
        const Request r = b.GetRequest(id);
        std::vector<Machine> machines = b.MachinesOfRequest(r);
        o << RequestRecord(r, &machines).dump(2) << "\n";
        for (const Machine& m : machines) {
          if (!m.message.empty()) o << "- machine " << m.machine_id << ": " << m.message << "\n";
        }
      } catch (const Error& e) {
        o << "(" << e.what() << ")\n";
      }
    }
    RequestQuery failed;
    failed.status = RequestStatus::kCompleteWithError;
    failed.limit = 10;
    const std::vector<Request> recent = b.ListRequests(failed);
    o << "\nRecent failed requests (complete_with_error, newest first): "
      << (recent.empty() ? "none" : "") << "\n";
    for (const Request& r : recent) {
      o << "- " << r.request_id << " (" << RequestKindName(r.kind)
        << (r.template_id.empty() ? "" : ", template " + r.template_id) << "): " << r.message
        << "\n";
    }
  });
  const std::string log_file = ctx.config.Get("logging.file");
  const std::string tail = log_file.empty() ? "" : TailOfFile(log_file, kLogTailLines);
  o << "\nLast lines of orb's log (" << (log_file.empty() ? "no log file" : log_file) << "):\n"
    << (tail.empty() ? "(empty or unreadable)\n" : tail);
  o << "\nLook for cloud errors (capacity, quota, permissions, invalid parameters), "
       "machines that never became usable within the pending timeout, and requests past "
       "their deadline. check_provider_health tells whether credentials and endpoints "
       "work; get_request_status brings an open request up to date.\n";
  return o.str();
}

std::string BestPracticesText(McpContext& ctx, const std::map<std::string, std::string>&) {
  std::ostringstream o;
  o << "Advise me on running orb (Open Resource Broker) well with this configuration.\n";
  ctx.with_broker([&](Broker& b) {
    o << "\nProvider instances:\n";
    for (const ProviderInfo& i : b.ListProviders()) {
      o << "- " << i.name << " (" << i.type << ", region " << (i.region.empty() ? "unset" : i.region)
        << ")\n";
    }
    try {
      std::map<std::string, int> by_kind;
      const std::vector<Template> templates = b.ListTemplates();
      for (const Template& t : templates) {
        ++by_kind[std::string(ProviderApiName(t.provider_api)) + " / " +
                  std::string(PriceTypeName(t.price_type))];
      }
      o << "\nTemplates: " << templates.size() << " (by provider API / price type:";
      for (const auto& [k, n] : by_kind) o << " " << k << " " << n << ";";
      o << ")\n";
    } catch (const Error& e) {
      o << "\nTemplates: none readable (" << e.what() << ")\n";
    }
  });
  o << "\nGuidance:\n"
       "- Spot capacity costs less but can be taken back with two minutes' notice: use it for "
       "work that tolerates interruption, list several instance types and subnets so the "
       "fleet can draw on more pools, and watch list_return_requests for interrupted hosts.\n"
       "- On-demand capacity suits work that must not be interrupted; percentOnDemand on a "
       "fleet mixes both.\n"
       "- EC2 Fleet (instant) launches in one call across pools; Spot Fleet and request or "
       "maintain fleets, and Auto Scaling groups, keep launching after the call, and their "
       "machines are given back through the group.\n"
       "- capacityPolicy all-or-nothing gives a request every unit it asks for or none (what "
       "a short launch got is terminated); the default best-effort keeps what it got.\n"
       "- Return machines (return_machines) as soon as they are no longer needed, and cancel "
       "requests that are no longer wanted (cancel_request): orb terminates what they "
       "launched.\n"
       "- Use dry_run first on request_machines, return_machines and cancel_request.\n";
  return o.str();
}

const std::vector<Prompt>& Prompts() {
  static const std::vector<Prompt> prompts = {
      {"provision_infrastructure", "Provision infrastructure",
       "Guides provisioning machines from a template, with the templates and open requests "
       "as they are now.",
       {{"template_id", "the template to provision from", false},
        {"count", "capacity units wanted", false}},
       ProvisionText},
      {"troubleshoot_deployment", "Troubleshoot a deployment",
       "Investigates a request that failed or is stuck: its record and machines, recent "
       "failed requests and the last lines of orb's log.",
       {{"request_id", "the request to look into", false}},
       TroubleshootText},
      {"infrastructure_best_practices", "Infrastructure best practices",
       "Advice on spot versus on-demand, fleets, all-or-nothing and returning machines, "
       "for the provider instances and templates configured.",
       {},
       BestPracticesText},
  };
  return prompts;
}

}  // namespace

std::string TailOfFile(const std::string& path, int n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size <= 0) return "";
  const std::streamoff start = std::max<std::streamoff>(0, size - 64 * 1024);
  in.seekg(start);
  std::string data(static_cast<size_t>(size - start), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  std::vector<std::string> lines;
  std::istringstream s(data);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  if (start > 0 && !lines.empty()) lines.erase(lines.begin());  // a partial first line
  std::string out;
  const size_t from = lines.size() > static_cast<size_t>(n) ? lines.size() - n : 0;
  for (size_t i = from; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

json ListPrompts() {
  json list = json::array();
  for (const Prompt& p : Prompts()) {
    json d = json::object();
    d["name"] = p.name;
    d["title"] = p.title;
    d["description"] = p.description;
    json args = json::array();
    for (const Argument& a : p.arguments) {
      args.push_back(json{{"name", a.name}, {"description", a.description}, {"required", a.required}});
    }
    d["arguments"] = args;
    list.push_back(d);
  }
  return json{{"prompts", list}};
}

json GetPrompt(McpContext& ctx, const std::string& name, const json& arguments) {
  const Prompt* prompt = nullptr;
  for (const Prompt& p : Prompts()) {
    if (p.name == name) prompt = &p;
  }
  if (prompt == nullptr) throw RpcError(kInvalidParams, "unknown prompt: " + name);
  if (!arguments.is_null() && !arguments.is_object()) {
    throw RpcError(kInvalidParams, "param 'arguments' must be an object of strings");
  }
  std::map<std::string, std::string> args;
  if (arguments.is_object()) {
    for (const auto& [key, value] : arguments.items()) {
      const auto known = std::find_if(prompt->arguments.begin(), prompt->arguments.end(),
                                      [&](const Argument& a) { return a.name == key; });
      if (known == prompt->arguments.end()) {
        throw RpcError(kInvalidParams, "prompt " + name + " has no argument '" + key + "'");
      }
      if (!value.is_string()) {
        throw RpcError(kInvalidParams, "argument '" + key + "' of prompt " + name + " must be a string");
      }
      args[key] = value.get<std::string>();
    }
  }
  for (const Argument& a : prompt->arguments) {
    if (a.required && args.find(a.name) == args.end()) {
      throw RpcError(kInvalidParams, "prompt " + name + " needs argument '" + a.name + "'");
    }
  }
  std::string text;
  try {
    text = prompt->text(ctx, args);
  } catch (const Error& e) {
    throw RpcError(kInternalError, "prompt " + name + " could not be filled: " + e.what());
  }
  json message = json::object();
  message["role"] = "user";
  message["content"] = json{{"type", "text"}, {"text", text}};
  json r = json::object();
  r["description"] = prompt->description;
  r["messages"] = json::array({message});
  return r;
}

}  // namespace orb::mcp
