#pragma once
// What keeps a manifest of a repository, for retention's "the manifest follows only when nothing
// else keeps it". One repository's manifests form a graph:
//  - an index keeps each manifest it lists (`manifests`);
//  - a manifest keeps its referrers (manifests whose `subject` it is: signatures, SBOMs), and a
//    kept referrer keeps its subject (so a kept signature never dangles).
// Collection (src/gc) keeps the same things across the registry; this is the per-repository form
// retention needs, kept behind these two functions so that it can be replaced by gc's helper.
// Thread-safety: pure functions.

#include <optional>
#include <set>
#include <vector>

#include "common/digest.h"
#include "common/time.h"

namespace berth::policy {

struct ManifestNode {
  Digest digest;
  SystemTime linked;             // when the revision link was (last) written
  std::vector<Digest> children;  // an index's manifests
  std::optional<Digest> subject;
};

// Every manifest kept by `roots` through the edges above (roots included; digests not in `graph`
// are kept but have no edges).
std::set<Digest> KeptBy(const std::vector<ManifestNode>& graph, const std::set<Digest>& roots);

// `seeds` and what would go with them: the manifests they list and their referrers, transitively
// (never a manifest's subject: deleting a signature does not delete the image).
std::set<Digest> Dependents(const std::vector<ManifestNode>& graph, const std::set<Digest>& seeds);

}  // namespace berth::policy
