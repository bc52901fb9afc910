#include "provider/aws/aws_provider.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/error.h"
#include "provider/aws/aws_context.h"
#include "provider/aws/interruption_event.h"
#include "provider/aws/launch_handler.h"
#include "provider/aws/sqs_client.h"
#include "provider/aws/template_cloud_check.h"

namespace orb {

struct AwsProvider::Impl {
  explicit Impl(AwsProviderOptions options) : context(std::move(options)) {
    handlers.push_back(MakeRunInstancesHandler(context));
    handlers.push_back(MakeEc2FleetHandler(context));
    handlers.push_back(MakeSpotFleetHandler(context));
    handlers.push_back(MakeAsgHandler(context));
  }

  // The handler of a template's API (the order of `handlers` follows ProviderApi).
  LaunchHandler& ForApi(ProviderApi api) { return *handlers.at(static_cast<size_t>(api)); }

  // The handler whose plans carry `plan_api`; throws Error(kStore) for none.
  LaunchHandler& ForPlan(const std::string& plan_api) {
    for (auto& h : handlers) {
      if (h->PlanApi() == plan_api) return *h;
    }
    throw Error(ErrorCode::kStore, "stored launch plan names an unknown API '" + plan_api + "'");
  }

  // The handler that created `group_id`, or nullptr.
  LaunchHandler* ForGroup(const std::string& group_id) {
    for (auto& h : handlers) {
      if (h->OwnsGroup(group_id)) return h.get();
    }
    return nullptr;
  }

  AwsContext context;
  std::vector<std::unique_ptr<LaunchHandler>> handlers;
};

static_assert(static_cast<int>(ProviderApi::kRunInstances) == 0 &&
                  static_cast<int>(ProviderApi::kEc2Fleet) == 1 &&
                  static_cast<int>(ProviderApi::kSpotFleet) == 2 &&
                  static_cast<int>(ProviderApi::kAsg) == 3,
              "AwsProvider::Impl::handlers follows ProviderApi's order");

AwsProvider::AwsProvider(AwsProviderOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

AwsProvider::~AwsProvider() = default;

ProviderInfo AwsProvider::Info() const {
  ProviderInfo info;
  info.name = impl_->context.options().name;
  info.type = "aws";
  info.region = impl_->context.options().client.region;
  if (!info.region.empty()) {
    for (AwsService s : {AwsService::kEc2, AwsService::kAutoScaling, AwsService::kSts}) {
      info.endpoints.emplace_back(std::string(AwsServiceName(s)),
                                  impl_->context.aws().Endpoint(s));
    }
  }
  return info;
}

std::string AwsProvider::CannotLaunch(const Template& t) const {
  switch (t.provider_api) {
    case ProviderApi::kRunInstances:
    case ProviderApi::kEc2Fleet:
    case ProviderApi::kSpotFleet:
    case ProviderApi::kAsg:
      return "";
  }
  return std::string(ProviderApiName(t.provider_api)) + " is not supported";
}

LaunchPlan AwsProvider::PlanLaunch(const LaunchOrder& order) {
  const Template& t = order.templ;
  if (std::string why = CannotLaunch(t); !why.empty()) ThrowTemplateError(t, "providerApi", why);
  if (order.units < 1) throw Error(ErrorCode::kInvalidInput, "nothing to launch");
  const LaunchSpec spec = MakeLaunchSpec(order, impl_->context);
  return impl_->ForApi(t.provider_api).Plan(spec);
}

LaunchResult AwsProvider::Launch(const LaunchPlan& plan) {
  return impl_->ForPlan(plan.api).Launch(plan);
}

LaunchResult AwsProvider::Adopt(const LaunchPlan& plan, std::vector<CloudMachine> found) {
  return impl_->ForPlan(plan.api).Adopt(plan, std::move(found));
}

std::vector<CloudMachine> AwsProvider::FindByBroker(const std::string& broker_id) {
  std::vector<CloudMachine> out;
  for (const Instance& i : impl_->context.ec2().DescribeInstancesByFilter(
           {{"tag:orb:broker-id", {broker_id}},
            {"instance-state-name", {"pending", "running", "stopping", "stopped"}}})) {
    out.push_back(impl_->context.ToCloudMachine(i));
  }
  return out;
}

std::vector<InterruptionNotice> AwsProvider::InterruptionNotices(
    const std::vector<std::string>& machine_ids) {
  // A spot instance's request moves to marked-for-termination (or -stop, -hibernation)
  // when AWS gives the two-minute interruption notice; the status's update time is
  // when the notice was given.
  static const std::map<std::string, std::string> kMarked = {
      {"marked-for-termination", "terminate"},
      {"marked-for-stop", "stop"},
      {"marked-for-hibernation", "hibernate"}};
  constexpr EpochSeconds kNoticeSeconds = 120;
  constexpr std::size_t kFilterValues = 200;  // values per filter AWS accepts
  std::vector<InterruptionNotice> out;
  for (std::size_t at = 0; at < machine_ids.size(); at += kFilterValues) {
    const std::size_t end = std::min(machine_ids.size(), at + kFilterValues);
    std::vector<std::string> chunk(machine_ids.begin() + static_cast<std::ptrdiff_t>(at),
                                   machine_ids.begin() + static_cast<std::ptrdiff_t>(end));
    for (const SpotInstanceRequest& s :
         impl_->context.ec2().DescribeSpotInstanceRequests({}, {{"instance-id", chunk}})) {
      auto it = kMarked.find(s.status_code);
      if (it == kMarked.end() || s.instance_id.empty()) continue;
      InterruptionNotice n;
      n.machine_id = s.instance_id;
      n.action = it->second;
      n.takes_effect_at = (s.status_update_time > 0 ? s.status_update_time : NowSeconds()) +
                          kNoticeSeconds;
      n.detail = s.status_code + (s.status_message.empty() ? "" : ": " + s.status_message);
      out.push_back(std::move(n));
    }
  }
  return out;
}

Provider::QueuedNotices AwsProvider::ReceiveQueuedNotices(int max_messages) {
  QueuedNotices out;
  const AwsProviderOptions& o = impl_->context.options();
  if (o.interruption_queue_url.empty()) return out;
  SqsClient sqs(impl_->context.aws());
  while (static_cast<int>(out.handles.size()) < max_messages) {
    const int want = std::min(max_messages - static_cast<int>(out.handles.size()),
                              static_cast<int>(SqsClient::kMaxBatch));
    std::vector<SqsMessage> batch = sqs.ReceiveMessage(o.interruption_queue_url, want);
    for (const SqsMessage& m : batch) {
      out.handles.push_back(m.receipt_handle);
      if (auto n = ParseInterruptionEvent(m.body, o.rebalance_grace_sec)) {
        out.notices.push_back(std::move(*n));
      } else {
        spdlog::debug("interruption queue: message {} is not an interruption or rebalance event",
                      m.message_id);
      }
    }
    if (batch.empty()) break;
  }
  return out;
}

void AwsProvider::DeleteQueuedNotices(const std::vector<std::string>& handles) {
  const AwsProviderOptions& o = impl_->context.options();
  if (o.interruption_queue_url.empty() || handles.empty()) return;
  SqsClient sqs(impl_->context.aws());
  std::vector<std::string> failed = sqs.DeleteMessageBatch(o.interruption_queue_url, handles);
  if (!failed.empty()) {
    spdlog::warn("interruption queue: {} message(s) not deleted; they will be read again",
                 failed.size());
  }
}

std::vector<CloudMachine> AwsProvider::FindByRequest(const std::string& request_id) {
  return impl_->context.FindByRequest(request_id);
}

std::vector<CloudMachine> AwsProvider::Describe(const std::vector<std::string>& machine_ids) {
  return impl_->context.Describe(machine_ids);
}

TerminateOutcome AwsProvider::Terminate(const std::vector<std::string>& machine_ids) {
  return impl_->context.Terminate(machine_ids);
}

GroupState AwsProvider::DescribeGroup(const std::string& group_id) {
  if (LaunchHandler* h = impl_->ForGroup(group_id)) return h->DescribeGroup(group_id);
  GroupState state;
  state.settled = true;  // not a group orb creates: nothing more will come
  return state;
}

TerminateOutcome AwsProvider::ReleaseFromGroup(const std::string& group_id,
                                              const std::vector<std::string>& machine_ids) {
  if (LaunchHandler* h = impl_->ForGroup(group_id)) return h->Release(group_id, machine_ids);
  return Terminate(machine_ids);
}

void AwsProvider::DiscardGroup(const std::string& group_id) {
  if (LaunchHandler* h = impl_->ForGroup(group_id)) h->Discard(group_id);
}

InstanceFactsMap AwsProvider::KnownInstanceTypes(const std::vector<std::string>& types,
                                                 bool refresh) {
  InstanceTypeCatalog& catalog = impl_->context.instance_types();
  InstanceTypeLookup found = refresh ? catalog.Refresh(types) : catalog.Cached(types);
  if (refresh && !found.aws_error.empty()) {
    throw Error(ErrorCode::kCloud,
                "instance type facts not refreshed: EC2 DescribeInstanceTypes failed (" +
                    found.aws_error + "); check the region, endpoint and credentials (orb "
                                      "providers health)");
  }
  InstanceFactsMap out;
  for (const auto& [name, facts] : found.facts) {
    // After a refresh only EC2's answer counts (not the built-in table's stand-in).
    if (facts.source == FactSource::kBuiltIn) continue;
    if (std::optional<InstanceFacts> f = ToInstanceFacts(facts)) out[name] = *f;
  }
  return out;
}

std::vector<std::string> AwsProvider::CheckInCloud(const Template& templ) {
  return CheckTemplateInCloud(templ, impl_->context.ec2(), &impl_->context.images());
}

ProviderHealth AwsProvider::CheckHealth() {
  AwsContext& context = impl_->context;
  ProviderHealth h;
  h.region = context.options().client.region;
  auto timed = [&h](const std::string& name, const std::function<std::string()>& check) {
    HealthCheck c;
    c.name = name;
    auto start = std::chrono::steady_clock::now();
    try {
      c.detail = check();
      c.ok = true;
    } catch (const std::exception& e) {
      c.detail = e.what();
    }
    c.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count();
    h.checks.push_back(c);
    return c.ok;
  };
  timed("region", [&] {
    if (h.region.empty()) {
      throw Error(ErrorCode::kInvalidConfig,
                  "no AWS region configured: set aws.region, AWS_REGION, or AWS_REGION in "
                  "the provider's *prov_config.json");
    }
    return h.region;
  });
  bool have_credentials = timed("credentials", [&] {
    Credentials c = context.credentials().Get();
    h.credentials_source = c.source;
    return c.source;
  });
  if (have_credentials && !h.region.empty()) {
    timed("sts:GetCallerIdentity", [&] {
      CallerIdentity id = context.sts().GetCallerIdentity();
      h.account = id.account;
      h.identity = id.arn;
      return id.arn;
    });
    timed("ec2:DescribeInstances", [&] {
      std::vector<Instance> running = context.ec2().DescribeInstancesByFilter(
          {{std::string("tag-key"), {kRequestIdTag}}, {"instance-state-name", {"running"}}});
      return std::to_string(running.size()) + " running instance(s) launched by orb";
    });
  }
  h.ok = true;
  for (const HealthCheck& c : h.checks) h.ok = h.ok && c.ok;
  return h;
}

long long AwsProvider::CallCount() const { return impl_->context.CallCount(); }

}  // namespace orb
