#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/instance_types.h"
#include "model/template.h"

namespace orb {

// Finds the templates file of a provider instance in `conf_dir`. Tries, in order:
// `<provider_name>prov_templates.json` (when `provider_name` is non-empty),
// `awsprov_templates.json`, `templates.json`, `templates.yaml`, `templates.yml`, then the
// alphabetically first `*_templates.json`. Returns the first that exists as a file, or ""
// when none does. Every path tried (the last entry being the `*_templates.json` pattern
// when it got that far) is appended to `looked_at` when it is non-null, so a caller can
// tell the user where it looked.
std::string FindTemplatesFile(const std::string& conf_dir, const std::string& provider_name,
                              std::vector<std::string>* looked_at);

// Where the loader gets live instance-type facts: given the types of one template whose
// attributes must be derived, returns the facts it knows of them (any subset; the rest
// come from the built-in table). It must be quick and must not call the cloud (see
// Provider::KnownInstanceTypes). Null = the built-in table alone.
using InstanceFactsSource =
    std::function<InstanceFactsMap(const std::vector<std::string>& types)>;

// Reads a templates file: JSON, or YAML when the name ends in .yaml/.yml. Accepts
// `{"templates": [...]}` or a bare top-level array, with IBM camelCase or Python ORB
// snake_case keys. Returns every template, in file order, with missing type/ncpus/
// ncores/nram attributes derived from the instance types (DeriveAttributes with the
// facts of `facts`, else the built-in table).
// Throws Error(kInvalidConfig) naming the file for a missing, unreadable, empty or
// syntactically wrong file (with line:column), a wrong top-level shape, no templates,
// and for the first invalid template (naming the template and the field).
std::vector<Template> LoadTemplatesFile(const std::string& path,
                                        const InstanceFactsSource& facts = nullptr);

// Same checks as LoadTemplatesFile, but never throws for a problem in the file: returns
// every problem found, each as "<file>: template '<id>' field '<key>': <what is wrong>"
// (or "<file>: <what is wrong>" for the file as a whole). An empty result means the file
// is valid. `out`, when non-null, receives the templates that had no problem.
std::vector<std::string> ValidateTemplatesFile(const std::string& path, std::vector<Template>* out,
                                               const InstanceFactsSource& facts = nullptr);

// Parses a templates document already read from `source` (used in messages and stored
// as Template::source_file). With `problems` null, throws Error(kInvalidConfig) for the
// first problem; otherwise appends every problem to it and returns only the templates
// that had none. Missing attributes are derived as LoadTemplatesFile does.
std::vector<Template> ParseTemplates(const nlohmann::ordered_json& doc, const std::string& source,
                                     std::vector<std::string>* problems,
                                     const InstanceFactsSource& facts = nullptr);

// Things in a valid template that are legal but likely not what the operator meant, each
// as "<file>: template '<id>' field '<key>': <why>" (e.g. a fleetType on RunInstances,
// which ignores it). Empty when there is nothing to say.
std::vector<std::string> TemplateWarnings(const Template& t);

// A snake_case record of `t` for output: template_id, max_number, attributes in HostFactory
// form (`{"ncpus": ["Numeric", "2"], ...}`, derived ones included), then every other key of
// `t.raw` in file order with its key converted to snake_case and its value unchanged.
nlohmann::ordered_json TemplateRecord(const Template& t);

}  // namespace orb
