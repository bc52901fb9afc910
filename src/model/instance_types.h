#pragma once

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

// Derives attributes for a template that may launch any of `types`: the smallest
// vCPU count, core count and memory among them (a host is never announced bigger
// than it may turn out to be), and their common architecture. Returns nullopt
// when any type is unknown to the table or the types mix architectures;
// `problem` then says why.
std::optional<DerivedAttributes> DeriveAttributes(const std::vector<std::string>& types,
                                                  std::string* problem);

}  // namespace orb
