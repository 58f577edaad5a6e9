#pragma once
// Parsing of WWW-Authenticate challenges (RFC 9110 section 11.6.1) as registries send them:
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"
//   Basic realm="Registry Realm"
// Thread-safe (pure functions).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::client {

struct Challenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower-cased, values unquoted

  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// Every challenge in one header value (several may be comma-separated). Malformed input yields
// what could be parsed before it; never throws.
std::vector<Challenge> ParseChallenges(std::string_view header);

}  // namespace berth::client
