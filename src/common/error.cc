#include "common/error.h"

namespace orb {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return "invalid_input";
    case ErrorCode::kInvalidConfig: return "invalid_config";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kStore: return "store_error";
    case ErrorCode::kCloud: return "cloud_error";
    case ErrorCode::kInternal: return "internal_error";
  }
  return "internal_error";
}

}  // namespace orb
