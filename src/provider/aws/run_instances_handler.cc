// EC2 RunInstances: machines of one instance type in one subnet, known at once.

#include <fmt/format.h>

#include "provider/aws/launch_handler.h"

namespace orb {

namespace {

class RunInstancesHandler : public LaunchHandler {
 public:
  explicit RunInstancesHandler(AwsContext& context) : context_(context) {}

  std::string_view PlanApi() const override { return "RunInstances"; }

  bool OwnsGroup(const std::string&) const override { return false; }

  LaunchPlan Plan(const LaunchSpec& spec) override {
    const Template& t = spec.templ();
    if (t.vm_types.empty() && !spec.launch_template) ThrowTemplateError(t, "vmType", "is required");
    RunInstancesRequest r;
    r.client_token = spec.order->client_token;
    r.launch_template = spec.launch_template;
    r.image_id = spec.image;
    int weight = 1;
    if (!t.vm_types.empty()) {
      r.instance_type = t.vm_types.front().first;
      weight = std::max(1, t.vm_types.front().second);
    }
    // Counts are capacity units: enough instances of the first type to cover them.
    const int instances = (spec.order->units + weight - 1) / weight;
    r.min_count = instances;
    r.max_count = instances;
    if (!t.subnet_ids.empty()) r.subnet_id = t.subnet_ids.front();
    r.security_group_ids = t.security_group_ids;
    r.key_name = t.key_name;
    r.user_data = spec.user_data;
    r.iam_instance_profile_arn = spec.profile_arn;
    r.iam_instance_profile_name = spec.profile_name;
    r.block_device_mappings = spec.root_volume;
    r.spot = spec.spot;
    r.tag_specifications = {{"instance", spec.tags}, {"volume", spec.tags}};
    LaunchPlan plan;
    plan.request_id = spec.order->request_id;
    plan.api = std::string(PlanApi());
    plan.body = {{"params", Ec2Client::BuildRunInstances(r).ToJson()}};
    return plan;
  }

  LaunchResult Launch(const LaunchPlan& plan) override {
    RunInstancesResult r =
        context_.ec2().RunInstances(QueryParams::FromJson(plan.body.at("params")));
    LaunchResult result;
    for (const Instance& i : r.instances) result.machines.push_back(context_.ToCloudMachine(i));
    result.settled = true;
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

 private:
  AwsContext& context_;
};

}  // namespace

std::unique_ptr<LaunchHandler> MakeRunInstancesHandler(AwsContext& context) {
  return std::make_unique<RunInstancesHandler>(context);
}

}  // namespace orb
