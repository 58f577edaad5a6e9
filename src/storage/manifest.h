#pragma once
// Manifest parsing and validation for the four formats Berth stores: OCI image manifest, OCI image
// index, Docker schema2 manifest, Docker manifest list. Docker schema1 is refused. Pure functions over
// untrusted bytes; never throw. Thread-safe.
//
// Errors: MANIFEST_INVALID (with a message naming what is wrong), DIGEST_INVALID for a malformed
// descriptor digest.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/error.h"

namespace berth::storage {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

inline constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  std::string artifact_type;
  std::string annotations_json;  // serialized object, or "" when absent
  bool has_urls = false;         // foreign/non-distributable layer with external URLs
};

struct ParsedManifest {
  std::string media_type;
  bool is_index = false;
  std::optional<Descriptor> config;   // image manifests
  std::vector<Descriptor> layers;     // image manifests
  std::vector<Descriptor> manifests;  // indexes
  std::optional<Descriptor> subject;
  // For the referrers API: the manifest's artifactType, or else its config's media type.
  std::string artifact_type;
  std::string annotations_json;  // serialized object, or "" when absent
};

// `content_type` is the request's Content-Type (parameters are ignored); it may be empty, in which case
// the body's mediaType (or its shape) decides.
Result<ParsedManifest> ParseManifest(std::string_view bytes, std::string_view content_type);

// The media type of stored manifest bytes: the body's mediaType, else inferred from its shape
// (`manifests` -> OCI index, otherwise OCI manifest). Used when serving, since the layout keeps bytes only.
std::string DetectMediaType(std::string_view bytes);

// Strips parameters and whitespace: "application/json; charset=utf-8" -> "application/json".
std::string_view BareMediaType(std::string_view content_type);

}  // namespace berth::storage
