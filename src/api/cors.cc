#include "api/cors.h"

#include "api/http_io.h"
#include "common/error.h"

namespace orb::api {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '/')) s.pop_back();
  return s;
}

}  // namespace

Cors::Cors(const std::string& origins) {
  std::size_t start = 0;
  while (start <= origins.size()) {
    std::size_t end = origins.find(',', start);
    if (end == std::string::npos) end = origins.size();
    const std::string origin = Trim(origins.substr(start, end - start));
    start = end + 1;
    if (origin.empty()) continue;
    const std::size_t scheme = origin.find("://");
    const bool valid = (origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0) &&
                       scheme != std::string::npos && origin.size() > scheme + 3 &&
                       origin.find('/', scheme + 3) == std::string::npos;
    if (!valid) {
      throw Error(ErrorCode::kInvalidConfig,
                  "server.cors_origins: '" + origin +
                      "' is not an origin (http[s]://host[:port], exact; '*' is not accepted)");
    }
    origins_.insert(origin);
  }
}

void Cors::AddHeaders(const httplib::Request& req, httplib::Response& res) const {
  if (origins_.empty()) return;
  res.set_header("Vary", "Origin");
  const std::string origin = req.get_header_value("Origin");
  if (origin.empty() || !origins_.count(origin)) return;
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Access-Control-Expose-Headers", "Retry-After, Location, WWW-Authenticate, Mcp-Session-Id");
}

void Cors::AnswerPreflight(const httplib::Request& req, httplib::Response& res,
                           const std::string& allowed) const {
  if (allowed.empty()) {
    ReplyError(res, 404, "not_found", "no route OPTIONS " + req.path);
    return;
  }
  res.status = 204;
  res.set_header("Allow", allowed + ", OPTIONS");
  AddHeaders(req, res);
  const std::string origin = req.get_header_value("Origin");
  if (origin.empty() || !origins_.count(origin)) return;
  const std::string method = req.get_header_value("Access-Control-Request-Method");
  if (!method.empty() && (", " + allowed + ",").find(", " + method + ",") == std::string::npos) {
    return;  // a method this path does not have: no permission to send it
  }
  res.set_header("Access-Control-Allow-Methods", allowed);
  res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID");
  res.set_header("Access-Control-Max-Age", "600");
}

}  // namespace orb::api
