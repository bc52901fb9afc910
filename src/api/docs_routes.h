#pragma once

// The OpenAPI document of the REST door (src/api/openapi.json, built into orb-server)
// and the browsable page showing it (/docs: Swagger UI, its files served by orb from
// server.docs_dir, so the page needs no other host).

#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.h"

namespace orb::api {

// src/api/openapi.json as it was when orb-server was built (generated source).
std::string_view OpenApiDocument();

// The files of swagger-ui-dist that /docs/assets/{asset} serves from the docs
// directory; no other name is ever read.
const std::vector<std::string>& DocsAssetNames();

// The directories searched for the Swagger UI files when server.docs_dir is empty,
// in order: <dir of orb-server>/../../share/orb/swagger-ui (installed: libexec/orb),
// <dir of orb-server>/../share/orb/swagger-ui, then the source tree's
// node_modules/swagger-ui-dist (tools/setup.sh installs it).
std::vector<std::string> DefaultDocsDirs();

// The docs directory in force: server.docs_dir, else the first of DefaultDocsDirs()
// holding swagger-ui-bundle.js; "" when there is none.
std::string DocsDir(const Config& config);

}  // namespace orb::api
