#include "common/names.h"

namespace berth {
namespace {

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Returns true when `c` is a valid path component.
bool ValidComponent(std::string_view c) {
  if (c.empty() || !IsAlnumLower(c.front()) || !IsAlnumLower(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsAlnumLower(c[i])) {
      ++i;
      continue;
    }
    // A separator run: ".", "_", "__", or one or more "-".
    size_t j = i;
    while (j < c.size() && !IsAlnumLower(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 300));
  if (s.size() > 300) out += "...";
  out += "\"";
  return out;
}

}  // namespace

Status ValidateRepositoryName(std::string_view name) {
  if (name.empty()) return MakeError(ErrorCode::kNameInvalid, "repository name is empty");
  if (name.size() > kMaxNameLength) {
    return MakeError(ErrorCode::kNameInvalid, "repository name is longer than 255 characters");
  }
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view comp =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!ValidComponent(comp)) {
      return MakeError(ErrorCode::kNameInvalid,
                       "repository name " + Quote(name) + " has an invalid component " + Quote(comp) +
                           " (lower-case letters, digits and single separators only)");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Ok();
}

Status ValidateTag(std::string_view tag) {
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (tag.empty() || tag.size() > 128 || !word(tag[0])) {
    return MakeError(ErrorCode::kTagInvalid, "tag " + Quote(tag) + " is not a valid tag");
  }
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-') {
      return MakeError(ErrorCode::kTagInvalid, "tag " + Quote(tag) + " is not a valid tag");
    }
  }
  return Ok();
}

Result<Reference> ParseReference(std::string_view text) {
  Reference ref;
  if (text.find(':') != std::string_view::npos) {
    BERTH_ASSIGN_OR_RETURN(ref.digest, Digest::Parse(text));
    return ref;
  }
  BERTH_RETURN_IF_ERROR(ValidateTag(text));
  ref.tag = std::string(text);
  return ref;
}

bool IsValidHostPort(std::string_view text) {
  if (text.empty() || text.size() > 261) return false;
  std::string_view host = text, port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char ch : text.substr(1, close - 1)) {
      bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
                ch == ':' || ch == '.';
      if (!ok) return false;
    }
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    host = {};
  } else if (auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (!host.empty() || text.front() != '[') {
    if (host.empty() || host.size() > 253) return false;
    for (char ch : host) {
      bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '.' || ch == '-';
      if (!ok) return false;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return false;
    uint32_t v = 0;
    for (char ch : port) {
      if (ch < '0' || ch > '9') return false;
      v = v * 10 + static_cast<uint32_t>(ch - '0');
    }
    if (v > 65535) return false;
  }
  return true;
}

}  // namespace berth
