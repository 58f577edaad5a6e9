#include "auth/scope.h"

#include <algorithm>

#include "common/names.h"
#include "common/strings.h"

namespace berth::auth {
namespace {

std::unexpected<Error> BadScope(std::string_view scope, std::string_view why) {
  Error e{ErrorCode::kDenied,
          "malformed scope \"" + std::string(scope) + "\": " + std::string(why),
          {},
          400};
  return std::unexpected(std::move(e));
}

bool IsWord(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

Result<std::vector<Access>> ParseScope(std::string_view scope) {
  if (scope.size() > 1024) return BadScope(scope.substr(0, 64), "too long");
  size_t first = scope.find(':');
  size_t last = scope.rfind(':');
  if (first == std::string_view::npos || first == last) {
    return BadScope(scope, "expected type:name:actions");
  }
  std::string_view type = scope.substr(0, first);
  std::string_view name = scope.substr(first + 1, last - first - 1);
  std::string_view actions = scope.substr(last + 1);
  if (size_t paren = type.find('('); paren != std::string_view::npos) {
    if (!type.ends_with(')') || !IsWord(type.substr(paren + 1, type.size() - paren - 2))) {
      return BadScope(scope, "bad resource class");
    }
    type = type.substr(0, paren);
  }
  if (!IsWord(type)) return BadScope(scope, "bad resource type");
  if (name.empty()) return BadScope(scope, "empty resource name");
  if (type == "repository") {
    if (auto st = ValidateRepositoryName(name); !st) {
      return MakeError(ErrorCode::kNameInvalid,
                       "scope \"" + std::string(scope) + "\": invalid repository name");
    }
  } else {
    for (char c : name) {
      if (c <= ' ' || c == 0x7f || c == '"' || c == '\\')
        return BadScope(scope, "bad resource name");
    }
  }
  std::vector<Access> out;
  for (std::string_view action : Split(actions, ',')) {
    if (action != "*" && !IsWord(action)) return BadScope(scope, "bad action");
    Access a{std::string(type), std::string(name), std::string(action)};
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<Access>> ParseScopes(std::string_view scopes) {
  std::vector<Access> out;
  for (std::string_view one : Split(scopes, ' ')) {
    if (one.empty()) continue;
    BERTH_ASSIGN_OR_RETURN(auto accesses, ParseScope(one));
    for (auto& a : accesses) {
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
    }
  }
  return out;
}

std::vector<ResourceActions> GroupAccesses(const std::vector<Access>& accesses) {
  std::vector<ResourceActions> out;
  for (const Access& a : accesses) {
    auto it = std::find_if(out.begin(), out.end(), [&](const ResourceActions& r) {
      return r.type == a.type && r.name == a.name;
    });
    if (it == out.end()) {
      out.push_back(ResourceActions{a.type, a.name, {}});
      it = out.end() - 1;
    }
    if (std::find(it->actions.begin(), it->actions.end(), a.action) == it->actions.end()) {
      it->actions.push_back(a.action);
    }
  }
  return out;
}

std::string FormatScopes(const std::vector<Access>& accesses) {
  std::string out;
  for (const ResourceActions& r : GroupAccesses(accesses)) {
    if (!out.empty()) out += ' ';
    out += r.type + ":" + r.name + ":";
    for (size_t i = 0; i < r.actions.size(); ++i) {
      if (i > 0) out += ',';
      out += r.actions[i];
    }
  }
  return out;
}

}  // namespace berth::auth
