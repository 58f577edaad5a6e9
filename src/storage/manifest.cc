#include "storage/manifest.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace berth::storage {
namespace {

using nlohmann::json;

std::unexpected<Error> Invalid(std::string msg) {
  return MakeError(ErrorCode::kManifestInvalid, std::move(msg));
}

Result<Descriptor> ParseDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return Invalid(where + " is not a descriptor object");
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) return Invalid(where + ".mediaType is missing");
  d.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return Invalid(where + ".digest is missing");
  auto digest = Digest::Parse(dg->get<std::string>());
  if (!digest) {
    return MakeError(ErrorCode::kDigestInvalid, where + ".digest: " + digest.error().message);
  }
  d.digest = *digest;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0) {
    return Invalid(where + ".size is missing or not a non-negative integer");
  }
  d.size = sz->get<uint64_t>();
  if (auto at = j.find("artifactType"); at != j.end() && at->is_string()) {
    d.artifact_type = at->get<std::string>();
  }
  if (auto an = j.find("annotations"); an != j.end()) {
    if (!an->is_object()) return Invalid(where + ".annotations is not an object");
    d.annotations_json = an->dump();
  }
  if (auto urls = j.find("urls"); urls != j.end() && urls->is_array() && !urls->empty()) {
    d.has_urls = true;
  }
  return d;
}

Result<std::vector<Descriptor>> ParseDescriptorList(const json& body, const char* key, bool required) {
  std::vector<Descriptor> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) return Invalid(std::string("\"") + key + "\" is missing");
    return out;
  }
  if (!it->is_array()) return Invalid(std::string("\"") + key + "\" is not an array");
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(auto d, ParseDescriptor((*it)[i], std::string(key) + "[" +
                                                                   std::to_string(i) + "]"));
    out.push_back(std::move(d));
  }
  return out;
}

bool IsKnownType(std::string_view t) {
  return t == kOciManifest || t == kOciIndex || t == kDockerManifest || t == kDockerList;
}

bool IsGenericType(std::string_view t) {
  return t.empty() || t == "application/json" || t == "application/octet-stream" || t == "text/plain";
}

}  // namespace

std::string_view BareMediaType(std::string_view content_type) {
  auto semi = content_type.find(';');
  if (semi != std::string_view::npos) content_type = content_type.substr(0, semi);
  return Trim(content_type);
}

std::string DetectMediaType(std::string_view bytes) {
  json body = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    if (auto mt = body.find("mediaType"); mt != body.end() && mt->is_string()) {
      return mt->get<std::string>();
    }
    if (auto sv = body.find("schemaVersion"); sv != body.end() && sv->is_number() && *sv == 1) {
      return std::string(body.contains("signatures") ? kDockerSchema1Signed : kDockerSchema1);
    }
    if (body.contains("manifests")) return std::string(kOciIndex);
  }
  return std::string(kOciManifest);
}

Result<ParsedManifest> ParseManifest(std::string_view bytes, std::string_view content_type) {
  std::string_view ct = BareMediaType(content_type);
  if (ct == kDockerSchema1 || ct == kDockerSchema1Signed) {
    return Invalid("Docker schema1 manifests are not supported; push with schema2 or OCI media types");
  }
  json body = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Invalid("manifest is not valid JSON");
  if (!body.is_object()) return Invalid("manifest is not a JSON object");
  auto sv = body.find("schemaVersion");
  if (sv == body.end() || !sv->is_number_integer()) return Invalid("schemaVersion is missing");
  if (*sv == 1) {
    return Invalid("Docker schema1 manifests are not supported; push with schema2 or OCI media types");
  }
  if (*sv != 2) return Invalid("schemaVersion " + sv->dump() + " is not supported");

  std::string body_type;
  if (auto mt = body.find("mediaType"); mt != body.end()) {
    if (!mt->is_string()) return Invalid("mediaType is not a string");
    body_type = mt->get<std::string>();
  }
  ParsedManifest m;
  if (!IsGenericType(ct)) {
    if (!IsKnownType(ct)) return Invalid("manifest media type " + std::string(ct) + " is not supported");
    if (!body_type.empty() && body_type != ct) {
      return Invalid("mediaType " + body_type + " in the manifest does not match Content-Type " +
                     std::string(ct));
    }
    m.media_type = std::string(ct);
  } else if (!body_type.empty()) {
    if (!IsKnownType(body_type)) {
      return Invalid("manifest media type " + body_type + " is not supported");
    }
    m.media_type = body_type;
  } else {
    m.media_type = std::string(body.contains("manifests") ? kOciIndex : kOciManifest);
  }
  // Docker media types require the mediaType field in the body (Distribution checks it too).
  if ((m.media_type == kDockerManifest || m.media_type == kDockerList) && body_type.empty()) {
    return Invalid("Docker manifests must carry their mediaType");
  }

  m.is_index = m.media_type == kOciIndex || m.media_type == kDockerList;
  if (m.is_index) {
    if (body.contains("config") || body.contains("layers")) {
      return Invalid("an image index must not have config or layers");
    }
    BERTH_ASSIGN_OR_RETURN(m.manifests, ParseDescriptorList(body, "manifests", true));
  } else {
    if (body.contains("manifests")) return Invalid("an image manifest must not have manifests");
    auto cfg = body.find("config");
    if (cfg == body.end()) return Invalid("config is missing");
    BERTH_ASSIGN_OR_RETURN(auto c, ParseDescriptor(*cfg, "config"));
    m.config = std::move(c);
    BERTH_ASSIGN_OR_RETURN(m.layers,
                           ParseDescriptorList(body, "layers", m.media_type == kDockerManifest));
  }
  if (auto subj = body.find("subject"); subj != body.end() && !subj->is_null()) {
    BERTH_ASSIGN_OR_RETURN(auto s, ParseDescriptor(*subj, "subject"));
    m.subject = std::move(s);
  }
  if (auto at = body.find("artifactType"); at != body.end()) {
    if (!at->is_string()) return Invalid("artifactType is not a string");
    m.artifact_type = at->get<std::string>();
  } else if (m.config) {
    m.artifact_type = m.config->media_type;
  }
  if (auto an = body.find("annotations"); an != body.end() && !an->is_null()) {
    if (!an->is_object()) return Invalid("annotations is not an object");
    m.annotations_json = an->dump();
  }
  return m;
}

}  // namespace berth::storage
