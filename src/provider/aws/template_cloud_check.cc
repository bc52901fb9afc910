#include "provider/aws/template_cloud_check.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "common/error.h"
#include "provider/aws/aws_error.h"

namespace orb {

namespace {

std::vector<std::string> Unique(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& id : ids) {
    if (!id.empty() && seen.insert(id).second) out.push_back(id);
  }
  return out;
}

std::vector<std::vector<std::string>> Chunks(const std::vector<std::string>& ids, size_t size) {
  std::vector<std::vector<std::string>> out;
  for (size_t at = 0; at < ids.size(); at += size) {
    out.emplace_back(ids.begin() + at, ids.begin() + std::min(ids.size(), at + size));
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

bool IsNumber(const std::string& s) {
  return !s.empty() && s.size() < 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class Checker {
 public:
  Checker(const Template& t, Ec2Client& ec2, ImageResolver* images)
      : t_(t), ec2_(ec2), images_(images) {}

  std::vector<std::string> Run() {
    CheckSubnets();
    CheckSecurityGroups();
    CheckVpcs();
    CheckImage();
    CheckLaunchTemplate();
    return std::move(problems_);
  }

 private:
  void Report(std::string_view field, const std::string& text) {
    problems_.push_back("template '" + t_.template_id + "' field '" + std::string(field) +
                        "': " + text);
  }

  // Subnets and security groups are described with an id *filter*, not an id
  // list: with ids, AWS fails the whole call at the first unknown id
  // (InvalidSubnetID.NotFound / InvalidGroup.NotFound) and names only that one,
  // while a filter answers every id that exists in one call, so the missing ones
  // are exactly those not in the answer (malformed ids included).
  void CheckSubnets() {
    const std::vector<std::string> ids = Unique(t_.subnet_ids);
    if (ids.empty()) return;
    for (const auto& chunk : Chunks(ids, Ec2Client::kMaxFilterValues)) {
      for (const Subnet& s : ec2_.DescribeSubnets({}, {{"subnet-id", chunk}})) {
        subnet_vpc_[s.subnet_id] = s.vpc_id;
      }
    }
    for (const std::string& id : ids) {
      if (!subnet_vpc_.count(id)) {
        Report("subnetIds", id + " does not exist in this account and region");
      }
    }
  }

  void CheckSecurityGroups() {
    const std::vector<std::string> ids = Unique(t_.security_group_ids);
    if (ids.empty()) return;
    for (const auto& chunk : Chunks(ids, Ec2Client::kMaxFilterValues)) {
      for (const SecurityGroup& g : ec2_.DescribeSecurityGroups({}, {{"group-id", chunk}})) {
        group_vpc_[g.group_id] = g.vpc_id;
      }
    }
    for (const std::string& id : ids) {
      if (!group_vpc_.count(id)) {
        Report("securityGroupIds", id + " does not exist in this account and region");
      }
    }
  }

  // EC2 refuses a launch whose security groups are not in the subnet's VPC.
  void CheckVpcs() {
    if (t_.subnet_ids.empty()) {
      if (!t_.launch_template_id.empty()) return;  // the network may come from it
      std::vector<Vpc> defaults = ec2_.DescribeVpcs({}, {{"is-default", {"true"}}});
      if (defaults.empty()) {
        Report("subnetIds",
               "not given, and this region has no default VPC to launch into: give subnetIds");
        return;
      }
      const std::string& vpc = defaults.front().vpc_id;
      for (const std::string& id : Unique(t_.security_group_ids)) {
        auto g = group_vpc_.find(id);
        if (g != group_vpc_.end() && g->second != vpc) {
          Report("securityGroupIds", id + " belongs to " + g->second +
                                         ", but with no subnetIds instances launch in "
                                         "the default VPC " +
                                         vpc + ": give subnetIds of " + g->second +
                                         " or a security group of " + vpc);
        }
      }
      return;
    }
    for (const std::string& id : Unique(t_.security_group_ids)) {
      auto g = group_vpc_.find(id);
      if (g == group_vpc_.end()) continue;
      std::vector<std::string> elsewhere;
      std::set<std::string> their_vpcs;
      for (const std::string& subnet : Unique(t_.subnet_ids)) {
        auto s = subnet_vpc_.find(subnet);
        if (s != subnet_vpc_.end() && s->second != g->second) {
          elsewhere.push_back(subnet);
          their_vpcs.insert(s->second);
        }
      }
      if (elsewhere.empty()) continue;
      Report("securityGroupIds",
             id + " belongs to " + g->second + " but subnet" + (elsewhere.size() > 1 ? "s " : " ") +
                 JoinIds(elsewhere) + (elsewhere.size() > 1 ? " are" : " is") + " in " +
                 JoinIds({their_vpcs.begin(), their_vpcs.end()}) +
                 ": EC2 refuses to launch there (security groups must be in the subnet's VPC)");
    }
  }

  void CheckImage() {
    if (t_.image_id.empty()) return;  // the launch template gives it
    std::string ami = t_.image_id;
    std::string via;
    if (ImageResolver::IsSsmReference(t_.image_id)) {
      if (images_ == nullptr) return;
      try {
        ResolvedImage resolved = images_->Resolve(t_.image_id);
        ami = resolved.image_id;
        via = " (from SSM parameter " + resolved.parameter + ")";
      } catch (const AwsError& e) {
        // SSM's answers about the parameter itself are the template's problem; any
        // other failure (network, throttling, access) is not.
        const std::string& code = e.aws_code();
        if (code != "ParameterNotFound" && code != "ParameterVersionNotFound" &&
            code != "InvalidParameterValue" && code != "ValidationException") {
          throw;
        }
        Report("imageId", e.what());
        return;
      }
    }
    std::vector<Image> found;
    try {
      found = ec2_.DescribeImages({{ami}, {}, {}});
    } catch (const AwsError& e) {
      // An unknown or malformed AMI id fails the call (InvalidAMIID.NotFound /
      // .Malformed / .Unavailable); with one id, that answer is the check.
      if (!StartsWith(e.aws_code(), "InvalidAMIID.")) throw;
    }
    auto it =
        std::find_if(found.begin(), found.end(), [&](const Image& i) { return i.image_id == ami; });
    if (it == found.end()) {
      Report("imageId", "AMI " + ami + via +
                            " does not exist in this region, or is not shared with this account");
    } else if (!it->state.empty() && it->state != "available") {
      Report("imageId", "AMI " + ami + via + " is " + it->state + ", not available");
    }
  }

  // Launch templates have no id filter: the id list is used, and AWS's refusal of
  // an unknown id (InvalidLaunchTemplateId.NotFound / .Malformed) is the answer.
  void CheckLaunchTemplate() {
    if (t_.launch_template_id.empty()) return;
    std::vector<LaunchTemplate> found;
    try {
      found = ec2_.DescribeLaunchTemplates({t_.launch_template_id}, {});
    } catch (const AwsError& e) {
      if (!StartsWith(e.aws_code(), "InvalidLaunchTemplateId.") &&
          !StartsWith(e.aws_code(), "InvalidLaunchTemplateName.")) {
        throw;
      }
    }
    auto it = std::find_if(found.begin(), found.end(), [&](const LaunchTemplate& lt) {
      return lt.launch_template_id == t_.launch_template_id;
    });
    if (it == found.end()) {
      Report("launchTemplateId",
             t_.launch_template_id + " does not exist in this account and region");
      return;
    }
    const std::string& version = t_.launch_template_version;
    if (IsNumber(version) && it->latest_version > 0 && std::stoll(version) > it->latest_version) {
      Report("launchTemplateVersion", "version " + version + " of " + t_.launch_template_id +
                                          " does not exist (the latest is " +
                                          std::to_string(it->latest_version) + ")");
    }
  }

  const Template& t_;
  Ec2Client& ec2_;
  ImageResolver* images_;
  std::vector<std::string> problems_;
  std::map<std::string, std::string> subnet_vpc_;  // found subnets' VPCs
  std::map<std::string, std::string> group_vpc_;   // found security groups' VPCs
};

}  // namespace

std::vector<std::string> CheckTemplateInCloud(const Template& t, Ec2Client& ec2,
                                              ImageResolver* images) {
  return Checker(t, ec2, images).Run();
}

}  // namespace orb
