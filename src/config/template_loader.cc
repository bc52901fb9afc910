#include "config/template_loader.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "common/strings.h"
#include "config/structured_file.h"
#include "model/instance_types.h"

namespace orb {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------
// Small value helpers.

// A JSON rendering of `v` short enough for a one-line message.
std::string Show(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// "a string", "an object", ... for messages about the wrong kind of value.
std::string KindOf(const Json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return "null";
}

// Parses all of `s` (trimmed) as an integer.
std::optional<long long> ParseWholeInteger(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Parses all of `s` (trimmed) as a finite number.
std::optional<double> ParseWholeNumber(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// An integer from a JSON integer, an integral JSON float (10.0) or a numeric string ("10").
std::optional<long long> ToInteger(const Json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<unsigned long long>();
    if (u > static_cast<unsigned long long>(LLONG_MAX)) return std::nullopt;
    return static_cast<long long>(u);
  }
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 1e15) return std::nullopt;
    return static_cast<long long>(d);
  }
  if (v.is_string()) return ParseWholeInteger(v.get<std::string>());
  return std::nullopt;
}

// A number from a JSON number or a numeric string.
std::optional<double> ToNumber(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return ParseWholeNumber(v.get<std::string>());
  return std::nullopt;
}

// The text of a scalar as HostFactory wants it in an attribute value.
std::optional<std::string> ScalarText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  return std::nullopt;
}

// Reads `path` (JSON, or YAML by its extension); throws Error(kInvalidConfig) naming it
// for anything but a non-empty, well-formed document.
Json ReadDocument(const std::string& path) {
  Json doc = ReadStructuredFile(path);
  if (doc.is_null()) {
    throw Error(ErrorCode::kInvalidConfig,
                path + ": templates file is empty: expected {\"templates\": [...]}");
  }
  return doc;
}

// ---------------------------------------------------------------------------------------
// Parsing templates.

// Collects problems, or throws the first one when there is nowhere to collect them.
class Reporter {
 public:
  Reporter(const std::string& source, std::vector<std::string>* problems)
      : source_(source), problems_(problems) {}

  // A problem of the file as a whole.
  void File(const std::string& what) { Add(source_ + ": " + what); }

  // A problem of one template (`who` is "template 'X'" or "template at index N").
  void TemplateProblem(const std::string& who, const std::string& what) {
    Add(source_ + ": " + who + ": " + what);
  }

  // A problem of one field of one template.
  void Field(const std::string& who, const std::string& field, const std::string& what) {
    Add(source_ + ": " + who + " field '" + field + "': " + what);
  }

 private:
  void Add(std::string message) {
    if (problems_ == nullptr) throw Error(ErrorCode::kInvalidConfig, message);
    problems_->push_back(std::move(message));
  }

  const std::string& source_;
  std::vector<std::string>* problems_;
};

using TypeList = std::vector<std::pair<std::string, int>>;

// Parses one template object. `seen_ids` maps every valid id met so far to its index.
class TemplateParser {
 public:
  TemplateParser(const Json& obj, std::size_t index, const std::string& source,
                 std::map<std::string, std::size_t>* seen_ids, Reporter* rep,
                 const InstanceFactsSource* facts)
      : obj_(obj), index_(index), seen_ids_(seen_ids), rep_(*rep), facts_(*facts) {
    t_.raw = obj;
    t_.source_file = source;
    who_ = "template at index " + std::to_string(index);
  }

  // Parses everything; ok() tells whether the template had no problem.
  Template Parse() {
    ParseId();
    ParseMaxNumber();
    ParseAttributes();
    ParseApiAndPricing();
    ParseString({"imageId", "image_id"}, &t_.image_id);
    const bool types_ok = ParseInstanceTypes();
    ParseStringList({"subnetId", "subnet_id", "subnetIds", "subnet_ids"}, &t_.subnet_ids);
    ParseStringList({"securityGroupIds", "security_group_ids"}, &t_.security_group_ids);
    ParseString({"keyName", "key_name"}, &t_.key_name);
    ParseTags();
    ParseString({"userDataScript", "user_data_script"}, &t_.user_data_script);
    ParseUserData();
    ParseSpotPrice();
    ParseString({"fleetRole", "fleet_role"}, &t_.fleet_role);
    CheckIamName({"fleetRole", "fleet_role"}, t_.fleet_role, "role", 64);
    ParseString({"allocationStrategy", "allocation_strategy"}, &t_.allocation_strategy,
                /*reject_empty=*/true);
    ParseString({"allocationStrategyOnDemand", "allocation_strategy_on_demand"},
                &t_.allocation_strategy_on_demand, /*reject_empty=*/true);
    ParseInt({"percentOnDemand", "percent_on_demand"}, 0, 100, &t_.percent_on_demand);
    ParseInt({"rootDeviceVolumeSize", "root_device_volume_size"}, 1, INT_MAX,
             &t_.root_device_volume_size);
    ParseString({"volumeType", "volume_type"}, &t_.volume_type);
    ParseInt({"iops"}, 1, INT_MAX, &t_.iops);
    ParseString({"instanceProfile", "instance_profile"}, &t_.instance_profile);
    CheckIamName({"instanceProfile", "instance_profile"}, t_.instance_profile,
                 "instance-profile", 128);
    ParseString({"launchTemplateId", "launch_template_id"}, &t_.launch_template_id);
    ParseScalarText({"launchTemplateVersion", "launch_template_version"},
                    &t_.launch_template_version);
    ParseScalarText({"spotFleetRequestExpiry", "spot_fleet_request_expiry"},
                    &t_.spot_fleet_request_expiry);
    ParseAbis();
    ParseString({"context"}, &t_.context);
    ParseCapacityReservationPreference();
    ParseCapacityPolicy();
    ParsePublicIp();
    ParseProviderBinding();
    CheckHeterogeneous();
    if (types_ok && CheckTypesPresent()) DeriveMissingAttributes();
    return t_;
  }

  bool ok() const { return ok_; }

 private:
  // The first of `names` present with a non-null value; its key goes to `key`.
  const Json* Get(std::initializer_list<const char*> names, std::string* key) const {
    for (const char* name : names) {
      auto it = obj_.find(name);
      if (it != obj_.end() && !it->is_null()) {
        *key = name;
        return &*it;
      }
    }
    return nullptr;
  }

  // How a field is named in a message when the file did not spell it: in the file's style.
  std::string Name(const char* camel) const { return snake_ ? CamelToSnake(camel) : camel; }

  void Bad(const std::string& field, const std::string& what) {
    ok_ = false;
    rep_.Field(who_, field, what);
  }

  void ParseId() {
    std::string key;
    const Json* v = Get({"templateId", "template_id"}, &key);
    snake_ = key == "template_id";
    if (v == nullptr) {
      ok_ = false;
      rep_.Field(who_, Name("templateId"), "missing: every template needs a templateId");
      return;
    }
    if (!v->is_string() || !IsValidTemplateId(v->get<std::string>())) {
      Bad(key, "must be 1 to 64 of the characters A-Z a-z 0-9 _ -, got " + Show(*v));
      return;
    }
    t_.template_id = v->get<std::string>();
    auto [it, inserted] = seen_ids_->emplace(t_.template_id, index_);
    who_ = "template '" + t_.template_id + "'";
    if (!inserted) {
      Bad(key, "duplicate: templates at index " + std::to_string(it->second) + " and index " +
                   std::to_string(index_) + " both use this id");
    }
  }

  void ParseMaxNumber() {
    std::string key;
    const Json* v = Get({"maxNumber", "max_number"}, &key);
    if (v == nullptr) {
      Bad(Name("maxNumber"), "missing: give the most machines of this template (-1 = unlimited)");
      return;
    }
    const auto n = ToInteger(*v);
    if (!n || *n < -1 || *n > INT_MAX) {
      Bad(key, "must be an integer >= -1, got " + Show(*v));
      return;
    }
    t_.max_number = static_cast<int>(*n);
  }

  void ParseAttributes() {
    std::string key;
    const Json* v = Get({"attributes"}, &key);
    if (v == nullptr) return;
    if (!v->is_object()) {
      Bad(key, "must be an object of name: [\"Type\", \"value\"], got " + KindOf(*v));
      return;
    }
    for (const auto& [name, a] : v->items()) {
      const std::string what = "attribute '" + name + "' ";
      if (Trim(name).empty()) {
        Bad(key, "an attribute has an empty name");
        continue;
      }
      if (!a.is_array() || a.size() != 2) {
        Bad(key, what + "must be a [\"Type\", \"value\"] pair, got " + Show(a));
        continue;
      }
      std::string type;
      if (a[0].is_string()) {
        const std::string f = FoldName(a[0].get<std::string>());
        if (f == "string") type = "String";
        if (f == "numeric") type = "Numeric";
        if (f == "boolean") type = "Boolean";
      }
      if (type.empty()) {
        Bad(key, what + "has type " + Show(a[0]) + ": must be String, Numeric or Boolean");
        continue;
      }
      const auto value = ScalarText(a[1]);
      if (!value) {
        Bad(key, what + "value must be a string, got " + Show(a[1]));
        continue;
      }
      const bool numeric_name =
          name == "ncpus" || name == "ncores" || name == "nram" || name == "rank";
      if (numeric_name && type != "Numeric") {
        Bad(key, what + "must have type Numeric, got " + Show(a[0]));
        continue;
      }
      if (name == "type" && type != "String") {
        Bad(key, what + "must have type String, got " + Show(a[0]));
        continue;
      }
      if (type == "Numeric" && !ParseWholeNumber(*value)) {
        Bad(key, what + "is Numeric but its value " + Show(a[1]) + " is not a number");
        continue;
      }
      t_.attributes.push_back({name, type, *value});
    }
  }

  void ParseApiAndPricing() {
    std::string key;
    if (const Json* v = Get({"providerApi", "provider_api"}, &key)) {
      const auto api = v->is_string() ? ParseProviderApi(v->get<std::string>()) : std::nullopt;
      if (api) {
        t_.provider_api = *api;
      } else {
        Bad(key, "must be RunInstances, EC2Fleet, SpotFleet or ASG, got " + Show(*v));
      }
    }
    const bool is_fleet =
        t_.provider_api == ProviderApi::kEc2Fleet || t_.provider_api == ProviderApi::kSpotFleet;
    if (const Json* v = Get({"fleetType", "fleet_type"}, &key)) {
      const auto ft = v->is_string() ? ParseFleetType(v->get<std::string>()) : std::nullopt;
      if (!ft) {
        Bad(key, "must be instant, request or maintain, got " + Show(*v));
      } else if (t_.provider_api == ProviderApi::kSpotFleet && *ft == FleetType::kInstant) {
        Bad(key,
            "SpotFleet has no instant type: use request or maintain (or providerApi "
            "EC2Fleet)");
      } else if (is_fleet) {
        t_.fleet_type = *ft;
      }
    }
    if (is_fleet && !t_.fleet_type) {
      t_.fleet_type =
          t_.provider_api == ProviderApi::kEc2Fleet ? FleetType::kInstant : FleetType::kRequest;
    }
    if (const Json* v = Get({"priceType", "price_type"}, &key)) {
      const std::string text = v->is_string() ? v->get<std::string>() : "";
      const auto pt = ParsePriceType(text);
      if (pt) {
        t_.price_type = *pt;
      } else if (FoldName(text) == "heterogeneous") {
        // IBM's mix of on-demand and spot: spot capacity with percentOnDemand on-demand.
        heterogeneous_key_ = key;
        t_.price_type = PriceType::kSpot;
      } else {
        Bad(key, "must be ondemand, spot or heterogeneous, got " + Show(*v));
      }
    }
  }

  void CheckHeterogeneous() {
    if (!heterogeneous_key_.empty() && !t_.percent_on_demand) {
      Bad(heterogeneous_key_, "heterogeneous needs " + Name("percentOnDemand") +
                                  " (0..100) to say which share of the capacity is "
                                  "on-demand");
    }
  }

  // Parses an object of instance type -> integer >= `min_value`. Also accepts an array of
  // type names (each weight 1). Returns false after a problem.
  bool ParseTypeMap(const std::string& key, const Json& v, int min_value, const char* what,
                    TypeList* out) {
    if (v.is_array()) {
      for (const Json& item : v) {
        if (!item.is_string() || Trim(item.get<std::string>()).empty()) {
          Bad(key, "instance types must be non-empty strings, got " + Show(item));
          return false;
        }
        out->emplace_back(std::string(Trim(item.get<std::string>())), 1);
      }
      return true;
    }
    if (!v.is_object()) {
      Bad(key, std::string("must be an object of instance type: ") + what + ", got " + KindOf(v));
      return false;
    }
    for (const auto& [type, w] : v.items()) {
      if (Trim(type).empty()) {
        Bad(key, "an instance type name is empty");
        return false;
      }
      const auto n = ToInteger(w);
      if (!n || *n < min_value || *n > INT_MAX) {
        Bad(key, std::string(what) + " of '" + type +
                     "' must be an integer >= " + std::to_string(min_value) + ", got " + Show(w));
        return false;
      }
      out->emplace_back(type, static_cast<int>(*n));
    }
    return true;
  }

  bool ParseInstanceTypes() {
    bool ok = true;
    std::string types_key, type_key, key;
    const Json* types = Get({"vmTypes", "vm_types", "machine_types", "instance_types"}, &types_key);
    if (types != nullptr) ok = ParseTypeMap(types_key, *types, 1, "weight", &t_.vm_types);

    if (const Json* one = Get({"vmType", "vm_type", "instance_type"}, &type_key)) {
      if (!one->is_string()) {
        Bad(type_key, "must be an instance type name such as \"m5.large\", got " + KindOf(*one));
        ok = false;
      } else if (types == nullptr) {
        for (const std::string& name : SplitTrimmed(one->get<std::string>(), ',')) {
          const bool dup = std::any_of(t_.vm_types.begin(), t_.vm_types.end(),
                                       [&](const auto& p) { return p.first == name; });
          if (!dup) t_.vm_types.emplace_back(name, 1);
        }
      } else if (ok) {
        for (const std::string& name : SplitTrimmed(one->get<std::string>(), ',')) {
          const bool listed = std::any_of(t_.vm_types.begin(), t_.vm_types.end(),
                                          [&](const auto& p) { return p.first == name; });
          if (!listed) {
            Bad(type_key,
                "'" + name + "' is not among " + types_key + ": give either one or the other");
            ok = false;
          }
        }
      }
    }
    if (const Json* v = Get({"vmTypesOnDemand", "vm_types_on_demand"}, &key)) {
      ok = ParseTypeMap(key, *v, 1, "weight", &t_.vm_types_on_demand) && ok;
    }
    if (const Json* v = Get({"vmTypesPriority", "vm_types_priority"}, &key)) {
      ok = ParseTypeMap(key, *v, 0, "priority", &t_.vm_types_priority) && ok;
    }
    return ok;
  }

  // False (after reporting it) when nothing says which instances to launch.
  bool CheckTypesPresent() {
    if (!t_.vm_types.empty() || !t_.launch_template_id.empty() ||
        !t_.abis_instance_requirements.is_null()) {
      return true;
    }
    Bad(Name("vmType"), "missing: give " + Name("vmType") + " or " + Name("vmTypes") + " (or " +
                            Name("launchTemplateId") + " / " + Name("abisInstanceRequirements") +
                            ")");
    return false;
  }

  void ParseString(std::initializer_list<const char*> names, std::string* out,
                   bool reject_empty = false) {
    std::string key;
    const Json* v = Get(names, &key);
    if (v == nullptr) return;
    if (!v->is_string()) {
      Bad(key, "must be a string, got " + Show(*v));
      return;
    }
    if (reject_empty && Trim(v->get<std::string>()).empty()) {
      Bad(key, "must not be empty (leave the key out for the default)");
      return;
    }
    *out = v->get<std::string>();
  }

  // associatePublicIpAddress: a boolean (or "true"/"false").
  void ParsePublicIp() {
    std::string key;
    const Json* v = Get({"associatePublicIpAddress", "associate_public_ip_address"}, &key);
    if (v == nullptr) return;
    if (v->is_boolean()) {
      t_.associate_public_ip = v->get<bool>();
    } else if (v->is_string() && (FoldName(v->get<std::string>()) == "true" ||
                                  FoldName(v->get<std::string>()) == "false")) {
      t_.associate_public_ip = FoldName(v->get<std::string>()) == "true";
    } else {
      Bad(key, "must be true or false, got " + Show(*v));
    }
  }

  // providerName, providers and providerSelection: which provider instances launch
  // this template (the names are checked against the configuration by the broker).
  void ParseProviderBinding() {
    std::string key;
    ParseString({"providerName", "provider_name"}, &t_.provider_name, /*reject_empty=*/true);
    if (const Json* v = Get({"providers"}, &key)) {
      if (!v->is_array() || v->empty()) {
        Bad(key, "must be a non-empty list of provider instance names, got " + Show(*v));
      } else {
        for (const Json& n : *v) {
          if (!n.is_string() || Trim(n.get<std::string>()).empty()) {
            Bad(key, "provider instance names must be non-empty strings, got " + Show(n));
            return;
          }
          const std::string name(Trim(n.get<std::string>()));
          if (std::find(t_.providers.begin(), t_.providers.end(), name) != t_.providers.end()) {
            Bad(key, "names provider instance '" + name + "' twice");
            return;
          }
          t_.providers.push_back(name);
        }
        if (!t_.provider_name.empty()) {
          Bad(key, "give either " + Name("providerName") + " or providers, not both");
        }
      }
    }
    if (const Json* v = Get({"providerSelection", "provider_selection"}, &key)) {
      const std::string f = v->is_string() ? FoldName(v->get<std::string>()) : "";
      if (f == "firstavailable") {
        t_.provider_selection = "first-available";
      } else if (f == "roundrobin") {
        t_.provider_selection = "round-robin";
      } else if (f == "weighted") {
        t_.provider_selection = "weighted";
      } else {
        Bad(key, "must be first-available, round-robin or weighted, got " + Show(*v));
      }
    }
  }

  // capacityPolicy: "best-effort" (default) or "all-or-nothing", in any casing.
  void ParseCapacityPolicy() {
    std::string key;
    const Json* v = Get({"capacityPolicy", "capacity_policy"}, &key);
    if (v == nullptr) return;
    const std::string folded = v->is_string() ? FoldName(v->get<std::string>()) : "";
    if (folded == "allornothing") {
      t_.all_or_nothing = true;
    } else if (folded != "besteffort") {
      Bad(key, "must be \"best-effort\" or \"all-or-nothing\", got " + Show(*v));
    }
  }

  // A string field that may also be written as a number (kept as written).
  void ParseScalarText(std::initializer_list<const char*> names, std::string* out) {
    std::string key;
    const Json* v = Get(names, &key);
    if (v == nullptr) return;
    if (!v->is_string() && !v->is_number()) {
      Bad(key, "must be a string or a number, got " + Show(*v));
      return;
    }
    *out = *ScalarText(*v);
  }

  void ParseInt(std::initializer_list<const char*> names, int min, int max,
                std::optional<int>* out) {
    std::string key;
    const Json* v = Get(names, &key);
    if (v == nullptr) return;
    const auto n = ToInteger(*v);
    if (!n || *n < min || *n > max) {
      std::string range =
          max == INT_MAX ? "an integer >= " + std::to_string(min)
                         : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
      Bad(key, "must be " + range + ", got " + Show(*v));
      return;
    }
    *out = static_cast<int>(*n);
  }

  // Checks an IAM reference: a bare name (1 to `max_name` of A-Z a-z 0-9 + = , . @ _ -)
  // or arn:<partition>:iam::<12 digits>:<kind>/[path/]name. Whether it exists is the
  // cloud's to say.
  void CheckIamName(std::initializer_list<const char*> names, const std::string& value,
                    const std::string& kind, int max_name) {
    std::string key;
    if (value.empty() || Get(names, &key) == nullptr) return;
    static const std::regex kName(R"([A-Za-z0-9+=,.@_-]+)");
    static const std::regex kPath(R"((/?[A-Za-z0-9+=,.@_-]+/)*)");
    auto name_ok = [&](const std::string& n) {
      return !n.empty() && static_cast<int>(n.size()) <= max_name && std::regex_match(n, kName);
    };
    if (value.rfind("arn:", 0) != 0) {
      if (!name_ok(value)) {
        Bad(key, "must be a " + kind + " name (1 to " + std::to_string(max_name) +
                     " of A-Z a-z 0-9 + = , . @ _ -) or an ARN arn:aws:iam::<account>:" + kind +
                     "/<name>, got " + Show(Json(value)));
      }
      return;
    }
    static const std::regex kArn(R"(arn:aws(-cn|-us-gov)?:iam::([0-9]{12}):([a-z-]+)/(.+))");
    std::smatch m;
    bool ok = std::regex_match(value, m, kArn) && m[3].str() == kind;
    if (ok) {
      const std::string rest = m[4].str();
      const std::size_t slash = rest.rfind('/');
      const std::string path = slash == std::string::npos ? "" : rest.substr(0, slash + 1);
      ok = std::regex_match(path, kPath) && name_ok(rest.substr(slash + 1));
    }
    if (!ok) {
      Bad(key, "must be an ARN of the form arn:aws:iam::<12-digit account>:" + kind +
                   "/[path/]<name> (or a bare " + kind + " name), got " + Show(Json(value)));
    }
  }

  void ParseStringList(std::initializer_list<const char*> names, std::vector<std::string>* out) {
    std::string key;
    const Json* v = Get(names, &key);
    if (v == nullptr) return;
    if (v->is_string()) {
      *out = SplitTrimmed(v->get<std::string>(), ',');
      return;
    }
    if (!v->is_array()) {
      Bad(key,
          "must be a string, a comma-separated string or an array of strings, got " + KindOf(*v));
      return;
    }
    std::vector<std::string> items;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const Json& item = (*v)[i];
      if (!item.is_string() || Trim(item.get<std::string>()).empty()) {
        Bad(key, "item " + std::to_string(i) + " must be a non-empty string, got " + Show(item));
        return;
      }
      items.emplace_back(Trim(item.get<std::string>()));
    }
    *out = std::move(items);
  }

  // Inline user data: within EC2's limit (a userDataScript file is read and checked
  // when a launch is planned, and by `orb templates validate`).
  void ParseUserData() {
    ParseString({"userData", "user_data"}, &t_.user_data);
    if (t_.user_data.size() > kMaxUserDataBytes) {
      std::string key;
      Get({"userData", "user_data"}, &key);
      Bad(key, "user data is " + std::to_string(t_.user_data.size()) +
                   " bytes; EC2 accepts at most " + std::to_string(kMaxUserDataBytes) +
                   " (16 KB): fetch the rest at boot (e.g. from S3) or compress it");
    }
  }

  // Adds one tag after AWS's rules for a key and a value (TagKeyProblem,
  // TagValueProblem); a key given twice is a problem too.
  void AddTag(const std::string& key, std::string name, std::string value) {
    if (std::string why = TagKeyProblem(name); !why.empty()) {
      Bad(key, why);
      return;
    }
    if (std::string why = TagValueProblem(value); !why.empty()) {
      Bad(key, "tag '" + name + "' " + why);
      return;
    }
    for (const auto& [k, existing] : t_.instance_tags) {
      if (k == name) {
        Bad(key, "tag '" + name + "' is given twice");
        return;
      }
    }
    t_.instance_tags.emplace_back(std::move(name), std::move(value));
  }

  // AWS takes at most 50 tags per resource, and orb adds its own to every launch.
  void CheckTagCount(const std::string& key) {
    if (t_.instance_tags.size() <= kMaxTemplateTags) return;
    std::vector<std::string> own(kOrbTagKeys.begin(), kOrbTagKeys.end());
    Bad(key, "has " + std::to_string(t_.instance_tags.size()) + " tags; AWS allows at most " +
                 std::to_string(kMaxTagsPerResource) + " per resource and orb adds " +
                 std::to_string(own.size()) + " of its own (" + Join(own, ", ") +
                 "), so a template may have at most " + std::to_string(kMaxTemplateTags));
  }

  void ParseTags() {
    std::string key;
    const Json* v = Get({"instanceTags", "instance_tags", "tags"}, &key);
    if (v == nullptr) return;
    ParseTagForms(key, v);
    CheckTagCount(key);
  }

  void ParseTagForms(const std::string& key, const Json* v) {
    if (v->is_string()) {
      for (const std::string& piece : SplitTrimmed(v->get<std::string>(), ';')) {
        const std::size_t eq = piece.find('=');
        if (eq == std::string::npos) {
          Bad(key, "piece \"" + piece + "\" is not key=value (write \"k1=v1;k2=v2\")");
          return;
        }
        const std::string name(Trim(std::string_view(piece).substr(0, eq)));
        if (name.empty()) {
          Bad(key, "piece \"" + piece + "\" has an empty key (write \"k1=v1;k2=v2\")");
          return;
        }
        AddTag(key, name, std::string(Trim(std::string_view(piece).substr(eq + 1))));
      }
      return;
    }
    if (v->is_object()) {
      for (const auto& [name, value] : v->items()) {
        const auto text = value.is_object() || value.is_array() || value.is_null()
                              ? std::nullopt
                              : ScalarText(value);
        if (Trim(name).empty()) {
          Bad(key, "a tag has an empty key");
          return;
        }
        if (!text) {
          Bad(key, "tag '" + name + "' must have a string value, got " + Show(value));
          return;
        }
        AddTag(key, name, *text);
      }
      return;
    }
    if (v->is_array()) {  // AWS form: [{"Key": "k", "Value": "v"}, ...]
      for (const Json& item : *v) {
        const bool shaped = item.is_object() && item.contains("Key") && item["Key"].is_string() &&
                            item.contains("Value") && ScalarText(item["Value"]);
        if (!shaped || Trim(item["Key"].get<std::string>()).empty()) {
          Bad(key, "items must be {\"Key\": \"k\", \"Value\": \"v\"}, got " + Show(item));
          return;
        }
        AddTag(key, item["Key"].get<std::string>(), *ScalarText(item["Value"]));
      }
      return;
    }
    Bad(key, "must be \"k1=v1;k2=v2\" or an object of strings, got " + KindOf(*v));
  }

  void ParseSpotPrice() {
    std::string key;
    const Json* v =
        Get({"maxSpotPrice", "max_spot_price", "spotPrice", "spot_price", "max_price"}, &key);
    if (v == nullptr) return;
    const auto price = ToNumber(*v);
    if (!price || *price <= 0) {
      Bad(key, "must be a price in USD per hour greater than 0, got " + Show(*v));
      return;
    }
    t_.max_spot_price = *price;
  }

  void ParseCapacityReservationPreference() {
    std::string key;
    const Json* v = Get({"capacityReservationPreference", "capacity_reservation_preference"}, &key);
    if (v == nullptr) return;
    const std::string f = v->is_string() ? FoldName(v->get<std::string>()) : "";
    if (f == "usecapacityreservationsfirst") {
      t_.capacity_reservation_preference = "use-capacity-reservations-first";
    } else if (f != "none") {
      Bad(key, "must be use-capacity-reservations-first or none, got " + Show(*v));
      return;
    }
    if (!t_.capacity_reservation_preference.empty() &&
        t_.provider_api == ProviderApi::kEc2Fleet && t_.fleet_type != FleetType::kInstant) {
      Bad(key, "AWS uses capacity reservations first only in an EC2 Fleet of type instant");
    }
  }

  void ParseAbis() {
    std::string key;
    const Json* v = Get({"abisInstanceRequirements", "abis_instance_requirements"}, &key);
    if (v == nullptr) return;
    if (!v->is_object()) {
      Bad(key, "must be an object (EC2 InstanceRequirements), got " + KindOf(*v));
      return;
    }
    t_.abis_instance_requirements = *v;
  }

  // Appends type/ncpus/ncores/nram when the file did not give them, from the instance
  // types. type, ncpus and nram are required: failing to derive one is a problem.
  void DeriveMissingAttributes() {
    std::vector<std::string> missing, missing_required;
    for (const char* name : {"type", "ncpus", "ncores", "nram"}) {
      if (t_.FindAttribute(name) != nullptr) continue;
      missing.push_back(name);
      if (std::string_view(name) != "ncores") missing_required.push_back(name);
    }
    if (missing.empty()) return;

    std::vector<std::string> types;
    for (const TypeList* list : {&t_.vm_types, &t_.vm_types_on_demand, &t_.vm_types_priority}) {
      for (const auto& [name, n] : *list) {
        if (std::find(types.begin(), types.end(), name) == types.end()) types.push_back(name);
      }
    }
    std::string why;
    std::optional<DerivedAttributes> derived;
    if (types.empty()) {
      why = "the template names no instance type to derive them from";
    } else {
      derived = DeriveAttributes(types, facts_ ? facts_(types) : InstanceFactsMap{}, &why);
      if (!derived && why.empty()) why = "the instance types are not known to orb";
    }
    if (!derived) {
      if (missing_required.empty()) return;  // ncores is optional
      std::vector<std::string> quoted;
      for (const std::string& m : missing_required) quoted.push_back("'" + m + "'");
      Bad("attributes", "missing " + Join(quoted, ", ") + " and cannot derive " +
                            (quoted.size() == 1 ? "it" : "them") + ": " + why +
                            "; write them in attributes, e.g. \"ncpus\": [\"Numeric\", \"2\"]");
      return;
    }
    for (const std::string& m : missing) {
      if (m == "type") t_.attributes.push_back({"type", "String", derived->type});
      if (m == "ncpus") {
        t_.attributes.push_back({"ncpus", "Numeric", std::to_string(derived->ncpus)});
      }
      if (m == "ncores") {
        t_.attributes.push_back({"ncores", "Numeric", std::to_string(derived->ncores)});
      }
      if (m == "nram") {
        t_.attributes.push_back({"nram", "Numeric", std::to_string(derived->nram_mib)});
      }
    }
  }

  const Json& obj_;
  std::size_t index_;
  std::map<std::string, std::size_t>* seen_ids_;
  Reporter& rep_;
  const InstanceFactsSource& facts_;
  Template t_;
  std::string who_;
  bool snake_ = false;
  bool ok_ = true;
  std::string heterogeneous_key_;
};

}  // namespace

std::string FindTemplatesFile(const std::string& conf_dir, const std::string& provider_name,
                              std::vector<std::string>* looked_at) {
  const fs::path dir(conf_dir);
  std::vector<std::string> names;
  if (!provider_name.empty()) names.push_back(provider_name + "prov_templates.json");
  for (const char* n :
       {"awsprov_templates.json", "templates.json", "templates.yaml", "templates.yml"}) {
    names.emplace_back(n);
  }
  for (const std::string& name : names) {
    const std::string path = (dir / name).string();
    if (looked_at != nullptr) looked_at->push_back(path);
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return path;
  }
  if (looked_at != nullptr) looked_at->push_back((dir / "*_templates.json").string());
  std::vector<std::string> matches;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string suffix = "_templates.json";
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::error_code ec2;
      if (fs::is_regular_file(it->path(), ec2)) matches.push_back(it->path().string());
    }
  }
  if (matches.empty()) return "";
  return *std::min_element(matches.begin(), matches.end());
}

std::vector<Template> ParseTemplates(const nlohmann::ordered_json& doc, const std::string& source,
                                     std::vector<std::string>* problems,
                                     const InstanceFactsSource& facts) {
  Reporter rep(source, problems);
  const Json* list = nullptr;
  if (doc.is_array()) {
    list = &doc;
  } else if (doc.is_object()) {
    auto it = doc.find("templates");
    if (it == doc.end()) {
      rep.File("has no \"templates\" list: expected {\"templates\": [...]}");
      return {};
    }
    if (!it->is_array()) {
      rep.File("\"templates\" must be an array of template objects, got " + KindOf(*it));
      return {};
    }
    list = &*it;
  } else {
    rep.File("must hold {\"templates\": [...]} or an array of templates, got " + KindOf(doc));
    return {};
  }
  if (list->empty()) {
    rep.File("lists no templates: HostFactory needs at least one");
    return {};
  }

  std::vector<Template> out;
  std::map<std::string, std::size_t> seen_ids;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    if (!item.is_object()) {
      rep.TemplateProblem("template at index " + std::to_string(i),
                          "must be an object, got " + KindOf(item));
      continue;
    }
    TemplateParser parser(item, i, source, &seen_ids, &rep, &facts);
    Template t = parser.Parse();
    if (parser.ok()) out.push_back(std::move(t));
  }
  return out;
}

std::vector<Template> LoadTemplatesFile(const std::string& path,
                                        const InstanceFactsSource& facts) {
  return ParseTemplates(ReadDocument(path), path, nullptr, facts);
}

std::vector<std::string> ValidateTemplatesFile(const std::string& path, std::vector<Template>* out,
                                               const InstanceFactsSource& facts) {
  std::vector<std::string> problems;
  Json doc;
  try {
    doc = ReadDocument(path);
  } catch (const Error& e) {
    problems.emplace_back(e.what());
    return problems;
  }
  std::vector<Template> templates = ParseTemplates(doc, path, &problems, facts);
  if (out != nullptr) *out = std::move(templates);
  return problems;
}

std::vector<std::string> TemplateWarnings(const Template& t) {
  std::vector<std::string> warnings;
  const std::string who = t.source_file + ": template '" + t.template_id + "'";
  if (t.provider_api == ProviderApi::kRunInstances || t.provider_api == ProviderApi::kAsg) {
    for (const char* key : {"fleetType", "fleet_type"}) {
      auto it = t.raw.find(key);
      if (it != t.raw.end() && !it->is_null()) {
        warnings.push_back(who + " field '" + key + "': ignored: " +
                           std::string(ProviderApiName(t.provider_api)) +
                           " has no fleet type (it applies to EC2Fleet and SpotFleet)");
      }
    }
  }
  if (t.provider_api != ProviderApi::kEc2Fleet && !t.capacity_reservation_preference.empty()) {
    warnings.push_back(who + " field 'capacityReservationPreference': ignored: only an EC2Fleet " +
                       "of type instant uses capacity reservations first");
  }
  if (!t.user_data_script.empty() && !t.user_data.empty()) {
    warnings.push_back(who + " field 'userData': ignored: the template also gives " +
                       "userDataScript, whose file is what is sent");
  }
  return warnings;
}

nlohmann::ordered_json TemplateRecord(const Template& t) {
  Json rec = Json::object();
  rec["template_id"] = t.template_id;
  rec["max_number"] = t.max_number;
  Json attributes = Json::object();
  for (const Attribute& a : t.attributes) attributes[a.name] = Json::array({a.type, a.value});
  rec["attributes"] = std::move(attributes);
  static const std::set<std::string> kEmitted = {"templateId", "template_id", "maxNumber",
                                                 "max_number", "attributes"};
  for (const auto& [key, value] : t.raw.items()) {
    if (kEmitted.count(key) != 0) continue;
    const std::string snake = CamelToSnake(key);
    if (rec.contains(snake)) continue;
    rec[snake] = value;
  }
  // How the template launches, as orb understood it, also when the file relied on
  // defaults.
  if (!rec.contains("provider_api")) rec["provider_api"] = std::string(ProviderApiName(t.provider_api));
  if (t.fleet_type && !rec.contains("fleet_type")) {
    rec["fleet_type"] = std::string(FleetTypeName(*t.fleet_type));
  }
  if (!rec.contains("price_type")) rec["price_type"] = std::string(PriceTypeName(t.price_type));
  return rec;
}

}  // namespace orb
