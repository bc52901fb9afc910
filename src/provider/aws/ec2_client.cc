#include "provider/aws/ec2_client.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "common/error.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/aws_xml.h"
#include "provider/aws/instance_requirements.h"

namespace orb {
namespace {

namespace x = aws_xml;

using Ids = std::vector<std::string>;

constexpr const char* kNotFound = "InvalidInstanceID.NotFound";
constexpr const char* kMalformed = "InvalidInstanceID.Malformed";

// ---------------------------------------------------------------------------
// Checks done before anything is sent

void RequireClientToken(std::string_view action, const std::string& token) {
  if (token.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                std::string(action) +
                    " needs a ClientToken (the idempotency token of the request it serves); "
                    "none was given");
  }
  if (token.size() > 64) {
    throw Error(ErrorCode::kInvalidInput, std::string(action) + ": ClientToken '" + token +
                                              "' is longer than AWS's 64 characters");
  }
  for (unsigned char c : token) {
    if (c < 0x20 || c > 0x7e) {
      throw Error(ErrorCode::kInvalidInput,
                  std::string(action) + ": ClientToken must be printable ASCII");
    }
  }
}

void CheckUserData(std::string_view action, const std::string& user_data) {
  if (user_data.size() > Ec2Client::kMaxUserDataBytes) {
    throw Error(ErrorCode::kInvalidInput,
                std::string(action) + ": user data is " + std::to_string(user_data.size()) +
                    " bytes; AWS accepts at most 16384 (16 KB) before base64 encoding");
  }
}

// ---------------------------------------------------------------------------
// Query parameter building

std::string Num(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void AddIf(QueryParams& p, const std::string& name, const std::string& value) {
  if (!value.empty()) p.Add(name, value);
}

void AddIf(QueryParams& p, const std::string& name, const std::optional<bool>& value) {
  if (value) p.Add(name, Bool(*value));
}

void AddIf(QueryParams& p, const std::string& name, const std::optional<int>& value) {
  if (value) p.Add(name, std::to_string(*value));
}

void AddTime(QueryParams& p, const std::string& name, EpochSeconds t) {
  if (t != 0) p.Add(name, FormatIso8601(t));
}

// Filter.N.Name / Filter.N.Value.M
void AddFilters(QueryParams& p, const std::vector<Filter>& filters) {
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const std::string prefix = "Filter." + std::to_string(i + 1);
    p.Add(prefix + ".Name", filters[i].name);
    p.AddList(prefix + ".Value", filters[i].values);
  }
}

// prefix.N.Key / prefix.N.Value
void AddTags(QueryParams& p, const std::string& prefix, const std::vector<Tag>& tags) {
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const std::string t = prefix + "." + std::to_string(i + 1);
    p.Add(t + ".Key", tags[i].key);
    p.Add(t + ".Value", tags[i].value);
  }
}

// prefix.N.ResourceType / prefix.N.Tag.M.Key / .Value
void AddTagSpecifications(QueryParams& p, const std::string& prefix,
                          const std::vector<TagSpecification>& specs) {
  std::size_t n = 0;
  for (const TagSpecification& spec : specs) {
    if (spec.tags.empty()) continue;
    const std::string s = prefix + "." + std::to_string(++n);
    p.Add(s + ".ResourceType", spec.resource_type);
    AddTags(p, s + ".Tag", spec.tags);
  }
}

void AddLaunchTemplateSpec(QueryParams& p, const std::string& prefix,
                           const LaunchTemplateSpec& spec) {
  AddIf(p, prefix + ".LaunchTemplateId", spec.id);
  if (spec.id.empty()) AddIf(p, prefix + ".LaunchTemplateName", spec.name);
  AddIf(p, prefix + ".Version", spec.version);
}

// EC2 Fleet overrides call the price MaxPrice; Spot Fleet's call it SpotPrice and
// take no ImageId.
void AddLaunchTemplateConfigs(QueryParams& p, const std::string& prefix,
                              const std::vector<FleetLaunchTemplateConfig>& configs,
                              bool spot_fleet) {
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const std::string c = prefix + "." + std::to_string(i + 1);
    AddLaunchTemplateSpec(p, c + ".LaunchTemplateSpecification", configs[i].launch_template);
    const auto& overrides = configs[i].overrides;
    for (std::size_t j = 0; j < overrides.size(); ++j) {
      const FleetOverride& o = overrides[j];
      const std::string op = c + ".Overrides." + std::to_string(j + 1);
      AddIf(p, op + ".InstanceType", o.instance_type);
      AddIf(p, op + ".SubnetId", o.subnet_id);
      AddIf(p, op + ".AvailabilityZone", o.availability_zone);
      if (o.weighted_capacity) p.Add(op + ".WeightedCapacity", Num(*o.weighted_capacity));
      if (o.priority) p.Add(op + ".Priority", Num(*o.priority));
      AddIf(p, op + (spot_fleet ? ".SpotPrice" : ".MaxPrice"), o.max_price);
      if (!spot_fleet) AddIf(p, op + ".ImageId", o.image_id);
      AddInstanceRequirements(
          p, op + ".InstanceRequirements", o.instance_requirements,
          spot_fleet ? RequirementsDialect::kSpotFleet : RequirementsDialect::kEc2);
    }
  }
}

void AddTargetCapacity(QueryParams& p, const std::string& prefix, const TargetCapacitySpec& t) {
  p.Add(prefix + ".TotalTargetCapacity", std::to_string(t.total));
  AddIf(p, prefix + ".OnDemandTargetCapacity", t.on_demand);
  AddIf(p, prefix + ".SpotTargetCapacity", t.spot);
  AddIf(p, prefix + ".DefaultTargetCapacityType", t.default_target_capacity_type);
  AddIf(p, prefix + ".TargetCapacityUnitType", t.target_capacity_unit_type);
}

void AddBlockDevices(QueryParams& p, const std::string& prefix,
                     const std::vector<BlockDeviceMapping>& devices) {
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const BlockDeviceMapping& d = devices[i];
    const std::string b = prefix + "." + std::to_string(i + 1);
    p.Add(b + ".DeviceName", d.device_name);
    if (d.no_device) {
      p.Add(b + ".NoDevice", "");
      continue;
    }
    if (!d.virtual_name.empty()) {
      p.Add(b + ".VirtualName", d.virtual_name);
      continue;
    }
    const std::string e = b + ".Ebs";
    if (d.volume_size_gib > 0) p.Add(e + ".VolumeSize", std::to_string(d.volume_size_gib));
    AddIf(p, e + ".VolumeType", d.volume_type);
    if (d.iops > 0) p.Add(e + ".Iops", std::to_string(d.iops));
    if (d.throughput_mibps > 0) p.Add(e + ".Throughput", std::to_string(d.throughput_mibps));
    AddIf(p, e + ".SnapshotId", d.snapshot_id);
    AddIf(p, e + ".KmsKeyId", d.kms_key_id);
    AddIf(p, e + ".DeleteOnTermination", d.delete_on_termination);
    AddIf(p, e + ".Encrypted", d.encrypted);
  }
}

void AddSpotMarket(QueryParams& p, const std::string& prefix, const SpotMarketOptions& spot) {
  p.Add(prefix + ".MarketType", "spot");
  AddIf(p, prefix + ".SpotOptions.MaxPrice", spot.max_price);
  AddIf(p, prefix + ".SpotOptions.SpotInstanceType", spot.spot_instance_type);
  AddIf(p, prefix + ".SpotOptions.InstanceInterruptionBehavior",
        spot.instance_interruption_behavior);
}

void AddLaunchTemplateData(QueryParams& p, const LaunchTemplateData& d) {
  const std::string pre = "LaunchTemplateData";
  AddIf(p, pre + ".ImageId", d.image_id);
  AddIf(p, pre + ".InstanceType", d.instance_type);
  AddIf(p, pre + ".KeyName", d.key_name);
  if (d.associate_public_ip) {
    const std::string ni = pre + ".NetworkInterface.1";
    p.Add(ni + ".DeviceIndex", "0");
    p.Add(ni + ".AssociatePublicIpAddress", *d.associate_public_ip ? "true" : "false");
    p.Add(ni + ".DeleteOnTermination", "true");
    p.AddList(ni + ".SecurityGroupId", d.security_group_ids);
  } else {
    p.AddList(pre + ".SecurityGroupId", d.security_group_ids);
  }
  if (!d.user_data.empty()) p.Add(pre + ".UserData", Base64(d.user_data));
  AddIf(p, pre + ".IamInstanceProfile.Arn", d.iam_instance_profile_arn);
  if (d.iam_instance_profile_arn.empty()) {
    AddIf(p, pre + ".IamInstanceProfile.Name", d.iam_instance_profile_name);
  }
  AddBlockDevices(p, pre + ".BlockDeviceMapping", d.block_device_mappings);
  if (d.spot) AddSpotMarket(p, pre + ".InstanceMarketOptions", *d.spot);
  AddIf(p, pre + ".EbsOptimized", d.ebs_optimized);
  AddIf(p, pre + ".MetadataOptions.HttpTokens", d.http_tokens);
  AddTagSpecifications(p, pre + ".TagSpecification", d.tag_specifications);
}

// ---------------------------------------------------------------------------
// Answer parsing

std::vector<Tag> ParseTags(pugi::xml_node tag_set) {
  std::vector<Tag> tags;
  x::ForEach(tag_set, "item", [&](pugi::xml_node item) {
    tags.push_back({x::Text(item, "key"), x::Text(item, "value")});
  });
  return tags;
}

LaunchTemplateSpec ParseLaunchTemplateSpec(pugi::xml_node n) {
  return {x::Text(n, "launchTemplateId"), x::Text(n, "launchTemplateName"), x::Text(n, "version")};
}

FleetOverride ParseOverride(pugi::xml_node n) {
  FleetOverride o;
  o.instance_type = x::Text(n, "instanceType");
  o.subnet_id = x::Text(n, "subnetId");
  o.availability_zone = x::Text(n, "availabilityZone");
  if (n.child("weightedCapacity")) o.weighted_capacity = x::Double(n, "weightedCapacity");
  if (n.child("priority")) o.priority = x::Double(n, "priority");
  o.max_price = x::Text(n, "maxPrice");
  o.image_id = x::Text(n, "imageId");
  return o;
}

FleetPool ParsePool(pugi::xml_node item) {
  FleetPool pool;
  pugi::xml_node lto = item.child("launchTemplateAndOverrides");
  pool.launch_template = ParseLaunchTemplateSpec(lto.child("launchTemplateSpecification"));
  pool.override = ParseOverride(lto.child("overrides"));
  pool.lifecycle = x::Text(item, "lifecycle");
  return pool;
}

std::vector<FleetError> ParseFleetErrors(pugi::xml_node error_set) {
  std::vector<FleetError> errors;
  x::ForEach(error_set, "item", [&](pugi::xml_node item) {
    errors.push_back({ParsePool(item), x::Text(item, "errorCode"), x::Text(item, "errorMessage")});
  });
  return errors;
}

std::vector<FleetInstances> ParseFleetInstanceSets(pugi::xml_node instance_set) {
  std::vector<FleetInstances> sets;
  x::ForEach(instance_set, "item", [&](pugi::xml_node item) {
    FleetInstances s;
    s.pool = ParsePool(item);
    s.instance_type = x::Text(item, "instanceType");
    x::ForEach(item.child("instanceIds"), "item",
               [&](pugi::xml_node id) { s.instance_ids.push_back(x::Text(id)); });
    sets.push_back(std::move(s));
  });
  return sets;
}

TargetCapacitySpec ParseTargetCapacity(pugi::xml_node n) {
  TargetCapacitySpec t;
  t.total = static_cast<int>(x::Int(n, "totalTargetCapacity"));
  if (n.child("onDemandTargetCapacity")) {
    t.on_demand = static_cast<int>(x::Int(n, "onDemandTargetCapacity"));
  }
  if (n.child("spotTargetCapacity")) t.spot = static_cast<int>(x::Int(n, "spotTargetCapacity"));
  t.default_target_capacity_type = x::Text(n, "defaultTargetCapacityType");
  t.target_capacity_unit_type = x::Text(n, "targetCapacityUnitType");
  return t;
}

Fleet ParseFleet(pugi::xml_node item) {
  Fleet f;
  f.fleet_id = x::Text(item, "fleetId");
  f.state = x::Text(item, "fleetState");
  f.activity_status = x::Text(item, "activityStatus");
  f.type = x::Text(item, "type");
  f.client_token = x::Text(item, "clientToken");
  f.target_capacity = ParseTargetCapacity(item.child("targetCapacitySpecification"));
  f.fulfilled_capacity = x::Double(item, "fulfilledCapacity");
  f.fulfilled_on_demand_capacity = x::Double(item, "fulfilledOnDemandCapacity");
  f.create_time = x::Time(item, "createTime");
  f.tags = ParseTags(item.child("tagSet"));
  f.errors = ParseFleetErrors(item.child("errorSet"));
  f.instances = ParseFleetInstanceSets(item.child("fleetInstanceSet"));
  return f;
}

FleetInstance ParseFleetInstance(pugi::xml_node item) {
  return {x::Text(item, "instanceId"), x::Text(item, "instanceType"),
          x::Text(item, "spotInstanceRequestId"), x::Text(item, "instanceHealth")};
}

LaunchTemplate ParseLaunchTemplate(pugi::xml_node n) {
  LaunchTemplate t;
  t.launch_template_id = x::Text(n, "launchTemplateId");
  t.launch_template_name = x::Text(n, "launchTemplateName");
  t.default_version = x::Int(n, "defaultVersionNumber");
  t.latest_version = x::Int(n, "latestVersionNumber");
  t.create_time = x::Time(n, "createTime");
  t.tags = ParseTags(n.child("tagSet"));
  return t;
}

// ---------------------------------------------------------------------------
// Batching

Ids Dedupe(const Ids& ids) {
  Ids out;
  out.reserve(ids.size());
  std::unordered_set<std::string> seen;
  for (const std::string& id : ids) {
    if (!id.empty() && seen.insert(id).second) out.push_back(id);
  }
  return out;
}

std::vector<Ids> Chunks(const Ids& ids, std::size_t size) {
  std::vector<Ids> chunks;
  for (std::size_t i = 0; i < ids.size(); i += size) {
    chunks.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(i),
                        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i + size)));
  }
  return chunks;
}

bool IsInstanceIdError(const AwsError& e) {
  return e.aws_code() == kNotFound || e.aws_code() == kMalformed;
}

// The ids of `chunk` that `message` names (AWS: "The instance IDs 'i-1, i-2' do
// not exist", "Invalid id: \"i-x\"").
Ids NamedIds(std::string_view message, const Ids& chunk) {
  std::unordered_set<std::string_view> words;
  std::size_t start = std::string_view::npos;
  auto is_word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  };
  for (std::size_t i = 0; i <= message.size(); ++i) {
    const bool w = i < message.size() && is_word(message[i]);
    if (w && start == std::string_view::npos) start = i;
    if (!w && start != std::string_view::npos) {
      words.insert(message.substr(start, i - start));
      start = std::string_view::npos;
    }
  }
  Ids named;
  for (const std::string& id : chunk) {
    if (words.count(id)) named.push_back(id);
  }
  return named;
}

Ids Without(const Ids& ids, const Ids& drop) {
  std::unordered_set<std::string> d(drop.begin(), drop.end());
  Ids out;
  for (const std::string& id : ids) {
    if (!d.count(id)) out.push_back(id);
  }
  return out;
}

// Runs `call(chunk)`. When AWS refuses the whole call because of some instance
// ids (NotFound / Malformed), records the ids it names in `refused` and retries
// the rest once; if that is refused too, hands the rest to `fallback`. Other
// errors propagate.
void WithInstanceIdRecovery(const Ids& chunk, const std::function<void(const Ids&)>& call,
                            const std::function<void(const Ids&)>& fallback,
                            std::vector<InstanceFailure>& refused) {
  Ids rest;
  try {
    call(chunk);
    return;
  } catch (const AwsError& e) {
    if (!IsInstanceIdError(e)) throw;
    const Ids named = NamedIds(e.what(), chunk);
    for (const std::string& id : named) refused.push_back({id, e.aws_code(), e.what()});
    rest = Without(chunk, named);
    if (rest.empty()) return;
    if (named.empty()) {
      fallback(rest);
      return;
    }
  }
  try {
    call(rest);
  } catch (const AwsError& e) {
    if (!IsInstanceIdError(e)) throw;
    fallback(rest);
  }
}

void Ec2Paginate(AwsClient& aws, std::string_view action, const QueryParams& params,
                 const std::function<void(pugi::xml_node)>& page) {
  x::ForEachPage(aws, AwsService::kEc2, action, params, "nextToken", nullptr, page);
}

QueryResponse Ec2Call(AwsClient& aws, std::string_view action, const QueryParams& params) {
  return aws.CallQuery(AwsService::kEc2, action, params);
}

}  // namespace

// ---------------------------------------------------------------------------
// Parsers exposed for benchmarks and recorded-answer tests

Instance ParseEc2Instance(pugi::xml_node item, const std::string& reservation_id) {
  Instance i;
  i.instance_id = x::Text(item, "instanceId");
  pugi::xml_node state = item.child("instanceState");
  i.state = x::Text(state, "name");
  i.state_code = static_cast<int>(x::Int(state, "code"));
  pugi::xml_node reason = item.child("stateReason");
  i.state_reason_code = x::Text(reason, "code");
  i.state_reason_message = x::Text(reason, "message");
  i.private_dns_name = x::Text(item, "privateDnsName");
  i.private_ip = x::Text(item, "privateIpAddress");
  i.public_ip = x::Text(item, "ipAddress");
  i.instance_type = x::Text(item, "instanceType");
  i.availability_zone = x::PathText(item, "placement/availabilityZone");
  i.subnet_id = x::Text(item, "subnetId");
  i.vpc_id = x::Text(item, "vpcId");
  i.image_id = x::Text(item, "imageId");
  i.launch_time = x::Time(item, "launchTime");
  i.lifecycle = x::Text(item, "instanceLifecycle");
  i.spot_instance_request_id = x::Text(item, "spotInstanceRequestId");
  i.client_token = x::Text(item, "clientToken");
  i.reservation_id = reservation_id;
  i.tags = ParseTags(item.child("tagSet"));
  return i;
}

std::vector<Instance> ParseDescribeInstancesPage(pugi::xml_node root, std::string* next_token) {
  std::vector<Instance> instances;
  x::ForEach(root.child("reservationSet"), "item", [&](pugi::xml_node reservation) {
    const std::string reservation_id = x::Text(reservation, "reservationId");
    x::ForEach(reservation.child("instancesSet"), "item", [&](pugi::xml_node item) {
      instances.push_back(ParseEc2Instance(item, reservation_id));
    });
  });
  if (next_token != nullptr) *next_token = x::Text(root, "nextToken");
  return instances;
}

std::vector<std::string> CreateFleetResult::InstanceIds() const {
  std::vector<std::string> ids;
  for (const FleetInstances& s : instances) {
    ids.insert(ids.end(), s.instance_ids.begin(), s.instance_ids.end());
  }
  return ids;
}

// ---------------------------------------------------------------------------
// Instances

QueryParams Ec2Client::BuildRunInstances(const RunInstancesRequest& r) {
  RequireClientToken("RunInstances", r.client_token);
  CheckUserData("RunInstances", r.user_data);
  QueryParams p;
  p.Add("ClientToken", r.client_token);
  if (r.launch_template) AddLaunchTemplateSpec(p, "LaunchTemplate", *r.launch_template);
  AddIf(p, "ImageId", r.image_id);
  AddIf(p, "InstanceType", r.instance_type);
  p.Add("MinCount", std::to_string(r.min_count));
  p.Add("MaxCount", std::to_string(r.max_count));
  if (r.associate_public_ip) {
    // The primary interface, described explicitly: the subnet and security groups
    // belong in it (EC2 refuses them beside it).
    p.Add("NetworkInterface.1.DeviceIndex", "0");
    p.Add("NetworkInterface.1.AssociatePublicIpAddress", *r.associate_public_ip ? "true" : "false");
    p.Add("NetworkInterface.1.DeleteOnTermination", "true");
    AddIf(p, "NetworkInterface.1.SubnetId", r.subnet_id);
    p.AddList("NetworkInterface.1.SecurityGroupId", r.security_group_ids);
  } else {
    AddIf(p, "SubnetId", r.subnet_id);
    p.AddList("SecurityGroupId", r.security_group_ids);
  }
  AddIf(p, "Placement.AvailabilityZone", r.availability_zone);
  AddIf(p, "KeyName", r.key_name);
  if (!r.user_data.empty()) p.Add("UserData", Base64(r.user_data));
  AddIf(p, "IamInstanceProfile.Arn", r.iam_instance_profile_arn);
  if (r.iam_instance_profile_arn.empty()) {
    AddIf(p, "IamInstanceProfile.Name", r.iam_instance_profile_name);
  }
  AddBlockDevices(p, "BlockDeviceMapping", r.block_device_mappings);
  if (r.spot) AddSpotMarket(p, "InstanceMarketOptions", *r.spot);
  AddIf(p, "EbsOptimized", r.ebs_optimized);
  AddIf(p, "MetadataOptions.HttpTokens", r.http_tokens);
  AddTagSpecifications(p, "TagSpecification", r.tag_specifications);
  return p;
}

RunInstancesResult Ec2Client::RunInstances(const RunInstancesRequest& r) {
  return RunInstances(BuildRunInstances(r));
}

RunInstancesResult Ec2Client::RunInstances(const QueryParams& p) {
  RequireClientToken("RunInstances", p.Get("ClientToken"));
  const QueryResponse resp = Ec2Call(aws_, "RunInstances", p);
  RunInstancesResult result;
  pugi::xml_node root = resp.root();
  result.reservation_id = x::Text(root, "reservationId");
  x::ForEach(root.child("instancesSet"), "item", [&](pugi::xml_node item) {
    result.instances.push_back(ParseEc2Instance(item, result.reservation_id));
  });
  return result;
}

DescribeInstancesResult Ec2Client::DescribeInstancesById(const std::vector<std::string>& ids) {
  DescribeInstancesResult result;
  const Ids unique = Dedupe(ids);
  auto by_ids = [&](const Ids& chunk) {
    // Without MaxResults AWS answers every id at once; NextToken is followed anyway.
    QueryParams p;
    p.AddList("InstanceId", chunk);
    std::vector<Instance> found;
    Ec2Paginate(aws_, "DescribeInstances", p, [&](pugi::xml_node root) {
      auto page = ParseDescribeInstancesPage(root, nullptr);
      std::move(page.begin(), page.end(), std::back_inserter(found));
    });
    std::move(found.begin(), found.end(), std::back_inserter(result.instances));
  };
  // A filter on instance-id never fails for unknown ids.
  auto by_filter = [&](const Ids& rest) {
    for (const Ids& part : Chunks(rest, kMaxFilterValues)) {
      auto found = DescribeInstancesByFilter({{"instance-id", part}});
      std::move(found.begin(), found.end(), std::back_inserter(result.instances));
    }
  };
  std::vector<InstanceFailure> refused;
  for (const Ids& chunk : Chunks(unique, kMaxDescribeInstanceIds)) {
    WithInstanceIdRecovery(chunk, by_ids, by_filter, refused);
  }
  std::unordered_set<std::string> found;
  for (const Instance& i : result.instances) found.insert(i.instance_id);
  for (const std::string& id : unique) {
    if (!found.count(id)) result.not_found.push_back(id);
  }
  return result;
}

std::vector<Instance> Ec2Client::DescribeInstancesByFilter(const std::vector<Filter>& filters,
                                                           int page_size) {
  QueryParams p;
  AddFilters(p, filters);
  p.Add("MaxResults", std::to_string(std::clamp(page_size, 5, 1000)));
  std::vector<Instance> instances;
  Ec2Paginate(aws_, "DescribeInstances", p, [&](pugi::xml_node root) {
    auto page = ParseDescribeInstancesPage(root, nullptr);
    std::move(page.begin(), page.end(), std::back_inserter(instances));
  });
  return instances;
}

DescribeInstanceStatusResult Ec2Client::DescribeInstanceStatus(const std::vector<std::string>& ids,
                                                               bool include_all) {
  DescribeInstanceStatusResult result;
  auto call = [&](const Ids& chunk) {
    QueryParams p;
    p.AddList("InstanceId", chunk);
    if (include_all) p.Add("IncludeAllInstances", "true");
    std::vector<InstanceStatus> statuses;
    Ec2Paginate(aws_, "DescribeInstanceStatus", p, [&](pugi::xml_node root) {
      x::ForEach(root.child("instanceStatusSet"), "item", [&](pugi::xml_node item) {
        InstanceStatus s;
        s.instance_id = x::Text(item, "instanceId");
        s.availability_zone = x::Text(item, "availabilityZone");
        s.state = x::PathText(item, "instanceState/name");
        s.system_status = x::PathText(item, "systemStatus/status");
        s.instance_status = x::PathText(item, "instanceStatus/status");
        x::ForEach(item.child("eventsSet"), "item",
                   [&](pugi::xml_node e) { s.event_codes.push_back(x::Text(e, "code")); });
        statuses.push_back(std::move(s));
      });
    });
    std::move(statuses.begin(), statuses.end(), std::back_inserter(result.statuses));
  };
  std::vector<InstanceFailure> refused;
  auto singly = [&](const Ids& rest) {
    for (const std::string& id : rest) {
      try {
        call({id});
      } catch (const AwsError& e) {
        if (!IsInstanceIdError(e)) throw;
        refused.push_back({id, e.aws_code(), e.what()});
      }
    }
  };
  for (const Ids& chunk : Chunks(Dedupe(ids), kMaxInstanceStatusIds)) {
    WithInstanceIdRecovery(chunk, call, singly, refused);
  }
  for (const InstanceFailure& f : refused) result.not_found.push_back(f.instance_id);
  return result;
}

TerminateInstancesResult Ec2Client::TerminateInstances(const std::vector<std::string>& ids) {
  TerminateInstancesResult result;
  auto call = [&](const Ids& chunk) {
    QueryParams p;
    p.AddList("InstanceId", chunk);
    const QueryResponse r = Ec2Call(aws_, "TerminateInstances", p);
    x::ForEach(r.root().child("instancesSet"), "item", [&](pugi::xml_node item) {
      result.terminating.push_back({x::Text(item, "instanceId"),
                                    x::PathText(item, "previousState/name"),
                                    x::PathText(item, "currentState/name")});
    });
  };
  std::vector<InstanceFailure> refused;
  auto singly = [&](const Ids& rest) {
    for (const std::string& id : rest) {
      try {
        call({id});
      } catch (const AwsError& e) {
        if (e.retryable()) throw;
        refused.push_back({id, e.aws_code(), e.what()});
      }
    }
  };
  for (const Ids& chunk : Chunks(Dedupe(ids), kMaxTerminateIds)) {
    WithInstanceIdRecovery(chunk, call, singly, refused);
  }
  for (InstanceFailure& f : refused) {
    if (f.code == kNotFound) {
      result.not_found.push_back(f.instance_id);
    } else {
      result.failed.push_back(std::move(f));
    }
  }
  return result;
}

void Ec2Client::CreateTags(const std::vector<std::string>& resource_ids,
                           const std::vector<Tag>& tags) {
  if (tags.empty()) return;
  for (const Ids& chunk : Chunks(Dedupe(resource_ids), kMaxTagResources)) {
    QueryParams p;
    p.AddList("ResourceId", chunk);
    AddTags(p, "Tag", tags);
    Ec2Call(aws_, "CreateTags", p);
  }
}

// ---------------------------------------------------------------------------
// EC2 Fleet

QueryParams Ec2Client::BuildCreateFleet(const CreateFleetRequest& r) {
  RequireClientToken("CreateFleet", r.client_token);
  QueryParams p;
  p.Add("ClientToken", r.client_token);
  AddIf(p, "Type", r.type);
  AddLaunchTemplateConfigs(p, "LaunchTemplateConfigs", r.launch_template_configs, false);
  AddTargetCapacity(p, "TargetCapacitySpecification", r.target_capacity);
  AddIf(p, "SpotOptions.AllocationStrategy", r.spot_allocation_strategy);
  AddIf(p, "SpotOptions.InstanceInterruptionBehavior", r.spot_instance_interruption_behavior);
  if (r.spot_instance_pools_to_use_count > 0) {
    p.Add("SpotOptions.InstancePoolsToUseCount",
          std::to_string(r.spot_instance_pools_to_use_count));
  }
  AddIf(p, "SpotOptions.MaxTotalPrice", r.spot_max_total_price);
  AddIf(p, "SpotOptions.MinTargetCapacity", r.spot_min_target_capacity);
  AddIf(p, "SpotOptions.SingleInstanceType", r.spot_single_instance_type);
  AddIf(p, "SpotOptions.SingleAvailabilityZone", r.spot_single_availability_zone);
  AddIf(p, "OnDemandOptions.AllocationStrategy", r.on_demand_allocation_strategy);
  AddIf(p, "OnDemandOptions.CapacityReservationOptions.UsageStrategy",
        r.on_demand_capacity_reservation_usage_strategy);
  AddIf(p, "OnDemandOptions.MaxTotalPrice", r.on_demand_max_total_price);
  AddIf(p, "OnDemandOptions.MinTargetCapacity", r.on_demand_min_target_capacity);
  AddIf(p, "ExcessCapacityTerminationPolicy", r.excess_capacity_termination_policy);
  AddIf(p, "TerminateInstancesWithExpiration", r.terminate_instances_with_expiration);
  AddIf(p, "ReplaceUnhealthyInstances", r.replace_unhealthy_instances);
  AddTime(p, "ValidFrom", r.valid_from);
  AddTime(p, "ValidUntil", r.valid_until);
  AddTagSpecifications(p, "TagSpecification", r.tag_specifications);
  AddIf(p, "Context", r.context);
  return p;
}

CreateFleetResult Ec2Client::CreateFleet(const CreateFleetRequest& r) {
  return CreateFleet(BuildCreateFleet(r));
}

CreateFleetResult Ec2Client::CreateFleet(const QueryParams& p) {
  RequireClientToken("CreateFleet", p.Get("ClientToken"));
  const QueryResponse resp = Ec2Call(aws_, "CreateFleet", p);
  pugi::xml_node root = resp.root();
  CreateFleetResult result;
  result.fleet_id = x::Text(root, "fleetId");
  result.errors = ParseFleetErrors(root.child("errorSet"));
  result.instances = ParseFleetInstanceSets(root.child("fleetInstanceSet"));
  return result;
}

std::vector<Fleet> Ec2Client::DescribeFleets(const std::vector<std::string>& fleet_ids,
                                             const std::vector<Filter>& filters) {
  QueryParams p;
  p.AddList("FleetId", fleet_ids);
  AddFilters(p, filters);
  std::vector<Fleet> fleets;
  Ec2Paginate(aws_, "DescribeFleets", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("fleetSet"), "item",
               [&](pugi::xml_node item) { fleets.push_back(ParseFleet(item)); });
  });
  return fleets;
}

std::vector<FleetInstance> Ec2Client::DescribeFleetInstances(const std::string& fleet_id) {
  QueryParams p;
  p.Add("FleetId", fleet_id);
  std::vector<FleetInstance> instances;
  Ec2Paginate(aws_, "DescribeFleetInstances", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("activeInstanceSet"), "item",
               [&](pugi::xml_node item) { instances.push_back(ParseFleetInstance(item)); });
  });
  return instances;
}

bool Ec2Client::ModifyFleet(const ModifyFleetRequest& r) {
  QueryParams p;
  p.Add("FleetId", r.fleet_id);
  if (r.target_capacity) AddTargetCapacity(p, "TargetCapacitySpecification", *r.target_capacity);
  AddIf(p, "ExcessCapacityTerminationPolicy", r.excess_capacity_termination_policy);
  AddLaunchTemplateConfigs(p, "LaunchTemplateConfig", r.launch_template_configs, false);
  const QueryResponse resp = Ec2Call(aws_, "ModifyFleet", p);
  return x::Bool(resp.root(), "return");
}

std::vector<FleetDeletion> Ec2Client::DeleteFleets(const std::vector<std::string>& fleet_ids,
                                                   bool terminate_instances) {
  std::vector<FleetDeletion> out;
  for (const Ids& chunk : Chunks(Dedupe(fleet_ids), kMaxDeleteFleetIds)) {
    QueryParams p;
    p.AddList("FleetId", chunk);
    p.Add("TerminateInstances", Bool(terminate_instances));
    const QueryResponse resp = Ec2Call(aws_, "DeleteFleets", p);
    pugi::xml_node root = resp.root();
    x::ForEach(root.child("successfulFleetDeletionSet"), "item", [&](pugi::xml_node item) {
      out.push_back({x::Text(item, "fleetId"), x::Text(item, "currentFleetState"),
                     x::Text(item, "previousFleetState"), "", ""});
    });
    x::ForEach(root.child("unsuccessfulFleetDeletionSet"), "item", [&](pugi::xml_node item) {
      out.push_back({x::Text(item, "fleetId"), "", "", x::PathText(item, "error/code"),
                     x::PathText(item, "error/message")});
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Spot Fleet

std::string Ec2Client::RequestSpotFleet(const SpotFleetRequestConfig& c) {
  return RequestSpotFleet(BuildRequestSpotFleet(c));
}

std::string Ec2Client::RequestSpotFleet(const QueryParams& p) {
  RequireClientToken("RequestSpotFleet", p.Get("SpotFleetRequestConfig.ClientToken"));
  const QueryResponse resp = Ec2Call(aws_, "RequestSpotFleet", p);
  return x::Text(resp.root(), "spotFleetRequestId");
}

QueryParams Ec2Client::BuildRequestSpotFleet(const SpotFleetRequestConfig& c) {
  RequireClientToken("RequestSpotFleet", c.client_token);
  const std::string pre = "SpotFleetRequestConfig.";
  QueryParams p;
  p.Add(pre + "ClientToken", c.client_token);
  p.Add(pre + "IamFleetRole", c.iam_fleet_role);
  AddIf(p, pre + "Type", c.type);
  AddLaunchTemplateConfigs(p, pre + "LaunchTemplateConfigs", c.launch_template_configs, true);
  p.Add(pre + "TargetCapacity", std::to_string(c.target_capacity));
  AddIf(p, pre + "OnDemandTargetCapacity", c.on_demand_target_capacity);
  AddIf(p, pre + "AllocationStrategy", c.allocation_strategy);
  AddIf(p, pre + "OnDemandAllocationStrategy", c.on_demand_allocation_strategy);
  AddIf(p, pre + "SpotPrice", c.spot_price);
  AddIf(p, pre + "InstanceInterruptionBehavior", c.instance_interruption_behavior);
  if (c.instance_pools_to_use_count > 0) {
    p.Add(pre + "InstancePoolsToUseCount", std::to_string(c.instance_pools_to_use_count));
  }
  AddIf(p, pre + "ExcessCapacityTerminationPolicy", c.excess_capacity_termination_policy);
  AddIf(p, pre + "TerminateInstancesWithExpiration", c.terminate_instances_with_expiration);
  AddIf(p, pre + "ReplaceUnhealthyInstances", c.replace_unhealthy_instances);
  AddIf(p, pre + "TargetCapacityUnitType", c.target_capacity_unit_type);
  AddTime(p, pre + "ValidFrom", c.valid_from);
  AddTime(p, pre + "ValidUntil", c.valid_until);
  AddTagSpecifications(p, pre + "TagSpecification", c.tag_specifications);
  AddIf(p, pre + "Context", c.context);
  return p;
}

std::vector<SpotFleetRequest> Ec2Client::DescribeSpotFleetRequests(
    const std::vector<std::string>& ids) {
  QueryParams p;
  p.AddList("SpotFleetRequestId", ids);
  std::vector<SpotFleetRequest> out;
  Ec2Paginate(aws_, "DescribeSpotFleetRequests", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("spotFleetRequestConfigSet"), "item", [&](pugi::xml_node item) {
      SpotFleetRequest s;
      s.spot_fleet_request_id = x::Text(item, "spotFleetRequestId");
      s.state = x::Text(item, "spotFleetRequestState");
      s.activity_status = x::Text(item, "activityStatus");
      s.create_time = x::Time(item, "createTime");
      pugi::xml_node c = item.child("spotFleetRequestConfig");
      s.type = x::Text(c, "type");
      s.allocation_strategy = x::Text(c, "allocationStrategy");
      s.iam_fleet_role = x::Text(c, "iamFleetRole");
      s.client_token = x::Text(c, "clientToken");
      s.target_capacity = static_cast<int>(x::Int(c, "targetCapacity"));
      s.on_demand_target_capacity = static_cast<int>(x::Int(c, "onDemandTargetCapacity"));
      s.fulfilled_capacity = x::Double(c, "fulfilledCapacity");
      s.on_demand_fulfilled_capacity = x::Double(c, "onDemandFulfilledCapacity");
      s.valid_until = x::Time(c, "validUntil");
      s.tags = ParseTags(item.child("tagSet"));
      out.push_back(std::move(s));
    });
  });
  return out;
}

std::vector<FleetInstance> Ec2Client::DescribeSpotFleetInstances(const std::string& id) {
  QueryParams p;
  p.Add("SpotFleetRequestId", id);
  std::vector<FleetInstance> instances;
  Ec2Paginate(aws_, "DescribeSpotFleetInstances", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("activeInstanceSet"), "item",
               [&](pugi::xml_node item) { instances.push_back(ParseFleetInstance(item)); });
  });
  return instances;
}

bool Ec2Client::ModifySpotFleetRequest(const ModifySpotFleetRequestRequest& r) {
  QueryParams p;
  p.Add("SpotFleetRequestId", r.spot_fleet_request_id);
  AddIf(p, "TargetCapacity", r.target_capacity);
  AddIf(p, "OnDemandTargetCapacity", r.on_demand_target_capacity);
  AddIf(p, "ExcessCapacityTerminationPolicy", r.excess_capacity_termination_policy);
  const QueryResponse resp = Ec2Call(aws_, "ModifySpotFleetRequest", p);
  return x::Bool(resp.root(), "return");
}

std::vector<FleetDeletion> Ec2Client::CancelSpotFleetRequests(const std::vector<std::string>& ids,
                                                              bool terminate_instances) {
  std::vector<FleetDeletion> out;
  for (const Ids& chunk : Chunks(Dedupe(ids), kMaxCancelSpotFleetIds)) {
    QueryParams p;
    p.AddList("SpotFleetRequestId", chunk);
    p.Add("TerminateInstances", Bool(terminate_instances));
    const QueryResponse resp = Ec2Call(aws_, "CancelSpotFleetRequests", p);
    pugi::xml_node root = resp.root();
    x::ForEach(root.child("successfulFleetRequestSet"), "item", [&](pugi::xml_node item) {
      out.push_back({x::Text(item, "spotFleetRequestId"),
                     x::Text(item, "currentSpotFleetRequestState"),
                     x::Text(item, "previousSpotFleetRequestState"), "", ""});
    });
    x::ForEach(root.child("unsuccessfulFleetRequestSet"), "item", [&](pugi::xml_node item) {
      out.push_back({x::Text(item, "spotFleetRequestId"), "", "", x::PathText(item, "error/code"),
                     x::PathText(item, "error/message")});
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Instance types and prices

std::vector<Ec2InstanceType> Ec2Client::DescribeInstanceTypes(
    const std::vector<std::string>& types, const std::vector<Filter>& filters) {
  std::vector<Ec2InstanceType> out;
  auto describe = [&](const Ids& chunk) {
    QueryParams p;
    p.AddList("InstanceType", chunk);
    AddFilters(p, filters);
    p.Add("MaxResults", "100");
    Ec2Paginate(aws_, "DescribeInstanceTypes", p, [&](pugi::xml_node root) {
      x::ForEach(root.child("instanceTypeSet"), "item", [&](pugi::xml_node item) {
        Ec2InstanceType t;
        t.instance_type = x::Text(item, "instanceType");
        pugi::xml_node vcpu = item.child("vCpuInfo");
        t.vcpus = static_cast<int>(x::Int(vcpu, "defaultVCpus"));
        t.cores = static_cast<int>(x::Int(vcpu, "defaultCores"));
        t.threads_per_core = static_cast<int>(x::Int(vcpu, "defaultThreadsPerCore"));
        t.memory_mib = x::Int(item.child("memoryInfo"), "sizeInMiB");
        x::ForEach(item.first_element_by_path("gpuInfo/gpus"), "item",
                   [&](pugi::xml_node g) { t.gpus += static_cast<int>(x::Int(g, "count")); });
        x::ForEach(item.first_element_by_path("processorInfo/supportedArchitectures"), "item",
                   [&](pugi::xml_node a) { t.architectures.push_back(x::Text(a)); });
        x::ForEach(item.child("supportedUsageClasses"), "item",
                   [&](pugi::xml_node u) { t.usage_classes.push_back(x::Text(u)); });
        t.current_generation = x::Bool(item, "currentGeneration");
        out.push_back(std::move(t));
      });
    });
  };
  if (types.empty()) {
    describe({});
  } else {
    // AWS accepts at most 100 instance types per call.
    for (const Ids& chunk : Chunks(Dedupe(types), 100)) describe(chunk);
  }
  return out;
}

std::vector<SpotPrice> Ec2Client::DescribeSpotPriceHistory(const SpotPriceQuery& q) {
  QueryParams p;
  p.AddList("InstanceType", q.instance_types);
  p.AddList("ProductDescription", q.product_descriptions);
  AddIf(p, "AvailabilityZone", q.availability_zone);
  AddTime(p, "StartTime", q.start_time);
  AddTime(p, "EndTime", q.end_time);
  AddFilters(p, q.filters);
  p.Add("MaxResults", std::to_string(std::clamp(q.max_results, 1, 1000)));
  std::vector<SpotPrice> out;
  Ec2Paginate(aws_, "DescribeSpotPriceHistory", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("spotPriceHistorySet"), "item", [&](pugi::xml_node item) {
      out.push_back({x::Text(item, "instanceType"), x::Text(item, "availabilityZone"),
                     x::Text(item, "productDescription"), x::Double(item, "spotPrice"),
                     x::Time(item, "timestamp")});
    });
  });
  return out;
}

// ---------------------------------------------------------------------------
// Launch templates

QueryParams Ec2Client::BuildCreateLaunchTemplate(const CreateLaunchTemplateRequest& r) {
  RequireClientToken("CreateLaunchTemplate", r.client_token);
  CheckUserData("CreateLaunchTemplate", r.data.user_data);
  QueryParams p;
  p.Add("ClientToken", r.client_token);
  p.Add("LaunchTemplateName", r.launch_template_name);
  AddIf(p, "VersionDescription", r.version_description);
  AddLaunchTemplateData(p, r.data);
  if (!r.tags.empty()) AddTagSpecifications(p, "TagSpecification", {{"launch-template", r.tags}});
  return p;
}

LaunchTemplate Ec2Client::CreateLaunchTemplate(const CreateLaunchTemplateRequest& r) {
  return CreateLaunchTemplate(BuildCreateLaunchTemplate(r));
}

LaunchTemplate Ec2Client::CreateLaunchTemplate(const QueryParams& p) {
  RequireClientToken("CreateLaunchTemplate", p.Get("ClientToken"));
  const QueryResponse resp = Ec2Call(aws_, "CreateLaunchTemplate", p);
  return ParseLaunchTemplate(resp.root().child("launchTemplate"));
}

LaunchTemplateVersion Ec2Client::CreateLaunchTemplateVersion(
    const CreateLaunchTemplateVersionRequest& r) {
  RequireClientToken("CreateLaunchTemplateVersion", r.client_token);
  CheckUserData("CreateLaunchTemplateVersion", r.data.user_data);
  QueryParams p;
  p.Add("ClientToken", r.client_token);
  AddIf(p, "LaunchTemplateId", r.launch_template_id);
  if (r.launch_template_id.empty()) AddIf(p, "LaunchTemplateName", r.launch_template_name);
  AddIf(p, "SourceVersion", r.source_version);
  AddIf(p, "VersionDescription", r.version_description);
  AddLaunchTemplateData(p, r.data);
  const QueryResponse resp = Ec2Call(aws_, "CreateLaunchTemplateVersion", p);
  pugi::xml_node v = resp.root().child("launchTemplateVersion");
  return {x::Text(v, "launchTemplateId"), x::Text(v, "launchTemplateName"),
          x::Int(v, "versionNumber"), x::Bool(v, "defaultVersion")};
}

std::vector<LaunchTemplate> Ec2Client::DescribeLaunchTemplates(
    const std::vector<std::string>& ids, const std::vector<std::string>& names,
    const std::vector<Filter>& filters) {
  QueryParams p;
  p.AddList("LaunchTemplateId", ids);
  p.AddList("LaunchTemplateName", names);
  AddFilters(p, filters);
  std::vector<LaunchTemplate> out;
  Ec2Paginate(aws_, "DescribeLaunchTemplates", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("launchTemplates"), "item",
               [&](pugi::xml_node item) { out.push_back(ParseLaunchTemplate(item)); });
  });
  return out;
}

LaunchTemplate Ec2Client::DeleteLaunchTemplate(const LaunchTemplateSpec& which) {
  QueryParams p;
  if (!which.id.empty()) {
    p.Add("LaunchTemplateId", which.id);
  } else {
    p.Add("LaunchTemplateName", which.name);
  }
  const QueryResponse resp = Ec2Call(aws_, "DeleteLaunchTemplate", p);
  return ParseLaunchTemplate(resp.root().child("launchTemplate"));
}

// ---------------------------------------------------------------------------
// Images and network

std::vector<Image> Ec2Client::DescribeImages(const ImageQuery& q) {
  QueryParams p;
  p.AddList("ImageId", q.image_ids);
  p.AddList("Owner", q.owners);
  AddFilters(p, q.filters);
  std::vector<Image> out;
  Ec2Paginate(aws_, "DescribeImages", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("imagesSet"), "item", [&](pugi::xml_node item) {
      Image i;
      i.image_id = x::Text(item, "imageId");
      i.name = x::Text(item, "name");
      i.state = x::Text(item, "imageState");
      i.architecture = x::Text(item, "architecture");
      i.owner_id = x::Text(item, "imageOwnerId");
      i.platform = x::Text(item, "platform");
      i.root_device_name = x::Text(item, "rootDeviceName");
      i.creation_date = x::Time(item, "creationDate");
      i.tags = ParseTags(item.child("tagSet"));
      out.push_back(std::move(i));
    });
  });
  return out;
}

std::vector<Subnet> Ec2Client::DescribeSubnets(const std::vector<std::string>& ids,
                                               const std::vector<Filter>& filters) {
  QueryParams p;
  p.AddList("SubnetId", ids);
  AddFilters(p, filters);
  std::vector<Subnet> out;
  Ec2Paginate(aws_, "DescribeSubnets", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("subnetSet"), "item", [&](pugi::xml_node item) {
      Subnet s;
      s.subnet_id = x::Text(item, "subnetId");
      s.vpc_id = x::Text(item, "vpcId");
      s.availability_zone = x::Text(item, "availabilityZone");
      s.availability_zone_id = x::Text(item, "availabilityZoneId");
      s.cidr_block = x::Text(item, "cidrBlock");
      s.state = x::Text(item, "state");
      s.available_ip_address_count = static_cast<int>(x::Int(item, "availableIpAddressCount"));
      s.map_public_ip_on_launch = x::Bool(item, "mapPublicIpOnLaunch");
      s.default_for_az = x::Bool(item, "defaultForAz");
      s.tags = ParseTags(item.child("tagSet"));
      out.push_back(std::move(s));
    });
  });
  return out;
}

std::vector<SecurityGroup> Ec2Client::DescribeSecurityGroups(const std::vector<std::string>& ids,
                                                             const std::vector<Filter>& filters) {
  QueryParams p;
  p.AddList("GroupId", ids);
  AddFilters(p, filters);
  std::vector<SecurityGroup> out;
  Ec2Paginate(aws_, "DescribeSecurityGroups", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("securityGroupInfo"), "item", [&](pugi::xml_node item) {
      out.push_back({x::Text(item, "groupId"), x::Text(item, "groupName"), x::Text(item, "vpcId"),
                     x::Text(item, "groupDescription"), ParseTags(item.child("tagSet"))});
    });
  });
  return out;
}

std::vector<Vpc> Ec2Client::DescribeVpcs(const std::vector<std::string>& ids,
                                         const std::vector<Filter>& filters) {
  QueryParams p;
  p.AddList("VpcId", ids);
  AddFilters(p, filters);
  std::vector<Vpc> out;
  Ec2Paginate(aws_, "DescribeVpcs", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("vpcSet"), "item", [&](pugi::xml_node item) {
      out.push_back({x::Text(item, "vpcId"), x::Text(item, "cidrBlock"), x::Text(item, "state"),
                     x::Bool(item, "isDefault"), ParseTags(item.child("tagSet"))});
    });
  });
  return out;
}

std::vector<SpotInstanceRequest> Ec2Client::DescribeSpotInstanceRequests(
    const std::vector<std::string>& ids, const std::vector<Filter>& filters) {
  QueryParams p;
  p.AddList("SpotInstanceRequestId", ids);
  AddFilters(p, filters);
  std::vector<SpotInstanceRequest> out;
  Ec2Paginate(aws_, "DescribeSpotInstanceRequests", p, [&](pugi::xml_node root) {
    x::ForEach(root.child("spotInstanceRequestSet"), "item", [&](pugi::xml_node item) {
      SpotInstanceRequest s;
      s.spot_instance_request_id = x::Text(item, "spotInstanceRequestId");
      s.state = x::Text(item, "state");
      s.status_code = x::PathText(item, "status/code");
      s.status_message = x::PathText(item, "status/message");
      s.status_update_time = x::Time(item.child("status"), "updateTime");
      s.fault_code = x::PathText(item, "fault/code");
      s.fault_message = x::PathText(item, "fault/message");
      s.instance_id = x::Text(item, "instanceId");
      s.instance_type = x::PathText(item, "launchSpecification/instanceType");
      s.launched_availability_zone = x::Text(item, "launchedAvailabilityZone");
      s.spot_price = x::Text(item, "spotPrice");
      s.type = x::Text(item, "type");
      s.create_time = x::Time(item, "createTime");
      s.tags = ParseTags(item.child("tagSet"));
      out.push_back(std::move(s));
    });
  });
  return out;
}

}  // namespace orb
