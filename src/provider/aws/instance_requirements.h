#pragma once

// Attribute-based instance type selection: AWS's InstanceRequirements, written in a
// template as a JSON object (abisInstanceRequirements), checked and turned into Query
// parameters the way each API spells them.

#include <string>

#include <nlohmann/json.hpp>

#include "provider/aws/aws_client.h"

namespace orb {

// How an API spells InstanceRequirements' list members in Query parameters.
enum class RequirementsDialect {
  kEc2,          // CreateFleet, CreateLaunchTemplate: "CpuManufacturer.1"
  kSpotFleet,    // RequestSpotFleet: "CpuManufacturerSet.1"
  kAutoScaling,  // Auto Scaling: "CpuManufacturers.member.1"
};

// Checks `written` (AWS's InstanceRequirementsRequest as a JSON object; member names
// as AWS spells them, in any casing, or snake_case) and stores it in `out` with AWS's
// member names. Ranges are {"Min": n, "Max": n}, lists are arrays of strings (a single
// string counts as a list of one). VCpuCount.Min and MemoryMiB.Min are required, as
// AWS requires them. Returns "" when it is usable, else what is wrong (naming the
// member), and leaves `out` unchanged.
std::string NormalizeInstanceRequirements(const nlohmann::json& written, nlohmann::json* out);

// Adds `requirements` (from NormalizeInstanceRequirements) under `prefix` (e.g.
// "LaunchTemplateConfigs.1.Overrides.1.InstanceRequirements") in `dialect`'s spelling.
void AddInstanceRequirements(QueryParams& params, const std::string& prefix,
                             const nlohmann::json& requirements, RequirementsDialect dialect);

}  // namespace orb
