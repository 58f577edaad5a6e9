// GET, HEAD and DELETE /v2/<name>/blobs/<digest>.

#include <gtest/gtest.h>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Blobs = ApiTest;

TEST_F(Blobs, GetReturnsContentWithDigestAndLength) {
  std::string data = PatternBytes(10000, 7);
  std::string d = PushBlob(c(), "lib/app", data);
  Response r = c().Request("GET", "/v2/lib/app/blobs/" + d);
  ASSERT_STATUS(r, 200);
  EXPECT_EQ(r.body, data);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), d);
  EXPECT_EQ(r.Header("Content-Length"), "10000");
  EXPECT_EQ(r.Header("Content-Type"), "application/octet-stream");
}

TEST_F(Blobs, IfNoneMatchWithTheDigestEtagIs304) {
  std::string d = PushBlob(c(), "lib/app", "cache me");
  Response first = c().Request("GET", "/v2/lib/app/blobs/" + d);
  ASSERT_STATUS(first, 200);
  std::string etag = first.Header("ETag");
  ASSERT_FALSE(etag.empty()) << "no ETag on a blob";
  Response again = c().Request("GET", "/v2/lib/app/blobs/" + d, {}, {{"If-None-Match", etag}});
  EXPECT_STATUS(again, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_STATUS(c().Request("GET", "/v2/"), 200);  // the connection is still in step
}

TEST_F(Blobs, HeadReturnsLengthDigestAndAcceptRangesWithoutBody) {
  std::string data = PatternBytes(4321, 8);
  std::string d = PushBlob(c(), "lib/app", data);
  Response r = c().Request("HEAD", "/v2/lib/app/blobs/" + d);
  ASSERT_STATUS(r, 200);
  EXPECT_EQ(r.Header("Content-Length"), "4321");
  EXPECT_EQ(r.Header("Docker-Content-Digest"), d);
  EXPECT_EQ(r.Header("Accept-Ranges"), "bytes");
  EXPECT_TRUE(r.body.empty());
  // No body bytes were sent: the kept-alive connection answers the next request cleanly.
  Response next = c().Request("GET", "/v2/");
  EXPECT_STATUS(next, 200);
  EXPECT_EQ(c().connects(), 1);
}

TEST_F(Blobs, RangeGetIsPartialContent) {
  std::string data = PatternBytes(1000, 9);
  std::string d = PushBlob(c(), "lib/app", data);
  Response r = c().Request("GET", "/v2/lib/app/blobs/" + d, {}, {{"Range", "bytes=100-199"}});
  ASSERT_STATUS(r, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 100-199/1000");
  EXPECT_EQ(r.Header("Content-Length"), "100");
  EXPECT_EQ(r.body, data.substr(100, 100));
}

TEST_F(Blobs, OpenEndedRangeReturnsTheTail) {
  std::string data = PatternBytes(1000, 10);
  std::string d = PushBlob(c(), "lib/app", data);
  Response r = c().Request("GET", "/v2/lib/app/blobs/" + d, {}, {{"Range", "bytes=900-"}});
  ASSERT_STATUS(r, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 900-999/1000");
  EXPECT_EQ(r.body, data.substr(900));
}

TEST_F(Blobs, RangePastEndIsClampedToTheBlob) {
  std::string data = PatternBytes(1000, 11);
  std::string d = PushBlob(c(), "lib/app", data);
  Response r = c().Request("GET", "/v2/lib/app/blobs/" + d, {}, {{"Range", "bytes=990-5000"}});
  ASSERT_STATUS(r, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 990-999/1000");
  EXPECT_EQ(r.body, data.substr(990));
}

TEST_F(Blobs, UnsatisfiableRangeIsRangeInvalid) {
  std::string data = PatternBytes(1000, 12);
  std::string d = PushBlob(c(), "lib/app", data);
  Response r = c().Request("GET", "/v2/lib/app/blobs/" + d, {}, {{"Range", "bytes=5000-6000"}});
  EXPECT_ERROR(r, 416, "RANGE_INVALID");
}

TEST_F(Blobs, UnknownBlobIsBlobUnknown) {
  PushBlob(c(), "lib/app", "something else");
  Response r = c().Request("GET", "/v2/lib/app/blobs/" + Sha256("never pushed"));
  EXPECT_ERROR(r, 404, "BLOB_UNKNOWN");
  Response h = c().Request("HEAD", "/v2/lib/app/blobs/" + Sha256("never pushed"));
  EXPECT_STATUS(h, 404);
  EXPECT_TRUE(h.body.empty());
}

TEST_F(Blobs, GetInUnknownRepositoryIs404) {
  Response r = c().Request("GET", "/v2/no/such/repo/blobs/" + Sha256("x"));
  EXPECT_ERROR(r, 404, "BLOB_UNKNOWN", "NAME_UNKNOWN");
}

TEST_F(Blobs, BlobOfAnotherRepositoryIsNotVisible) {
  std::string d = PushBlob(c(), "team/a", "only in a");
  PushBlob(c(), "team/b", "something in b");
  Response r = c().Request("GET", "/v2/team/b/blobs/" + d);
  EXPECT_ERROR(r, 404, "BLOB_UNKNOWN");
}

TEST_F(Blobs, DeleteIs202AndTheBlobIsGone) {
  std::string d = PushBlob(c(), "lib/app", "delete me");
  Response del = c().Request("DELETE", "/v2/lib/app/blobs/" + d);
  EXPECT_STATUS(del, 202);
  Response get = c().Request("GET", "/v2/lib/app/blobs/" + d);
  EXPECT_ERROR(get, 404, "BLOB_UNKNOWN");
  Response again = c().Request("DELETE", "/v2/lib/app/blobs/" + d);
  EXPECT_ERROR(again, 404, "BLOB_UNKNOWN");
}

TEST_F(Blobs, DeleteUnlinksOnlyFromThatRepository) {
  std::string d = PushBlob(c(), "team/a", "shared bytes");
  PushBlob(c(), "team/b", "shared bytes");
  EXPECT_STATUS(c().Request("DELETE", "/v2/team/a/blobs/" + d), 202);
  Response b = c().Request("GET", "/v2/team/b/blobs/" + d);
  EXPECT_STATUS(b, 200);
  EXPECT_EQ(b.body, "shared bytes");
}

TEST_F(Blobs, DeleteWhenDisabledIsUnsupported) {
  ASSERT_TRUE(Restart(WithYaml(std::string(kDeleteDisabled))));
  std::string d = PushBlob(c(), "lib/app", "keep me");
  Response del = c().Request("DELETE", "/v2/lib/app/blobs/" + d);
  EXPECT_ERROR(del, 405, "UNSUPPORTED");
  EXPECT_STATUS(c().Request("GET", "/v2/lib/app/blobs/" + d), 200);
}

}  // namespace
}  // namespace berth::testing
