#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_loader.h"
#include "config/template_loader.h"
#include "model/machine.h"
#include "model/request.h"
#include "model/template.h"
#include "provider/provider.h"
#include "store/store.h"

namespace orb {

// Copies what the cloud says of a machine into orb's record (state, name, addresses,
// type, zone; a final state's reason as the message when there is none). The launch
// time is set once and never changes.
void ObserveCloudMachine(Machine& m, const CloudMachine& c);

// The outcome of checking the templates file.
struct TemplateCheck {
  std::string file;                   // the templates file checked ("" if none found)
  std::vector<Template> templates;    // the valid ones
  std::vector<std::string> problems;  // every problem, each naming file, template, field
  std::vector<std::string> warnings;  // legal but suspicious settings (e.g. an ignored key)
};

// One thing the reconciler did (or, in a dry run, would do).
struct ReconcileAction {
  std::string action;      // "adopt", "terminate", "keep" (an orphan still in its grace)
                           // or "abandon" (a request nobody knows, given back)
  std::string provider;    // provider instance
  std::string machine_id;
  std::string request_id;  // the request its tag names ("" if none)
  std::string detail;      // why, for the operator
};

// What one reconciler pass found and did.
struct ReconcileReport {
  bool dry_run = false;
  int instances_seen = 0;  // live instances tagged by this broker
  std::vector<ReconcileAction> actions;
  int requests_abandoned = 0;  // acquire requests nobody was told of, given back
  int open_requests = 0;   // open requests found (brought up to date unless a dry run)
  int requests_ended = 0;  // of those, how many are now terminal
};

// Whether ReconcileIfDue ran a pass, and what it found.
struct ReconcileOutcome {
  bool ran = false;     // a pass was due and was run
  bool failed = false;  // it failed (logged); `report` is empty then
  ReconcileReport report;
};

// How CreateTemplate, UpdateTemplate and DeleteTemplate behave.
struct TemplateChangeOptions {
  bool validate_only = false;  // check and report, write nothing
  bool force = false;          // create: replace an existing id; delete: skip the in-use check
};

// What a template change did (or, with validate_only, would do).
struct TemplateChange {
  std::string action;                 // "create", "update" or "delete"
  std::string template_id;
  std::string file;                   // the templates file
  bool written = false;               // the file was replaced (false with validate_only)
  bool replaced_existing = false;     // create --force over an existing template
  std::vector<std::string> warnings;  // TemplateWarnings of the new template
};

// Reads the one template object held by `path` (JSON, or YAML by its extension; IBM
// camelCase or Python ORB snake_case keys; a {"templates": [one]} document is accepted
// too). Throws Error(kInvalidInput) naming the file for anything else.
nlohmann::ordered_json ReadTemplateInput(const std::string& path);

// The one template object of `doc` (the object itself, or {"templates": [one]}).
// Throws Error(kInvalidInput) starting with `where` for anything else.
nlohmann::ordered_json OneTemplateOf(nlohmann::ordered_json doc, const std::string& where);

// A machine named by a caller: by cloud id, host name, or both.
struct MachineRef {
  std::string name;
  std::string machine_id;
};

// One request as RequestStatus reports it.
struct RequestReport {
  Request request;
  std::vector<Machine> machines;  // launched by it (acquire) or given back by it (return)
  std::string message;            // news of this poll (e.g. a cloud error), else ""
};

// A host the cloud took or is taking back (getReturnRequests).
struct ReturnCandidate {
  std::string name;
  std::string machine_id;
  int grace_period = 0;  // seconds left before it goes
  std::string reason;    // why it is listed
};

// The use cases every door (HostFactory scripts, CLI, REST, MCP) calls. The
// broker owns the rules; doors only translate their wire formats. It opens the
// store and reads the templates file lazily, so a command that needs neither
// pays for neither.
class Broker {
 public:
  // Uses `config`, which must outlive the broker and have no errors.
  explicit Broker(const Config& config);
  ~Broker();

  // The templates file in use. Throws Error(kInvalidConfig) naming every path
  // looked at when there is none.
  std::string TemplatesFile() const;

  // Every template in the templates file, read afresh (file changes are picked
  // up on the next call). Attributes the file does not write are derived from the
  // instance-type facts the provider holds (Provider::KnownInstanceTypes without
  // refresh: no cloud call), else from the built-in table. Throws
  // Error(kInvalidConfig) for a missing, corrupt or invalid file, and for a file with
  // no template (HostFactory may drop a provider that offers none).
  std::vector<Template> ListTemplates();

  // The templates HostFactory is offered: ListTemplates() less those the provider
  // cannot launch (each logged as a warning, and reported by ValidateTemplates).
  // Throws Error(kInvalidConfig) when none is left.
  std::vector<Template> OfferedTemplates();

  // The template with this id. Throws Error(kNotFound) naming the known ids.
  Template GetTemplate(std::string_view template_id);

  // Checks the templates file (or `file` when given) and reports every problem.
  // With `in_cloud`, also asks the provider whether each valid template's cloud
  // resources exist (Provider::CheckInCloud); a cloud that cannot be asked is a
  // problem too (the check did not happen).
  TemplateCheck ValidateTemplates(const std::string& file = "", bool in_cloud = false);

  // Asks the provider afresh for the facts of every instance type the templates file
  // names (Provider::KnownInstanceTypes with refresh: on AWS one DescribeInstanceTypes
  // call per 100 types, cached for every later call), then checks the file as
  // ValidateTemplates does, its attributes derived from the new facts. Throws
  // Error(kCloud) when the cloud cannot be asked (the cache is then unchanged).
  TemplateCheck RefreshTemplates();

  // --- Editing the templates file ---------------------------------------------
  // Each edit holds the lock of TemplatesFileLock for its whole read-modify-write,
  // checks the whole resulting document with ParseTemplates (every problem is reported
  // in one Error(kInvalidInput), and the file is left untouched), then replaces the
  // file with ReplaceFileAtomically, as 2-space-indented JSON keeping the key order of
  // everything else. A YAML templates file is refused with Error(kInvalidInput) (its
  // comments would be lost): edit it by hand.

  // Adds `templ` to the templates file. Throws Error(kConflict) when its id exists,
  // unless options.force (then it replaces that template in place).
  TemplateChange CreateTemplate(const nlohmann::ordered_json& templ,
                                const TemplateChangeOptions& options);

  // Replaces the template `template_id` with `templ` (whose id, when given, must be
  // `template_id`; when missing it is added). Throws Error(kNotFound) for an unknown id.
  TemplateChange UpdateTemplate(const std::string& template_id,
                                const nlohmann::ordered_json& templ,
                                const TemplateChangeOptions& options);

  // Removes the template `template_id`. Unless options.force, refuses with
  // Error(kConflict), naming them, while the store has active machines or open
  // requests of it. Throws Error(kNotFound) for an unknown id.
  TemplateChange DeleteTemplate(const std::string& template_id,
                                const TemplateChangeOptions& options);

  // Requests matching `query`, newest first.
  std::vector<Request> ListRequests(const RequestQuery& query);

  // The request with this id. Throws Error(kNotFound).
  Request GetRequest(std::string_view request_id);

  // The machines of a request: launched by it (acquire) or given back by it (return).
  std::vector<Machine> MachinesOfRequest(const Request& request);

  // Machines matching `query`, newest first.
  std::vector<Machine> ListMachines(const MachineQuery& query);

  // The machine with this cloud id or host name. Throws Error(kNotFound).
  Machine GetMachine(std::string_view id_or_name);

  // The store, opened (and created or migrated) on first use.
  Store& store();

  // The default provider instance (the first configured), built on first use (no
  // network call until it is used).
  Provider& provider();

  // The provider instance `name` (a request's or machine's provider_name), built on
  // first use. Without a `providers:` list every name means the single instance (records
  // made under another provider.name stay usable). Throws Error(kInvalidConfig) naming
  // the configured instances when `name` is not one of them.
  Provider& provider(const std::string& name);

  // The name of the default provider instance (the first configured one).
  std::string DefaultProviderName() const;

  // Uses `provider` as the default instance instead of building it (tests).
  void SetProvider(std::unique_ptr<Provider> provider);

  // Uses `provider` as instance `name` instead of building it (tests).
  void SetProvider(const std::string& name, std::unique_ptr<Provider> provider);

  // The provider instances a request of `templ` tries, in order: its providerName, or
  // its providers ordered by providerSelection (round robin continues after the
  // instance of the template's latest request, across processes, through the store),
  // or the default instance. Instances that failed recently (see
  // RememberProviderFailure) come last. Throws Error(kInvalidConfig) for a name that is
  // not a configured instance.
  std::vector<std::string> ProviderOrder(const Template& templ);

  // The stable id of this installation (`broker.id`, else one generated once and
  // kept in <work_dir>/broker-id). Every instance orb launches carries it in the
  // tag orb:broker-id.
  std::string BrokerId();

  // --- HostFactory use cases -------------------------------------------------

  // Asks for `count` capacity units of `template_id`. Validates first (unknown
  // template -> kNotFound, count < 1 -> kInvalidInput, over the template's
  // maxNumber -> kInvalidInput), builds the exact launch call and stores it with
  // the request durably, then sends it. Returns the new request's id: also when
  // the cloud refused or could not be reached (the request then reports
  // complete_with_error, or is replayed with the same idempotency token by the
  // next status call). `message` receives a line for the caller.
  std::string RequestMachines(const std::string& template_id, int count, std::string* message);

  // Reports each request (acquire and return ids may be mixed), bringing open ones
  // up to date with one batched describe of all their machines; resumes launches a
  // crash interrupted; fails and terminates machines not usable within
  // request.instance_pending_timeout_sec and expires requests past their
  // deadline; re-sends terminations of returned machines still running. An
  // unknown id is reported complete_with_error. A cloud error leaves statuses as
  // they were (running) with the error in the report's message. With `acknowledge`
  // (a caller asking), an open request is marked as known to its caller (see
  // AcknowledgeRequest).
  std::vector<RequestReport> RequestStatuses(const std::vector<std::string>& request_ids,
                                             bool acknowledge = true);

  // Records that a caller was told `request_id`: doors call it once the answer that
  // names a new request is written. An acquire request that is never acknowledged
  // (its creating process died, or was killed by HostFactory's script timeout, before
  // answering) is abandoned by the reconciler after
  // reconcile.unacknowledged_grace_sec: nobody could ever return its machines. Logs
  // and never throws (a status call acknowledges it too).
  void AcknowledgeRequest(const std::string& request_id);

  // Gives machines back: records a return request naming them durably, then
  // terminates them in batches. Unknown or already-gone machines are accepted
  // (and reported as returned). A machine an earlier return request already names
  // stays in that request (a request's machine set never changes) and is named by
  // this one too, with its termination re-sent while it still runs (HostFactory asks
  // again when its first call timed out). Returns the return request's id.
  std::string ReturnMachines(const std::vector<MachineRef>& machines, std::string* message);

  // Hosts the cloud took or is taking back, among `machines` (or, when empty,
  // every active machine of this broker): gone, terminated, stopped, stopping or
  // shutting down, or warned of (a spot interruption notice, a rebalance
  // recommendation) with the seconds left. Records the notices waiting in the
  // providers' notice queues first.
  std::vector<ReturnCandidate> ReturnCandidates(const std::vector<MachineRef>& machines);

  // Cancels open acquire request `request_id`: no more machines are launched for it,
  // its groups are deleted, its machines terminated, and it ends complete_with_error
  // saying it was canceled (`by` names who asked, for the message). The request is
  // marked first, so a cancel that dies half-way is finished by the reconciler.
  // Returns the request as it ended. Throws Error(kNotFound) for an unknown id and
  // Error(kConflict) for a return request, one already ended, or one changed meanwhile.
  Request CancelRequest(const std::string& request_id, const std::string& by);

  // The machines of an acquire request that are not yet returned (for `orb
  // requests return --request-id`).
  std::vector<MachineRef> ReturnableMachinesOf(const std::string& request_id);

  // --- Providers ---------------------------------------------------------------

  // The configured provider instances, in configuration order.
  std::vector<ProviderInfo> ListProviders();

  // Checks provider instance `name`'s (default: the default instance's) credentials,
  // region and endpoints with cheap calls.
  ProviderHealth CheckProviderHealth(const std::string& name = "");

  // The names of the configured provider instances, in configuration order.
  std::vector<std::string> ProviderNames() const;

  // One reconciler pass. First, acquire requests never acknowledged (see
  // AcknowledgeRequest) and idle for reconcile.unacknowledged_grace_sec are
  // abandoned: a launch left unconfirmed is settled with its own token, groups are
  // deleted with their instances, machines terminated, and the request ends
  // complete_with_error saying why. Then, over every provider instance: each live instance tagged by
  // this broker that no stored machine records is left alone while its request is
  // still launching (its status calls record it), adopted when its request is open
  // and its launch settled, else terminated once older than
  // reconcile.orphan_grace_sec (an orphan: nobody would ever return it). With `dry_run`, reports what it would do
  // and changes nothing. Throws Error(kCloud) when a provider cannot be read.
  // With `refresh_open` false the open requests are left to their status calls.
  ReconcileReport Reconcile(bool dry_run, bool refresh_open = true);

  // Runs a Reconcile pass when the last one (by any process sharing the work dir) is
  // older than reconcile.interval_sec (0 = never), without refreshing open requests;
  // logs, never throws. HostFactory's getRequestStatus carries it, and `orb serve`
  // runs it on a timer.
  ReconcileOutcome ReconcileIfDue();

  // Cloud calls made by this broker so far (for the per-call log line).
  long long CloudCalls() const;

  // The configuration in use.
  const Config& config() const { return config_; }

 private:
  // Sends a stored launch plan (or adopts what an earlier attempt launched) and
  // records the outcome; used by RequestMachines and to resume after a crash.
  // With `instance_refusal`, a launch that the request's provider instance refused as
  // a whole before anything was launched (no capacity or quota in any pool, circuit
  // breaker open) is not recorded as the request's end: the reason goes there and the
  // request stays at intent, for the caller to re-plan on another instance.
  void Launch(Request& request, bool adopt_first, std::string* instance_refusal = nullptr);

  // Gives back everything of an acquire request nobody knows (see Reconcile),
  // adding what it did to `report`. Idempotent: a pass that dies half-way is finished
  // by the next.
  void AbandonRequest(Request request, ReconcileReport& report, bool dry_run);
  // Gives back every machine and group of acquire request `request` and ends it
  // complete_with_error with `why` (AbandonRequest, CancelRequest).
  void GiveBackRequest(Request request, const std::string& why);

  // Whether the request's stored launch call creates a group that keeps launching
  // (then its members cannot be adopted by tag alone).
  static bool LaunchCreatesGroup(const Request& request);

  // Remembers that provider instance `name` refused a launch (kind "capacity",
  // "quota" or "unavailable"), for request.failed_pool_ttl_sec, as pool
  // "provider:<name>": ProviderOrder puts it last meanwhile.
  void RememberProviderFailure(const std::string& name, const std::string& kind,
                               const std::string& reason);

  // Stores what one call of a multi-call launch made and the call that follows,
  // together, so that the next call is durable before it is sent.
  void RecordStep(Request& request, const LaunchResult& result, const LaunchPlan& next);

  // Remembers the pools a launch call found failing, for request.failed_pool_ttl_sec.
  void RememberFailedPools(const std::string& provider_name,
                           const std::vector<FailedPool>& failed);

  // Inserts the machines of `launched` not yet recorded as machines of `request`
  // (inside the caller's transaction).
  void InsertLaunched(Request& request, const std::vector<CloudMachine>& launched,
                      const std::string& cloud_host_id);

  // For a template whose launches are all-or-nothing: when the settled launch of
  // `request` got fewer units than asked, terminates what it got and fails it.
  void EnforceAllOrNothing(Request& request);

  // Records cloud machines as machines of `request`.
  void RecordLaunched(Request& request, const std::vector<CloudMachine>& launched,
                      bool settled, const std::string& cloud_host_id,
                      const std::string& message);

  // Reads the templates file under its lock, lets `edit` change the templates list,
  // validates and (unless validate_only) writes the result; see CreateTemplate.
  TemplateChange EditTemplates(TemplateChange change, const TemplateChangeOptions& options,
                               const std::function<void(nlohmann::ordered_json& list,
                                                        TemplateChange& change)>& edit);

  // Terminates machines, giving those of a cloud group back through the group (so
  // it does not replace them) and the others directly.
  TerminateOutcome TerminateMachines(const std::vector<Machine>& machines);

  // For the live cloud groups of completed requests among `active` machines (at most
  // every request.group_watch_sec per group): attaches the members a group launched
  // on its own (replacements) to the request that created it.
  void WatchGroups(const std::vector<Machine>& active);

  // Reads every provider instance's notice queue (at most a bounded number of
  // messages per call), records each notice on the active machine it names, and
  // then deletes the messages read. A queue that cannot be read only warns.
  void RecordQueuedNotices();

  // The instance-type facts the provider already holds, for the template loader (no
  // cloud call; a provider that cannot be built knows none).
  InstanceFactsSource CachedFacts();

  // Capacity units of `templ` in use or on order (for maxNumber).
  int UnitsInUse(const Template& templ);

  const Config& config_;
  std::unique_ptr<Store> store_;
  // Provider instances by (resolved) name, built on first use.
  std::map<std::string, std::unique_ptr<Provider>> providers_;
  std::string broker_id_;
};

}  // namespace orb
