#include "http/range.h"

#include <limits>

#include "common/strings.h"

namespace berth::http {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Digits that overflow saturate: a position past 2^64 is simply "beyond the end" to RFC 9110, which
// says nothing of integer widths, so it must not turn a satisfiable request into garbage.
uint64_t SaturatingDecimal(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (kMax - d) / 10) return kMax;
    v = v * 10 + d;
  }
  return v;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size) {
  header = TrimSpaces(header);
  size_t eq = header.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  // The range unit is case-insensitive (RFC 9110 14.1); any other unit is ignored.
  if (!IEquals(TrimSpaces(header.substr(0, eq)), "bytes")) return std::nullopt;

  // range-set is a #list: empty elements are allowed and ignored; more than one range is served
  // whole because multipart/byteranges is not worth its cost for a registry.
  std::string_view spec;
  int ranges = 0;
  for (std::string_view element : Split(header.substr(eq + 1), ',')) {
    element = TrimSpaces(element);
    if (element.empty()) continue;
    spec = element;
    ++ranges;
  }
  if (ranges != 1) return std::nullopt;

  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view first_text = spec.substr(0, dash);
  std::string_view last_text = spec.substr(dash + 1);

  if (first_text.empty()) {
    // suffix-range: the last N bytes.
    if (!IsDigits(last_text)) return std::nullopt;
    uint64_t suffix = SaturatingDecimal(last_text);
    if (suffix == 0) return MakeError(ErrorCode::kRangeInvalid, "range bytes=-0 selects no bytes");
    // A non-zero suffix of an empty object is satisfiable but selects nothing: serve it whole.
    if (size == 0) return std::nullopt;
    uint64_t length = suffix < size ? suffix : size;
    return ByteRange{size - length, size - 1};
  }

  if (!IsDigits(first_text)) return std::nullopt;
  uint64_t first = SaturatingDecimal(first_text);
  uint64_t last = kMax;
  if (!last_text.empty()) {
    if (!IsDigits(last_text)) return std::nullopt;
    last = SaturatingDecimal(last_text);
    // first > last makes the whole ranges-specifier invalid, which RFC 9110 says to ignore.
    if (first > last) return std::nullopt;
  }
  if (first >= size) {
    return MakeError(ErrorCode::kRangeInvalid, "range starts at byte " + std::to_string(first) +
                                                   " but the object has " + std::to_string(size) +
                                                   " bytes");
  }
  if (last >= size) last = size - 1;
  return ByteRange{first, last};
}

Result<ByteRange> ParseContentRange(std::string_view header) {
  std::string_view original = header;
  auto invalid = [&](std::string_view why) {
    return MakeError(
        ErrorCode::kRangeInvalid,
        "Content-Range \"" + std::string(original.substr(0, 128)) + "\" " + std::string(why));
  };
  header = TrimSpaces(header);
  std::optional<std::string_view> total;
  if (header.starts_with("bytes=")) {
    header.remove_prefix(6);
  } else if (header.starts_with("bytes ")) {
    header = TrimSpaces(header.substr(6));
    size_t slash = header.find('/');
    if (slash == std::string_view::npos) return invalid("lacks the /length part");
    total = header.substr(slash + 1);
    header = header.substr(0, slash);
  }
  size_t dash = header.find('-');
  if (dash == std::string_view::npos) return invalid("is not first-last");
  std::optional<uint64_t> first = ParseUint64(header.substr(0, dash));
  std::optional<uint64_t> last = ParseUint64(header.substr(dash + 1));
  if (!first || !last) return invalid("is not first-last");
  if (*last < *first) return invalid("ends before it starts");
  if (total && *total != "*") {
    std::optional<uint64_t> length = ParseUint64(*total);
    if (!length) return invalid("has a malformed length");
    // RFC 9110 14.4: a complete-length not beyond last-pos makes the field invalid.
    if (*length <= *last) return invalid("ends beyond its complete length");
  }
  return ByteRange{*first, *last};
}

}  // namespace berth::http
