// Fuzz target template_file: a templates file (IBM camelCase or Python ORB
// snake_case keys; JSON, or YAML), as LoadTemplatesFile / ValidateTemplatesFile /
// the templates editing commands read it.
//
// Feeds the bytes to ParseStructuredText twice: named "awsprov_templates" (JSON when
// it starts with '{' or '[', else YAML, as for a file of neither extension) and
// named "templates.yaml" (always YAML), then to ParseTemplates. Checks: only
// Error(kInvalidConfig) leaves the reader; ParseTemplates collecting problems never
// throws, and the throwing form throws exactly when a problem was collected, with
// the first problem as its message, else returns the same templates; every
// accepted template has a valid id and the derived type/ncpus/nram attributes; the
// answers getAvailableTemplates and 'templates list --format json' print serialise;
// the document as 'templates create/update' writes it back (dump(2)) reads back
// equal and gives the same templates and problems.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/structured_file.h"
#include "config/template_loader.h"
#include "fuzz_common.h"
#include "hostfactory/hf_wire.h"
#include "model/template.h"

namespace {

using Json = nlohmann::ordered_json;
using orb::fuzz::ErrorOf;
using orb::fuzz::OnlyOrbErrors;

bool SameTemplate(const orb::Template& a, const orb::Template& b) {
  if (a.template_id != b.template_id || a.max_number != b.max_number ||
      a.provider_api != b.provider_api || a.price_type != b.price_type ||
      a.fleet_type != b.fleet_type || a.vm_types != b.vm_types || a.raw != b.raw ||
      a.instance_tags != b.instance_tags || a.attributes.size() != b.attributes.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.attributes.size(); ++i) {
    const orb::Attribute &x = a.attributes[i], &y = b.attributes[i];
    if (x.name != y.name || x.type != y.type || x.value != y.value) return false;
  }
  return true;
}

bool SameTemplates(const std::vector<orb::Template>& a, const std::vector<orb::Template>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!SameTemplate(a[i], b[i])) return false;
  }
  return true;
}

std::string Dump(const Json& doc, int indent, const char* what) {
  try {
    return doc.dump(indent);
  } catch (const std::exception& e) {
    orb::fuzz::Fail(std::string(what) + " does not serialise", e.what());
  }
}

// ParseTemplates both ways; returns the templates and fills `problems`.
std::vector<orb::Template> Templates(const Json& doc, const std::string& source,
                                     std::vector<std::string>* problems) {
  std::vector<orb::Template> collected;
  std::exception_ptr error = OnlyOrbErrors(
      "ParseTemplates(problems)", [&] { collected = orb::ParseTemplates(doc, source, problems); });
  ORB_FUZZ_CHECK(!error,
                 std::string("ParseTemplates with a problem list threw: ") + ErrorOf(error).what());
  std::vector<orb::Template> strict;
  error =
      OnlyOrbErrors("ParseTemplates", [&] { strict = orb::ParseTemplates(doc, source, nullptr); });
  ORB_FUZZ_CHECK(problems->empty() == !error, "ParseTemplates disagrees with its problem list");
  if (error) {
    ORB_FUZZ_CHECK(ErrorOf(error).code() == orb::ErrorCode::kInvalidConfig, ErrorOf(error).what());
    // what() is a C string: a value holding NUL ("\u0000" in JSON) ends it early.
    ORB_FUZZ_CHECK(std::string(ErrorOf(error).what()) == problems->front().c_str(),
                   std::string(ErrorOf(error).what()) + " vs " + problems->front());
  } else {
    ORB_FUZZ_CHECK(SameTemplates(strict, collected), "the two forms returned different templates");
  }
  return collected;
}

void CheckFile(const std::string& text, const std::string& name) {
  Json doc;
  std::exception_ptr error =
      OnlyOrbErrors("ParseStructuredText", [&] { doc = orb::ParseStructuredText(text, name); });
  if (error) {
    ORB_FUZZ_CHECK(ErrorOf(error).code() == orb::ErrorCode::kInvalidConfig, ErrorOf(error).what());
    return;
  }
  if (doc.is_null()) return;  // an empty file: refused before ParseTemplates

  std::vector<std::string> problems;
  const std::vector<orb::Template> templates = Templates(doc, name, &problems);
  for (const orb::Template& t : templates) {
    ORB_FUZZ_CHECK(orb::IsValidTemplateId(t.template_id), t.template_id);
    for (const char* a : {"type", "ncpus", "nram"}) {
      ORB_FUZZ_CHECK(t.FindAttribute(a) != nullptr, t.template_id + " has no " + a);
    }
    orb::TemplateWarnings(t);
    Dump(orb::TemplateRecord(t), -1, "a template record ('templates list --format json')");
  }
  const std::string hf =
      Dump(orb::FormatHfTemplates(templates), -1, "getAvailableTemplates' answer");
  ORB_FUZZ_CHECK(!Json::parse(hf, nullptr, false).is_discarded(), hf);

  // What 'orb templates create/update' writes back, read again.
  const std::string written = Dump(doc, 2, "the templates document");
  Json again;
  error = OnlyOrbErrors("ParseStructuredText(written back)",
                        [&] { again = orb::ParseStructuredText(written, "written.json"); });
  ORB_FUZZ_CHECK(
      !error, std::string("a written-back templates file does not read: ") + ErrorOf(error).what());
  ORB_FUZZ_CHECK(again == doc, written);
  std::vector<std::string> problems_again;
  const std::vector<orb::Template> templates_again = Templates(again, name, &problems_again);
  ORB_FUZZ_CHECK(problems_again == problems, written);
  ORB_FUZZ_CHECK(SameTemplates(templates_again, templates), written);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  orb::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  CheckFile(text, "awsprov_templates");
  CheckFile(text, "templates.yaml");
  return 0;
}
