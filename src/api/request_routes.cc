// /api/v1/requests: list, show, status of many.

#include "api/server_state.h"
#include "broker/broker_records.h"
#include "model/records.h"

namespace orb::api {

void AddRequestRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/requests", Role::kViewer, [&state](const httplib::Request& req, httplib::Response& res) {
    state.Guard(res, [&] {
      RequestQuery q;
      q.limit = CountParam(req, "limit");
      q.open_only = BoolParam(req, "open");
      q.template_id = req.get_param_value("template_id");
      if (req.has_param("status")) {
        q.status = ParseRequestStatus(req.get_param_value("status"));
        if (!q.status) {
          throw Error(ErrorCode::kInvalidInput, "query parameter 'status' must be running, "
                                                "complete or complete_with_error");
        }
      }
      if (req.has_param("kind")) {
        q.kind = ParseRequestKind(req.get_param_value("kind"));
        if (!q.kind) {
          throw Error(ErrorCode::kInvalidInput, "query parameter 'kind' must be acquire or return");
        }
      }
      json list = json::array();
      for (const Request& r : state.ThreadBroker().ListRequests(q)) list.push_back(RequestRecord(r));
      Reply(res, 200, json{{"requests", list}});
    });
  });
  // Before /api/v1/requests/{request_id}, which would take "returns" as an id.
  state.Add("GET", "/api/v1/requests/returns", Role::kViewer,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                json list = json::array();
                for (const ReturnCandidate& rc : state.ThreadBroker().ReturnCandidates({})) {
                  list.push_back(ReturnCandidateRecord(rc));
                }
                Reply(res, 200, json{{"machines", list}});
              });
            });
  state.Add("POST", "/api/v1/requests/{request_id}/cancel", Role::kOperator,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                Broker& b = state.ThreadBroker();
                const Request r = b.CancelRequest(req.matches[1].str(),
                                                  "the REST API (" + req.remote_addr + ")");
                std::vector<Machine> machines = b.MachinesOfRequest(r);
                Reply(res, 200, RequestRecord(r, &machines));
              });
            });
  state.Add("GET", "/api/v1/requests/{request_id}", Role::kViewer,
                   [&state](const httplib::Request& req, httplib::Response& res) {
                     state.Guard(res, [&] {
                       Broker& b = state.ThreadBroker();
                       Request r = b.GetRequest(req.matches[1].str());
                       std::vector<Machine> machines = b.MachinesOfRequest(r);
                       Reply(res, 200, RequestRecord(r, &machines));
                     });
                   });
  state.Add("POST", "/api/v1/requests/status", Role::kViewer, [&state](const httplib::Request& req,
                                                        httplib::Response& res) {
    state.Guard(res, [&] {
      const json body = BodyObject(req, {"request_ids"});
      const std::vector<std::string> ids = StringListField(body, "request_ids", kMaxIdsPerCall);
      json list = json::array();
      for (RequestReport& r : state.ThreadBroker().RequestStatuses(ids)) {
        json record = RequestRecord(r.request, &r.machines);
        if (!r.message.empty()) record["poll_message"] = r.message;
        list.push_back(std::move(record));
      }
      Reply(res, 200, json{{"requests", list}});
    });
  });
}

}  // namespace orb::api
