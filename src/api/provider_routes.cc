// /api/v1/providers: the configured provider instances and their health.

#include <algorithm>

#include "api/server_state.h"
#include "broker/broker_records.h"
#include "common/strings.h"

namespace orb::api {

namespace {

// Health of the named instances: {"status": ok|failing, "providers": [...]}; 200 when
// every one is healthy, 503 otherwise (a load balancer's view).
void ReplyHealth(httplib::Response& res, Broker& broker, const std::vector<std::string>& names) {
  bool ok = true;
  json list = json::array();
  for (const std::string& n : names) {
    const ProviderHealth h = broker.CheckProviderHealth(n);
    ok = ok && h.ok;
    list.push_back(HealthRecord(n, h));
  }
  Reply(res, ok ? 200 : 503, json{{"status", ok ? "ok" : "failing"}, {"providers", list}});
}

// Throws Error(kNotFound) naming the configured ones unless `name` is one of them.
void RequireProvider(Broker& broker, const std::string& name) {
  const std::vector<std::string> all = broker.ProviderNames();
  if (std::find(all.begin(), all.end(), name) == all.end()) {
    throw Error(ErrorCode::kNotFound,
                "unknown provider '" + name + "' (configured: " + Join(all, ", ") + ")");
  }
}

}  // namespace

void AddProviderRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/providers", Role::kViewer,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                json list = json::array();
                for (const ProviderInfo& info : state.ThreadBroker().ListProviders()) {
                  list.push_back(ProviderRecord(info));
                }
                Reply(res, 200, json{{"providers", list}});
              });
            });
  // Before /api/v1/providers/{name}, which would take "health" as a name.
  state.Add("GET", "/api/v1/providers/health", Role::kViewer,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                Broker& b = state.ThreadBroker();
                ReplyHealth(res, b, b.ProviderNames());
              });
            });
  state.Add("GET", "/api/v1/providers/{name}", Role::kViewer,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const std::string name = req.matches[1].str();
                Broker& b = state.ThreadBroker();
                RequireProvider(b, name);
                for (const ProviderInfo& info : b.ListProviders()) {
                  if (info.name == name) return Reply(res, 200, ProviderRecord(info));
                }
                throw Error(ErrorCode::kNotFound, "provider '" + name + "' is not listed");
              });
            });
  state.Add("GET", "/api/v1/providers/{name}/health", Role::kViewer,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const std::string name = req.matches[1].str();
                Broker& b = state.ThreadBroker();
                RequireProvider(b, name);
                ReplyHealth(res, b, {name});
              });
            });
}

}  // namespace orb::api
