// Blob uploads: POST /v2/<name>/blobs/uploads/ (plain, monolithic, mount) and the session endpoints
// GET/PATCH/PUT/DELETE /v2/<name>/blobs/uploads/<id>.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Uploads = ApiTest;

const HeaderList kOctet = {{"Content-Type", "application/octet-stream"}};

// PATCH one chunk with Content-Range "<start>-<end>" (inclusive) and Content-Length.
Response PatchChunk(HttpClient& c, const std::string& loc, std::string_view data, uint64_t start) {
  HeaderList h = kOctet;
  h.emplace_back("Content-Range",
                 std::to_string(start) + "-" + std::to_string(start + data.size() - 1));
  return c.Request("PATCH", loc, data, h);
}

TEST_F(Uploads, StartIs202WithLocationUuidAndEmptyRange) {
  Response r = c().Request("POST", "/v2/lib/app/blobs/uploads/");
  ASSERT_STATUS(r, 202);
  std::string uuid = r.Header("Docker-Upload-UUID");
  EXPECT_FALSE(uuid.empty());
  std::string loc = PathOf(r.Header("Location"));
  EXPECT_TRUE(loc.starts_with("/v2/lib/app/blobs/uploads/")) << loc;
  EXPECT_NE(loc.find(uuid), std::string::npos) << loc << " does not name " << uuid;
  EXPECT_TRUE(HasUploadRange(r, 0));
  EXPECT_EQ(r.Header("Content-Length"), "0");
}

TEST_F(Uploads, MonolithicPostWithDigestCreatesBlob) {
  std::string data = PatternBytes(3000, 21);
  std::string d = Sha256(data);
  Response r = c().Request("POST", "/v2/lib/app/blobs/uploads/?digest=" + d, data, kOctet);
  EXPECT_TRUE(BlobCreated(c(), r, "lib/app", d, data));
}

TEST_F(Uploads, MonolithicPostWithWrongDigestIsDigestInvalid) {
  std::string wrong = Sha256("other bytes");
  Response r =
      c().Request("POST", "/v2/lib/app/blobs/uploads/?digest=" + wrong, "the bytes", kOctet);
  EXPECT_ERROR(r, 400, "DIGEST_INVALID");
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/blobs/" + wrong), 404);
}

TEST_F(Uploads, MonolithicPutAfterPostCreatesBlob) {
  std::string data = PatternBytes(5000, 22);
  std::string d = Sha256(data);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response r = c().Request("PUT", WithQuery(loc, "digest=" + d), data, kOctet);
  EXPECT_TRUE(BlobCreated(c(), r, "lib/app", d, data));
}

TEST_F(Uploads, EmptyBlobCanBeUploaded) {
  std::string d = Sha256("");
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response r = c().Request("PUT", WithQuery(loc, "digest=" + d), "", kOctet);
  ASSERT_STATUS(r, 201);
  Response head = c().Request("HEAD", "/v2/lib/app/blobs/" + d);
  EXPECT_STATUS(head, 200);
  EXPECT_EQ(head.Header("Content-Length"), "0");
}

TEST_F(Uploads, MountFromRepositoryThatHasTheBlobIs201) {
  std::string data = "mount me";
  std::string d = PushBlob(c(), "team/src", data);
  Response r = c().Request("POST", "/v2/team/dst/blobs/uploads/?mount=" + d + "&from=team/src");
  EXPECT_TRUE(BlobCreated(c(), r, "team/dst", d, data));
}

// Go's url.Values (docker, containerd) escapes ':' and '/' in query values.
TEST_F(Uploads, PercentEncodedDigestAndFromAreDecoded) {
  std::string data = "encoded params";
  std::string d = Sha256(data);
  std::string encoded = "sha256%3A" + d.substr(7);
  std::string loc = StartUpload(c(), "team/src");
  ASSERT_FALSE(loc.empty());
  Response put = c().Request("PUT", WithQuery(loc, "digest=" + encoded), data, kOctet);
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(put.Header("Docker-Content-Digest"), d);
  Response mount =
      c().Request("POST", "/v2/team/dst/blobs/uploads/?from=team%2Fsrc&mount=" + encoded);
  EXPECT_STATUS(mount, 201);
  EXPECT_EQ(c().Request("GET", "/v2/team/dst/blobs/" + d).body, data);
}

TEST_F(Uploads, MountFromRepositoryWithoutTheBlobFallsBackToAnUpload) {
  PushBlob(c(), "team/src", "unrelated");
  std::string data = "not in src";
  std::string d = Sha256(data);
  Response r = c().Request("POST", "/v2/team/dst/blobs/uploads/?mount=" + d + "&from=team/src");
  ASSERT_STATUS(r, 202);
  std::string loc = PathOf(r.Header("Location"));
  EXPECT_TRUE(loc.starts_with("/v2/team/dst/blobs/uploads/")) << loc;
  EXPECT_FALSE(r.Header("Docker-Upload-UUID").empty());
  // The fallback session is a real one.
  Response put = c().Request("PUT", WithQuery(loc, "digest=" + d), data, kOctet);
  EXPECT_STATUS(put, 201);
  EXPECT_STATUS(c().Request("GET", "/v2/team/dst/blobs/" + d), 200);
}

TEST_F(Uploads, MountFromUnknownRepositoryFallsBackToAnUpload) {
  Response r = c().Request(
      "POST", "/v2/team/dst/blobs/uploads/?mount=" + Sha256("x") + "&from=no/such/repo");
  EXPECT_STATUS(r, 202);
  EXPECT_FALSE(r.Header("Location").empty());
}

TEST_F(Uploads, ChunkedPatchReportsRangeAndLocation) {
  std::string data = PatternBytes(3000, 23);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response p1 = PatchChunk(c(), loc, data.substr(0, 1000), 0);
  ASSERT_STATUS(p1, 202);
  EXPECT_TRUE(HasUploadRange(p1, 1000));
  EXPECT_FALSE(p1.Header("Location").empty());
  EXPECT_FALSE(p1.Header("Docker-Upload-UUID").empty());
  loc = PathOf(p1.Header("Location"));
  Response p2 = PatchChunk(c(), loc, data.substr(1000, 1500), 1000);
  ASSERT_STATUS(p2, 202);
  EXPECT_TRUE(HasUploadRange(p2, 2500));
  loc = PathOf(p2.Header("Location"));
  // The last chunk rides on the PUT.
  HeaderList h = kOctet;
  h.emplace_back("Content-Range", "2500-2999");
  Response put = c().Request("PUT", WithQuery(loc, "digest=" + Sha256(data)), data.substr(2500), h);
  EXPECT_TRUE(BlobCreated(c(), put, "lib/app", Sha256(data), data));
}

TEST_F(Uploads, ChunkOutOfOrderIsRangeInvalid) {
  std::string data = PatternBytes(2000, 24);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response p1 = PatchChunk(c(), loc, data.substr(0, 1000), 0);
  ASSERT_STATUS(p1, 202);
  loc = PathOf(p1.Header("Location"));
  // Skips bytes 1000-1499.
  Response gap = PatchChunk(c(), loc, data.substr(1500), 1500);
  EXPECT_ERROR(gap, 416, "RANGE_INVALID");
  EXPECT_TRUE(HasUploadRange(gap, 1000));
  // Overlaps what is stored.
  Response overlap = PatchChunk(c(), loc, data.substr(500, 1000), 500);
  EXPECT_ERROR(overlap, 416, "RANGE_INVALID");
  // The session is still usable from the right offset.
  Response p2 = PatchChunk(c(), loc, data.substr(1000), 1000);
  ASSERT_STATUS(p2, 202);
  EXPECT_TRUE(HasUploadRange(p2, 2000));
  Response put = c().Request(
      "PUT", WithQuery(PathOf(p2.Header("Location")), "digest=" + Sha256(data)), "", kOctet);
  EXPECT_STATUS(put, 201);
  EXPECT_EQ(c().Request("GET", "/v2/lib/app/blobs/" + Sha256(data)).body, data);
}

TEST_F(Uploads, MalformedContentRangeIsRangeInvalid) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  HeaderList h = kOctet;
  h.emplace_back("Content-Range", "zero-to-nine");
  Response r = c().Request("PATCH", loc, "0123456789", h);
  EXPECT_EQ(r.status, 416) << Describe(r);
}

TEST_F(Uploads, PatchWithoutContentRangeAppends) {
  std::string data = PatternBytes(4096, 25);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response p1 = c().Request("PATCH", loc, data.substr(0, 1024), kOctet);
  ASSERT_STATUS(p1, 202);
  EXPECT_TRUE(HasUploadRange(p1, 1024));
  Response p2 = c().Request("PATCH", PathOf(p1.Header("Location")), data.substr(1024), kOctet);
  ASSERT_STATUS(p2, 202);
  EXPECT_TRUE(HasUploadRange(p2, 4096));
  Response put =
      c().Request("PUT", WithQuery(PathOf(p2.Header("Location")), "digest=" + Sha256(data)));
  EXPECT_STATUS(put, 201);
  EXPECT_EQ(c().Request("GET", "/v2/lib/app/blobs/" + Sha256(data)).body, data);
}

TEST_F(Uploads, PatchWithChunkedTransferEncodingAppends) {
  const uint64_t size = 3 * 1024 * 1024 + 17;
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response p = c().RequestChunked("PATCH", loc, PatternSource(size, 26), kOctet);
  ASSERT_STATUS(p, 202);
  EXPECT_TRUE(HasUploadRange(p, size));
  std::string data = PatternBytes(size, 26);
  Response put =
      c().Request("PUT", WithQuery(PathOf(p.Header("Location")), "digest=" + Sha256(data)));
  EXPECT_STATUS(put, 201);
  EXPECT_EQ(c().Request("GET", "/v2/lib/app/blobs/" + Sha256(data)).body, data);
}

TEST_F(Uploads, WrongDigestIsDigestInvalidAndNoBlobIsCreated) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  std::string claimed = Sha256("what I claim");
  Response r = c().Request("PUT", WithQuery(loc, "digest=" + claimed), "what I send", kOctet);
  EXPECT_ERROR(r, 400, "DIGEST_INVALID");
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/blobs/" + claimed), 404);
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/blobs/" + Sha256("what I send")), 404);
}

TEST_F(Uploads, MalformedDigestOnPutIsDigestInvalid) {
  const std::vector<std::string> bad_digests = {
      "sha256:totallywrong", "sha256:" + std::string(64, 'A'), "md5:abc", "nocolon"};
  for (const std::string& bad : bad_digests) {
    std::string loc = StartUpload(c(), "lib/app");
    ASSERT_FALSE(loc.empty());
    Response r = c().Request("PUT", WithQuery(loc, "digest=" + QueryEscape(bad)), "bytes", kOctet);
    EXPECT_ERROR(r, 400, "DIGEST_INVALID") << "digest " << bad;
  }
}

TEST_F(Uploads, PutWithoutDigestIsDigestInvalid) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response r = c().Request("PUT", loc, "bytes", kOctet);
  EXPECT_ERROR(r, 400, "DIGEST_INVALID");
}

TEST_F(Uploads, ContentRangeDisagreeingWithContentLengthIsRejected) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  HeaderList h = kOctet;
  h.emplace_back("Content-Range", "0-99");  // claims 100 bytes, 50 are sent
  Response r = c().Request("PATCH", loc, std::string(50, 'x'), h);
  EXPECT_ERROR(r, 400, "SIZE_INVALID", "BLOB_UPLOAD_INVALID");
}

TEST_F(Uploads, FinalContentRangeDisagreeingWithBodyIsRejected) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  std::string data(50, 'y');
  HeaderList h = kOctet;
  h.emplace_back("Content-Range", "0-79");
  Response r = c().Request("PUT", WithQuery(loc, "digest=" + Sha256(data)), data, h);
  EXPECT_ERROR(r, 400, "SIZE_INVALID", "BLOB_UPLOAD_INVALID");
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/blobs/" + Sha256(data)), 404);
}

TEST_F(Uploads, StatusIs204WithRangeAndUuid) {
  Response start = c().Request("POST", "/v2/lib/app/blobs/uploads/");
  ASSERT_STATUS(start, 202);
  std::string uuid = start.Header("Docker-Upload-UUID");
  std::string loc = PathOf(start.Header("Location"));
  Response empty = c().Request("GET", loc);
  EXPECT_STATUS(empty, 204);
  EXPECT_TRUE(HasUploadRange(empty, 0));
  Response p = PatchChunk(c(), loc, PatternBytes(777, 27), 0);
  ASSERT_STATUS(p, 202);
  Response st = c().Request("GET", PathOf(p.Header("Location")));
  EXPECT_STATUS(st, 204);
  EXPECT_TRUE(HasUploadRange(st, 777));
  EXPECT_EQ(st.Header("Docker-Upload-UUID"), uuid);
  EXPECT_FALSE(st.Header("Location").empty());
  EXPECT_TRUE(st.body.empty());
}

TEST_F(Uploads, CancelIs204AndTheSessionIsGone) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  ASSERT_STATUS(PatchChunk(c(), loc, "some bytes", 0), 202);
  Response del = c().Request("DELETE", loc);
  EXPECT_STATUS(del, 204);
  EXPECT_ERROR(c().Request("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_ERROR(PatchChunk(c(), loc, "more", 10), 404, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_ERROR(c().Request("PUT", WithQuery(loc, "digest=" + Sha256("some bytes")), "", kOctet),
               404, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_ERROR(c().Request("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(Uploads, CompletedSessionIsGone) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  ASSERT_STATUS(c().Request("PUT", WithQuery(loc, "digest=" + Sha256("done")), "done", kOctet),
                201);
  EXPECT_ERROR(c().Request("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(Uploads, UnknownUploadIdIsBlobUploadUnknown) {
  PushBlob(c(), "lib/app", "make the repository exist");
  const std::string loc = "/v2/lib/app/blobs/uploads/0b9bd2d6-6f2c-4c1e-9c59-6a3f3d2f7a11";
  EXPECT_ERROR(c().Request("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_ERROR(c().Request("PATCH", loc, "data", kOctet), 404, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_ERROR(c().Request("PUT", WithQuery(loc, "digest=" + Sha256("data")), "data", kOctet), 404,
               "BLOB_UPLOAD_UNKNOWN");
  EXPECT_ERROR(c().Request("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(Uploads, SessionOfAnotherRepositoryIsUnknown) {
  std::string loc = StartUpload(c(), "team/a");
  ASSERT_FALSE(loc.empty());
  std::string id = loc.substr(std::string("/v2/team/a/blobs/uploads/").size());
  id = id.substr(0, id.find('?'));
  Response r = c().Request("GET", "/v2/team/b/blobs/uploads/" + id);
  EXPECT_ERROR(r, 404, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(Uploads, SessionSurvivesARestart) {
  std::string data = PatternBytes(6000, 28);
  auto first = StartServer();
  ASSERT_TRUE(first);
  std::string loc;
  {
    HttpClient c(first->port());
    loc = StartUpload(c, "lib/app");
    ASSERT_FALSE(loc.empty());
    Response p = PatchChunk(c, loc, data.substr(0, 2500), 0);
    ASSERT_STATUS(p, 202);
    loc = PathOf(p.Header("Location"));
  }
  first->Stop();
  auto second = StartServer(WithRoot(first->root()));
  ASSERT_TRUE(second);
  HttpClient c(second->port());
  Response st = c.Request("GET", loc);
  EXPECT_STATUS(st, 204);
  EXPECT_TRUE(HasUploadRange(st, 2500));
  Response p = PatchChunk(c, loc, data.substr(2500), 2500);
  ASSERT_STATUS(p, 202);
  Response put = c.Request("PUT", WithQuery(PathOf(p.Header("Location")), "digest=" + Sha256(data)),
                           "", kOctet);
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(put.Header("Docker-Content-Digest"), Sha256(data));
  Response get = c.Request("GET", "/v2/lib/app/blobs/" + Sha256(data));
  EXPECT_STATUS(get, 200);
  EXPECT_EQ(Sha256(get.body), Sha256(data));
}

TEST_F(Uploads, Sha512MonolithicUploadWorks) {
  std::string data = PatternBytes(2222, 29);
  std::string d = Sha512(data);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response put = c().Request("PUT", WithQuery(loc, "digest=" + d), data, kOctet);
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(PathOf(put.Header("Location")), "/v2/lib/app/blobs/" + d);
  std::string dcd = put.Header("Docker-Content-Digest");
  EXPECT_TRUE(dcd == d || dcd == Sha256(data)) << dcd;
  Response get = c().Request("GET", "/v2/lib/app/blobs/" + d);
  EXPECT_STATUS(get, 200);
  EXPECT_EQ(get.body, data);
  // Monolithic POST ?digest= with sha512 too.
  std::string other = PatternBytes(100, 30);
  Response post =
      c().Request("POST", "/v2/lib/app/blobs/uploads/?digest=" + Sha512(other), other, kOctet);
  EXPECT_STATUS(post, 201);
  EXPECT_EQ(c().Request("GET", "/v2/lib/app/blobs/" + Sha512(other)).body, other);
}

TEST_F(Uploads, Sha512ChunkedUploadWorks) {
  std::string data = PatternBytes(5000, 31);
  std::string d = Sha512(data);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response p = PatchChunk(c(), loc, data.substr(0, 3000), 0);
  ASSERT_STATUS(p, 202);
  HeaderList h = kOctet;
  h.emplace_back("Content-Range", "3000-4999");
  Response put = c().Request("PUT", WithQuery(PathOf(p.Header("Location")), "digest=" + d),
                             data.substr(3000), h);
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(c().Request("GET", "/v2/lib/app/blobs/" + d).body, data);
  // A wrong sha512 is refused like a wrong sha256.
  std::string loc2 = StartUpload(c(), "lib/app");
  Response bad = c().Request("PUT", WithQuery(loc2, "digest=" + Sha512("nope")), data, kOctet);
  EXPECT_ERROR(bad, 400, "DIGEST_INVALID");
}

TEST_F(Uploads, StreamedMonolithicPutOfSeveralMegabytes) {
  const uint64_t size = 5 * 1024 * 1024 + 3;
  std::string data = PatternBytes(size, 32);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  Response put = c().RequestStream("PUT", WithQuery(loc, "digest=" + Sha256(data)), size,
                                   PatternSource(size, 32), kOctet);
  ASSERT_STATUS(put, 201);
  Response head = c().Request("HEAD", "/v2/lib/app/blobs/" + Sha256(data));
  EXPECT_EQ(head.Header("Content-Length"), std::to_string(size));
}

}  // namespace
// A PATCH that announces a large body has space allocated ahead of the bytes (a performance hint),
// and a client that hangs up part-way still resumes from exactly the bytes that arrived: the
// allocation must not move the upload's offset, and what lay past the data is given back.
TEST_F(Uploads, LargeBodyIsPreallocatedWithoutMovingTheResumeOffset) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  ASSERT_FALSE(srv->root().empty());
  HttpClient c(srv->port());
  const std::string data = PatternBytes(8 << 20, 31);
  const size_t sent = 1 << 20;
  std::string loc = StartUpload(c, "lib/app");
  ASSERT_FALSE(loc.empty());
  {
    RawConnection raw(srv->port());
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw.Send("PATCH " + loc +
                         " HTTP/1.1\r\nHost: t\r\n"
                         "Content-Type: application/octet-stream\r\nContent-Length: " +
                         std::to_string(data.size()) + "\r\n\r\n" + data.substr(0, sent)));
    raw.Close();
  }
  // The server notices the hang-up, keeps what arrived and releases the session.
  Response st;
  for (int i = 0; i < 100; ++i) {
    st = c.Request("GET", loc);
    if (HasUploadRange(st, sent)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(HasUploadRange(st, sent)) << Describe(st);
  std::string id = PathOf(loc);
  id = id.substr(id.rfind('/') + 1);
  const std::string file =
      srv->root() + "/docker/registry/v2/repositories/lib/app/_uploads/" + id + "/data";
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0) << file;
  EXPECT_EQ(static_cast<uint64_t>(info.st_size), sent);
  // Where the filesystem can preallocate, nothing past the data stays allocated once the server has
  // noticed the hang-up (an announced length that never arrives must not hold disk). The range
  // above can show before it has: the bytes are on disk while the request is still open.
  const uint64_t given_back = sent + (64 << 10);
  for (int i = 0; i < 100 && static_cast<uint64_t>(info.st_blocks) * 512 > given_back; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(::stat(file.c_str(), &info), 0) << file;
  }
  const std::string probe_path = srv->root() + "/probe";
  int probe = ::open(probe_path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(probe, 0);
  const bool can = ::fallocate(probe, FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
  ::close(probe);
  ::unlink(probe_path.c_str());
  if (can) {
    EXPECT_LE(static_cast<uint64_t>(info.st_blocks) * 512, given_back);
  }
  // Resuming from the reported offset completes the blob intact.
  Response p = PatchChunk(c, PathOf(st.Header("Location")), data.substr(sent), sent);
  ASSERT_STATUS(p, 202);
  Response put = c.Request("PUT", WithQuery(PathOf(p.Header("Location")), "digest=" + Sha256(data)),
                           "", kOctet);
  EXPECT_TRUE(BlobCreated(c, put, "lib/app", Sha256(data), data));
}

}  // namespace berth::testing
