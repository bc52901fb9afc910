#include "provider/aws/aws_error.h"

#include <array>

namespace orb {

bool IsThrottlingCode(std::string_view aws_code) {
  // The codes AWS services answer when a caller exceeds a request rate.
  static constexpr std::array<std::string_view, 11> kCodes = {
      "RequestLimitExceeded",
      "Throttling",
      "ThrottlingException",
      "RequestThrottled",
      "TooManyRequestsException",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
      "RequestThrottledException",
      "BandwidthLimitExceeded",
      "ProvisionedThroughputExceededException",
  };
  for (std::string_view code : kCodes) {
    if (aws_code == code) return true;
  }
  return false;
}

}  // namespace orb
