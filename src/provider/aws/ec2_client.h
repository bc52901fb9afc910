#pragma once

// Typed EC2 calls on top of AwsClient::CallQuery: request structs in, result
// structs out, with AWS's batch limits applied (ids chunked, pages followed).
// Failures are AwsError (AWS refused, or the last retry failed) or
// Error(kInvalidInput) when a request is unusable before anything is sent.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "provider/aws/aws_client.h"
#include "provider/aws/aws_types.h"

namespace orb {

// ---------------------------------------------------------------------------
// Request building blocks

// Tags to put on resources created by a call (instances, volumes, fleets, ...).
struct TagSpecification {
  std::string resource_type;  // "instance", "volume", "fleet", "spot-fleet-request", ...
  std::vector<Tag> tags;
};

// One block device of an instance or launch template.
struct BlockDeviceMapping {
  std::string device_name;   // e.g. "/dev/xvda"
  std::string virtual_name;  // instance store, e.g. "ephemeral0"
  bool no_device = false;    // suppress the AMI's mapping for `device_name`
  int volume_size_gib = 0;   // EBS; 0 = the snapshot's size
  std::string volume_type;   // gp3, gp2, io1, io2, st1, sc1, standard
  int iops = 0;              // 0 = unset
  int throughput_mibps = 0;  // gp3; 0 = unset
  std::string snapshot_id;
  std::string kms_key_id;
  std::optional<bool> delete_on_termination;
  std::optional<bool> encrypted;
};

// Spot purchase options for RunInstances and launch templates.
struct SpotMarketOptions {
  std::string max_price;                       // "" = the on-demand price
  std::string spot_instance_type;              // "one-time" (default) or "persistent"
  std::string instance_interruption_behavior;  // terminate | stop | hibernate
};

// One capacity pool override of an EC2 Fleet or Spot Fleet launch template config.
struct FleetOverride {
  std::string instance_type;
  std::string subnet_id;
  std::string availability_zone;
  std::optional<double> weighted_capacity;
  std::optional<double> priority;  // lower = launched first (prioritized strategies)
  std::string max_price;           // EC2 Fleet MaxPrice / Spot Fleet SpotPrice
  std::string image_id;            // EC2 Fleet only
  // Attribute-based selection instead of `instance_type`: AWS's InstanceRequirements
  // as NormalizeInstanceRequirements returns it (null = none).
  nlohmann::json instance_requirements;
};

// A launch template with the pools to try.
struct FleetLaunchTemplateConfig {
  LaunchTemplateSpec launch_template;
  std::vector<FleetOverride> overrides;
};

// How much capacity an EC2 Fleet should hold, in units of the overrides' weights.
struct TargetCapacitySpec {
  int total = 0;
  std::optional<int> on_demand;
  std::optional<int> spot;
  std::string default_target_capacity_type;  // "spot" | "on-demand" | "capacity-block"
  std::string target_capacity_unit_type;     // "" | "units" | "vcpu" | "memory-mib"
};

// ---------------------------------------------------------------------------
// Results

// One EC2 instance as DescribeInstances / RunInstances report it.
struct Instance {
  std::string instance_id;
  std::string state;  // pending | running | shutting-down | terminated | stopping | stopped
  int state_code = 0;
  std::string state_reason_code;  // e.g. "Server.SpotInstanceTermination"
  std::string state_reason_message;
  std::string private_dns_name;
  std::string private_ip;
  std::string public_ip;
  std::string instance_type;
  std::string availability_zone;
  std::string subnet_id;
  std::string vpc_id;
  std::string image_id;
  EpochSeconds launch_time = 0;
  std::string lifecycle;  // "spot", "scheduled", "capacity-block"; "" = on-demand
  std::string spot_instance_request_id;
  std::string client_token;
  std::string reservation_id;
  std::vector<Tag> tags;
};

// An instance's state before and after a TerminateInstances call.
struct InstanceStateChange {
  std::string instance_id;
  std::string previous_state;
  std::string current_state;
};

// One instance's status from DescribeInstanceStatus.
struct InstanceStatus {
  std::string instance_id;
  std::string availability_zone;
  std::string state;          // as Instance::state
  std::string system_status;  // ok | impaired | insufficient-data | not-applicable | initializing
  std::string instance_status;
  std::vector<std::string> event_codes;  // scheduled events, e.g. "instance-retirement"
};

// An instance id the cloud refused to act on, with AWS's reason.
struct InstanceFailure {
  std::string instance_id;
  std::string code;
  std::string message;
};

// A pool EC2 Fleet could not launch in, or instances it launched, with the
// launch template and override the pool came from.
struct FleetPool {
  LaunchTemplateSpec launch_template;
  FleetOverride override;
  std::string lifecycle;  // "spot" | "on-demand"
};

// A pool EC2 Fleet failed to launch in (instant fleets report these at once).
struct FleetError {
  FleetPool pool;
  std::string error_code;  // e.g. "InsufficientInstanceCapacity"
  std::string error_message;
};

// Instances EC2 Fleet launched in one pool.
struct FleetInstances {
  FleetPool pool;
  std::string instance_type;
  std::vector<std::string> instance_ids;
};

// An EC2 Fleet.
struct Fleet {
  std::string fleet_id;
  std::string state;            // submitted | active | deleted | failed | deleted_running | ...
  std::string activity_status;  // error | pending_fulfillment | pending_termination | fulfilled
  std::string type;             // instant | request | maintain
  std::string client_token;
  TargetCapacitySpec target_capacity;
  double fulfilled_capacity = 0;
  double fulfilled_on_demand_capacity = 0;
  EpochSeconds create_time = 0;
  std::vector<Tag> tags;
  std::vector<FleetError> errors;         // instant fleets
  std::vector<FleetInstances> instances;  // instant fleets
};

// An instance of an EC2 Fleet or Spot Fleet that is running or pending.
struct FleetInstance {
  std::string instance_id;
  std::string instance_type;
  std::string spot_instance_request_id;
  std::string instance_health;  // healthy | unhealthy
};

// A fleet id and what a delete/cancel did to it (or why it failed).
struct FleetDeletion {
  std::string fleet_id;
  std::string current_state;
  std::string previous_state;
  std::string error_code;  // "" on success
  std::string error_message;
};

// A Spot Fleet request.
struct SpotFleetRequest {
  std::string spot_fleet_request_id;
  std::string state;            // submitted | active | cancelled | failed | cancelled_running |
                                // cancelled_terminating | modifying
  std::string activity_status;  // error | pending_fulfillment | pending_termination | fulfilled
  std::string type;             // request | maintain
  std::string allocation_strategy;
  std::string iam_fleet_role;
  std::string client_token;
  int target_capacity = 0;
  int on_demand_target_capacity = 0;
  double fulfilled_capacity = 0;
  double on_demand_fulfilled_capacity = 0;
  EpochSeconds create_time = 0;
  EpochSeconds valid_until = 0;
  std::vector<Tag> tags;
};

// One instance type's facts from DescribeInstanceTypes. (Named apart from the
// built-in table's InstanceTypeInfo in model/instance_types.h: one program holds both.)
struct Ec2InstanceType {
  std::string instance_type;
  int vcpus = 0;
  int cores = 0;
  int threads_per_core = 0;
  long long memory_mib = 0;
  int gpus = 0;
  std::vector<std::string> architectures;  // x86_64, arm64, i386, ...
  std::vector<std::string> usage_classes;  // spot, on-demand
  bool current_generation = false;
};

// One spot price observation.
struct SpotPrice {
  std::string instance_type;
  std::string availability_zone;
  std::string product_description;  // "Linux/UNIX", ...
  double price = 0;                 // USD per hour
  EpochSeconds timestamp = 0;
};

// A launch template.
struct LaunchTemplate {
  std::string launch_template_id;
  std::string launch_template_name;
  long long default_version = 0;
  long long latest_version = 0;
  EpochSeconds create_time = 0;
  std::vector<Tag> tags;
};

// A new version of a launch template.
struct LaunchTemplateVersion {
  std::string launch_template_id;
  std::string launch_template_name;
  long long version_number = 0;
  bool default_version = false;
};

// An AMI.
struct Image {
  std::string image_id;
  std::string name;
  std::string state;         // available | pending | failed | ...
  std::string architecture;  // x86_64 | arm64 | i386
  std::string owner_id;
  std::string platform;  // "windows" or ""
  std::string root_device_name;
  EpochSeconds creation_date = 0;
  std::vector<Tag> tags;
};

// A subnet.
struct Subnet {
  std::string subnet_id;
  std::string vpc_id;
  std::string availability_zone;
  std::string availability_zone_id;
  std::string cidr_block;
  std::string state;
  int available_ip_address_count = 0;
  bool map_public_ip_on_launch = false;
  bool default_for_az = false;
  std::vector<Tag> tags;
};

// A security group.
struct SecurityGroup {
  std::string group_id;
  std::string group_name;
  std::string vpc_id;
  std::string description;
  std::vector<Tag> tags;
};

// A VPC.
struct Vpc {
  std::string vpc_id;
  std::string cidr_block;
  std::string state;
  bool is_default = false;
  std::vector<Tag> tags;
};

// A spot instance request (RunInstances with spot market options, or a Spot Fleet's).
struct SpotInstanceRequest {
  std::string spot_instance_request_id;
  std::string state;        // open | active | closed | cancelled | failed | disabled
  std::string status_code;  // e.g. "fulfilled", "capacity-not-available",
                            // "marked-for-termination", "instance-terminated-by-price"
  std::string status_message;
  EpochSeconds status_update_time = 0;  // when the status last changed
  std::string fault_code;
  std::string fault_message;
  std::string instance_id;
  std::string instance_type;
  std::string launched_availability_zone;
  std::string spot_price;
  std::string type;  // one-time | persistent
  EpochSeconds create_time = 0;
  std::vector<Tag> tags;
};

// ---------------------------------------------------------------------------
// Requests

// RunInstances: launches between `min_count` and `max_count` instances at once.
struct RunInstancesRequest {
  std::string client_token;  // required: same token + same parameters = launched once
  std::optional<LaunchTemplateSpec> launch_template;  // other fields override it
  std::string image_id;
  std::string instance_type;
  int min_count = 1;
  int max_count = 1;
  std::string subnet_id;
  std::string availability_zone;
  std::vector<std::string> security_group_ids;
  std::string key_name;
  std::string user_data;  // the script itself; sent base64-encoded (<= 16 KB raw)
  std::string iam_instance_profile_arn;
  std::string iam_instance_profile_name;
  std::vector<BlockDeviceMapping> block_device_mappings;
  std::optional<SpotMarketOptions> spot;  // set = launch spot instances
  std::optional<bool> ebs_optimized;
  std::string http_tokens;  // instance metadata: "required" (IMDSv2 only) or "optional"
  std::vector<TagSpecification> tag_specifications;
  // Set = the primary network interface is described explicitly (subnet and security
  // groups move into it) with AssociatePublicIpAddress = this value; unset = the
  // subnet's default.
  std::optional<bool> associate_public_ip;
};

// What RunInstances launched (instances are still pending).
struct RunInstancesResult {
  std::string reservation_id;
  std::vector<Instance> instances;
};

// CreateFleet: an EC2 Fleet over one or more launch templates and pools.
struct CreateFleetRequest {
  std::string client_token;      // required
  std::string type = "instant";  // instant | request | maintain
  std::vector<FleetLaunchTemplateConfig> launch_template_configs;
  TargetCapacitySpec target_capacity;
  std::string spot_allocation_strategy;  // price-capacity-optimized | capacity-optimized |
                                         // capacity-optimized-prioritized | diversified |
                                         // lowest-price
  std::string spot_instance_interruption_behavior;  // terminate | stop | hibernate
  int spot_instance_pools_to_use_count = 0;         // lowest-price only; 0 = unset
  std::string spot_max_total_price;
  std::optional<int> spot_min_target_capacity;  // instant fleets: all or nothing
  std::optional<bool> spot_single_instance_type;
  std::optional<bool> spot_single_availability_zone;
  std::string on_demand_allocation_strategy;  // lowest-price | prioritized
  // "use-capacity-reservations-first" (instant fleets only); "" = unset.
  std::string on_demand_capacity_reservation_usage_strategy;
  std::string on_demand_max_total_price;
  std::optional<int> on_demand_min_target_capacity;
  std::string excess_capacity_termination_policy;  // termination | no-termination
  std::optional<bool> terminate_instances_with_expiration;
  std::optional<bool> replace_unhealthy_instances;
  EpochSeconds valid_from = 0;                       // 0 = unset
  EpochSeconds valid_until = 0;                      // 0 = unset
  std::vector<TagSpecification> tag_specifications;  // "fleet" and, for instant, "instance"
  std::string context;                               // CreateFleet's Context; "" = unset
};

// What CreateFleet answered. For instant fleets the instances and the pools that
// failed are known at once; request/maintain fleets report them later.
struct CreateFleetResult {
  std::string fleet_id;
  std::vector<FleetError> errors;
  std::vector<FleetInstances> instances;

  // Every instance id launched, over all pools.
  std::vector<std::string> InstanceIds() const;
};

// ModifyFleet: a new target capacity for a request/maintain fleet.
struct ModifyFleetRequest {
  std::string fleet_id;
  std::optional<TargetCapacitySpec> target_capacity;
  std::string excess_capacity_termination_policy;                  // termination | no-termination
  std::vector<FleetLaunchTemplateConfig> launch_template_configs;  // optional new configs
};

// RequestSpotFleet's SpotFleetRequestConfig (launch templates only).
struct SpotFleetRequestConfig {
  std::string client_token;      // required
  std::string iam_fleet_role;    // required: the role Spot Fleet acts as
  std::string type = "request";  // request | maintain
  std::vector<FleetLaunchTemplateConfig> launch_template_configs;
  int target_capacity = 0;
  std::optional<int> on_demand_target_capacity;
  std::string allocation_strategy;  // priceCapacityOptimized | capacityOptimized |
                                    // capacityOptimizedPrioritized | diversified | lowestPrice
  std::string on_demand_allocation_strategy;  // lowestPrice | prioritized
  std::string spot_price;                     // the default maximum price
  std::string instance_interruption_behavior;
  int instance_pools_to_use_count = 0;             // 0 = unset
  std::string excess_capacity_termination_policy;  // Default | NoTermination
  std::optional<bool> terminate_instances_with_expiration;
  std::optional<bool> replace_unhealthy_instances;
  std::string target_capacity_unit_type;  // "" | units | vcpu | memory-mib
  EpochSeconds valid_from = 0;
  EpochSeconds valid_until = 0;
  std::vector<TagSpecification> tag_specifications;  // resource type "spot-fleet-request"
  std::string context;                               // SpotFleetRequestConfig.Context
};

// ModifySpotFleetRequest: a new target capacity.
struct ModifySpotFleetRequestRequest {
  std::string spot_fleet_request_id;
  std::optional<int> target_capacity;
  std::optional<int> on_demand_target_capacity;
  std::string excess_capacity_termination_policy;  // Default | NoTermination
};

// DescribeInstances by ids: the instances found and the ids AWS does not know
// (right after a launch that means "not visible yet", not "gone").
struct DescribeInstancesResult {
  std::vector<Instance> instances;
  std::vector<std::string> not_found;
};

// DescribeInstanceStatus by ids.
struct DescribeInstanceStatusResult {
  std::vector<InstanceStatus> statuses;
  std::vector<std::string> not_found;
};

// TerminateInstances: what changed, which ids AWS did not know, and which it
// refused for good (malformed ids, termination protection, ...).
struct TerminateInstancesResult {
  std::vector<InstanceStateChange> terminating;
  std::vector<std::string> not_found;
  std::vector<InstanceFailure> failed;
};

// DescribeSpotPriceHistory's question.
struct SpotPriceQuery {
  std::vector<std::string> instance_types;
  std::vector<std::string> product_descriptions;  // e.g. "Linux/UNIX"
  std::string availability_zone;
  EpochSeconds start_time = 0;  // 0 = unset; start = end = now gives current prices
  EpochSeconds end_time = 0;
  std::vector<Filter> filters;
  int max_results = 1000;  // per page
};

// What a launch template (or a new version of one) launches.
struct LaunchTemplateData {
  std::string image_id;
  std::string instance_type;
  std::string key_name;
  std::vector<std::string> security_group_ids;
  std::string user_data;  // the script itself; sent base64-encoded (<= 16 KB raw)
  std::string iam_instance_profile_arn;
  std::string iam_instance_profile_name;
  std::vector<BlockDeviceMapping> block_device_mappings;
  std::optional<SpotMarketOptions> spot;
  std::optional<bool> ebs_optimized;
  std::string http_tokens;                           // "required" | "optional"
  std::vector<TagSpecification> tag_specifications;  // for what it launches
  // Set = a primary network interface (device 0, the security groups inside it) with
  // AssociatePublicIpAddress = this value; the subnet comes from the fleet or group.
  std::optional<bool> associate_public_ip;
};

// CreateLaunchTemplate.
struct CreateLaunchTemplateRequest {
  std::string client_token;  // required
  std::string launch_template_name;
  std::string version_description;
  LaunchTemplateData data;
  std::vector<Tag> tags;  // on the launch template itself
};

// CreateLaunchTemplateVersion.
struct CreateLaunchTemplateVersionRequest {
  std::string client_token;        // required
  std::string launch_template_id;  // set id or name
  std::string launch_template_name;
  std::string source_version;  // "" = a version from `data` alone
  std::string version_description;
  LaunchTemplateData data;
};

// DescribeImages' question.
struct ImageQuery {
  std::vector<std::string> image_ids;
  std::vector<std::string> owners;  // "self", "amazon", account ids
  std::vector<Filter> filters;
};

// ---------------------------------------------------------------------------

// The EC2 calls orb makes. Thread-safe as AwsClient is. Describe calls follow
// every page; id lists longer than AWS accepts are split into several calls.
class Ec2Client {
 public:
  // AWS's per-call limits the client applies.
  static constexpr std::size_t kMaxDescribeInstanceIds = 1000;
  static constexpr std::size_t kMaxInstanceStatusIds = 100;
  static constexpr std::size_t kMaxTerminateIds = 1000;
  static constexpr std::size_t kMaxTagResources = 1000;
  static constexpr std::size_t kMaxDeleteFleetIds = 25;
  static constexpr std::size_t kMaxCancelSpotFleetIds = 100;
  static constexpr std::size_t kMaxFilterValues = 200;
  static constexpr std::size_t kMaxUserDataBytes = 16 * 1024;

  // Uses `aws` (not owned; must outlive this client) for every call.
  explicit Ec2Client(AwsClient& aws) : aws_(aws) {}

  // Launches instances. Requires a ClientToken: retried and replayed calls with
  // the same token launch once.
  RunInstancesResult RunInstances(const RunInstancesRequest& request);

  // The exact wire parameters RunInstances sends for `request`, validated
  // (ClientToken present and <= 64 characters, user data <= 16 KB). The broker
  // stores them before sending, so a replay after a crash is byte-for-byte the
  // same call with the same token.
  static QueryParams BuildRunInstances(const RunInstancesRequest& request);

  // Sends RunInstances with exactly `params` (from BuildRunInstances).
  RunInstancesResult RunInstances(const QueryParams& params);

  // Creates an EC2 Fleet. Requires a ClientToken.
  CreateFleetResult CreateFleet(const CreateFleetRequest& request);

  // The exact wire parameters CreateFleet sends for `request`, validated; see
  // BuildRunInstances.
  static QueryParams BuildCreateFleet(const CreateFleetRequest& request);

  // Sends CreateFleet with exactly `params` (from BuildCreateFleet).
  CreateFleetResult CreateFleet(const QueryParams& params);

  // Describes the given fleets (all when `fleet_ids` is empty and `filters` too).
  std::vector<Fleet> DescribeFleets(const std::vector<std::string>& fleet_ids,
                                    const std::vector<Filter>& filters = {});

  // The running and pending instances of a request/maintain fleet, all pages.
  std::vector<FleetInstance> DescribeFleetInstances(const std::string& fleet_id);

  // Changes a fleet's target capacity. Returns AWS's "return" flag.
  bool ModifyFleet(const ModifyFleetRequest& request);

  // Deletes fleets (25 per call), terminating their instances when asked. Returns
  // AWS's answer: each fleet it names, with an error code when it failed.
  std::vector<FleetDeletion> DeleteFleets(const std::vector<std::string>& fleet_ids,
                                          bool terminate_instances);

  // Creates a Spot Fleet request. Requires a ClientToken. Returns its id.
  std::string RequestSpotFleet(const SpotFleetRequestConfig& config);

  // The exact wire parameters of RequestSpotFleet; see BuildRunInstances.
  static QueryParams BuildRequestSpotFleet(const SpotFleetRequestConfig& config);

  // Sends RequestSpotFleet with exactly `params`; returns the request id.
  std::string RequestSpotFleet(const QueryParams& params);

  // Describes Spot Fleet requests (all when `ids` is empty), all pages.
  std::vector<SpotFleetRequest> DescribeSpotFleetRequests(const std::vector<std::string>& ids);

  // The running and pending instances of a Spot Fleet, all pages.
  std::vector<FleetInstance> DescribeSpotFleetInstances(const std::string& spot_fleet_request_id);

  // Changes a Spot Fleet's target capacity. Returns AWS's "return" flag.
  bool ModifySpotFleetRequest(const ModifySpotFleetRequestRequest& request);

  // Cancels Spot Fleet requests (100 per call), terminating their instances when
  // asked. Returns AWS's answer: each request it names, with an error code when it
  // failed.
  std::vector<FleetDeletion> CancelSpotFleetRequests(const std::vector<std::string>& ids,
                                                     bool terminate_instances);

  // Describes instances by id, 1000 ids per call. Ids AWS does not know are
  // reported in `not_found` instead of failing the whole call. An empty list
  // describes nothing (never "all instances").
  DescribeInstancesResult DescribeInstancesById(const std::vector<std::string>& instance_ids);

  // Describes the instances matching `filters` (all instances when empty),
  // `page_size` (5..1000) per call, following every page.
  std::vector<Instance> DescribeInstancesByFilter(const std::vector<Filter>& filters,
                                                  int page_size = 1000);

  // Instance and system status by id, 100 ids per call; `include_all` also
  // reports instances that are not running. Ids AWS does not know are reported in
  // `not_found`. An empty list asks nothing.
  DescribeInstanceStatusResult DescribeInstanceStatus(const std::vector<std::string>& instance_ids,
                                                      bool include_all = true);

  // Terminates instances, 1000 per call. When AWS refuses a whole call because of
  // some ids (InvalidInstanceID.NotFound / .Malformed), the ids it named are set
  // aside and the rest retried; if that fails again, each id is tried alone.
  // Throttling and network failures propagate (the call is safe to repeat).
  TerminateInstancesResult TerminateInstances(const std::vector<std::string>& instance_ids);

  // Adds or overwrites `tags` on resources (1000 per call).
  void CreateTags(const std::vector<std::string>& resource_ids, const std::vector<Tag>& tags);

  // Facts about instance types (all types when both are empty), all pages.
  std::vector<Ec2InstanceType> DescribeInstanceTypes(const std::vector<std::string>& types,
                                                     const std::vector<Filter>& filters = {});

  // Spot price history, all pages.
  std::vector<SpotPrice> DescribeSpotPriceHistory(const SpotPriceQuery& query);

  // Creates a launch template. Requires a ClientToken.
  LaunchTemplate CreateLaunchTemplate(const CreateLaunchTemplateRequest& request);

  // The exact wire parameters of CreateLaunchTemplate; see BuildRunInstances.
  static QueryParams BuildCreateLaunchTemplate(const CreateLaunchTemplateRequest& request);

  // Sends CreateLaunchTemplate with exactly `params`.
  LaunchTemplate CreateLaunchTemplate(const QueryParams& params);

  // Adds a version to a launch template. Requires a ClientToken.
  LaunchTemplateVersion CreateLaunchTemplateVersion(
      const CreateLaunchTemplateVersionRequest& request);

  // Describes launch templates by id or name (all when every list is empty).
  std::vector<LaunchTemplate> DescribeLaunchTemplates(const std::vector<std::string>& ids,
                                                      const std::vector<std::string>& names,
                                                      const std::vector<Filter>& filters = {});

  // Deletes a launch template (by `which.id`, else `which.name`) and all its versions.
  LaunchTemplate DeleteLaunchTemplate(const LaunchTemplateSpec& which);

  // Describes AMIs.
  std::vector<Image> DescribeImages(const ImageQuery& query);

  // Describes subnets, all pages.
  std::vector<Subnet> DescribeSubnets(const std::vector<std::string>& ids,
                                      const std::vector<Filter>& filters = {});

  // Describes security groups, all pages.
  std::vector<SecurityGroup> DescribeSecurityGroups(const std::vector<std::string>& ids,
                                                    const std::vector<Filter>& filters = {});

  // Describes VPCs, all pages.
  std::vector<Vpc> DescribeVpcs(const std::vector<std::string>& ids,
                                const std::vector<Filter>& filters = {});

  // Describes spot instance requests, all pages.
  std::vector<SpotInstanceRequest> DescribeSpotInstanceRequests(
      const std::vector<std::string>& ids, const std::vector<Filter>& filters = {});

 private:
  AwsClient& aws_;
};

// Parses one DescribeInstances/RunInstances instance element (<item> of an
// <instancesSet>). `reservation_id` is copied into the result. Exposed for the
// benchmark and for tests of recorded answers.
Instance ParseEc2Instance(pugi::xml_node item, const std::string& reservation_id);

// Parses a whole DescribeInstances answer page: its instances, in order, and the
// page's NextToken ("" on the last page).
std::vector<Instance> ParseDescribeInstancesPage(pugi::xml_node root, std::string* next_token);

}  // namespace orb
