#include "model/template.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/strings.h"

namespace orb {

std::string_view ProviderApiName(ProviderApi api) {
  switch (api) {
    case ProviderApi::kRunInstances: return "RunInstances";
    case ProviderApi::kEc2Fleet: return "EC2Fleet";
    case ProviderApi::kSpotFleet: return "SpotFleet";
    case ProviderApi::kAsg: return "ASG";
  }
  return "RunInstances";
}

std::optional<ProviderApi> ParseProviderApi(std::string_view name) {
  const std::string f = FoldName(name);
  if (f == "runinstances" || f == "ec2" || f == "instances") return ProviderApi::kRunInstances;
  if (f == "ec2fleet" || f == "fleet") return ProviderApi::kEc2Fleet;
  if (f == "spotfleet") return ProviderApi::kSpotFleet;
  if (f == "asg" || f == "autoscalinggroup" || f == "autoscaling") return ProviderApi::kAsg;
  return std::nullopt;
}

std::string_view FleetTypeName(FleetType t) {
  switch (t) {
    case FleetType::kInstant: return "instant";
    case FleetType::kRequest: return "request";
    case FleetType::kMaintain: return "maintain";
  }
  return "instant";
}

std::optional<FleetType> ParseFleetType(std::string_view name) {
  const std::string f = FoldName(name);
  if (f == "instant") return FleetType::kInstant;
  if (f == "request") return FleetType::kRequest;
  if (f == "maintain") return FleetType::kMaintain;
  return std::nullopt;
}

std::string_view PriceTypeName(PriceType t) {
  return t == PriceType::kSpot ? "spot" : "ondemand";
}

std::optional<PriceType> ParsePriceType(std::string_view name) {
  const std::string f = FoldName(name);
  if (f == "ondemand") return PriceType::kOnDemand;
  if (f == "spot") return PriceType::kSpot;
  return std::nullopt;
}

const Attribute* Template::FindAttribute(std::string_view name) const {
  for (const Attribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<std::string> Template::InstanceTypeNames() const {
  std::vector<std::string> out;
  out.reserve(vm_types.size());
  for (const auto& [type, weight] : vm_types) out.push_back(type);
  return out;
}

namespace {

// Counts the Unicode characters of `text`; "" in `problem` when it is well-formed
// UTF-8 without control characters (C0, DEL, C1), else what is wrong.
std::size_t CountCharacters(std::string_view text, std::string* problem) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++chars) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t len = 1;
    char32_t cp = byte;
    if (byte >= 0x80) {
      if (byte >= 0xC2 && byte <= 0xDF) {
        len = 2;
        cp = byte & 0x1F;
      } else if (byte >= 0xE0 && byte <= 0xEF) {
        len = 3;
        cp = byte & 0x0F;
      } else if (byte >= 0xF0 && byte <= 0xF4) {
        len = 4;
        cp = byte & 0x07;
      } else {
        *problem = "is not valid UTF-8";
        return chars;
      }
      if (i + len > text.size()) {
        *problem = "is not valid UTF-8";
        return chars;
      }
      for (std::size_t k = 1; k < len; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        if ((next & 0xC0) != 0x80) {
          *problem = "is not valid UTF-8";
          return chars;
        }
        cp = (cp << 6) | (next & 0x3F);
      }
      const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
      if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *problem = "is not valid UTF-8";
        return chars;
      }
    }
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
      *problem = std::string("holds a control character (") + code + ")";
      return chars;
    }
    i += len;
  }
  return chars;
}

}  // namespace

std::string TagKeyProblem(std::string_view key) {
  if (key.empty()) return "a tag key must not be empty";
  std::string problem;
  const std::size_t chars = CountCharacters(key, &problem);
  if (!problem.empty()) return "tag key " + problem;
  // Shown cut to 40 bytes, at a character boundary (messages may be JSON).
  std::size_t cut = std::min<std::size_t>(key.size(), 40);
  while (cut < key.size() && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;
  std::string shown(key.substr(0, cut));
  if (cut < key.size()) shown += "...";
  if (chars > kMaxTagKeyChars) {
    return "tag key '" + shown + "' is " + std::to_string(chars) +
           " characters long; AWS allows at most " + std::to_string(kMaxTagKeyChars);
  }
  if (ToLower(key.substr(0, 4)) == "aws:") {
    return "tag key '" + shown + "' starts with 'aws:', which AWS reserves for its own tags";
  }
  for (const char* own : kOrbTagKeys) {
    if (key == own) return "tag key '" + shown + "' is set by orb itself on every launch";
  }
  return "";
}

std::string TagValueProblem(std::string_view value) {
  std::string problem;
  const std::size_t chars = CountCharacters(value, &problem);
  if (!problem.empty()) return "value " + problem;
  if (chars > kMaxTagValueChars) {
    return "value is " + std::to_string(chars) + " characters long; AWS allows at most " +
           std::to_string(kMaxTagValueChars);
  }
  return "";
}

std::string TemplateFieldMessage(const Template& t, std::string_view field,
                                 std::string_view message) {
  return (t.source_file.empty() ? std::string() : t.source_file + ": ") + "template '" +
         t.template_id + "' field '" + std::string(field) + "': " + std::string(message);
}

std::string ReadUserData(const Template& t) {
  std::string data = t.user_data;
  const char* field = "userData";
  auto fail = [&t, &field](const std::string& message) {
    throw Error(ErrorCode::kInvalidConfig, TemplateFieldMessage(t, field, message));
  };
  if (!t.user_data_script.empty()) {
    field = "userDataScript";
    const std::string& path = t.user_data_script;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      fail("cannot read '" + path + "': " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      fail("'" + path + "' is " + (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
           "; give the path of the script sent as user data");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot read '" + path + "': " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) fail("cannot read '" + path + "'");
    data = text.str();
  }
  if (data.size() > kMaxUserDataBytes) {
    fail("user data is " + std::to_string(data.size()) + " bytes; EC2 accepts at most " +
         std::to_string(kMaxUserDataBytes) +
         " (16 KB): fetch the rest at boot (e.g. from S3) or compress it (cloud-init reads "
         "gzip)");
  }
  return data;
}

bool IsValidTemplateId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace orb
