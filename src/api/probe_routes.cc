// GET /health, /livez, /readyz.

#include "api/server_state.h"
#include "orb/version.h"

namespace orb::api {

void AddProbeRoutes(ServerState& state) {
  state.Add("GET", "/health", Role::kViewer, [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, json{{"status", "ok"}, {"version", ORB_VERSION}});
  });
  state.Add("GET", "/livez", Role::kViewer, [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, json{{"status", "ok"}});
  });
  state.Add("GET", "/readyz", Role::kViewer, [&state](const httplib::Request&, httplib::Response& res) {
    try {
      state.ThreadBroker().store().CheckHealth();
      Reply(res, 200, json{{"status", "ok"}});
    } catch (const std::exception& e) {
      ReplyError(res, 503, "not_ready", e.what());
    }
  });
}

}  // namespace orb::api
