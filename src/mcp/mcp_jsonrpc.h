#pragma once

// JSON-RPC 2.0 for the MCP door: error codes, the response shapes, the error a handler
// throws to answer with a JSON-RPC error, and the checks of params and tool arguments
// against the small JSON Schema subset orb's tools and prompts declare.

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace orb::mcp {

using json = nlohmann::ordered_json;

// JSON-RPC 2.0 error codes, and MCP's "resource not found".
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;

// Thrown by a method handler: the call is answered with this JSON-RPC error.
class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// {"jsonrpc":"2.0","id":id,"result":result}.
json ResultResponse(const json& id, json result);

// {"jsonrpc":"2.0","id":id,"error":{"code","message"}}.
json ErrorResponse(const json& id, int code, const std::string& message);

// {"jsonrpc":"2.0","method":method,"params":params}.
json Notification(const std::string& method, json params);

// Checks `value` against `schema` (type object/string/integer/number/boolean/array,
// properties, required, additionalProperties false, enum, minimum, maximum, minItems,
// maxItems, minLength, items). Throws RpcError(kInvalidParams) whose message starts
// with `what` and names the offending field by its path (e.g. "field 'count'",
// "field 'request_ids[2]'").
void CheckAgainstSchema(const json& value, const json& schema, const std::string& what);

// The string field `name` of params `p`: throws RpcError(kInvalidParams) naming it
// when it is missing (and `required`) or not a string. "" when absent and optional.
std::string StringParam(const json& p, const std::string& name, bool required = true);

}  // namespace orb::mcp
