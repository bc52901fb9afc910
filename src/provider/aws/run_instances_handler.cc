// EC2 RunInstances: machines known at once. A launch is one call per pool and per
// 1,000 instances (aws.max_instances_per_call): a pool that has no capacity (or
// quota, or a spot price low enough) passes the call to the next pool, and every
// call is stored by the broker before it is sent.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/strings.h"
#include "provider/aws/aws_error.h"
#include "provider/aws/capacity_errors.h"
#include "provider/aws/launch_handler.h"
#include "provider/aws/launch_pools.h"

namespace orb {

namespace {

// Parameters that differ from call to call of one launch; the rest (the "base") is
// stored once in the plan.
bool IsPerCallParam(const std::string& name) {
  return name == "ClientToken" || name == "InstanceType" || name == "SubnetId" ||
         name == "NetworkInterface.1.SubnetId" || name == "MinCount" || name == "MaxCount" ||
         name.rfind("InstanceMarketOptions.", 0) == 0;
}

// "c5.large in subnet-1 (spot)", for messages.
std::string Describe(const LaunchPool& p) {
  return (p.instance_type.empty() ? std::string("the launch template's type") : p.instance_type) +
         " in " + (p.subnet_id.empty() ? std::string("the default subnet") : p.subnet_id) +
         (p.spot ? " (spot)" : " (on demand)");
}

class RunInstancesHandler : public LaunchHandler {
 public:
  explicit RunInstancesHandler(AwsContext& context) : context_(context) {}

  std::string_view PlanApi() const override { return "RunInstances"; }

  bool OwnsGroup(const std::string&) const override { return false; }

  LaunchPlan Plan(const LaunchSpec& spec) override {
    const Template& t = spec.templ();
    const LaunchOrder& order = *spec.order;
    if (t.vm_types.empty() && !spec.launch_template) ThrowTemplateError(t, "vmType", "is required");
    RunInstancesRequest r;
    r.client_token = order.client_token;  // per call, see CallParams
    r.launch_template = spec.launch_template;
    r.image_id = spec.image;
    r.security_group_ids = t.security_group_ids;
    r.key_name = t.key_name;
    r.user_data = spec.user_data;
    r.iam_instance_profile_arn = spec.profile_arn;
    r.iam_instance_profile_name = spec.profile_name;
    r.block_device_mappings = spec.root_volume;
    r.tag_specifications = {{"instance", spec.tags}, {"volume", spec.tags}};
    r.associate_public_ip = t.associate_public_ip;
    nlohmann::json base = nlohmann::json::array();
    const QueryParams full = Ec2Client::BuildRunInstances(r);
    for (const auto& [name, value] : full.items()) {
      if (!IsPerCallParam(name)) base.push_back({name, value});
    }
    const std::vector<LaunchPool> pools =
        OrderedPools(t, order.avoid_pools, order.spot_fallback_after > 0);
    nlohmann::json pools_json = nlohmann::json::array();
    for (const LaunchPool& p : pools) pools_json.push_back(p.ToJson());
    LaunchPlan plan;
    plan.request_id = order.request_id;
    plan.api = std::string(PlanApi());
    plan.body = {{"base", base},
                 {"token", order.client_token},
                 {"pools", pools_json},
                 {"spot_fallback_after", order.spot_fallback_after},
                 {"notes", nlohmann::json::array()},
                 {"at", FirstStep(pools, order.units, MaxPerCall()).ToJson()}};
    return plan;
  }

  LaunchResult Launch(const LaunchPlan& plan) override {
    if (!plan.body.contains("at")) return LaunchSingleCall(plan);  // a plan of orb 0.1
    const std::vector<LaunchPool> pools = PoolsOf(plan);
    const LaunchStep at = LaunchStep::FromJson(plan.body.at("at"));
    const LaunchPool& pool = pools.at(at.pool);
    const int instances = InstancesFor(at.units, pool.weight);
    RunInstancesResult r;
    try {
      r = context_.ec2().RunInstances(CallParams(plan, at, pool, instances));
    } catch (const AwsError& e) {
      const std::string kind = ClassifyLaunchError(e.aws_code());
      if (kind.empty()) throw;
      spdlog::warn("request {}: {} failed: {}", plan.request_id, Describe(pool), e.what());
      LaunchResult result;
      result.failed_pools.push_back({pool.Key(), kind, std::string(e.what())});
      Continue(plan, pools, at, {}, /*pool_failed=*/true,
               Describe(pool) + ": " + e.aws_code() + " (" + kind + ")", result);
      return result;
    }
    std::vector<CloudMachine> launched;
    for (const Instance& i : r.instances) launched.push_back(context_.ToCloudMachine(i));
    LaunchResult result;
    const bool short_pool = static_cast<int>(launched.size()) < instances;
    Continue(plan, pools, at, std::move(launched), short_pool,
             short_pool ? Describe(pool) + " gave " + std::to_string(r.instances.size()) + " of " +
                              std::to_string(instances) + " instances"
                        : std::string(),
             result);
    return result;
  }

  LaunchResult Adopt(const LaunchPlan& plan, std::vector<CloudMachine> found) override {
    LaunchResult result;
    if (!plan.body.contains("at")) {
      result.machines = std::move(found);
      result.settled = true;
      return result;
    }
    const std::vector<LaunchPool> pools = PoolsOf(plan);
    const LaunchStep at = LaunchStep::FromJson(plan.body.at("at"));
    const int instances = InstancesFor(at.units, pools.at(at.pool).weight);
    const bool short_pool = static_cast<int>(found.size()) < instances;
    Continue(plan, pools, at, std::move(found), short_pool, std::string(), result);
    return result;
  }

  GroupState DescribeGroup(const std::string&) override {
    GroupState state;
    state.settled = true;
    return state;
  }

  TerminateOutcome Release(const std::string&, const std::vector<std::string>& ids) override {
    return context_.Terminate(ids);
  }

  void Discard(const std::string&) override {}  // RunInstances makes no group

 private:
  // RunInstances launches at most 1000 instances per call; a site may ask for fewer.
  int MaxPerCall() const {
    return std::clamp(context_.options().max_instances_per_call, 1, 1000);
  }

  static std::vector<LaunchPool> PoolsOf(const LaunchPlan& plan) {
    std::vector<LaunchPool> pools;
    for (const nlohmann::json& p : plan.body.at("pools")) pools.push_back(LaunchPool::FromJson(p));
    if (pools.empty()) throw Error(ErrorCode::kStore, "stored launch plan has no pool");
    return pools;
  }

  // The exact call of step `at`: the stored base plus this call's pool and counts.
  // Each step has its own idempotency token, derived from the request's.
  static QueryParams CallParams(const LaunchPlan& plan, const LaunchStep& at,
                                const LaunchPool& pool, int instances) {
    QueryParams p;
    const std::string token = plan.body.at("token").get<std::string>();
    p.Add("ClientToken", at.step == 0 ? token : token + "-" + std::to_string(at.step));
    const QueryParams base = QueryParams::FromJson(plan.body.at("base"));
    for (const auto& [name, value] : base.items()) {
      p.Add(name, value);
    }
    if (!pool.instance_type.empty()) p.Add("InstanceType", pool.instance_type);
    if (!pool.subnet_id.empty()) {
      // With an explicit network interface (associatePublicIpAddress), the subnet
      // belongs in it.
      p.Add(base.Get("NetworkInterface.1.DeviceIndex").empty() ? "SubnetId"
                                                              : "NetworkInterface.1.SubnetId",
            pool.subnet_id);
    }
    // A call asks for all its instances or none: a pool that cannot give them all
    // answers InsufficientInstanceCapacity and the whole call moves to the next pool
    // (with MinCount below MaxCount the shortfall would be silent, and some emulators
    // launch only MinCount).
    p.Add("MinCount", std::to_string(instances));
    p.Add("MaxCount", std::to_string(instances));
    if (pool.spot) {
      p.Add("InstanceMarketOptions.MarketType", "spot");
      if (!pool.max_price.empty()) {
        p.Add("InstanceMarketOptions.SpotOptions.MaxPrice", pool.max_price);
      }
    }
    return p;
  }

  // Fills `result` with what step `at` launched and the call that follows it, if any.
  void Continue(const LaunchPlan& plan, const std::vector<LaunchPool>& pools,
                const LaunchStep& at, std::vector<CloudMachine> launched, bool pool_failed,
                const std::string& note, LaunchResult& result) {
    int units = 0;
    for (const CloudMachine& m : launched) {
      (void)m;
      units += pools.at(at.pool).weight;
    }
    result.machines = std::move(launched);
    std::vector<std::string> notes;
    for (const nlohmann::json& n : plan.body.value("notes", nlohmann::json::array())) {
      notes.push_back(n.get<std::string>());
    }
    if (!note.empty()) notes.push_back(note);
    bool out_of_pools = false;
    std::optional<LaunchStep> next =
        NextStep(pools, at, units, pool_failed, plan.body.value("spot_fallback_after", 0),
                 MaxPerCall(), &out_of_pools);
    if (next) {
      const LaunchPool& to = pools.at(next->pool);
      if (next->pool != at.pool) {
        notes.push_back("trying " + Describe(to));
        spdlog::info("request {}: trying {} for {} unit(s)", plan.request_id, Describe(to),
                     next->units + next->remaining);
      }
      LaunchPlan follow = plan;
      follow.body["at"] = next->ToJson();
      follow.body["notes"] = notes;
      result.next = std::move(follow);
      result.settled = false;
    } else {
      if (out_of_pools) {
        const long long still = static_cast<long long>(at.units) - units + at.remaining;
        notes.push_back("no pool left for " + std::to_string(still) + " more unit(s)");
      }
      result.settled = true;
    }
    result.message = Join(notes, "; ");
  }

  // Sends a plan stored by orb 0.1: one RunInstances call, as stored.
  LaunchResult LaunchSingleCall(const LaunchPlan& plan) {
    RunInstancesResult r =
        context_.ec2().RunInstances(QueryParams::FromJson(plan.body.at("params")));
    LaunchResult result;
    for (const Instance& i : r.instances) result.machines.push_back(context_.ToCloudMachine(i));
    result.settled = true;
    return result;
  }

  AwsContext& context_;
};

}  // namespace

std::unique_ptr<LaunchHandler> MakeRunInstancesHandler(AwsContext& context) {
  return std::make_unique<RunInstancesHandler>(context);
}

}  // namespace orb
