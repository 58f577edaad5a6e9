#include "storage/paths.h"

#include <gtest/gtest.h>

namespace berth::storage::paths {
namespace {

const Digest kD = *Digest::Parse("sha256:" + std::string(
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));

// Pins the layout to Distribution's, path by path.
TEST(Paths, DistributionLayout) {
  const std::string hex = kD.hex();
  EXPECT_EQ(BlobData(kD), "/docker/registry/v2/blobs/sha256/e3/" + hex + "/data");
  EXPECT_EQ(LayerLink("team/app", kD),
            "/docker/registry/v2/repositories/team/app/_layers/sha256/" + hex + "/link");
  EXPECT_EQ(RevisionLink("team/app", kD),
            "/docker/registry/v2/repositories/team/app/_manifests/revisions/sha256/" + hex + "/link");
  EXPECT_EQ(TagCurrentLink("team/app", "v1"),
            "/docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link");
  EXPECT_EQ(TagIndexLink("team/app", "v1", kD),
            "/docker/registry/v2/repositories/team/app/_manifests/tags/v1/index/sha256/" + hex +
                "/link");
  EXPECT_EQ(UploadData("team/app", "u1"),
            "/docker/registry/v2/repositories/team/app/_uploads/u1/data");
  EXPECT_EQ(UploadStartedAt("team/app", "u1"),
            "/docker/registry/v2/repositories/team/app/_uploads/u1/startedat");
}

TEST(Paths, ParseLinkToleratesTrailingNewline) {
  EXPECT_EQ(*ParseLink(kD.str()), kD);
  EXPECT_EQ(*ParseLink(kD.str() + "\n"), kD);
  EXPECT_FALSE(ParseLink("garbage").has_value());
}

}  // namespace
}  // namespace berth::storage::paths
