#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace orb {

// Reads a JSON or YAML file into JSON (YAML when the name ends in .yaml/.yml,
// JSON otherwise; a file of neither extension whose first character is not '{'
// or '[' is read as YAML). YAML plain scalars become booleans, integers, floats
// or null where they look like one; quoted scalars stay strings. Returns null for
// a file holding only white space. Throws Error(kInvalidConfig) naming the path
// for a missing or unreadable file, and naming the line and column of a syntax
// error.
nlohmann::ordered_json ReadStructuredFile(const std::string& path);

// Parses `text` as above; `path` names it in messages and picks the syntax.
nlohmann::ordered_json ParseStructuredText(std::string_view text, const std::string& path);

}  // namespace orb
