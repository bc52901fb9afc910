// GET /metrics: the Prometheus text exposition (see metrics.h).

#include "api/server_state.h"

namespace orb::api {

void AddMetricsRoutes(ServerState& state) {
  state.Add("GET", "/metrics", Role::kViewer,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                res.status = 200;
                res.set_content(state.metrics().Render(state.ThreadBroker().store()),
                                "text/plain; version=0.0.4; charset=utf-8");
              });
            });
}

}  // namespace orb::api
