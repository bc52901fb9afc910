#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace orb {

// An AWS call that failed: the service's error (code, message, request id) or a
// network failure (aws_code "NetworkError", http_status 0). It is an Error with
// code kCloud, so doors handle it like any other failure; the AWS layer and the
// handlers read the details to decide what to do next.
class AwsError : public Error {
 public:
  AwsError(std::string aws_code, const std::string& message, std::string request_id,
           int http_status, bool retryable)
      : Error(ErrorCode::kCloud, message),
        aws_code_(std::move(aws_code)),
        request_id_(std::move(request_id)),
        http_status_(http_status),
        retryable_(retryable) {}

  // AWS's error code, e.g. "RequestLimitExceeded", "InvalidInstanceID.NotFound",
  // or orb's own "NetworkError" / "CircuitOpen".
  const std::string& aws_code() const { return aws_code_; }

  // AWS's request id for the failed call ("" when none was received).
  const std::string& request_id() const { return request_id_; }

  // The HTTP status (0 when no answer was received).
  int http_status() const { return http_status_; }

  // True when retrying the same call may succeed (throttling, 5xx, network).
  bool retryable() const { return retryable_; }

 private:
  std::string aws_code_;
  std::string request_id_;
  int http_status_;
  bool retryable_;
};

// True for the error codes AWS uses for throttling ("RequestLimitExceeded",
// "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
// "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
// "RequestThrottledException", "BandwidthLimitExceeded", and DynamoDB's
// "ProvisionedThroughputExceededException").
bool IsThrottlingCode(std::string_view aws_code);

}  // namespace orb
