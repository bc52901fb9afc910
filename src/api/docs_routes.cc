// GET /openapi.json, /docs, /docs/assets/{asset}.

#include "api/docs_routes.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/server_state.h"

#ifndef ORB_DOCS_SOURCE_DIR
#define ORB_DOCS_SOURCE_DIR ""
#endif

namespace orb::api {

namespace fs = std::filesystem;

namespace {

// The page: Swagger UI's files and orb's own start-up script, all from this server.
// No inline script or style, so the Content-Security-Policy below can forbid them.
constexpr std::string_view kDocsPage = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>orb REST API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/assets/orb-docs.js"></script>
</body>
</html>
)";

// Starts Swagger UI on /openapi.json. validatorUrl null: Swagger UI would otherwise
// send the document to an online validator for its badge.
constexpr std::string_view kDocsScript = R"(// orb: starts Swagger UI on this server's OpenAPI document.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    displayRequestDuration: true
  });
});
)";

constexpr std::string_view kDocsScriptName = "orb-docs.js";

// Only this server's files, no inline script; Swagger UI sets inline styles and uses
// data: images in its stylesheet.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

void SecurityHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
}

bool HasAssets(const std::string& dir) {
  std::error_code ec;
  for (const std::string& name : DocsAssetNames()) {
    if (!fs::is_regular_file(fs::path(dir) / name, ec)) return false;
  }
  return true;
}

// The directory holding this program, from /proc/self/exe ("" when unknown).
std::string ProgramDir() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  return fs::path(std::string(path, static_cast<std::size_t>(n))).parent_path().string();
}

// Answers 503 telling the administrator how to install the page's files.
void ReplyDocsMissing(httplib::Response& res, const Config& config) {
  std::string where;
  const std::string configured = config.Get("server.docs_dir");
  if (!configured.empty()) {
    where = "server.docs_dir " + configured + " does not hold them";
  } else {
    where = "looked in";
    for (const std::string& dir : DefaultDocsDirs()) where += " " + dir;
  }
  std::string names;
  for (const std::string& name : DocsAssetNames()) names += (names.empty() ? "" : ", ") + name;
  ReplyError(res, 503, "docs_unavailable",
             "the API page's files (Swagger UI: " + names + ") are not installed (" + where +
                 "): run tools/setup.sh, which installs them from npm, or set server.docs_dir "
                 "to a directory holding them (e.g. an unpacked swagger-ui-dist); the "
                 "document itself is at /openapi.json");
}

}  // namespace

const std::vector<std::string>& DocsAssetNames() {
  static const std::vector<std::string> names = {"swagger-ui.css", "swagger-ui-bundle.js",
                                                 "swagger-ui-standalone-preset.js"};
  return names;
}

std::vector<std::string> DefaultDocsDirs() {
  std::vector<std::string> dirs;
  const std::string program_dir = ProgramDir();
  if (!program_dir.empty()) {
    dirs.push_back((fs::path(program_dir) / "../../share/orb/swagger-ui").lexically_normal().string());
    dirs.push_back((fs::path(program_dir) / "../share/orb/swagger-ui").lexically_normal().string());
  }
  if (!std::string_view(ORB_DOCS_SOURCE_DIR).empty()) dirs.push_back(ORB_DOCS_SOURCE_DIR);
  return dirs;
}

std::string DocsDir(const Config& config) {
  const std::string configured = config.Get("server.docs_dir");
  if (!configured.empty()) return HasAssets(configured) ? configured : "";
  for (const std::string& dir : DefaultDocsDirs()) {
    if (HasAssets(dir)) return dir;
  }
  return "";
}

void AddDocsRoutes(ServerState& state) {
  state.Add("GET", "/openapi.json", Role::kViewer, [](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(std::string(OpenApiDocument()), "application/json");
  });
  state.Add("GET", "/docs", Role::kViewer, [&state](const httplib::Request&, httplib::Response& res) {
    const std::shared_ptr<const Config> config = state.config();
    SecurityHeaders(res);
    if (DocsDir(*config).empty()) return ReplyDocsMissing(res, *config);
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(kDocsPage), "text/html; charset=utf-8");
  });
  state.Add("GET", "/docs/assets/{asset}", Role::kViewer,
            [&state](const httplib::Request& req, httplib::Response& res) {
              const std::string name = req.matches[1].str();
              SecurityHeaders(res);
              if (name == kDocsScriptName) {
                res.status = 200;
                res.set_header("Cache-Control", "no-cache");
                res.set_content(std::string(kDocsScript), "text/javascript; charset=utf-8");
                return;
              }
              // Only the fixed names: the path never comes from the request.
              const std::vector<std::string>& names = DocsAssetNames();
              auto known = std::find(names.begin(), names.end(), name);
              if (known == names.end()) {
                return ReplyError(res, 404, "not_found", "no docs asset '" + name + "'");
              }
              const std::shared_ptr<const Config> config = state.config();
              const std::string dir = DocsDir(*config);
              std::ifstream in(fs::path(dir) / *known, std::ios::binary);
              std::ostringstream text;
              if (dir.empty() || !(text << in.rdbuf())) return ReplyDocsMissing(res, *config);
              res.status = 200;
              res.set_header("Cache-Control", "no-cache");
              const bool css = known->ends_with(".css");
              res.set_content(text.str(), css ? "text/css; charset=utf-8"
                                              : "text/javascript; charset=utf-8");
            });
}

}  // namespace orb::api
