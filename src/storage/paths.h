#pragma once
// The on-disk layout, kept byte-for-byte compatible with CNCF Distribution (registry:2), so a directory
// written by either is served by the other. This file is the one place that knows it. All paths are
// driver paths (see storage/driver/driver.h) under the driver's root:
//
//   /docker/registry/v2/
//     blobs/<alg>/<first 2 hex>/<hex>/data                  blob bytes (layers, configs AND manifests)
//     repositories/<name>/
//       _layers/<alg>/<hex>/link                            "<alg>:<hex>": blob is in this repository
//       _manifests/revisions/<alg>/<hex>/link               "<alg>:<hex>": manifest is in this repository
//       _manifests/tags/<tag>/current/link                  "<alg>:<hex>": what <tag> points at now
//       _manifests/tags/<tag>/index/<alg>/<hex>/link        every manifest <tag> has pointed at
//       _manifests/referrers/<alg>/<subject hex>/<alg>/<hex>/link
//                                                           Berth's referrers index: manifest <hex> has
//                                                           subject <subject hex>. Derived data,
//                                                           ignored by Distribution (it only reads
//                                                           tags/ and revisions/ under _manifests).
//       _uploads/<uuid>/data                                bytes received so far
//       _uploads/<uuid>/startedat                           RFC 3339 time the upload started
//       _uploads/<uuid>/hashstates/<alg>/<offset>           Distribution's saved hash state (Go
//                                                           encoding); Berth neither reads nor
//                                                           writes it: it keeps hash state in memory
//                                                           and re-hashes `data` after a restart.
//
// Link files hold the digest string with no trailing newline. A repository exists for the catalog when
// its directory holds `_manifests` (as in Distribution).
// Thread-safe (pure functions). Inputs are validated names, tags and digests.

#include <string>
#include <string_view>

#include "common/digest.h"

namespace berth::storage::paths {

inline constexpr std::string_view kRoot = "/docker/registry/v2";

std::string BlobsRoot();
std::string BlobData(const Digest& d);
std::string BlobDir(const Digest& d);

std::string RepositoriesRoot();
std::string Repository(std::string_view name);
std::string LayersDir(std::string_view name);
std::string LayerLink(std::string_view name, const Digest& d);
std::string LayerLinkDir(std::string_view name, const Digest& d);
std::string ManifestsDir(std::string_view name);
std::string RevisionLink(std::string_view name, const Digest& d);
std::string RevisionLinkDir(std::string_view name, const Digest& d);
// The directory holding one revision directory per manifest of `alg` (named by its hex).
std::string RevisionsDir(std::string_view name, DigestAlgorithm alg);
std::string TagsDir(std::string_view name);
std::string TagDir(std::string_view name, std::string_view tag);
std::string TagCurrentLink(std::string_view name, std::string_view tag);
std::string TagIndexLink(std::string_view name, std::string_view tag, const Digest& d);
std::string ReferrersDir(std::string_view name, const Digest& subject);
std::string ReferrerLink(std::string_view name, const Digest& subject, const Digest& referrer);
std::string ReferrerLinkDir(std::string_view name, const Digest& subject, const Digest& referrer);
std::string UploadsDir(std::string_view name);
std::string UploadDir(std::string_view name, std::string_view id);
std::string UploadData(std::string_view name, std::string_view id);
std::string UploadStartedAt(std::string_view name, std::string_view id);

// The digest a link file names, from its content. DIGEST_INVALID on junk.
Result<Digest> ParseLink(std::string_view content);

}  // namespace berth::storage::paths
