#include "transfer/import.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/names.h"
#include "common/pump.h"
#include "storage/manifest.h"
#include "transfer/oci_layout.h"

namespace berth::transfer {
namespace {

using json = nlohmann::json;
constexpr int kMaxDepth = 16;
constexpr size_t kMaxIndexBytes = 16 << 20;

std::unexpected<Error> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// "host:5000/team/app:1" -> {"team/app", "1"}; "team/app" -> {"team/app", ""}.
std::pair<std::string, std::string> SplitImageName(std::string_view name) {
  std::string_view rest = name;
  if (auto at = rest.find('@'); at != std::string_view::npos) rest = rest.substr(0, at);
  std::string tag;
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  // A first component with '.' or ':' or "localhost" is a registry host (Docker's rule).
  if (size_t s = rest.find('/'); s != std::string_view::npos) {
    std::string_view first = rest.substr(0, s);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost") {
      rest = rest.substr(s + 1);
    }
  }
  return {std::string(rest), tag};
}

class Importer {
 public:
  Importer(LayoutReader& in, storage::Namespace& ns, Progress* progress, ImportStats& stats)
      : in_(in), ns_(ns), progress_(progress), stats_(stats) {}

  Status Manifest(const std::string& repo, const storage::Descriptor& desc, const std::string& tag,
                  int depth = 0) {
    if (depth > kMaxDepth) return Invalid("manifests nest too deeply at " + desc.digest.str());
    const Digest& d = desc.digest;
    if (desc.size > storage::kMaxManifestBytes) {
      return MakeError(
          ErrorCode::kManifestInvalid,
          "manifest " + d.str() + " is " + std::to_string(desc.size) + " bytes, over the limit");
    }
    BERTH_ASSIGN_OR_RETURN(std::string bytes,
                           in_.ReadFile(BlobPath(d), storage::kMaxManifestBytes));
    if (bytes.size() != desc.size) {
      return MakeError(ErrorCode::kSizeInvalid,
                       "manifest " + d.str() + ": descriptor says " + std::to_string(desc.size) +
                           " bytes, file has " + std::to_string(bytes.size()));
    }
    if (Digest got = Digest::Of(bytes, d.algorithm()); got != d) {
      return MakeError(ErrorCode::kDigestInvalid,
                       "manifest " + d.str() + " in the layout hashes to " + got.str());
    }
    std::string media_type =
        desc.media_type.empty() ? storage::DetectMediaType(bytes) : desc.media_type;
    if (visited_.insert({repo, d}).second) {
      BERTH_ASSIGN_OR_RETURN(auto parsed, storage::ParseManifest(bytes, media_type));
      for (const auto& child : parsed.manifests) {
        BERTH_RETURN_IF_ERROR(Manifest(repo, child, "", depth + 1));
      }
      if (parsed.config) BERTH_RETURN_IF_ERROR(Blob(repo, *parsed.config));
      for (const auto& l : parsed.layers) BERTH_RETURN_IF_ERROR(Blob(repo, l));
      ++stats_.manifests;
    } else if (tag.empty()) {
      return Ok();
    }
    Reference ref;
    if (tag.empty()) {
      ref.digest = d;
    } else {
      ref.tag = tag;
    }
    auto put = ns_.Manifests().Put(repo, ref, media_type, std::move(bytes));
    if (!put) {
      return MakeError(put.error().code,
                       "storing manifest " + d.str() + " in " + repo + ": " + put.error().message);
    }
    return Ok();
  }

  Status Blob(const std::string& repo, const storage::Descriptor& desc) {
    const Digest& d = desc.digest;
    if (ns_.Blobs().Stat(repo, d)) {
      ++stats_.blobs_present;
      return Ok();
    }
    if (auto g = ns_.Blobs().StatGlobal(d); g && g->size == desc.size) {
      BERTH_RETURN_IF_ERROR(ns_.Blobs().Link(repo, d));
      ++stats_.blobs_linked;
      return Ok();
    }
    auto size = in_.Size(BlobPath(d));
    if (!size) {
      if (desc.has_urls && size.error().Is(ErrorCode::kNotFound)) return Ok();  // foreign layer
      return MakeError(ErrorCode::kBlobUnknown, "blob " + d.str() + " is not in the layout");
    }
    if (*size != desc.size) {
      return MakeError(ErrorCode::kSizeInvalid, "blob " + d.str() + ": descriptor says " +
                                                    std::to_string(desc.size) +
                                                    " bytes, file has " + std::to_string(*size));
    }
    BERTH_ASSIGN_OR_RETURN(auto reader, in_.Open(BlobPath(d)));
    BERTH_RETURN_IF_ERROR(StoreBlob(
        ns_, repo, d, desc.size, [&](char* buf, size_t cap) { return reader->Read(buf, cap); },
        progress_));
    ++stats_.blobs_uploaded;
    stats_.bytes_uploaded += desc.size;
    if (progress_) progress_->Item("blob " + d.str().substr(0, 19) + " -> " + repo, desc.size);
    return Ok();
  }

 private:
  LayoutReader& in_;
  storage::Namespace& ns_;
  Progress* progress_;
  ImportStats& stats_;
  std::set<std::pair<std::string, Digest>> visited_;
};

Result<storage::Descriptor> ParseDescriptor(const json& j, size_t i) {
  auto bad = [&](std::string_view why) {
    return Invalid("index.json: manifests[" + std::to_string(i) + "]: " + std::string(why));
  };
  if (!j.is_object()) return bad("not an object");
  storage::Descriptor d;
  if (!j.contains("digest") || !j["digest"].is_string()) return bad("no digest");
  auto dg = Digest::Parse(j["digest"].get<std::string>());
  if (!dg) return bad(dg.error().message);
  d.digest = *dg;
  if (!j.contains("size") || !j["size"].is_number_unsigned()) return bad("no size");
  d.size = j["size"].get<uint64_t>();
  if (j.contains("mediaType") && j["mediaType"].is_string())
    d.media_type = j["mediaType"].get<std::string>();
  return d;
}

std::string Annotation(const json& entry, std::string_view key) {
  if (!entry.contains("annotations") || !entry["annotations"].is_object()) return "";
  const auto& a = entry["annotations"];
  auto it = a.find(std::string(key));
  if (it == a.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

Status StoreBlob(storage::Namespace& ns, const std::string& repo, const Digest& d, uint64_t size,
                 const BlobReadFn& read, Progress* progress) {
  BERTH_ASSIGN_OR_RETURN(auto upload, ns.Uploads().Start(repo));
  auto store = [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(auto w, ns.Uploads().Open(repo, upload.id));
    w->Reserve(size);
    BERTH_ASSIGN_OR_RETURN(uint64_t total, Pump(read, size, [&](const char* p, size_t n) -> Status {
                             BERTH_RETURN_IF_ERROR(w->Write(p, n));
                             if (progress) progress->Bytes(n);
                             return Ok();
                           }));
    if (total != size) {
      return MakeError(ErrorCode::kSizeInvalid, "blob " + d.str() + ": the source does not have " +
                                                    std::to_string(size) + " bytes");
    }
    // Commit hashes what streamed in and refuses (DIGEST_INVALID) anything but `d`.
    auto c = w->Commit(d);
    if (!c) return MakeError(c.error().code, "blob " + d.str() + ": " + c.error().message);
    return Ok();
  };
  auto st = store();
  if (!st) (void)ns.Uploads().Cancel(repo, upload.id);
  return st;
}

Result<ImportStats> ImportLayout(LayoutReader& in, storage::Namespace& ns,
                                 const ImportOptions& options) {
  auto layout = in.ReadFile(kLayoutFile, 4096);
  if (!layout) return Invalid("not an OCI image layout: " + layout.error().message);
  json lj = json::parse(*layout, nullptr, false);
  if (!lj.is_object() || !lj.contains("imageLayoutVersion") ||
      !lj["imageLayoutVersion"].is_string() ||
      !lj["imageLayoutVersion"].get<std::string>().starts_with("1.")) {
    return Invalid("oci-layout: unsupported or missing imageLayoutVersion");
  }
  BERTH_ASSIGN_OR_RETURN(std::string index_bytes, in.ReadFile(kIndexFile, kMaxIndexBytes));
  json index = json::parse(index_bytes, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return Invalid("index.json: not an image index (no manifests array)");
  }
  if (!options.repo.empty()) BERTH_RETURN_IF_ERROR(ValidateRepositoryName(options.repo));
  ImportStats stats;
  Importer importer(in, ns, options.progress, stats);
  const auto& entries = index["manifests"];
  if (options.progress) options.progress->Expect(entries.size(), 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& e = entries[i];
    BERTH_ASSIGN_OR_RETURN(auto desc, ParseDescriptor(e, i));
    auto [cname, ctag] = SplitImageName(Annotation(e, kContainerdNameAnnotation));
    std::string repo = options.repo;
    if (repo.empty()) repo = Annotation(e, kRepositoryAnnotation);
    if (repo.empty()) repo = cname;
    if (repo.empty()) {
      return Invalid("index.json: manifests[" + std::to_string(i) + "] (" + desc.digest.str() +
                     ") names no repository; give one with --repo");
    }
    if (auto st = ValidateRepositoryName(repo); !st) {
      return Invalid("index.json: manifests[" + std::to_string(i) + "]: repository \"" + repo +
                     "\": " + st.error().message);
    }
    std::string tag = Annotation(e, kRefNameAnnotation);
    if (!tag.empty() && !ValidateTag(tag)) tag.clear();
    if (tag.empty() && !ctag.empty() && ValidateTag(ctag)) tag = ctag;
    BERTH_RETURN_IF_ERROR(importer.Manifest(repo, desc, tag));
    if (!tag.empty()) ++stats.tags;
    if (options.progress) {
      options.progress->Item(tag.empty() ? repo + "@" + desc.digest.str() : repo + ":" + tag, 0);
    }
  }
  return stats;
}

}  // namespace berth::transfer
