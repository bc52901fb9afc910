#include "config/template_examples.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "config/template_loader.h"

namespace orb {
namespace {

using Json = nlohmann::ordered_json;

Json Document(const std::vector<TemplateExample>& examples) {
  Json list = Json::array();
  for (const TemplateExample& e : examples) list.push_back(e.templ);
  return Json{{"templates", list}};
}

TEST(TemplateExamplesTest, EveryCombinationOnceAndAllValid) {
  std::vector<TemplateExample> all = ExampleTemplates({});
  ASSERT_EQ(all.size(), 12u);  // 2 RunInstances + 6 EC2Fleet + 2 SpotFleet + 2 ASG
  std::vector<std::string> problems;
  std::vector<Template> templates = ParseTemplates(Document(all), "generated", &problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  ASSERT_EQ(templates.size(), 12u);
  std::set<std::string> combos;
  for (const Template& t : templates) {
    combos.insert(std::string(ProviderApiName(t.provider_api)) + "/" +
                  (t.fleet_type ? std::string(FleetTypeName(*t.fleet_type)) : "-") + "/" +
                  std::string(PriceTypeName(t.price_type)));
    EXPECT_TRUE(TemplateWarnings(t).empty()) << t.template_id;
  }
  EXPECT_EQ(combos.size(), 12u);
  EXPECT_TRUE(combos.count("EC2Fleet/maintain/spot"));
  EXPECT_TRUE(combos.count("SpotFleet/request/spot"));
  EXPECT_TRUE(combos.count("ASG/-/ondemand"));
  for (const TemplateExample& e : all) EXPECT_FALSE(e.comment.empty());
}

TEST(TemplateExamplesTest, FiltersCombine) {
  TemplateExampleFilter f;
  f.api = ProviderApi::kEc2Fleet;
  EXPECT_EQ(ExampleTemplates(f).size(), 6u);
  f.price_type = PriceType::kSpot;
  EXPECT_EQ(ExampleTemplates(f).size(), 3u);
  f.fleet_type = FleetType::kRequest;
  ASSERT_EQ(ExampleTemplates(f).size(), 1u);
  EXPECT_EQ(ExampleTemplates(f)[0].templ["templateId"], "EC2Fleet-Request-Spot");
  TemplateExampleFilter impossible;
  impossible.api = ProviderApi::kSpotFleet;
  impossible.fleet_type = FleetType::kInstant;
  EXPECT_TRUE(ExampleTemplates(impossible).empty());
  TemplateExampleFilter fleet_only;
  fleet_only.fleet_type = FleetType::kMaintain;
  EXPECT_EQ(ExampleTemplates(fleet_only).size(), 3u);  // EC2Fleet x2, SpotFleet
}

}  // namespace
}  // namespace orb
