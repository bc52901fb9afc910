#pragma once

// Reading requests and writing answers for the REST door: JSON bodies checked
// strictly (every error names the field), JSON answers, and orb::Error mapped to
// its HTTP status. Shared by every route file of src/api.

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace orb::api {

using json = nlohmann::ordered_json;

// Most ids one status or return call takes (HostFactory asks for far fewer).
inline constexpr std::size_t kMaxIdsPerCall = 10000;

// The HTTP status of an orb::Error code: 400, 404, 409, 502, 503 or 500.
int HttpStatus(ErrorCode code);

// Answers `body` as JSON with `status`.
void Reply(httplib::Response& res, int status, const json& body);

// Answers the error document {"error": code, "message": message} with `status`.
void ReplyError(httplib::Response& res, int status, std::string_view code,
                const std::string& message);

// The request body as a JSON value (an empty body is `null`). Throws
// Error(kInvalidInput) for a body that is not JSON or not sent as application/json.
json BodyJson(const httplib::Request& req);

// The request body as a JSON object. Throws Error(kInvalidInput) for a body that is
// not JSON (or not sent as application/json), not an object, or has a member not in
// `allowed` (naming it).
json BodyObject(const httplib::Request& req, const std::set<std::string>& allowed);

// Member `key` of `body` as a non-empty string (required). Throws Error(kInvalidInput)
// naming the field.
std::string StringField(const json& body, const char* key);

// Member `key` of `body` as a list of 1..`max` non-empty strings (required). Throws
// Error(kInvalidInput) naming the field.
std::vector<std::string> StringListField(const json& body, const char* key, std::size_t max);

// Query parameter `name` as a whole number 0..999999999 (`fallback` when absent).
// Throws Error(kInvalidInput) naming the parameter.
int CountParam(const httplib::Request& req, const char* name, int fallback = 0);

// Query parameter `name` as a boolean ("true"/"false"; false when absent). Throws
// Error(kInvalidInput) naming the parameter for any other value.
bool BoolParam(const httplib::Request& req, const char* name);

}  // namespace orb::api
