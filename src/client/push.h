#pragma once
// The push side of the registry client (client/registry.h): blob existence, cross-repository
// mount, blob upload (one PUT for small blobs, PATCH chunks then PUT for large ones) and manifest
// PUT, against any OCI distribution registry (Berth, Distribution, others), authenticated by the
// RegistryClient for "repository:<name>:pull,push".
//
//   BERTH_ASSIGN_OR_RETURN(bool there, client::BlobExists(reg, "team/app", d));
//   if (!there && !*client::MountBlob(reg, "team/app", "team/base", d))
//     BERTH_RETURN_IF_ERROR(client::PushBlob(reg, "team/app", d, size, reader));
//   BERTH_RETURN_IF_ERROR(client::PushManifest(reg, "team/app", "1", media_type, bytes, d));
//
// Errors: as RegistryClient (the upstream's envelope mapped back to its code; UNAVAILABLE for
// transport failures and 5xx, so callers may retry those); DIGEST_INVALID when the registry
// reports another digest for a manifest than the bytes have. A failed upload is cancelled
// (DELETE) on a best-effort basis.
//
// Thread-safe as RegistryClient; every call blocks (call off event loops).

#include <cstdint>
#include <string>
#include <string_view>

#include "client/http.h"
#include "client/registry.h"
#include "common/digest.h"
#include "common/error.h"

namespace berth::client {

// Blobs at least this large go up in PATCH chunks of this size (Distribution and most registries
// accept a monolithic PUT of any size, but a chunked upload keeps each request bounded).
inline constexpr uint64_t kDefaultChunkBytes = 16 << 20;

// HEAD /v2/<repo>/blobs/<d>: true when the repository has it.
Result<bool> BlobExists(RegistryClient& reg, std::string_view repo, const Digest& d);

// POST /v2/<repo>/blobs/uploads/?mount=<d>&from=<from>: true when the registry mounted it (201);
// false when it started an upload instead (which is cancelled) or refused the mount.
Result<bool> MountBlob(RegistryClient& reg, std::string_view repo, std::string_view from,
                       const Digest& d);

// Uploads exactly `size` bytes from `body` as blob `d` of `repo`. `body` is read once, in order.
Status PushBlob(RegistryClient& reg, std::string_view repo, const Digest& d, uint64_t size,
                const BodyReader& body, uint64_t chunk_bytes = kDefaultChunkBytes);

// PUT /v2/<repo>/manifests/<reference> (a tag or `d` itself); checks the registry's
// Docker-Content-Digest, when it sends one, against `d`.
Status PushManifest(RegistryClient& reg, std::string_view repo, std::string_view reference,
                    std::string_view media_type, const std::string& bytes, const Digest& d);

// DELETE /v2/<repo>/manifests/<reference> (delete propagation): a digest deletes the manifest and
// its tags; a tag deletes the tag only where the registry supports it (OCI 1.1; Distribution 2.8
// answers UNSUPPORTED). MANIFEST_UNKNOWN when absent.
Status DeleteManifest(RegistryClient& reg, std::string_view repo, std::string_view reference);

}  // namespace berth::client
