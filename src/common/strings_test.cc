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

TEST(StringsTest, InvalidUtf8Offset) {
  constexpr auto kValid = std::string_view::npos;
  EXPECT_EQ(InvalidUtf8Offset(""), kValid);
  EXPECT_EQ(InvalidUtf8Offset("plain ascii"), kValid);
  EXPECT_EQ(InvalidUtf8Offset("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), kValid);  // é € 😀
  EXPECT_EQ(InvalidUtf8Offset("ab\x87"), 2u);            // a lone continuation byte
  EXPECT_EQ(InvalidUtf8Offset("caf\xe9"), 3u);           // Latin-1 é
  EXPECT_EQ(InvalidUtf8Offset("x\xc3"), 1u);             // cut short
  EXPECT_EQ(InvalidUtf8Offset("\xe2\x82"), 0u);         // cut short
  EXPECT_EQ(InvalidUtf8Offset("\xc0\xaf"), 0u);         // overlong '/'
  EXPECT_EQ(InvalidUtf8Offset("\xe0\x80\xaf"), 0u);     // overlong
  EXPECT_EQ(InvalidUtf8Offset("\xed\xa0\x80"), 0u);     // a UTF-16 surrogate
  EXPECT_EQ(InvalidUtf8Offset("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(InvalidUtf8Offset("\xf4\x8f\xbf\xbf"), kValid);  // U+10FFFF
  EXPECT_EQ(InvalidUtf8Offset("ok\xc3\xa9\xff"), 4u);
}

}  // namespace
}  // namespace orb
