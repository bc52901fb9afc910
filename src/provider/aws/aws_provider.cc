#include "provider/aws/aws_provider.h"

#include <chrono>
#include <functional>
#include <set>
#include <cmath>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/strings.h"
#include "provider/aws/autoscaling_client.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/ec2_client.h"
#include "provider/aws/sts_client.h"

namespace orb {

using json = nlohmann::json;

struct AwsProvider::Impl {
  AwsProviderOptions options;
  std::shared_ptr<HttpClient> http;
  std::shared_ptr<CredentialsProvider> credentials;
  std::unique_ptr<AwsClient> aws;
  std::unique_ptr<Ec2Client> ec2;
  std::unique_ptr<StsClient> sts;
  std::unique_ptr<AutoScalingClient> asg;
  std::string account_id;  // cached GetCallerIdentity answer

  // The account the credentials belong to (one STS call, then cached).
  const std::string& AccountId() {
    if (account_id.empty()) account_id = Ready().sts->GetCallerIdentity().account;
    return account_id;
  }

  // Builds the HTTP client, credential chain and AWS clients on first use: most
  // orb processes never call AWS, and loading libcurl costs milliseconds.
  Impl& Ready();

  CloudMachine ToCloudMachine(const Instance& i) const;
};

AwsProvider::Impl& AwsProvider::Impl::Ready() {
  if (aws) return *this;
  http = std::make_shared<HttpClient>(options.client.http);
  options.credentials.http = http;
  if (options.credentials.region.empty()) options.credentials.region = options.client.region;
  credentials = MakeDefaultCredentialsChain(options.credentials);
  aws = std::make_unique<AwsClient>(options.client, credentials, http);
  ec2 = std::make_unique<Ec2Client>(*aws);
  sts = std::make_unique<StsClient>(*aws);
  asg = std::make_unique<AutoScalingClient>(*aws);
  return *this;
}

namespace {

// Group ids of Auto Scaling groups orb created: "asg:<group name>".
constexpr std::string_view kAsgPrefix = "asg:";

// A template's image: an AMI id, or an SSM parameter path that EC2 resolves at
// launch ("resolve:ssm:/aws/service/ami-amazon-linux-latest/...").
std::string ImageReference(const std::string& image_id) {
  if (!image_id.empty() && image_id.front() == '/') return "resolve:ssm:" + image_id;
  return image_id;
}

[[noreturn]] void TemplateError(const Template& t, const std::string& field,
                                const std::string& message) {
  throw Error(ErrorCode::kInvalidConfig,
              (t.source_file.empty() ? std::string() : t.source_file + ": ") + "template '" +
                  t.template_id + "' field '" + field + "': " + message);
}

std::string ReadUserData(const Template& t) {
  if (t.user_data_script.empty()) return t.user_data;
  std::ifstream in(t.user_data_script, std::ios::binary);
  if (!in) TemplateError(t, "userDataScript", "cannot read '" + t.user_data_script + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Tag> LaunchTags(const LaunchOrder& order) {
  std::vector<Tag> tags;
  for (const auto& [k, v] : order.tags) tags.push_back({k, v});
  for (const auto& [k, v] : order.templ.instance_tags) tags.push_back({k, v});
  return tags;
}

// EC2's spelling of an allocation strategy written in any casing.
std::string Ec2AllocationStrategy(const std::string& written, bool spot) {
  const std::string f = FoldName(written);
  if (f.empty()) return spot ? "price-capacity-optimized" : "lowest-price";
  if (f == "lowestprice") return "lowest-price";
  if (f == "diversified") return "diversified";
  if (f == "capacityoptimized") return "capacity-optimized";
  if (f == "capacityoptimizedprioritized") return "capacity-optimized-prioritized";
  if (f == "pricecapacityoptimized") return "price-capacity-optimized";
  if (f == "prioritized") return "prioritized";
  return written;
}

// Creates the launch template of a stored plan (`params`; null = the template's own
// is used). A replay after a crash finds the one made the first time.
void EnsureLaunchTemplate(Ec2Client& ec2, const json& params) {
  if (params.is_null()) return;
  try {
    ec2.CreateLaunchTemplate(QueryParams::FromJson(params));
  } catch (const AwsError& e) {
    if (e.aws_code() != "InvalidLaunchTemplateName.AlreadyExistsException") throw;
  }
}

// Spot Fleet's spelling of an allocation strategy written in any casing.
std::string SpotFleetAllocationStrategy(const std::string& written) {
  const std::string f = FoldName(written);
  if (f.empty() || f == "pricecapacityoptimized") return "priceCapacityOptimized";
  if (f == "lowestprice") return "lowestPrice";
  if (f == "diversified") return "diversified";
  if (f == "capacityoptimized") return "capacityOptimized";
  if (f == "capacityoptimizedprioritized") return "capacityOptimizedPrioritized";
  return written;
}

// The IAM role Spot Fleet acts as: a full ARN as written, a role name (or path) in
// the caller's account, or by default the role AWS documents for tagging fleets.
std::string FleetRoleArn(const std::string& written, const std::string& account) {
  if (written.rfind("arn:", 0) == 0) return written;
  if (written == "AWSServiceRoleForEC2SpotFleet") {
    return "arn:aws:iam::" + account +
           ":role/aws-service-role/spotfleet.amazonaws.com/AWSServiceRoleForEC2SpotFleet";
  }
  return "arn:aws:iam::" + account + ":role/" +
         (written.empty() ? std::string("aws-ec2-spot-fleet-tagging-role") : written);
}

// The root volume the template asks for, if any: its device name comes from the
// AMI (it differs between distributions).
std::vector<BlockDeviceMapping> RootVolume(const Template& t, Ec2Client& ec2,
                                           const std::string& image) {
  if (!t.root_device_volume_size && t.volume_type.empty() && !t.iops) return {};
  std::string device = "/dev/xvda";
  if (image.rfind("ami-", 0) == 0) {
    ImageQuery q;
    q.image_ids = {image};
    std::vector<Image> images = ec2.DescribeImages(q);
    if (images.empty()) TemplateError(t, "imageId", "AMI " + image + " does not exist");
    if (!images.front().root_device_name.empty()) device = images.front().root_device_name;
  }
  BlockDeviceMapping root;
  root.device_name = device;
  root.volume_size_gib = t.root_device_volume_size.value_or(0);
  root.volume_type = t.volume_type;
  root.iops = t.iops.value_or(0);
  root.delete_on_termination = true;
  return {root};
}

MachineState StateOf(const std::string& ec2_state) {
  return ParseMachineState(ec2_state).value_or(MachineState::kPending);
}

}  // namespace

CloudMachine AwsProvider::Impl::ToCloudMachine(const Instance& i) const {
  CloudMachine m;
  m.machine_id = i.instance_id;
  const std::string& how = options.machine_name;
  if (how == "private_ip") {
    m.name = i.private_ip;
  } else if (how.rfind("tag:", 0) == 0) {
    m.name = TagValue(i.tags, how.substr(4));
  } else {
    m.name = i.private_dns_name;
  }
  m.instance_type = i.instance_type;
  m.private_ip = i.private_ip;
  m.public_ip = i.public_ip;
  m.availability_zone = i.availability_zone;
  m.price_type = i.lifecycle == "spot" ? "spot" : "ondemand";
  m.request_tag = TagValue(i.tags, kRequestIdTag);
  m.cloud_host_id = TagValue(i.tags, "aws:ec2:fleet-id");
  if (std::string group = TagValue(i.tags, "aws:autoscaling:groupName"); !group.empty()) {
    m.cloud_host_id = std::string(kAsgPrefix) + group;
  }
  m.state = StateOf(i.state);
  m.state_reason = i.state_reason_code;
  m.launch_time = i.launch_time;
  return m;
}

AwsProvider::AwsProvider(AwsProviderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

AwsProvider::~AwsProvider() = default;

ProviderInfo AwsProvider::Info() const {
  ProviderInfo info;
  info.name = impl_->options.name;
  info.type = "aws";
  info.region = impl_->options.client.region;
  if (!info.region.empty()) {
    for (AwsService s : {AwsService::kEc2, AwsService::kAutoScaling, AwsService::kSts}) {
      info.endpoints.emplace_back(std::string(AwsServiceName(s)), impl_->Ready().aws->Endpoint(s));
    }
  }
  return info;
}

std::string AwsProvider::CannotLaunch(const Template& t) const {
  switch (t.provider_api) {
    case ProviderApi::kRunInstances:
    case ProviderApi::kEc2Fleet:
    case ProviderApi::kSpotFleet:
    case ProviderApi::kAsg:
      return "";
  }
  return std::string(ProviderApiName(t.provider_api)) + " is not supported";
}

LaunchPlan AwsProvider::PlanLaunch(const LaunchOrder& order) {
  const Template& t = order.templ;
  if (std::string why = CannotLaunch(t); !why.empty()) TemplateError(t, "providerApi", why);
  impl_->Ready();
  if (order.units < 1) throw Error(ErrorCode::kInvalidInput, "nothing to launch");
  const std::string image = ImageReference(t.image_id);
  if (image.empty() && t.launch_template_id.empty()) {
    TemplateError(t, "imageId", "is required (or launchTemplateId)");
  }
  std::optional<LaunchTemplateSpec> launch_template;
  if (!t.launch_template_id.empty()) {
    LaunchTemplateSpec spec;
    spec.id = t.launch_template_id;
    spec.version = t.launch_template_version.empty() ? "$Default" : t.launch_template_version;
    launch_template = spec;
  }
  const std::vector<Tag> tags = LaunchTags(order);
  const std::string user_data = ReadUserData(t);
  std::optional<SpotMarketOptions> spot;
  if (t.price_type == PriceType::kSpot) {
    SpotMarketOptions s;
    if (t.max_spot_price) s.max_price = fmt::format("{}", *t.max_spot_price);
    spot = s;
  }
  std::string profile_arn, profile_name;
  if (t.instance_profile.rfind("arn:", 0) == 0) {
    profile_arn = t.instance_profile;
  } else {
    profile_name = t.instance_profile;
  }

  LaunchPlan plan;
  plan.request_id = order.request_id;
  // The launch template a fleet or group of this request launches from.
  auto launch_template_for = [&](const std::string& name) {
    CreateLaunchTemplateRequest lt;
    lt.client_token = order.client_token;
    lt.launch_template_name = name;
    lt.data.image_id = image;
    lt.data.key_name = t.key_name;
    lt.data.security_group_ids = t.security_group_ids;
    lt.data.user_data = user_data;
    lt.data.iam_instance_profile_arn = profile_arn;
    lt.data.iam_instance_profile_name = profile_name;
    lt.data.block_device_mappings = RootVolume(t, *impl_->ec2, image);
    lt.data.tag_specifications = {{"instance", tags}, {"volume", tags}};
    lt.tags = tags;
    return lt;
  };
  // The capacity pools of a fleet: every instance type (with its weight) in every
  // subnet; with `priced`, the template's maximum spot price on each.
  auto pools = [&](bool priced) {
    std::vector<FleetOverride> out;
    std::vector<std::string> subnets = t.subnet_ids;
    if (subnets.empty()) subnets.push_back("");
    for (const auto& [type, weight] : t.vm_types) {
      for (const std::string& subnet : subnets) {
        FleetOverride o;
        o.instance_type = type;
        o.subnet_id = subnet;
        o.weighted_capacity = weight;
        if (priced && t.max_spot_price) o.max_price = fmt::format("{}", *t.max_spot_price);
        out.push_back(o);
      }
    }
    return out;
  };
  if (t.provider_api == ProviderApi::kRunInstances) {
    if (t.vm_types.empty() && !launch_template) TemplateError(t, "vmType", "is required");
    RunInstancesRequest r;
    r.client_token = order.client_token;
    r.launch_template = launch_template;
    r.image_id = image;
    int weight = 1;
    if (!t.vm_types.empty()) {
      r.instance_type = t.vm_types.front().first;
      weight = std::max(1, t.vm_types.front().second);
    }
    // Counts are capacity units: enough instances of the first type to cover them.
    const int instances = (order.units + weight - 1) / weight;
    r.min_count = instances;
    r.max_count = instances;
    if (!t.subnet_ids.empty()) r.subnet_id = t.subnet_ids.front();
    r.security_group_ids = t.security_group_ids;
    r.key_name = t.key_name;
    r.user_data = user_data;
    r.iam_instance_profile_arn = profile_arn;
    r.iam_instance_profile_name = profile_name;
    r.block_device_mappings = RootVolume(t, *impl_->ec2, image);
    r.spot = spot;
    r.tag_specifications = {{"instance", tags}, {"volume", tags}};
    plan.api = "RunInstances";
    plan.body = {{"params", Ec2Client::BuildRunInstances(r).ToJson()}};
    return plan;
  }
  if (t.provider_api == ProviderApi::kEc2Fleet) {
    const FleetType fleet_type = t.fleet_type.value_or(FleetType::kInstant);
    if (t.vm_types.empty()) TemplateError(t, "vmTypes", "is required for an EC2 Fleet");
    // EC2 Fleet launches from a launch template: orb makes one per request, named
    // after it, so that a replay finds the same one.
    const std::string lt_name = "orb-" + order.request_id;
    CreateLaunchTemplateRequest lt = launch_template_for(lt_name);
    CreateFleetRequest f;
    f.client_token = order.client_token;
    f.type = std::string(FleetTypeName(fleet_type));
    if (fleet_type != FleetType::kInstant) {
      // orb chooses which instances go when the target is lowered on a return.
      f.excess_capacity_termination_policy = "no-termination";
    }
    FleetLaunchTemplateConfig config;
    config.launch_template.name = lt_name;
    config.launch_template.version = "$Latest";
    config.overrides = pools(spot.has_value());
    f.launch_template_configs = {config};
    f.target_capacity.total = order.units;
    f.target_capacity.default_target_capacity_type = spot ? "spot" : "on-demand";
    if (spot) {
      f.spot_allocation_strategy = Ec2AllocationStrategy(t.allocation_strategy, true);
    } else {
      f.on_demand_allocation_strategy = Ec2AllocationStrategy(t.allocation_strategy, false);
    }
    f.tag_specifications = {{"fleet", tags}};
    plan.api = "CreateFleet";
    plan.adoptable = fleet_type == FleetType::kInstant;  // others keep launching
    plan.body = {{"fleet_type", std::string(FleetTypeName(fleet_type))},
                 {"launch_template_name", lt_name},
                 {"launch_template", Ec2Client::BuildCreateLaunchTemplate(lt).ToJson()},
                 {"fleet", Ec2Client::BuildCreateFleet(f).ToJson()}};
    return plan;
  }
  if (t.provider_api == ProviderApi::kSpotFleet) {
    if (t.vm_types.empty()) TemplateError(t, "vmTypes", "is required for a Spot Fleet");
    const std::string name = "orb-" + order.request_id;
    CreateLaunchTemplateRequest lt = launch_template_for(name);
    SpotFleetRequestConfig f;
    f.client_token = order.client_token;
    f.iam_fleet_role = FleetRoleArn(t.fleet_role, t.fleet_role.rfind("arn:", 0) == 0
                                                      ? std::string()
                                                      : impl_->AccountId());
    f.type = FleetTypeName(t.fleet_type.value_or(FleetType::kRequest)) == "maintain"
                 ? "maintain"
                 : "request";
    FleetLaunchTemplateConfig config;
    config.launch_template.name = name;
    config.launch_template.version = "$Latest";
    config.overrides = pools(true);
    f.launch_template_configs = {config};
    f.target_capacity = order.units;
    if (t.percent_on_demand && *t.percent_on_demand > 0) {
      f.on_demand_target_capacity = order.units * *t.percent_on_demand / 100;
    }
    f.allocation_strategy = SpotFleetAllocationStrategy(t.allocation_strategy);
    // orb chooses which instances go when capacity is lowered on a return.
    f.excess_capacity_termination_policy = "NoTermination";
    if (!t.spot_fleet_request_expiry.empty()) {
      char* end = nullptr;
      const long minutes = std::strtol(t.spot_fleet_request_expiry.c_str(), &end, 10);
      if (end && *end == '\0' && minutes > 0) f.valid_until = NowSeconds() + minutes * 60;
    }
    f.tag_specifications = {{"spot-fleet-request", tags}};
    plan.api = "RequestSpotFleet";
    plan.adoptable = false;  // the fleet keeps launching until it is fulfilled
    plan.body = {{"launch_template_name", name},
                 {"launch_template", Ec2Client::BuildCreateLaunchTemplate(lt).ToJson()},
                 {"fleet", Ec2Client::BuildRequestSpotFleet(f).ToJson()}};
    return plan;
  }
  if (t.provider_api == ProviderApi::kAsg) {
    if (t.vm_types.empty() && !launch_template) TemplateError(t, "vmType", "is required");
    // One Auto Scaling group per request, launching from a launch template made
    // for the request (or the template's own), both named after the request.
    const std::string name = "orb-" + order.request_id;
    LaunchTemplateSpec lt_spec;
    json lt_params;
    if (launch_template) {
      lt_spec = *launch_template;
    } else {
      CreateLaunchTemplateRequest lt = launch_template_for(name);
      if (t.vm_types.size() == 1) lt.data.instance_type = t.vm_types.front().first;
      // The group tags its instances itself (PropagateAtLaunch).
      lt.data.tag_specifications = {{"volume", tags}};
      lt_params = Ec2Client::BuildCreateLaunchTemplate(lt).ToJson();
      lt_spec.name = name;
      lt_spec.version = "$Latest";
    }
    AutoScalingGroupRequest g;
    g.name = name;
    int desired = order.units;
    if (t.vm_types.size() > 1 || spot) {
      MixedInstancesPolicy mixed;
      mixed.launch_template = lt_spec;
      for (const auto& [type, weight] : t.vm_types) {
        AsgOverride o;
        o.instance_type = type;
        o.weighted_capacity = std::to_string(std::max(1, weight));
        mixed.overrides.push_back(o);
      }
      if (spot) {
        mixed.distribution.on_demand_percentage_above_base_capacity = 0;
        mixed.distribution.spot_allocation_strategy =
            Ec2AllocationStrategy(t.allocation_strategy, true);
        if (t.max_spot_price) mixed.distribution.spot_max_price = fmt::format("{}", *t.max_spot_price);
      }
      g.mixed_instances_policy = mixed;
    } else {
      g.launch_template = lt_spec;
      const int weight = t.vm_types.empty() ? 1 : std::max(1, t.vm_types.front().second);
      desired = (order.units + weight - 1) / weight;  // instances of the one type
    }
    g.min_size = 0;
    g.max_size = desired;
    g.desired_capacity = desired;
    g.subnet_ids = t.subnet_ids;
    g.new_instances_protected_from_scale_in = true;
    for (const Tag& tag : tags) g.tags.push_back({tag.key, tag.value, true});
    plan.api = "CreateAutoScalingGroup";
    plan.adoptable = false;  // the group keeps launching until it is full
    plan.body = {{"group_name", name},
                 {"launch_template", lt_params},
                 {"group", AutoScalingClient::BuildCreateAutoScalingGroup(g).ToJson()}};
    return plan;
  }
  TemplateError(t, "providerApi", CannotLaunch(t));
}

LaunchResult AwsProvider::Launch(const LaunchPlan& plan) {
  impl_->Ready();
  LaunchResult result;
  if (plan.api == "RunInstances") {
    RunInstancesResult r = impl_->ec2->RunInstances(QueryParams::FromJson(plan.body.at("params")));
    for (const Instance& i : r.instances) result.machines.push_back(impl_->ToCloudMachine(i));
    result.settled = true;
    return result;
  }
  if (plan.api == "CreateFleet") {
    EnsureLaunchTemplate(*impl_->ec2, plan.body.at("launch_template"));
    CreateFleetResult r = impl_->ec2->CreateFleet(QueryParams::FromJson(plan.body.at("fleet")));
    result.cloud_host_id = r.fleet_id;
    if (plan.body.value("fleet_type", "instant") != "instant") {
      // A request or maintain fleet launches as it goes: status calls ask it.
      result.settled = false;
      return result;
    }
    for (const FleetInstances& pool : r.instances) {
      for (const std::string& id : pool.instance_ids) {
        CloudMachine m;
        m.machine_id = id;
        m.instance_type = pool.instance_type.empty() ? pool.pool.override.instance_type
                                                     : pool.instance_type;
        m.cloud_host_id = r.fleet_id;
        m.price_type = pool.pool.lifecycle == "spot" ? "spot" : "ondemand";
        result.machines.push_back(m);
      }
    }
    // Instances the answer did not list (it is bounded; some emulators list one per
    // pool) are found by the request's tag.
    if (!plan.request_id.empty()) {
      std::set<std::string> known;
      for (const CloudMachine& m : result.machines) known.insert(m.machine_id);
      for (CloudMachine& m : FindByRequest(plan.request_id)) {
        if (known.insert(m.machine_id).second && !IsFinalMachineState(m.state)) {
          if (m.cloud_host_id.empty()) m.cloud_host_id = r.fleet_id;
          result.machines.push_back(std::move(m));
        }
      }
    }
    std::vector<std::string> errors;
    for (const FleetError& e : r.errors) {
      errors.push_back(e.pool.override.instance_type + " in " +
                       (e.pool.override.subnet_id.empty() ? std::string("any subnet")
                                                          : e.pool.override.subnet_id) +
                       ": " + e.error_code + " " + e.error_message);
    }
    result.message = Join(errors, "; ");
    result.settled = true;  // an instant fleet adds nothing later
    // The instances are launched; the per-request launch template is no longer needed.
    try {
      LaunchTemplateSpec which;
      which.name = plan.body.at("launch_template_name").get<std::string>();
      impl_->ec2->DeleteLaunchTemplate(which);
    } catch (const Error& e) {
      spdlog::warn("could not delete launch template {}: {}",
                   plan.body.at("launch_template_name").get<std::string>(), e.what());
    }
    return result;
  }
  if (plan.api == "RequestSpotFleet") {
    EnsureLaunchTemplate(*impl_->ec2, plan.body.at("launch_template"));
    // The ClientToken makes a replay answer the same Spot Fleet request.
    result.cloud_host_id =
        impl_->ec2->RequestSpotFleet(QueryParams::FromJson(plan.body.at("fleet")));
    result.settled = false;  // instances arrive as the fleet is fulfilled
    return result;
  }
  if (plan.api == "CreateAutoScalingGroup") {
    const std::string name = plan.body.at("group_name").get<std::string>();
    EnsureLaunchTemplate(*impl_->ec2, plan.body.at("launch_template"));
    try {
      impl_->asg->CreateAutoScalingGroup(QueryParams::FromJson(plan.body.at("group")));
    } catch (const AwsError& e) {
      // A replay after a crash or a lost answer finds the group made the first time.
      if (e.aws_code() != "AlreadyExists") throw;
    }
    result.cloud_host_id = std::string(kAsgPrefix) + name;
    result.settled = false;  // members arrive as the group launches them
    return result;
  }
  throw Error(ErrorCode::kStore, "stored launch plan names an unknown API '" + plan.api + "'");
}

std::vector<CloudMachine> AwsProvider::FindByRequest(const std::string& request_id) {
  impl_->Ready();
  std::vector<CloudMachine> out;
  for (const Instance& i :
       impl_->ec2->DescribeInstancesByFilter({{std::string("tag:") + kRequestIdTag, {request_id}}})) {
    out.push_back(impl_->ToCloudMachine(i));
  }
  return out;
}

std::vector<CloudMachine> AwsProvider::Describe(const std::vector<std::string>& machine_ids) {
  std::vector<CloudMachine> out;
  if (machine_ids.empty()) return out;
  impl_->Ready();
  DescribeInstancesResult r = impl_->ec2->DescribeInstancesById(machine_ids);
  out.reserve(r.instances.size());
  for (const Instance& i : r.instances) out.push_back(impl_->ToCloudMachine(i));
  return out;
}

TerminateOutcome AwsProvider::Terminate(const std::vector<std::string>& machine_ids) {
  impl_->Ready();
  TerminateOutcome outcome;
  if (machine_ids.empty()) return outcome;
  TerminateInstancesResult r = impl_->ec2->TerminateInstances(machine_ids);
  outcome.not_found = r.not_found;
  std::vector<std::string> reasons;
  for (const InstanceFailure& f : r.failed) {
    outcome.refused.push_back(f.instance_id);
    reasons.push_back(f.instance_id + ": " + f.code + " " + f.message);
  }
  outcome.message = Join(reasons, "; ");
  return outcome;
}

namespace {

// Adds to `state` the instances carrying `request_id`'s tag that the group's own
// member list left out (an answer can lag or be bounded; an emulator may list one
// instance per pool): a machine the cloud launched for the request is never left
// untracked.
void AddTaggedMembers(AwsProvider& provider, const std::string& group_id,
                      const std::string& request_id, GroupState& state) {
  if (request_id.empty()) return;
  std::set<std::string> known;
  for (const CloudMachine& m : state.machines) known.insert(m.machine_id);
  for (CloudMachine& m : provider.FindByRequest(request_id)) {
    if (known.insert(m.machine_id).second && !IsFinalMachineState(m.state)) {
      m.cloud_host_id = group_id;
      state.machines.push_back(std::move(m));
    }
  }
}

}  // namespace

GroupState AwsProvider::DescribeGroup(const std::string& group_id) {
  impl_->Ready();
  GroupState state;
  if (group_id.rfind("sfr-", 0) == 0) {
    std::vector<SpotFleetRequest> requests = impl_->ec2->DescribeSpotFleetRequests({group_id});
    if (requests.empty()) {
      state.settled = true;
      state.message = "Spot Fleet request " + group_id + " no longer exists";
      return state;
    }
    const SpotFleetRequest& r = requests.front();
    std::vector<std::string> ids;
    for (const FleetInstance& i : impl_->ec2->DescribeSpotFleetInstances(group_id)) {
      ids.push_back(i.instance_id);
    }
    for (CloudMachine& m : Describe(ids)) {
      m.cloud_host_id = group_id;
      state.machines.push_back(std::move(m));
    }
    AddTaggedMembers(*this, group_id, TagValue(r.tags, kRequestIdTag), state);
    state.settled = r.activity_status == "fulfilled" || r.state == "failed" ||
                    r.state.rfind("cancelled", 0) == 0 ||
                    r.fulfilled_capacity >= r.target_capacity;
    if (r.activity_status == "error") {
      state.message = "Spot Fleet " + group_id + " reports errors (see its event history)";
    }
    return state;
  }
  if (group_id.rfind("fleet-", 0) == 0) {
    std::vector<Fleet> fleets = impl_->ec2->DescribeFleets({group_id});
    if (fleets.empty() || fleets.front().type == "instant") {
      state.settled = true;  // an instant fleet settles at launch
      return state;
    }
    const Fleet& f = fleets.front();
    std::vector<std::string> ids;
    for (const FleetInstance& i : impl_->ec2->DescribeFleetInstances(group_id)) {
      ids.push_back(i.instance_id);
    }
    for (CloudMachine& m : Describe(ids)) {
      m.cloud_host_id = group_id;
      state.machines.push_back(std::move(m));
    }
    AddTaggedMembers(*this, group_id, TagValue(f.tags, kRequestIdTag), state);
    state.settled = f.activity_status == "fulfilled" || f.state == "failed" ||
                    f.state.rfind("deleted", 0) == 0 ||
                    f.fulfilled_capacity >= f.target_capacity.total;
    if (f.activity_status == "error") {
      state.message = "EC2 Fleet " + group_id + " reports errors (see its history)";
    }
    return state;
  }
  if (group_id.rfind(kAsgPrefix, 0) != 0) {
    state.settled = true;
    return state;
  }
  const std::string name = group_id.substr(kAsgPrefix.size());
  std::vector<AutoScalingGroup> groups = impl_->asg->DescribeAutoScalingGroups({name});
  if (groups.empty()) {
    state.settled = true;
    state.message = "Auto Scaling group " + name + " no longer exists";
    return state;
  }
  const AutoScalingGroup& g = groups.front();
  std::vector<std::string> ids;
  int capacity = 0;
  for (const AsgInstance& i : g.instances) {
    ids.push_back(i.instance_id);
    if (i.lifecycle_state.rfind("Terminat", 0) != 0) {
      capacity += i.weighted_capacity.empty() ? 1 : std::max(1, std::atoi(i.weighted_capacity.c_str()));
    }
  }
  for (CloudMachine& m : Describe(ids)) {
    m.cloud_host_id = group_id;
    state.machines.push_back(std::move(m));
  }
  state.settled = capacity >= g.desired_capacity;
  if (!state.settled) {
    std::vector<std::string> failures;
    for (const ScalingActivity& a : impl_->asg->DescribeScalingActivities(name, 10)) {
      if (a.status_code == "Failed") failures.push_back(a.status_message);
    }
    if (!failures.empty()) state.message = "Auto Scaling could not launch: " + failures.front();
  }
  return state;
}

TerminateOutcome AwsProvider::ReleaseFromGroup(const std::string& group_id,
                                              const std::vector<std::string>& machine_ids) {
  impl_->Ready();
  if (group_id.rfind("sfr-", 0) == 0) {
    std::vector<SpotFleetRequest> requests = impl_->ec2->DescribeSpotFleetRequests({group_id});
    if (!requests.empty() && requests.front().state.rfind("cancelled", 0) != 0) {
      // Lower the target first, so that a maintain fleet does not replace what goes
      // (harmless for a request fleet, which replaces nothing).
      ModifySpotFleetRequestRequest m;
      m.spot_fleet_request_id = group_id;
      m.target_capacity =
          std::max(0, requests.front().target_capacity - static_cast<int>(machine_ids.size()));
      m.excess_capacity_termination_policy = "NoTermination";
      impl_->ec2->ModifySpotFleetRequest(m);
    }
    TerminateOutcome outcome = Terminate(machine_ids);
    std::set<std::string> going(machine_ids.begin(), machine_ids.end());
    bool empty = true;
    for (const FleetInstance& i : impl_->ec2->DescribeSpotFleetInstances(group_id)) {
      if (!going.count(i.instance_id)) empty = false;
    }
    if (empty && !requests.empty()) {
      try {
        impl_->ec2->CancelSpotFleetRequests({group_id}, /*terminate_instances=*/false);
        LaunchTemplateSpec lt;
        lt.name = "orb-" + TagValue(requests.front().tags, kRequestIdTag);
        if (lt.name != "orb-") impl_->ec2->DeleteLaunchTemplate(lt);
      } catch (const Error& e) {
        spdlog::warn("could not cancel Spot Fleet request {}: {}", group_id, e.what());
      }
    }
    return outcome;
  }
  if (group_id.rfind("fleet-", 0) == 0) {
    std::vector<Fleet> fleets = impl_->ec2->DescribeFleets({group_id});
    if (fleets.empty() || fleets.front().type == "instant") return Terminate(machine_ids);
    const Fleet& f = fleets.front();
    if (f.type == "maintain" && f.state.rfind("deleted", 0) != 0) {
      // Lower the target first, so the fleet does not replace what goes.
      ModifyFleetRequest m;
      m.fleet_id = group_id;
      TargetCapacitySpec target = f.target_capacity;
      target.total = std::max(0, target.total - static_cast<int>(machine_ids.size()));
      if (target.on_demand) target.on_demand = std::min(*target.on_demand, target.total);
      if (target.spot) target.spot = std::max(0, target.total - target.on_demand.value_or(0));
      m.target_capacity = target;
      m.excess_capacity_termination_policy = "no-termination";
      impl_->ec2->ModifyFleet(m);
    }
    TerminateOutcome outcome = Terminate(machine_ids);
    std::set<std::string> going(machine_ids.begin(), machine_ids.end());
    bool empty = true;
    for (const FleetInstance& i : impl_->ec2->DescribeFleetInstances(group_id)) {
      if (!going.count(i.instance_id)) empty = false;
    }
    if (empty) {
      try {
        impl_->ec2->DeleteFleets({group_id}, /*terminate_instances=*/false);
        LaunchTemplateSpec lt;
        lt.name = "orb-" + TagValue(f.tags, kRequestIdTag);
        if (lt.name != "orb-") impl_->ec2->DeleteLaunchTemplate(lt);
      } catch (const Error& e) {
        spdlog::warn("could not delete EC2 Fleet {}: {}", group_id, e.what());
      }
    }
    return outcome;
  }
  if (group_id.rfind(kAsgPrefix, 0) != 0) return Terminate(machine_ids);
  const std::string name = group_id.substr(kAsgPrefix.size());
  // Detached first, lowering the group's desired capacity so that it launches no
  // replacement, then terminated in batches: ceil(n/20) + ceil(n/1000) calls instead
  // of one TerminateInstanceInAutoScalingGroup per machine.
  std::vector<std::string> in_group;
  for (const AutoScalingGroup& g : impl_->asg->DescribeAutoScalingGroups({name})) {
    std::set<std::string> members;
    for (const AsgInstance& i : g.instances) members.insert(i.instance_id);
    for (const std::string& id : machine_ids) {
      if (members.count(id)) in_group.push_back(id);
    }
  }
  if (!in_group.empty()) impl_->asg->DetachInstances(name, in_group, true);
  const std::vector<std::string>& direct = machine_ids;
  TerminateOutcome outcome = Terminate(direct);
  // An emptied group (and its launch template) is deleted.
  std::vector<AutoScalingGroup> groups = impl_->asg->DescribeAutoScalingGroups({name});
  if (!groups.empty() && groups.front().desired_capacity == 0) {
    try {
      impl_->asg->DeleteAutoScalingGroup(name, /*force_delete=*/true);
      LaunchTemplateSpec lt;
      lt.name = name;
      impl_->ec2->DeleteLaunchTemplate(lt);
    } catch (const Error& e) {
      spdlog::warn("could not delete Auto Scaling group {}: {}", name, e.what());
    }
  }
  return outcome;
}

ProviderHealth AwsProvider::CheckHealth() {
  impl_->Ready();
  ProviderHealth h;
  h.region = impl_->options.client.region;
  auto timed = [&h](const std::string& name, const std::function<std::string()>& check) {
    HealthCheck c;
    c.name = name;
    auto start = std::chrono::steady_clock::now();
    try {
      c.detail = check();
      c.ok = true;
    } catch (const std::exception& e) {
      c.detail = e.what();
    }
    c.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count();
    h.checks.push_back(c);
    return c.ok;
  };
  timed("region", [&] {
    if (h.region.empty()) {
      throw Error(ErrorCode::kInvalidConfig,
                  "no AWS region configured: set aws.region, AWS_REGION, or AWS_REGION in "
                  "the provider's *prov_config.json");
    }
    return h.region;
  });
  bool have_credentials = timed("credentials", [&] {
    Credentials c = impl_->credentials->Get();
    h.credentials_source = c.source;
    return c.source;
  });
  if (have_credentials && !h.region.empty()) {
    timed("sts:GetCallerIdentity", [&] {
      CallerIdentity id = impl_->sts->GetCallerIdentity();
      h.account = id.account;
      h.identity = id.arn;
      return id.arn;
    });
    timed("ec2:DescribeInstances", [&] {
      std::vector<Instance> running = impl_->ec2->DescribeInstancesByFilter(
          {{std::string("tag-key"), {kRequestIdTag}}, {"instance-state-name", {"running"}}});
      return std::to_string(running.size()) + " running instance(s) launched by orb";
    });
  }
  h.ok = true;
  for (const HealthCheck& c : h.checks) h.ok = h.ok && c.ok;
  return h;
}

long long AwsProvider::CallCount() const { return impl_->aws ? impl_->aws->stats().calls : 0; }

}  // namespace orb
