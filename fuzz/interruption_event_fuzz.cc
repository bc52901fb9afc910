// Fuzz target interruption_event: the message bodies of the interruption queue (an
// SQS queue anyone allowed to send to it can fill), read by ParseInterruptionEvent as
// EventBridge's "EC2 Spot Instance Interruption Warning" and "EC2 Instance Rebalance
// Recommendation" events.
//
// Checks: it never throws; a notice names an instance id ("i-..."), an action among
// terminate, stop, hibernate and rebalance, and a time; with rebalance
// recommendations ignored (a negative grace) none is "rebalance".

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "provider/aws/interruption_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (long long grace : {120LL, -1LL}) {
    auto notice = orb::ParseInterruptionEvent(body, grace);
    if (!notice) continue;
    ORB_FUZZ_CHECK(notice->machine_id.rfind("i-", 0) == 0, notice->machine_id);
    const std::string& a = notice->action;
    ORB_FUZZ_CHECK(a == "terminate" || a == "stop" || a == "hibernate" || a == "rebalance", a);
    ORB_FUZZ_CHECK(grace >= 0 || a != "rebalance", "a rebalance recommendation was not ignored");
    ORB_FUZZ_CHECK(notice->takes_effect_at != 0, "no time");
  }
  return 0;
}
