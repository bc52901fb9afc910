// Fuzz target cache_file: orb's on-disk caches of cloud facts, which a crash, a
// full disk or a hand edit may leave damaged: instance-types.json (instance-type
// facts per region, read by InstanceTypeCatalog) and ssm-parameters.json (SSM
// parameter values per region, read by ImageResolver).
//
// Writes the bytes as both cache files, then asks the catalog for cached and
// looked-up facts and the resolver for an SSM image while the cloud cannot be
// reached. Checks: the catalog never throws (a damaged cache is ignored); every
// type asked about is either answered or unknown, not both; the resolver throws
// only orb::Error and, when it answers from the cache, answers an AMI id.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/image_resolver.h"
#include "provider/aws/instance_type_catalog.h"

namespace {

using orb::fuzz::ErrorOf;
using orb::fuzz::OnlyOrbErrors;

constexpr orb::EpochSeconds kNow = 1700000000;
const std::vector<std::string> kTypes = {"m5.large", "c6g.xlarge", "t3.micro", "x9.huge", ""};

[[noreturn]] std::vector<orb::Ec2InstanceType> Unreachable(const std::vector<std::string>&) {
  throw orb::AwsError("NetworkError", "could not reach ec2 (fuzz)", "", 0, true);
}

void CheckLookup(const orb::InstanceTypeLookup& r, bool cached_only) {
  std::set<std::string> answered;
  for (const auto& [name, facts] : r.facts) {
    answered.insert(name);
    ORB_FUZZ_CHECK(facts.instance_type == name, name);
    if (cached_only) {
      ORB_FUZZ_CHECK(
          facts.source == orb::FactSource::kCache || facts.source == orb::FactSource::kStaleCache,
          name);
    }
    orb::ToInstanceFacts(facts);
  }
  for (const std::string& u : r.unknown)
    ORB_FUZZ_CHECK(!answered.count(u), u + " answered and unknown");
  for (const std::string& t : kTypes) {
    if (t.empty()) continue;
    const bool unknown = std::find(r.unknown.begin(), r.unknown.end(), t) != r.unknown.end();
    ORB_FUZZ_CHECK(answered.count(t) || unknown, t + " neither answered nor unknown");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  orb::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path dir = orb::fuzz::ScratchDir();
  orb::fuzz::WriteFile(dir / "instance-types.json", text);
  orb::fuzz::WriteFile(dir / "ssm-parameters.json", text);

  for (const char* region : {"us-east-1", "eu-west-1"}) {
    orb::InstanceTypeCatalogOptions options{dir.string(), region, std::chrono::seconds(86400)};
    orb::InstanceTypeCatalog cached(options, Unreachable, [] { return kNow; });
    orb::InstanceTypeLookup r;
    auto error = OnlyOrbErrors("InstanceTypeCatalog::Cached", [&] { r = cached.Cached(kTypes); });
    ORB_FUZZ_CHECK(!error, std::string("Cached threw: ") + ErrorOf(error).what());
    CheckLookup(r, /*cached_only=*/true);
    orb::InstanceTypeCatalog lookup(options, Unreachable, [] { return kNow; });
    error = OnlyOrbErrors("InstanceTypeCatalog::Lookup", [&] { r = lookup.Lookup(kTypes); });
    ORB_FUZZ_CHECK(!error, std::string("Lookup threw: ") + ErrorOf(error).what());
    CheckLookup(r, /*cached_only=*/false);

    orb::ImageResolver resolver(
        {dir.string(), region, std::chrono::seconds(3600)},
        [](const std::string&) -> std::string {
          throw orb::AwsError("ThrottlingException", "slow down (fuzz)", "", 400, true);
        },
        [] { return kNow; });
    for (const char* reference :
         {"/aws/service/ami-amazon-linux-latest/x", "resolve:ssm:/orb/image"}) {
      orb::ResolvedImage image;
      error = OnlyOrbErrors("ImageResolver::Resolve", [&] { image = resolver.Resolve(reference); });
      if (!error) ORB_FUZZ_CHECK(image.image_id.rfind("ami-", 0) == 0, image.image_id);
    }
  }
  return 0;
}
