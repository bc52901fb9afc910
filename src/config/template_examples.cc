#include "config/template_examples.h"

namespace orb {

namespace {

using Json = nlohmann::ordered_json;

const char* PriceTitle(PriceType p) { return p == PriceType::kSpot ? "Spot" : "OnDemand"; }

const char* FleetTitle(FleetType f) {
  switch (f) {
    case FleetType::kInstant: return "Instant";
    case FleetType::kRequest: return "Request";
    case FleetType::kMaintain: return "Maintain";
  }
  return "";
}

std::string PriceNote(PriceType p) {
  return p == PriceType::kSpot
             ? "Spot capacity: cheaper, but AWS may take it back (orb reports such hosts to "
               "HostFactory through getReturnRequests)."
             : "On-demand capacity: billed per second, never taken back by AWS.";
}

std::string FleetNote(FleetType f) {
  switch (f) {
    case FleetType::kInstant:
      return "fleetType instant: one synchronous call; AWS launches what it can at once and "
             "orb reports any shortfall.";
    case FleetType::kRequest:
      return "fleetType request: AWS keeps trying until the target capacity is reached once, "
             "then does not replace lost instances.";
    case FleetType::kMaintain:
      return "fleetType maintain: AWS keeps the target capacity, replacing instances it "
             "loses.";
  }
  return "";
}

Json Base(const std::string& id, ProviderApi api) {
  Json t = Json::object();
  t["templateId"] = id;
  t["maxNumber"] = 10;
  Json attributes = Json::object();
  attributes["type"] = Json::array({"String", "X86_64"});
  attributes["ncpus"] = Json::array({"Numeric", "2"});
  attributes["nram"] = Json::array({"Numeric", "8192"});
  t["attributes"] = attributes;
  t["providerApi"] = std::string(ProviderApiName(api));
  return t;
}

void AddLaunchFields(Json& t, bool several_types) {
  t["imageId"] = "ami-0123456789abcdef0";
  if (several_types) {
    t["vmTypes"] = Json{{"m5.large", 1}, {"m5a.large", 1}, {"m6i.large", 1}};
    t["subnetId"] = "subnet-0123456789abcdef0,subnet-0fedcba9876543210";
  } else {
    t["vmType"] = "m5.large";
    t["subnetId"] = "subnet-0123456789abcdef0";
  }
  t["securityGroupIds"] = Json::array({"sg-0123456789abcdef0"});
  t["instanceTags"] = "Project=example;Team=hpc";
}

bool Wanted(const TemplateExampleFilter& f, ProviderApi api, std::optional<FleetType> fleet,
            PriceType price) {
  if (f.api && *f.api != api) return false;
  if (f.fleet_type && fleet != f.fleet_type) return false;
  if (f.price_type && *f.price_type != price) return false;
  return true;
}

}  // namespace

std::vector<TemplateExample> ExampleTemplates(const TemplateExampleFilter& filter) {
  std::vector<TemplateExample> out;
  const PriceType kPrices[] = {PriceType::kOnDemand, PriceType::kSpot};

  for (PriceType p : kPrices) {
    if (!Wanted(filter, ProviderApi::kRunInstances, std::nullopt, p)) continue;
    Json t = Base(std::string("RunInstances-") + PriceTitle(p), ProviderApi::kRunInstances);
    t["priceType"] = std::string(PriceTypeName(p));
    AddLaunchFields(t, false);
    out.push_back({"RunInstances, " + std::string(PriceTypeName(p)) +
                       ": one EC2 RunInstances call of a single instance type.\n" +
                       PriceNote(p),
                   t});
  }
  for (FleetType f : {FleetType::kInstant, FleetType::kRequest, FleetType::kMaintain}) {
    for (PriceType p : kPrices) {
      if (!Wanted(filter, ProviderApi::kEc2Fleet, f, p)) continue;
      Json t = Base(std::string("EC2Fleet-") + FleetTitle(f) + "-" + PriceTitle(p),
                    ProviderApi::kEc2Fleet);
      t["fleetType"] = std::string(FleetTypeName(f));
      t["priceType"] = std::string(PriceTypeName(p));
      AddLaunchFields(t, true);
      out.push_back({"EC2Fleet, fleetType " + std::string(FleetTypeName(f)) + ", " +
                         std::string(PriceTypeName(p)) +
                         ": one EC2 CreateFleet call over several instance types (vmTypes "
                         "weights are capacity units).\n" +
                         FleetNote(f) + "\n" + PriceNote(p),
                     t});
    }
  }
  for (FleetType f : {FleetType::kRequest, FleetType::kMaintain}) {
    if (!Wanted(filter, ProviderApi::kSpotFleet, f, PriceType::kSpot)) continue;
    Json t = Base(std::string("SpotFleet-") + FleetTitle(f), ProviderApi::kSpotFleet);
    t["fleetType"] = std::string(FleetTypeName(f));
    t["priceType"] = "spot";
    AddLaunchFields(t, true);
    t["fleetRole"] = "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role";
    out.push_back({"SpotFleet, fleetType " + std::string(FleetTypeName(f)) +
                       ": one EC2 RequestSpotFleet call; fleetRole is the IAM role Spot "
                       "Fleet acts as (a role name or its ARN).\n" +
                       FleetNote(f) + "\n" + PriceNote(PriceType::kSpot),
                   t});
  }
  for (PriceType p : kPrices) {
    if (!Wanted(filter, ProviderApi::kAsg, std::nullopt, p)) continue;
    Json t = Base(std::string("ASG-") + PriceTitle(p), ProviderApi::kAsg);
    t["priceType"] = std::string(PriceTypeName(p));
    AddLaunchFields(t, true);
    out.push_back({"ASG, " + std::string(PriceTypeName(p)) +
                       ": an EC2 Auto Scaling group over several instance types and "
                       "subnets.\n" +
                       PriceNote(p),
                   t});
  }
  return out;
}

}  // namespace orb
