// The REST resources beyond the basics, as a client sees them through a real
// `orb serve` against moto: template editing, cancel, providers, config, storage,
// /metrics, server-sent events (with replay), the background server's pid file,
// SIGHUP reload, TLS, and a prompt stop with streams open.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/serve_harness.h"
#include "api/sse_reader.h"
#include "support/orb_process.h"

namespace orb::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ApiEndpointsTest : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    sb_->env()["ORB_SERVER_EVENTS_POLL_MS"] = "200";
    sb_->env()["ORB_SERVER_STREAM_POLL_SEC"] = "1";
  }

  // A RunInstances template of moto's image and subnet.
  json MicroTemplate(const std::string& id) {
    return {{"templateId", id},          {"maxNumber", 5},
            {"providerApi", "RunInstances"}, {"priceType", "ondemand"},
            {"vmType", "t3.micro"},      {"imageId", cloud_->ImageId()},
            {"subnetId", cloud_->SubnetId()}};
  }

  std::string RequestMachines(const std::string& template_id, int count) {
    HttpResponse created =
        Post("/api/v1/machines/request", {{"template_id", template_id}, {"count", count}});
    EXPECT_EQ(created.status, 202) << created.body;
    return Body(created).value("request_id", "");
  }
};

TEST_F(ApiEndpointsTest, TemplatesAreCreatedValidatedUpdatedAndDeleted) {
  Start();
  // Validate only: nothing written.
  HttpResponse v = Post("/api/v1/templates/validate", MicroTemplate("Rest-Micro"));
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(Get("/api/v1/templates/Rest-Micro").status, 404) << "[validate writes nothing]";
  ExpectError(Post("/api/v1/templates/validate", {{"templateId", "Bad"}, {"maxNumber", "many"}}),
              400, "maxNumber");
  HttpResponse whole = Send("POST", "/api/v1/templates/validate", "");
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(Body(whole).value("valid", false), true) << whole.body;

  HttpResponse created = Post("/api/v1/templates", MicroTemplate("Rest-Micro"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created).value("written", false), true);
  HttpResponse shown = Get("/api/v1/templates/Rest-Micro");
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(Body(shown).value("max_number", 0), 5);
  ExpectError(Post("/api/v1/templates", MicroTemplate("Rest-Micro")), 409, "Rest-Micro");

  json changed = MicroTemplate("Rest-Micro");
  changed["maxNumber"] = 7;
  HttpResponse updated = Send("PUT", "/api/v1/templates/Rest-Micro", changed.dump());
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Body(Get("/api/v1/templates/Rest-Micro")).value("max_number", 0), 7);
  ExpectError(Send("PUT", "/api/v1/templates/No-Such", MicroTemplate("No-Such").dump()), 404,
              "No-Such");
  ExpectError(Send("POST", "/api/v1/templates", "[1,2]"), 400, "one template object");

  HttpResponse deleted = Send("DELETE", "/api/v1/templates/Rest-Micro", "");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(Get("/api/v1/templates/Rest-Micro").status, 404);
  ExpectError(Send("DELETE", "/api/v1/templates/Rest-Micro", ""), 404, "Rest-Micro");
  EXPECT_EQ(Get("/api/v1/templates/OnDemand-Micro").status, 200) << "[the others stay]";
}

TEST_F(ApiEndpointsTest, CancelGivesBackWhatAnOpenRequestLaunched) {
  Start();
  const std::string id = RequestMachines("OnDemand-Micro", 2);
  ASSERT_FALSE(id.empty());
  HttpResponse canceled = Post("/api/v1/requests/" + id + "/cancel", json::object());
  ASSERT_EQ(canceled.status, 200) << canceled.body;
  const json r = Body(canceled);
  EXPECT_EQ(r.value("status", ""), "complete_with_error") << canceled.body;
  EXPECT_NE(r.value("message", "").find("canceled"), std::string::npos) << canceled.body;
  for (const auto& inst : cloud_->InstancesOfRequest(id)) {
    EXPECT_TRUE(inst.state == "terminated" || inst.state == "shutting-down")
        << "[a canceled request's instances are terminated] " << inst.instance_id << " " << inst.state;
  }
  ExpectError(Post("/api/v1/requests/" + id + "/cancel", json::object()), 409, "already ended");
  ExpectError(Post("/api/v1/requests/req-nope/cancel", json::object()), 404, "req-nope");
}

TEST_F(ApiEndpointsTest, ProvidersConfigAndStorageAreReportedWithSecretsRedacted) {
  Start();
  HttpResponse providers = Get("/api/v1/providers");
  ASSERT_EQ(providers.status, 200) << providers.body;
  ASSERT_FALSE(Body(providers)["providers"].empty()) << providers.body;
  const std::string name = Body(providers)["providers"][0].value("name", "");
  EXPECT_EQ(Get("/api/v1/providers/" + name).status, 200);
  ExpectError(Get("/api/v1/providers/nope"), 404, "nope");
  HttpResponse health = Get("/api/v1/providers/" + name + "/health");
  EXPECT_EQ(health.status, 200) << "[moto answers the health checks] " << health.body;
  EXPECT_EQ(Body(health).value("status", ""), "ok") << health.body;

  HttpResponse config = Get("/api/v1/config");
  ASSERT_EQ(config.status, 200) << config.body;
  EXPECT_EQ(config.body.find(HfSandbox::SecretKey()), std::string::npos)
      << "[the AWS secret key is never shown]";
  bool saw_port = false;
  const json config_doc = Body(config);
  for (const json& s : config_doc["settings"]) {
    saw_port = saw_port || (s.value("key", "") == "server.port" &&
                            s.value("value", "") == std::to_string(port_));
  }
  EXPECT_TRUE(saw_port) << "[the settings in force are listed with their values]";
  HttpResponse valid = Post("/api/v1/config/validate", json::object());
  ASSERT_EQ(valid.status, 200) << valid.body;
  EXPECT_EQ(Body(valid).value("valid", false), true) << valid.body;

  HttpResponse storage = Get("/api/v1/storage");
  ASSERT_EQ(storage.status, 200) << storage.body;
  EXPECT_EQ(Body(storage).value("strategy", ""), "sqlite");
  HttpResponse store_health = Get("/api/v1/storage/health");
  ASSERT_EQ(store_health.status, 200) << store_health.body;
  EXPECT_EQ(Body(store_health).value("status", ""), "ok");
}

TEST_F(ApiEndpointsTest, MetricsCountCallsAwsApisAndStoreStates) {
  Start();
  const std::string id = RequestMachines("OnDemand-Micro", 1);
  ASSERT_EQ(WaitTerminal(id).value("status", ""), "complete");
  HttpResponse m = Get("/metrics");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find("orb_http_requests_total{method=\"POST\",route=\"/api/v1/machines/request\",status=\"202\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_TRUE(std::regex_search(
      m.body, std::regex(R"(orb_aws_calls_total\{action="RunInstances",outcome="ok",service="ec2"\} [1-9])")))
      << m.body;
  EXPECT_NE(m.body.find("orb_aws_call_duration_seconds_bucket{action=\"RunInstances\""),
            std::string::npos);
  EXPECT_TRUE(std::regex_search(m.body, std::regex(R"(orb_machines\{state="running"\} [1-9])")))
      << m.body;
  EXPECT_TRUE(std::regex_search(
      m.body, std::regex(R"(orb_requests\{kind="acquire",status="complete"\} [1-9])")))
      << m.body;
}

TEST_F(ApiEndpointsTest, DomainEventsAreStreamedAndReplayedFromTheLastEventId) {
  Start();
  auto stream = std::make_unique<SseReader>(port_, "/api/v1/events");
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_EQ(Post("/api/v1/templates", MicroTemplate("Evented")).status, 201);
  ASSERT_GE(stream->WaitFor("template.created", seconds(10)), 0)
      << "[a template added is announced] " << stream->head();
  const std::string id = RequestMachines("OnDemand-Micro", 1);
  ASSERT_GE(stream->WaitFor("request.created", seconds(10)), 0);
  WaitTerminal(id);
  const int completed = stream->WaitFor("request.completed", seconds(10));
  ASSERT_GE(completed, 0);
  ASSERT_GE(stream->WaitFor("machine.state_changed", seconds(10)), 0);
  const std::vector<SseEvent> seen = stream->events();
  EXPECT_EQ(seen[static_cast<std::size_t>(completed)].Json().value("request_id", ""), id);
  EXPECT_NE(stream->head().find("text/event-stream"), std::string::npos) << stream->head();
  stream.reset();

  // Reconnecting after the first event replays the ones after it, in order.
  SseReader resumed(port_, "/api/v1/events", {"Last-Event-ID: " + seen[0].id});
  ASSERT_GE(resumed.WaitFor("request.completed", seconds(10)), 0) << "[missed events are replayed]";
  const std::vector<SseEvent> replayed = resumed.events();
  ASSERT_FALSE(replayed.empty());
  EXPECT_EQ(replayed[0].id, seen[1].id) << "[the replay starts right after the id given]";

  // An id of another server run (or one no longer kept) is a gap, said so.
  SseReader stale(port_, "/api/v1/events?last_event_id=1-1");
  EXPECT_GE(stale.WaitFor("gap", seconds(5)), 0);
}

TEST_F(ApiEndpointsTest, ARequestStreamFollowsItUntilItEnds) {
  Start();
  const std::string id = RequestMachines("OnDemand-Micro", 1);
  SseReader stream(port_, "/api/v1/requests/" + id + "/events");
  ASSERT_GE(stream.WaitFor("request", seconds(10)), 0) << stream.head();
  // Nobody else polls: the stream's own polls move the request to its end.
  ASSERT_GE(stream.WaitFor("end", seconds(60)), 0) << "[the stream ends with the request]";
  const std::vector<SseEvent> events = stream.events();
  json last;
  for (const SseEvent& e : events) {
    if (e.type == "request") last = e.Json();
  }
  EXPECT_EQ(last.value("status", ""), "complete") << last.dump();
  EXPECT_EQ(last["machines"].size(), 1u) << last.dump();
  EXPECT_TRUE(stream.WaitClosed(seconds(10))) << "[the server closes a finished stream]";
  ExpectError(Get("/api/v1/requests/req-nope/events"), 404, "req-nope");
}

TEST_F(ApiEndpointsTest, SigtermWithStreamsOpenStopsPromptly) {
  Start();
  SseReader a(port_, "/api/v1/events"), b(port_, "/api/v1/events");
  std::this_thread::sleep_for(milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->WaitExit(seconds(10)), 0) << server_->Err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5))
      << "[open event streams do not hold the server up]";
  EXPECT_TRUE(a.WaitClosed(seconds(5)));
  server_.reset();
}

TEST_F(ApiEndpointsTest, SighupReloadsTheConfigurationAndKeepsItWhenBroken) {
  Start();
  auto level = [&] {
    const json doc = Body(Get("/api/v1/config"));
    for (const json& s : doc["settings"]) {
      if (s.value("key", "") == "logging.level") return s.value("value", "");
    }
    return std::string();
  };
  ASSERT_EQ(level(), "info");
  sb_->WriteConfig({{"AWS_INSTANCE_PENDING_TIMEOUT_SEC", 600}, {"LogLevel", "DEBUG"}});
  server_->Signal(SIGHUP);
  std::string now;
  for (int i = 0; i < 50 && (now = level()) != "debug"; ++i) std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(now, "debug") << "[SIGHUP puts the edited configuration in force]";

  sb_->WriteConfig({{"AWS_INSTANCE_PENDING_TIMEOUT_SEC", "not a number"}});
  server_->Signal(SIGHUP);
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(Get("/health").status, 200) << "[a broken file does not stop the server]";
  EXPECT_EQ(level(), "debug") << "[and the configuration in force stays]";
  EXPECT_NE(sb_->LogTail(40).find("reload refused"), std::string::npos) << sb_->LogTail(40);
}

TEST_F(ApiEndpointsTest, TheBackgroundServerKeepsAPidFileAndStopsOnRequest) {
  const fs::path pid_file = sb_->work_dir() / "orb-server.pid";
  OrbOutcome started = RunOrb({"server", "start"}, sb_->env(), sb_->root());
  ASSERT_EQ(started.code, 0) << started.out << started.err;
  EXPECT_NE(started.out.find("listening on http://127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << started.out;
  ASSERT_TRUE(fs::exists(pid_file));
  EXPECT_EQ(Get("/health").status, 200) << "[it serves once start returned]";
  OrbOutcome again = RunOrb({"server", "start"}, sb_->env(), sb_->root());
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already running"), std::string::npos) << again.err;
  OrbOutcome status = RunOrb({"server", "status"}, sb_->env(), sb_->root());
  EXPECT_EQ(status.code, 0) << status.out;
  EXPECT_NE(status.out.find("running (pid"), std::string::npos) << status.out;

  OrbOutcome stopped = RunOrb({"server", "stop"}, sb_->env(), sb_->root());
  EXPECT_EQ(stopped.code, 0) << stopped.out << stopped.err;
  EXPECT_FALSE(fs::exists(pid_file)) << "[the pid file goes with the server]";
  EXPECT_THROW(Get("/health"), std::exception) << "[nothing listens any more]";
  OrbOutcome after = RunOrb({"server", "status"}, sb_->env(), sb_->root());
  EXPECT_EQ(after.code, 3) << after.out;
  EXPECT_EQ(RunOrb({"server", "stop"}, sb_->env(), sb_->root()).code, 0) << "[stop is idempotent]";
}

TEST_F(ApiEndpointsTest, TlsServesHttpsAndNothingElse) {
  const fs::path cert = sb_->root() / "server.crt", key = sb_->root() / "server.key";
  OrbOutcome made = RunProgram("openssl", {"req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                "-keyout", key.string(), "-out", cert.string(), "-days", "2",
                                "-subj", "/CN=127.0.0.1", "-addext",
                                "subjectAltName=IP:127.0.0.1"},
                               sb_->env(), sb_->root());
  ASSERT_EQ(made.code, 0) << made.err;
  sb_->env()["ORB_SERVER_TLS_CERT_FILE"] = cert.string();
  sb_->env()["ORB_SERVER_TLS_KEY_FILE"] = key.string();
  server_ = std::make_unique<ServeProcess>(sb_->env(), sb_->root());
  HttpRequest r;
  r.url = "https://127.0.0.1:" + std::to_string(port_) + "/health";
  r.timeout_ms = 5000;
  HttpOptions o;
  o.ca_bundle = cert.string();
  HttpClient tls_client(o);
  HttpResponse h;
  for (int i = 0; i < 100; ++i) {
    try {
      h = tls_client.Send(r);
      break;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  EXPECT_EQ(h.status, 200) << "[HTTPS with the configured certificate]";
  EXPECT_NE(server_->Out().find("listening on https://"), std::string::npos) << server_->Out();
  HttpResponse plain;
  bool refused = false;
  try {
    plain = Get("/health");
  } catch (const std::exception&) {
    refused = true;
  }
  EXPECT_TRUE(refused || plain.status != 200) << "[plain HTTP gets no answer]";

  // A key that does not match is refused at start, naming the files.
  sb_->env()["ORB_SERVER_TLS_KEY_FILE"] = cert.string();
  OrbOutcome bad = RunOrb({"serve"}, sb_->env(), sb_->root());
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("TLS"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace orb::testing
