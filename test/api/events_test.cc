// The API's event seam (api/events.h): which requests produce which events, with which fields, and
// that failed requests produce none.
#include <mutex>

#include "api/events.h"
#include "auth/encoding.h"
#include "auth/htpasswd.h"
#include "test/api/api_test_util.h"
#include "test/support/temp_dir.h"

namespace berth::testing {
namespace {

// Copies every event (the manifest bytes too, since they are only valid during Emit).
class RecordingSink : public api::EventSink {
 public:
  struct Recorded {
    api::Event event;
    std::string manifest;
  };
  void Emit(const api::Event& e) noexcept override {
    std::lock_guard lock(mu_);
    events_.push_back({e, std::string(e.manifest)});
    events_.back().event.manifest = {};
  }
  std::vector<Recorded> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(events_, {});
  }

 private:
  std::mutex mu_;
  std::vector<Recorded> events_;
};

std::string Actions(const std::vector<RecordingSink::Recorded>& events) {
  std::string out;
  for (const auto& r : events) {
    out += (out.empty() ? "" : " ") + std::string(api::ActionName(r.event.action));
  }
  return out;
}

class Events : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    TestServerOptions o = Options();
    o.deps.adjust_api = [sink = sink_](api::ApiOptions& ao) { ao.event_sinks.push_back(sink); };
    return o;
  }
  virtual TestServerOptions Options() const { return {}; }
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
};

TEST_F(Events, PushEmitsBlobAndManifestEventsWithTheirFields) {
  PushedImage img = PushImage(c(), "team/app", "v1");
  auto events = sink_->Take();
  ASSERT_EQ(Actions(events), "push push push");
  const api::Event& layer = events[1].event;
  EXPECT_EQ(layer.repository, "team/app");
  EXPECT_EQ(layer.media_type, "application/octet-stream");
  EXPECT_EQ(layer.size, img.layer.size());
  EXPECT_EQ(layer.digest, DescriptorOf(kOciLayer, img.layer)["digest"]);
  EXPECT_EQ(layer.url, "http://" + srv_->hostport() + "/v2/team/app/blobs/" + layer.digest);
  EXPECT_EQ(layer.request.method, "PUT");
  EXPECT_EQ(layer.status, 201);
  const api::Event& m = events[2].event;
  EXPECT_EQ(m.tag, "v1");
  EXPECT_EQ(m.digest, img.digest);
  EXPECT_EQ(m.media_type, kOciManifest);
  EXPECT_EQ(m.size, img.manifest.size());
  EXPECT_EQ(events[2].manifest, img.manifest);
  EXPECT_EQ(m.url, "http://" + srv_->hostport() + "/v2/team/app/manifests/" + img.digest);
  EXPECT_EQ(m.request.host, srv_->hostport());
  EXPECT_EQ(m.request.addr.rfind("127.0.0.1:", 0), 0u) << m.request.addr;
  EXPECT_EQ(m.request.id.size(), 36u);
  EXPECT_NE(m.request.id, layer.request.id);
  EXPECT_EQ(m.actor, "");
}

TEST_F(Events, PullsByTagAndDigestAndBlobReadsArePulls) {
  PushedImage img = PushImage(c(), "app", "latest");
  sink_->Take();
  EXPECT_STATUS(c().Request("GET", "/v2/app/manifests/latest", "", {{"User-Agent", "ua/1"}}), 200);
  EXPECT_STATUS(c().Request("HEAD", "/v2/app/manifests/" + img.digest), 200);
  std::string layer = DescriptorOf(kOciLayer, img.layer)["digest"];
  EXPECT_STATUS(c().Request("GET", "/v2/app/blobs/" + layer), 200);
  EXPECT_STATUS(c().Request("GET", "/v2/app/blobs/" + layer, "", {{"Range", "bytes=0-0"}}), 206);
  auto events = sink_->Take();
  ASSERT_EQ(Actions(events), "pull pull pull pull");
  EXPECT_EQ(events[0].event.tag, "latest");
  EXPECT_EQ(events[0].event.digest, img.digest);
  EXPECT_EQ(events[0].event.request.user_agent, "ua/1");
  EXPECT_EQ(events[0].manifest, img.manifest);
  EXPECT_EQ(events[1].event.tag, "");
  EXPECT_EQ(events[1].event.request.method, "HEAD");
  EXPECT_EQ(events[2].event.digest, layer);
  EXPECT_EQ(events[3].event.size, img.layer.size());  // the blob's size, not the range's
  EXPECT_EQ(events[3].event.status, 206);
}

TEST_F(Events, FailedRequestsEmitNothing) {
  EXPECT_STATUS(c().Request("GET", "/v2/app/manifests/nope"), 404);
  EXPECT_STATUS(c().Request("GET", "/v2/app/blobs/sha256:" + std::string(64, 'a')), 404);
  EXPECT_STATUS(c().Request("PUT", "/v2/app/manifests/t", "{not json",
                            {{"Content-Type", std::string(kOciManifest)}}),
                400);
  EXPECT_EQ(Actions(sink_->Take()), "");
}

TEST_F(Events, DeletesOfTagManifestAndBlobAreDeleteEvents) {
  PushedImage img = PushImage(c(), "app", "v1");
  std::string layer = DescriptorOf(kOciLayer, img.layer)["digest"];
  sink_->Take();
  EXPECT_STATUS(c().Request("DELETE", "/v2/app/manifests/v1"), 202);
  EXPECT_STATUS(c().Request("DELETE", "/v2/app/manifests/" + img.digest), 202);
  EXPECT_STATUS(c().Request("DELETE", "/v2/app/blobs/" + layer), 202);
  auto events = sink_->Take();
  ASSERT_EQ(Actions(events), "delete delete delete");
  EXPECT_EQ(events[0].event.tag, "v1");
  EXPECT_EQ(events[0].event.digest, "");
  EXPECT_EQ(events[1].event.digest, img.digest);
  EXPECT_EQ(events[1].event.tag, "");
  EXPECT_EQ(events[2].event.digest, layer);
  EXPECT_EQ(events[2].event.url, "");
}

TEST_F(Events, MountNamesTheSourceRepository) {
  std::string d = PushBlob(c(), "src", "shared bytes");
  sink_->Take();
  EXPECT_STATUS(c().Request("POST", "/v2/dst/blobs/uploads/?mount=" + d + "&from=src"), 201);
  auto events = sink_->Take();
  ASSERT_EQ(Actions(events), "mount");
  EXPECT_EQ(events[0].event.repository, "dst");
  EXPECT_EQ(events[0].event.from_repository, "src");
  EXPECT_EQ(events[0].event.digest, d);
  EXPECT_EQ(events[0].event.size, 12u);
}

class EventsWithAuth : public Events {
 protected:
  TestServerOptions Options() const override {
    auto hash = auth::BcryptHash("wonderland", 4);
    WriteFile(dir_.Path("htpasswd"), "alice:" + hash.value() + "\n");
    return WithYaml("auth:\n  htpasswd:\n    realm: r\n    path: " + dir_.Path("htpasswd") + "\n");
  }
  static std::string Basic(const std::string& user, const std::string& pass) {
    return "Basic " + auth::Base64Encode(user + ":" + pass);
  }
  TempDir dir_;
};

TEST_F(EventsWithAuth, BadCredentialsAreDeniedWithReasonButTheChallengeIsNot) {
  EXPECT_STATUS(c().Request("GET", "/v2/app/manifests/x"), 401);  // the handshake
  EXPECT_EQ(Actions(sink_->Take()), "");
  EXPECT_STATUS(
      c().Request("GET", "/v2/app/manifests/x", "", {{"Authorization", Basic("alice", "no")}}),
      401);
  auto events = sink_->Take();
  ASSERT_EQ(Actions(events), "denied");
  EXPECT_EQ(events[0].event.repository, "app");
  EXPECT_EQ(events[0].event.status, 401);
  EXPECT_FALSE(events[0].event.reason.empty());
}

TEST_F(EventsWithAuth, TheActorIsTheAuthenticatedUser) {
  Response r = c().Request("POST", "/v2/app/blobs/uploads/?digest=sha256:" +
                                       Digest::Of("abc").hex(),
                           "abc", {{"Authorization", Basic("alice", "wonderland")}});
  EXPECT_STATUS(r, 201);
  auto events = sink_->Take();
  ASSERT_EQ(Actions(events), "push");
  EXPECT_EQ(events[0].event.actor, "alice");
}

}  // namespace
}  // namespace berth::testing
