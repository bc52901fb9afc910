#include "provider/aws/instance_requirements.h"

#include <array>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "common/strings.h"

namespace orb {

namespace {

enum class Kind { kIntRange, kNumberRange, kList, kInt, kText, kBool };

// One member of InstanceRequirementsRequest and the names its list takes per dialect.
struct Member {
  std::string_view name;
  Kind kind;
  std::string_view ec2_list = {};   // CreateFleet's locationName, e.g. "CpuManufacturer"
  std::string_view spot_list = {};  // RequestSpotFleet's, e.g. "CpuManufacturerSet"
};

constexpr std::array<Member, 24> kMembers = {{
    {"VCpuCount", Kind::kIntRange},
    {"MemoryMiB", Kind::kIntRange},
    {"CpuManufacturers", Kind::kList, "CpuManufacturer", "CpuManufacturerSet"},
    {"MemoryGiBPerVCpu", Kind::kNumberRange},
    {"ExcludedInstanceTypes", Kind::kList, "ExcludedInstanceType", "ExcludedInstanceTypeSet"},
    {"InstanceGenerations", Kind::kList, "InstanceGeneration", "InstanceGenerationSet"},
    {"SpotMaxPricePercentageOverLowestPrice", Kind::kInt},
    {"MaxSpotPriceAsPercentageOfOptimalOnDemandPrice", Kind::kInt},
    {"OnDemandMaxPricePercentageOverLowestPrice", Kind::kInt},
    {"BareMetal", Kind::kText},
    {"BurstablePerformance", Kind::kText},
    {"RequireHibernateSupport", Kind::kBool},
    {"NetworkInterfaceCount", Kind::kIntRange},
    {"LocalStorage", Kind::kText},
    {"LocalStorageTypes", Kind::kList, "LocalStorageType", "LocalStorageTypeSet"},
    {"TotalLocalStorageGB", Kind::kNumberRange},
    {"BaselineEbsBandwidthMbps", Kind::kIntRange},
    {"AcceleratorTypes", Kind::kList, "AcceleratorType", "AcceleratorTypeSet"},
    {"AcceleratorCount", Kind::kIntRange},
    {"AcceleratorManufacturers", Kind::kList, "AcceleratorManufacturer",
     "AcceleratorManufacturerSet"},
    {"AcceleratorNames", Kind::kList, "AcceleratorName", "AcceleratorNameSet"},
    {"AcceleratorTotalMemoryMiB", Kind::kIntRange},
    {"NetworkBandwidthGbps", Kind::kNumberRange},
    {"AllowedInstanceTypes", Kind::kList, "AllowedInstanceType", "AllowedInstanceTypeSet"},
}};

const Member* FindMember(std::string_view written) {
  const std::string folded = FoldName(written);
  for (const Member& m : kMembers) {
    if (FoldName(m.name) == folded) return &m;
  }
  return nullptr;
}

bool IsWhole(const nlohmann::json& v) {
  if (v.is_number_integer()) return true;
  return v.is_number_float() && std::floor(v.get<double>()) == v.get<double>();
}

// A number as Query text: whole numbers without a decimal point.
std::string NumberText(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.dump();
  const double d = v.get<double>();
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return fmt::format("{}", d);
}

// Checks one member's value; returns "" or what is wrong.
std::string CheckValue(const Member& m, const nlohmann::json& v, nlohmann::json* out) {
  const std::string name(m.name);
  switch (m.kind) {
    case Kind::kIntRange:
    case Kind::kNumberRange: {
      if (!v.is_object()) return name + " must be an object {\"Min\": n, \"Max\": n}";
      nlohmann::json range = nlohmann::json::object();
      for (const auto& [key, bound] : v.items()) {
        const std::string f = FoldName(key);
        if (f != "min" && f != "max") return name + " has '" + key + "': only Min and Max";
        const bool ok = bound.is_number() && bound.get<double>() >= 0 &&
                        (m.kind == Kind::kNumberRange || IsWhole(bound));
        if (!ok) {
          return name + "." + key + " must be a " +
                 (m.kind == Kind::kIntRange ? "whole number" : "number") + " >= 0, got " +
                 bound.dump();
        }
        range[f == "min" ? "Min" : "Max"] = bound;
      }
      if (range.contains("Min") && range.contains("Max") &&
          range["Min"].get<double>() > range["Max"].get<double>()) {
        return name + ".Min is above " + name + ".Max";
      }
      *out = range;
      return "";
    }
    case Kind::kList: {
      nlohmann::json list = nlohmann::json::array();
      if (v.is_string()) {
        list.push_back(v);
      } else if (v.is_array()) {
        for (const nlohmann::json& item : v) {
          if (!item.is_string() || item.get<std::string>().empty()) {
            return name + " must list non-empty strings, got " + item.dump();
          }
          list.push_back(item);
        }
      } else {
        return name + " must be an array of strings";
      }
      *out = list;
      return "";
    }
    case Kind::kInt:
      if (!v.is_number() || !IsWhole(v) || v.get<double>() < 0) {
        return name + " must be a whole number >= 0, got " + v.dump();
      }
      *out = v;
      return "";
    case Kind::kText:
      if (!v.is_string() || v.get<std::string>().empty()) {
        return name + " must be a string, got " + v.dump();
      }
      *out = v;
      return "";
    case Kind::kBool:
      if (!v.is_boolean()) return name + " must be true or false, got " + v.dump();
      *out = v;
      return "";
  }
  return "";
}

}  // namespace

std::string NormalizeInstanceRequirements(const nlohmann::json& written, nlohmann::json* out) {
  if (!written.is_object()) return "must be an object (EC2 InstanceRequirementsRequest)";
  nlohmann::json result = nlohmann::json::object();
  for (const auto& [key, value] : written.items()) {
    const Member* m = FindMember(key);
    if (m == nullptr) {
      return "'" + key + "' is not an InstanceRequirements member orb knows (e.g. VCpuCount, " +
             "MemoryMiB, CpuManufacturers, AllowedInstanceTypes)";
    }
    if (value.is_null()) continue;
    nlohmann::json checked;
    if (std::string why = CheckValue(*m, value, &checked); !why.empty()) return why;
    result[std::string(m->name)] = checked;
  }
  for (const char* required : {"VCpuCount", "MemoryMiB"}) {
    if (!result.contains(required) || !result[required].contains("Min")) {
      return std::string(required) + ".Min is required (AWS requires it)";
    }
  }
  if (result.contains("AllowedInstanceTypes") && result.contains("ExcludedInstanceTypes")) {
    return "AllowedInstanceTypes and ExcludedInstanceTypes cannot both be given";
  }
  *out = std::move(result);
  return "";
}

void AddInstanceRequirements(QueryParams& params, const std::string& prefix,
                             const nlohmann::json& requirements, RequirementsDialect dialect) {
  if (!requirements.is_object()) return;
  for (const auto& [key, value] : requirements.items()) {
    const Member* m = FindMember(key);
    if (m == nullptr) continue;  // NormalizeInstanceRequirements let nothing else through
    const std::string at = prefix + "." + std::string(m->name);
    switch (m->kind) {
      case Kind::kIntRange:
      case Kind::kNumberRange:
        for (const char* bound : {"Min", "Max"}) {
          if (value.contains(bound)) params.Add(at + "." + bound, NumberText(value[bound]));
        }
        break;
      case Kind::kList: {
        std::vector<std::string> items;
        for (const nlohmann::json& item : value) items.push_back(item.get<std::string>());
        switch (dialect) {
          case RequirementsDialect::kEc2:
            params.AddList(prefix + "." + std::string(m->ec2_list), items);
            break;
          case RequirementsDialect::kSpotFleet:
            params.AddList(prefix + "." + std::string(m->spot_list), items);
            break;
          case RequirementsDialect::kAutoScaling:
            params.AddList(at + ".member", items);
            break;
        }
        break;
      }
      case Kind::kInt:
        params.Add(at, NumberText(value));
        break;
      case Kind::kText:
        params.Add(at, value.get<std::string>());
        break;
      case Kind::kBool:
        params.Add(at, value.get<bool>() ? "true" : "false");
        break;
    }
  }
}

}  // namespace orb
