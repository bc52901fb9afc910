// The MCP door through the official MCP TypeScript SDK (@modelcontextprotocol/sdk,
// pinned in package.json): moto, a HostFactory sandbox (config + the suite's
// templates, as the REST tests use), then a Node script (tests/mcp/*.mjs) that drives
// `orb mcp serve` over stdio, `orb mcp serve --port P`, or /mcp inside `orb serve`.
// The scripts get the orb binary and the sandbox's environment in ORB_BINARY and
// ORB_SANDBOX_ENV (see tests/mcp/common.mjs); their exit code and output are checked.
//
// "Transport" tests check what the transports do (framing, sessions, Origin, headers,
// the event stream, subscriptions fed by store changes); "AllTools" tests drive every
// tool, resource and prompt against moto and need the protocol core.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/serve_harness.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class McpSdkTest : public ServeFixture {
 protected:
  void SetUp() override {
    if (!fs::exists(ORB_NODE) ||
        !fs::exists(fs::path(ORB_SOURCE_DIR) / "node_modules/@modelcontextprotocol/sdk/package.json")) {
      GTEST_SKIP() << "node or the MCP SDK is missing (tools/setup.sh installs them)";
    }
    ServeFixture::SetUp();
    sb_->env()["ORB_SERVER_EVENTS_POLL_MS"] = "200";  // subscriptions notice changes fast
  }

  // Runs tests/mcp/<script> with node; checks it exits 0 and prints `marker`.
  OrbOutcome RunScript(const std::string& script, const std::string& part, const std::string& url,
                       const std::string& marker) {
    json sandbox_env = json::object();
    for (const auto& [k, v] : sb_->env()) sandbox_env[k] = v;
    std::map<std::string, std::string> env = {
        {"PATH", "/usr/bin:/bin"},
        {"HOME", sb_->home_dir().string()},
        {"ORB_BINARY", ORB_BINARY},
        {"ORB_SANDBOX_ENV", sandbox_env.dump()},
        {"ORB_MCP_SECRET", HfSandbox::SecretKey()},
        {"ORB_MCP_PART", part},
        {"ORB_MCP_URL", url},
        {"NO_COLOR", "1"},
    };
    const fs::path scratch = sb_->root() / ("node-" + script);
    fs::create_directories(scratch);
    OrbOutcome r = RunProgram(ORB_NODE, {(fs::path(ORB_SOURCE_DIR) / "tests/mcp" / script).string()},
                              env, scratch);
    std::cout << "==== node " << script << " (" << part << ", " << r.seconds << " s)\n"
              << r.out << r.err << "====\n";
    EXPECT_EQ(r.code, 0) << "[the client script passed]";
    EXPECT_NE(r.out.find(marker), std::string::npos) << "[it ran to the end: " << marker << "]";
    if (HasFailure()) std::cout << "==== orb's logs\n" << sb_->LogTail(80) << "====\n";
    return r;
  }

  // Starts `orb mcp serve --port P` (as server_, stopped by TearDown with SIGTERM).
  void StartMcpHttp(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--port", std::to_string(port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServeProcess>(sb_->env(), sb_->root(), args,
                                             std::vector<std::string>{"mcp", "serve"});
    for (int i = 0; i < 200; ++i) {
      try {

        if (Get("/mcp").status > 0) return;  // any answer: it listens
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    FAIL() << "orb mcp serve --port did not come up\n" << server_->Out() << server_->Err();
  }

  // Raw JSON-RPC over POST /mcp (the wire format, without the SDK): opens a session.
  std::string OpenSession() {
    HttpResponse r = McpPost("", {{"jsonrpc", "2.0"},
                                  {"id", 1},
                                  {"method", "initialize"},
                                  {"params",
                                   {{"protocolVersion", "2025-11-25"},
                                    {"capabilities", json::object()},
                                    {"clientInfo", {{"name", "raw"}, {"version", "1"}}}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string id = r.Header("mcp-session-id");
    EXPECT_FALSE(id.empty()) << "[initialize opens a session]";
    EXPECT_EQ(McpPost(id, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).status, 202);
    return id;
  }

  HttpResponse McpPost(const std::string& session, const json& message) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) headers.emplace_back("Mcp-Session-Id", session);
    return Send("POST", "/mcp", message.dump(), "application/json", headers);
  }

  // tools/call `name` in `session`: the CallToolResult (empty when the call failed).
  json CallTool(const std::string& session, const std::string& name, json args = json::object()) {
    HttpResponse r = McpPost(session, {{"jsonrpc", "2.0"},
                                       {"id", ++rpc_id_},
                                       {"method", "tools/call"},
                                       {"params", {{"name", name}, {"arguments", args}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    const json doc = Body(r);
    EXPECT_TRUE(doc.contains("result")) << r.body;
    return doc.value("result", json::object());
  }

  // aws.proxy_port as get_provider_config shows it in `session`.
  std::string ProxyPort(const std::string& session) {
    const json result = CallTool(session, "get_provider_config");
    for (const json& setting : result["structuredContent"].value("settings", json::array())) {
      if (setting.value("key", "") == "aws.proxy_port") return setting["value"].dump();
    }
    return "";
  }

  // SIGHUP puts an edited configuration in force for the door's open session, and a
  // broken one is refused with the one in force kept.
  void ExpectSighupReloads() {
    const std::string session = OpenSession();
    ASSERT_EQ(ProxyPort(session), "\"80\"") << "[the default before]";
    sb_->WriteConfig({{"AWS_PROXY_PORT", 3128}});
    server_->Signal(SIGHUP);
    std::string now;
    for (int i = 0; i < 50 && (now = ProxyPort(session)) != "\"3128\""; ++i) {
      std::this_thread::sleep_for(milliseconds(100));
    }
    EXPECT_EQ(now, "\"3128\"") << "[the edited file is in force, in the same session]";
    sb_->WriteConfig({{"AWS_PROXY_PORT", "not a port"}});
    server_->Signal(SIGHUP);
    std::this_thread::sleep_for(milliseconds(500));
    EXPECT_EQ(ProxyPort(session), "\"3128\"") << "[a broken file leaves the one in force]";
    EXPECT_NE(sb_->LogTail(60).find("reload refused"), std::string::npos) << sb_->LogTail(60);
  }

  long long rpc_id_ = 1;
};

TEST_F(McpSdkTest, StdioFramingSurvivesAbuse) {
  RunScript("stdio_framing.mjs", "transport", "", "FRAMING_OK");
}

TEST_F(McpSdkTest, StdioTransport) {
  RunScript("stdio_client.mjs", "transport", "", "MCP_STDIO_OK");
}

TEST_F(McpSdkTest, StandaloneHttpTransport) {
  StartMcpHttp();
  EXPECT_NE(server_->Out().find("listening on http://127.0.0.1:" + std::to_string(port_) + "/mcp"),
            std::string::npos)
      << server_->Out();
  RunScript("http_client.mjs", "transport", base_ + "/mcp", "MCP_HTTP_OK");
}

TEST_F(McpSdkTest, ServeMountsHttpTransport) {
  Start();
  RunScript("http_client.mjs", "transport", base_ + "/mcp", "MCP_HTTP_OK");
  // The REST door is unchanged beside it.
  EXPECT_EQ(Get("/api/v1/templates").status, 200);
}

TEST_F(McpSdkTest, StandaloneHttpRefusesOtherHostsWithoutCredentials) {
  OrbOutcome r = RunOrb({"mcp", "serve", "--port", std::to_string(port_), "--host", "0.0.0.0"},
                        sb_->env(), sb_->root());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("not a loopback address"), std::string::npos) << r.err;
}

TEST_F(McpSdkTest, StdioAndPortExcludeEachOther) {
  OrbOutcome r = RunOrb({"mcp", "serve", "--stdio", "--port", "3000"}, sb_->env(), sb_->root());
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_EQ(r.out, "") << "[stdout stays clean]";
}

TEST_F(McpSdkTest, StdioAllTools) {
  OrbOutcome r = RunScript("stdio_client.mjs", "all", "", "MCP_STDIO_OK");
  EXPECT_NE(r.out.find("MCP_RTT list_templates_ms="), std::string::npos);
}

TEST_F(McpSdkTest, StandaloneHttpAllTools) {
  StartMcpHttp();
  RunScript("http_client.mjs", "all", base_ + "/mcp", "MCP_HTTP_OK");
}

TEST_F(McpSdkTest, ServeMountedAllTools) {
  Start();
  RunScript("http_client.mjs", "all", base_ + "/mcp", "MCP_HTTP_OK");
}

TEST_F(McpSdkTest, SighupReloadsTheMountedDoor) {
  Start();
  ExpectSighupReloads();
}

TEST_F(McpSdkTest, SighupReloadsTheStandaloneDoor) {
  StartMcpHttp();
  ExpectSighupReloads();
}

// Over /mcp in orb serve, every call of a tool that changes something (not a dry run)
// is a line of the audit log, refused and failed ones too; reads are not.
TEST_F(McpSdkTest, MutatingToolCallsAreAudited) {
  const fs::path audit = sb_->root() / "audit.log";
  sb_->env()["ORB_SERVER_AUDIT_LOG_FILE"] = audit.string();
  Start();
  const std::string session = OpenSession();
  CallTool(session, "list_templates");
  const json dry = CallTool(session, "request_machines",
                            {{"template_id", "OnDemand-Micro"}, {"count", 1}, {"dry_run", true}});
  EXPECT_FALSE(dry.value("isError", true)) << dry.dump();
  const json created =
      CallTool(session, "request_machines", {{"template_id", "OnDemand-Micro"}, {"count", 1}});
  ASSERT_FALSE(created.value("isError", true)) << created.dump();
  const std::string request_id = created["structuredContent"].value("request_id", "");
  ASSERT_EQ(request_id.rfind("req-", 0), 0u) << created.dump();
  const json refused = CallTool(session, "cancel_request",
                                {{"request_id", "req-00000000-0000-4000-8000-00000000dead"}});
  EXPECT_TRUE(refused.value("isError", false)) << refused.dump();

  std::vector<json> lines;
  std::istringstream in(ReadWholeFile(audit));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u) << "[the two real mutating calls; no read, no dry run] "
                              << ReadWholeFile(audit);
  EXPECT_EQ(lines[0]["operation"], "tools/call request_machines");
  EXPECT_EQ(lines[0]["outcome"], "ok");
  EXPECT_EQ(lines[0]["request_id"], request_id);
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["path"], "/mcp");
  EXPECT_EQ(lines[0]["principal"], "anonymous");
  EXPECT_EQ(lines[1]["operation"], "tools/call cancel_request");
  EXPECT_EQ(lines[1]["outcome"], "error");
  EXPECT_EQ(lines[1]["request_id"], "req-00000000-0000-4000-8000-00000000dead");
  WaitTerminal(request_id);
}

}  // namespace
}  // namespace orb::testing
