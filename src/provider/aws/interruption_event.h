#pragma once

// EventBridge's EC2 events as an SQS queue receives them (the event itself as the
// message body): "EC2 Spot Instance Interruption Warning" and "EC2 Instance
// Rebalance Recommendation".

#include <optional>
#include <string_view>

#include "provider/provider.h"

namespace orb {

// The notice `body` carries, or nothing when it is not one of the two events (or not
// JSON, or lacks an instance id). A spot interruption takes effect two minutes after
// the event's time; a rebalance recommendation (action "rebalance") is given
// `rebalance_grace_sec` from its time, and ignored when that is negative. Never
// throws.
std::optional<InterruptionNotice> ParseInterruptionEvent(std::string_view body,
                                                         long long rebalance_grace_sec);

}  // namespace orb
