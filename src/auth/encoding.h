#pragma once
// Byte encodings the auth code needs: base64 (RFC 4648 section 4, for Basic credentials), base64url
// (section 5, unpadded, for JWS), and base32 (section 6, for libtrust key IDs).
//
// Decoders are strict because their input is untrusted: they refuse characters outside the
// alphabet, impossible lengths and non-zero trailing bits (so one token has exactly one encoding),
// and they return nullopt instead of throwing. Thread-safe (pure functions).

#include <optional>
#include <string>
#include <string_view>

namespace berth::auth {

std::string Base64Encode(std::string_view bytes);  // padded
// Accepts padded or unpadded input (clients differ); refuses whitespace and misplaced '='.
std::optional<std::string> Base64Decode(std::string_view text);

std::string Base64UrlEncode(std::string_view bytes);  // unpadded
// Refuses '=' padding: JWS compact serialization never pads.
std::optional<std::string> Base64UrlDecode(std::string_view text);

std::string Base32Encode(std::string_view bytes);  // upper case, padded only if needed

}  // namespace berth::auth
