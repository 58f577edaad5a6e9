#include "common/error.h"

#include <array>

namespace berth {
namespace {

constexpr std::array kTable = {
    ErrorCodeInfo{"BLOB_UNKNOWN", 404, "blob unknown to registry", false},
    ErrorCodeInfo{"BLOB_UPLOAD_INVALID", 400, "blob upload invalid", false},
    ErrorCodeInfo{"BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry", false},
    ErrorCodeInfo{"DIGEST_INVALID", 400, "provided digest did not match uploaded content", false},
    ErrorCodeInfo{"MANIFEST_BLOB_UNKNOWN", 400, "manifest references a manifest or blob unknown to registry", false},
    ErrorCodeInfo{"MANIFEST_INVALID", 400, "manifest invalid", false},
    ErrorCodeInfo{"MANIFEST_UNKNOWN", 404, "manifest unknown to registry", false},
    ErrorCodeInfo{"NAME_INVALID", 400, "invalid repository name", false},
    ErrorCodeInfo{"NAME_UNKNOWN", 404, "repository name not known to registry", false},
    ErrorCodeInfo{"SIZE_INVALID", 400, "provided length did not match content length", false},
    ErrorCodeInfo{"UNAUTHORIZED", 401, "authentication required", false},
    ErrorCodeInfo{"DENIED", 403, "requested access to the resource is denied", false},
    ErrorCodeInfo{"UNSUPPORTED", 405, "the operation is unsupported", false},
    ErrorCodeInfo{"TOOMANYREQUESTS", 429, "too many requests", false},
    ErrorCodeInfo{"RANGE_INVALID", 416, "invalid content range", false},
    ErrorCodeInfo{"TAG_INVALID", 400, "manifest tag did not match URI", false},
    ErrorCodeInfo{"PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested", false},
    ErrorCodeInfo{"UNAVAILABLE", 503, "service unavailable", false},
    ErrorCodeInfo{"UNKNOWN", 500, "unknown error", false},
    ErrorCodeInfo{"UNKNOWN", 500, "path not found", true},
    ErrorCodeInfo{"UNKNOWN", 500, "already exists", true},
    ErrorCodeInfo{"UNKNOWN", 500, "invalid offset", true},
    ErrorCodeInfo{"UNKNOWN", 500, "invalid path", true},
    ErrorCodeInfo{"UNKNOWN", 500, "I/O error", true},
    ErrorCodeInfo{"UNKNOWN", 500, "invalid argument", true},
    ErrorCodeInfo{"UNKNOWN", 500, "cancelled", true},
};
static_assert(kTable.size() == static_cast<size_t>(ErrorCode::kCancelled) + 1,
              "every ErrorCode needs a row");

}  // namespace

const ErrorCodeInfo& ErrorInfo(ErrorCode code) { return kTable[static_cast<size_t>(code)]; }

int Error::HttpStatus() const {
  return status_override != 0 ? status_override : ErrorInfo(code).http_status;
}

std::string Error::ToString() const {
  const auto& info = ErrorInfo(code);
  std::string out(info.internal ? info.message : info.wire);
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace berth
