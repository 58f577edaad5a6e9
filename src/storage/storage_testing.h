#pragma once
// Test helpers for code above the storage interfaces (storage/registry.h): pushing a blob through
// an upload session and writing an image manifest that names blobs. Test-only; header-only.

#include <gtest/gtest.h>

#include <string>

#include "storage/registry.h"

namespace berth::storage::testing {

// Uploads `data` into `repo` and returns what was published (a failed step fails the test).
inline BlobInfo PushBlob(Namespace& ns, const std::string& repo, const std::string& data) {
  auto up = ns.Uploads().Start(repo);
  EXPECT_TRUE(up.has_value());
  if (!up) return {};
  auto w = ns.Uploads().Open(repo, up->id);
  EXPECT_TRUE(w.has_value());
  if (!w) return {};
  EXPECT_TRUE((*w)->Write(data.data(), data.size()).has_value());
  auto info = (*w)->Commit(Digest::Of(data));
  EXPECT_TRUE(info.has_value()) << info.error().ToString();
  return info ? *info : BlobInfo{};
}

// An OCI image manifest with config `cfg` and one layer; `extra` is spliced in before the final
// brace (e.g. R"(,"subject":{...})").
inline std::string ImageManifest(const BlobInfo& cfg, const BlobInfo& layer,
                                 const std::string& extra = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         cfg.digest.str() + R"(","size":)" + std::to_string(cfg.size) +
         R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
         layer.digest.str() + R"(","size":)" + std::to_string(layer.size) + "}]" + extra + "}";
}

}  // namespace berth::storage::testing
