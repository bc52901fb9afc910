#include "provider/aws/instance_type_catalog.h"

#ifndef SPDLOG_FMT_EXTERNAL
#define SPDLOG_FMT_EXTERNAL
#endif
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <utility>

#include "common/error.h"
#include "model/instance_types.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/json_cache_file.h"

namespace orb {

namespace {

constexpr const char* kCacheFileName = "instance-types.json";
constexpr int kCacheFormat = 1;
constexpr std::size_t kTypesPerCall = 100;  // DescribeInstanceTypes' limit

// The built-in table's facts in EC2's shape (its architecture is HostFactory's
// "X86_64"/"ARM64"; EC2 says "x86_64"/"arm64").
std::optional<InstanceTypeFacts> BuiltIn(const std::string& name) {
  std::optional<InstanceTypeInfo> info = LookupInstanceType(name);
  if (!info) return std::nullopt;
  std::string arch(info->architecture);
  std::transform(arch.begin(), arch.end(), arch.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return InstanceTypeFacts{name,   info->vcpus,         info->cores, info->memory_mib,
                           {arch}, FactSource::kBuiltIn};
}

// `types` without duplicates or empty names, in order.
std::vector<std::string> Distinct(const std::vector<std::string>& types) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& t : types) {
    if (!t.empty() && seen.insert(t).second) out.push_back(t);
  }
  return out;
}

// True when an entry fetched at `fetched_at` is younger than `ttl` at `now`.
bool IsFresh(EpochSeconds fetched_at, EpochSeconds now, std::chrono::seconds ttl) {
  return now - fetched_at >= 0 && now - fetched_at < ttl.count();
}

bool IsInt(const nlohmann::json& e, const char* key) {
  return e.contains(key) && e[key].is_number_integer();
}

}  // namespace

InstanceTypeFetch Ec2InstanceTypeFetch(Ec2Client& ec2) {
  return [&ec2](const std::vector<std::string>& types) {
    try {
      return ec2.DescribeInstanceTypes(types);
    } catch (const AwsError& e) {
      // One unknown name fails a whole id list; a filter ignores unknown names.
      if (e.aws_code() != "InvalidInstanceType") throw;
      std::vector<Ec2InstanceType> out;
      for (std::size_t at = 0; at < types.size(); at += kTypesPerCall) {
        std::vector<std::string> chunk(types.begin() + at,
                                       types.begin() + std::min(types.size(), at + kTypesPerCall));
        std::vector<Ec2InstanceType> part =
            ec2.DescribeInstanceTypes({}, {{"instance-type", chunk}});
        std::move(part.begin(), part.end(), std::back_inserter(out));
      }
      return out;
    }
  };
}

std::optional<InstanceFacts> ToInstanceFacts(const InstanceTypeFacts& facts) {
  auto lists = [&](std::string_view a) {
    return std::find(facts.architectures.begin(), facts.architectures.end(), a) !=
           facts.architectures.end();
  };
  InstanceFacts out;
  if (lists("arm64") || lists("arm64_mac")) {
    out.architecture = "ARM64";
  } else if (lists("x86_64") || lists("x86_64_mac")) {
    out.architecture = "X86_64";
  } else {
    return std::nullopt;
  }
  if (facts.vcpus <= 0 || facts.cores <= 0 || facts.memory_mib <= 0) return std::nullopt;
  out.vcpus = facts.vcpus;
  out.cores = facts.cores;
  out.memory_mib = facts.memory_mib;
  return out;
}

std::string_view FactSourceName(FactSource source) {
  switch (source) {
    case FactSource::kAws:
      return "aws";
    case FactSource::kCache:
      return "cache";
    case FactSource::kStaleCache:
      return "stale-cache";
    case FactSource::kBuiltIn:
      return "built-in";
  }
  return "";
}

InstanceTypeCatalog::InstanceTypeCatalog(InstanceTypeCatalogOptions options,
                                         InstanceTypeFetch fetch, std::function<EpochSeconds()> now)
    : options_(std::move(options)), fetch_(std::move(fetch)), now_(std::move(now)) {}

std::string InstanceTypeCatalog::cache_path() const {
  if (options_.cache_dir.empty()) return "";
  return (std::filesystem::path(options_.cache_dir) / kCacheFileName).string();
}

void InstanceTypeCatalog::LoadLocked() {
  if (loaded_) return;
  loaded_ = true;
  if (options_.cache_dir.empty()) return;
  nlohmann::json file = ReadJsonCacheFile(cache_path());
  if (!HasCacheFormat(file, kCacheFormat) || !file.contains("regions") ||
      !file["regions"].is_object() || !file["regions"].contains(options_.region)) {
    return;
  }
  const nlohmann::json& region = file["regions"][options_.region];
  if (!region.is_object()) return;
  for (const auto& [name, e] : region.items()) {
    // Entries of another shape (a damaged or hand-edited file) are skipped.
    if (!e.is_object() || !IsInt(e, "vcpus") || !IsInt(e, "cores") || !IsInt(e, "memory_mib") ||
        !IsInt(e, "fetched_at") || e["fetched_at"].get<EpochSeconds>() < 0 ||
        !e.contains("architectures") || !e["architectures"].is_array()) {
      continue;
    }
    Entry entry;
    entry.facts.instance_type = name;
    entry.facts.vcpus = e["vcpus"].get<int>();
    entry.facts.cores = e["cores"].get<int>();
    entry.facts.memory_mib = e["memory_mib"].get<long long>();
    for (const nlohmann::json& a : e["architectures"]) {
      if (a.is_string()) entry.facts.architectures.push_back(a.get<std::string>());
    }
    entry.fetched_at = e["fetched_at"].get<EpochSeconds>();
    entries_[name] = std::move(entry);
  }
}

void InstanceTypeCatalog::StoreLocked(const std::vector<Entry>& fetched) {
  for (const Entry& e : fetched) entries_[e.facts.instance_type] = e;
  if (options_.cache_dir.empty() || fetched.empty()) return;
  const std::string path = cache_path();
  // Merge into what is on disk now: another process may have added entries. (A
  // damaged file was reported when loaded; it is replaced here.)
  nlohmann::json file = ReadJsonCacheFile(path, /*quiet=*/true);
  if (!HasCacheFormat(file, kCacheFormat) || !file.contains("regions") ||
      !file["regions"].is_object()) {
    file = {{"format", kCacheFormat}, {"regions", nlohmann::json::object()}};
  }
  nlohmann::json& region = file["regions"][options_.region];
  if (!region.is_object()) region = nlohmann::json::object();
  for (const Entry& e : fetched) {
    region[e.facts.instance_type] = {{"vcpus", e.facts.vcpus},
                                     {"cores", e.facts.cores},
                                     {"memory_mib", e.facts.memory_mib},
                                     {"architectures", e.facts.architectures},
                                     {"fetched_at", e.fetched_at}};
  }
  try {
    WriteJsonCacheFile(path, file);
  } catch (const Error& e) {
    spdlog::warn("instance type cache not saved: {}", e.what());
  }
}

InstanceTypeLookup InstanceTypeCatalog::Lookup(const std::vector<std::string>& types) {
  return Find(types, /*force=*/false);
}

InstanceTypeLookup InstanceTypeCatalog::Refresh(const std::vector<std::string>& types) {
  return Find(types, /*force=*/true);
}

InstanceTypeLookup InstanceTypeCatalog::Cached(const std::vector<std::string>& types) {
  InstanceTypeLookup out;
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  const EpochSeconds now = now_();
  for (const std::string& t : Distinct(types)) {
    auto it = entries_.find(t);
    if (it == entries_.end()) {
      out.unknown.push_back(t);
      continue;
    }
    out.facts[t] = it->second.facts;
    out.facts[t].source = IsFresh(it->second.fetched_at, now, options_.ttl)
                              ? FactSource::kCache
                              : FactSource::kStaleCache;
  }
  return out;
}

InstanceTypeLookup InstanceTypeCatalog::Find(const std::vector<std::string>& types,
                                                     bool force) {
  const std::vector<std::string> wanted = Distinct(types);
  InstanceTypeLookup out;
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  const EpochSeconds now = now_();
  std::vector<std::string> missing;
  for (const std::string& t : wanted) {
    auto it = entries_.find(t);
    const bool fresh =
        !force && it != entries_.end() && IsFresh(it->second.fetched_at, now, options_.ttl);
    if (fresh) {
      out.facts[t] = it->second.facts;
      out.facts[t].source = FactSource::kCache;
    } else {
      missing.push_back(t);
    }
  }
  if (missing.empty()) return out;

  std::vector<Ec2InstanceType> answer;
  try {
    answer = fetch_(missing);
  } catch (const std::exception& e) {
    out.aws_error = e.what();
    std::string names;
    for (const std::string& t : missing) names += (names.empty() ? "" : ", ") + t;
    spdlog::warn(
        "instance type facts for {} not read from EC2 ({}); using cached or built-in "
        "facts",
        names, out.aws_error);
    for (const std::string& t : missing) {
      auto it = entries_.find(t);
      if (it != entries_.end()) {
        out.facts[t] = it->second.facts;
        out.facts[t].source = FactSource::kStaleCache;
      } else if (auto facts = BuiltIn(t)) {
        out.facts[t] = *facts;
      } else {
        out.unknown.push_back(t);
      }
    }
    return out;
  }

  std::vector<Entry> fetched;
  for (const Ec2InstanceType& a : answer) {
    Entry e;
    e.facts = {a.instance_type, a.vcpus, a.cores, a.memory_mib, a.architectures, FactSource::kAws};
    e.fetched_at = now;
    fetched.push_back(std::move(e));
  }
  StoreLocked(fetched);
  for (const std::string& t : missing) {
    auto it = std::find_if(fetched.begin(), fetched.end(),
                           [&](const Entry& e) { return e.facts.instance_type == t; });
    if (it == fetched.end()) {
      out.unknown.push_back(t);
    } else {
      out.facts[t] = it->facts;
    }
  }
  return out;
}

}  // namespace orb
