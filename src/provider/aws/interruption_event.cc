#include "provider/aws/interruption_event.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "provider/aws/aws_xml.h"

namespace orb {

namespace {

std::string Str(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

constexpr EpochSeconds kSpotNoticeSeconds = 120;  // AWS acts two minutes after the warning

}  // namespace

std::optional<InterruptionNotice> ParseInterruptionEvent(std::string_view body,
                                                         long long rebalance_grace_sec) {
  nlohmann::json event = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object() || Str(event, "source") != "aws.ec2") return std::nullopt;
  auto detail = event.find("detail");
  if (detail == event.end() || !detail->is_object()) return std::nullopt;
  InterruptionNotice n;
  n.machine_id = Str(*detail, "instance-id");
  if (n.machine_id.rfind("i-", 0) != 0) return std::nullopt;
  const std::string kind = Str(event, "detail-type");
  const std::string time = Str(event, "time");
  const EpochSeconds at = aws_xml::ParseIso8601(time).value_or(NowSeconds());
  if (kind == "EC2 Spot Instance Interruption Warning") {
    n.action = Str(*detail, "instance-action");
    if (n.action != "terminate" && n.action != "stop" && n.action != "hibernate") {
      n.action = "terminate";  // what AWS does unless the request says otherwise
    }
    n.takes_effect_at = at + kSpotNoticeSeconds;
  } else if (kind == "EC2 Instance Rebalance Recommendation") {
    if (rebalance_grace_sec < 0) return std::nullopt;
    n.action = "rebalance";
    n.takes_effect_at = at + rebalance_grace_sec;
  } else {
    return std::nullopt;
  }
  n.detail = kind + " at " + (time.empty() ? FormatIso8601(at) : time);
  return n;
}

}  // namespace orb
