#pragma once

// Plain values shared by the EC2 and Auto Scaling clients. Header-only.

#include <string>
#include <vector>

namespace orb {

// A resource tag.
struct Tag {
  std::string key;
  std::string value;

  friend bool operator==(const Tag&, const Tag&) = default;
};

// A Describe* filter: `name` matches any of `values` (filters are ANDed), e.g.
// {"tag:orb:request-id", {"req-1"}} or {"instance-state-name", {"pending", "running"}}.
struct Filter {
  std::string name;
  std::vector<std::string> values;
};

// A launch template and version. Set `id` or `name`; `version` is a number,
// "$Latest" or "$Default" ("" = the template's default version).
struct LaunchTemplateSpec {
  std::string id;
  std::string name;
  std::string version;
};

// The value of the tag `key` in `tags`, or "" when absent.
inline std::string TagValue(const std::vector<Tag>& tags, const std::string& key) {
  for (const Tag& t : tags) {
    if (t.key == key) return t.value;
  }
  return "";
}

}  // namespace orb
