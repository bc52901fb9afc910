#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.h"
#include "model/machine.h"
#include "model/request.h"
#include "model/template.h"
#include "store/store.h"

namespace orb {

// The outcome of checking the templates file.
struct TemplateCheck {
  std::string file;                   // the templates file checked ("" if none found)
  std::vector<Template> templates;    // the valid ones
  std::vector<std::string> problems;  // every problem, each naming file, template, field
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
  // up on the next call). Throws Error(kInvalidConfig) for a missing, corrupt or
  // invalid file, and for a file with no template (HostFactory may drop a
  // provider that offers none).
  std::vector<Template> ListTemplates() const;

  // The template with this id. Throws Error(kNotFound) naming the known ids.
  Template GetTemplate(std::string_view template_id) const;

  // Checks the templates file (or `file` when given) and reports every problem.
  TemplateCheck ValidateTemplates(const std::string& file = "") const;

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

  // The configuration in use.
  const Config& config() const { return config_; }

 private:
  const Config& config_;
  std::unique_ptr<Store> store_;
};

}  // namespace orb
