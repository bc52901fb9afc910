#include "provider/aws/instance_requirements.h"

#include <map>

#include <gtest/gtest.h>

namespace orb {
namespace {

std::map<std::string, std::string> Encode(const nlohmann::json& req, RequirementsDialect d) {
  QueryParams p;
  AddInstanceRequirements(p, "IR", req, d);
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : p.items()) out[k] = v;
  return out;
}

nlohmann::json Normalized(const nlohmann::json& written) {
  nlohmann::json out;
  const std::string why = NormalizeInstanceRequirements(written, &out);
  EXPECT_EQ(why, "") << written.dump();
  return out;
}

TEST(InstanceRequirementsTest, AcceptsAwsNamesInAnyCasingAndSnakeCase) {
  nlohmann::json n = Normalized({{"vcpu_count", {{"min", 2}, {"MAX", 8}}},
                                 {"MemoryMiB", {{"Min", 4096}}},
                                 {"cpuManufacturers", "intel"},
                                 {"burstable_performance", "excluded"}});
  EXPECT_EQ(n["VCpuCount"], (nlohmann::json{{"Min", 2}, {"Max", 8}}));
  EXPECT_EQ(n["CpuManufacturers"], nlohmann::json::array({"intel"}));
  EXPECT_EQ(n["BurstablePerformance"], "excluded");
}

TEST(InstanceRequirementsTest, RefusesWhatAwsWouldRefuseNamingTheMember) {
  nlohmann::json out = "untouched";
  auto why = [&](const nlohmann::json& w) { return NormalizeInstanceRequirements(w, &out); };
  EXPECT_NE(why({{"MemoryMiB", {{"Min", 1}}}}).find("VCpuCount.Min is required"),
            std::string::npos);
  EXPECT_NE(why({{"VCpuCount", {{"Min", 2}}}, {"MemoryMiB", {{"Min", 1}}}, {"Cores", 2}})
                .find("'Cores'"),
            std::string::npos);
  EXPECT_NE(why({{"VCpuCount", {{"Min", 2.5}}}, {"MemoryMiB", {{"Min", 1}}}})
                .find("VCpuCount.Min must be a whole number"),
            std::string::npos);
  EXPECT_NE(why({{"VCpuCount", {{"Min", 8}, {"Max", 2}}}, {"MemoryMiB", {{"Min", 1}}}})
                .find("VCpuCount.Min is above"),
            std::string::npos);
  EXPECT_NE(why({{"VCpuCount", {{"Min", 2}}},
                 {"MemoryMiB", {{"Min", 1}}},
                 {"AllowedInstanceTypes", {"m5.*"}},
                 {"ExcludedInstanceTypes", {"t2.*"}}})
                .find("cannot both"),
            std::string::npos);
  EXPECT_NE(why(nlohmann::json::array()).find("must be an object"), std::string::npos);
  EXPECT_EQ(out, "untouched") << "a refused object leaves the output alone";
}

const nlohmann::json& Sample() {
  static const nlohmann::json n = [] {
    nlohmann::json out;
    NormalizeInstanceRequirements({{"VCpuCount", {{"Min", 2}, {"Max", 8}}},
                                   {"MemoryMiB", {{"Min", 4096}}},
                                   {"MemoryGiBPerVCpu", {{"Min", 1.5}}},
                                   {"CpuManufacturers", {"intel", "amd"}},
                                   {"ExcludedInstanceTypes", {"t2.*"}},
                                   {"RequireHibernateSupport", false},
                                   {"SpotMaxPricePercentageOverLowestPrice", 50}},
                                  &out);
    return out;
  }();
  return n;
}

TEST(InstanceRequirementsTest, Ec2SpellsListsByTheirSingularName) {
  auto p = Encode(Sample(), RequirementsDialect::kEc2);
  EXPECT_EQ(p["IR.VCpuCount.Min"], "2");
  EXPECT_EQ(p["IR.VCpuCount.Max"], "8");
  EXPECT_EQ(p["IR.MemoryMiB.Min"], "4096");
  EXPECT_EQ(p.count("IR.MemoryMiB.Max"), 0u);
  EXPECT_EQ(p["IR.MemoryGiBPerVCpu.Min"], "1.5");
  EXPECT_EQ(p["IR.CpuManufacturer.1"], "intel");
  EXPECT_EQ(p["IR.CpuManufacturer.2"], "amd");
  EXPECT_EQ(p["IR.ExcludedInstanceType.1"], "t2.*");
  EXPECT_EQ(p["IR.RequireHibernateSupport"], "false");
  EXPECT_EQ(p["IR.SpotMaxPricePercentageOverLowestPrice"], "50");
  EXPECT_EQ(p.size(), 9u) << "nothing else is sent";
}

TEST(InstanceRequirementsTest, SpotFleetSpellsListsAsSets) {
  auto p = Encode(Sample(), RequirementsDialect::kSpotFleet);
  EXPECT_EQ(p["IR.CpuManufacturerSet.1"], "intel");
  EXPECT_EQ(p["IR.ExcludedInstanceTypeSet.1"], "t2.*");
  EXPECT_EQ(p["IR.VCpuCount.Min"], "2");
  EXPECT_EQ(p.count("IR.CpuManufacturer.1"), 0u);
}

TEST(InstanceRequirementsTest, AutoScalingSpellsListsWithMembers) {
  auto p = Encode(Sample(), RequirementsDialect::kAutoScaling);
  EXPECT_EQ(p["IR.CpuManufacturers.member.1"], "intel");
  EXPECT_EQ(p["IR.CpuManufacturers.member.2"], "amd");
  EXPECT_EQ(p["IR.ExcludedInstanceTypes.member.1"], "t2.*");
  EXPECT_EQ(p["IR.MemoryMiB.Min"], "4096");
}

TEST(InstanceRequirementsTest, NullAddsNothing) {
  EXPECT_TRUE(Encode(nullptr, RequirementsDialect::kEc2).empty());
}

}  // namespace
}  // namespace orb
