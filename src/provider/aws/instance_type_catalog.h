#pragma once

// Instance-type facts (vCPUs, cores, memory, architectures) for deriving template
// attributes: asked of EC2 (DescribeInstanceTypes), cached per region on disk with
// a TTL, and taken from orb's built-in table (model/instance_types.h) when EC2
// cannot be reached.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "model/instance_types.h"
#include "provider/aws/ec2_client.h"

namespace orb {

// Describes instance types (as many as given, in as few calls as EC2 allows).
// Types EC2 does not offer are simply absent from the answer; throws (AwsError,
// Error) when EC2 cannot be asked.
using InstanceTypeFetch =
    std::function<std::vector<Ec2InstanceType>(const std::vector<std::string>& types)>;

// A fetch through `ec2.DescribeInstanceTypes` (100 types per call). When EC2
// refuses a list because a type in it does not exist (InvalidInstanceType), the
// same list is asked again with the "instance-type" filter, which ignores unknown
// names instead of failing. `ec2` is not owned and must outlive the fetch.
InstanceTypeFetch Ec2InstanceTypeFetch(Ec2Client& ec2);

// Where a fact came from.
enum class FactSource {
  kAws,         // DescribeInstanceTypes, just now
  kCache,       // the cache, younger than the TTL
  kStaleCache,  // the cache, expired: EC2 could not be reached
  kBuiltIn,     // orb's built-in table: EC2 could not be reached, nothing cached
};

// "aws", "cache", "stale-cache" or "built-in".
std::string_view FactSourceName(FactSource source);

// One instance type's facts.
struct InstanceTypeFacts {
  std::string instance_type;
  int vcpus = 0;
  int cores = 0;
  long long memory_mib = 0;
  std::vector<std::string> architectures;  // EC2's names: "x86_64", "arm64", "i386"
  FactSource source = FactSource::kAws;
};

// `facts` as a provider hands them to the template loader: architecture in
// HostFactory's form ("ARM64" when EC2 lists arm64, else "X86_64" when it lists
// x86_64); nullopt when no architecture maps or a count is not positive.
std::optional<InstanceFacts> ToInstanceFacts(const InstanceTypeFacts& facts);

// The answer to one Lookup.
struct InstanceTypeLookup {
  std::map<std::string, InstanceTypeFacts> facts;  // by type name
  // Types no source knows: EC2 answered without them (not offered in this region,
  // or misspelt), or EC2 could not be reached and neither the cache nor the
  // built-in table knows them.
  std::vector<std::string> unknown;
  // Why EC2 could not be asked ("" when it answered, or was not needed).
  std::string aws_error;
};

// How an InstanceTypeCatalog caches.
struct InstanceTypeCatalogOptions {
  std::string cache_dir;  // directory of instance-types.json; "" = memory only
  std::string region;     // entries are kept per region
  std::chrono::seconds ttl{24 * 3600};
};

// Instance-type facts with a TTL cache. Lookup fetches only the types that are
// missing or expired, in one fetch; the rest costs no call. A damaged cache file is
// ignored and rewritten; one that cannot be written only logs a warning.
// Thread-safe.
class InstanceTypeCatalog {
 public:
  // `fetch` asks EC2; `now` is the clock (tests pass their own).
  InstanceTypeCatalog(InstanceTypeCatalogOptions options, InstanceTypeFetch fetch,
                      std::function<EpochSeconds()> now = NowSeconds);

  // Facts for `types` (duplicates and empty names ignored). Never throws for an
  // unreachable EC2: the stale cache, then the built-in table answer, and
  // `aws_error` says why (a warning is logged too).
  InstanceTypeLookup Lookup(const std::vector<std::string>& types);

  // Facts for `types` held in the cache, expired ones included (source kCache or
  // kStaleCache), without asking EC2 or the built-in table: the types not cached are
  // `unknown`. Reads the cache file once per catalog. Never throws, never calls EC2.
  InstanceTypeLookup Cached(const std::vector<std::string>& types);

  // Asks EC2 for every one of `types`, fresh or not (in calls of 100 types), and
  // rewrites their cache entries. Falls back as Lookup does when EC2 cannot be
  // reached (`aws_error` then says why).
  InstanceTypeLookup Refresh(const std::vector<std::string>& types);

  // The cache file's path ("" when caching in memory only).
  std::string cache_path() const;

 private:
  struct Entry {
    InstanceTypeFacts facts;
    EpochSeconds fetched_at = 0;
  };
  void LoadLocked();
  // Lookup; with `force`, asks EC2 for every type, fresh or not.
  InstanceTypeLookup Find(const std::vector<std::string>& types, bool force);
  void StoreLocked(const std::vector<Entry>& fetched);

  InstanceTypeCatalogOptions options_;
  InstanceTypeFetch fetch_;
  std::function<EpochSeconds()> now_;
  std::mutex mu_;
  bool loaded_ = false;
  std::map<std::string, Entry> entries_;  // this region's, by type name
};

}  // namespace orb
