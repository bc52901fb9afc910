#include "model/instance_types.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace orb {
namespace {

void ExpectType(std::string_view name, int vcpus, int cores, int memory_mib,
                std::string_view architecture) {
  SCOPED_TRACE(std::string(name));
  std::optional<InstanceTypeInfo> info = LookupInstanceType(name);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->name, name);
  EXPECT_EQ(info->vcpus, vcpus);
  EXPECT_EQ(info->cores, cores);
  EXPECT_EQ(info->memory_mib, memory_mib);
  EXPECT_EQ(info->architecture, architecture);
}

TEST(InstanceTypesTest, KnowsCommonTypes) {
  ExpectType("m5.large", 2, 1, 8192, "X86_64");
  ExpectType("m6g.large", 2, 2, 8192, "ARM64");  // Graviton2: one thread per core
  ExpectType("t3.micro", 2, 1, 1024, "X86_64");
  ExpectType("p3.2xlarge", 8, 4, 62464, "X86_64");  // GPU type
  ExpectType("c7g.16xlarge", 64, 64, 131072, "ARM64");
}

TEST(InstanceTypesTest, KnowsTheFirstAndLastTypesOfTheTable) {
  // The ends of the table are where an off-by-one in the binary search shows.
  ExpectType("a1.2xlarge", 8, 8, 16384, "ARM64");
  ExpectType("z1d.xlarge", 4, 2, 32768, "X86_64");
}

TEST(InstanceTypesTest, MapsMacAndI386TypesToHostFactoryArchitectures) {
  // moto lists these as x86_64_mac, arm64_mac and {i386, x86_64}.
  ExpectType("mac1.metal", 12, 6, 32768, "X86_64");
  ExpectType("mac2.metal", 8, 4, 16384, "ARM64");
  ExpectType("t2.micro", 1, 1, 1024, "X86_64");
}

TEST(InstanceTypesTest, LookupIsExactAndCaseSensitive) {
  EXPECT_FALSE(LookupInstanceType("m9.huge").has_value());
  EXPECT_FALSE(LookupInstanceType("M5.LARGE").has_value());
  EXPECT_FALSE(LookupInstanceType("m5.larg").has_value());
  EXPECT_FALSE(LookupInstanceType("m5.large ").has_value());
  EXPECT_FALSE(LookupInstanceType("m5").has_value());
  EXPECT_FALSE(LookupInstanceType("").has_value());
  EXPECT_FALSE(LookupInstanceType("zzz.large").has_value());  // after the last row
  EXPECT_FALSE(LookupInstanceType("a0.large").has_value());   // before the first row
}

TEST(InstanceTypesTest, TableHoldsAllOfMotosTypes) { EXPECT_GT(InstanceTypeCount(), 800u); }

// Reads the generated table's rows straight from the source file, independently of the
// code under test, so the test sees exactly what was compiled in.
struct Row {
  std::string name;
  int vcpus;
  int cores;
  int memory_mib;
  std::string architecture;
};

std::vector<Row> ReadGeneratedRows() {
  std::ifstream in(std::string(ORB_SOURCE_DIR) + "/src/model/instance_types_data.inc");
  EXPECT_TRUE(in.good()) << "cannot open instance_types_data.inc";
  // {"name", vcpus, cores, memory, kArch},
  const std::regex row_re(R"re(^\{"([^"]+)",\s*(\d+),\s*(\d+),\s*(\d+),)re"
                          R"re(\s*(kX86_64|kArm64)\},$)re");
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("//", 0) == 0) continue;
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, row_re)) << "unexpected line: " << line;
    if (m.empty()) continue;
    rows.push_back({m[1], std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]),
                    m[5] == "kX86_64" ? "X86_64" : "ARM64"});
  }
  return rows;
}

TEST(InstanceTypesTest, TableIsSortedWithoutDuplicatesAndEveryRowIsFound) {
  const std::vector<Row> rows = ReadGeneratedRows();
  ASSERT_EQ(rows.size(), InstanceTypeCount());
  std::set<std::string> architectures;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    SCOPED_TRACE(row.name);
    if (i > 0) {
      // Strictly ascending in byte order: sorted and no duplicates, as binary search needs.
      EXPECT_LT(rows[i - 1].name, row.name);
    }
    EXPECT_GE(row.cores, 1);
    EXPECT_LE(row.cores, row.vcpus);
    EXPECT_GT(row.memory_mib, 0);
    architectures.insert(row.architecture);
    std::optional<InstanceTypeInfo> info = LookupInstanceType(row.name);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->vcpus, row.vcpus);
    EXPECT_EQ(info->cores, row.cores);
    EXPECT_EQ(info->memory_mib, row.memory_mib);
    EXPECT_EQ(info->architecture, row.architecture);
  }
  EXPECT_EQ(architectures, (std::set<std::string>{"ARM64", "X86_64"}));
}

TEST(InstanceTypesDeriveTest, OneTypeGivesItsOwnAttributes) {
  std::string problem;
  std::optional<DerivedAttributes> derived = DeriveAttributes({"m5.large"}, &problem);
  ASSERT_TRUE(derived.has_value()) << problem;
  EXPECT_EQ(derived->type, "X86_64");
  EXPECT_EQ(derived->ncpus, 2);
  EXPECT_EQ(derived->ncores, 1);
  EXPECT_EQ(derived->nram_mib, 8192);
}

TEST(InstanceTypesDeriveTest, PicksTheSmallestOfEachFieldAcrossTypes) {
  // Each minimum comes from a different type: vCPUs from m7a.2xlarge (8/8/32768),
  // cores from z1d.3xlarge (12/6/98304), memory from c4.4xlarge (16/8/30720).
  std::string problem;
  std::optional<DerivedAttributes> derived =
      DeriveAttributes({"z1d.3xlarge", "m7a.2xlarge", "c4.4xlarge"}, &problem);
  ASSERT_TRUE(derived.has_value()) << problem;
  EXPECT_EQ(derived->type, "X86_64");
  EXPECT_EQ(derived->ncpus, 8);
  EXPECT_EQ(derived->ncores, 6);
  EXPECT_EQ(derived->nram_mib, 30720);
}

TEST(InstanceTypesDeriveTest, ArmTypesGiveArm64) {
  std::string problem;
  std::optional<DerivedAttributes> derived =
      DeriveAttributes({"m6g.xlarge", "m6g.large", "c7g.large"}, &problem);
  ASSERT_TRUE(derived.has_value()) << problem;
  EXPECT_EQ(derived->type, "ARM64");
  EXPECT_EQ(derived->ncpus, 2);
  EXPECT_EQ(derived->ncores, 2);
  EXPECT_EQ(derived->nram_mib, 4096);  // c7g.large
}

TEST(InstanceTypesDeriveTest, RejectsAnUnknownTypeByName) {
  std::string problem;
  EXPECT_FALSE(DeriveAttributes({"m5.large", "m9.huge"}, &problem).has_value());
  EXPECT_EQ(problem, "unknown instance type 'm9.huge'");
}

TEST(InstanceTypesDeriveTest, NamesEveryUnknownTypeOnce) {
  std::string problem;
  EXPECT_FALSE(
      DeriveAttributes({"m9.huge", "m5.large", "M5.LARGE", "m9.huge"}, &problem).has_value());
  EXPECT_EQ(problem, "unknown instance types 'm9.huge', 'M5.LARGE'");
}

TEST(InstanceTypesDeriveTest, RejectsMixedArchitectures) {
  std::string problem;
  EXPECT_FALSE(DeriveAttributes({"m5.large", "m6g.large"}, &problem).has_value());
  EXPECT_EQ(problem, "instance types mix architectures: m5.large is X86_64, m6g.large is ARM64");

  EXPECT_FALSE(DeriveAttributes({"m6g.large", "c5.large", "t3.micro"}, &problem).has_value());
  EXPECT_EQ(problem, "instance types mix architectures: m6g.large is ARM64, c5.large is X86_64");
}

TEST(InstanceTypesDeriveTest, RejectsAnEmptyList) {
  std::string problem;
  EXPECT_FALSE(DeriveAttributes({}, &problem).has_value());
  EXPECT_FALSE(problem.empty());
}

TEST(InstanceTypesDeriveTest, ToleratesANullProblem) {
  EXPECT_FALSE(DeriveAttributes({"m9.huge"}, nullptr).has_value());
  EXPECT_TRUE(DeriveAttributes({"m5.large"}, nullptr).has_value());
}

TEST(InstanceTypesDeriveTest, LiveFactsWinOverTheTableTypeByType) {
  std::string problem;
  // c5.xlarge from the table (4/2/8192); m5.large live (the table says 2/1/8192).
  std::optional<DerivedAttributes> derived = DeriveAttributes(
      {"m5.large", "c5.xlarge"}, {{"m5.large", {8, 8, 4096, "X86_64"}}}, &problem);
  ASSERT_TRUE(derived.has_value()) << problem;
  EXPECT_EQ(derived->ncpus, 4);
  EXPECT_EQ(derived->ncores, 2);
  EXPECT_EQ(derived->nram_mib, 4096);
}

TEST(InstanceTypesDeriveTest, IncompleteLiveFactsFallBackToTheTable) {
  std::optional<DerivedAttributes> derived =
      DeriveAttributes({"m5.large"}, {{"m5.large", {0, 0, 0, ""}}}, nullptr);
  ASSERT_TRUE(derived.has_value());
  EXPECT_EQ(derived->ncpus, 2);
  EXPECT_EQ(derived->nram_mib, 8192);
  EXPECT_EQ(derived->type, "X86_64");
}

TEST(InstanceTypesDeriveTest, LiveArchitectureCountsForMixing) {
  std::string problem;
  EXPECT_FALSE(DeriveAttributes({"m5.large", "x9.new"}, {{"x9.new", {2, 2, 4096, "ARM64"}}},
                                &problem)
                   .has_value());
  EXPECT_NE(problem.find("x9.new is ARM64"), std::string::npos) << problem;
}

}  // namespace
}  // namespace orb
