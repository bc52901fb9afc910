#include "config/template_loader.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace orb {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::SizeIs;

std::string Data(const std::string& name) {
  return std::string(ORB_TEST_DATA_DIR) + "/templates/" + name;
}

// The message LoadTemplatesFile throws for `path`, after checking it is kInvalidConfig.
std::string LoadError(const std::string& path) {
  try {
    LoadTemplatesFile(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    return e.what();
  }
  ADD_FAILURE() << "LoadTemplatesFile(" << path << ") did not throw";
  return "";
}

// A minimal valid template with `fields` laid over it (its vmType left out when `fields`
// gives vmTypes).
Json WithFields(const Json& fields) {
  Json t = {{"templateId", "T1"}, {"maxNumber", 1}, {"vmType", "m5.large"}};
  if (fields.contains("vmTypes")) t.erase("vmType");
  for (const auto& [k, v] : fields.items()) t[k] = v;
  return t;
}

// Parses one template built by WithFields; fails the test on a problem.
Template ParseOne(const Json& fields) {
  std::vector<Template> out = ParseTemplates(Json{{"templates", Json::array({WithFields(fields)})}},
                                             "inline.json", nullptr);
  EXPECT_THAT(out, SizeIs(1));
  return out.empty() ? Template{} : out.front();
}

// The message ParseTemplates throws for a document with the single template WithFields
// builds; "" when it is accepted.
std::string ParseError(const Json& fields) {
  try {
    ParseTemplates(Json{{"templates", Json::array({WithFields(fields)})}}, "inline.json", nullptr);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    return e.what();
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> Attrs(const Template& t) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Attribute& a : t.attributes) out.emplace_back(a.name, a.type + ":" + a.value);
  return out;
}

// A fresh empty directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("orb_template_loader_test_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name)) << text;
    return Path(name);
  }
  std::string dir() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// ---------------------------------------------------------------------------------------
// Good files.

TEST(TemplateLoaderTest, LoadsIbmFormatFile) {
  const std::string path = Data("ibm_good.json");
  std::vector<Template> ts = LoadTemplatesFile(path);
  ASSERT_THAT(ts, SizeIs(4));

  const Template& od = ts[0];
  EXPECT_EQ(od.template_id, "OnDemand-M5");
  EXPECT_EQ(od.max_number, 10);
  EXPECT_EQ(od.source_file, path);
  EXPECT_EQ(od.provider_api, ProviderApi::kRunInstances);
  EXPECT_EQ(od.price_type, PriceType::kOnDemand);
  EXPECT_FALSE(od.fleet_type.has_value());
  EXPECT_EQ(od.image_id, "ami-0123456789abcdef0");
  EXPECT_THAT(od.vm_types, ElementsAre(Pair("m5.large", 1)));
  EXPECT_THAT(od.subnet_ids, ElementsAre("subnet-0123456789abcdef0", "subnet-0fedcba9876543210"));
  EXPECT_THAT(od.security_group_ids, ElementsAre("sg-0123456789abcdef0"));
  EXPECT_EQ(od.key_name, "hf-key");
  EXPECT_THAT(od.instance_tags, ElementsAre(Pair("company", "abc"), Pair("project", "awscloud")));
  EXPECT_EQ(od.user_data_script, "/opt/symphony/hf/user_data.sh");
  EXPECT_EQ(od.root_device_volume_size, 50);
  EXPECT_EQ(od.volume_type, "gp3");
  EXPECT_EQ(od.iops, 3000);
  EXPECT_EQ(od.instance_profile, "arn:aws:iam::123456789012:instance-profile/hf-compute");
  EXPECT_THAT(Attrs(od), ElementsAre(Pair("type", "String:X86_64"), Pair("ncpus", "Numeric:2"),
                                     Pair("ncores", "Numeric:1"), Pair("nram", "Numeric:8192")));

  const Template& sf = ts[1];
  EXPECT_EQ(sf.template_id, "Spot-Fleet");
  EXPECT_EQ(sf.max_number, 20);  // from the string "20"
  EXPECT_EQ(sf.provider_api, ProviderApi::kSpotFleet);
  EXPECT_EQ(sf.fleet_type, FleetType::kRequest);  // SpotFleet's default
  EXPECT_EQ(sf.price_type, PriceType::kSpot);
  EXPECT_EQ(sf.max_spot_price, 0.12);
  EXPECT_THAT(sf.vm_types, ElementsAre(Pair("c5.large", 1), Pair("c5.xlarge", 2)));
  EXPECT_THAT(sf.vm_types_on_demand, ElementsAre(Pair("m5.large", 1)));
  EXPECT_THAT(sf.subnet_ids, SizeIs(2));
  EXPECT_THAT(sf.security_group_ids, ElementsAre("sg-0123456789abcdef0", "sg-0fedcba9876543210"));
  EXPECT_EQ(sf.fleet_role, "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role");
  EXPECT_EQ(sf.allocation_strategy, "capacityOptimized");
  EXPECT_EQ(sf.percent_on_demand, 20);
  EXPECT_EQ(sf.spot_fleet_request_expiry, "30");
  EXPECT_EQ(sf.raw["customKey"], Json({{"nested", true}}));  // unknown keys are kept
  // rank was written as a number: it becomes the string HostFactory expects. The sizes are
  // derived from the smallest of c5.large, c5.xlarge and the on-demand m5.large.
  EXPECT_THAT(Attrs(sf), ElementsAre(Pair("rank", "Numeric:1"), Pair("type", "String:X86_64"),
                                     Pair("ncpus", "Numeric:2"), Pair("ncores", "Numeric:1"),
                                     Pair("nram", "Numeric:4096")));

  const Template& lt = ts[2];
  EXPECT_EQ(lt.max_number, -1);
  EXPECT_EQ(lt.provider_api, ProviderApi::kEc2Fleet);
  EXPECT_EQ(lt.fleet_type, FleetType::kInstant);  // EC2Fleet's default
  EXPECT_TRUE(lt.vm_types.empty());
  EXPECT_EQ(lt.launch_template_id, "lt-0123456789abcdef0");
  EXPECT_EQ(lt.launch_template_version, "3");
  // No instance types: the explicit attributes stand and optional ncores is not invented.
  EXPECT_THAT(Attrs(lt), ElementsAre(Pair("type", "String:X86_64"), Pair("ncpus", "Numeric:4"),
                                     Pair("nram", "Numeric:16384")));

  const Template& arm = ts[3];
  EXPECT_EQ(arm.max_number, 0);
  EXPECT_THAT(Attrs(arm), ElementsAre(Pair("type", "String:ARM64"), Pair("ncpus", "Numeric:2"),
                                      Pair("ncores", "Numeric:2"), Pair("nram", "Numeric:8192")));
}

TEST(TemplateLoaderTest, LoadsPythonOrbSnakeCaseFile) {
  std::vector<Template> ts = LoadTemplatesFile(Data("orb_snake.json"));
  ASSERT_THAT(ts, SizeIs(3));

  const Template& fleet = ts[0];
  EXPECT_EQ(fleet.template_id, "orb-ec2fleet");
  EXPECT_EQ(fleet.max_number, 5);
  EXPECT_EQ(fleet.provider_api, ProviderApi::kEc2Fleet);
  EXPECT_EQ(fleet.fleet_type, FleetType::kRequest);
  EXPECT_EQ(fleet.price_type, PriceType::kSpot);
  EXPECT_EQ(fleet.max_spot_price, 0.05);
  EXPECT_THAT(fleet.vm_types, ElementsAre(Pair("t3.medium", 1), Pair("m5.large", 2)));
  EXPECT_TRUE(fleet.vm_types_on_demand.empty());
  EXPECT_THAT(fleet.vm_types_priority, ElementsAre(Pair("t3.medium", 1), Pair("m5.large", 2)));
  EXPECT_THAT(fleet.subnet_ids, ElementsAre("subnet-0123456789abcdef0"));
  EXPECT_THAT(fleet.security_group_ids,
              ElementsAre("sg-0123456789abcdef0", "sg-0fedcba9876543210"));
  EXPECT_THAT(fleet.instance_tags,
              ElementsAre(Pair("Environment", "dev"), Pair("ManagedBy", "ORB")));
  EXPECT_EQ(fleet.percent_on_demand, 25);
  EXPECT_EQ(fleet.root_device_volume_size, 100);
  EXPECT_EQ(fleet.allocation_strategy, "price_capacity_optimized");
  EXPECT_EQ(fleet.context, "c-abc1234567890123");
  // t3.medium (2 vCPU, 4 GiB) and m5.large (2 vCPU, 8 GiB): the smaller memory wins.
  EXPECT_THAT(Attrs(fleet), ElementsAre(Pair("type", "String:X86_64"), Pair("ncpus", "Numeric:2"),
                                        Pair("ncores", "Numeric:1"), Pair("nram", "Numeric:4096")));

  const Template& asg = ts[1];
  EXPECT_EQ(asg.provider_api, ProviderApi::kAsg);
  EXPECT_FALSE(asg.fleet_type.has_value());
  EXPECT_THAT(asg.vm_types, ElementsAre(Pair("c6i.xlarge", 1)));
  EXPECT_EQ(asg.image_id, "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
  EXPECT_THAT(asg.subnet_ids, ElementsAre("subnet-0123456789abcdef0"));
  EXPECT_THAT(asg.instance_tags, ElementsAre(Pair("team", "hpc")));
  EXPECT_EQ(asg.user_data, "#!/bin/bash\necho hello");

  const Template& abis = ts[2];
  EXPECT_EQ(abis.fleet_type, FleetType::kMaintain);
  EXPECT_TRUE(abis.vm_types.empty());
  EXPECT_EQ(abis.abis_instance_requirements["VCpuCount"]["Min"], 2);
  // Attribute types in any casing are written the way HostFactory spells them.
  EXPECT_THAT(Attrs(abis), ElementsAre(Pair("type", "String:X86_64"), Pair("ncpus", "Numeric:2"),
                                       Pair("nram", "Numeric:4096")));
}

TEST(TemplateLoaderTest, LoadsYamlFile) {
  std::vector<Template> ts = LoadTemplatesFile(Data("good.yaml"));
  ASSERT_THAT(ts, SizeIs(2));
  EXPECT_EQ(ts[0].template_id, "yaml-ondemand");
  EXPECT_EQ(ts[0].max_number, 4);
  EXPECT_THAT(ts[0].subnet_ids, ElementsAre("subnet-0123456789abcdef0"));
  EXPECT_THAT(ts[0].instance_tags, ElementsAre(Pair("team", "hpc"), Pair("cost-center", "cc7")));
  // The explicit nram (a YAML number) is kept; the rest is derived from m5.xlarge.
  EXPECT_THAT(Attrs(ts[0]),
              ElementsAre(Pair("nram", "Numeric:16000"), Pair("type", "String:X86_64"),
                          Pair("ncpus", "Numeric:4"), Pair("ncores", "Numeric:2")));
  EXPECT_EQ(ts[1].template_id, "12345");  // quoted in YAML: stays a string
  EXPECT_EQ(ts[1].max_number, -1);
  EXPECT_EQ(ts[1].price_type, PriceType::kSpot);
  EXPECT_THAT(Attrs(ts[1]),
              ElementsAre(Pair("type", "String:ARM64"), Pair("ncpus", "Numeric:4"),
                          Pair("ncores", "Numeric:4"), Pair("nram", "Numeric:16384")));
}

TEST(TemplateLoaderTest, AcceptsBareTopLevelArray) {
  std::vector<Template> ts = LoadTemplatesFile(Data("bare_array.json"));
  ASSERT_THAT(ts, SizeIs(1));
  EXPECT_EQ(ts[0].template_id, "Bare-1");
}

// The shipped example offers what orb can launch today: RunInstances (on-demand and
// spot), EC2 Fleet instant with several weighted types, an Auto Scaling group, and an
// ARM template.
TEST(TemplateLoaderTest, ShippedExampleLoadsAndCoversWhatOrbLaunches) {
  const std::string path =
      std::string(ORB_SOURCE_DIR) + "/examples/awsinst/awsinstprov_templates.json";
  std::vector<std::string> problems = ValidateTemplatesFile(path, nullptr);
  EXPECT_THAT(problems, IsEmpty());
  std::vector<Template> ts = LoadTemplatesFile(path);
  ASSERT_GE(ts.size(), 4u);
  bool run = false, spot = false, fleet = false, asg = false, arm = false;
  for (const Template& t : ts) {
    run |= t.provider_api == ProviderApi::kRunInstances && t.price_type == PriceType::kOnDemand;
    spot |= t.provider_api == ProviderApi::kRunInstances && t.price_type == PriceType::kSpot;
    fleet |= t.provider_api == ProviderApi::kEc2Fleet && t.fleet_type == FleetType::kInstant &&
             t.vm_types.size() > 1;
    asg |= t.provider_api == ProviderApi::kAsg;
    const Attribute* type = t.FindAttribute("type");
    ASSERT_NE(type, nullptr) << t.template_id;
    arm |= type->value == "ARM64";
    for (const char* required : {"ncpus", "nram"}) {
      EXPECT_NE(t.FindAttribute(required), nullptr) << t.template_id << " " << required;
    }
  }
  EXPECT_TRUE(run && spot && fleet && asg && arm);
}

// ---------------------------------------------------------------------------------------
// Alternative forms of each field.

TEST(TemplateFieldsTest, CapacityPolicyAndPublicAddressForms) {
  EXPECT_FALSE(ParseOne({}).all_or_nothing) << "best-effort by default";
  EXPECT_TRUE(ParseOne({{"capacityPolicy", "all-or-nothing"}}).all_or_nothing);
  EXPECT_TRUE(ParseOne({{"capacity_policy", "ALL_OR_NOTHING"}}).all_or_nothing);
  EXPECT_FALSE(ParseOne({{"capacityPolicy", "best-effort"}}).all_or_nothing);
  EXPECT_THAT(ParseError({{"capacityPolicy", "most"}}),
              HasSubstr("field 'capacityPolicy': must be \"best-effort\" or \"all-or-nothing\""));
  EXPECT_FALSE(ParseOne({}).associate_public_ip.has_value()) << "absent = the subnet's default";
  EXPECT_EQ(ParseOne({{"associatePublicIpAddress", true}}).associate_public_ip, true);
  EXPECT_EQ(ParseOne({{"associate_public_ip_address", "false"}}).associate_public_ip, false);
  EXPECT_THAT(ParseError({{"associatePublicIpAddress", "yes"}}),
              HasSubstr("field 'associatePublicIpAddress': must be true or false"));
}

TEST(TemplateFieldsTest, MaxNumberForms) {
  EXPECT_EQ(ParseOne({{"maxNumber", "10"}}).max_number, 10);
  EXPECT_EQ(ParseOne({{"maxNumber", " 7 "}}).max_number, 7);
  EXPECT_EQ(ParseOne({{"maxNumber", -1}}).max_number, -1);
  EXPECT_EQ(ParseOne({{"maxNumber", 0}}).max_number, 0);
  EXPECT_EQ(ParseOne({{"maxNumber", 12.0}}).max_number, 12);
  Json snake = {{"template_id", "S"}, {"max_number", 3}, {"vm_type", "m5.large"}};
  auto ts = ParseTemplates(Json::array({snake}), "inline.json", nullptr);
  ASSERT_THAT(ts, SizeIs(1));
  EXPECT_EQ(ts[0].template_id, "S");
  EXPECT_EQ(ts[0].max_number, 3);
}

TEST(TemplateFieldsTest, InstanceTypeForms) {
  EXPECT_THAT(ParseOne({{"vmType", "m5.large, m5.xlarge"}}).vm_types,
              ElementsAre(Pair("m5.large", 1), Pair("m5.xlarge", 1)));
  EXPECT_THAT(ParseOne({{"vm_type", "c5.large"}}).vm_types, ElementsAre(Pair("m5.large", 1)))
      << "camelCase wins when both spellings are present";
  Json no_type = WithFields({});
  no_type.erase("vmType");
  no_type["vm_types"] = {{"c5.large", 2}};
  auto ts = ParseTemplates(Json::array({no_type}), "inline.json", nullptr);
  EXPECT_THAT(ts.at(0).vm_types, ElementsAre(Pair("c5.large", 2)));
  EXPECT_THAT(ParseOne({{"vmTypes", {{"m5.large", "3"}}}}).vm_types,
              ElementsAre(Pair("m5.large", 3)));
  EXPECT_THAT(ParseOne({{"vmTypes", {"m5.large", "c5.large"}}}).vm_types,
              ElementsAre(Pair("m5.large", 1), Pair("c5.large", 1)));
  // vmType alongside vmTypes is fine when it is one of them.
  EXPECT_THAT(
      ParseOne({{"vmType", "m5.large"}, {"vmTypes", {{"c5.large", 1}, {"m5.large", 2}}}}).vm_types,
      ElementsAre(Pair("c5.large", 1), Pair("m5.large", 2)));
  EXPECT_THAT(ParseOne({{"vmTypesPriority", {{"m5.large", 0}}}}).vm_types_priority,
              ElementsAre(Pair("m5.large", 0)));
}

TEST(TemplateFieldsTest, LaunchTemplateOrAbisReplaceInstanceTypes) {
  Json attrs = {
      {"type", {"String", "X86_64"}}, {"ncpus", {"Numeric", "2"}}, {"nram", {"Numeric", "4096"}}};
  Json lt = WithFields({{"launchTemplateId", "lt-0123456789abcdef0"}, {"attributes", attrs}});
  lt.erase("vmType");
  Json abis = WithFields(
      {{"abisInstanceRequirements", {{"VCpuCount", {{"Min", 2}}}}}, {"attributes", attrs}});
  abis.erase("vmType");
  abis["templateId"] = "T2";
  EXPECT_THAT(ParseTemplates(Json::array({lt, abis}), "inline.json", nullptr), SizeIs(2));
}

TEST(TemplateFieldsTest, SubnetAndSecurityGroupForms) {
  EXPECT_THAT(ParseOne({{"subnetId", "subnet-a"}}).subnet_ids, ElementsAre("subnet-a"));
  EXPECT_THAT(ParseOne({{"subnetId", " subnet-a ,subnet-b,"}}).subnet_ids,
              ElementsAre("subnet-a", "subnet-b"));
  EXPECT_THAT(ParseOne({{"subnetIds", {"subnet-a", "subnet-b"}}}).subnet_ids,
              ElementsAre("subnet-a", "subnet-b"));
  EXPECT_THAT(ParseOne({{"subnet_ids", Json::array()}}).subnet_ids, IsEmpty());
  EXPECT_THAT(ParseOne({{"securityGroupIds", "sg-a,sg-b"}}).security_group_ids,
              ElementsAre("sg-a", "sg-b"));
  EXPECT_THAT(ParseOne({{"security_group_ids", {"sg-a"}}}).security_group_ids, ElementsAre("sg-a"));
}

TEST(TemplateFieldsTest, InstanceTagForms) {
  EXPECT_THAT(ParseOne({{"instanceTags", " a = 1 ;b=x=y; ;"}}).instance_tags,
              ElementsAre(Pair("a", "1"), Pair("b", "x=y")));
  EXPECT_THAT(ParseOne({{"instanceTags", "empty="}}).instance_tags, ElementsAre(Pair("empty", "")));
  EXPECT_THAT(ParseOne({{"instance_tags", {{"Team", "hpc"}, {"Cost", 7}}}}).instance_tags,
              ElementsAre(Pair("Team", "hpc"), Pair("Cost", "7")));
  EXPECT_THAT(ParseOne({{"tags", "x=1"}}).instance_tags, ElementsAre(Pair("x", "1")));
  EXPECT_THAT(
      ParseOne({{"instanceTags", Json::array({{{"Key", "Name"}, {"Value", "n1"}}})}}).instance_tags,
      ElementsAre(Pair("Name", "n1")));
  EXPECT_THAT(ParseOne({{"instanceTags", ""}}).instance_tags, IsEmpty());
}

TEST(TemplateFieldsTest, ApiFleetAndPriceForms) {
  Template t = ParseOne({{"providerApi", "spot-fleet"}, {"fleetType", "MAINTAIN"}});
  EXPECT_EQ(t.provider_api, ProviderApi::kSpotFleet);
  EXPECT_EQ(t.fleet_type, FleetType::kMaintain);
  t = ParseOne({{"provider_api", "asg"}, {"fleet_type", "request"}});
  EXPECT_EQ(t.provider_api, ProviderApi::kAsg);
  EXPECT_FALSE(t.fleet_type.has_value()) << "fleetType means nothing to an ASG";
  t = ParseOne({{"providerApi", "EC2Fleet"}});
  EXPECT_EQ(t.fleet_type, FleetType::kInstant);
  EXPECT_EQ(ParseOne({{"priceType", "On-Demand"}}).price_type, PriceType::kOnDemand);
  EXPECT_EQ(ParseOne({{"price_type", "SPOT"}}).price_type, PriceType::kSpot);
  EXPECT_EQ(ParseOne({}).price_type, PriceType::kOnDemand);
  t = ParseOne({{"priceType", "heterogeneous"}, {"percentOnDemand", 30}});
  EXPECT_EQ(t.price_type, PriceType::kSpot);
  EXPECT_EQ(t.percent_on_demand, 30);
  // A spot price alone does not make a template spot: priceType says so.
  EXPECT_EQ(ParseOne({{"maxSpotPrice", 0.5}}).price_type, PriceType::kOnDemand);
}

TEST(TemplateFieldsTest, NumericAndStringFieldForms) {
  EXPECT_EQ(ParseOne({{"maxSpotPrice", "0.25"}}).max_spot_price, 0.25);
  EXPECT_EQ(ParseOne({{"spot_price", 1}}).max_spot_price, 1.0);
  EXPECT_EQ(ParseOne({{"percentOnDemand", 0}}).percent_on_demand, 0);
  EXPECT_EQ(ParseOne({{"percentOnDemand", "100"}}).percent_on_demand, 100);
  EXPECT_EQ(ParseOne({{"iops", "4000"}}).iops, 4000);
  EXPECT_EQ(ParseOne({{"allocationStrategy", "CAPACITY_OPTIMIZED"}}).allocation_strategy,
            "CAPACITY_OPTIMIZED");
  EXPECT_EQ(
      ParseOne({{"spotFleetRequestExpiry", "2030-01-01T00:00:00Z"}}).spot_fleet_request_expiry,
      "2030-01-01T00:00:00Z");
  EXPECT_EQ(ParseOne({{"userDataScript", "/no/such/script.sh"}}).user_data_script,
            "/no/such/script.sh")
      << "the script is not read at load time";
  EXPECT_EQ(ParseOne({{"keyName", nullptr}}).key_name, "") << "null counts as absent";
}

// ---------------------------------------------------------------------------------------
// Attribute derivation.

TEST(TemplateDeriveTest, ExplicitAttributesAreKeptEvenWhenTheyDisagree) {
  Template t = ParseOne({{"vmType", "m5.2xlarge"},
                         {"attributes",
                          {{"ncpus", {"Numeric", "1"}},
                           {"type", {"String", "X86_64"}},
                           {"nram", {"Numeric", "1024"}},
                           {"ncores", {"Numeric", "1"}}}}});
  EXPECT_THAT(Attrs(t), ElementsAre(Pair("ncpus", "Numeric:1"), Pair("type", "String:X86_64"),
                                    Pair("nram", "Numeric:1024"), Pair("ncores", "Numeric:1")));
}

TEST(TemplateDeriveTest, MissingOnesAreDerivedAndAppended) {
  Template t = ParseOne({{"vmType", "m5.2xlarge"},
                         {"attributes", {{"ncpus", {"Numeric", "6"}}, {"zone", {"String", "a"}}}}});
  EXPECT_THAT(Attrs(t), ElementsAre(Pair("ncpus", "Numeric:6"), Pair("zone", "String:a"),
                                    Pair("type", "String:X86_64"), Pair("ncores", "Numeric:4"),
                                    Pair("nram", "Numeric:32768")));
}

TEST(TemplateDeriveTest, MultiTypeTemplatesGetTheSmallestSizes) {
  Template t = ParseOne({{"vmTypes", {{"m5.2xlarge", 4}, {"r5.large", 1}, {"c5.xlarge", 2}}}});
  // m5.2xlarge 8/4/32768, r5.large 2/1/16384, c5.xlarge 4/2/8192: the minimum of each.
  EXPECT_THAT(Attrs(t), ElementsAre(Pair("type", "String:X86_64"), Pair("ncpus", "Numeric:2"),
                                    Pair("ncores", "Numeric:1"), Pair("nram", "Numeric:8192")));
}

TEST(TemplateDeriveTest, GravitonIsArm64) {
  Template t = ParseOne({{"vmTypes", {{"c6g.xlarge", 1}, {"m7g.xlarge", 1}}}});
  EXPECT_THAT(Attrs(t), ElementsAre(Pair("type", "String:ARM64"), Pair("ncpus", "Numeric:4"),
                                    Pair("ncores", "Numeric:4"), Pair("nram", "Numeric:8192")));
}

TEST(TemplateDeriveTest, UnknownTypeWithoutAttributesIsAProblem) {
  const std::string msg = ParseError({{"vmType", "m99.huge"}});
  EXPECT_THAT(msg, HasSubstr("inline.json: template 'T1' field 'attributes': missing 'type', "
                             "'ncpus', 'nram'"));
  EXPECT_THAT(msg, HasSubstr("m99.huge"));
}

TEST(TemplateDeriveTest, UnknownTypeIsFineWhenAttributesAreExplicit) {
  Template t = ParseOne({{"vmType", "m99.huge"},
                         {"attributes",
                          {{"type", {"String", "X86_64"}},
                           {"ncpus", {"Numeric", "64"}},
                           {"nram", {"Numeric", "262144"}}}}});
  EXPECT_THAT(t.attributes, SizeIs(3));  // ncores is optional and cannot be derived
}

TEST(TemplateDeriveTest, MixedArchitecturesAreAProblemForTheMissingType) {
  const std::string msg =
      ParseError({{"vmTypes", {{"m5.large", 1}, {"m6g.large", 1}}},
                  {"attributes", {{"ncpus", {"Numeric", "2"}}, {"nram", {"Numeric", "8192"}}}}});
  EXPECT_THAT(msg, HasSubstr("template 'T1' field 'attributes': missing 'type' and cannot "
                             "derive it"));
  EXPECT_THAT(msg, HasSubstr("architectures"));
}

TEST(TemplateDeriveTest, NoInstanceTypeAndNoAttributesIsAProblem) {
  Json t = WithFields({{"launchTemplateId", "lt-0123456789abcdef0"}});
  t.erase("vmType");
  try {
    ParseTemplates(Json::array({t}), "inline.json", nullptr);
    FAIL() << "accepted a template whose sizes nobody knows";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("template 'T1' field 'attributes': missing 'type', 'ncpus', 'nram'"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("no instance type"));
  }
}

// Live facts (as a provider supplies them) and the built-in table.

// Parses one template built by WithFields with `facts` as the live facts; the types the
// loader asked about go to `asked` when non-null.
Template ParseWithFacts(const Json& fields, const InstanceFactsMap& facts,
                        std::vector<std::string>* asked = nullptr) {
  auto source = [&](const std::vector<std::string>& types) {
    if (asked != nullptr) asked->insert(asked->end(), types.begin(), types.end());
    return facts;
  };
  std::vector<Template> out = ParseTemplates(
      Json{{"templates", Json::array({WithFields(fields)})}}, "inline.json", nullptr, source);
  EXPECT_THAT(out, SizeIs(1));
  return out.empty() ? Template{} : out.front();
}

TEST(TemplateLiveFactsTest, ALiveFactWinsOverTheBuiltInTable) {
  // The table says m5.2xlarge is 8 vCPUs, 4 cores, 32768 MiB, X86_64.
  std::vector<std::string> asked;
  Template t = ParseWithFacts({{"vmType", "m5.2xlarge"}},
                              {{"m5.2xlarge", {16, 8, 65536, "X86_64"}}}, &asked);
  EXPECT_THAT(asked, ElementsAre("m5.2xlarge"));
  EXPECT_THAT(Attrs(t), ElementsAre(Pair("type", "String:X86_64"), Pair("ncpus", "Numeric:16"),
                                    Pair("ncores", "Numeric:8"), Pair("nram", "Numeric:65536")));
}

TEST(TemplateLiveFactsTest, ATypeOnlyTheProviderKnowsIsDerivedAndMixesWithTheTable) {
  // m99.huge is in no table; r5.large (2/1/16384 in the table) has no live fact.
  Template t = ParseWithFacts({{"vmTypes", {{"m99.huge", 1}, {"r5.large", 1}}}},
                              {{"m99.huge", {64, 32, 12288, "X86_64"}}});
  EXPECT_THAT(Attrs(t), ElementsAre(Pair("type", "String:X86_64"), Pair("ncpus", "Numeric:2"),
                                    Pair("ncores", "Numeric:1"), Pair("nram", "Numeric:12288")));
}

TEST(TemplateLiveFactsTest, WrittenAttributesWinOverLiveFactsAndTheTable) {
  Template t = ParseWithFacts(
      {{"vmType", "m5.2xlarge"},
       {"attributes", {{"ncpus", {"Numeric", "1"}}, {"type", {"String", "ARM64"}}}}},
      {{"m5.2xlarge", {16, 8, 65536, "X86_64"}}});
  EXPECT_THAT(Attrs(t), ElementsAre(Pair("ncpus", "Numeric:1"), Pair("type", "String:ARM64"),
                                    Pair("ncores", "Numeric:8"), Pair("nram", "Numeric:65536")));
}

TEST(TemplateLiveFactsTest, NoLookupWhenTheFileWritesEveryAttribute) {
  std::vector<std::string> asked;
  ParseWithFacts({{"vmType", "m5.2xlarge"},
                  {"attributes",
                   {{"ncpus", {"Numeric", "1"}},
                    {"ncores", {"Numeric", "1"}},
                    {"type", {"String", "X86_64"}},
                    {"nram", {"Numeric", "1024"}}}}},
                 {}, &asked);
  EXPECT_THAT(asked, IsEmpty());
}

TEST(TemplateLiveFactsTest, ATypeUnknownEverywhereIsStillAProblem) {
  std::vector<std::string> problems;
  std::vector<Template> out = ParseTemplates(
      Json{{"templates", Json::array({WithFields({{"vmType", "m99.huge"}})})}}, "inline.json",
      &problems, [](const std::vector<std::string>&) {
        return InstanceFactsMap{{"m5.large", {2, 1, 8192, "X86_64"}}};
      });
  EXPECT_THAT(out, IsEmpty());
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("template 'T1' field 'attributes': missing 'type', 'ncpus', "
                                     "'nram' and cannot derive them: unknown instance type "
                                     "'m99.huge'"));
}

// ---------------------------------------------------------------------------------------
// Malformed files: each message names the file and, for a template, the template and field.

TEST(TemplateMalformedTest, MissingFile) {
  const std::string path = Data("no_such_file.json");
  EXPECT_THAT(LoadError(path), HasSubstr(path));
}

TEST(TemplateMalformedTest, DirectoryInsteadOfFile) {
  TempDir dir;
  EXPECT_THAT(LoadError(dir.dir()), HasSubstr(dir.dir()));
}

// Loads `path` in a child process as user "nobody" when run as root (root reads
// files whatever their mode) and returns the error message, "" when none.
std::string LoadErrorUnprivileged(const std::string& path) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(77);
    std::string message;
    try {
      LoadTemplatesFile(path);
    } catch (const std::exception& e) {
      message = e.what();
    }
    ssize_t ignored = ::write(fds[1], message.data(), message.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) message.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) return "<could not drop privileges>";
  return message;
}

TEST(TemplateMalformedTest, UnreadableFile) {
  TempDir dir;
  const std::string path = dir.Write("awsprov_templates.json", "{\"templates\": []}");
  fs::permissions(dir.dir(), fs::perms::owner_all | fs::perms::others_exec |
                                 fs::perms::group_exec);
  fs::permissions(path, fs::perms::none);
  const std::string message = LoadErrorUnprivileged(path);
  EXPECT_THAT(message, HasSubstr(path));
  EXPECT_THAT(message, HasSubstr("Permission denied"));
}

TEST(TemplateMalformedTest, EmptyFile) {
  EXPECT_THAT(LoadError(Data("empty.json")), HasSubstr("empty.json: templates file is empty"));
  EXPECT_THAT(LoadError(Data("blank.json")), HasSubstr("blank.json: templates file is empty"));
}

TEST(TemplateMalformedTest, NotJson) {
  const std::string msg = LoadError(Data("not_json.json"));
  EXPECT_THAT(msg, HasSubstr("not_json.json"));
  EXPECT_THAT(msg, HasSubstr("line 1, column "));
}

TEST(TemplateMalformedTest, TruncatedJsonNamesLineAndColumn) {
  const std::string msg = LoadError(Data("truncated.json"));
  EXPECT_THAT(msg, HasSubstr("truncated.json"));
  EXPECT_THAT(msg, HasSubstr("line 6, column 1"));
  EXPECT_THAT(msg, Not(HasSubstr("json.exception"))) << "nlohmann's prefix means nothing to users";
}

TEST(TemplateMalformedTest, BadYamlNamesLine) {
  const std::string msg = LoadError(Data("bad.yaml"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml"));
  EXPECT_THAT(msg, HasSubstr("line 3"));
}

TEST(TemplateMalformedTest, TopLevelOfWrongType) {
  EXPECT_THAT(LoadError(Data("top_level_string.json")),
              HasSubstr("top_level_string.json: must hold {\"templates\": [...]} or an array of "
                        "templates, got a string"));
}

TEST(TemplateMalformedTest, NoTemplatesKey) {
  EXPECT_THAT(LoadError(Data("no_templates_key.json")),
              HasSubstr("no_templates_key.json: has no \"templates\" list"));
}

TEST(TemplateMalformedTest, TemplatesNotAnArray) {
  EXPECT_THAT(LoadError(Data("templates_not_array.json")),
              HasSubstr("templates_not_array.json: \"templates\" must be an array of template "
                        "objects, got an object"));
}

TEST(TemplateMalformedTest, EmptyTemplateList) {
  EXPECT_THAT(LoadError(Data("empty_list.json")), HasSubstr("empty_list.json: lists no templates"));
}

TEST(TemplateMalformedTest, TemplateNotAnObject) {
  EXPECT_THAT(LoadError(Data("template_not_object.json")),
              HasSubstr("template_not_object.json: template at index 1: must be an object, got "
                        "a string"));
}

TEST(TemplateMalformedTest, MaxNumberWordsInAFile) {
  EXPECT_THAT(LoadError(Data("bad_max_number.json")),
              HasSubstr("bad_max_number.json: template 'Spot-1' field 'maxNumber': must be an "
                        "integer >= -1, got \"ten\""));
}

TEST(TemplateMalformedTest, BadMaxNumber) {
  for (const Json& bad :
       {Json("ten"), Json(2.5), Json(-2), Json("1.5"), Json(true), Json::array({1})}) {
    EXPECT_THAT(ParseError({{"maxNumber", bad}}),
                HasSubstr("inline.json: template 'T1' field 'maxNumber': must be an integer >= -1, "
                          "got " +
                          bad.dump()));
  }
  Json missing = WithFields({});
  missing.erase("maxNumber");
  try {
    ParseTemplates(Json::array({missing}), "inline.json", nullptr);
    FAIL() << "accepted a template without maxNumber";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("inline.json: template 'T1' field 'maxNumber': missing"));
  }
}

TEST(TemplateMalformedTest, MissingOrInvalidTemplateId) {
  Json missing = WithFields({});
  missing.erase("templateId");
  std::vector<std::string> problems;
  ParseTemplates(Json::array({WithFields({}), missing}), "inline.json", &problems);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0],
              HasSubstr("inline.json: template at index 1 field 'templateId': missing"));

  for (const Json& bad :
       {Json("has space"), Json(""), Json("dot.id"), Json(std::string(65, 'a')), Json(12)}) {
    const std::string msg = ParseError({{"templateId", bad}});
    EXPECT_THAT(msg, HasSubstr("inline.json: template at index 0 field 'templateId': must be 1 "
                               "to 64 of"));
    EXPECT_THAT(msg, HasSubstr("got " + bad.dump().substr(0, 20)));
  }
  EXPECT_EQ(ParseError({{"templateId", std::string(64, 'a')}}), "");
}

TEST(TemplateMalformedTest, DuplicateIdsNameBothIndices) {
  std::vector<std::string> problems;
  Json b = WithFields({{"templateId", "B"}});
  ParseTemplates(Json::array({WithFields({}), b, WithFields({})}), "inline.json", &problems);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("inline.json: template 'T1' field 'templateId': duplicate"));
  EXPECT_THAT(problems[0], HasSubstr("index 0 and index 2"));
}

TEST(TemplateMalformedTest, AttributesOfWrongShape) {
  struct Case {
    Json attributes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {Json("ncpus=2"), "field 'attributes': must be an object"},
      {Json{{"ncpus", "2"}}, "field 'attributes': attribute 'ncpus' must be a [\"Type\", "},
      {Json{{"ncpus", {"Numeric"}}}, "attribute 'ncpus' must be a [\"Type\", \"value\"] pair"},
      {Json{{"ncpus", {"Numeric", "2", "3"}}}, "attribute 'ncpus' must be a"},
      {Json{{"ncpus", {"Integer", "2"}}}, "attribute 'ncpus' has type \"Integer\""},
      {Json{{"ncpus", {2, "2"}}}, "attribute 'ncpus' has type 2"},
      {Json{{"zone", {"String", {{"a", 1}}}}}, "attribute 'zone' value must be a string"},
      {Json{{"zone", {"String", nullptr}}}, "attribute 'zone' value must be a string"},
      {Json{{"ncpus", {"String", "2"}}}, "attribute 'ncpus' must have type Numeric"},
      {Json{{"type", {"Numeric", "1"}}}, "attribute 'type' must have type String"},
      {Json{{"nram", {"Numeric", "lots"}}}, "attribute 'nram' is Numeric but its value \"lots\""},
  };
  for (const Case& c : cases) {
    const std::string msg = ParseError({{"attributes", c.attributes}});
    EXPECT_THAT(msg, HasSubstr("inline.json: template 'T1' field 'attributes'"));
    EXPECT_THAT(msg, HasSubstr(c.expected)) << c.attributes.dump();
  }
}

TEST(TemplateMalformedTest, BadInstanceTypes) {
  EXPECT_THAT(ParseError({{"vmTypes", {{"m5.large", 0}}}}),
              HasSubstr("template 'T1' field 'vmTypes': weight of 'm5.large' must be an integer "
                        ">= 1, got 0"));
  EXPECT_THAT(ParseError({{"vmTypes", {{"m5.large", 1.5}}}}),
              HasSubstr("field 'vmTypes': weight of 'm5.large' must be an integer >= 1, got 1.5"));
  EXPECT_THAT(ParseError({{"vmTypes", {{"m5.large", "heavy"}}}}),
              HasSubstr("field 'vmTypes': weight of 'm5.large'"));
  EXPECT_THAT(ParseError({{"vmTypes", "m5.large"}}),
              HasSubstr("field 'vmTypes': must be an object of instance type: weight"));
  EXPECT_THAT(ParseError({{"vmTypesOnDemand", {{"m5.large", -1}}}}),
              HasSubstr("field 'vmTypesOnDemand': weight of 'm5.large'"));
  EXPECT_THAT(ParseError({{"vmTypesPriority", {{"m5.large", -1}}}}),
              HasSubstr("field 'vmTypesPriority': priority of 'm5.large' must be an integer >= 0"));
  EXPECT_THAT(ParseError({{"vmType", 5}}), HasSubstr("field 'vmType': must be an instance type"));
  EXPECT_THAT(ParseError({{"vmType", "m5.large"}, {"vmTypes", {{"c5.large", 1}}}}),
              HasSubstr("field 'vmType': 'm5.large' is not among vmTypes"));
  EXPECT_THAT(ParseError({{"vmType", ""}}), HasSubstr("field 'vmType': missing"));
  Json none = WithFields({});
  none.erase("vmType");
  try {
    ParseTemplates(Json::array({none}), "inline.json", nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("template 'T1' field 'vmType': missing: give vmType or vmTypes"));
  }
}

TEST(TemplateMalformedTest, SnakeCaseFileGetsSnakeCaseFieldNamesInMessages) {
  Json t = {{"template_id", "S1"}, {"max_number", 1}};
  std::vector<std::string> problems;
  ParseTemplates(Json::array({t}), "inline.json", &problems);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("template 'S1' field 'vm_type': missing: give vm_type or "
                                     "vm_types"));
}

TEST(TemplateMalformedTest, BadInstanceTags) {
  EXPECT_THAT(ParseError({{"instanceTags", "a=1;oops;b=2"}}),
              HasSubstr("template 'T1' field 'instanceTags': piece \"oops\" is not key=value"));
  EXPECT_THAT(ParseError({{"instanceTags", "a=1; =2"}}),
              HasSubstr("field 'instanceTags': piece \"=2\" has an empty key"));
  EXPECT_THAT(ParseError({{"instanceTags", "a=1;a=2"}}),
              HasSubstr("field 'instanceTags': tag 'a' is given twice"));
  EXPECT_THAT(ParseError({{"instance_tags", {{"a", {{"x", 1}}}}}}),
              HasSubstr("field 'instance_tags': tag 'a' must have a string value"));
  EXPECT_THAT(ParseError({{"tags", 5}}), HasSubstr("field 'tags': must be \"k1=v1;k2=v2\""));
  EXPECT_THAT(ParseError({{"instanceTags", Json::array({{{"Key", "a"}}})}}),
              HasSubstr("field 'instanceTags': items must be {\"Key\""));
}

// AWS's tag rules, checked when the file is read rather than when AWS refuses a
// launch: key 1 to 128 characters, value 0 to 256, no "aws:" key prefix (any
// casing), no key given twice, no control characters, at most 50 tags per resource
// with orb's own four included.
TEST(TemplateMalformedTest, TagKeysFollowAwsRules) {
  EXPECT_EQ(ParseError({{"instanceTags", {{std::string(128, 'k'), "v"}}}}), "")
      << "128 characters is AWS's limit";
  EXPECT_THAT(ParseError({{"instanceTags", {{std::string(129, 'k'), "v"}}}}),
              HasSubstr("inline.json: template 'T1' field 'instanceTags': tag key 'kkkk"));
  EXPECT_THAT(ParseError({{"instanceTags", {{std::string(129, 'k'), "v"}}}}),
              HasSubstr("is 129 characters long; AWS allows at most 128"));
  // Characters, not bytes: 128 two-byte characters are fine.
  std::string accented;
  for (int i = 0; i < 128; ++i) accented += "\xC3\xA9";  // é
  EXPECT_EQ(ParseError({{"instanceTags", {{accented, "v"}}}}), "");
  for (const char* reserved : {"aws:cost", "AWS:x", "Aws:cloudformation:stack-name"}) {
    EXPECT_THAT(ParseError({{"instanceTags", {{reserved, "v"}}}}),
                HasSubstr("field 'instanceTags': tag key '" + std::string(reserved) +
                          "' starts with 'aws:', which AWS reserves"))
        << reserved;
  }
  EXPECT_THAT(ParseError({{"instanceTags", "aws:x=1"}}), HasSubstr("starts with 'aws:'"));
  EXPECT_EQ(ParseError({{"instanceTags", "awsome=1;x=aws:y"}}), "")
      << "only a key starting with aws: is reserved";
  EXPECT_THAT(ParseError({{"instanceTags", "orb:request-id=mine"}}),
              HasSubstr("field 'instanceTags': tag key 'orb:request-id' is set by orb itself"));
  EXPECT_THAT(ParseError({{"instance_tags", {{"team\nx", "v"}}}}),
              HasSubstr("field 'instance_tags': tag key holds a control character (U+000A)"));
  EXPECT_THAT(ParseError({{"instanceTags", {{"bad\xFFkey", "v"}}}}),
              HasSubstr("tag key is not valid UTF-8"));
  EXPECT_THAT(ParseError({{"instanceTags", Json::array({{{"Key", "a"}, {"Value", "1"}},
                                                        {{"Key", "a"}, {"Value", "2"}}})}}),
              HasSubstr("field 'instanceTags': tag 'a' is given twice"));
}

TEST(TemplateMalformedTest, TagValuesFollowAwsRules) {
  EXPECT_EQ(ParseError({{"instanceTags", {{"k", std::string(256, 'v')}}}}), "");
  EXPECT_EQ(ParseError({{"instanceTags", {{"k", ""}}}}), "") << "an empty value is allowed";
  EXPECT_THAT(ParseError({{"instanceTags", {{"k", std::string(257, 'v')}}}}),
              HasSubstr("field 'instanceTags': tag 'k' value is 257 characters long; AWS "
                        "allows at most 256"));
  EXPECT_THAT(ParseError({{"instanceTags", {{"k", "line1\r\nline2"}}}}),
              HasSubstr("tag 'k' value holds a control character (U+000D)"));
  EXPECT_THAT(ParseError({{"instanceTags", {{"k", std::string("a\0b", 3)}}}}),
              HasSubstr("tag 'k' value holds a control character (U+0000)"));
  EXPECT_THAT(ParseError({{"instanceTags", {{"k", "tab\there"}}}}),
              HasSubstr("control character (U+0009)"));
  EXPECT_THAT(ParseError({{"instanceTags", {{"k", "\xC2\x85"}}}}),  // NEL, a C1 control
              HasSubstr("control character (U+0085)"));
  EXPECT_THAT(ParseError({{"instanceTags", {{"k", "\xE2\x82"}}}}),  // cut short
              HasSubstr("tag 'k' value is not valid UTF-8"));
  EXPECT_THAT(ParseError({{"instanceTags", {{"k", "\xC0\xAF"}}}}),  // overlong '/'
              HasSubstr("not valid UTF-8"));
}

TEST(TemplateMalformedTest, AtMostFortySixTagsBesideOrbsOwnFour) {
  Json tags = Json::object();
  for (int i = 0; i < 46; ++i) tags["k" + std::to_string(i)] = "v";
  EXPECT_THAT(ParseOne({{"instanceTags", tags}}).instance_tags, SizeIs(46));
  tags["k46"] = "v";
  EXPECT_THAT(ParseError({{"instanceTags", tags}}),
              HasSubstr("template 'T1' field 'instanceTags': has 47 tags; AWS allows at most 50 "
                        "per resource and orb adds 4 of its own (orb:managed-by, orb:broker-id, "
                        "orb:request-id, orb:template-id), so a template may have at most 46"));
}

TEST(TemplateMalformedTest, InlineUserDataOverSixteenKilobytes) {
  EXPECT_EQ(ParseError({{"userData", std::string(16 * 1024, 'x')}}), "");
  EXPECT_THAT(ParseError({{"userData", std::string(16 * 1024 + 1, 'x')}}),
              HasSubstr("template 'T1' field 'userData': user data is 16385 bytes; EC2 accepts "
                        "at most 16384"));
  EXPECT_THAT(ParseError({{"user_data", std::string(20000, 'x')}}),
              HasSubstr("field 'user_data': user data is 20000 bytes"));
}

// The userDataScript file is read when a launch is planned and by `orb templates
// validate`: a missing, unreadable or oversized file, or a directory, is an error
// naming the template and the field.
TEST(TemplateUserDataTest, ScriptFileProblemsNameTheTemplateAndField) {
  TempDir dir;
  auto error_of = [](const Template& t) -> std::string {
    try {
      ReadUserData(t);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
      return e.what();
    }
    return "";
  };
  Template t = ParseOne({{"userDataScript", dir.Write("boot.sh", "#!/bin/sh\necho hi\n")}});
  EXPECT_EQ(ReadUserData(t), "#!/bin/sh\necho hi\n");
  t = ParseOne({{"userDataScript", dir.Write("empty.sh", "")}});
  EXPECT_EQ(ReadUserData(t), "");
  t = ParseOne({{"userDataScript", dir.Write("max.sh", std::string(16 * 1024, 'x'))}});
  EXPECT_EQ(ReadUserData(t).size(), 16u * 1024);

  t = ParseOne({{"userDataScript", dir.Path("missing.sh")}});
  EXPECT_THAT(error_of(t), HasSubstr("inline.json: template 'T1' field 'userDataScript': cannot "
                                     "read '" + dir.Path("missing.sh") +
                                     "': No such file or directory"));
  t = ParseOne({{"userDataScript", dir.dir()}});
  EXPECT_THAT(error_of(t), HasSubstr("field 'userDataScript': '" + dir.dir() +
                                     "' is a directory"));
  t = ParseOne({{"userDataScript", dir.Write("big.sh", std::string(16 * 1024 + 1, 'x'))}});
  EXPECT_THAT(error_of(t),
              HasSubstr("field 'userDataScript': user data is 16385 bytes; EC2 accepts at most "
                        "16384"));
  if (::geteuid() != 0) {  // root reads whatever the mode says
    const std::string locked = dir.Write("locked.sh", "secret");
    fs::permissions(locked, fs::perms::none);
    t = ParseOne({{"userDataScript", locked}});
    EXPECT_THAT(error_of(t), HasSubstr("field 'userDataScript': cannot read '" + locked + "'"));
  }
  EXPECT_THAT(TemplateWarnings(ParseOne({{"userDataScript", dir.Path("boot.sh")},
                                         {"userData", "inline"}})),
              ElementsAre(HasSubstr("field 'userData': ignored: the template also gives "
                                    "userDataScript")));
}

TEST(TemplateMalformedTest, BadApiFleetAndPriceType) {
  EXPECT_THAT(ParseError({{"providerApi", "Lambda"}}),
              HasSubstr("template 'T1' field 'providerApi': must be RunInstances, EC2Fleet, "
                        "SpotFleet or ASG, got \"Lambda\""));
  EXPECT_THAT(ParseError({{"provider_api", 3}}), HasSubstr("field 'provider_api': must be"));
  EXPECT_THAT(ParseError({{"providerApi", "EC2Fleet"}, {"fleetType", "forever"}}),
              HasSubstr("field 'fleetType': must be instant, request or maintain"));
  EXPECT_THAT(ParseError({{"providerApi", "SpotFleet"}, {"fleetType", "instant"}}),
              HasSubstr("field 'fleetType': SpotFleet has no instant type"));
  EXPECT_THAT(ParseError({{"priceType", "reserved"}}),
              HasSubstr("field 'priceType': must be ondemand, spot or heterogeneous, got "
                        "\"reserved\""));
  EXPECT_THAT(ParseError({{"priceType", "heterogeneous"}}),
              HasSubstr("field 'priceType': heterogeneous needs percentOnDemand"));
}

TEST(TemplateMalformedTest, IamRolesAndProfilesMustBeNamesOrWellFormedArns) {
  for (const char* good : {"aws-ec2-spot-fleet-tagging-role",
                           "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role",
                           "arn:aws:iam::123456789012:role/service-role/my.role@x",
                           "arn:aws-cn:iam::123456789012:role/r"}) {
    EXPECT_EQ(ParseError({{"providerApi", "SpotFleet"}, {"fleetRole", good}}), "") << good;
  }
  for (const char* good : {"hf-compute", "arn:aws:iam::123456789012:instance-profile/hf-compute",
                           "arn:aws:iam::123456789012:instance-profile/path/hf"}) {
    EXPECT_EQ(ParseError({{"instanceProfile", good}}), "") << good;
  }
  EXPECT_THAT(ParseError({{"fleetRole", "arn:aws:iam::12345:role/r"}}),
              HasSubstr("template 'T1' field 'fleetRole': must be an ARN of the form "
                        "arn:aws:iam::<12-digit account>:role/"));
  EXPECT_THAT(ParseError({{"fleetRole", "arn:aws:iam::123456789012:instance-profile/p"}}),
              HasSubstr("field 'fleetRole': must be an ARN"));
  EXPECT_THAT(ParseError({{"fleetRole", "arn:aws:iam::123456789012:role/"}}),
              HasSubstr("field 'fleetRole'"));
  EXPECT_THAT(ParseError({{"fleetRole", "my role"}}),
              HasSubstr("field 'fleetRole': must be a role name"));
  EXPECT_THAT(ParseError({{"fleetRole", std::string(65, 'r')}}), HasSubstr("field 'fleetRole'"));
  EXPECT_THAT(ParseError({{"instanceProfile", "arn:aws:iam::123456789012:role/r"}}),
              HasSubstr("field 'instanceProfile': must be an ARN of the form "
                        "arn:aws:iam::<12-digit account>:instance-profile/"));
  EXPECT_THAT(ParseError({{"instance_profile", "arn:aws:s3:::bucket"}}),
              HasSubstr("field 'instance_profile'"));
}

TEST(TemplateWarningsTest, FleetTypeOnRunInstancesOrAsgIsIgnoredWithAWarning) {
  Template run = ParseOne({{"providerApi", "RunInstances"}, {"fleetType", "request"}});
  EXPECT_FALSE(run.fleet_type.has_value());
  std::vector<std::string> w = TemplateWarnings(run);
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_THAT(w[0], HasSubstr("inline.json: template 'T1' field 'fleetType': ignored: "
                              "RunInstances has no fleet type"));
  EXPECT_THAT(TemplateWarnings(ParseOne({{"providerApi", "ASG"}, {"fleet_type", "maintain"}})),
              SizeIs(1));
  EXPECT_THAT(TemplateWarnings(ParseOne({{"providerApi", "EC2Fleet"}, {"fleetType", "request"}})),
              IsEmpty());
  EXPECT_THAT(TemplateWarnings(ParseOne({{"providerApi", "RunInstances"}})), IsEmpty());
}

TEST(TemplateCapacityReservationTest, OnlyAnInstantEc2FleetUsesReservationsFirst) {
  Template t = ParseOne({{"providerApi", "EC2Fleet"},
                         {"fleetType", "instant"},
                         {"capacityReservationPreference", "useCapacityReservationsFirst"}});
  EXPECT_EQ(t.capacity_reservation_preference, "use-capacity-reservations-first");
  EXPECT_THAT(TemplateWarnings(t), IsEmpty());
  EXPECT_EQ(ParseOne({{"capacity_reservation_preference", "none"}}).capacity_reservation_preference,
            "");
  EXPECT_THAT(ParseError({{"capacityReservationPreference", "open"}}),
              HasSubstr("field 'capacityReservationPreference': must be "
                        "use-capacity-reservations-first or none, got \"open\""));
  EXPECT_THAT(ParseError({{"providerApi", "EC2Fleet"},
                          {"fleetType", "maintain"},
                          {"capacityReservationPreference", "use-capacity-reservations-first"}}),
              HasSubstr("only in an EC2 Fleet of type instant"));
  std::vector<std::string> w = TemplateWarnings(
      ParseOne({{"providerApi", "ASG"},
                {"capacityReservationPreference", "use-capacity-reservations-first"}}));
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_THAT(w[0], HasSubstr("field 'capacityReservationPreference': ignored"));
}

TEST(TemplateMalformedTest, BadNumbers) {
  EXPECT_THAT(ParseError({{"percentOnDemand", 150}}),
              HasSubstr("template 'T1' field 'percentOnDemand': must be an integer from 0 to "
                        "100, got 150"));
  EXPECT_THAT(ParseError({{"percent_on_demand", -1}}),
              HasSubstr("field 'percent_on_demand': must be an integer from 0 to 100"));
  EXPECT_THAT(ParseError({{"rootDeviceVolumeSize", 0}}),
              HasSubstr("field 'rootDeviceVolumeSize': must be an integer >= 1, got 0"));
  EXPECT_THAT(ParseError({{"iops", "fast"}}),
              HasSubstr("field 'iops': must be an integer >= 1, got \"fast\""));
  EXPECT_THAT(ParseError({{"maxSpotPrice", 0}}),
              HasSubstr("field 'maxSpotPrice': must be a price in USD per hour greater than 0"));
  EXPECT_THAT(ParseError({{"spotPrice", "cheap"}}),
              HasSubstr("field 'spotPrice': must be a price"));
  EXPECT_THAT(ParseError({{"maxSpotPrice", -0.1}}), HasSubstr("field 'maxSpotPrice'"));
}

TEST(TemplateMalformedTest, BadStringsAndObjects) {
  EXPECT_THAT(ParseError({{"allocationStrategy", ""}}),
              HasSubstr("template 'T1' field 'allocationStrategy': must not be empty"));
  EXPECT_THAT(ParseError({{"imageId", 42}}),
              HasSubstr("field 'imageId': must be a string, got 42"));
  EXPECT_THAT(ParseError({{"subnetId", 42}}),
              HasSubstr("field 'subnetId': must be a string, a comma-separated string or an "
                        "array of strings"));
  EXPECT_THAT(ParseError({{"subnetIds", {"subnet-a", ""}}}),
              HasSubstr("field 'subnetIds': item 1 must be a non-empty string"));
  EXPECT_THAT(ParseError({{"securityGroupIds", {{"id", "sg-a"}}}}),
              HasSubstr("field 'securityGroupIds': must be a string"));
  EXPECT_THAT(ParseError({{"abisInstanceRequirements", "VCpuCount=2"}}),
              HasSubstr("field 'abisInstanceRequirements': must be an object"));
  EXPECT_THAT(ParseError({{"launchTemplateVersion", {{"v", 1}}}}),
              HasSubstr("field 'launchTemplateVersion': must be a string or a number"));
}

TEST(TemplateMalformedTest, UnknownKeysAreNotErrors) {
  Template t = ParseOne({{"someFutureKey", {1, 2, 3}}, {"name", "anything"}});
  EXPECT_EQ(t.raw["someFutureKey"], Json({1, 2, 3}));
}

// ---------------------------------------------------------------------------------------
// ValidateTemplatesFile collects every problem.

TEST(TemplateValidateTest, CollectsEveryProblemAndKeepsValidTemplates) {
  const std::string path = Data("many_problems.json");
  std::vector<Template> valid;
  std::vector<std::string> problems = ValidateTemplatesFile(path, &valid);
  ASSERT_THAT(problems, SizeIs(6));
  for (const std::string& p : problems) EXPECT_THAT(p, HasSubstr(path + ": template "));
  EXPECT_THAT(problems[0], HasSubstr("template 'Two-Problems' field 'maxNumber'"));
  EXPECT_THAT(problems[1], HasSubstr("template 'Two-Problems' field 'percentOnDemand'"));
  EXPECT_THAT(problems[2], HasSubstr("template at index 2 field 'templateId'"));
  EXPECT_THAT(problems[3], HasSubstr("template 'Good-1' field 'templateId': duplicate"));
  EXPECT_THAT(problems[4], HasSubstr("template at index 4: must be an object"));
  EXPECT_THAT(problems[5], HasSubstr("template 'Unknown-Type' field 'attributes'"));
  ASSERT_THAT(valid, SizeIs(2));
  EXPECT_EQ(valid[0].template_id, "Good-1");
  EXPECT_EQ(valid[1].template_id, "Good-2");

  // LoadTemplatesFile stops at the first of them.
  EXPECT_EQ(LoadError(path), problems[0]);
}

TEST(TemplateValidateTest, FileLevelProblemIsTheOnlyOne) {
  std::vector<Template> valid;
  std::vector<std::string> problems = ValidateTemplatesFile(Data("truncated.json"), &valid);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("truncated.json"));
  EXPECT_THAT(valid, IsEmpty());
  EXPECT_THAT(ValidateTemplatesFile(Data("no_such_file.json"), nullptr), SizeIs(1));
}

TEST(TemplateValidateTest, GoodFileHasNoProblems) {
  std::vector<Template> valid;
  EXPECT_THAT(ValidateTemplatesFile(Data("ibm_good.json"), &valid), IsEmpty());
  EXPECT_THAT(valid, SizeIs(4));
}

// ---------------------------------------------------------------------------------------
// FindTemplatesFile.

TEST(TemplateFindTest, SearchOrder) {
  TempDir dir;
  std::vector<std::string> looked;
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "awsinst", &looked), "");
  EXPECT_THAT(looked, ElementsAre(dir.Path("awsinstprov_templates.json"),
                                  dir.Path("awsprov_templates.json"), dir.Path("templates.json"),
                                  dir.Path("templates.yaml"), dir.Path("templates.yml"),
                                  dir.Path("*_templates.json")));

  dir.Write("zeta_templates.json", "{}");
  dir.Write("beta_templates.json", "{}");
  dir.Write("other.json", "{}");
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "awsinst", nullptr), dir.Path("beta_templates.json"));
  dir.Write("templates.yml", "");
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "awsinst", nullptr), dir.Path("templates.yml"));
  dir.Write("templates.yaml", "");
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "awsinst", nullptr), dir.Path("templates.yaml"));
  dir.Write("templates.json", "");
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "awsinst", nullptr), dir.Path("templates.json"));
  dir.Write("awsprov_templates.json", "");
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "awsinst", nullptr), dir.Path("awsprov_templates.json"));
  dir.Write("awsinstprov_templates.json", "");
  looked.clear();
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "awsinst", &looked),
            dir.Path("awsinstprov_templates.json"));
  EXPECT_THAT(looked, ElementsAre(dir.Path("awsinstprov_templates.json")));
  // Without a provider name, the provider-specific file is not looked for.
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "", nullptr), dir.Path("awsprov_templates.json"));
}

TEST(TemplateFindTest, DirectoriesAndMissingConfDirAreNotFiles) {
  TempDir dir;
  fs::create_directories(dir.Path("templates.json"));
  std::vector<std::string> looked;
  EXPECT_EQ(FindTemplatesFile(dir.dir(), "", &looked), "");
  EXPECT_THAT(looked, SizeIs(5));
  EXPECT_EQ(FindTemplatesFile(dir.Path("missing"), "x", nullptr), "");
}

// ---------------------------------------------------------------------------------------
// TemplateRecord.

TEST(TemplateRecordTest, SnakeCaseRecordWithDerivedAttributesAndPassThroughKeys) {
  std::vector<Template> ts = LoadTemplatesFile(Data("ibm_good.json"));
  const Json rec = TemplateRecord(ts[1]);  // Spot-Fleet
  std::vector<std::string> keys;
  for (const auto& [k, v] : rec.items()) keys.push_back(k);
  EXPECT_THAT(keys,
              ElementsAre("template_id", "max_number", "attributes", "image_id", "vm_types",
                          "vm_types_on_demand", "subnet_id", "security_group_ids", "price_type",
                          "spot_price", "fleet_role", "allocation_strategy", "percent_on_demand",
                          "spot_fleet_request_expiry", "provider_api", "custom_key",
                          "fleet_type"));
  // How the template launches is shown also where the file relied on a default.
  EXPECT_EQ(rec["fleet_type"], "request");
  EXPECT_EQ(rec["template_id"], "Spot-Fleet");
  EXPECT_EQ(rec["max_number"], 20);  // the parsed number, not the file's string
  EXPECT_EQ(rec["attributes"]["nram"], Json({"Numeric", "4096"}));
  EXPECT_EQ(rec["attributes"]["rank"], Json({"Numeric", "1"}));
  EXPECT_EQ(rec["vm_types"], Json({{"c5.large", 1}, {"c5.xlarge", 2}}));  // value unchanged
  EXPECT_EQ(rec["spot_price"], "0.12");
  EXPECT_EQ(rec["custom_key"], Json({{"nested", true}}));
}

TEST(TemplateRecordTest, SnakeCaseInputDoesNotDuplicateKeys) {
  std::vector<Template> ts = LoadTemplatesFile(Data("orb_snake.json"));
  const Json rec = TemplateRecord(ts[0]);
  EXPECT_EQ(rec["template_id"], "orb-ec2fleet");
  EXPECT_EQ(rec["max_number"], 5);
  EXPECT_EQ(rec["machine_types"], Json({{"t3.medium", 1}, {"m5.large", 2}}));
  int count = 0;
  for (const auto& [k, v] : rec.items()) count += k == "template_id" || k == "max_number";
  EXPECT_EQ(count, 2);
}

TEST(TemplateRecordTest, TemplateBuiltInCode) {
  Template t;
  t.template_id = "Code-1";
  t.max_number = 3;
  t.attributes.push_back({"ncpus", "Numeric", "2"});
  EXPECT_EQ(TemplateRecord(t), Json({{"template_id", "Code-1"},
                                     {"max_number", 3},
                                     {"attributes", {{"ncpus", {"Numeric", "2"}}}},
                                     {"provider_api", "RunInstances"},
                                     {"price_type", "ondemand"}}));
}

}  // namespace
}  // namespace orb
