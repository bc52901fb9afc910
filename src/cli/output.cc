#include "cli/output.h"

#include <algorithm>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "common/strings.h"

namespace orb {

using json = nlohmann::ordered_json;

std::optional<OutputFormat> ParseOutputFormat(std::string_view name) {
  const std::string n = ToLower(name);
  if (n == "json") return OutputFormat::kJson;
  if (n == "yaml" || n == "yml") return OutputFormat::kYaml;
  if (n == "table") return OutputFormat::kTable;
  if (n == "list") return OutputFormat::kList;
  return std::nullopt;
}

std::string HostFactoryFieldName(std::string_view snake_name) {
  static const std::map<std::string, std::string, std::less<>> special = {
      {"launch_time", "launchtime"},
      {"private_ip", "privateIpAddress"},
      {"public_ip", "publicIpAddress"},
  };
  auto it = special.find(snake_name);
  if (it != special.end()) return it->second;
  return SnakeToCamel(snake_name);
}

namespace {

// The snake_case form of a field name the user typed in either case.
std::string CanonicalField(std::string_view name) {
  if (name == "launchtime") return "launch_time";
  if (name == "privateIpAddress") return "private_ip";
  if (name == "publicIpAddress") return "public_ip";
  return CamelToSnake(Trim(name));
}

// Renames the top-level keys of a record (and of objects in its arrays, e.g. a
// request's machines) to HostFactory names.
json ToHostFactoryNames(const json& record) {
  if (!record.is_object()) return record;
  json out = json::object();
  for (auto it = record.begin(); it != record.end(); ++it) {
    json value = it.value();
    if (value.is_array() && it.key() == "machines") {
      for (json& item : value) item = ToHostFactoryNames(item);
    }
    out[HostFactoryFieldName(it.key())] = std::move(value);
  }
  return out;
}

// Keeps only `fields` (snake_case) of a record, in that order.
json SelectFields(const json& record, const std::vector<std::string>& fields) {
  json out = json::object();
  for (const std::string& f : fields) {
    if (record.contains(f)) out[f] = record[f];
  }
  return out;
}

std::vector<std::string> CanonicalFields(const std::vector<std::string>& fields) {
  std::vector<std::string> out;
  for (const std::string& f : fields) {
    for (const std::string& piece : SplitTrimmed(f, ',')) out.push_back(CanonicalField(piece));
  }
  return out;
}

void CheckFieldsExist(const std::vector<json>& records, const std::vector<std::string>& fields) {
  if (records.empty()) return;
  for (const std::string& f : fields) {
    bool found = std::any_of(records.begin(), records.end(),
                             [&](const json& r) { return r.contains(f); });
    if (!found) {
      std::vector<std::string> known;
      for (auto it = records.front().begin(); it != records.front().end(); ++it) {
        known.push_back(it.key());
      }
      throw Error(ErrorCode::kInvalidInput,
                  "unknown field '" + f + "' in --fields (known: " + Join(known, ", ") + ")");
    }
  }
}

// A cell's text: scalars as themselves, HostFactory attributes as k=v, other
// objects as k=v pairs, arrays of scalars comma-joined, anything else as JSON.
std::string CellText(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return DumpJson(v);
  if (v.is_object()) {
    std::vector<std::string> parts;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const json& item = it.value();
      std::string text;
      if (item.is_array() && item.size() == 2 && item[1].is_string()) {
        text = item[1].get<std::string>();
      } else if (item.is_primitive()) {
        text = CellText(item);
      } else {
        text = DumpJson(item);
      }
      parts.push_back(it.key() + "=" + text);
    }
    return Join(parts, " ");
  }
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const json& item : v) {
      if (!item.is_primitive()) return DumpJson(v);
      parts.push_back(CellText(item));
    }
    return Join(parts, ",");
  }
  return DumpJson(v);
}

// Number of terminal columns `s` takes (UTF-8 code points; all assumed narrow).
std::size_t DisplayWidth(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Pad(const std::string& s, std::size_t width) {
  std::size_t w = DisplayWidth(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

std::string Repeat(std::string_view piece, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(piece);
  return out;
}

std::string RenderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, bool box) {
  std::vector<std::size_t> width(headers.size());
  for (std::size_t c = 0; c < headers.size(); ++c) width[c] = DisplayWidth(headers[c]);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], DisplayWidth(row[c]));
  }
  std::string out;
  if (!box) {
    auto line = [&](const std::vector<std::string>& cells) {
      std::string l;
      for (std::size_t c = 0; c < cells.size(); ++c) {
        l += c + 1 == cells.size() ? cells[c] : Pad(cells[c], width[c]) + "  ";
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    };
    std::vector<std::string> upper;
    for (const std::string& h : headers) upper.push_back(h);
    line(upper);
    for (const auto& row : rows) line(row);
    return out;
  }
  auto rule = [&](std::string_view left, std::string_view mid, std::string_view right) {
    out += left;
    for (std::size_t c = 0; c < width.size(); ++c) {
      out += Repeat("─", width[c] + 2);
      out += c + 1 == width.size() ? right : mid;
    }
    out += "\n";
  };
  auto line = [&](const std::vector<std::string>& cells) {
    out += "│";
    for (std::size_t c = 0; c < cells.size(); ++c) out += " " + Pad(cells[c], width[c]) + " │";
    out += "\n";
  };
  rule("┌", "┬", "┐");
  line(headers);
  rule("├", "┼", "┤");
  for (const auto& row : rows) line(row);
  rule("└", "┴", "┘");
  return out;
}

void EmitYaml(YAML::Emitter& e, const json& v) {
  if (v.is_object()) {
    e << YAML::BeginMap;
    for (auto it = v.begin(); it != v.end(); ++it) {
      e << YAML::Key << it.key() << YAML::Value;
      EmitYaml(e, it.value());
    }
    e << YAML::EndMap;
  } else if (v.is_array()) {
    e << YAML::BeginSeq;
    for (const json& item : v) EmitYaml(e, item);
    e << YAML::EndSeq;
  } else if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    // Quote strings that YAML would otherwise read back as another type.
    bool quote = s.empty() || s == "true" || s == "false" || s == "null" || s == "~" ||
                 s.find_first_not_of("0123456789.-+eE") == std::string::npos;
    if (quote) {
      e << YAML::DoubleQuoted << s;
    } else {
      e << s;
    }
  } else if (v.is_boolean()) {
    e << v.get<bool>();
  } else if (v.is_null()) {
    e << YAML::Null;
  } else {
    e << DumpJson(v);
  }
}

std::string Finish(std::string s) {
  if (s.empty() || s.back() != '\n') s.push_back('\n');
  return s;
}

}  // namespace

std::string ToYaml(const json& doc) {
  YAML::Emitter e;
  EmitYaml(e, doc);
  return Finish(e.c_str());
}

std::string FormatRecords(const std::vector<json>& records, std::string_view collection,
                          const std::vector<std::string>& short_fields,
                          const OutputOptions& options) {
  std::vector<std::string> fields = CanonicalFields(options.fields);
  CheckFieldsExist(records, fields);
  const bool structured =
      options.format == OutputFormat::kJson || options.format == OutputFormat::kYaml;
  if (fields.empty() && !structured && !options.long_form) fields = short_fields;

  std::vector<json> shown;
  shown.reserve(records.size());
  for (const json& r : records) {
    json s = fields.empty() ? r : SelectFields(r, fields);
    shown.push_back(options.hostfactory_names ? ToHostFactoryNames(s) : std::move(s));
  }

  if (structured) {
    json doc = json::object();
    doc[std::string(collection)] = shown;
    return options.format == OutputFormat::kJson ? DumpJson(doc, 2) + "\n" : ToYaml(doc);
  }

  // Columns: the selected fields, or the union of keys in first-seen order.
  std::vector<std::string> columns;
  std::set<std::string> seen;
  for (const json& r : shown) {
    for (auto it = r.begin(); it != r.end(); ++it) {
      if (seen.insert(it.key()).second) columns.push_back(it.key());
    }
  }
  if (options.format == OutputFormat::kList) {
    std::string out;
    for (std::size_t i = 0; i < shown.size(); ++i) {
      if (i) out += "\n";
      std::size_t w = 0;
      for (const std::string& c : columns) w = std::max(w, c.size());
      for (const std::string& c : columns) {
        out += Pad(c + ":", w + 1) + " " + CellText(shown[i].contains(c) ? shown[i][c] : json())
               + "\n";
      }
    }
    return out;
  }
  std::vector<std::string> headers;
  for (const std::string& c : columns) {
    headers.push_back(options.hostfactory_names ? c : ToUpperSnake(c));
  }
  std::vector<std::vector<std::string>> rows;
  for (const json& r : shown) {
    std::vector<std::string> row;
    for (const std::string& c : columns) row.push_back(CellText(r.contains(c) ? r[c] : json()));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return options.terminal ? "(no " + std::string(collection) + ")\n" : "";
  return RenderTable(headers, rows, options.terminal);
}

std::string FormatRecord(const json& record, const OutputOptions& options) {
  std::vector<std::string> fields = CanonicalFields(options.fields);
  CheckFieldsExist({record}, fields);
  json shown = fields.empty() ? record : SelectFields(record, fields);
  if (options.hostfactory_names) shown = ToHostFactoryNames(shown);
  switch (options.format) {
    case OutputFormat::kJson: return DumpJson(shown, 2) + "\n";
    case OutputFormat::kYaml: return ToYaml(shown);
    case OutputFormat::kTable:
    case OutputFormat::kList: {
      std::size_t w = 0;
      for (auto it = shown.begin(); it != shown.end(); ++it) w = std::max(w, it.key().size());
      std::string out;
      for (auto it = shown.begin(); it != shown.end(); ++it) {
        out += Pad(it.key() + ":", w + 1) + " " + CellText(it.value()) + "\n";
      }
      return out;
    }
  }
  return DumpJson(shown, 2) + "\n";
}

std::string FormatError(std::string_view code, std::string_view message,
                        const OutputOptions& options) {
  if (options.format == OutputFormat::kJson) {
    json doc = json::object();
    doc["error"] = std::string(code);
    doc["message"] = std::string(message);
    return DumpJson(doc) + "\n";
  }
  return "error: " + std::string(message) + "\n";
}

}  // namespace orb
