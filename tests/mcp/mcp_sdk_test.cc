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

}  // namespace
}  // namespace orb::testing
