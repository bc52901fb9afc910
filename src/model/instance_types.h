#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orb {

// What orb knows offline about one EC2 instance type.
struct InstanceTypeInfo {
  std::string_view name;          // "m5.large"
  int vcpus;                      // default vCPUs
  int cores;                      // default physical cores
  int memory_mib;                 // memory in MiB
  std::string_view architecture;  // HostFactory `type`: "X86_64" or "ARM64"
};

// Looks up an instance type in the built-in table (generated from the EC2
// DescribeInstanceTypes data shipped with moto; see NOTICE). Returns nullopt for
// a type the table does not know.
std::optional<InstanceTypeInfo> LookupInstanceType(std::string_view name);

// The number of instance types in the built-in table.
std::size_t InstanceTypeCount();

// HostFactory attributes derived from a set of instance types.
struct DerivedAttributes {
  std::string type;  // architecture, "X86_64" or "ARM64"
  int ncpus = 0;
  int ncores = 0;
  int nram_mib = 0;
};

// One instance type's facts as a provider learnt them from its cloud (on AWS,
// DescribeInstanceTypes), for deriving attributes.
struct InstanceFacts {
  int vcpus = 0;             // default vCPUs
  int cores = 0;             // default physical cores
  long long memory_mib = 0;  // memory in MiB
  std::string architecture;  // HostFactory `type`: "X86_64" or "ARM64"
};

// Facts by instance type name.
using InstanceFactsMap = std::map<std::string, InstanceFacts>;

// Derives attributes for a template that may launch any of `types`: the smallest
// vCPU count, core count and memory among them (a host is never announced bigger
// than it may turn out to be), and their common architecture. Each type's facts
// come from `live` when it holds them (with positive counts and an architecture),
// else from the built-in table. Returns nullopt when any type is unknown to both
// or the types mix architectures; `problem` then says why.
std::optional<DerivedAttributes> DeriveAttributes(const std::vector<std::string>& types,
                                                  const InstanceFactsMap& live,
                                                  std::string* problem);

// DeriveAttributes from the built-in table alone.
std::optional<DerivedAttributes> DeriveAttributes(const std::vector<std::string>& types,
                                                  std::string* problem);

}  // namespace orb
