#pragma once

// What a mutating use case would do, described without doing it: the dry runs of the
// doors (the MCP tools request_machines, return_machines and cancel_request with
// dry_run). Pure functions of records the caller read through the broker (a template,
// stored machines and requests) and settings: no store write, no cloud call. The AWS
// calls they name follow the provisioning API handlers in src/provider/aws (one
// place to update when a handler changes its calls).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/machine.h"
#include "model/request.h"
#include "model/template.h"

namespace orb {

// A launch of `count` capacity units of `templ` by provider instance `provider` (the
// first of Broker::ProviderOrder), RunInstances asking at most
// `max_instances_per_call` instances per call (aws.max_instances_per_call):
// {"dry_run": true, "template_id", "count", "max_number", "provider", "provider_api",
// "fleet_type" (fleets only), "price_type", "instance_types", "aws_calls": [...],
// "note"}. Throws Error(kInvalidInput) for what RequestMachines would refuse from the
// template alone (count < 1, maxNumber 0, count over maxNumber); units already in use
// are not counted here.
nlohmann::ordered_json DescribeLaunch(const Template& templ, int count,
                                      const std::string& provider,
                                      int max_instances_per_call);

// A return of machines named by id: `found` are the stored machines among them,
// `unknown` the ids the store does not know (a return accepts them as already gone).
// {"dry_run": true, "machines": [{"machine_id","name","status","request_id","group"}],
// "unknown": [...], "aws_calls": [...], "note"}: machines of a group (cloud_host_id)
// are given back through it (capacity lowered first), the others by one
// ec2:TerminateInstances per 1000 ids; machines already in a final state need no call.
nlohmann::ordered_json DescribeReturn(const std::vector<Machine>& found,
                                      const std::vector<std::string>& unknown);

// A cancel of acquire request `request` with its `machines`: {"dry_run": true,
// "request_id", "status", "machines" (those still active, to terminate), "groups"
// (to delete with their instances), "aws_calls", "note"}. Throws Error(kConflict)
// as Broker::CancelRequest would for a return request or one already ended.
nlohmann::ordered_json DescribeCancel(const Request& request,
                                      const std::vector<Machine>& machines);

}  // namespace orb
