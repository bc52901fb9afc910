#pragma once

// Small helpers for reading AWS Query-protocol XML answers with pugixml and for
// following their pages, shared by the EC2, Auto Scaling and STS clients.
// Header-only. EC2 lists are <item> elements; Auto Scaling and STS lists are
// <member> elements.

#include <charconv>
#include <cstdint>
#include <functional>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/clock.h"
#include "provider/aws/aws_client.h"
#include "provider/aws/aws_error.h"

namespace orb::aws_xml {

// The text of `node` ("" for a missing node).
inline std::string Text(pugi::xml_node node) { return node.child_value(); }

// The text of the first child element of `node` called `name` ("" when absent).
inline std::string Text(pugi::xml_node node, const char* name) {
  return node.child(name).child_value();
}

// The text at a '/'-separated path below `node`, e.g. "instanceState/name".
inline std::string PathText(pugi::xml_node node, const char* path) {
  return node.first_element_by_path(path).child_value();
}

// The child `name` as an integer; `fallback` when absent or not a number.
inline long long Int(pugi::xml_node node, const char* name, long long fallback = 0) {
  const char* s = node.child(name).child_value();
  const char* end = s + std::char_traits<char>::length(s);
  long long value = 0;
  auto [ptr, ec] = std::from_chars(s, end, value);
  if (ec != std::errc() || ptr == s) return fallback;
  return value;
}

// The child `name` as a floating-point number; `fallback` when absent or not a number.
inline double Double(pugi::xml_node node, const char* name, double fallback = 0) {
  const char* s = node.child(name).child_value();
  const char* end = s + std::char_traits<char>::length(s);
  double value = 0;
  auto [ptr, ec] = std::from_chars(s, end, value);
  if (ec != std::errc() || ptr == s) return fallback;
  return value;
}

// The child `name` as a boolean ("true"/"false"); `fallback` when absent.
inline bool Bool(pugi::xml_node node, const char* name, bool fallback = false) {
  std::string_view s = node.child(name).child_value();
  if (s == "true") return true;
  if (s == "false") return false;
  return fallback;
}

// Parses an ISO 8601 UTC timestamp as AWS writes them: "2024-05-01T12:34:56Z",
// "2024-05-01T12:34:56.000Z", "2024-05-01T12:34:56+00:00" or "...+0000".
// Returns nullopt when `s` is not such a timestamp.
inline std::optional<EpochSeconds> ParseIso8601(std::string_view s) {
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!digits(0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(5, 2, month) || s[7] != '-' ||
      !digits(8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(11, 2, hour) || s[13] != ':' || !digits(14, 2, minute) || s[16] != ':' ||
      !digits(17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  int offset_seconds = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      const int sign = s[pos] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!digits(pos + 1, 2, oh)) return std::nullopt;
      std::size_t mpos = pos + 3;
      if (mpos < s.size() && s[mpos] == ':') ++mpos;
      if (!digits(mpos, 2, om)) return std::nullopt;
      offset_seconds = sign * (oh * 3600 + om * 60);
      pos = mpos + 2;
    }
  }
  if (pos != s.size()) return std::nullopt;
  // Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int mp = (month + 9) % 12;
  const int doy = (153 * mp + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
}

// The child `name` as an ISO 8601 timestamp in epoch seconds; 0 when absent or
// not a timestamp.
inline EpochSeconds Time(pugi::xml_node node, const char* name) {
  return ParseIso8601(node.child(name).child_value()).value_or(0);
}

// Calls `fn(element)` for every child element of `list` called `item_name`
// ("item" for EC2, "member" for Auto Scaling and STS).
template <class Fn>
void ForEach(pugi::xml_node list, const char* item_name, Fn&& fn) {
  for (pugi::xml_node item = list.child(item_name); item; item = item.next_sibling(item_name)) {
    fn(item);
  }
}

// Calls `action` with `params`, then again with NextToken=<token> for as long as
// the answer carries a token, handing each page to `page`. The page is the root
// element, or its child `result_element` when given (Auto Scaling and STS wrap
// answers in <ActionResult>); the token is read from its child `token_element`
// ("nextToken" for EC2, "NextToken" for Auto Scaling). A token seen twice stops
// the loop with AwsError("PaginationLoop").
inline void ForEachPage(AwsClient& aws, AwsService service, std::string_view action,
                        const QueryParams& params, const char* token_element,
                        const char* result_element,
                        const std::function<void(pugi::xml_node)>& page) {
  std::string token;
  std::unordered_set<std::string> seen;
  for (;;) {
    QueryParams p = params;
    if (!token.empty()) p.Add("NextToken", token);
    const QueryResponse r = aws.CallQuery(service, action, p);
    pugi::xml_node root = r.root();
    if (result_element != nullptr) root = root.child(result_element);
    page(root);
    token = Text(root, token_element);
    if (token.empty()) return;
    if (!seen.insert(token).second) {
      throw AwsError("PaginationLoop",
                     std::string(action) +
                         " answered a NextToken it had already given; stopped instead of looping",
                     r.request_id, r.http_status, false);
    }
  }
}

}  // namespace orb::aws_xml
