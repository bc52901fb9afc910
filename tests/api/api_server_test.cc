// `orb serve` as a client sees it: a real server process (the orb binary) against
// moto, driven over HTTP with libcurl (orb's own HttpClient). Probes, the REST
// resources, HostFactory's five operations over HTTP, hostile input, slow clients,
// and a graceful stop on SIGTERM.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/serve_harness.h"
#include "hostfactory/hf_harness.h"
#include "provider/aws/http_client.h"
#include "support/moto_server.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ApiServerTest : public ServeFixture {};

TEST_F(ApiServerTest, ProbesAnswerAndUnknownRoutesAreJsonErrors) {
  Start();
  HttpResponse health = Get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health).value("status", ""), "ok") << health.body;
  EXPECT_EQ(health.Header("content-type"), "application/json");
  EXPECT_EQ(Get("/livez").status, 200);
  HttpResponse ready = Get("/readyz");
  EXPECT_EQ(ready.status, 200) << "[the store is readable and writable] " << ready.body;
  ExpectError(Get("/api/v1/nothing-here"), 404, "no route GET /api/v1/nothing-here");
  EXPECT_NE(server_->Out().find("listening on http://127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << server_->Out();
}

TEST_F(ApiServerTest, TemplatesAreListedAndShownOrNamedWhenUnknown) {
  Start();
  HttpResponse list = Get("/api/v1/templates");
  ASSERT_EQ(list.status, 200) << list.body;
  bool found = false;
  const json templates = Body(list);
  for (const json& t : templates["templates"]) {
    found = found || t.value("template_id", "") == "OnDemand-Micro";
  }
  EXPECT_TRUE(found) << list.body;
  HttpResponse one = Get("/api/v1/templates/OnDemand-Micro");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Body(one).value("template_id", ""), "OnDemand-Micro");
  ExpectError(Get("/api/v1/templates/No-Such"), 404, "No-Such");
}

TEST_F(ApiServerTest, MachinesAreRequestedPolledAndReturnedOverRest) {
  Start();
  HttpResponse created =
      Post("/api/v1/machines/request", {{"template_id", "OnDemand-Micro"}, {"count", 2}});
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = Body(created).value("request_id", "");
  ASSERT_EQ(id.rfind("req-", 0), 0u) << created.body;
  json done = WaitTerminal(id);
  ASSERT_EQ(done.value("status", ""), "complete") << done.dump();
  ASSERT_EQ(done["machines"].size(), 2u) << done.dump();

  HttpResponse shown = Get("/api/v1/requests/" + id);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(Body(shown)["machines"].size(), 2u) << "[a request shows its machines]";
  std::vector<std::string> machine_ids;
  for (const json& m : done["machines"]) machine_ids.push_back(m.value("machine_id", ""));
  HttpResponse machine = Get("/api/v1/machines/" + machine_ids[0]);
  ASSERT_EQ(machine.status, 200) << machine.body;
  EXPECT_EQ(Body(machine).value("request_id", ""), id);
  HttpResponse listed = Get("/api/v1/requests?open=false&limit=5");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_FALSE(Body(listed)["requests"].empty());

  HttpResponse ret = Post("/api/v1/machines/return", {{"machine_ids", machine_ids}});
  ASSERT_EQ(ret.status, 202) << ret.body;
  const std::string ret_id = Body(ret).value("request_id", "");
  ASSERT_EQ(ret_id.rfind("ret-", 0), 0u) << ret.body;
  EXPECT_EQ(WaitTerminal(ret_id).value("status", ""), "complete");
  for (const auto& [iid, inst] : cloud_->InstancesById(machine_ids)) {
    EXPECT_TRUE(inst.state == "terminated" || inst.state == "shutting-down")
        << "[returned over REST means terminated in the cloud] " << iid << " " << inst.state;
  }
  // The request created over HTTP was acknowledged once its answer was sent: the
  // reconciler will not take it for abandoned.
  OrbOutcome shown_cli = RunOrb({"requests", "show", id, "--format", "json"}, sb_->env(),
                                sb_->root());
  EXPECT_EQ(shown_cli.code, 0) << shown_cli.err;
}

TEST_F(ApiServerTest, HostFactoryOperationsOverHttpAnswerWhatTheScriptsAnswer) {
  Start();
  HttpResponse templates = Send("POST", "/api/v1/hostfactory/getAvailableTemplates", "{}");
  ASSERT_EQ(templates.status, 200) << templates.body;
  HfCallResult script = sb_->Call(kGetAvailableTemplates, "{}");
  ASSERT_TRUE(script.json_ok) << script.Describe();
  EXPECT_EQ(Body(templates), script.doc) << "[the same document as the script]";

  HttpResponse created = Post("/api/v1/hostfactory/requestMachines",
                              {{"template", {{"templateId", "OnDemand-Micro"}, {"machineCount", 1}}}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = Body(created).value("requestId", "");
  ASSERT_EQ(id.rfind("req-", 0), 0u) << created.body;
  json status;
  for (int i = 0; i < 150; ++i) {
    HttpResponse r = Post("/api/v1/hostfactory/getRequestStatus", {{"requests", {{{"requestId", id}}}}});
    ASSERT_EQ(r.status, 200) << r.body;
    status = Body(r)["requests"][0];
    if (status.value("status", "") != "running") break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(status.value("status", ""), "complete") << status.dump();
  ASSERT_EQ(status["machines"].size(), 1u);
  HttpResponse returned = Post(
      "/api/v1/hostfactory/requestReturnMachines",
      {{"machines", {{{"name", status["machines"][0]["name"]},
                      {"machineId", status["machines"][0]["machineId"]}}}}});
  EXPECT_EQ(returned.status, 200) << returned.body;
  EXPECT_EQ(Body(returned).value("requestId", "").rfind("ret-", 0), 0u) << returned.body;
  EXPECT_EQ(Post("/api/v1/hostfactory/getReturnRequests", json::object()).status, 200);

  // A bad HostFactory body: 400 and HostFactory's {"message"} shape.
  HttpResponse bad = Send("POST", "/api/v1/hostfactory/requestMachines", "{not json");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(Body(bad).value("message", "").find("not valid JSON"), std::string::npos) << bad.body;
}

TEST_F(ApiServerTest, HostileInputGetsClear4xxAndTheServerKeepsServing) {
  Start();
  struct Case {
    std::string method, path, body, type;
    int status;
    std::string words;
  };
  const std::string huge(2 * 1024 * 1024, 'x');
  const std::vector<Case> cases = {
      {"POST", "/api/v1/machines/request", "{not json", "application/json", 400, "not valid JSON"},
      {"POST", "/api/v1/machines/request", "[1,2]", "application/json", 400, "must be a JSON object"},
      {"POST", "/api/v1/machines/request", R"({"template_id":"OnDemand-Micro","count":"2"})",
       "application/json", 400, "'count'"},
      {"POST", "/api/v1/machines/request", R"({"template_id":"OnDemand-Micro","count":0})",
       "application/json", 400, "'count'"},
      {"POST", "/api/v1/machines/request",
       R"({"template_id":"OnDemand-Micro","count":99999999999999999999})", "application/json",
       400, "'count'"},
      {"POST", "/api/v1/machines/request", R"({"template_id":7,"count":1})", "application/json",
       400, "'template_id'"},
      {"POST", "/api/v1/machines/request", R"({"template_id":"OnDemand-Micro","count":1,"x":1})",
       "application/json", 400, "unknown field 'x'"},
      {"POST", "/api/v1/machines/request", R"({"template_id":"No-Such","count":1})",
       "application/json", 404, "No-Such"},
      {"POST", "/api/v1/machines/request", "template_id=a", "application/x-www-form-urlencoded",
       400, "Content-Type: application/json"},
      {"POST", "/api/v1/requests/status", R"({"request_ids":[1]})", "application/json", 400,
       "'request_ids'"},
      {"POST", "/api/v1/requests/status", R"({"request_ids":[]})", "application/json", 400,
       "'request_ids'"},
      {"POST", "/api/v1/machines/return", R"({"machine_ids":"i-1"})", "application/json", 400,
       "'machine_ids'"},
      {"POST", "/api/v1/requests/status", huge, "application/json", 413, "max_body_bytes"},
      {"GET", "/api/v1/requests/..%2F..%2F..%2Fetc%2Fpasswd", "", "", 404, "no route"},
      {"GET", "/api/v1/requests/req-..%5C..%5Cetc", "", "", 404, "unknown request"},
      {"GET", "/api/v1/machines/%00i-1", "", "", 404, ""},
      {"GET", "/api/v1/requests?limit=-1", "", "", 400, "'limit'"},
      {"GET", "/api/v1/requests?limit=99999999999999", "", "", 400, "'limit'"},
      {"GET", "/api/v1/requests?status=sideways", "", "", 400, "'status'"},
      {"DELETE", "/api/v1/requests", "", "", 405, "allowed: GET"},
      {"DELETE", "/api/v1/nothing-here", "", "", 404, "no route"},
      {"GET", "/api/v1/requests?open=maybe", "", "", 400, "'open'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path + " " + c.body.substr(0, 80));
    ExpectError(Send(c.method, c.path, c.body, c.type), c.status, c.words);
  }
  EXPECT_EQ(Get("/health").status, 200) << "[the server keeps serving]";
  OrbOutcome requests = RunOrb({"requests", "list", "--format", "json"}, sb_->env(), sb_->root());
  EXPECT_EQ(requests.code, 0) << requests.err;
  EXPECT_EQ(json::parse(requests.out, nullptr, false).dump().find("req-"), std::string::npos)
      << "[no hostile call created a request] " << requests.out;
}

TEST_F(ApiServerTest, SlowClientsDoNotStopTheServerServingOthers) {
  Start();
  // More stalled clients than worker threads, each sending half a request line and
  // then nothing (slowloris).
  std::vector<int> stalled;
  for (int i = 0; i < 12; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const char partial[] = "GET /health HTTP/1.1\r\nHost: x";
    ASSERT_GT(::send(fd, partial, sizeof partial - 1, 0), 0);
    stalled.push_back(fd);
  }
  const auto start = std::chrono::steady_clock::now();
  HttpRequest r;
  r.url = base_ + "/health";
  r.timeout_ms = 30000;
  HttpResponse h = client_.Send(r);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(h.status, 200) << "[a normal client is served once the stalled ones time out]";
  EXPECT_LT(waited, 20.0) << "[stalled clients are dropped after server.read_timeout_sec]";
  for (int fd : stalled) ::close(fd);
  EXPECT_EQ(Get("/health").status, 200);
}

TEST_F(ApiServerTest, ANonLoopbackAddressIsRefusedUntilAuthenticationExists) {
  OrbOutcome o = RunOrb({"serve", "--host", "0.0.0.0"}, sb_->env(), sb_->root());
  EXPECT_EQ(o.code, 1) << o.out << o.err;
  EXPECT_NE(o.err.find("not a loopback address"), std::string::npos) << o.err;
}

TEST_F(ApiServerTest, APortInUseIsAClearError) {
  Start();
  OrbOutcome o = RunOrb({"serve"}, sb_->env(), sb_->root());  // the same port
  EXPECT_EQ(o.code, 1) << o.out << o.err;
  EXPECT_NE(o.err.find("cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << o.err;
}

}  // namespace
}  // namespace orb::testing
