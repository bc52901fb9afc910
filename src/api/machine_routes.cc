// /api/v1/machines: list, show, request, return.

#include "api/server_state.h"
#include "model/records.h"

namespace orb::api {

void AddMachineRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/machines", Role::kViewer, [&state](const httplib::Request& req, httplib::Response& res) {
    state.Guard(res, [&] {
      MachineQuery q;
      q.limit = CountParam(req, "limit");
      q.active_only = BoolParam(req, "active");
      q.request_id = req.get_param_value("request_id");
      q.template_id = req.get_param_value("template_id");
      json list = json::array();
      for (const Machine& m : state.ThreadBroker().ListMachines(q)) list.push_back(MachineRecord(m));
      Reply(res, 200, json{{"machines", list}});
    });
  });
  state.Add("GET", "/api/v1/machines/{machine_id}", Role::kViewer,
                   [&state](const httplib::Request& req, httplib::Response& res) {
                     state.Guard(res, [&] {
                       Reply(res, 200, MachineRecord(state.ThreadBroker().GetMachine(req.matches[1].str())));
                     });
                   });
  state.Add("POST", "/api/v1/machines/request", Role::kOperator, [&state](const httplib::Request& req,
                                                         httplib::Response& res) {
    state.Guard(res, [&] {
      const json body = BodyObject(req, {"template_id", "count"});
      const std::string template_id = StringField(body, "template_id");
      auto count = body.find("count");
      if (count == body.end()) throw Error(ErrorCode::kInvalidInput, "missing field 'count'");
      if (!count->is_number_integer() || count->get<long long>() < 1 ||
          count->get<long long>() > 1000000) {
        throw Error(ErrorCode::kInvalidInput,
                    "field 'count' must be a whole number from 1 to 1000000");
      }
      std::string message;
      const std::string id = state.ThreadBroker().RequestMachines(
          template_id, static_cast<int>(count->get<long long>()), &message);
      state.ReplyCreated(res, 202, json{{"request_id", id}, {"message", message}}, id);
    });
  });
  state.Add("POST", "/api/v1/machines/return", Role::kOperator, [&state](const httplib::Request& req,
                                                        httplib::Response& res) {
    state.Guard(res, [&] {
      const json body = BodyObject(req, {"machine_ids"});
      std::vector<MachineRef> refs;
      for (const std::string& id : StringListField(body, "machine_ids", kMaxIdsPerCall)) {
        refs.push_back({"", id});
      }
      std::string message;
      const std::string id = state.ThreadBroker().ReturnMachines(refs, &message);
      state.ReplyCreated(res, 202, json{{"request_id", id}, {"message", message}}, id);
    });
  });
}

}  // namespace orb::api
