// Abuse and load: oversized heads, bodies cut off mid-way, garbage, concurrency, big blobs.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Robustness = ApiTest;

using std::chrono::milliseconds;
using std::chrono::steady_clock;

const HeaderList kOctet = {{"Content-Type", "application/octet-stream"}};

// The head of a request with a body we will not finish.
std::string RequestHead(std::string_view method, std::string_view target, uint16_t port,
                        const HeaderList& headers) {
  std::string head = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  head += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  return head + "\r\n";
}

uint64_t RangeEnd(const Response& r) {
  std::string range = r.Header("Range");
  size_t dash = range.find('-');
  if (dash == std::string::npos) return 0;
  return std::stoull(range.substr(dash + 1));
}

TEST_F(Robustness, OversizedRequestHeadIsRejectedAndOthersAreServed) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  {
    RawConnection raw(srv->port());
    ASSERT_TRUE(raw.ok());
    std::string req =
        "GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'a') + "\r\n\r\n";
    raw.Send(req);  // the server may stop reading early; that is fine
    auto r = raw.ReadResponse();
    ASSERT_TRUE(r.has_value()) << "no response to an oversized head";
    EXPECT_TRUE(r->status == 431 || r->status == 400) << Describe(*r);
  }
  HttpClient c(srv->port());
  EXPECT_STATUS(c.Request("GET", "/v2/"), 200);
}

TEST_F(Robustness, GarbageRequestIs400AndOthersAreServed) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  {
    RawConnection raw(srv->port());
    ASSERT_TRUE(raw.ok());
    raw.Send("\x16\x03\x01 this is not http at all\r\n\r\n");
    std::string reply = raw.ReadAll(milliseconds(5000));
    // Either a 400 or a plain close; never a hang (ReadAll returned) and never a 2xx.
    if (!reply.empty()) {
      EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply.substr(0, 200);
    }
  }
  HttpClient c(srv->port());
  EXPECT_STATUS(c.Request("GET", "/v2/"), 200);
}

TEST_F(Robustness, HalfClosedConnectionStillGetsItsResponse) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  RawConnection raw(srv->port());
  ASSERT_TRUE(raw.ok());
  raw.Send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
  raw.ShutdownWrite();
  auto r = raw.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(Robustness, PipelinedRequestsAreAnsweredInOrder) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  RawConnection raw(srv->port());
  ASSERT_TRUE(raw.ok());
  std::string two =
      "GET /v2/nope/tags/list HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(raw.Send(two));
  auto a = raw.ReadResponse();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 404);
  auto b = raw.ReadResponse(/*head=*/true);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->status, 200);
  auto c = raw.ReadResponse();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, 200);
}

TEST_F(Robustness, ExpectContinueGets100BeforeTheBody) {
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  std::string data = PatternBytes(100000, 47);
  RawConnection raw(srv_->port(), milliseconds(5000));
  ASSERT_TRUE(raw.ok());
  raw.Send(RequestHead("PUT", WithQuery(loc, "digest=" + Sha256(data)), srv_->port(),
                       {{"Content-Type", "application/octet-stream"},
                        {"Content-Length", std::to_string(data.size())},
                        {"Expect", "100-continue"}}));
  auto interim = raw.ReadResponse();
  ASSERT_TRUE(interim.has_value()) << "no 100 Continue within the timeout";
  EXPECT_EQ(interim->status, 100);
  raw.Send(data);
  auto final_response = raw.ReadResponse();
  ASSERT_TRUE(final_response.has_value());
  EXPECT_EQ(final_response->status, 201) << Describe(*final_response);
}

TEST_F(Robustness, InvalidContentLengthIs400) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  for (std::string cl : {"abc", "-5", "1, 2", "99999999999999999999999"}) {
    RawConnection raw(srv->port());
    ASSERT_TRUE(raw.ok());
    raw.Send("PATCH /v2/lib/app/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl +
             "\r\n\r\n");
    raw.ShutdownWrite();
    auto r = raw.ReadResponse();
    ASSERT_TRUE(r.has_value()) << "Content-Length " << cl;
    EXPECT_TRUE(r->status == 400 || r->status == 413)
        << "Content-Length " << cl << ": " << Describe(*r);
  }
  HttpClient c(srv->port());
  EXPECT_STATUS(c.Request("GET", "/v2/"), 200);
}

TEST_F(Robustness, Http10ClientIsServedAndClosed) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  RawConnection raw(srv->port());
  ASSERT_TRUE(raw.ok());
  raw.Send("GET /v2/ HTTP/1.0\r\n\r\n");
  std::string reply = raw.ReadAll(milliseconds(5000));
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"))
      << reply.substr(0, 200);
}

TEST_F(Robustness, PatchCutOffMidBodyLeavesTheSessionResumable) {
  const uint64_t size = 1024 * 1024;
  const uint64_t sent = 300 * 1024;
  std::string data = PatternBytes(size, 41);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  {
    RawConnection raw(srv_->port());
    ASSERT_TRUE(raw.ok());
    raw.Send(RequestHead("PATCH", loc, srv_->port(),
                         {{"Content-Type", "application/octet-stream"},
                          {"Content-Length", std::to_string(size)},
                          {"Content-Range", "0-" + std::to_string(size - 1)}}));
    raw.Send(std::string_view(data).substr(0, sent));
    raw.Close();
  }
  // The server notices the close on its own schedule. Resume from whatever offset it reports; if
  // that moves under us (416), read it again. Bounded by a deadline, no sleeps.
  auto deadline = steady_clock::now() + std::chrono::seconds(10);
  bool done = false;
  while (!done && steady_clock::now() < deadline) {
    Response st = c().Request("GET", loc);
    if (st.status != 204) {
      // A server may briefly refuse a session still held by the dying request.
      ASSERT_TRUE(st.status == 409 || st.status == 423 || st.status == 429) << Describe(st);
      continue;
    }
    uint64_t have = st.Header("Range") == "0-0" ? 0 : RangeEnd(st) + 1;
    ASSERT_LE(have, sent) << "more bytes stored than were ever sent";
    HeaderList h = kOctet;
    h.emplace_back("Content-Range", std::to_string(have) + "-" + std::to_string(size - 1));
    Response p =
        c().Request("PATCH", PathOf(st.Header("Location").empty() ? loc : st.Header("Location")),
                    std::string_view(data).substr(have), h);
    // 416: the offset moved on since we asked. 409/423/429: the dying request still holds the
    // session. Anything else (a terminal 4xx in particular) means the session was not resumable.
    if (p.status == 416 || p.status == 409 || p.status == 423 || p.status == 429) continue;
    ASSERT_STATUS(p, 202);
    EXPECT_TRUE(HasUploadRange(p, size));
    Response put =
        c().Request("PUT", WithQuery(PathOf(p.Header("Location")), "digest=" + Sha256(data)));
    ASSERT_STATUS(put, 201);
    done = true;
  }
  ASSERT_TRUE(done) << "could not resume the upload before the deadline";
  Response get = c().Request("GET", "/v2/lib/app/blobs/" + Sha256(data));
  EXPECT_STATUS(get, 200);
  EXPECT_EQ(Sha256(get.body), Sha256(data));
}

TEST_F(Robustness, PutCutOffMidBodyNeverCreatesTheBlob) {
  const uint64_t size = 512 * 1024;
  std::string data = PatternBytes(size, 42);
  std::string d = Sha256(data);
  std::string loc = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc.empty());
  {
    RawConnection raw(srv_->port());
    ASSERT_TRUE(raw.ok());
    raw.Send(RequestHead(
        "PUT", WithQuery(loc, "digest=" + d), srv_->port(),
        {{"Content-Type", "application/octet-stream"}, {"Content-Length", std::to_string(size)}}));
    raw.Send(std::string_view(data).substr(0, size / 2));
    raw.Close(/*reset=*/true);
  }
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/blobs/" + d), 404);
  // Once the server has certainly dealt with the dead request (a fresh session completes with the
  // same digest only if nothing half-written was published), the blob is still absent before it.
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/blobs/" + d), 404);
  std::string loc2 = StartUpload(c(), "lib/app");
  ASSERT_FALSE(loc2.empty());
  Response put = c().Request("PUT", WithQuery(loc2, "digest=" + d), data, kOctet);
  EXPECT_STATUS(put, 201);
  EXPECT_EQ(Sha256(c().Request("GET", "/v2/lib/app/blobs/" + d).body), d);
}

TEST_F(Robustness, TruncatedManifestIsManifestInvalid) {
  PushedImage img = PushImage(c(), "lib/app", "v1", 43);
  std::string cut = img.manifest.substr(0, img.manifest.size() / 2);
  Response r = c().Request("PUT", "/v2/lib/app/manifests/v2", cut,
                           {{"Content-Type", std::string(kOciManifest)}});
  EXPECT_ERROR(r, 400, "MANIFEST_INVALID");
  std::string garbage = "\x00\xff{{{\"schemaVersion\":";
  Response g = c().Request("PUT", "/v2/lib/app/manifests/v3", garbage,
                           {{"Content-Type", std::string(kOciManifest)}});
  EXPECT_ERROR(g, 400, "MANIFEST_INVALID");
  // Valid JSON of the wrong shape.
  Response shape = c().Request("PUT", "/v2/lib/app/manifests/v4",
                               "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciManifest) +
                                   "\",\"config\":\"nope\",\"layers\":7}",
                               {{"Content-Type", std::string(kOciManifest)}});
  EXPECT_ERROR(shape, 400, "MANIFEST_INVALID");
}

TEST_F(Robustness, ManifestPutCutOffMidBodyStoresNothing) {
  PushedImage img = PushImage(c(), "lib/app", "", 44);
  {
    RawConnection raw(srv_->port());
    ASSERT_TRUE(raw.ok());
    raw.Send(RequestHead("PUT", "/v2/lib/app/manifests/cut", srv_->port(),
                         {{"Content-Type", std::string(kOciManifest)},
                          {"Content-Length", std::to_string(img.manifest.size())}}));
    raw.Send(std::string_view(img.manifest).substr(0, img.manifest.size() / 2));
    raw.Close();
  }
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/manifests/cut"), 404);
  EXPECT_STATUS(c().Request("GET", "/v2/"), 200);
}

TEST_F(Robustness, TwentyConcurrentPushesOfTheSameBlobAllSucceed) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  const uint64_t size = 256 * 1024;
  std::string data = PatternBytes(size, 45);
  std::string d = Sha256(data);
  constexpr int kClients = 20;
  std::vector<int> statuses(kClients, -1);
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c(srv->port());
      Response start = c.Request("POST", "/v2/lib/app/blobs/uploads/");
      if (start.status != 202) {
        statuses[i] = start.status;
        failures[i] = "POST: " + Describe(start);
        return;
      }
      std::string loc = PathOf(start.Header("Location"));
      HeaderList h = kOctet;
      h.emplace_back("Content-Range", "0-" + std::to_string(size / 2 - 1));
      Response p = c.Request("PATCH", loc, std::string_view(data).substr(0, size / 2), h);
      if (p.status != 202) {
        statuses[i] = p.status;
        failures[i] = "PATCH: " + Describe(p);
        return;
      }
      Response put = c.Request("PUT", WithQuery(PathOf(p.Header("Location")), "digest=" + d),
                               std::string_view(data).substr(size / 2), kOctet);
      statuses[i] = put.status;
      if (put.status != 201) failures[i] = "PUT: " + Describe(put);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i)
    EXPECT_EQ(statuses[i], 201) << "client " << i << ": " << failures[i];
  HttpClient c(srv->port());
  Response get = c.Request("GET", "/v2/lib/app/blobs/" + d);
  EXPECT_STATUS(get, 200);
  EXPECT_EQ(get.body.size(), size);
  EXPECT_EQ(Sha256(get.body), d);
}

TEST_F(Robustness, ConcurrentPushesToDifferentRepositoriesAllSucceed) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  constexpr int kClients = 8;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c(srv->port());
      std::string repo = "team/r" + std::to_string(i);
      PushedImage img = PushImage(c, repo, "v1", 100 + i);
      Response r = c.Request("GET", "/v2/" + repo + "/manifests/v1", {},
                             {{"Accept", std::string(kOciManifest)}});
      if (r.status == 200 && r.body == img.manifest) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
}

TEST_F(Robustness, SixtyFourMiBBlobInEightMiBChunksRoundTrips) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  HttpClient c(srv->port(), milliseconds(60000));
  constexpr uint64_t kSize = 64ull * 1024 * 1024;
  constexpr uint64_t kChunk = 8ull * 1024 * 1024;
  constexpr uint64_t kSeed = 46;
  // Expected digest, computed in slices (the blob never exists in memory on the sending side).
  Hasher hasher;
  for (uint64_t off = 0; off < kSize; off += kChunk)
    hasher.Update(PatternSlice(off, kChunk, kSeed));
  std::string d = hasher.Current().str();

  std::string loc = StartUpload(c, "big/blob");
  ASSERT_FALSE(loc.empty());
  for (uint64_t off = 0; off < kSize; off += kChunk) {
    uint64_t pos = off;
    BodySource src = [&pos, end = off + kChunk](char* buf, size_t n) -> size_t {
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, end - pos));
      std::string s = PatternSlice(pos, take, kSeed);
      std::copy(s.begin(), s.end(), buf);
      pos += take;
      return take;
    };
    HeaderList h = kOctet;
    h.emplace_back("Content-Range", std::to_string(off) + "-" + std::to_string(off + kChunk - 1));
    Response p = c.RequestStream("PATCH", loc, kChunk, src, h);
    ASSERT_STATUS(p, 202);
    ASSERT_TRUE(HasUploadRange(p, off + kChunk));
    loc = PathOf(p.Header("Location"));
  }
  Response put = c.Request("PUT", WithQuery(loc, "digest=" + d), "", kOctet);
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(put.Header("Docker-Content-Digest"), d);

  Response get = c.Request("GET", "/v2/big/blob/blobs/" + d);
  ASSERT_STATUS(get, 200);
  EXPECT_EQ(get.body.size(), kSize);
  EXPECT_EQ(Sha256(get.body), d);
  get.body.clear();
  get.body.shrink_to_fit();

  // A range straddling a chunk boundary in the middle.
  const uint64_t from = 3 * kChunk + kChunk / 2;
  const uint64_t to = 5 * kChunk + 12345;
  Response part =
      c.Request("GET", "/v2/big/blob/blobs/" + d, {},
                {{"Range", "bytes=" + std::to_string(from) + "-" + std::to_string(to)}});
  ASSERT_STATUS(part, 206);
  EXPECT_EQ(part.Header("Content-Range"), "bytes " + std::to_string(from) + "-" +
                                              std::to_string(to) + "/" + std::to_string(kSize));
  EXPECT_EQ(part.body.size(), to - from + 1);
  EXPECT_TRUE(part.body == PatternSlice(from, to - from + 1, kSeed)) << "range bytes differ";
}

}  // namespace
}  // namespace berth::testing
