// ImageResolver's cache rules with an injected fetch and clock: no network.

#include "provider/aws/image_resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "provider/aws/aws_error.h"

namespace orb {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kPath =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

// A fresh empty directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("orb_image_resolver_test_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter_++));
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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A parameter store in memory that counts reads and can be made unreachable.
struct FakeSsm {
  std::map<std::string, std::string> values;
  std::vector<std::string> asked;
  bool down = false;

  ParameterFetch Fetch() {
    return [this](const std::string& name) -> std::string {
      asked.push_back(name);
      if (down) throw AwsError("NetworkError", "SSM GetParameter: connection refused", "", 0, true);
      auto it = values.find(name);
      if (it == values.end()) {
        throw AwsError("ParameterNotFound", "SSM parameter " + name + " does not exist", "", 400,
                       false);
      }
      return it->second;
    };
  }
};

struct Clock {
  EpochSeconds now = 1'700'000'000;
  std::function<EpochSeconds()> Fn() {
    return [this] { return now; };
  }
};

ImageResolverOptions Options(const std::string& dir, const std::string& region = "us-east-1") {
  ImageResolverOptions o;
  o.cache_dir = dir;
  o.region = region;
  o.ttl = std::chrono::seconds(3600);
  return o;
}

TEST(ImageResolverTest, AnAmiIdIsUsedAsIsWithoutAnyCall) {
  TempDir dir;
  FakeSsm ssm;
  ImageResolver resolver(Options(dir.dir()), ssm.Fetch());
  ResolvedImage r = resolver.Resolve("ami-0123456789abcdef0");
  EXPECT_EQ(r.image_id, "ami-0123456789abcdef0");
  EXPECT_EQ(r.source, ImageSource::kLiteral);
  EXPECT_TRUE(ssm.asked.empty());
  EXPECT_FALSE(fs::exists(resolver.cache_path()));
}

TEST(ImageResolverTest, RecognisesSsmReferences) {
  EXPECT_TRUE(ImageResolver::IsSsmReference(kPath));
  EXPECT_TRUE(ImageResolver::IsSsmReference("resolve:ssm:/golden/ami"));
  EXPECT_TRUE(ImageResolver::IsSsmReference("resolve:ssm:golden-ami"));
  EXPECT_FALSE(ImageResolver::IsSsmReference("resolve:ssm:"));
  EXPECT_FALSE(ImageResolver::IsSsmReference("ami-1234abcd"));
  EXPECT_FALSE(ImageResolver::IsSsmReference(""));
}

TEST(ImageResolverTest, AFreshEntryCostsNoCallInThisProcessOrTheNext) {
  TempDir dir;
  FakeSsm ssm;
  ssm.values[kPath] = "ami-11111111";
  ssm.values["/golden/ami"] = "ami-22222222";
  Clock clock;
  ImageResolver first(Options(dir.dir()), ssm.Fetch(), clock.Fn());
  EXPECT_EQ(first.Resolve(kPath).source, ImageSource::kSsm);
  ResolvedImage again = first.Resolve(kPath);
  EXPECT_EQ(again.image_id, "ami-11111111");
  EXPECT_EQ(again.source, ImageSource::kCache);
  EXPECT_EQ(again.parameter, kPath);
  // "resolve:ssm:" names the same kind of parameter.
  EXPECT_EQ(first.Resolve("resolve:ssm:/golden/ami").image_id, "ami-22222222");
  EXPECT_THAT(ssm.asked, ElementsAre(kPath, "/golden/ami"));

  // Another process (a new resolver on the same directory), 59 minutes later.
  clock.now += 3599;
  ImageResolver second(Options(dir.dir()), ssm.Fetch(), clock.Fn());
  ResolvedImage cached = second.Resolve(kPath);
  EXPECT_EQ(cached.image_id, "ami-11111111");
  EXPECT_EQ(cached.source, ImageSource::kCache);
  EXPECT_EQ(second.Resolve("resolve:ssm:/golden/ami").source, ImageSource::kCache);
  EXPECT_EQ(ssm.asked.size(), 2u);
}

TEST(ImageResolverTest, AnExpiredEntryIsRefreshed) {
  TempDir dir;
  FakeSsm ssm;
  ssm.values[kPath] = "ami-11111111";
  Clock clock;
  ImageResolver resolver(Options(dir.dir()), ssm.Fetch(), clock.Fn());
  resolver.Resolve(kPath);
  ssm.values[kPath] = "ami-33333333";  // AWS published a new image
  clock.now += 3600;
  ResolvedImage r = resolver.Resolve(kPath);
  EXPECT_EQ(r.image_id, "ami-33333333");
  EXPECT_EQ(r.source, ImageSource::kSsm);
  EXPECT_EQ(ssm.asked.size(), 2u);
  // The refreshed value is on disk for the next process, fresh again.
  ImageResolver next(Options(dir.dir()), ssm.Fetch(), clock.Fn());
  EXPECT_EQ(next.Resolve(kPath).image_id, "ami-33333333");
  EXPECT_EQ(ssm.asked.size(), 2u);
}

TEST(ImageResolverTest, AStaleValueIsUsedWhenRefreshingFails) {
  TempDir dir;
  FakeSsm ssm;
  ssm.values[kPath] = "ami-11111111";
  Clock clock;
  ImageResolver(Options(dir.dir()), ssm.Fetch(), clock.Fn()).Resolve(kPath);
  clock.now += 7 * 3600;
  ssm.down = true;
  ImageResolver resolver(Options(dir.dir()), ssm.Fetch(), clock.Fn());
  ResolvedImage r = resolver.Resolve(kPath);
  EXPECT_EQ(r.image_id, "ami-11111111");
  EXPECT_EQ(r.source, ImageSource::kStaleCache);
  // Each later call tries SSM again rather than trusting the stale value longer.
  resolver.Resolve(kPath);
  EXPECT_EQ(ssm.asked.size(), 3u);
  ssm.down = false;
  ssm.values[kPath] = "ami-44444444";
  EXPECT_EQ(resolver.Resolve(kPath).image_id, "ami-44444444");
}

TEST(ImageResolverTest, AFailureWithNothingCachedIsReported) {
  TempDir dir;
  FakeSsm ssm;
  ImageResolver resolver(Options(dir.dir()), ssm.Fetch());
  try {
    resolver.Resolve("/no/such/parameter");
    FAIL() << "expected an error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.aws_code(), "ParameterNotFound");
    EXPECT_THAT(e.what(), HasSubstr("/no/such/parameter"));
  }
  ssm.down = true;
  EXPECT_THROW(resolver.Resolve(kPath), AwsError);
}

TEST(ImageResolverTest, ADamagedCacheFileIsIgnoredAndRewritten) {
  TempDir dir;
  FakeSsm ssm;
  ssm.values[kPath] = "ami-11111111";
  ImageResolver resolver(Options(dir.dir()), ssm.Fetch());
  std::ofstream(resolver.cache_path()) << "{\"format\": 1, \"regions\": {\"us-east-1\": {";
  EXPECT_EQ(resolver.Resolve(kPath).image_id, "ami-11111111");
  nlohmann::json file = nlohmann::json::parse(ReadFile(resolver.cache_path()));
  EXPECT_EQ(file["regions"]["us-east-1"][kPath]["value"], "ami-11111111");
  // Only the cache file is left in the directory: the temporary file was renamed.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.dir())) ++files;
  EXPECT_EQ(files, 1);

  // A well-formed file with entries of the wrong shape: those entries are ignored.
  std::ofstream(resolver.cache_path())
      << R"({"format": 1, "regions": {"us-east-1": {")" << kPath << R"(": {"value": 7}}}})";
  ImageResolver next(Options(dir.dir()), ssm.Fetch());
  EXPECT_EQ(next.Resolve(kPath).source, ImageSource::kSsm);

  // Caught by the cache_file fuzz target: a "format" that is not a number (nlohmann
  // type_error) and a fetched_at far before 1970 (signed overflow computing the age).
  // Found by the cache_file fuzz target: a cached value that is not an AMI id was
  // answered as the image.
  for (const std::string& text :
       {std::string(R"({"format": "1"})"),
        R"({"format": 1, "regions": {"us-east-1": {")" + std::string(kPath) +
            R"(": {"value": "am9223372036854775807", "fetched_at": )" +
            std::to_string(NowSeconds()) + "}}}}",
        R"({"format": 1, "regions": {"us-east-1": {")" + std::string(kPath) +
            R"(": {"value": "ami-22222222", "fetched_at": -9223372036854775808}}}})"}) {
    std::ofstream(resolver.cache_path()) << text;
    ImageResolver damaged(Options(dir.dir()), ssm.Fetch());
    EXPECT_EQ(damaged.Resolve(kPath).source, ImageSource::kSsm) << text;
  }
}

TEST(ImageResolverTest, EntriesAreKeptPerRegion) {
  TempDir dir;
  FakeSsm ssm;
  ssm.values[kPath] = "ami-11111111";
  ImageResolver east(Options(dir.dir(), "us-east-1"), ssm.Fetch());
  east.Resolve(kPath);
  ssm.values[kPath] = "ami-55555555";
  ImageResolver west(Options(dir.dir(), "eu-west-1"), ssm.Fetch());
  EXPECT_EQ(west.Resolve(kPath).image_id, "ami-55555555");
  EXPECT_EQ(ssm.asked.size(), 2u);
  // Both regions' entries survive in the one file.
  ImageResolver east_again(Options(dir.dir(), "us-east-1"), ssm.Fetch());
  EXPECT_EQ(east_again.Resolve(kPath).image_id, "ami-11111111");
  EXPECT_EQ(ssm.asked.size(), 2u);
}

TEST(ImageResolverTest, AnUnwritableCacheDirectoryOnlyCostsTheCache) {
  TempDir dir;
  std::ofstream(dir.dir() + "/a-file") << "x";
  FakeSsm ssm;
  ssm.values[kPath] = "ami-11111111";
  ImageResolver resolver(Options(dir.dir() + "/a-file/cache"), ssm.Fetch());
  EXPECT_EQ(resolver.Resolve(kPath).image_id, "ami-11111111");
  // Still cached in memory.
  EXPECT_EQ(resolver.Resolve(kPath).source, ImageSource::kCache);
  EXPECT_EQ(ssm.asked.size(), 1u);
}

TEST(ImageResolverTest, RejectsWhatIsNeitherAnAmiNorAParameter) {
  FakeSsm ssm;
  ImageResolver resolver(Options(""), ssm.Fetch());
  try {
    resolver.Resolve("ubuntu-22.04");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_THAT(e.what(), HasSubstr("ubuntu-22.04"));
  }
  ssm.values["/not/an/ami"] = "hello";
  EXPECT_THROW(
      {
        try {
          resolver.Resolve("/not/an/ami");
        } catch (const AwsError& e) {
          EXPECT_THAT(e.what(), HasSubstr("not an AMI id"));
          throw;
        }
      },
      AwsError);
  // Not cached: asked again.
  EXPECT_THROW(resolver.Resolve("/not/an/ami"), AwsError);
  EXPECT_EQ(ssm.asked.size(), 2u);
}

}  // namespace
}  // namespace orb
