#include "notify/envelope.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/time.h"

namespace berth::notify {
namespace {

using nlohmann::json;

api::Event ManifestPush(std::string_view manifest) {
  api::Event e;
  e.action = api::EventAction::kPush;
  e.time = *ParseRfc3339("2026-12-01T05:00:00.5Z");
  e.repository = "team/app";
  e.tag = "v1";
  e.digest = "sha256:" + std::string(64, 'a');
  e.media_type = "application/vnd.oci.image.manifest.v1+json";
  e.size = manifest.size();
  e.url = "http://reg:5000/v2/team/app/manifests/" + e.digest;
  e.manifest = manifest;
  e.request = {"req-1", "10.0.0.1:1234", "reg:5000", "PUT", "docker/24"};
  e.actor = "alice";
  return e;
}

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
    std::string(64, 'b') + R"(","size":7},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:)" +
    std::string(64, 'c') + R"(","size":9}]})";

TEST(Envelope, DistributionEventFieldsHaveRegistry2Names) {
  json j = json::parse(EventJson(ManifestPush(kManifest), "id-1", {"host:5000", "inst"}, false));
  EXPECT_EQ(j["id"], "id-1");
  EXPECT_EQ(j["timestamp"], "2026-12-01T05:00:00.5Z");
  EXPECT_EQ(j["action"], "push");
  const json& t = j["target"];
  EXPECT_EQ(t["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(t["size"], kManifest.size());
  EXPECT_EQ(t["length"], kManifest.size());
  EXPECT_EQ(t["digest"], "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(t["repository"], "team/app");
  EXPECT_EQ(t["tag"], "v1");
  EXPECT_TRUE(t["url"].get<std::string>().ends_with("/manifests/sha256:" + std::string(64, 'a')));
  EXPECT_FALSE(t.contains("references"));
  EXPECT_FALSE(t.contains("fromRepository"));
  EXPECT_EQ(j["request"], json({{"id", "req-1"},
                                {"addr", "10.0.0.1:1234"},
                                {"host", "reg:5000"},
                                {"method", "PUT"},
                                {"useragent", "docker/24"}}));
  EXPECT_EQ(j["actor"], json({{"name", "alice"}}));
  EXPECT_EQ(j["source"], json({{"addr", "host:5000"}, {"instanceID", "inst"}}));
}

TEST(Envelope, IncludeReferencesListsConfigAndLayers) {
  json j = json::parse(EventJson(ManifestPush(kManifest), "id", {}, true));
  const json& refs = j["target"]["references"];
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0]["digest"], "sha256:" + std::string(64, 'b'));
  EXPECT_EQ(refs[0]["size"], 7);
  EXPECT_EQ(refs[1]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
}

TEST(Envelope, EmptyFieldsAreLeftOutAsGoOmitemptyDoes) {
  api::Event e;
  e.action = api::EventAction::kDelete;
  e.repository = "app";
  e.tag = "old";
  json j = json::parse(EventJson(e, "id", {}, true));
  EXPECT_EQ(j["target"], json({{"repository", "app"}, {"tag", "old"}}));
  EXPECT_EQ(j["actor"], json::object());
  EXPECT_TRUE(j["request"].contains("useragent"));  // not omitempty in registry:2
}

TEST(Envelope, DistributionBodyIsAnEventsEnvelope) {
  std::string ev = EventJson(ManifestPush(kManifest), "id-9", {}, false);
  auto body = DistributionBody(ev);
  ASSERT_TRUE(body);
  json j = json::parse(*body);
  ASSERT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["events"][0], json::parse(ev));
  EXPECT_FALSE(DistributionBody("{\"no\":1}"));
  EXPECT_FALSE(DistributionBody("garbage"));
}

TEST(Envelope, CloudEventCarriesTheEventAsData) {
  std::string ev = EventJson(ManifestPush(kManifest), "id-9", {"h:1", "i"}, false);
  auto body = CloudEventBody(ev);
  ASSERT_TRUE(body);
  json j = json::parse(*body);
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["id"], "id-9");
  EXPECT_EQ(j["type"], "io.berth.registry.push");
  EXPECT_EQ(j["source"], "berth://h:1");
  EXPECT_EQ(j["subject"], "team/app:v1");
  EXPECT_EQ(j["time"], "2026-12-01T05:00:00.5Z");
  EXPECT_EQ(j["datacontenttype"], "application/json");
  EXPECT_EQ(j["data"], json::parse(ev));
}

TEST(Envelope, SignatureIsHmacSha256KnownAnswer) {
  // RFC 4231 test case 2.
  EXPECT_EQ(Signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace berth::notify
