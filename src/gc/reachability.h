#pragma once
// What garbage collection keeps in one repository: the marking rules as pure functions, shared by
// the collector (gc/collector.h) and by retention (which asks what deleting a tag would free).
//
// A repository's manifests are given as nodes (one per revision link) with what each refers to. A
// manifest is kept when it is
//   - tagged, or young (its revision link changed within the grace period, or it was used since:
//     a lease, see gc/lease.h), or any manifest at all unless untagged ones are being deleted
//     (KeepRules::delete_untagged; Distribution's `--delete-untagged`);
//   - a child of a kept index (Distribution 2.8 deletes those: distribution#3178);
//   - a manifest whose `subject` is a kept manifest (signatures, SBOMs, attestations).
// Everything a kept manifest refers to (config, layers, children, itself) is then marked, across
// repositories, by the caller.
//
// Thread-safe (pure functions).

#include <optional>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/error.h"

namespace berth::gc {

// The digests a manifest's bytes name, by role. Lenient about format: OCI manifest and index,
// Docker schema 2 and manifest list, and Docker schema 1 (`fsLayers[].blobSum`, still found in old
// Distribution trees) all parse; descriptors with malformed digests are skipped (nothing can be
// stored under them).
struct ManifestRefs {
  std::vector<Digest> blobs;     // config and layers (foreign layers included; keeping is safe)
  std::vector<Digest> children;  // an index's manifests
  std::optional<Digest> subject;
};
// MANIFEST_INVALID when the bytes are not a JSON object.
Result<ManifestRefs> ExtractReferences(std::string_view bytes);

struct ManifestNode {
  Digest digest;
  bool tagged = false;
  bool young = false;  // linked within the grace period, or leased
  ManifestRefs refs;   // empty when the content could not be read (it is then kept if a root)
};

struct KeepRules {
  bool delete_untagged = false;
};

// kept[i] tells whether nodes[i] is kept. Linear in the nodes and their references.
std::vector<bool> KeptManifests(const std::vector<ManifestNode>& nodes, const KeepRules& rules);

}  // namespace berth::gc
