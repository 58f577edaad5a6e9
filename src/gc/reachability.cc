#include "gc/reachability.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

namespace berth::gc {
namespace {

using Json = nlohmann::json;

std::optional<Digest> DigestField(const Json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  auto d = Digest::Parse(it->get_ref<const std::string&>());
  if (!d) return std::nullopt;
  return *d;
}

void Collect(const Json& doc, const char* array, const char* key, std::vector<Digest>& out) {
  auto it = doc.find(array);
  if (it == doc.end() || !it->is_array()) return;
  for (const Json& e : *it) {
    if (auto d = DigestField(e, key)) out.push_back(std::move(*d));
  }
}

}  // namespace

Result<ManifestRefs> ExtractReferences(std::string_view bytes) {
  Json doc = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return MakeError(ErrorCode::kManifestInvalid, "manifest content is not a JSON object");
  }
  ManifestRefs refs;
  if (auto it = doc.find("config"); it != doc.end()) {
    if (auto d = DigestField(*it, "digest")) refs.blobs.push_back(std::move(*d));
  }
  Collect(doc, "layers", "digest", refs.blobs);
  Collect(doc, "fsLayers", "blobSum", refs.blobs);  // Docker schema 1
  Collect(doc, "manifests", "digest", refs.children);
  if (auto it = doc.find("subject"); it != doc.end()) refs.subject = DigestField(*it, "digest");
  return refs;
}

std::vector<bool> KeptManifests(const std::vector<ManifestNode>& nodes, const KeepRules& rules) {
  std::unordered_map<std::string_view, size_t> by_hex;  // digests of one algorithm per repo is
  by_hex.reserve(nodes.size());                         // not assumed: the algorithm is checked
  std::unordered_multimap<std::string_view, size_t> referrers;  // subject hex -> referrer
  for (size_t i = 0; i < nodes.size(); ++i) {
    by_hex.emplace(nodes[i].digest.hex(), i);
    if (nodes[i].refs.subject) referrers.emplace(nodes[i].refs.subject->hex(), i);
  }
  auto find = [&](const Digest& d) -> std::optional<size_t> {
    auto it = by_hex.find(d.hex());
    if (it == by_hex.end() || nodes[it->second].digest != d) return std::nullopt;
    return it->second;
  };

  std::vector<bool> kept(nodes.size(), false);
  std::vector<size_t> work;
  auto keep = [&](size_t i) {
    if (!kept[i]) {
      kept[i] = true;
      work.push_back(i);
    }
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].tagged || nodes[i].young || !rules.delete_untagged) keep(i);
  }
  while (!work.empty()) {
    const ManifestNode& n = nodes[work.back()];
    work.pop_back();
    for (const Digest& c : n.refs.children) {
      if (auto j = find(c)) keep(*j);
    }
    auto [lo, hi] = referrers.equal_range(n.digest.hex());
    for (auto it = lo; it != hi; ++it) {
      if (nodes[it->second].refs.subject == n.digest) keep(it->second);
    }
  }
  return kept;
}

}  // namespace berth::gc
