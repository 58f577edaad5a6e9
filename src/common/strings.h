#pragma once
// Small string helpers shared by every layer. Thread-safe (pure functions).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

std::string ToLower(std::string_view s);
bool IEquals(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);
std::vector<std::string_view> Split(std::string_view s, char sep);
std::string_view Trim(std::string_view s);
// Strict decimal: digits only, no sign, no overflow.
std::optional<uint64_t> ParseUint64(std::string_view s);
// Percent-decoding for query values ('+' becomes a space). nullopt on a bad escape.
std::optional<std::string> UrlDecode(std::string_view s, bool plus_is_space = true);
std::string UrlEncode(std::string_view s);
// The contents of an HTTP quoted-string (RFC 9110): '"' and '\\' get a backslash, so a value can
// never end the string early (challenge parameters such as realm and scope).
std::string QuoteEscape(std::string_view s);
// Random hex of n bytes from the OS CSPRNG.
std::string RandomHex(size_t n_bytes);
// An RFC 4122 version-4 UUID.
std::string NewUuid();

}  // namespace berth
