#include "cli/output.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace orb {
namespace {

using json = nlohmann::ordered_json;

std::vector<json> Machines() {
  json a = {{"machine_id", "i-0a"}, {"name", "ip-10-0-0-1.ec2.internal"}, {"status", "running"},
            {"private_ip", "10.0.0.1"}, {"launch_time", 1734619942}};
  json b = {{"machine_id", "i-0bbbbbbb"}, {"name", "ip-10-0-0-22.ec2.internal"},
            {"status", "pending"}, {"private_ip", ""}, {"launch_time", 1734619943}};
  return {a, b};
}

TEST(OutputTest, HostFactoryFieldNames) {
  EXPECT_EQ(HostFactoryFieldName("template_id"), "templateId");
  EXPECT_EQ(HostFactoryFieldName("max_number"), "maxNumber");
  EXPECT_EQ(HostFactoryFieldName("machine_id"), "machineId");
  EXPECT_EQ(HostFactoryFieldName("launch_time"), "launchtime");
  EXPECT_EQ(HostFactoryFieldName("private_ip"), "privateIpAddress");
  EXPECT_EQ(HostFactoryFieldName("public_ip"), "publicIpAddress");
}

TEST(OutputTest, JsonWrapsCollectionAndKeepsEveryField) {
  OutputOptions o;
  o.format = OutputFormat::kJson;
  json doc = json::parse(FormatRecords(Machines(), "machines", {"machine_id"}, o));
  ASSERT_EQ(doc["machines"].size(), 2u);
  EXPECT_EQ(doc["machines"][0]["private_ip"], "10.0.0.1");
  EXPECT_EQ(doc["machines"][1]["launch_time"], 1734619943);
}

TEST(OutputTest, HfRenamesTopLevelAndMachineKeys) {
  OutputOptions o;
  o.format = OutputFormat::kJson;
  o.hostfactory_names = true;
  json doc = json::parse(FormatRecords(Machines(), "machines", {}, o));
  EXPECT_EQ(doc["machines"][0]["machineId"], "i-0a");
  EXPECT_EQ(doc["machines"][0]["privateIpAddress"], "10.0.0.1");
  EXPECT_EQ(doc["machines"][0]["launchtime"], 1734619942);
  EXPECT_FALSE(doc["machines"][0].contains("machine_id"));

  json request = {{"request_id", "req-1"}, {"machines", Machines()}};
  json shown = json::parse(FormatRecord(request, o));
  EXPECT_EQ(shown["requestId"], "req-1");
  EXPECT_EQ(shown["machines"][1]["machineId"], "i-0bbbbbbb");
}

TEST(OutputTest, FieldsSelectAndOrderInEitherCase) {
  OutputOptions o;
  o.format = OutputFormat::kJson;
  o.fields = {"privateIpAddress,machine_id"};
  json doc = json::parse(FormatRecords(Machines(), "machines", {}, o));
  std::vector<std::string> keys;
  for (auto it = doc["machines"][0].begin(); it != doc["machines"][0].end(); ++it) {
    keys.push_back(it.key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"private_ip", "machine_id"}));
  o.fields = {"nonsense"};
  EXPECT_THROW(FormatRecords(Machines(), "machines", {}, o), Error);
}

TEST(OutputTest, PlainTableIsAlignedWithoutBoxDrawing) {
  OutputOptions o;
  o.format = OutputFormat::kTable;
  std::string t = FormatRecords(Machines(), "machines", {"machine_id", "status"}, o);
  EXPECT_EQ(t,
            "MACHINE_ID  STATUS\n"
            "i-0a        running\n"
            "i-0bbbbbbb  pending\n");
}

TEST(OutputTest, TerminalTableUsesBoxDrawing) {
  OutputOptions o;
  o.format = OutputFormat::kTable;
  o.terminal = true;
  std::string t = FormatRecords(Machines(), "machines", {"machine_id", "status"}, o);
  EXPECT_EQ(t,
            "┌────────────┬─────────┐\n"
            "│ MACHINE_ID │ STATUS  │\n"
            "├────────────┼─────────┤\n"
            "│ i-0a       │ running │\n"
            "│ i-0bbbbbbb │ pending │\n"
            "└────────────┴─────────┘\n");
}

TEST(OutputTest, LongShowsEveryColumn) {
  OutputOptions o;
  o.format = OutputFormat::kTable;
  o.long_form = true;
  std::string t = FormatRecords(Machines(), "machines", {"machine_id"}, o);
  EXPECT_NE(t.find("LAUNCH_TIME"), std::string::npos);
  EXPECT_NE(t.find("10.0.0.1"), std::string::npos);
}

TEST(OutputTest, ListFormat) {
  OutputOptions o;
  o.format = OutputFormat::kList;
  std::string t = FormatRecords(Machines(), "machines", {"machine_id", "status"}, o);
  EXPECT_EQ(t,
            "machine_id: i-0a\n"
            "status:     running\n"
            "\n"
            "machine_id: i-0bbbbbbb\n"
            "status:     pending\n");
}

TEST(OutputTest, YamlQuotesStringsThatLookLikeOtherTypes) {
  OutputOptions o;
  o.format = OutputFormat::kYaml;
  json r = {{"a", "007"}, {"b", "true"}, {"c", 5}, {"d", "text"}};
  std::string y = FormatRecord(r, o);
  EXPECT_NE(y.find("a: \"007\""), std::string::npos) << y;
  EXPECT_NE(y.find("b: \"true\""), std::string::npos) << y;
  EXPECT_NE(y.find("c: 5"), std::string::npos) << y;
  EXPECT_NE(y.find("d: text"), std::string::npos) << y;
}

TEST(OutputTest, AttributesCellsAreReadable) {
  OutputOptions o;
  json t = {{"template_id", "T"},
            {"attributes", {{"type", {"String", "X86_64"}}, {"ncpus", {"Numeric", "2"}}}}};
  std::string text = FormatRecords({t}, "templates", {"template_id", "attributes"}, o);
  EXPECT_NE(text.find("type=X86_64 ncpus=2"), std::string::npos) << text;
}

TEST(OutputTest, Errors) {
  OutputOptions o;
  o.format = OutputFormat::kJson;
  json e = json::parse(FormatError("not_found", "unknown template 'x'", o));
  EXPECT_EQ(e["error"], "not_found");
  EXPECT_EQ(e["message"], "unknown template 'x'");
  o.format = OutputFormat::kTable;
  EXPECT_EQ(FormatError("not_found", "unknown template 'x'", o), "error: unknown template 'x'\n");
}

// A cloud answer or a message may carry bytes that are not UTF-8 (an excerpt of an
// answer that is not XML, found by fuzzing): the JSON printed stays valid, with
// U+FFFD in their place, instead of the command failing to print anything.
TEST(OutputTest, JsonOutputSurvivesBytesThatAreNotUtf8) {
  OutputOptions o;
  o.format = OutputFormat::kJson;
  std::vector<json> records = Machines();
  records[0]["name"] = "ip-\xff-host";
  json doc = json::parse(FormatRecords(records, "machines", {"machine_id"}, o));
  EXPECT_EQ(doc["machines"][0]["name"], "ip-\xef\xbf\xbd-host");
  doc = json::parse(FormatError("cloud", "answer was caf\xe9", o));
  EXPECT_EQ(doc["message"], "answer was caf\xef\xbf\xbd");
  EXPECT_EQ(DumpJson(json{{"m", "\x87"}}), "{\"m\":\"\xef\xbf\xbd\"}");
}

}  // namespace
}  // namespace orb
