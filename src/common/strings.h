#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace orb {

// Returns `s` without leading and trailing ASCII white space.
std::string_view Trim(std::string_view s);

// Splits `s` at every `sep`, trims each piece and drops empty pieces.
std::vector<std::string> SplitTrimmed(std::string_view s, char sep);

// Returns `s` in ASCII lower case.
std::string ToLower(std::string_view s);

// Returns `s` with '-', '_' and ' ' removed and ASCII lower-cased, so that
// "capacity-optimized", "capacityOptimized" and "CAPACITY_OPTIMIZED" compare equal.
std::string FoldName(std::string_view s);

// Converts a snake_case name to lowerCamelCase ("max_number" -> "maxNumber").
std::string SnakeToCamel(std::string_view s);

// Converts a lowerCamelCase name to snake_case ("maxNumber" -> "max_number").
std::string CamelToSnake(std::string_view s);

// Returns `s` in ASCII upper case with the rest unchanged ("max_number" -> "MAX_NUMBER").
std::string ToUpperSnake(std::string_view s);

// The offset of the first byte of `s` that is not part of a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
// std::string_view::npos when all of `s` is valid UTF-8.
std::size_t InvalidUtf8Offset(std::string_view s);

// Joins `parts` with `sep` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace orb
