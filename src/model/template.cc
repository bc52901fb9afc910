#include "model/template.h"

#include <cctype>

#include "common/strings.h"

namespace orb {

std::string_view ProviderApiName(ProviderApi api) {
  switch (api) {
    case ProviderApi::kRunInstances: return "RunInstances";
    case ProviderApi::kEc2Fleet: return "EC2Fleet";
    case ProviderApi::kSpotFleet: return "SpotFleet";
    case ProviderApi::kAsg: return "ASG";
  }
  return "RunInstances";
}

std::optional<ProviderApi> ParseProviderApi(std::string_view name) {
  const std::string f = FoldName(name);
  if (f == "runinstances" || f == "ec2" || f == "instances") return ProviderApi::kRunInstances;
  if (f == "ec2fleet" || f == "fleet") return ProviderApi::kEc2Fleet;
  if (f == "spotfleet") return ProviderApi::kSpotFleet;
  if (f == "asg" || f == "autoscalinggroup" || f == "autoscaling") return ProviderApi::kAsg;
  return std::nullopt;
}

std::string_view FleetTypeName(FleetType t) {
  switch (t) {
    case FleetType::kInstant: return "instant";
    case FleetType::kRequest: return "request";
    case FleetType::kMaintain: return "maintain";
  }
  return "instant";
}

std::optional<FleetType> ParseFleetType(std::string_view name) {
  const std::string f = FoldName(name);
  if (f == "instant") return FleetType::kInstant;
  if (f == "request") return FleetType::kRequest;
  if (f == "maintain") return FleetType::kMaintain;
  return std::nullopt;
}

std::string_view PriceTypeName(PriceType t) {
  return t == PriceType::kSpot ? "spot" : "ondemand";
}

std::optional<PriceType> ParsePriceType(std::string_view name) {
  const std::string f = FoldName(name);
  if (f == "ondemand") return PriceType::kOnDemand;
  if (f == "spot") return PriceType::kSpot;
  return std::nullopt;
}

const Attribute* Template::FindAttribute(std::string_view name) const {
  for (const Attribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<std::string> Template::InstanceTypeNames() const {
  std::vector<std::string> out;
  out.reserve(vm_types.size());
  for (const auto& [type, weight] : vm_types) out.push_back(type);
  return out;
}

bool IsValidTemplateId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace orb
