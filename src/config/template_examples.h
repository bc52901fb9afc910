#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/template.h"

namespace orb {

// One example template with a note on what it does.
struct TemplateExample {
  std::string comment;          // one or more lines of plain text, no comment markers
  nlohmann::ordered_json templ;  // an IBM camelCase template object
};

// Which combinations ExampleTemplates returns; an empty field does not filter.
struct TemplateExampleFilter {
  std::optional<ProviderApi> api;
  std::optional<FleetType> fleet_type;  // set: only EC2Fleet and SpotFleet examples
  std::optional<PriceType> price_type;
};

// An example template for every provider API x fleet type x price type orb understands
// (RunInstances on-demand/spot; EC2Fleet instant/request/maintain x on-demand/spot;
// SpotFleet request/maintain; ASG on-demand/spot) that `filter` lets through, in that
// order. Ids, AMIs, subnets, security groups and the account are valid-looking
// placeholders; the templates together form a valid templates file. Empty when the
// filter matches no combination (e.g. SpotFleet with fleet type instant).
std::vector<TemplateExample> ExampleTemplates(const TemplateExampleFilter& filter);

}  // namespace orb
