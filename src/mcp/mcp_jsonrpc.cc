#include "mcp/mcp_jsonrpc.h"

#include <algorithm>

namespace orb::mcp {

json ResultResponse(const json& id, json result) {
  json r = json::object();
  r["jsonrpc"] = "2.0";
  r["id"] = id;
  r["result"] = std::move(result);
  return r;
}

json ErrorResponse(const json& id, int code, const std::string& message) {
  json r = json::object();
  r["jsonrpc"] = "2.0";
  r["id"] = id;
  r["error"] = json{{"code", code}, {"message", message}};
  return r;
}

json Notification(const std::string& method, json params) {
  json r = json::object();
  r["jsonrpc"] = "2.0";
  r["method"] = method;
  r["params"] = std::move(params);
  return r;
}

namespace {

std::string TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

bool HasType(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") {
    if (v.is_number_integer() || v.is_number_unsigned()) return true;
    // 3.0 is an integer to JSON Schema.
    return v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<long long>(v.get<double>()));
  }
  if (type == "number") return v.is_number();
  if (type == "null") return v.is_null();
  return true;
}

[[noreturn]] void Fail(const std::string& what, const std::string& path, const std::string& why) {
  throw RpcError(kInvalidParams,
                 what + ": " + (path.empty() ? std::string("the arguments") : "field '" + path + "'") +
                     " " + why);
}

void Check(const json& v, const json& schema, const std::string& what, const std::string& path) {
  if (schema.contains("type")) {
    const std::string type = schema["type"].get<std::string>();
    if (!HasType(v, type)) {
      Fail(what, path, "must be " + std::string(type == "object" || type == "array" || type == "integer" ? "an " : "a ") +
                           type + ", got " + TypeName(v));
    }
  }
  if (schema.contains("enum")) {
    const json& e = schema["enum"];
    if (std::find(e.begin(), e.end(), v) == e.end()) {
      std::string list;
      for (const json& x : e) list += (list.empty() ? "" : ", ") + x.dump();
      Fail(what, path, "must be one of " + list);
    }
  }
  if (v.is_number()) {
    if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>()) {
      Fail(what, path, "must be at least " + schema["minimum"].dump());
    }
    if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>()) {
      Fail(what, path, "must be at most " + schema["maximum"].dump());
    }
  }
  if (v.is_string() && schema.contains("minLength") &&
      v.get_ref<const std::string&>().size() < schema["minLength"].get<size_t>()) {
    Fail(what, path, "must have at least " + schema["minLength"].dump() + " character(s)");
  }
  if (v.is_array()) {
    if (schema.contains("minItems") && v.size() < schema["minItems"].get<size_t>()) {
      Fail(what, path, "must have at least " + schema["minItems"].dump() + " item(s)");
    }
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>()) {
      Fail(what, path, "must have at most " + schema["maxItems"].dump() + " item(s)");
    }
    if (schema.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i) {
        Check(v[i], schema["items"], what, path + "[" + std::to_string(i) + "]");
      }
    }
  }
  if (v.is_object()) {
    const json props = schema.value("properties", json::object());
    if (schema.contains("required")) {
      for (const json& r : schema["required"]) {
        const std::string name = r.get<std::string>();
        if (!v.contains(name)) {
          Fail(what, path.empty() ? name : path + "." + name, "is required");
        }
      }
    }
    for (const auto& [key, val] : v.items()) {
      const std::string sub = path.empty() ? key : path + "." + key;
      if (props.contains(key)) {
        Check(val, props[key], what, sub);
      } else if (schema.contains("additionalProperties") &&
                 schema["additionalProperties"].is_boolean() &&
                 !schema["additionalProperties"].get<bool>()) {
        Fail(what, sub, "is not a known field");
      }
    }
  }
}

}  // namespace

void CheckAgainstSchema(const json& value, const json& schema, const std::string& what) {
  Check(value, schema, what, "");
}

std::string StringParam(const json& p, const std::string& name, bool required) {
  auto it = p.find(name);
  if (it == p.end() || it->is_null()) {
    if (required) throw RpcError(kInvalidParams, "missing param '" + name + "'");
    return "";
  }
  if (!it->is_string()) {
    throw RpcError(kInvalidParams, "param '" + name + "' must be a string, got " + TypeName(*it));
  }
  return it->get<std::string>();
}

}  // namespace orb::mcp
