#pragma once
// Docker token-auth scopes: `type:name:action[,action...]`, several joined by spaces, e.g.
// `repository:team/app:pull,push registry:catalog:*`. The type may carry a class in parentheses
// (`repository(plugin):x:pull`), which is dropped. The type is everything before the first ':', the
// actions everything after the last, the name what lies between; a repository name must pass
// ValidateRepositoryName, so names with a colon (a registry host:port) or "..", which are not valid
// repository names, are refused here rather than mis-split.
//
// Errors: kNameInvalid for a bad repository name, kDenied (status 400) for any other malformed
// scope. Thread-safe (pure functions).

#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.h"
#include "common/error.h"

namespace berth::auth {

// One resource with its actions, as in a scope and in a token's `access` claim.
struct ResourceActions {
  std::string type;
  std::string name;
  std::vector<std::string> actions;
  friend bool operator==(const ResourceActions&, const ResourceActions&) = default;
};

// One scope (no spaces) -> one Access per action.
Result<std::vector<Access>> ParseScope(std::string_view scope);
// Space-separated scopes (a query `scope` value may hold several).
Result<std::vector<Access>> ParseScopes(std::string_view scopes);

// Groups accesses by resource in first-seen order, actions in first-seen order, without duplicates.
std::vector<ResourceActions> GroupAccesses(const std::vector<Access>& accesses);
// The scope string of a challenge: `repository:team/app:pull,push registry:catalog:*`.
std::string FormatScopes(const std::vector<Access>& accesses);

}  // namespace berth::auth
