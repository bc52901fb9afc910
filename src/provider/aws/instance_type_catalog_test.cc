// InstanceTypeCatalog's cache and fallback rules with an injected fetch and
// clock: no network.

#include "provider/aws/instance_type_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "provider/aws/aws_error.h"

namespace orb {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// A fresh empty directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ =
        fs::temp_directory_path() / ("orb_instance_type_catalog_test_" +
                                     std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string dir() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

Ec2InstanceType Type(const std::string& name, int vcpus, int cores, long long mib,
                     const std::string& arch = "x86_64") {
  Ec2InstanceType t;
  t.instance_type = name;
  t.vcpus = vcpus;
  t.cores = cores;
  t.threads_per_core = vcpus / std::max(cores, 1);
  t.memory_mib = mib;
  t.architectures = {arch};
  return t;
}

// EC2 in memory: answers the types it knows, records each call's list.
struct FakeEc2 {
  std::map<std::string, Ec2InstanceType> known = {
      {"m5.large", Type("m5.large", 2, 1, 8192)},
      {"c5.xlarge", Type("c5.xlarge", 4, 2, 8192)},
      {"r5.large", Type("r5.large", 2, 1, 16384)},
      {"m6g.large", Type("m6g.large", 2, 2, 8192, "arm64")},
  };
  std::vector<std::vector<std::string>> calls;
  bool down = false;

  InstanceTypeFetch Fetch() {
    return [this](const std::vector<std::string>& types) {
      calls.push_back(types);
      if (down) {
        throw AwsError("NetworkError", "EC2 DescribeInstanceTypes: connection refused", "", 0,
                       true);
      }
      std::vector<Ec2InstanceType> out;
      for (const std::string& t : types) {
        if (known.count(t)) out.push_back(known[t]);
      }
      return out;
    };
  }
};

struct Clock {
  EpochSeconds now = 1'700'000'000;
  std::function<EpochSeconds()> Fn() {
    return [this] { return now; };
  }
};

InstanceTypeCatalogOptions Options(const std::string& dir) {
  InstanceTypeCatalogOptions o;
  o.cache_dir = dir;
  o.region = "us-east-1";
  return o;
}

TEST(InstanceTypeCatalogTest, AsksOnlyForWhatIsNotFreshlyCachedInOneCall) {
  TempDir dir;
  FakeEc2 ec2;
  Clock clock;
  InstanceTypeCatalog(Options(dir.dir()), ec2.Fetch(), clock.Fn()).Lookup({"m5.large"});
  clock.now += 23 * 3600;  // within the default 24 h

  InstanceTypeCatalog catalog(Options(dir.dir()), ec2.Fetch(), clock.Fn());
  InstanceTypeLookup r =
      catalog.Lookup({"m5.large", "c5.xlarge", "r5.large", "c5.xlarge", "", "m6g.large"});
  ASSERT_EQ(ec2.calls.size(), 2u);
  EXPECT_THAT(ec2.calls[1], ElementsAre("c5.xlarge", "r5.large", "m6g.large"));
  ASSERT_EQ(r.facts.size(), 4u);
  EXPECT_EQ(r.facts["m5.large"].source, FactSource::kCache);
  EXPECT_EQ(r.facts["m5.large"].memory_mib, 8192);
  EXPECT_EQ(r.facts["c5.xlarge"].source, FactSource::kAws);
  EXPECT_EQ(r.facts["c5.xlarge"].vcpus, 4);
  EXPECT_EQ(r.facts["c5.xlarge"].cores, 2);
  EXPECT_THAT(r.facts["m6g.large"].architectures, ElementsAre("arm64"));
  EXPECT_THAT(r.unknown, IsEmpty());
  EXPECT_EQ(r.aws_error, "");

  // Everything is fresh now: no call at all.
  r = catalog.Lookup({"r5.large", "m5.large"});
  EXPECT_EQ(ec2.calls.size(), 2u);
  EXPECT_EQ(r.facts["r5.large"].source, FactSource::kCache);
}

TEST(InstanceTypeCatalogTest, ExpiredFactsAreAskedAgain) {
  TempDir dir;
  FakeEc2 ec2;
  Clock clock;
  InstanceTypeCatalog catalog(Options(dir.dir()), ec2.Fetch(), clock.Fn());
  catalog.Lookup({"m5.large", "r5.large"});
  clock.now += 24 * 3600;
  ec2.known["m5.large"].memory_mib = 9000;  // a changed answer shows the refresh
  InstanceTypeLookup r = catalog.Lookup({"m5.large"});
  ASSERT_EQ(ec2.calls.size(), 2u);
  EXPECT_THAT(ec2.calls[1], ElementsAre("m5.large"));
  EXPECT_EQ(r.facts["m5.large"].source, FactSource::kAws);
  EXPECT_EQ(r.facts["m5.large"].memory_mib, 9000);
}

TEST(InstanceTypeCatalogTest, UnreachableEc2FallsBackToStaleCacheThenBuiltInTable) {
  TempDir dir;
  FakeEc2 ec2;
  ec2.known["c5.xlarge"].memory_mib = 8000;  // tells the cached answer from the table's
  Clock clock;
  InstanceTypeCatalog(Options(dir.dir()), ec2.Fetch(), clock.Fn()).Lookup({"c5.xlarge"});
  clock.now += 30 * 24 * 3600;
  ec2.down = true;

  InstanceTypeCatalog catalog(Options(dir.dir()), ec2.Fetch(), clock.Fn());
  InstanceTypeLookup r = catalog.Lookup({"c5.xlarge", "m5.large", "m6g.large", "zz.huge"});
  EXPECT_EQ(ec2.calls.size(), 2u);
  EXPECT_THAT(r.aws_error, HasSubstr("connection refused"));
  EXPECT_EQ(r.facts["c5.xlarge"].source, FactSource::kStaleCache);
  EXPECT_EQ(r.facts["c5.xlarge"].memory_mib, 8000);
  const InstanceTypeFacts& m5 = r.facts["m5.large"];
  EXPECT_EQ(m5.source, FactSource::kBuiltIn);
  EXPECT_EQ(m5.vcpus, 2);
  EXPECT_EQ(m5.cores, 1);
  EXPECT_EQ(m5.memory_mib, 8192);
  EXPECT_THAT(m5.architectures, ElementsAre("x86_64"));
  EXPECT_THAT(r.facts["m6g.large"].architectures, ElementsAre("arm64"));
  EXPECT_THAT(r.unknown, ElementsAre("zz.huge"));
  EXPECT_EQ(FactSourceName(m5.source), "built-in");
}

TEST(InstanceTypeCatalogTest, TypesEc2DoesNotOfferAreUnknownNotGuessed) {
  FakeEc2 ec2;
  ec2.known.erase("m5.large");  // e.g. not offered in this region
  InstanceTypeCatalog catalog(Options(""), ec2.Fetch());
  InstanceTypeLookup r = catalog.Lookup({"m5.large", "r5.large", "m5.lage"});
  EXPECT_THAT(r.unknown, UnorderedElementsAre("m5.large", "m5.lage"));
  EXPECT_EQ(r.facts.size(), 1u);
  EXPECT_EQ(r.aws_error, "");
}

TEST(InstanceTypeCatalogTest, ADamagedCacheFileIsIgnoredAndRewritten) {
  TempDir dir;
  FakeEc2 ec2;
  InstanceTypeCatalog catalog(Options(dir.dir()), ec2.Fetch());
  std::ofstream(catalog.cache_path()) << "[1, 2";
  InstanceTypeLookup r = catalog.Lookup({"r5.large"});
  EXPECT_EQ(r.facts["r5.large"].source, FactSource::kAws);
  std::ifstream in(catalog.cache_path());
  nlohmann::json file = nlohmann::json::parse(in);
  EXPECT_EQ(file["regions"]["us-east-1"]["r5.large"]["memory_mib"], 16384);
  // A later process reads it back.
  InstanceTypeCatalog next(Options(dir.dir()), ec2.Fetch());
  EXPECT_EQ(next.Lookup({"r5.large"}).facts["r5.large"].source, FactSource::kCache);
  EXPECT_EQ(ec2.calls.size(), 1u);

  // Caught by the cache_file fuzz target: a "format" that is not a number threw
  // nlohmann's type_error out of a call documented never to throw, and a fetched_at far
  // before 1970 overflowed the age computation. Both files are ignored.
  for (const char* text :
       {R"({"format": "1", "regions": {}})",
        R"({"format": 1, "regions": {"us-east-1": {"r5.large": {"vcpus": 2, "cores": 1,
            "memory_mib": 16384, "architectures": ["x86_64"],
            "fetched_at": -9223372036854775808}}}})"}) {
    std::ofstream(catalog.cache_path()) << text;
    InstanceTypeCatalog damaged(Options(dir.dir()), ec2.Fetch());
    EXPECT_EQ(damaged.Cached({"r5.large"}).unknown, std::vector<std::string>{"r5.large"}) << text;
  }
}

TEST(InstanceTypeCatalogTest, CachedReadsTheFileOnlyEvenWhenExpiredOrMissing) {
  TempDir dir;
  FakeEc2 ec2;
  Clock clock;
  InstanceTypeCatalog(Options(dir.dir()), ec2.Fetch(), clock.Fn()).Lookup({"c5.xlarge"});
  clock.now += 30 * 24 * 3600;  // long expired

  InstanceTypeCatalog catalog(Options(dir.dir()), ec2.Fetch(), clock.Fn());
  InstanceTypeLookup r = catalog.Cached({"c5.xlarge", "m5.large", "c5.xlarge"});
  EXPECT_EQ(ec2.calls.size(), 1u);  // only the first process's Lookup
  EXPECT_EQ(r.facts.size(), 1u);
  EXPECT_EQ(r.facts["c5.xlarge"].source, FactSource::kStaleCache);
  EXPECT_EQ(r.facts["c5.xlarge"].vcpus, 4);
  EXPECT_THAT(r.unknown, ElementsAre("m5.large"));  // not cached: not the built-in table
}

TEST(InstanceTypeCatalogTest, RefreshAsksForFreshTypesTooAndRewritesTheCache) {
  TempDir dir;
  FakeEc2 ec2;
  Clock clock;
  InstanceTypeCatalog(Options(dir.dir()), ec2.Fetch(), clock.Fn()).Lookup({"m5.large"});
  ec2.known["m5.large"].memory_mib = 9000;

  InstanceTypeCatalog catalog(Options(dir.dir()), ec2.Fetch(), clock.Fn());
  InstanceTypeLookup r = catalog.Refresh({"m5.large", "r5.large"});
  ASSERT_EQ(ec2.calls.size(), 2u);
  EXPECT_THAT(ec2.calls[1], ElementsAre("m5.large", "r5.large"));
  EXPECT_EQ(r.facts["m5.large"].source, FactSource::kAws);
  EXPECT_EQ(r.facts["m5.large"].memory_mib, 9000);
  // The next process sees the new facts in the file.
  InstanceTypeCatalog next(Options(dir.dir()), ec2.Fetch(), clock.Fn());
  EXPECT_EQ(next.Cached({"m5.large"}).facts["m5.large"].memory_mib, 9000);
}

TEST(InstanceTypeCatalogTest, ToInstanceFactsUsesHostFactoryArchitectureNames) {
  InstanceTypeFacts f{"m5.large", 2, 1, 8192, {"i386", "x86_64"}, FactSource::kAws};
  std::optional<InstanceFacts> x = ToInstanceFacts(f);
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->architecture, "X86_64");
  EXPECT_EQ(x->vcpus, 2);
  EXPECT_EQ(x->cores, 1);
  EXPECT_EQ(x->memory_mib, 8192);
  f.architectures = {"arm64"};
  EXPECT_EQ(ToInstanceFacts(f)->architecture, "ARM64");
  f.architectures = {"i386"};
  EXPECT_FALSE(ToInstanceFacts(f).has_value());
  f.architectures = {"x86_64"};
  f.memory_mib = 0;
  EXPECT_FALSE(ToInstanceFacts(f).has_value());
}

}  // namespace
}  // namespace orb
