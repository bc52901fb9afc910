// /api/v1/templates: list and show.

#include "api/server_state.h"
#include "model/records.h"

namespace orb::api {

void AddTemplateRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/templates", Role::kViewer, [&state](const httplib::Request&, httplib::Response& res) {
    state.Guard(res, [&] {
      json list = json::array();
      for (const Template& t : state.ThreadBroker().ListTemplates()) list.push_back(TemplateRecord(t));
      Reply(res, 200, json{{"templates", list}});
    });
  });
  state.Add("GET", "/api/v1/templates/{template_id}", Role::kViewer,
                   [&state](const httplib::Request& req, httplib::Response& res) {
                     state.Guard(res, [&] {
                       Reply(res, 200, TemplateRecord(state.ThreadBroker().GetTemplate(req.matches[1].str())));
                     });
                   });
}

}  // namespace orb::api
