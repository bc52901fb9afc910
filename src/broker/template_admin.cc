// Broker use cases that edit the templates file: create, update, delete.

#include <fstream>
#include <sstream>

#include "broker/broker.h"
#include "common/error.h"
#include "common/strings.h"
#include "config/structured_file.h"
#include "config/template_loader.h"
#include "config/templates_file_writer.h"

namespace orb {

namespace {

using Json = nlohmann::ordered_json;

// The id a template object names ("" when none).
std::string IdOf(const Json& t) {
  for (const char* key : {"templateId", "template_id"}) {
    auto it = t.find(key);
    if (it != t.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

// The position of `id` in `list`, or -1.
long IndexOf(const Json& list, const std::string& id) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].is_object() && IdOf(list[i]) == id) return static_cast<long>(i);
  }
  return -1;
}

std::vector<std::string> KnownIds(const Json& list) {
  std::vector<std::string> ids;
  for (const Json& t : list) {
    if (t.is_object() && !IdOf(t).empty()) ids.push_back(IdOf(t));
  }
  return ids;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kInvalidConfig, path + ": cannot read the templates file");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// True for a file ReadStructuredFile reads as YAML.
bool IsYaml(const std::string& path, const std::string& text) {
  const std::string lower = ToLower(path);
  if (EndsWith(lower, ".yaml") || EndsWith(lower, ".yml")) return true;
  const std::string_view body = Trim(text);
  return !body.empty() && body.front() != '{' && body.front() != '[';
}

// The templates array of a templates document.
Json& TemplatesList(Json& doc, const std::string& file) {
  if (doc.is_array()) return doc;
  if (doc.is_object()) {
    auto it = doc.find("templates");
    if (it != doc.end() && it->is_array()) return *it;
  }
  throw Error(ErrorCode::kInvalidConfig,
              file + ": must hold {\"templates\": [...]} to be edited; fix it first (see 'orb "
                     "templates validate')");
}

std::string Listed(const std::vector<std::string>& names) {
  const std::size_t kShown = 10;
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + std::min(names.size(), kShown));
  std::string s = Join(shown, ", ");
  if (names.size() > kShown) s += " and " + std::to_string(names.size() - kShown) + " more";
  return s;
}

}  // namespace

Json OneTemplateOf(Json doc, const std::string& where) {
  if (doc.is_object() && doc.contains("templates")) {
    const Json& list = doc["templates"];
    if (!list.is_array() || list.size() != 1) {
      throw Error(ErrorCode::kInvalidInput,
                  where + ": must hold one template object (or {\"templates\": [one]}), got " +
                      std::to_string(list.is_array() ? list.size() : 0) + " templates");
    }
    doc = list[0];
  }
  if (!doc.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                where + ": must hold one template object, e.g. {\"templateId\": \"My-Template\", "
                        "\"maxNumber\": 10, ...}");
  }
  return doc;
}

Json ReadTemplateInput(const std::string& path) {
  Json doc;
  try {
    doc = ReadStructuredFile(path);
  } catch (const Error& e) {
    throw Error(ErrorCode::kInvalidInput, e.what());
  }
  return OneTemplateOf(std::move(doc), path);
}

TemplateChange Broker::EditTemplates(
    TemplateChange change, const TemplateChangeOptions& options,
    const std::function<void(Json& list, TemplateChange& change)>& edit) {
  change.file = TemplatesFile();
  TemplatesFileLock lock(change.file);
  const std::string text = ReadText(change.file);
  if (IsYaml(change.file, text)) {
    throw Error(ErrorCode::kInvalidInput,
                change.file + " is a YAML templates file: 'orb templates " + change.action +
                    "' rewrites JSON templates files only (it would lose the YAML's comments); "
                    "edit the file by hand and check it with 'orb templates validate'");
  }
  Json doc = ParseStructuredText(text, change.file);
  edit(TemplatesList(doc, change.file), change);

  std::vector<std::string> problems;
  std::vector<Template> templates = ParseTemplates(doc, change.file, &problems, CachedFacts());
  if (!problems.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                "refused to " + change.action + " template '" + change.template_id +
                    "': the templates file would have " + std::to_string(problems.size()) +
                    " problem(s); " + change.file + " is unchanged:\n  " +
                    Join(problems, "\n  "));
  }
  for (const Template& t : templates) {
    if (t.template_id == change.template_id) change.warnings = TemplateWarnings(t);
  }
  if (options.validate_only) return change;
  ReplaceFileAtomically(change.file, doc.dump(2) + "\n");
  change.written = true;
  return change;
}

TemplateChange Broker::CreateTemplate(const Json& templ, const TemplateChangeOptions& options) {
  TemplateChange change;
  change.action = "create";
  change.template_id = IdOf(templ);
  return EditTemplates(change, options, [&](Json& list, TemplateChange& c) {
    const long at = c.template_id.empty() ? -1 : IndexOf(list, c.template_id);
    if (at < 0) {
      list.push_back(templ);
      return;
    }
    if (!options.force) {
      throw Error(ErrorCode::kConflict,
                  "template '" + c.template_id + "' already exists in " + c.file +
                      "; update it instead, or force the creation to replace it ('orb "
                      "templates create --force', or ?force=true over REST)");
    }
    list[static_cast<std::size_t>(at)] = templ;
    c.replaced_existing = true;
  });
}

TemplateChange Broker::UpdateTemplate(const std::string& template_id, const Json& templ,
                                      const TemplateChangeOptions& options) {
  const std::string given = IdOf(templ);
  if (!given.empty() && given != template_id) {
    throw Error(ErrorCode::kInvalidInput,
                "the template given names '" + given + "', not '" + template_id +
                    "': a template cannot be renamed by update (create the new id, then delete "
                    "the old one)");
  }
  TemplateChange change;
  change.action = "update";
  change.template_id = template_id;
  return EditTemplates(change, options, [&](Json& list, TemplateChange& c) {
    const long at = IndexOf(list, template_id);
    if (at < 0) {
      throw Error(ErrorCode::kNotFound, "unknown template '" + template_id + "' in " + c.file +
                                            " (known: " + Join(KnownIds(list), ", ") + ")");
    }
    Json& old = list[static_cast<std::size_t>(at)];
    if (!given.empty()) {
      old = templ;
      return;
    }
    // No id in the new text: keep the old one, spelled as the old template spelled it.
    Json updated = Json::object();
    updated[old.contains("templateId") ? "templateId" : "template_id"] = template_id;
    for (auto it = templ.begin(); it != templ.end(); ++it) updated[it.key()] = it.value();
    old = std::move(updated);
  });
}

TemplateChange Broker::DeleteTemplate(const std::string& template_id,
                                      const TemplateChangeOptions& options) {
  TemplateChange change;
  change.action = "delete";
  change.template_id = template_id;
  return EditTemplates(change, options, [&](Json& list, TemplateChange& c) {
    const long at = IndexOf(list, template_id);
    if (at < 0) {
      throw Error(ErrorCode::kNotFound, "unknown template '" + template_id + "' in " + c.file +
                                            " (known: " + Join(KnownIds(list), ", ") + ")");
    }
    if (!options.force) {
      MachineQuery mq;
      mq.template_id = template_id;
      mq.active_only = true;
      std::vector<std::string> machines;
      for (const Machine& m : store().ListMachines(mq)) machines.push_back(m.machine_id);
      RequestQuery rq;
      rq.template_id = template_id;
      rq.open_only = true;
      std::vector<std::string> requests;
      for (const Request& r : store().ListRequests(rq)) requests.push_back(r.request_id);
      if (!machines.empty() || !requests.empty()) {
        std::string what;
        if (!machines.empty()) {
          what += std::to_string(machines.size()) + " active machine(s) (" + Listed(machines) +
                  ")";
        }
        if (!requests.empty()) {
          if (!what.empty()) what += " and ";
          what += std::to_string(requests.size()) + " open request(s) (" + Listed(requests) +
                  ")";
        }
        throw Error(ErrorCode::kConflict,
                    "template '" + template_id + "' is in use: " + what +
                        "; return its machines first, or force the deletion ('orb templates "
                        "delete --force', or ?force=true over REST)");
      }
    }
    list.erase(static_cast<std::size_t>(at));
  });
}

}  // namespace orb
