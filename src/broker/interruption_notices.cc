// Notices the cloud queues about machines (spot interruption warnings, rebalance
// recommendations) recorded on the machines they name, so that every later
// getReturnRequests sees them, whichever process read the queue.

#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/error.h"

namespace orb {

namespace {

// Messages read per provider instance and call: enough for a burst of notices,
// few enough to keep getReturnRequests quick (10 ReceiveMessage calls at most).
constexpr int kMaxQueuedMessagesPerCall = 100;

// A spot interruption outranks a rebalance recommendation: the sooner, firmer warning.
bool Outranks(const std::string& held, const std::string& incoming) {
  return !held.empty() && held != "rebalance" && incoming == "rebalance";
}

}  // namespace

void Broker::RecordQueuedNotices() {
  for (const std::string& name : ProviderNames()) {
    Provider::QueuedNotices queued;
    try {
      queued = provider(name).ReceiveQueuedNotices(kMaxQueuedMessagesPerCall);
    } catch (const Error& e) {
      spdlog::warn("interruption queue of provider {} not read: {}", name, e.what());
      continue;
    }
    if (queued.handles.empty()) continue;
    store().Transaction([&] {
      for (const InterruptionNotice& n : queued.notices) {
        std::optional<Machine> m = store().GetMachine(n.machine_id);
        if (!m || IsFinalMachineState(m->state) || Outranks(m->notice_action, n.action)) continue;
        if (m->notice_action == n.action && m->notice_takes_effect_at == n.takes_effect_at) continue;
        m->notice_action = n.action;
        m->notice_takes_effect_at = n.takes_effect_at;
        m->updated_at = NowSeconds();
        store().UpdateMachine(*m);
        spdlog::warn("machine {} ({}): {}; the cloud will {} it at {}", m->machine_id, m->name,
                     n.detail, n.action == "rebalance" ? "possibly interrupt" : n.action,
                     FormatIso8601(n.takes_effect_at));
      }
    });
    try {
      provider(name).DeleteQueuedNotices(queued.handles);
    } catch (const Error& e) {
      // Recorded already: read again later, they change nothing.
      spdlog::warn("interruption queue of provider {}: {} message(s) not deleted: {}", name,
                   queued.handles.size(), e.what());
    }
  }
}

}  // namespace orb
