#include "api/change_watcher.h"

#include <sys/stat.h>

#include <set>

#include <spdlog/spdlog.h>

#include "config/template_loader.h"
#include "model/records.h"

namespace orb::api {

namespace {

using json = nlohmann::ordered_json;

// How far back each look reads: updated_at has whole seconds, and a writer's clock
// second may end after our look began.
constexpr EpochSeconds kOverlapSec = 2;
// What is remembered of a row no change touched for this long is forgotten.
constexpr EpochSeconds kForgetAfterSec = 3600;

}  // namespace

ChangeWatcher::ChangeWatcher(EventHub& hub,
                             std::function<std::shared_ptr<const Config>()> config,
                             std::chrono::milliseconds interval)
    : hub_(hub), config_source_(std::move(config)), interval_(interval) {}

ChangeWatcher::~ChangeWatcher() { Stop(); }

void ChangeWatcher::Start() {
  try {
    Look();  // the baseline
  } catch (const std::exception& e) {
    spdlog::warn("events: first look at the store failed: {}", e.what());
  }
  thread_ = std::thread([this] { Run(); });
}

void ChangeWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ChangeWatcher::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, interval_, [&] { return stopping_; })) {
    lock.unlock();
    try {
      Look();
    } catch (const std::exception& e) {
      spdlog::warn("events: looking for changes failed: {}", e.what());
    }
    lock.lock();
  }
}

Broker& ChangeWatcher::CurrentBroker() {
  std::shared_ptr<const Config> config = config_source_();
  if (!broker_ || config != config_) {
    broker_.reset();
    config_ = std::move(config);
    broker_ = std::make_unique<Broker>(*config_);
  }
  return *broker_;
}

void ChangeWatcher::Look() {
  Broker& broker = CurrentBroker();
  const EpochSeconds now = NowSeconds();
  const EpochSeconds since = primed_ ? since_ - kOverlapSec : now - kForgetAfterSec;
  const bool publish = primed_;

  RequestQuery rq;
  rq.updated_since = std::max<EpochSeconds>(since, 1);
  for (const Request& r : broker.store().ListRequests(rq)) {
    const std::string status(RequestStatusName(r.status));
    auto it = requests_.find(r.request_id);
    const bool known = it != requests_.end();
    if (known && it->second.status == status) {
      it->second.updated_at = r.updated_at;
      continue;
    }
    if (publish) {
      json fields = {{"request_id", r.request_id},
                     {"kind", std::string(RequestKindName(r.kind))},
                     {"template_id", r.template_id},
                     {"status", status},
                     {"message", r.message}};
      if (!known && r.created_at >= since) {
        fields["requested_count"] = r.requested_count;
        hub_.Publish("request.created", fields);
      }
      if (known || r.created_at < since || IsTerminal(r.status)) {
        json changed = fields;
        changed["from"] = known ? json(it->second.status) : json(nullptr);
        hub_.Publish(IsTerminal(r.status) ? "request.completed" : "request.status_changed",
                     changed);
      }
    }
    requests_[r.request_id] = {status, r.updated_at};
  }

  MachineQuery mq;
  mq.updated_since = std::max<EpochSeconds>(since, 1);
  for (const Machine& m : broker.store().ListMachines(mq)) {
    const std::string state(MachineStateName(m.state));
    auto it = machines_.find(m.machine_id);
    const bool known = it != machines_.end();
    if (known && it->second.status == state) {
      it->second.updated_at = m.updated_at;
      continue;
    }
    if (publish) {
      hub_.Publish("machine.state_changed",
                   {{"machine_id", m.machine_id},
                    {"name", m.name},
                    {"request_id", m.request_id},
                    {"return_request_id", m.return_request_id},
                    {"template_id", m.template_id},
                    {"from", known ? json(it->second.status) : json(nullptr)},
                    {"state", state}});
    }
    machines_[m.machine_id] = {state, m.updated_at};
  }

  // Templates: read again only when the file changed.
  const std::string file = broker.TemplatesFile();
  struct stat st {};
  const bool exists = !file.empty() && ::stat(file.c_str(), &st) == 0;
  const std::string stamp = exists ? file + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                                         std::to_string(st.st_mtim.tv_nsec) + ":" +
                                         std::to_string(st.st_size)
                                   : "";
  if (stamp != templates_stamp_) {
    std::map<std::string, std::string> now_templates;
    bool readable = true;
    if (exists) {
      try {
        for (const Template& t : broker.ListTemplates()) {
          now_templates[t.template_id] = TemplateRecord(t).dump();
        }
      } catch (const std::exception& e) {
        readable = false;  // a half-edited file: judged on the next change
        spdlog::debug("events: templates file unreadable now: {}", e.what());
      }
    }
    if (readable) {
      if (publish || primed_templates_) {
        for (const auto& [id, text] : now_templates) {
          auto old = templates_.find(id);
          if (old == templates_.end()) {
            hub_.Publish("template.created", {{"template_id", id}});
          } else if (old->second != text) {
            hub_.Publish("template.updated", {{"template_id", id}});
          }
        }
        for (const auto& [id, text] : templates_) {
          if (!now_templates.count(id)) hub_.Publish("template.deleted", {{"template_id", id}});
        }
      }
      templates_ = std::move(now_templates);
      templates_stamp_ = stamp;
      primed_templates_ = true;
    }
  }

  // Forget rows untouched for long (a later change is still reported).
  for (auto* seen : {&requests_, &machines_}) {
    for (auto it = seen->begin(); it != seen->end();) {
      it = it->second.updated_at < now - kForgetAfterSec ? seen->erase(it) : std::next(it);
    }
  }
  since_ = now;
  primed_ = true;
}

}  // namespace orb::api
