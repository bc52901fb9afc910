// Which resources a domain event changes, for the MCP door's subscribers: a machine's
// change must reach those following the machine, its request and its return request.

#include "mcp/mcp_changes.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace orb::mcp {
namespace {

std::set<std::string> UrisOf(const std::string& type, nlohmann::ordered_json data) {
  api::DomainEvent e;
  e.type = type;
  e.data = std::move(data);
  const std::vector<std::string> uris = ChangedUris(e);
  return {uris.begin(), uris.end()};
}

TEST(ChangedUrisTest, RequestEventsTouchTheRequestAndTheList) {
  EXPECT_EQ(UrisOf("request.status_changed", {{"request_id", "req-1"}}),
            (std::set<std::string>{"requests://req-1", "requests://"}));
}

TEST(ChangedUrisTest, MachineEventsTouchTheMachineAndTheRequestsItBelongsTo) {
  EXPECT_EQ(UrisOf("machine.state_changed", {{"machine_id", "i-0abc"},
                                             {"name", "ip-10-0-0-1"},
                                             {"request_id", "req-1"},
                                             {"return_request_id", "ret-2"}}),
            (std::set<std::string>{"machines://i-0abc", "machines://ip-10-0-0-1",
                                   "machines://", "requests://req-1", "requests://ret-2"}));
  // A machine not yet given back names no return request.
  EXPECT_EQ(UrisOf("machine.state_changed", {{"machine_id", "i-0abc"}, {"request_id", "req-1"}}),
            (std::set<std::string>{"machines://i-0abc", "machines://", "requests://req-1"}));
}

TEST(ChangedUrisTest, TemplateEventsTouchTheTemplateAndTheList) {
  EXPECT_EQ(UrisOf("template.deleted", {{"template_id", "Small"}}),
            (std::set<std::string>{"templates://Small", "templates://"}));
}

TEST(ChangedUrisTest, OtherEventsAndWrongTypesTouchNothingNamed) {
  EXPECT_TRUE(UrisOf("gap", {{"request_id", "req-1"}}).empty());
  // An id that is not a string names no item; the list still changed.
  EXPECT_EQ(UrisOf("request.created", {{"request_id", 42}}),
            (std::set<std::string>{"requests://"}));
}

}  // namespace
}  // namespace orb::mcp
