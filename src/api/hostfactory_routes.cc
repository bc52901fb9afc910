// POST /api/v1/hostfactory/{operation}: HostFactory's five operations with the same
// input and output documents as the provider scripts.

#include "api/server_state.h"
#include "hostfactory/hf_operations.h"

namespace orb::api {

void AddHostFactoryRoutes(ServerState& state) {
  const std::pair<const char*, HfOperation> operations[] = {
      {"getAvailableTemplates", HfOperation::kGetAvailableTemplates},
      {"requestMachines", HfOperation::kRequestMachines},
      {"getRequestStatus", HfOperation::kGetRequestStatus},
      {"requestReturnMachines", HfOperation::kRequestReturnMachines},
      {"getReturnRequests", HfOperation::kGetReturnRequests}};
  for (const auto& [name, op] : operations) {
    const HfOperation operation = op;
    // Status and the two listings only read; requestMachines and
    // requestReturnMachines change what runs.
    const bool mutating = operation == HfOperation::kRequestMachines ||
                          operation == HfOperation::kRequestReturnMachines;
    state.Add("POST", std::string("/api/v1/hostfactory/") + name,
              mutating ? Role::kOperator : Role::kViewer, [&state, operation](const httplib::Request& req, httplib::Response& res) {
                        HfOutcome outcome = RunHfOperationOnText(
                            operation, req.body.empty() ? "{}" : req.body, "request body",
                            [&state]() -> Broker& { return state.ThreadBroker(); });
                        const int status =
                            outcome.exit_code == 0 ? 200 : HttpStatus(outcome.error_code);
                        state.ReplyCreated(res, status, outcome.document,
                                           outcome.created_request_id);
                      });
  }
}

}  // namespace orb::api
