#include "common/strings.h"

#include <gtest/gtest.h>

namespace orb {
namespace {

TEST(StringsTest, TrimAndSplit) {
  EXPECT_EQ(Trim("  a b \t\n"), "a b");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(SplitTrimmed(" a, b ,,c ", ','), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitTrimmed("", ',').empty());
  EXPECT_TRUE(SplitTrimmed(" , ", ',').empty());
}

TEST(StringsTest, CaseConversions) {
  EXPECT_EQ(SnakeToCamel("max_number"), "maxNumber");
  EXPECT_EQ(SnakeToCamel("template_id"), "templateId");
  EXPECT_EQ(SnakeToCamel("status"), "status");
  EXPECT_EQ(CamelToSnake("maxNumber"), "max_number");
  EXPECT_EQ(CamelToSnake("vmTypesOnDemand"), "vm_types_on_demand");
  EXPECT_EQ(CamelToSnake("already_snake"), "already_snake");
  EXPECT_EQ(FoldName("capacity-optimized"), FoldName("CapacityOptimized"));
  EXPECT_EQ(FoldName("CAPACITY_OPTIMIZED"), "capacityoptimized");
  EXPECT_EQ(ToUpperSnake("max_number"), "MAX_NUMBER");
  EXPECT_EQ(Join({"a", "b"}, ", "), "a, b");
}

}  // namespace
}  // namespace orb
