#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace orb {

// One HostFactory attribute: `"ncpus": ["Numeric", "2"]`.
struct Attribute {
  std::string name;   // "type", "ncpus", "nram", "ncores", "rank", "priceInfo", ...
  std::string type;   // "String", "Numeric" or "Boolean"
  std::string value;  // always a string on the wire
};

// Which AWS API launches a template's machines.
enum class ProviderApi { kRunInstances, kEc2Fleet, kSpotFleet, kAsg };

// "RunInstances", "EC2Fleet", "SpotFleet" or "ASG".
std::string_view ProviderApiName(ProviderApi api);

// Parses a provider API name in any casing and with or without separators
// ("ec2_fleet", "EC2Fleet", "spot-fleet", "asg", "AutoScalingGroup"); nullopt otherwise.
std::optional<ProviderApi> ParseProviderApi(std::string_view name);

// How an EC2 Fleet / Spot Fleet behaves after launch.
enum class FleetType { kInstant, kRequest, kMaintain };

// "instant", "request" or "maintain".
std::string_view FleetTypeName(FleetType t);

// Parses a fleet type in any casing; nullopt otherwise.
std::optional<FleetType> ParseFleetType(std::string_view name);

// On-demand or spot capacity.
enum class PriceType { kOnDemand, kSpot };

// "ondemand" or "spot".
std::string_view PriceTypeName(PriceType t);

// Parses "ondemand"/"on-demand"/"on_demand"/"spot" in any casing; nullopt otherwise.
std::optional<PriceType> ParsePriceType(std::string_view name);

// A template: what HostFactory may ask for, and how to launch it. Plain data,
// filled by the template loader.
struct Template {
  std::string template_id;  // [A-Za-z0-9_-]{1,64}
  int max_number = -1;      // -1 unlimited, 0 do not use
  std::vector<Attribute> attributes;  // in file order; derived ones appended

  ProviderApi provider_api = ProviderApi::kRunInstances;
  std::optional<FleetType> fleet_type;  // EC2Fleet / SpotFleet only
  PriceType price_type = PriceType::kOnDemand;

  std::string image_id;  // AMI id or SSM parameter path
  // Instance types with their weights (capacity units), in file order. One entry
  // with weight 1 for a plain `vmType`.
  std::vector<std::pair<std::string, int>> vm_types;
  std::vector<std::pair<std::string, int>> vm_types_on_demand;
  std::vector<std::pair<std::string, int>> vm_types_priority;
  std::vector<std::string> subnet_ids;
  std::vector<std::string> security_group_ids;
  std::string key_name;
  std::vector<std::pair<std::string, std::string>> instance_tags;  // in file order
  std::string user_data_script;  // path of a script sent as user data
  std::string user_data;         // inline user data, if the file gave it
  std::optional<double> max_spot_price;
  std::string fleet_role;
  std::string allocation_strategy;           // as written; handlers map it per API
  std::string allocation_strategy_on_demand;  // as written
  std::optional<int> percent_on_demand;       // 0..100
  std::optional<int> root_device_volume_size;  // GiB
  std::string volume_type;
  std::optional<int> iops;
  std::string instance_profile;
  std::string launch_template_id;
  std::string launch_template_version;
  std::string spot_fleet_request_expiry;  // minutes or a timestamp, as written
  nlohmann::ordered_json abis_instance_requirements;  // null when absent
  std::string context;  // the Context of an EC2 Fleet, Spot Fleet or Auto Scaling group
  // capacityReservationPreference: "use-capacity-reservations-first" lets an instant EC2
  // Fleet's on-demand part use open Capacity Reservations first; "" = none.
  std::string capacity_reservation_preference;
  // capacityPolicy "all-or-nothing": a request gets every unit it asks for or none
  // (what a short launch got is terminated). Default "best-effort": a request keeps
  // what the pools could give.
  bool all_or_nothing = false;
  // associatePublicIpAddress: whether instances get a public IPv4 address; unset =
  // the subnet's default (MapPublicIpOnLaunch).
  std::optional<bool> associate_public_ip;
  // providerName: the one provider instance that launches this template ("" = see
  // providers, else the default instance).
  std::string provider_name;
  // providers: the instances a request may be launched by, in preference order
  // (empty = provider_name, else the default instance).
  std::vector<std::string> providers;
  // providerSelection: how `providers` are chosen from: "first-available" (default),
  // "round-robin" or "weighted".
  std::string provider_selection = "first-available";

  // Every key of the template object as written in the file (the provider's keys
  // are passed through to HostFactory unchanged).
  nlohmann::ordered_json raw = nlohmann::ordered_json::object();
  std::string source_file;  // where it was loaded from

  // Returns the attribute named `name`, or nullptr.
  const Attribute* FindAttribute(std::string_view name) const;

  // The instance type names, in file order.
  std::vector<std::string> InstanceTypeNames() const;
};

// True when `id` is a valid template id: 1 to 64 of [A-Za-z0-9_-].
bool IsValidTemplateId(std::string_view id);

// The tags orb puts on everything it launches (instances, volumes, fleets, groups,
// launch templates), ahead of a template's own instanceTags: the key of the
// reconciler's and of crash recovery's searches (design.md, invariant 3).
inline constexpr const char* kTagManagedBy = "orb:managed-by";
inline constexpr const char* kTagBrokerId = "orb:broker-id";
inline constexpr const char* kTagRequestId = "orb:request-id";
inline constexpr const char* kTagTemplateId = "orb:template-id";
inline constexpr std::array<const char*, 4> kOrbTagKeys = {kTagManagedBy, kTagBrokerId,
                                                           kTagRequestId, kTagTemplateId};

// AWS's tag rules (EC2, Auto Scaling): at most 50 tags per resource, orb's included;
// a key is 1 to 128 characters (Unicode characters in UTF-8), a value 0 to 256.
inline constexpr std::size_t kMaxTagsPerResource = 50;
inline constexpr std::size_t kMaxTemplateTags = kMaxTagsPerResource - kOrbTagKeys.size();
inline constexpr std::size_t kMaxTagKeyChars = 128;
inline constexpr std::size_t kMaxTagValueChars = 256;

// Why `key` cannot be the key of a template's instance tag ("" when it can): empty,
// longer than 128 characters, not UTF-8, a control character, the prefix "aws:" in
// any casing (AWS's), or one of orb's own keys.
std::string TagKeyProblem(std::string_view key);

// Why `value` cannot be a tag value ("" when it can): longer than 256 characters, not
// UTF-8, or a control character.
std::string TagValueProblem(std::string_view value);

// EC2 accepts at most 16 KB of user data, counted in raw form, before base64 encoding.
inline constexpr std::size_t kMaxUserDataBytes = 16 * 1024;

// "<file>: template '<id>' field '<field>': <message>", the form of every template
// problem.
std::string TemplateFieldMessage(const Template& t, std::string_view field,
                                 std::string_view message);

// The user data `t` sends: the content of its userDataScript file, else its inline
// userData. Throws Error(kInvalidConfig) naming the template and the field when the
// file is missing, not a regular file or unreadable, or when the data is over
// kMaxUserDataBytes. (The one model function that reads a file: launches and
// `orb templates validate` share it.)
std::string ReadUserData(const Template& t);

}  // namespace orb
