// The OpenAPI document (src/api/openapi.json, built into orb-server) describes exactly
// the routes of the REST door: every route registered by AddAllRoutes is documented and
// every documented operation is a route, with each {param} of a path declared; the
// records orb answers fit the schemas documented for them. Then the docs routes
// themselves, served in-process: /openapi.json, /docs and its assets (a fixed list of
// names, 503 with a remedy when Swagger UI is not installed).

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/api_server.h"
#include "api/docs_routes.h"
#include "api/server_state.h"
#include "config/config_loader.h"
#include "config/template_loader.h"
#include "hostfactory/hf_wire.h"
#include "model/records.h"

namespace orb::api {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const char* const kDocumentFile = "src/api/openapi.json";
const std::set<std::string> kMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

// A configuration read from nothing but `env` (no files of the person running the test).
std::shared_ptr<const Config> TestConfig(const fs::path& home,
                                         std::map<std::string, std::string> env = {}) {
  env["HOME"] = home.string();
  env["ORB_WORK_DIR"] = (home / "work").string();
  env["ORB_CONF_DIR"] = (home / "conf").string();
  ConfigInputs inputs;
  inputs.environment = env;
  return std::make_shared<const Config>(LoadConfig(inputs));
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "orb-openapi-XXXXXX").string();
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

// The routes AddAllRoutes registers, from a server that never listens.
std::vector<Route> RegisteredRoutes() {
  TempDir home;
  httplib::Server http;
  ServerState state(http, TestConfig(home.path()), ConfigInputs{}, 0);
  AddAllRoutes(state);
  return state.routes();
}

Json Document() { return Json::parse(OpenApiDocument()); }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// The {name}s of an OpenAPI path, in order.
std::vector<std::string> PathParams(const std::string& path) {
  std::vector<std::string> names;
  static const std::regex param(R"(\{([^}/]+)\})");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), param); it != std::sregex_iterator(); ++it) {
    names.push_back((*it)[1].str());
  }
  return names;
}

// What to paste into the document for an undocumented route.
std::string Skeleton(const Route& r) {
  using Json = nlohmann::ordered_json;
  Json op = {{"tags", Json::array({"..."})},
             {"operationId", "..."},
             {"summary", "..."}};
  Json params = Json::array();
  for (const std::string& p : PathParams(r.path)) {
    params.push_back({{"name", p}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
  }
  if (!params.empty()) op["parameters"] = params;
  if (r.mutating()) {
    const Json schema = {{"type", "object"}, {"additionalProperties", false}};
    op["requestBody"] = {{"required", true},
                         {"content", {{"application/json", {{"schema", schema}}}}}};
  }
  Json responses = {{"200", {{"description", "..."}}}, {"401", {{"$ref", "#/components/responses/Unauthorized"}}}};
  if (r.role != Role::kViewer) responses["403"] = {{"$ref", "#/components/responses/Forbidden"}};
  responses["500"] = {{"$ref", "#/components/responses/InternalError"}};
  op["responses"] = responses;
  return Json{{r.path, {{Lower(r.method), op}}}}.dump(2);
}

TEST(OpenApiDocumentTest, IsOpenApi31WithARelativeServer) {
  const Json doc = Document();
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.value("openapi", "").rfind("3.1.", 0), 0u) << doc.value("openapi", "");
  ASSERT_TRUE(doc.contains("servers"));
  EXPECT_EQ(doc["servers"][0]["url"], "/") << "try-it-out must work on any host:port";
  ASSERT_TRUE(doc["components"]["securitySchemes"].contains("bearerAuth"));
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
  // Bearer token, or nothing (loopback without credentials configured).
  EXPECT_EQ(doc["security"], Json::parse(R"([{"bearerAuth": []}, {}])"));
}

TEST(OpenApiDocumentTest, EmbeddedDocumentIsTheSourceFile) {
  std::ifstream in(fs::path(ORB_SOURCE_DIR) / kDocumentFile);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), OpenApiDocument()) << "rebuild: the embedded copy is stale";
}

TEST(OpenApiRoutesTest, EveryRouteIsDocumented) {
  const Json paths = Document()["paths"];
  for (const Route& r : RegisteredRoutes()) {
    const bool documented = paths.contains(r.path) && paths[r.path].contains(Lower(r.method));
    EXPECT_TRUE(documented)
        << "route " << r.method << " " << r.path << " is registered (ServerState::Add) but not in "
        << kDocumentFile << ". Add it under \"paths\" (then run the openapi_lint test), e.g.:\n"
        << Skeleton(r) << "\nwith its parameters, requestBody (required fields, types, "
        << "additionalProperties: false when unknown fields are refused), responses (the 2xx "
        << "body's schema; 400/404/413/502/503 where they can happen) and, for a route that "
        << "needs no credentials, \"security\": [].";
  }
}

TEST(OpenApiRoutesTest, EveryDocumentedOperationIsARoute) {
  std::set<std::pair<std::string, std::string>> registered;
  for (const Route& r : RegisteredRoutes()) registered.insert({Upper(r.method), r.path});
  const Json doc = Document();
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      EXPECT_TRUE(registered.count({Upper(method), path}))
          << kDocumentFile << " documents " << Upper(method) << " " << path
          << " but no route file adds it (state.Add(\"" << Upper(method) << "\", \"" << path
          << "\", ...) in src/api/*_routes.cc): remove it from the document, or add the route";
    }
  }
}

TEST(OpenApiRoutesTest, EveryPathParameterIsDeclared) {
  const Json doc = Document();
  for (const auto& [path, item] : doc["paths"].items()) {
    const std::vector<std::string> in_path = PathParams(path);
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      // Path-level parameters, overridden by the operation's own.
      std::map<std::string, Json> declared;
      for (const Json* list : {&item, &op}) {
        if (!list->contains("parameters")) continue;
        for (const Json& p : (*list)["parameters"]) {
          if (p.value("in", "") == "path") declared[p.value("name", "")] = p;
        }
      }
      const std::string where = Upper(method) + " " + path;
      for (const std::string& name : in_path) {
        auto it = declared.find(name);
        EXPECT_TRUE(it != declared.end())
            << where << ": {" << name << "} is not declared; add to its \"parameters\": "
            << nlohmann::ordered_json{{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}.dump();
        if (it != declared.end()) {
          EXPECT_EQ(it->second.value("required", false), true)
              << where << ": path parameter " << name << " needs \"required\": true";
        }
      }
      for (const auto& [name, p] : declared) {
        EXPECT_TRUE(std::find(in_path.begin(), in_path.end(), name) != in_path.end())
            << where << " declares path parameter '" << name << "' that its path does not have";
      }
    }
  }
}

TEST(OpenApiRoutesTest, OperationsHaveIdsTagsAndAuthAnswers) {
  std::map<std::pair<std::string, std::string>, Role> roles;
  for (const Route& r : RegisteredRoutes()) roles[{Lower(r.method), r.path}] = r.role;
  std::set<std::string> ids;
  const Json doc = Document();
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      const std::string where = Upper(method) + " " + path;
      const std::string id = op.value("operationId", "");
      EXPECT_FALSE(id.empty()) << where << " has no operationId";
      EXPECT_TRUE(ids.insert(id).second) << where << ": operationId " << id << " is used twice";
      EXPECT_TRUE(op.contains("tags") && !op["tags"].empty()) << where << " has no tag";
      EXPECT_TRUE(op.contains("summary")) << where << " has no summary";
      const bool open = op.contains("security") && op["security"].empty();
      const Json& responses = op["responses"];
      if (!open) {
        EXPECT_TRUE(responses.contains("401"))
            << where << " needs credentials but documents no 401 "
            << R"(("401": {"$ref": "#/components/responses/Unauthorized"}))";
      }
      auto role = roles.find({method, path});
      if (!open && role != roles.end() && role->second != Role::kViewer) {
        EXPECT_TRUE(responses.contains("403"))
            << where << " needs more than the viewer role but documents no 403 "
            << R"(("403": {"$ref": "#/components/responses/Forbidden"}))";
      }
    }
  }
}

// Checks `value` against `schema` of the document `doc` as far as the document uses
// JSON Schema: $ref, allOf, oneOf/anyOf (one must fit), type, const, enum, required,
// properties, additionalProperties, items, prefixItems. Problems are added to `out`.
void CheckSchema(const Json& doc, const Json& value, Json schema, const std::string& where,
                 std::vector<std::string>& out) {
  while (schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    schema = doc.at(Json::json_pointer(ref.substr(1)));
  }
  if (schema.contains("allOf")) {
    for (const Json& s : schema["allOf"]) CheckSchema(doc, value, s, where, out);
  }
  for (const char* alternatives : {"oneOf", "anyOf"}) {
    if (!schema.contains(alternatives)) continue;
    bool fits = false;
    for (const Json& s : schema[alternatives]) {
      std::vector<std::string> problems;
      CheckSchema(doc, value, s, where, problems);
      fits = fits || problems.empty();
    }
    if (!fits) out.push_back(where + ": fits none of " + alternatives);
  }
  if (schema.contains("type")) {
    const std::string type = schema["type"];
    const bool ok = (type == "string" && value.is_string()) ||
                    (type == "integer" && value.is_number_integer()) ||
                    (type == "number" && value.is_number()) ||
                    (type == "boolean" && value.is_boolean()) ||
                    (type == "object" && value.is_object()) ||
                    (type == "array" && value.is_array());
    if (!ok) return out.push_back(where + ": " + value.dump() + " is not of type " + type);
  }
  if (schema.contains("const") && value != schema["const"]) {
    out.push_back(where + ": " + value.dump() + " is not " + schema["const"].dump());
  }
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    out.push_back(where + ": " + value.dump() + " is not one of " + schema["enum"].dump());
  }
  if (value.is_object()) {
    for (const Json& key : schema.value("required", Json::array())) {
      if (!value.contains(key.get<std::string>())) out.push_back(where + ": no member " + key.dump());
    }
    const Json properties = schema.value("properties", Json::object());
    for (const auto& [key, member] : value.items()) {
      if (properties.contains(key)) {
        CheckSchema(doc, member, properties[key], where + "." + key, out);
      } else if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
        CheckSchema(doc, member, schema["additionalProperties"], where + "." + key, out);
      } else if (schema.value("additionalProperties", true) == false) {
        out.push_back(where + ": member '" + key + "' is not in the schema (additionalProperties: false)");
      }
    }
  }
  if (value.is_array()) {
    const Json prefix = schema.value("prefixItems", Json::array());
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      if (i < prefix.size()) {
        CheckSchema(doc, value[i], prefix[i], at, out);
      } else if (schema.contains("items")) {
        CheckSchema(doc, value[i], schema["items"], at, out);
      }
    }
  }
}

// The answer schema of an operation's `status` in the document.
Json AnswerSchema(const Json& doc, const std::string& path, const std::string& method,
                  const std::string& status) {
  Json response = doc["paths"][path][method]["responses"][status];
  while (response.contains("$ref")) {
    response = doc.at(Json::json_pointer(response["$ref"].get<std::string>().substr(1)));
  }
  return response["content"]["application/json"]["schema"];
}

void ExpectFits(const Json& doc, const nlohmann::ordered_json& answer, const std::string& path,
                const std::string& method, const std::string& status) {
  std::vector<std::string> problems;
  CheckSchema(doc, Json::parse(answer.dump()), AnswerSchema(doc, path, method, status),
              Upper(method) + " " + path + " " + status, problems);
  std::string all;
  for (const std::string& p : problems) all += "\n  " + p;
  EXPECT_TRUE(problems.empty()) << "the answer orb writes does not fit its schema in "
                                << kDocumentFile << ":" << all << "\nanswer: " << answer.dump();
}

// Records as src/model/records.cc, TemplateRecord and the HostFactory formatters write
// them fit the schemas of the answers that carry them, so a field added there must be
// documented too.
TEST(OpenApiSchemasTest, RecordsFitTheirSchemas) {
  const Json doc = Document();
  using OJson = nlohmann::ordered_json;

  Machine m;
  m.machine_id = "i-0123";
  m.name = "ip-10-0-0-1.ec2.internal";
  m.request_id = "req-1";
  m.template_id = "T";
  m.state = MachineState::kShuttingDown;
  m.acquire_result = MachineResult::kSucceed;
  m.launch_time = 1700000000;
  m.created_at = m.updated_at = 1700000000;
  m.notice_action = "terminate";
  Machine plain = m;
  plain.notice_action.clear();
  plain.return_request_id = "ret-1";
  plain.return_result = MachineResult::kFail;
  ExpectFits(doc, MachineRecord(m), "/api/v1/machines/{machine_id}", "get", "200");
  ExpectFits(doc, MachineRecord(plain), "/api/v1/machines/{machine_id}", "get", "200");
  ExpectFits(doc, OJson{{"machines", {MachineRecord(m), MachineRecord(plain)}}}, "/api/v1/machines", "get", "200");

  Request q;
  q.request_id = "req-1";
  q.template_id = "T";
  q.requested_count = 2;
  q.status = RequestStatus::kCompleteWithError;
  q.launch_state = LaunchState::kSettled;
  q.created_at = q.updated_at = 1700000000;
  q.deadline = 1700003600;
  Request ret = q;
  ret.kind = RequestKind::kReturn;
  ret.deadline = 0;
  const std::vector<Machine> machines = {m, plain};
  ExpectFits(doc, RequestRecord(q, &machines), "/api/v1/requests/{request_id}", "get", "200");
  ExpectFits(doc, OJson{{"requests", {RequestRecord(q), RequestRecord(ret)}}}, "/api/v1/requests", "get", "200");
  OJson polled = RequestRecord(ret, &machines);
  polled["poll_message"] = "the cloud did not answer";  // as request_routes.cc adds it
  ExpectFits(doc, OJson{{"requests", {polled, RequestRecord(q, &machines)}}}, "/api/v1/requests/status", "post", "200");
  ExpectFits(doc, OJson{{"request_id", "req-1"}, {"message", "Request VM success."}},
             "/api/v1/machines/request", "post", "202");

  Template t;
  t.template_id = "T";
  t.max_number = 4;
  t.attributes = {{"type", "String", "X86_64"}, {"ncpus", "Numeric", "2"}};
  t.provider_api = ProviderApi::kEc2Fleet;
  t.fleet_type = FleetType::kRequest;
  t.raw = {{"templateId", "T"}, {"imageId", "ami-1"}, {"subnetIds", {"subnet-1"}}};
  Template minimal;
  minimal.template_id = "M";
  ExpectFits(doc, TemplateRecord(t), "/api/v1/templates/{template_id}", "get", "200");
  ExpectFits(doc, OJson{{"templates", {TemplateRecord(t), TemplateRecord(minimal)}}}, "/api/v1/templates", "get", "200");

  ExpectFits(doc, FormatHfTemplates({t, minimal}), "/api/v1/hostfactory/getAvailableTemplates", "post", "200");
  ExpectFits(doc, FormatHfRequestCreated("req-1", "Request VM success."),
             "/api/v1/hostfactory/requestMachines", "post", "200");
  ExpectFits(doc, FormatHfRequestStatuses({{q, machines, ""}, {ret, machines, "news"}}),
             "/api/v1/hostfactory/getRequestStatus", "post", "200");
  ExpectFits(doc, FormatHfReturnCandidates({{"ip-10-0-0-1", "i-0123", 120}}),
             "/api/v1/hostfactory/getReturnRequests", "post", "200");
  ExpectFits(doc, FormatHfFailure("bad input"), "/api/v1/hostfactory/getRequestStatus", "post", "400");
}

// The docs routes, served for real by an in-process server on a free loopback port.
class DocsRoutesTest : public ::testing::Test {
 protected:
  void Start(std::map<std::string, std::string> env) {
    ApiServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<ApiServer>(TestConfig(home_.path(), std::move(env)), ConfigInputs{}, options);
    server_->Bind();
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  // A docs directory holding Swagger UI's three files, with known contents.
  fs::path FakeAssets() {
    const fs::path dir = home_.path() / "swagger-ui";
    fs::create_directories(dir);
    for (const std::string& name : DocsAssetNames()) std::ofstream(dir / name) << "/* " << name << " */";
    return dir;
  }

  TempDir home_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DocsRoutesTest, ServesTheDocumentAndThePageWithItsAssets) {
  const fs::path dir = FakeAssets();
  std::ofstream(home_.path() / "secret.js") << "not served";
  Start({{"ORB_SERVER_DOCS_DIR", dir.string()}});

  auto doc = client_->Get("/openapi.json");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
  EXPECT_EQ(doc->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(Json::parse(doc->body), Document());

  auto page = client_->Get("/docs");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << "no inline script: " << csp;
  for (const std::string& name : DocsAssetNames()) {
    EXPECT_NE(page->body.find("/docs/assets/" + name), std::string::npos) << name;
  }
  EXPECT_EQ(page->body.find("http"), std::string::npos) << "[no other host] " << page->body;
  EXPECT_EQ(page->body.find("<script>"), std::string::npos) << "[no inline script]";

  for (const std::string& name : DocsAssetNames()) {
    auto asset = client_->Get("/docs/assets/" + name);
    ASSERT_TRUE(asset);
    EXPECT_EQ(asset->status, 200) << name;
    EXPECT_EQ(asset->body, "/* " + name + " */");
  }
  auto css = client_->Get("/docs/assets/swagger-ui.css");
  EXPECT_EQ(css->get_header_value("Content-Type"), "text/css; charset=utf-8");
  auto script = client_->Get("/docs/assets/orb-docs.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(script->body.find("\"/openapi.json\""), std::string::npos) << script->body;
  EXPECT_NE(script->body.find("validatorUrl: null"), std::string::npos) << script->body;
}

TEST_F(DocsRoutesTest, ServesOnlyTheFixedAssetNames) {
  const fs::path dir = FakeAssets();
  std::ofstream(dir / "index.html") << "not in the list";
  std::ofstream(home_.path() / "secret.js") << "not served";
  Start({{"ORB_SERVER_DOCS_DIR", dir.string()}});
  for (const std::string path :
       {"/docs/assets/index.html", "/docs/assets/..%2Fsecret.js", "/docs/assets/%2E%2E%2Fsecret.js",
        "/docs/assets/../secret.js", "/docs/assets/swagger-ui.css%00", "/docs/assets/SWAGGER-UI.CSS"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path << ": " << r->body;
    EXPECT_EQ(r->body.find("not served"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("not in the list"), std::string::npos) << path;
  }
}

TEST_F(DocsRoutesTest, MissingAssetsAnswer503TellingHowToInstallThem) {
  const fs::path empty = home_.path() / "nothing-here";
  fs::create_directories(empty);
  Start({{"ORB_SERVER_DOCS_DIR", empty.string()}});
  for (const std::string path : {"/docs", "/docs/assets/swagger-ui-bundle.js"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 503) << path;
    const Json body = Json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r->body;
    EXPECT_EQ(body["error"], "docs_unavailable");
    const std::string message = body.value("message", "");
    EXPECT_NE(message.find("tools/setup.sh"), std::string::npos) << message;
    EXPECT_NE(message.find(empty.string()), std::string::npos) << message;
  }
  // The document needs no files.
  auto doc = client_->Get("/openapi.json");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
}

}  // namespace
}  // namespace orb::api
