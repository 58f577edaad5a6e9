#pragma once
// Internal to http/: the wire form of a response head, and the plain-text responses the server
// sends on its own behalf (refused heads, handler failures). The http layer knows nothing of the
// registry's error envelope: its own answers are text/plain.
//
// Thread-safety: free functions; DateHeader keeps a per-thread cache.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace berth::http {

inline void AppendNumber(std::string& out, uint64_t v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), v);
  out.append(digits, end);
}

// "Date: <IMF-fixdate>\r\n" for now, formatted at most once per second per thread.
std::string_view DateHeader();

// True when the comma-separated `list` holds `token` (case-insensitive).
bool HasToken(std::string_view list, std::string_view token);

Response TextResponse(int status, std::string_view text);
Response InternalError(std::string note);

// Writes the status line and headers of `r` into `out` (cleared first). Framing headers
// (Content-Length, Connection, Transfer-Encoding) are the server's alone: `length` and `keep_alive`
// decide them; `version` is the request's (10 or 11).
void BuildResponseHead(std::string& out, const Response& r, int status,
                       std::optional<uint64_t> length, bool keep_alive, int version);

}  // namespace berth::http
