#include "api/http_io.h"

namespace orb::api {

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kCloud: return 502;
    case ErrorCode::kStore: return 503;
    case ErrorCode::kInvalidConfig: return 500;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void ReplyError(httplib::Response& res, int status, std::string_view code,
                const std::string& message) {
  Reply(res, status, json{{"error", code}, {"message", message}});
}

json BodyJson(const httplib::Request& req) {
  if (req.body.empty()) return nullptr;
  const std::string type = req.get_header_value("Content-Type");
  if (!type.empty() && type.rfind("application/json", 0) != 0) {
    throw Error(ErrorCode::kInvalidInput,
                "the request body must be JSON (Content-Type: application/json), not " + type);
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw Error(ErrorCode::kInvalidInput, "the request body is not valid JSON");
  return body;
}

json BodyObject(const httplib::Request& req, const std::set<std::string>& allowed) {
  json body = BodyJson(req);
  if (body.is_null()) throw Error(ErrorCode::kInvalidInput, "the request body is missing: a JSON object is expected");
  if (!body.is_object()) throw Error(ErrorCode::kInvalidInput, "the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (!allowed.count(key)) {
      throw Error(ErrorCode::kInvalidInput, "unknown field '" + key + "' in the request body");
    }
  }
  return body;
}

std::string StringField(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) throw Error(ErrorCode::kInvalidInput, std::string("missing field '") + key + "'");
  if (!it->is_string() || it->get<std::string>().empty()) {
    throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' must be a non-empty string");
  }
  return it->get<std::string>();
}

std::vector<std::string> StringListField(const json& body, const char* key, std::size_t max) {
  auto it = body.find(key);
  if (it == body.end()) throw Error(ErrorCode::kInvalidInput, std::string("missing field '") + key + "'");
  if (!it->is_array() || it->empty()) {
    throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' must be a non-empty array of strings");
  }
  if (it->size() > max) {
    throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' has " +
                                              std::to_string(it->size()) + " entries; at most " +
                                              std::to_string(max) + " are accepted per call");
  }
  std::vector<std::string> out;
  for (const json& v : *it) {
    if (!v.is_string() || v.get<std::string>().empty()) {
      throw Error(ErrorCode::kInvalidInput, std::string("field '") + key + "' must hold non-empty strings only");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

int CountParam(const httplib::Request& req, const char* name, int fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  int n = 0;
  bool ok = !v.empty() && v.size() <= 9;
  for (char c : v) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok) {
    throw Error(ErrorCode::kInvalidInput, std::string("query parameter '") + name +
                                              "' must be a whole number, not '" + v + "'");
  }
  return n;
}

bool BoolParam(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  if (v == "true") return true;
  if (v == "false") return false;
  throw Error(ErrorCode::kInvalidInput, std::string("query parameter '") + name +
                                            "' must be true or false, not '" + v + "'");
}

}  // namespace orb::api
