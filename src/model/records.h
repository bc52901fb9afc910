#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "model/machine.h"
#include "model/request.h"

namespace orb {

// The snake_case JSON record of a machine every door shows: machine_id, name,
// status (its state's wire name), result (for the request it is shown in),
// private_ip, public_ip, launch_time, ... Doors rename fields for their own wire
// format (e.g. HostFactory's camelCase).
nlohmann::ordered_json MachineRecord(const Machine& machine);

// The snake_case JSON record of a request: request_id, kind, status, template_id,
// requested_count, message, timestamps, and `machines` when given.
nlohmann::ordered_json RequestRecord(const Request& request,
                                     const std::vector<Machine>* machines = nullptr);

}  // namespace orb
