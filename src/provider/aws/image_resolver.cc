#include "provider/aws/image_resolver.h"

#ifndef SPDLOG_FMT_EXTERNAL
#define SPDLOG_FMT_EXTERNAL
#endif
#include <spdlog/spdlog.h>

#include <filesystem>
#include <utility>

#include "common/error.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/json_cache_file.h"

namespace orb {

namespace {

constexpr const char* kCacheFileName = "ssm-parameters.json";
constexpr const char* kSsmPrefix = "resolve:ssm:";
constexpr int kCacheFormat = 1;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool IsAmiId(std::string_view s) { return StartsWith(s, "ami-") && s.size() > 4; }

}  // namespace

ParameterFetch SsmParameterFetch(SsmClient& ssm) {
  return [&ssm](const std::string& name) { return ssm.GetParameter(name); };
}

std::string_view ImageSourceName(ImageSource source) {
  switch (source) {
    case ImageSource::kLiteral:
      return "literal";
    case ImageSource::kSsm:
      return "ssm";
    case ImageSource::kCache:
      return "cache";
    case ImageSource::kStaleCache:
      return "stale-cache";
  }
  return "";
}

ImageResolver::ImageResolver(ImageResolverOptions options, ParameterFetch fetch,
                             std::function<EpochSeconds()> now)
    : options_(std::move(options)), fetch_(std::move(fetch)), now_(std::move(now)) {}

bool ImageResolver::IsSsmReference(std::string_view reference) {
  return StartsWith(reference, "/") || (StartsWith(reference, kSsmPrefix) &&
                                        reference.size() > std::string_view(kSsmPrefix).size());
}

std::string ImageResolver::cache_path() const {
  if (options_.cache_dir.empty()) return "";
  return (std::filesystem::path(options_.cache_dir) / kCacheFileName).string();
}

void ImageResolver::LoadLocked() {
  if (loaded_) return;
  loaded_ = true;
  if (options_.cache_dir.empty()) return;
  nlohmann::json file = ReadJsonCacheFile(cache_path());
  const nlohmann::json* region = nullptr;
  if (HasCacheFormat(file, kCacheFormat) && file.contains("regions") &&
      file["regions"].is_object() && file["regions"].contains(options_.region)) {
    region = &file["regions"][options_.region];
  }
  if (region == nullptr || !region->is_object()) return;
  for (const auto& [name, e] : region->items()) {
    // Entries of another shape (a damaged or hand-edited file) are skipped.
    if (!e.is_object() || !e.contains("value") || !e["value"].is_string() ||
        !e.contains("fetched_at") || !e["fetched_at"].is_number_integer() ||
        e["fetched_at"].get<EpochSeconds>() < 0 || !IsAmiId(e["value"].get<std::string>())) {
      continue;
    }
    entries_[name] = {e["value"].get<std::string>(), e["fetched_at"].get<EpochSeconds>()};
  }
}

void ImageResolver::StoreLocked(const std::string& name, const Entry& entry) {
  entries_[name] = entry;
  if (options_.cache_dir.empty()) return;
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
  region[name] = {{"value", entry.value}, {"fetched_at", entry.fetched_at}};
  try {
    WriteJsonCacheFile(path, file);
  } catch (const Error& e) {
    spdlog::warn("SSM parameter cache not saved: {}", e.what());
  }
}

ResolvedImage ImageResolver::Resolve(const std::string& reference) {
  if (IsAmiId(reference)) return {reference, "", ImageSource::kLiteral};
  if (!IsSsmReference(reference)) {
    throw Error(ErrorCode::kInvalidInput,
                "image '" + reference +
                    "' is neither an AMI id (ami-...) nor an SSM parameter (a path starting "
                    "with '/', or resolve:ssm:<name>)");
  }
  const std::string name = StartsWith(reference, kSsmPrefix)
                               ? reference.substr(std::string_view(kSsmPrefix).size())
                               : reference;
  std::lock_guard<std::mutex> lock(mu_);
  LoadLocked();
  const EpochSeconds now = now_();
  auto cached = entries_.find(name);
  if (cached != entries_.end()) {
    const EpochSeconds age = now - cached->second.fetched_at;
    if (age >= 0 && age < options_.ttl.count()) {
      return {cached->second.value, name, ImageSource::kCache};
    }
  }
  std::string value;
  try {
    value = fetch_(name);
    if (!IsAmiId(value)) {
      throw AwsError("InvalidParameterValue",
                     "SSM parameter " + name + " holds '" + value +
                         "', not an AMI id (ami-...): point the template's image at a "
                         "parameter that holds an AMI id",
                     "", 0, false);
    }
  } catch (const std::exception& e) {
    // A parameter that no longer exists is an answer, not an outage: never hide it.
    const auto* aws = dynamic_cast<const AwsError*>(&e);
    if (cached == entries_.end() || (aws && aws->aws_code() == "ParameterNotFound")) throw;
    spdlog::warn(
        "could not refresh SSM parameter {} ({}); using the value cached {} s ago, {}, until "
        "it can be read again",
        name, e.what(), now - cached->second.fetched_at, cached->second.value);
    return {cached->second.value, name, ImageSource::kStaleCache};
  }
  StoreLocked(name, {value, now});
  return {value, name, ImageSource::kSsm};
}

}  // namespace orb
