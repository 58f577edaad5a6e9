#include "storage/manifest.h"

#include <gtest/gtest.h>

#include <random>

namespace berth::storage {
namespace {

const std::string kCfg = "sha256:" + std::string(64, 'c');
const std::string kLayer = "sha256:" + std::string(64, 'a');

std::string OciManifest(const std::string& extra = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kCfg + R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)"
         R"("digest":")" + kLayer + R"(","size":20}])" + extra + "}";
}

TEST(Manifest, ParsesOciImageManifest) {
  auto m = ParseManifest(OciManifest(), kOciManifest);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->media_type, kOciManifest);
  EXPECT_FALSE(m->is_index);
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->digest.str(), kCfg);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->artifact_type, "application/vnd.oci.image.config.v1+json");
}

TEST(Manifest, SubjectAndArtifactType) {
  std::string subj = "sha256:" + std::string(64, 'd');
  auto m = ParseManifest(
      OciManifest(R"(,"artifactType":"application/x-sig","subject":{"mediaType":")"
                  "application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + subj +
                  R"(","size":5},"annotations":{"a":"b"})"),
      "");
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->subject->digest.str(), subj);
  EXPECT_EQ(m->artifact_type, "application/x-sig");
  EXPECT_EQ(m->annotations_json, R"({"a":"b"})");
}

TEST(Manifest, IndexAndDockerList) {
  std::string idx = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
                    R"("manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                    R"("digest":")" + kLayer + R"(","size":3}]})";
  auto m = ParseManifest(idx, kOciIndex);
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->is_index);
  EXPECT_EQ(m->manifests.size(), 1u);
  std::string list = R"({"schemaVersion":2,"mediaType":")" + std::string(kDockerList) +
                     R"(","manifests":[]})";
  auto l = ParseManifest(list, kDockerList);
  ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(l->is_index);
}

TEST(Manifest, Schema1IsRefusedWithAClearMessage) {
  auto m = ParseManifest(R"({"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]})",
                         kDockerSchema1Signed);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kManifestInvalid);
  EXPECT_NE(m.error().message.find("schema1"), std::string::npos);
  auto m2 = ParseManifest(R"({"schemaVersion":1})", "application/json");
  ASSERT_FALSE(m2.has_value());
  EXPECT_NE(m2.error().message.find("schema1"), std::string::npos);
}

TEST(Manifest, MismatchedContentTypeIsInvalid) {
  auto m = ParseManifest(OciManifest(), kDockerManifest);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kManifestInvalid);
}

TEST(Manifest, BadDescriptorDigestIsDigestInvalid) {
  std::string bad = OciManifest();
  bad.replace(bad.find(kCfg), kCfg.size(), "sha256:totallywrong");
  auto m = ParseManifest(bad, kOciManifest);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kDigestInvalid);
}

TEST(Manifest, DetectMediaType) {
  EXPECT_EQ(DetectMediaType(OciManifest()), kOciManifest);
  EXPECT_EQ(DetectMediaType(R"({"schemaVersion":2,"manifests":[]})"), kOciIndex);
  EXPECT_EQ(DetectMediaType(R"({"schemaVersion":2,"config":{}})"), kOciManifest);
}

TEST(ManifestFuzz, GarbageNeverCrashes) {
  std::mt19937 rng(3);
  std::string base = OciManifest();
  for (int i = 0; i < 5000; ++i) {
    std::string s = base;
    int edits = 1 + static_cast<int>(rng() % 5);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[pos] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(pos, 1 + rng() % 10); break;
        default: s.insert(pos, 1, "{}[],:\"0a"[rng() % 9]); break;
      }
      if (s.empty()) s = "{";
    }
    auto m = ParseManifest(s, rng() % 2 ? std::string(kOciManifest) : std::string());
    if (!m) {
      EXPECT_TRUE(m.error().code == ErrorCode::kManifestInvalid ||
                  m.error().code == ErrorCode::kDigestInvalid)
          << m.error().ToString();
    }
  }
}

}  // namespace
}  // namespace berth::storage
