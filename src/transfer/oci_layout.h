#pragma once
// The OCI image layout as Berth writes it (export, backup) and reads it (import, restore):
//
//   oci-layout     {"imageLayoutVersion":"1.0.0"}
//   blobs/sha256/<hex>   every manifest, index, config and layer, once each
//   index.json     an OCI image index; one entry per exported tag:
//                    annotations "org.opencontainers.image.ref.name": "<tag>"
//                                "io.containerd.image.name": "<repository>:<tag>"
//                                "dev.berth.repository": "<repository>"
//                  and one entry per referrer (signatures, SBOMs) and, in backups, per untagged
//                  manifest, with only "dev.berth.repository" (no ref.name: they have no tag).
//                  Index children are not listed: they are reached through their index.
//
// skopeo (`oci:DIR:TAG`), umoci, containerd (`ctr import`) and oras read it; importers that do not
// know dev.berth.repository take the repository from io.containerd.image.name or from --repo.

#include <string_view>

namespace berth::transfer {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kContainerdNameAnnotation = "io.containerd.image.name";
inline constexpr std::string_view kRepositoryAnnotation = "dev.berth.repository";
inline constexpr std::string_view kLayoutFile = "oci-layout";
inline constexpr std::string_view kLayoutContent = R"({"imageLayoutVersion":"1.0.0"})";
inline constexpr std::string_view kIndexFile = "index.json";

}  // namespace berth::transfer
