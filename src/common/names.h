#pragma once
// Repository names, tags and manifest references, validated by the OCI distribution-spec grammar:
//   name      = component ("/" component)*, at most 255 characters
//   component = [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
//   tag       = [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
// Functions return NAME_INVALID, TAG_INVALID or DIGEST_INVALID; they never throw. Thread-safe.

#include <string>
#include <string_view>
#include <variant>

#include "common/digest.h"
#include "common/error.h"

namespace berth {

inline constexpr size_t kMaxNameLength = 255;

Status ValidateRepositoryName(std::string_view name);
Status ValidateTag(std::string_view tag);

// A manifest reference: a tag or a digest. A string with ':' is parsed as a digest.
struct Reference {
  std::string tag;  // empty when the reference is a digest
  Digest digest;
  bool is_digest() const { return tag.empty(); }
  std::string str() const { return is_digest() ? digest.str() : tag; }
};
Result<Reference> ParseReference(std::string_view text);

// True when `text` is a safe HTTP authority to echo back (Host, X-Forwarded-Host): a DNS name or IPv4
// address ([A-Za-z0-9.-], 1-253 chars) or a bracketed IPv6 literal, with an optional ":port"
// (1-5 digits, at most 65535). Rejects everything else: spaces, quotes, control characters, '/',
// '@', empty input. Header values that fail are never written into Location or a challenge.
bool IsValidHostPort(std::string_view text);

}  // namespace berth
