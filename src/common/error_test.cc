#include "common/error.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

// Pins the wire table to the distribution-spec (and Distribution's extras).
TEST(ErrorTable, WireCodesAndStatuses) {
  struct Row {
    ErrorCode code;
    const char* wire;
    int status;
  };
  const Row rows[] = {
      {ErrorCode::kBlobUnknown, "BLOB_UNKNOWN", 404},
      {ErrorCode::kBlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400},
      {ErrorCode::kBlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404},
      {ErrorCode::kDigestInvalid, "DIGEST_INVALID", 400},
      {ErrorCode::kManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400},
      {ErrorCode::kManifestInvalid, "MANIFEST_INVALID", 400},
      {ErrorCode::kManifestUnknown, "MANIFEST_UNKNOWN", 404},
      {ErrorCode::kNameInvalid, "NAME_INVALID", 400},
      {ErrorCode::kNameUnknown, "NAME_UNKNOWN", 404},
      {ErrorCode::kSizeInvalid, "SIZE_INVALID", 400},
      {ErrorCode::kUnauthorized, "UNAUTHORIZED", 401},
      {ErrorCode::kDenied, "DENIED", 403},
      {ErrorCode::kUnsupported, "UNSUPPORTED", 405},
      {ErrorCode::kTooManyRequests, "TOOMANYREQUESTS", 429},
      {ErrorCode::kRangeInvalid, "RANGE_INVALID", 416},
      {ErrorCode::kUnknown, "UNKNOWN", 500},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(ErrorInfo(r.code).wire, r.wire);
    EXPECT_EQ(ErrorInfo(r.code).http_status, r.status) << r.wire;
    EXPECT_FALSE(ErrorInfo(r.code).internal);
  }
}

TEST(ErrorTable, InternalCodesBecomeUnknown500) {
  for (auto c : {ErrorCode::kNotFound, ErrorCode::kIo, ErrorCode::kInvalidOffset}) {
    EXPECT_TRUE(ErrorInfo(c).internal);
    EXPECT_EQ(ErrorInfo(c).wire, "UNKNOWN");
    EXPECT_EQ(ErrorInfo(c).http_status, 500);
  }
}

TEST(ErrorTable, StatusOverride) {
  Error e{ErrorCode::kSizeInvalid, "too big", {}, 413};
  EXPECT_EQ(e.HttpStatus(), 413);
  EXPECT_EQ(e.ToString(), "SIZE_INVALID: too big");
}

Result<int> Half(int x) {
  if (x % 2) return MakeError(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}
Result<int> Quarter(int x) {
  BERTH_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ErrorMacros, Propagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_FALSE(Quarter(6).has_value());
  EXPECT_EQ(Quarter(6).error().message, "odd");
}

}  // namespace
}  // namespace berth
