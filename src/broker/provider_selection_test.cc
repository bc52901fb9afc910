#include "broker/provider_selection.h"

#include <map>

#include <gtest/gtest.h>

namespace orb {
namespace {

using Names = std::vector<std::string>;

const std::vector<ProviderCandidate> kThree = {{"east", 1, true}, {"west", 1, true},
                                               {"eu", 1, true}};

TEST(ProviderSelectionTest, FirstAvailableKeepsThePreferenceOrder) {
  EXPECT_EQ(OrderProviders("first-available", kThree, "west", 0.5),
            (Names{"east", "west", "eu"}));
}

TEST(ProviderSelectionTest, RoundRobinStartsAfterTheLastUsed) {
  EXPECT_EQ(OrderProviders("round-robin", kThree, "east", 0), (Names{"west", "eu", "east"}));
  EXPECT_EQ(OrderProviders("round-robin", kThree, "eu", 0), (Names{"east", "west", "eu"}))
      << "wraps around";
  EXPECT_EQ(OrderProviders("round-robin", kThree, "", 0), (Names{"east", "west", "eu"}));
  EXPECT_EQ(OrderProviders("round-robin", kThree, "gone", 0), (Names{"east", "west", "eu"}))
      << "an instance no longer configured starts from the beginning";
}

TEST(ProviderSelectionTest, UnhealthyInstancesAreTheLastResort) {
  std::vector<ProviderCandidate> c = kThree;
  c[0].healthy = false;
  EXPECT_EQ(OrderProviders("first-available", c, "", 0), (Names{"west", "eu", "east"}));
  EXPECT_EQ(OrderProviders("round-robin", c, "eu", 0), (Names{"west", "eu", "east"}));
  for (auto& x : c) x.healthy = false;
  EXPECT_EQ(OrderProviders("first-available", c, "", 0), (Names{"east", "west", "eu"}))
      << "all unhealthy: still tried, in order";
}

TEST(ProviderSelectionTest, WeightedDrawFollowsTheWeights) {
  const std::vector<ProviderCandidate> c = {{"big", 3, true}, {"small", 1, true}};
  std::map<std::string, int> first;
  for (int i = 0; i < 100; ++i) first[OrderProviders("weighted", c, "", i / 100.0).front()]++;
  EXPECT_EQ(first["big"], 75) << "weight 3 of 4 takes three quarters of the draws";
  EXPECT_EQ(first["small"], 25);
  EXPECT_EQ(OrderProviders("weighted", c, "", 0.9), (Names{"small", "big"}))
      << "the rest follow in preference order";
}

TEST(ProviderSelectionTest, WeightedDrawSkipsUnhealthyInstances) {
  std::vector<ProviderCandidate> c = {{"big", 100, false}, {"small", 1, true}};
  for (double r : {0.0, 0.5, 0.99}) {
    EXPECT_EQ(OrderProviders("weighted", c, "", r), (Names{"small", "big"})) << r;
  }
}

}  // namespace
}  // namespace orb
