#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace orb {

// `v` as JSON text (`indent` < 0: on one line). Bytes that are not UTF-8 (a cloud
// answer or a message may carry some) become U+FFFD instead of failing the command:
// what orb prints is always valid JSON.
template <class Json>
std::string DumpJson(const Json& v, int indent = -1) {
  return v.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// How the CLI prints records.
enum class OutputFormat { kJson, kYaml, kTable, kList };

// Parses "json", "yaml", "table" or "list"; nullopt otherwise.
std::optional<OutputFormat> ParseOutputFormat(std::string_view name);

// What the user asked for with --format, --hf, --long and --fields.
struct OutputOptions {
  OutputFormat format = OutputFormat::kTable;
  bool hostfactory_names = false;   // --hf: HostFactory camelCase field names
  bool long_form = false;           // --long: every field in table/list output
  std::vector<std::string> fields;  // --fields: exactly these, in this order
  bool terminal = false;            // stdout is a terminal: box drawing in tables
};

// The HostFactory (camelCase) name of a snake_case field: "template_id" ->
// "templateId", "private_ip" -> "privateIpAddress", "launch_time" -> "launchtime".
std::string HostFactoryFieldName(std::string_view snake_name);

// Formats a list of snake_case records named `collection` ("templates", ...).
// `short_fields` are the columns a table or list shows without --long or
// --fields; JSON and YAML show every field unless --fields is given. JSON and
// YAML wrap the records as {"<collection>": [...]}. Throws Error(kInvalidInput)
// for a --fields name that no record has.
std::string FormatRecords(const std::vector<nlohmann::ordered_json>& records,
                          std::string_view collection,
                          const std::vector<std::string>& short_fields,
                          const OutputOptions& options);

// Formats one record (a `show` command): every field unless --fields is given.
std::string FormatRecord(const nlohmann::ordered_json& record, const OutputOptions& options);

// Formats an error: one JSON object {"error": code, "message": text} for JSON
// output, "error: text" otherwise. Always ends with a newline.
std::string FormatError(std::string_view code, std::string_view message,
                        const OutputOptions& options);

// Renders `doc` as YAML text.
std::string ToYaml(const nlohmann::ordered_json& doc);

}  // namespace orb
