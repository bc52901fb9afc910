#include "mcp/mcp_resources.h"

#include <array>

#include "broker/broker_records.h"
#include "common/error.h"
#include "config/template_loader.h"
#include "model/records.h"

namespace orb::mcp {

namespace {

struct Collection {
  const char* scheme;    // "templates"
  const char* title;
  const char* description;
  const char* item;      // the URI template's variable
  const char* item_title;
};

const std::array<Collection, 4> kCollections = {{
    {"templates", "Templates", "Every template of the templates file (what can be requested).",
     "template_id", "Template"},
    {"requests", "Requests", "The newest 100 acquire and return requests, newest first.",
     "request_id", "Request"},
    {"machines", "Machines", "The active machines (at most 1000), newest first.", "machine_id",
     "Machine"},
    {"providers", "Providers", "The configured provider instances.", "name", "Provider"},
}};

constexpr const char* kMime = "application/json";

json Entry(const std::string& uri, const std::string& name, const std::string& title,
           const std::string& description) {
  json e = json::object();
  e["uri"] = uri;
  e["name"] = name;
  e["title"] = title;
  e["description"] = description;
  e["mimeType"] = kMime;
  return e;
}

// The result of `fn` run with a broker of its own.
json WithBroker(McpContext& ctx, const std::function<json(Broker&)>& fn) {
  json out;
  ctx.with_broker([&](Broker& b) { out = fn(b); });
  return out;
}

json ReadCollection(Broker& b, const std::string& scheme) {
  json list = json::array();
  if (scheme == "templates") {
    for (const Template& t : b.ListTemplates()) list.push_back(TemplateRecord(t));
    return json{{"templates", list}};
  }
  if (scheme == "requests") {
    RequestQuery q;
    q.limit = 100;
    for (const Request& r : b.ListRequests(q)) list.push_back(RequestRecord(r));
    return json{{"requests", list}};
  }
  if (scheme == "machines") {
    MachineQuery q;
    q.active_only = true;
    q.limit = 1000;
    for (const Machine& m : b.ListMachines(q)) list.push_back(MachineRecord(m));
    return json{{"machines", list}};
  }
  for (const ProviderInfo& i : b.ListProviders()) list.push_back(ProviderRecord(i));
  return json{{"providers", list}};
}

json ReadItem(Broker& b, const std::string& scheme, const std::string& id) {
  if (scheme == "templates") return TemplateRecord(b.GetTemplate(id));
  if (scheme == "requests") {
    const Request r = b.GetRequest(id);
    std::vector<Machine> machines = b.MachinesOfRequest(r);
    return RequestRecord(r, &machines);
  }
  if (scheme == "machines") return MachineRecord(b.GetMachine(id));
  for (const ProviderInfo& i : b.ListProviders()) {
    if (i.name == id) return ProviderRecord(i);
  }
  throw Error(ErrorCode::kNotFound, "unknown provider '" + id + "'");
}

// Splits "scheme://rest"; throws RpcError(kInvalidParams) for another scheme.
std::pair<std::string, std::string> SplitUri(const std::string& uri) {
  const size_t sep = uri.find("://");
  if (sep != std::string::npos) {
    const std::string scheme = uri.substr(0, sep);
    for (const Collection& c : kCollections) {
      if (scheme == c.scheme) {
        std::string rest = uri.substr(sep + 3);
        while (!rest.empty() && rest.back() == '/') rest.pop_back();
        return {scheme, rest};
      }
    }
  }
  throw RpcError(kInvalidParams, "param 'uri' must be a templates://, requests://, machines:// or "
                                 "providers:// URI, got '" + uri + "'");
}

}  // namespace

void CheckResourceUri(const std::string& uri) { SplitUri(uri); }

std::string CollectionOf(const std::string& uri) {
  const size_t sep = uri.find("://");
  if (sep == std::string::npos) return "";
  return uri.substr(0, sep + 3);
}

json ListResources(McpContext& ctx) {
  json list = json::array();
  for (const Collection& c : kCollections) {
    list.push_back(Entry(std::string(c.scheme) + "://", c.scheme, c.title, c.description));
  }
  ctx.with_broker([&](Broker& b) {
    try {
      int n = 0;
      for (const Template& t : b.ListTemplates()) {
        if (n++ == kMaxListedItems) break;
        list.push_back(Entry("templates://" + t.template_id, t.template_id,
                             "Template " + t.template_id,
                             std::string(ProviderApiName(t.provider_api)) + ", " +
                                 std::string(PriceTypeName(t.price_type)) + ", maxNumber " +
                                 std::to_string(t.max_number)));
      }
    } catch (const Error&) {
      // No readable templates file: the collection still lists (and says why when read).
    }
    RequestQuery open;
    open.open_only = true;
    open.limit = kMaxListedItems;
    for (const Request& r : b.ListRequests(open)) {
      list.push_back(Entry("requests://" + r.request_id, r.request_id, "Request " + r.request_id,
                           std::string(RequestKindName(r.kind)) + " request, " +
                               std::string(RequestStatusName(r.status)) +
                               (r.template_id.empty() ? "" : ", template " + r.template_id)));
    }
  });
  return json{{"resources", list}};
}

json ListResourceTemplates() {
  json list = json::array();
  for (const Collection& c : kCollections) {
    json e = json::object();
    e["uriTemplate"] = std::string(c.scheme) + "://{" + c.item + "}";
    e["name"] = std::string(c.scheme) + "-item";
    e["title"] = c.item_title;
    e["description"] = std::string("One ") + c.item_title + " by " + c.item + ", as JSON.";
    e["mimeType"] = kMime;
    list.push_back(e);
  }
  return json{{"resourceTemplates", list}};
}

json ReadResource(McpContext& ctx, const std::string& uri) {
  const std::pair<std::string, std::string> parts = SplitUri(uri);
  const std::string scheme = parts.first;
  const std::string id = parts.second;
  json doc;
  try {
    doc = WithBroker(ctx, [&](Broker& b) {
      return id.empty() ? ReadCollection(b, scheme) : ReadItem(b, scheme, id);
    });
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kNotFound) throw RpcError(kResourceNotFound, "resource not found: " + uri);
    throw RpcError(kInternalError, "cannot read " + uri + ": " + e.what());
  }
  json content = json::object();
  content["uri"] = uri;
  content["mimeType"] = kMime;
  content["text"] = doc.dump(2);
  return json{{"contents", json::array({content})}};
}

}  // namespace orb::mcp
