#include "hostfactory/hf_wire.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace orb {
namespace {

using json = nlohmann::json;

std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    return e.what();
  }
  return "";
}

TEST(HfWireTest, MachineRequest) {
  HfMachineRequest r = ParseHfMachineRequest(
      json::parse(R"({"template": {"templateId": "T-1", "machineCount": 3, "extra": 1},
                      "rc_account": "default", "userData": {}})"));
  EXPECT_EQ(r.template_id, "T-1");
  EXPECT_EQ(r.machine_count, 3);
  EXPECT_EQ(ParseHfMachineRequest(json::parse(
                R"({"template": {"templateId": "T", "machineCount": "4"}})")).machine_count, 4);
}

TEST(HfWireTest, MachineRequestErrorsNameTheField) {
  auto bad = [](const char* text) {
    return ErrorOf([&] { ParseHfMachineRequest(json::parse(text)); });
  };
  EXPECT_NE(bad("[]").find("\"template\""), std::string::npos);
  EXPECT_NE(bad(R"({"template": 5})").find("\"template\""), std::string::npos);
  EXPECT_NE(bad(R"({"template": {"machineCount": 1}})").find("templateId"), std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": 7, "machineCount": 1}})").find("templateId"),
            std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": "T"}})").find("machineCount"), std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": "T", "machineCount": "ten"}})").find("ten"),
            std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": "T", "machineCount": 0}})").find("at least 1"),
            std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": "T", "machineCount": -3}})").find("at least 1"),
            std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": "T", "machineCount": 2.5}})").find("whole"),
            std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": "T", "machineCount": 1e12}})").find("too large"),
            std::string::npos);
  // Caught by the hf_input fuzz target: a float beyond long long was converted first
  // (undefined behaviour).
  EXPECT_NE(bad(R"({"template": {"templateId": "T", "machineCount": 1e300}})").find("too large"),
            std::string::npos);
  EXPECT_NE(bad(R"({"template": {"templateId": "T", "machineCount": -1e300}})").find("too large"),
            std::string::npos);
}

TEST(HfWireTest, RequestIdsAsListOrSingleObject) {
  EXPECT_EQ(ParseHfRequestIds(json::parse(
                R"({"requests": [{"requestId": "req-1"}, {"requestId": "ret-2"},
                                 {"requestId": "req-1"}]})")),
            (std::vector<std::string>{"req-1", "ret-2"}));
  EXPECT_EQ(ParseHfRequestIds(json::parse(R"({"requests": {"requestId": "req-9"}})")),
            std::vector<std::string>{"req-9"});
  EXPECT_TRUE(ParseHfRequestIds(json::parse(R"({"requests": []})")).empty());
  EXPECT_NE(ErrorOf([] { ParseHfRequestIds(json::parse(R"({"requests": "req-1"})")); }),
            "");
  EXPECT_NE(ErrorOf([] { ParseHfRequestIds(json::parse(R"({"requests": [{}]})")); })
                .find("requestId"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { ParseHfRequestIds(json::parse(R"({})")); }), "");
}

TEST(HfWireTest, MachineRefs) {
  auto refs = ParseHfMachineRefs(
      json::parse(R"({"machines": [{"name": "ip-1", "machineId": "i-1"}, {"name": "ip-2"},
                                   {"machineId": "i-3"}]})"),
      false);
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[1].name, "ip-2");
  EXPECT_EQ(refs[2].machine_id, "i-3");
  EXPECT_EQ(ParseHfMachineRefs(json::parse(R"({"machines": {"name": "ip-1"}})"), false).size(),
            1u);
  EXPECT_TRUE(ParseHfMachineRefs(json::parse("{}"), true).empty());
  EXPECT_NE(ErrorOf([] { ParseHfMachineRefs(json::parse(R"({"machines": []})"), false); }), "");
  EXPECT_NE(ErrorOf([] { ParseHfMachineRefs(json::parse(R"({"machines": [{}]})"), false); })
                .find("machines[0]"),
            std::string::npos);
}

TEST(HfWireTest, StatusOutputUsesTheResultOfTheRequestsKind) {
  Machine m;
  m.machine_id = "i-1";
  m.name = "ip-10-0-0-1.ec2.internal";
  m.private_ip = "10.0.0.1";
  m.state = MachineState::kTerminated;
  m.launch_time = 1734619942;
  m.acquire_result = MachineResult::kSucceed;
  m.return_result = MachineResult::kSucceed;
  Request ret;
  ret.request_id = "ret-1";
  ret.kind = RequestKind::kReturn;
  ret.status = RequestStatus::kComplete;
  Request acq;
  acq.request_id = "req-1";
  acq.status = RequestStatus::kCompleteWithError;
  Machine failed = m;
  failed.machine_id = "i-2";
  failed.acquire_result = MachineResult::kFail;
  auto doc = FormatHfRequestStatuses({{ret, {m}, ""}, {acq, {failed}, ""}});
  const auto& first = doc["requests"][0];
  EXPECT_EQ(first["requestId"], "ret-1");
  EXPECT_EQ(first["status"], "complete");
  EXPECT_EQ(first["machines"][0]["result"], "succeed");
  EXPECT_EQ(first["machines"][0]["status"], "terminated");
  EXPECT_EQ(first["machines"][0]["privateIpAddress"], "10.0.0.1");
  EXPECT_EQ(first["machines"][0]["launchtime"], 1734619942);
  const auto& second = doc["requests"][1];
  EXPECT_EQ(second["status"], "complete_with_error");
  EXPECT_EQ(second["machines"][0]["result"], "fail");
  EXPECT_FALSE(second["machines"][0]["message"].get<std::string>().empty())
      << "a failed machine always says why";
}

TEST(HfWireTest, ReturnCandidatesAndCreatedAnswers) {
  auto doc = FormatHfReturnCandidates({{"ip-1", "i-1", 120}});
  EXPECT_EQ(doc["status"], "complete");
  EXPECT_EQ(doc["requests"][0]["machine"], "ip-1");
  EXPECT_EQ(doc["requests"][0]["machineId"], "i-1");
  EXPECT_EQ(doc["requests"][0]["gracePeriod"], 120);
  auto created = FormatHfRequestCreated("req-1", "ok");
  EXPECT_EQ(created.dump(), R"({"requestId":"req-1","message":"ok"})");
  EXPECT_EQ(FormatHfFailure("bad").dump(), R"({"message":"bad"})");
}

TEST(HfWireTest, TemplatesPassProviderKeysThrough) {
  Template t;
  t.template_id = "T";
  t.max_number = 5;
  t.attributes = {{"type", "String", "X86_64"}, {"ncpus", "Numeric", "2"}};
  t.raw = nlohmann::ordered_json::parse(
      R"({"templateId": "T", "maxNumber": 5, "vmType": "m5.large", "customKey": {"a": 1}})");
  auto doc = FormatHfTemplates({t});
  const auto& out = doc["templates"][0];
  EXPECT_EQ(out["templateId"], "T");
  EXPECT_EQ(out["maxNumber"], 5);
  EXPECT_EQ(out["attributes"]["ncpus"], json::array({"Numeric", "2"}));
  EXPECT_EQ(out["vmType"], "m5.large");
  EXPECT_EQ(out["customKey"]["a"], 1);
  EXPECT_FALSE(doc["message"].get<std::string>().empty());
}

}  // namespace
}  // namespace orb
