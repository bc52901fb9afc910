#include "provider/aws/launch_spec.h"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/strings.h"
#include "provider/aws/aws_error.h"

namespace orb {

namespace {

// A template's image as the launch call names it: an AMI id as written; an SSM
// parameter ("/aws/service/...", or "resolve:ssm:...") read through the cached
// resolver, so that the stored call names the exact AMI and its root device can be
// looked up. When SSM cannot be read (network, permissions), EC2 is left to resolve
// the parameter at launch ("resolve:ssm:<name>").
std::string ImageReference(const Template& t, AwsContext& context) {
  const std::string& image_id = t.image_id;
  if (!ImageResolver::IsSsmReference(image_id)) return image_id;
  try {
    ResolvedImage r = context.images().Resolve(image_id);
    spdlog::debug("template {}: image {} is {} ({})", t.template_id, image_id, r.image_id,
                  ImageSourceName(r.source));
    return r.image_id;
  } catch (const AwsError& e) {
    if (e.aws_code() == "ParameterNotFound" || e.aws_code() == "InvalidParameterValue") {
      ThrowTemplateError(t, "imageId", e.what());
    }
    spdlog::warn("template {}: could not read SSM parameter {} ({}); EC2 resolves it at launch",
                 t.template_id, image_id, e.what());
    return image_id.rfind("resolve:ssm:", 0) == 0 ? image_id : "resolve:ssm:" + image_id;
  }
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
    if (images.empty()) ThrowTemplateError(t, "imageId", "AMI " + image + " does not exist");
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

}  // namespace

void ThrowTemplateError(const Template& t, const std::string& field, const std::string& message) {
  throw Error(ErrorCode::kInvalidConfig, TemplateFieldMessage(t, field, message));
}

LaunchSpec MakeLaunchSpec(const LaunchOrder& order, AwsContext& context) {
  const Template& t = order.templ;
  LaunchSpec spec;
  spec.order = &order;
  spec.image = ImageReference(t, context);
  if (spec.image.empty() && t.launch_template_id.empty()) {
    ThrowTemplateError(t, "imageId", "is required (or launchTemplateId)");
  }
  if (!t.launch_template_id.empty()) {
    LaunchTemplateSpec lt;
    lt.id = t.launch_template_id;
    lt.version = t.launch_template_version.empty() ? "$Default" : t.launch_template_version;
    spec.launch_template = lt;
  }
  for (const auto& [k, v] : order.tags) spec.tags.push_back({k, v});
  for (const auto& [k, v] : t.instance_tags) spec.tags.push_back({k, v});
  spec.user_data = ReadUserData(t);
  if (t.price_type == PriceType::kSpot) {
    SpotMarketOptions s;
    if (t.max_spot_price) s.max_price = fmt::format("{}", *t.max_spot_price);
    spec.spot = s;
  }
  if (t.instance_profile.rfind("arn:", 0) == 0) {
    spec.profile_arn = t.instance_profile;
  } else {
    spec.profile_name = t.instance_profile;
  }
  spec.root_volume = RootVolume(t, context.ec2(), spec.image);
  return spec;
}

CreateLaunchTemplateRequest RequestLaunchTemplate(const LaunchSpec& spec,
                                                  const std::string& name) {
  const Template& t = spec.templ();
  CreateLaunchTemplateRequest lt;
  lt.client_token = spec.order->client_token;
  lt.launch_template_name = name;
  lt.data.image_id = spec.image;
  lt.data.key_name = t.key_name;
  lt.data.security_group_ids = t.security_group_ids;
  lt.data.user_data = spec.user_data;
  lt.data.iam_instance_profile_arn = spec.profile_arn;
  lt.data.iam_instance_profile_name = spec.profile_name;
  lt.data.block_device_mappings = spec.root_volume;
  lt.data.tag_specifications = {{"instance", spec.tags}, {"volume", spec.tags}};
  lt.data.associate_public_ip = t.associate_public_ip;
  lt.tags = spec.tags;
  return lt;
}

void EnsureLaunchTemplate(Ec2Client& ec2, const nlohmann::json& params) {
  if (params.is_null()) return;
  try {
    ec2.CreateLaunchTemplate(QueryParams::FromJson(params));
  } catch (const AwsError& e) {
    if (e.aws_code() != "InvalidLaunchTemplateName.AlreadyExistsException") throw;
  }
}

void DeleteLaunchTemplateQuietly(Ec2Client& ec2, const std::string& name) {
  try {
    LaunchTemplateSpec which;
    which.name = name;
    ec2.DeleteLaunchTemplate(which);
  } catch (const Error& e) {
    spdlog::warn("could not delete launch template {}: {}", name, e.what());
  }
}

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

std::string SpotFleetAllocationStrategy(const std::string& written) {
  const std::string f = FoldName(written);
  if (f.empty() || f == "pricecapacityoptimized") return "priceCapacityOptimized";
  if (f == "lowestprice") return "lowestPrice";
  if (f == "diversified") return "diversified";
  if (f == "capacityoptimized") return "capacityOptimized";
  if (f == "capacityoptimizedprioritized") return "capacityOptimizedPrioritized";
  return written;
}

void AddTaggedMembers(AwsContext& context, const std::string& group_id,
                      const std::string& request_id, GroupState& state) {
  if (request_id.empty()) return;
  std::set<std::string> known;
  for (const CloudMachine& m : state.machines) known.insert(m.machine_id);
  for (CloudMachine& m : context.FindByRequest(request_id)) {
    if (known.insert(m.machine_id).second && !IsFinalMachineState(m.state)) {
      m.cloud_host_id = group_id;
      state.machines.push_back(std::move(m));
    }
  }
}

}  // namespace orb
