#pragma once
// Errors for the whole registry.
//
// One ErrorCode enum covers both the wire codes of the OCI distribution-spec (and the few extra codes that
// Distribution emits) and Berth's internal codes (kNotFound, kIo, ...), which drivers return and stores
// translate. ErrorInfo() is the one table that binds each code to its wire string and HTTP status; the API's
// error writer is the only place that turns an Error into a response. An internal code that reaches the
// writer becomes 500 UNKNOWN.

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace berth {

enum class ErrorCode : uint8_t {
  // Wire codes (OCI distribution-spec, plus Distribution's extras).
  kBlobUnknown,
  kBlobUploadInvalid,
  kBlobUploadUnknown,
  kDigestInvalid,
  kManifestBlobUnknown,
  kManifestInvalid,
  kManifestUnknown,
  kNameInvalid,
  kNameUnknown,
  kSizeInvalid,
  kUnauthorized,
  kDenied,
  kUnsupported,
  kTooManyRequests,
  kRangeInvalid,
  kTagInvalid,
  kPaginationNumberInvalid,
  kUnavailable,
  kUnknown,
  // Internal codes: never sent as such; stores translate them.
  kNotFound,        // a driver path that does not exist
  kAlreadyExists,   // exclusive create lost a race
  kInvalidOffset,   // read/append at an offset the object does not have
  kInvalidPath,     // a driver path that fails validation
  kIo,              // any other I/O failure (disk full, permission, ...)
  kInvalidArgument, // our own caller passed something wrong (config, CLI)
  kCancelled,
};

struct ErrorCodeInfo {
  std::string_view wire;     // e.g. "BLOB_UNKNOWN"; "UNKNOWN" for internal codes
  int http_status;           // e.g. 404
  std::string_view message;  // the spec's short description
  bool internal;
};

// The one error table. Thread-safe (constant data).
const ErrorCodeInfo& ErrorInfo(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kUnknown;
  std::string message;  // names the thing: `blob sha256:ab12… is not in repository "team/app"`
  std::string detail;   // optional JSON value (already serialized), placed in "detail"
  int status_override = 0;  // rare: a spec-mandated status differing from the table (413 for big manifests)

  int HttpStatus() const;
  std::string_view Wire() const { return ErrorInfo(code).wire; }
  bool Is(ErrorCode c) const { return code == c; }
  std::string ToString() const;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message = {}) {
  return std::unexpected<Error>(Error{code, std::move(message), {}, 0});
}
inline Status Ok() { return {}; }

}  // namespace berth

// Propagates an error from an expression yielding Status/Result<T>; evaluates to nothing.
#define BERTH_RETURN_IF_ERROR(expr)                                \
  do {                                                             \
    auto berth_status_ = (expr);                                   \
    if (!berth_status_) return std::unexpected(berth_status_.error()); \
  } while (0)

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)
// BERTH_ASSIGN_OR_RETURN(auto x, Foo()); declares x from a Result<T> or returns its error.
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_CONCAT_(berth_result_, __LINE__), lhs, expr)
#define BERTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
