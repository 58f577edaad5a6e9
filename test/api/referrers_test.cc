// GET /v2/<name>/referrers/<digest> (OCI distribution-spec v1.1).

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Referrers = ApiTest;

using nlohmann::json;

Response GetReferrers(HttpClient& c, std::string_view repo, std::string_view digest,
                      std::string_view query = "") {
  std::string target = "/v2/" + std::string(repo) + "/referrers/" + std::string(digest);
  if (!query.empty()) target += "?" + std::string(query);
  return c.Request("GET", target);
}

// The `manifests` array of a referrers reply, after checking it is an OCI image index.
json ReferrerList(const Response& r) {
  EXPECT_STATUS(r, 200);
  EXPECT_TRUE(r.Header("Content-Type").starts_with(kOciIndex)) << r.Header("Content-Type");
  auto j = JsonBody(r);
  if (!j) return json::array();
  EXPECT_EQ((*j)["schemaVersion"], 2) << r.body;
  EXPECT_EQ((*j)["mediaType"], kOciIndex) << r.body;
  if (!(*j)["manifests"].is_array()) {
    ADD_FAILURE() << "manifests is not an array: " << r.body;
    return json::array();
  }
  return (*j)["manifests"];
}

const json* Find(const json& list, const std::string& digest) {
  for (const auto& d : list) {
    if (d.value("digest", "") == digest) return &d;
  }
  return nullptr;
}

TEST_F(Referrers, ListsManifestsWhoseSubjectIsTheDigest) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 1);
  json subject = DescriptorOf(kOciManifest, base.manifest);
  json notes = {{"org.example.kind", "signature"}, {"org.opencontainers.image.created", "2024"}};
  PushedImage sig = PushReferrer(c(), "lib/app", subject, "application/vnd.example.sig", 2, notes);
  PushedImage sbom = PushReferrer(c(), "lib/app", subject, "application/vnd.example.sbom", 3);
  PushImage(c(), "lib/app", "unrelated", 4);

  json list = ReferrerList(GetReferrers(c(), "lib/app", base.digest));
  ASSERT_EQ(list.size(), 2u) << list.dump();
  const json* s = Find(list, sig.digest);
  ASSERT_NE(s, nullptr) << list.dump();
  EXPECT_EQ((*s)["mediaType"], kOciManifest);
  EXPECT_EQ((*s)["size"], sig.manifest.size());
  EXPECT_EQ((*s)["artifactType"], "application/vnd.example.sig");
  EXPECT_EQ((*s)["annotations"], notes);
  const json* b = Find(list, sbom.digest);
  ASSERT_NE(b, nullptr) << list.dump();
  EXPECT_EQ((*b)["artifactType"], "application/vnd.example.sbom");
  EXPECT_EQ((*b)["size"], sbom.manifest.size());
}

TEST_F(Referrers, ArtifactTypeFallsBackToConfigMediaType) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 5);
  PushedImage ref = PushReferrer(c(), "lib/app", DescriptorOf(kOciManifest, base.manifest), "", 6,
                                 nullptr, "application/vnd.example.config.v1+json");
  json list = ReferrerList(GetReferrers(c(), "lib/app", base.digest));
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["digest"], ref.digest);
  EXPECT_EQ(list[0]["artifactType"], "application/vnd.example.config.v1+json");
}

TEST_F(Referrers, ArtifactTypeFilterAppliesAndIsAnnounced) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 7);
  json subject = DescriptorOf(kOciManifest, base.manifest);
  PushedImage sig = PushReferrer(c(), "lib/app", subject, "application/vnd.example.sig", 8);
  PushReferrer(c(), "lib/app", subject, "application/vnd.example.sbom", 9);

  Response r = GetReferrers(c(), "lib/app", base.digest,
                            "artifactType=" + QueryEscape("application/vnd.example.sig"));
  json list = ReferrerList(r);
  EXPECT_EQ(r.Header("OCI-Filters-Applied"), "artifactType");
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["digest"], sig.digest);

  Response none = GetReferrers(c(), "lib/app", base.digest, "artifactType=application%2Fnothing");
  EXPECT_TRUE(ReferrerList(none).empty());
  EXPECT_EQ(none.Header("OCI-Filters-Applied"), "artifactType");

  Response unfiltered = GetReferrers(c(), "lib/app", base.digest);
  EXPECT_FALSE(unfiltered.HasHeader("OCI-Filters-Applied"));
}

TEST_F(Referrers, ArtifactTypeFilterIsPercentDecoded) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 20);
  json subject = DescriptorOf(kOciManifest, base.manifest);
  PushedImage sbom = PushReferrer(c(), "lib/app", subject, "application/spdx+json", 21);
  PushReferrer(c(), "lib/app", subject, "application/vnd.other", 22);
  // '+' is sent as %2B: a literal '+' in a query means a space.
  json list = ReferrerList(
      GetReferrers(c(), "lib/app", base.digest, "artifactType=application%2Fspdx%2Bjson"));
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["digest"], sbom.digest);
}

TEST_F(Referrers, DigestWithoutReferrersIsAnEmptyIndex) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 10);
  EXPECT_TRUE(ReferrerList(GetReferrers(c(), "lib/app", base.digest)).empty());
  // A digest the repository has never seen: still 200 and empty.
  EXPECT_TRUE(ReferrerList(GetReferrers(c(), "lib/app", Sha256("unknown subject"))).empty());
}

TEST_F(Referrers, DeletedReferrerIsNoLongerListed) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 11);
  json subject = DescriptorOf(kOciManifest, base.manifest);
  PushedImage gone = PushReferrer(c(), "lib/app", subject, "application/vnd.example.sig", 12);
  PushedImage kept = PushReferrer(c(), "lib/app", subject, "application/vnd.example.sig", 13);
  ASSERT_EQ(ReferrerList(GetReferrers(c(), "lib/app", base.digest)).size(), 2u);
  ASSERT_STATUS(c().Request("DELETE", "/v2/lib/app/manifests/" + gone.digest), 202);
  json list = ReferrerList(GetReferrers(c(), "lib/app", base.digest));
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["digest"], kept.digest);
}

TEST_F(Referrers, MalformedDigestIsDigestInvalid) {
  PushImage(c(), "lib/app", "v1", 14);
  EXPECT_ERROR(GetReferrers(c(), "lib/app", "sha256:totallywrong"), 400, "DIGEST_INVALID");
}

TEST_F(Referrers, ReferrerMayBePushedBeforeItsSubject) {
  // Build the subject's manifest bytes without pushing the manifest itself.
  std::string config = "{\"later\":true}";
  std::string layer = "later layer";
  PushBlob(c(), "lib/app", config);
  PushBlob(c(), "lib/app", layer);
  std::string subject_manifest = json{{"schemaVersion", 2},
                                      {"mediaType", kOciManifest},
                                      {"config", DescriptorOf(kOciConfig, config)},
                                      {"layers", {DescriptorOf(kOciLayer, layer)}}}
                                     .dump();
  json subject = DescriptorOf(kOciManifest, subject_manifest);
  PushedImage ref = PushReferrer(c(), "lib/app", subject, "application/vnd.example.sig", 15);
  ASSERT_FALSE(ref.digest.empty());
  json early = ReferrerList(GetReferrers(c(), "lib/app", Sha256(subject_manifest)));
  ASSERT_EQ(early.size(), 1u) << early.dump();
  EXPECT_EQ(early[0]["digest"], ref.digest);
  // The subject arrives later; the referrer is still listed.
  ASSERT_FALSE(PushManifest(c(), "lib/app", "v1", kOciManifest, subject_manifest).empty());
  json later = ReferrerList(GetReferrers(c(), "lib/app", Sha256(subject_manifest)));
  ASSERT_EQ(later.size(), 1u) << later.dump();
}

TEST_F(Referrers, IndexWithSubjectIsListed) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 16);
  PushedImage child = PushImage(c(), "lib/app", "", 17);
  std::string index = json{{"schemaVersion", 2},
                           {"mediaType", kOciIndex},
                           {"artifactType", "application/vnd.example.bundle"},
                           {"manifests", {DescriptorOf(kOciManifest, child.manifest)}},
                           {"subject", DescriptorOf(kOciManifest, base.manifest)}}
                          .dump();
  Response put = c().Request("PUT", "/v2/lib/app/manifests/" + Sha256(index), index,
                             {{"Content-Type", std::string(kOciIndex)}});
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(put.Header("OCI-Subject"), base.digest);
  std::string d = put.Header("Docker-Content-Digest");
  ASSERT_EQ(d, Sha256(index));
  json list = ReferrerList(GetReferrers(c(), "lib/app", base.digest));
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["digest"], d);
  EXPECT_EQ(list[0]["mediaType"], kOciIndex);
  EXPECT_EQ(list[0]["artifactType"], "application/vnd.example.bundle");
}

TEST_F(Referrers, ReferrersAreScopedToTheRepository) {
  PushedImage a = PushImage(c(), "team/a", "v1", 18);
  PushedImage b = PushImage(c(), "team/b", "v1", 18);  // same bytes, same digest
  ASSERT_EQ(a.digest, b.digest);
  PushReferrer(c(), "team/a", DescriptorOf(kOciManifest, a.manifest), "application/vnd.x", 19);
  EXPECT_EQ(ReferrerList(GetReferrers(c(), "team/a", a.digest)).size(), 1u);
  EXPECT_TRUE(ReferrerList(GetReferrers(c(), "team/b", b.digest)).empty());
}

}  // namespace
}  // namespace berth::testing
