#include "provider/aws/ssm_client.h"

#include <algorithm>
#include <set>

#include "provider/aws/aws_error.h"

namespace orb {

namespace {

std::string Str(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

SsmParameter ParseParameter(const nlohmann::json& p) {
  SsmParameter out;
  out.name = Str(p, "Name");
  out.value = Str(p, "Value");
  out.type = Str(p, "Type");
  out.data_type = Str(p, "DataType");
  auto version = p.find("Version");
  if (version != p.end() && version->is_number_integer()) out.version = version->get<long long>();
  return out;
}

}  // namespace

std::string SsmClient::GetParameter(const std::string& name) {
  nlohmann::json answer;
  try {
    answer = aws_.CallJson(AwsService::kSsm, "AmazonSSM.GetParameter", {{"Name", name}});
  } catch (const AwsError& e) {
    if (e.aws_code() != "ParameterNotFound") throw;
    throw AwsError(e.aws_code(),
                   "SSM parameter " + name + " does not exist in region " + aws_.region() +
                       " (ParameterNotFound" +
                       (e.request_id().empty() ? "" : ", request id " + e.request_id()) +
                       "): check the name, and that the parameter exists in this region",
                   e.request_id(), e.http_status(), false);
  }
  auto parameter = answer.find("Parameter");
  if (parameter == answer.end() || !parameter->is_object() || !parameter->contains("Value")) {
    throw AwsError("InvalidResponse",
                   "SSM GetParameter answered without a value for parameter " + name, "", 200,
                   false);
  }
  return Str(*parameter, "Value");
}

GetParametersResult SsmClient::GetParameters(const std::vector<std::string>& names) {
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (const std::string& n : names) {
    if (seen.insert(n).second) unique.push_back(n);
  }
  GetParametersResult out;
  for (size_t at = 0; at < unique.size(); at += kMaxGetParametersNames) {
    const size_t end = std::min(unique.size(), at + kMaxGetParametersNames);
    nlohmann::json body = {
        {"Names", std::vector<std::string>(unique.begin() + at, unique.begin() + end)}};
    nlohmann::json answer = aws_.CallJson(AwsService::kSsm, "AmazonSSM.GetParameters", body);
    auto found = answer.find("Parameters");
    if (found != answer.end() && found->is_array()) {
      for (const nlohmann::json& p : *found) {
        if (p.is_object()) out.parameters.push_back(ParseParameter(p));
      }
    }
    auto invalid = answer.find("InvalidParameters");
    if (invalid != answer.end() && invalid->is_array()) {
      for (const nlohmann::json& n : *invalid) {
        if (n.is_string()) out.invalid.push_back(n.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace orb
