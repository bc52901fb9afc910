// The MCP protocol core, driven in-process: JSON-RPC checks, initialize and version
// negotiation, tools (schemas, results, errors, dry runs, read-only), resources with
// subscriptions, prompts with live data. Nothing here reaches AWS: the tools that would
// are run as dry runs or on their error paths (the transports' SDK tests run real
// calls against moto).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/broker.h"
#include "config/config_loader.h"
#include "mcp/mcp_server.h"
#include "orb/version.h"
#include "provider/aws/aws_call_observer.h"

namespace orb::mcp {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSecret = "Sup3rS3cretKeyValueForTests";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "orb-mcp-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const char* const kTemplates = R"({
  "templates": [
    {"templateId": "Small-OnDemand", "maxNumber": 5000, "imageId": "ami-0123456789abcdef0",
     "vmType": "t3.micro", "subnetId": "subnet-0123456789abcdef0"},
    {"templateId": "Fleet-Spot", "maxNumber": 20, "imageId": "ami-0123456789abcdef0",
     "vmTypes": {"c5.large": 1, "c5.xlarge": 2}, "subnetId": "subnet-0123456789abcdef0",
     "providerApi": "EC2Fleet", "fleetType": "instant", "priceType": "spot"}
  ]
})";

class McpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(McpOptions options) {
    fs::create_directories(home_.path() / "conf");
    fs::create_directories(home_.path() / "work");
    fs::create_directories(home_.path() / "logs");
    std::ofstream(home_.path() / "conf" / "templates.json") << kTemplates;
    std::map<std::string, std::string> env;
    env["HOME"] = home_.path().string();
    env["ORB_WORK_DIR"] = (home_.path() / "work").string();
    env["ORB_CONF_DIR"] = (home_.path() / "conf").string();
    env["ORB_LOG_FILE"] = (home_.path() / "logs" / "orb.log").string();
    env["ORB_AWS_REGION"] = "us-east-1";
    env["ORB_AWS_ENDPOINT_URL"] = "http://127.0.0.1:9";  // never reached by these tests
    env["ORB_AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
    env["ORB_AWS_SECRET_ACCESS_KEY"] = kSecret;
    ConfigInputs inputs;
    inputs.environment = env;
    config_ = std::make_shared<const Config>(LoadConfig(inputs));
    ASSERT_FALSE(config_->HasErrors());
    options.observe_aws_calls = false;
    server_ = std::make_unique<McpServer>(config_, options);
    session_ = McpSession{};
  }

  json Send(const json& message) {
    std::optional<json> r = server_->Handle(session_, message);
    return r ? *r : json();
  }

  json Request(const std::string& method, json params = json::object()) {
    return Send(json{{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", params}});
  }

  json Initialize(const std::string& version = "2025-11-25") {
    return Request("initialize", json{{"protocolVersion", version},
                                      {"capabilities", json::object()},
                                      {"clientInfo", {{"name", "test"}, {"version", "1"}}}});
  }

  // The result of a tools/call (fails the test on a JSON-RPC error).
  json Tool(const std::string& name, json args = json::object()) {
    json r = Request("tools/call", json{{"name", name}, {"arguments", args}});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    return r.value("result", json::object());
  }

  // The JSON-RPC error of a call that must fail.
  json Error(const json& response) {
    EXPECT_TRUE(response.contains("error")) << response.dump();
    return response.value("error", json::object());
  }

  std::string Text(const json& result) { return result["content"][0]["text"].get<std::string>(); }

  // A running acquire request of Fleet-Spot with two machines, one of them in a fleet.
  void SeedRequest() {
    Broker b(*config_);
    orb::Request r;
    r.request_id = "req-00000000-0000-4000-8000-000000000001";
    r.template_id = "Fleet-Spot";
    r.provider_name = b.DefaultProviderName();
    r.requested_count = 2;
    r.launch_state = LaunchState::kSubmitted;
    r.created_at = r.updated_at = 1000;
    b.store().InsertRequest(r);
    for (const char* id : {"i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2"}) {
      Machine m;
      m.machine_id = id;
      m.name = std::string("ip-10-0-0-") + id[18] + ".ec2.internal";
      m.request_id = r.request_id;
      m.template_id = "Fleet-Spot";
      m.provider_name = r.provider_name;
      m.state = MachineState::kRunning;
      m.cloud_host_id = id[18] == '1' ? "fleet-0123" : "";
      m.created_at = m.updated_at = 1000;
      b.store().InsertMachine(m);
    }
  }

  TempDir home_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<McpServer> server_;
  McpSession session_;
  int id_ = 0;
};

TEST_F(McpServerTest, InitializeNegotiatesTheVersion) {
  json r = Initialize("2025-11-25");
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(r["result"]["serverInfo"]["name"], "orb");
  EXPECT_EQ(r["result"]["serverInfo"]["title"], "Open Resource Broker");
  EXPECT_EQ(r["result"]["serverInfo"]["version"], ORB_VERSION);
  EXPECT_EQ(r["result"]["capabilities"]["resources"]["subscribe"], true);
  EXPECT_TRUE(r["result"]["capabilities"].contains("logging"));
  EXPECT_FALSE(r["result"]["instructions"].get<std::string>().empty());
  EXPECT_TRUE(session_.initialized);
  EXPECT_EQ(session_.client_info["name"], "test");

  EXPECT_EQ(Initialize("2025-06-18")["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(Initialize("2025-03-26")["result"]["protocolVersion"], "2025-03-26");
  EXPECT_EQ(Initialize("1999-01-01")["result"]["protocolVersion"], kProtocolVersions.front());
  EXPECT_EQ(Error(Request("initialize", json::object()))["code"], -32602);
}

TEST_F(McpServerTest, RefusesRequestsBeforeInitialize) {
  json e = Error(Request("tools/list"));
  EXPECT_EQ(e["code"], -32600);
  EXPECT_NE(e["message"].get<std::string>().find("not initialized"), std::string::npos);
  // ping is always answered.
  json ping = Request("ping");
  EXPECT_EQ(ping["result"], json::object());
  // Notifications get no answer.
  EXPECT_FALSE(server_->Handle(session_, json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}));
}

TEST_F(McpServerTest, InvalidMessages) {
  Initialize();
  EXPECT_EQ(Error(Send(json::array({json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}})))["code"], -32600);
  EXPECT_EQ(Error(Send(json{{"id", 1}, {"method", "ping"}}))["code"], -32600);
  EXPECT_EQ(Error(Send(json{{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}}))["code"], -32600);
  json bad_id = Send(json{{"jsonrpc", "2.0"}, {"id", json::array()}, {"method", "ping"}});
  EXPECT_EQ(Error(bad_id)["code"], -32600);
  EXPECT_TRUE(bad_id["id"].is_null());
  EXPECT_EQ(Error(Send(json{{"jsonrpc", "2.0"}, {"id", true}, {"method", "ping"}}))["code"], -32600);
  EXPECT_EQ(Error(Send(json("text")))["code"], -32600);
  // A response from the client is ignored.
  EXPECT_FALSE(server_->Handle(session_, json{{"jsonrpc", "2.0"}, {"id", 7}, {"result", json::object()}}));
  // String ids are echoed.
  json r = Send(json{{"jsonrpc", "2.0"}, {"id", "abc"}, {"method", "ping"}});
  EXPECT_EQ(r["id"], "abc");
  EXPECT_EQ(McpServer::ParseError("unexpected end")["error"]["code"], -32700);
}

TEST_F(McpServerTest, UnknownMethodAndLogLevel) {
  Initialize();
  json e = Error(Request("frobnicate/now"));
  EXPECT_EQ(e["code"], -32601);
  EXPECT_NE(e["message"].get<std::string>().find("frobnicate/now"), std::string::npos);
  EXPECT_EQ(Request("logging/setLevel", json{{"level", "error"}})["result"], json::object());
  EXPECT_EQ(session_.log_level, "error");
  json bad = Error(Request("logging/setLevel", json{{"level", "loud"}}));
  EXPECT_EQ(bad["code"], -32602);
  EXPECT_NE(bad["message"].get<std::string>().find("'level'"), std::string::npos);
}

TEST_F(McpServerTest, ToolsListHasEveryToolWithSchemas) {
  Initialize();
  json tools = Request("tools/list")["result"]["tools"];
  const std::set<std::string> expected = {
      "check_provider_health", "list_providers",     "get_provider_config", "get_provider_metrics",
      "list_templates",        "get_template",       "validate_template",   "request_machines",
      "get_request_status",    "list_requests",      "list_return_requests", "return_machines",
      "list_machines",         "get_machine",        "cancel_request"};
  std::set<std::string> names;
  for (const json& t : tools) {
    names.insert(t["name"].get<std::string>());
    EXPECT_EQ(t["inputSchema"]["type"], "object") << t["name"];
    EXPECT_EQ(t["inputSchema"]["additionalProperties"], false) << t["name"];
    EXPECT_EQ(t["outputSchema"]["type"], "object") << t["name"];
    for (const char* hint : {"title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}) {
      EXPECT_TRUE(t["annotations"].contains(hint)) << t["name"] << " " << hint;
    }
    const std::string n = t["name"];
    const bool mutating = n == "request_machines" || n == "return_machines" || n == "cancel_request";
    EXPECT_EQ(t["annotations"]["readOnlyHint"], !mutating) << n;
    if (n == "return_machines" || n == "cancel_request") {
      EXPECT_EQ(t["annotations"]["destructiveHint"], true);
    }
  }
  EXPECT_EQ(names, expected);
  EXPECT_EQ(tools.size(), 15u);
}

TEST_F(McpServerTest, TemplateTools) {
  Initialize();
  json list = Tool("list_templates");
  EXPECT_EQ(list["isError"], false);
  ASSERT_EQ(list["structuredContent"]["templates"].size(), 2u);
  EXPECT_EQ(list["structuredContent"]["templates"][0]["template_id"], "Small-OnDemand");
  EXPECT_EQ(json::parse(Text(list)), list["structuredContent"]);

  json one = Tool("get_template", {{"template_id", "Fleet-Spot"}});
  EXPECT_EQ(one["structuredContent"]["template"]["template_id"], "Fleet-Spot");

  json missing = Tool("get_template", {{"template_id", "Nope"}});
  EXPECT_EQ(missing["isError"], true);
  EXPECT_FALSE(missing.contains("structuredContent"));
  EXPECT_NE(Text(missing).find("Nope"), std::string::npos);

  json valid = Tool("validate_template",
                    {{"template", {{"templateId", "New-One"}, {"maxNumber", 3},
                                   {"imageId", "ami-0123456789abcdef0"}, {"vmType", "m5.large"},
                                   {"subnetId", "subnet-0123456789abcdef0"}}}});
  EXPECT_EQ(valid["isError"], false) << Text(valid);
  EXPECT_EQ(valid["structuredContent"]["valid"], true);
  EXPECT_EQ(valid["structuredContent"]["written"], false);
  // Nothing was written.
  EXPECT_EQ(Tool("list_templates")["structuredContent"]["templates"].size(), 2u);

  json invalid = Tool("validate_template", {{"template", {{"templateId", "Bad"}, {"maxNumber", "ten"}}}});
  EXPECT_EQ(invalid["isError"], true);
}

TEST_F(McpServerTest, RequestAndMachineTools) {
  Initialize();
  json none = Tool("list_requests");
  EXPECT_EQ(none["structuredContent"]["requests"], json::array());
  SeedRequest();
  json open = Tool("list_requests", {{"open", true}, {"kind", "acquire"}, {"limit", 5}});
  ASSERT_EQ(open["structuredContent"]["requests"].size(), 1u);
  json machines = Tool("list_machines", {{"active", true}});
  EXPECT_EQ(machines["structuredContent"]["machines"].size(), 2u);
  json m = Tool("get_machine", {{"machine_id", "i-0aaaaaaaaaaaaaaa1"}});
  EXPECT_EQ(m["structuredContent"]["machine"]["machine_id"], "i-0aaaaaaaaaaaaaaa1");
  json unknown = Tool("get_machine", {{"machine_id", "i-0ffffffffffffffff"}});
  EXPECT_EQ(unknown["isError"], true);
  EXPECT_NE(Text(unknown).find("not_found"), std::string::npos);
}

TEST_F(McpServerTest, RequestMachinesDryRunChangesNothing) {
  Initialize();
  json r = Tool("request_machines", {{"template_id", "Small-OnDemand"}, {"count", 2500}, {"dry_run", true}});
  ASSERT_EQ(r["isError"], false) << Text(r);
  const json& s = r["structuredContent"];
  EXPECT_EQ(s["dry_run"], true);
  EXPECT_EQ(s["provider_api"], "RunInstances");
  EXPECT_EQ(s["price_type"], "ondemand");
  ASSERT_EQ(s["aws_calls"].size(), 1u);
  EXPECT_NE(s["aws_calls"][0].get<std::string>().find("ec2:RunInstances x 3"), std::string::npos);
  EXPECT_NE(s["note"].get<std::string>().find("no request is recorded"), std::string::npos);

  json fleet = Tool("request_machines", {{"template_id", "Fleet-Spot"}, {"count", 4}, {"dry_run", true}});
  const std::string calls = fleet["structuredContent"]["aws_calls"].dump();
  EXPECT_NE(calls.find("ec2:CreateFleet (type instant"), std::string::npos) << calls;
  EXPECT_EQ(fleet["structuredContent"]["price_type"], "spot");

  json over = Tool("request_machines", {{"template_id", "Fleet-Spot"}, {"count", 21}, {"dry_run", true}});
  EXPECT_EQ(over["isError"], true);
  json unknown = Tool("request_machines", {{"template_id", "Nope"}, {"count", 1}, {"dry_run", true}});
  EXPECT_EQ(unknown["isError"], true);

  EXPECT_EQ(Tool("list_requests")["structuredContent"]["requests"], json::array());
}

TEST_F(McpServerTest, ReturnAndCancelDryRuns) {
  Initialize();
  SeedRequest();
  json ret = Tool("return_machines",
                  {{"machine_ids", {"i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "i-0bbbbbbbbbbbbbbbb"}},
                   {"dry_run", true}});
  ASSERT_EQ(ret["isError"], false) << Text(ret);
  EXPECT_EQ(ret["structuredContent"]["machines"].size(), 2u);
  EXPECT_EQ(ret["structuredContent"]["unknown"], json::array({"i-0bbbbbbbbbbbbbbbb"}));
  const std::string calls = ret["structuredContent"]["aws_calls"].dump();
  EXPECT_NE(calls.find("ec2:ModifyFleet (fleet-0123"), std::string::npos) << calls;
  EXPECT_NE(calls.find("ec2:TerminateInstances (1 ids)"), std::string::npos) << calls;

  json cancel = Tool("cancel_request", {{"request_id", "req-00000000-0000-4000-8000-000000000001"},
                                        {"dry_run", true}});
  ASSERT_EQ(cancel["isError"], false) << Text(cancel);
  EXPECT_EQ(cancel["structuredContent"]["groups"], json::array({"fleet-0123"}));
  EXPECT_EQ(cancel["structuredContent"]["machines"].size(), 2u);
  EXPECT_NE(cancel["structuredContent"]["aws_calls"].dump().find("ec2:DeleteFleets (fleet-0123"),
            std::string::npos);
  // Nothing changed: still one open request, no return request.
  EXPECT_EQ(Tool("list_requests", {{"open", true}})["structuredContent"]["requests"].size(), 1u);
  EXPECT_EQ(Tool("list_requests", {{"kind", "return"}})["structuredContent"]["requests"].size(), 0u);

  json unknown = Tool("cancel_request", {{"request_id", "req-nope"}, {"dry_run", true}});
  EXPECT_EQ(unknown["isError"], true);
}

TEST_F(McpServerTest, ReadOnlyRefusesMutations) {
  McpOptions o;
  o.read_only = true;
  Start(o);
  Initialize();
  std::vector<json> notes;
  server_->SetNotifier([&](const McpSession&, const json& m) { notes.push_back(m); });
  json r = Tool("request_machines", {{"template_id", "Small-OnDemand"}, {"count", 1}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(Text(r).find("--read-only: request_machines changes nothing"), std::string::npos) << Text(r);
  EXPECT_EQ(Tool("return_machines", {{"machine_ids", {"i-1"}}})["isError"], true);
  EXPECT_EQ(Tool("cancel_request", {{"request_id", "req-1"}})["isError"], true);
  // A dry run changes nothing: allowed.
  EXPECT_EQ(Tool("request_machines", {{"template_id", "Small-OnDemand"}, {"count", 1}, {"dry_run", true}})["isError"],
            false);
  EXPECT_EQ(Tool("list_requests")["structuredContent"]["requests"], json::array());
  // Each failure was logged to the session at warning.
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0]["method"], "notifications/message");
  EXPECT_EQ(notes[0]["params"]["level"], "warning");
  EXPECT_EQ(notes[0]["params"]["logger"], "orb");
  // Not below the session's level.
  Request("logging/setLevel", json{{"level", "error"}});
  Tool("cancel_request", {{"request_id", "req-1"}});
  EXPECT_EQ(notes.size(), 3u);
}

TEST_F(McpServerTest, ArgumentErrorsNameTheField) {
  Initialize();
  auto message = [&](const std::string& tool, const json& args) {
    json e = Error(Request("tools/call", json{{"name", tool}, {"arguments", args}}));
    EXPECT_EQ(e["code"], -32602) << tool << " " << args.dump();
    return e.value("message", std::string());
  };
  EXPECT_NE(message("get_template", json::object()).find("'template_id'"), std::string::npos);
  EXPECT_NE(message("get_template", {{"template_id", 3}}).find("'template_id'"), std::string::npos);
  EXPECT_NE(message("list_templates", {{"extra", 1}}).find("'extra'"), std::string::npos);
  EXPECT_NE(message("request_machines", {{"template_id", "Small-OnDemand"}, {"count", "2"}}).find("'count'"),
            std::string::npos);
  EXPECT_NE(message("request_machines", {{"template_id", "Small-OnDemand"}, {"count", 0}}).find("'count'"),
            std::string::npos);
  EXPECT_NE(message("get_request_status", {{"request_ids", json::array()}}).find("'request_ids'"),
            std::string::npos);
  EXPECT_NE(message("get_request_status", {{"request_ids", {"req-1", 2}}}).find("'request_ids[1]'"),
            std::string::npos);
  EXPECT_NE(message("list_requests", {{"status", "done"}}).find("'status'"), std::string::npos);
  EXPECT_EQ(message("no_such_tool", json::object()), "unknown tool: no_such_tool");
  json e = Error(Request("tools/call", json{{"arguments", json::object()}}));
  EXPECT_NE(e["message"].get<std::string>().find("'name'"), std::string::npos);
}

TEST_F(McpServerTest, ProviderTools) {
  Initialize();
  json list = Tool("list_providers");
  ASSERT_EQ(list["structuredContent"]["providers"].size(), 1u);
  EXPECT_EQ(list["structuredContent"]["providers"][0]["region"], "us-east-1");
  json conf = Tool("get_provider_config");
  ASSERT_EQ(conf["isError"], false) << Text(conf);
  const std::string text = Text(conf);
  EXPECT_EQ(text.find(kSecret), std::string::npos);
  EXPECT_NE(text.find("aws.secret_access_key"), std::string::npos);
  EXPECT_NE(text.find(std::string(kRedacted)), std::string::npos);
  for (const json& s : conf["structuredContent"]["settings"]) {
    const std::string key = s["key"];
    EXPECT_TRUE(key.rfind("aws.", 0) == 0 || key.rfind("provider.", 0) == 0) << key;
  }
  EXPECT_EQ(Tool("get_provider_config", {{"name", "elsewhere"}})["isError"], true);
  EXPECT_EQ(Tool("check_provider_health", {{"name", "elsewhere"}})["isError"], true);

  server_->CountAwsCall(AwsCallRecord{"ec2", "DescribeInstances", "ok", 0.25, 2, 1});
  json metrics = Tool("get_provider_metrics");
  ASSERT_EQ(metrics["isError"], false) << Text(metrics);
  EXPECT_EQ(metrics["structuredContent"]["aws"]["total_calls"], 1);
  EXPECT_EQ(metrics["structuredContent"]["aws"]["throttled"], 1);
  EXPECT_EQ(metrics["structuredContent"]["aws"]["calls"][0]["action"], "DescribeInstances");
  EXPECT_TRUE(metrics["structuredContent"]["store"].contains("requests"));
}

TEST_F(McpServerTest, Resources) {
  Initialize();
  SeedRequest();
  json list = Request("resources/list")["result"]["resources"];
  std::set<std::string> uris;
  for (const json& r : list) {
    uris.insert(r["uri"].get<std::string>());
    EXPECT_EQ(r["mimeType"], "application/json");
  }
  for (const char* u : {"templates://", "requests://", "machines://", "providers://",
                        "templates://Small-OnDemand", "templates://Fleet-Spot",
                        "requests://req-00000000-0000-4000-8000-000000000001"}) {
    EXPECT_TRUE(uris.count(u)) << u;
  }
  json templates = Request("resources/templates/list")["result"]["resourceTemplates"];
  EXPECT_EQ(templates.size(), 4u);
  EXPECT_EQ(templates[0]["uriTemplate"], "templates://{template_id}");

  json read = Request("resources/read", {{"uri", "templates://"}})["result"]["contents"][0];
  EXPECT_EQ(read["uri"], "templates://");
  EXPECT_EQ(read["mimeType"], "application/json");
  EXPECT_EQ(json::parse(read["text"].get<std::string>())["templates"].size(), 2u);
  json item = Request("resources/read", {{"uri", "requests://req-00000000-0000-4000-8000-000000000001"}});
  json rec = json::parse(item["result"]["contents"][0]["text"].get<std::string>());
  EXPECT_EQ(rec["machines"].size(), 2u);
  json machine = Request("resources/read", {{"uri", "machines://i-0aaaaaaaaaaaaaaa2"}});
  EXPECT_TRUE(machine.contains("result")) << machine.dump();

  json missing = Error(Request("resources/read", {{"uri", "templates://Nope"}}));
  EXPECT_EQ(missing["code"], -32002);
  EXPECT_EQ(missing["message"], "resource not found: templates://Nope");
  EXPECT_EQ(Error(Request("resources/read", {{"uri", "file:///etc/passwd"}}))["code"], -32602);
  EXPECT_EQ(Error(Request("resources/read", json::object()))["code"], -32602);
}

TEST_F(McpServerTest, SubscriptionsNotifyOnlySubscribers) {
  Initialize();
  McpSession other;
  ASSERT_TRUE(server_->Handle(other, json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                                          {"params", {{"protocolVersion", "2025-06-18"}}}}));
  McpSession collection;
  server_->Handle(collection, json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                                   {"params", {{"protocolVersion", "2025-06-18"}}}});
  server_->AddSession(&session_);
  server_->AddSession(&other);
  server_->AddSession(&collection);
  std::vector<std::pair<const McpSession*, json>> sent;
  server_->SetNotifier([&](const McpSession& s, const json& m) { sent.emplace_back(&s, m); });

  EXPECT_EQ(Request("resources/subscribe", {{"uri", "requests://req-1"}})["result"], json::object());
  server_->Handle(collection, json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "resources/subscribe"},
                                   {"params", {{"uri", "requests://"}}}});
  EXPECT_EQ(Error(Request("resources/subscribe", {{"uri", "nope://x"}}))["code"], -32602);

  server_->ResourcesChanged({"requests://req-1"});
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].first, &session_);
  EXPECT_EQ(sent[0].second["method"], "notifications/resources/updated");
  EXPECT_EQ(sent[0].second["params"]["uri"], "requests://req-1");
  EXPECT_EQ(sent[1].first, &collection);

  sent.clear();
  server_->ResourcesChanged({"requests://req-2", "templates://Small-OnDemand"});
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, &collection);

  sent.clear();
  Request("resources/unsubscribe", {{"uri", "requests://req-1"}});
  server_->RemoveSession(&collection);
  server_->ResourcesChanged({"requests://req-1"});
  EXPECT_TRUE(sent.empty());
}

TEST_F(McpServerTest, Prompts) {
  Initialize();
  SeedRequest();
  json prompts = Request("prompts/list")["result"]["prompts"];
  std::set<std::string> names;
  for (const json& p : prompts) names.insert(p["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"provision_infrastructure", "troubleshoot_deployment",
                                          "infrastructure_best_practices"}));

  json p = Request("prompts/get", {{"name", "provision_infrastructure"},
                                   {"arguments", {{"template_id", "Fleet-Spot"}, {"count", "3"}}}});
  ASSERT_TRUE(p.contains("result")) << p.dump();
  EXPECT_EQ(p["result"]["messages"][0]["role"], "user");
  const std::string text = p["result"]["messages"][0]["content"]["text"];
  EXPECT_NE(text.find("Small-OnDemand"), std::string::npos);
  EXPECT_NE(text.find("Fleet-Spot: EC2Fleet"), std::string::npos);
  EXPECT_NE(text.find("Open requests: 1"), std::string::npos);

  std::ofstream(home_.path() / "logs" / "orb.log") << "line one\nrequest failed: capacity\n";
  json t = Request("prompts/get", {{"name", "troubleshoot_deployment"},
                                   {"arguments", {{"request_id", "req-00000000-0000-4000-8000-000000000001"}}}});
  const std::string ttext = t["result"]["messages"][0]["content"]["text"];
  EXPECT_NE(ttext.find("i-0aaaaaaaaaaaaaaa1"), std::string::npos);
  EXPECT_NE(ttext.find("request failed: capacity"), std::string::npos);

  json b = Request("prompts/get", {{"name", "infrastructure_best_practices"}});
  const std::string btext = b["result"]["messages"][0]["content"]["text"];
  EXPECT_NE(btext.find("us-east-1"), std::string::npos);
  EXPECT_NE(btext.find("EC2Fleet / spot 1"), std::string::npos);

  EXPECT_EQ(Error(Request("prompts/get", {{"name", "nope"}}))["code"], -32602);
  json missing = Error(Request("prompts/get", json::object()));
  EXPECT_EQ(missing["code"], -32602);
  EXPECT_NE(missing["message"].get<std::string>().find("'name'"), std::string::npos);
  EXPECT_EQ(Error(Request("prompts/get", {{"name", "provision_infrastructure"},
                                          {"arguments", {{"count", 3}}}}))["code"],
            -32602);
}

}  // namespace
}  // namespace orb::mcp
