#pragma once

// Turns a template's image reference into an AMI id: an AMI id as is; an SSM
// parameter (a path starting with '/', or "resolve:ssm:<name>") through SSM, with a
// per-region on-disk cache so that a fresh answer costs no AWS call.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "provider/aws/ssm_client.h"

namespace orb {

// Reads one SSM parameter's value; throws (AwsError, Error) when it cannot.
using ParameterFetch = std::function<std::string(const std::string& name)>;

// A fetch that calls `ssm.GetParameter` (`ssm` is not owned and must outlive it).
ParameterFetch SsmParameterFetch(SsmClient& ssm);

// How an ImageResolver caches.
struct ImageResolverOptions {
  // Directory of the cache file (ssm-parameters.json); "" = cache in memory only.
  std::string cache_dir;
  // The region the fetch reads: entries are kept per region, as a parameter's
  // value differs between regions.
  std::string region;
  // How long a fetched value is used without asking SSM again.
  std::chrono::seconds ttl{3600};
};

// Where a resolved image id came from.
enum class ImageSource {
  kLiteral,     // the reference was an AMI id
  kSsm,         // read from SSM just now
  kCache,       // a cached value younger than the TTL
  kStaleCache,  // an expired cached value: SSM could not be read (a warning was logged)
};

// "literal", "ssm", "cache" or "stale-cache".
std::string_view ImageSourceName(ImageSource source);

// An image reference resolved.
struct ResolvedImage {
  std::string image_id;   // "ami-..."
  std::string parameter;  // the SSM parameter name read ("" for a literal AMI id)
  ImageSource source = ImageSource::kLiteral;
};

// Resolves image references with a TTL cache. A fresh entry costs no fetch; an
// expired one is fetched again; when that fetch fails and an expired entry exists,
// the expired value is used with a warning instead of failing. A damaged cache
// file is ignored and rewritten; a cache file that cannot be written only logs a
// warning. Several processes may share the cache directory (files are replaced
// atomically; the last writer wins, losing at most another's fresh entries).
// Thread-safe.
class ImageResolver {
 public:
  // `fetch` reads SSM parameters; `now` is the clock (tests pass their own).
  ImageResolver(ImageResolverOptions options, ParameterFetch fetch,
                std::function<EpochSeconds()> now = NowSeconds);

  // True when `reference` names an SSM parameter: starts with '/' or "resolve:ssm:".
  static bool IsSsmReference(std::string_view reference);

  // Resolves `reference`. Throws Error(kInvalidInput) when it is neither an AMI id
  // ("ami-...") nor an SSM reference; rethrows the fetch's error when the parameter
  // cannot be read and no cached value exists; throws AwsError("InvalidParameterValue")
  // when the parameter holds something other than an AMI id.
  ResolvedImage Resolve(const std::string& reference);

  // The cache file's path ("" when caching in memory only).
  std::string cache_path() const;

 private:
  struct Entry {
    std::string value;
    EpochSeconds fetched_at = 0;
  };
  void LoadLocked();
  void StoreLocked(const std::string& name, const Entry& entry);

  ImageResolverOptions options_;
  ParameterFetch fetch_;
  std::function<EpochSeconds()> now_;
  std::mutex mu_;
  bool loaded_ = false;
  std::map<std::string, Entry> entries_;  // this region's, by parameter name
};

}  // namespace orb
