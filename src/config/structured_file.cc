#include "config/structured_file.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "common/strings.h"

namespace orb {

namespace {

using json = nlohmann::ordered_json;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Converts a byte offset into "line L, column C" (both 1-based).
std::string LineColumn(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// The text of a scalar; a YAML error at the node when it is not valid UTF-8 (what orb
// reads from a file ends up in JSON output, which must be UTF-8).
const std::string& Utf8Scalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (InvalidUtf8Offset(s) != std::string_view::npos) {
    throw YAML::ParserException(node.Mark(),
                                "text that is not valid UTF-8 (save the file as UTF-8)");
  }
  return s;
}

json ScalarFromYaml(const YAML::Node& node) {
  const std::string& s = Utf8Scalar(node);
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  // A number written with a leading zero ("007", a tag value or an id) stays a
  // string: reading it as 7 would silently change what the operator wrote.
  std::size_t digits_from = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (s.size() > digits_from + 1 && s[digits_from] == '0' &&
      std::isdigit(static_cast<unsigned char>(s[digits_from + 1]))) {
    return s;
  }
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(s.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0' && !s.empty()) return n;
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (errno == 0 && end && *end == '\0' && s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_not_of("0123456789.eE+-") == std::string::npos) {
    return d;
  }
  return s;
}

// Limits on a document read from YAML or JSON. Aliases may make a YAML node contain
// itself (endless) or expand a small file exponentially ("billion laughs"); nesting
// this deep is no configuration anyone writes, and would exhaust the stack.
constexpr int kMaxDepth = 256;
constexpr long kMaxYamlNodes = 1000000;  // after aliases are expanded

// Converts `node`; `budget` counts down the nodes converted.
json FromYaml(const YAML::Node& node, int depth, long& budget) {
  if (depth > kMaxDepth) {
    throw YAML::ParserException(node.Mark(), "nested more than " + std::to_string(kMaxDepth) +
                                                 " levels deep (an alias that contains itself?)");
  }
  if (--budget < 0) {
    throw YAML::ParserException(node.Mark(), "more than " + std::to_string(kMaxYamlNodes) +
                                                 " values once its aliases are expanded");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ScalarFromYaml(node);
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(FromYaml(item, depth + 1, budget));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        const std::string key = kv.first.as<std::string>();
        if (kv.first.IsScalar()) Utf8Scalar(kv.first);
        obj[key] = FromYaml(kv.second, depth + 1, budget);
      }
      return obj;
    }
  }
  return nullptr;
}

}  // namespace

json ParseStructuredText(std::string_view text, const std::string& path) {
  if (Trim(text).empty()) return nullptr;
  bool yaml = EndsWith(path, ".yaml") || EndsWith(path, ".yml");
  if (!yaml && !EndsWith(path, ".json")) {
    char first = Trim(text).front();
    yaml = first != '{' && first != '[';
  }
  if (yaml) {
    try {
      long budget = kMaxYamlNodes;
      return FromYaml(YAML::Load(std::string(text)), 0, budget);
    } catch (const YAML::Exception& e) {
      throw Error(ErrorCode::kInvalidConfig,
                  path + ": YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                      ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
  }
  try {
    return json::parse(text, [&path](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth) {
        throw Error(ErrorCode::kInvalidConfig,
                    path + ": nested more than " + std::to_string(kMaxDepth) + " levels deep");
      }
      return true;
    });
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2:
    // syntax error while parsing value - ..."; keep the part after the last ": ".
    std::size_t cut = what.find("syntax error");
    std::string detail = cut == std::string::npos ? what : what.substr(cut);
    // nlohmann quotes what it read last ("; last read: '\"wJalr...'"): in a config
    // file with an unterminated string that is the value itself, perhaps a secret.
    // The line and column say where the problem is; the text is left out.
    if (std::size_t read = detail.find("; last read: "); read != std::string::npos) {
      const std::size_t expected = detail.rfind("'; expected ");
      detail.erase(read, expected == std::string::npos || expected < read
                             ? std::string::npos
                             : expected + 1 - read);
    }
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    throw Error(ErrorCode::kInvalidConfig,
                path + ": JSON syntax error at " + LineColumn(text, offset) + ": " + detail);
  } catch (const json::out_of_range& e) {
    // A number beyond a double ("1e400"): nlohmann reports it as out_of_range 406.
    std::string what = e.what();
    std::size_t cut = what.find("] ");
    throw Error(ErrorCode::kInvalidConfig,
                path + ": JSON " + (cut == std::string::npos ? what : what.substr(cut + 2)));
  }
}

json ReadStructuredFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorCode::kInvalidConfig, path + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT) throw Error(ErrorCode::kInvalidConfig, path + ": file does not exist");
    throw Error(ErrorCode::kInvalidConfig,
                path + ": cannot read file: " + std::strerror(err));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    throw Error(ErrorCode::kInvalidConfig, path + ": cannot read file (is it a directory?)");
  }
  return ParseStructuredText(buf.str(), path);
}

}  // namespace orb
