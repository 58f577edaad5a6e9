#pragma once
// Authentication and authorization for the registry API, kept apart from storage (auth knows
// nothing of blobs or manifests). The API derives the accesses a request needs from its route and
// method (one place, api/), asks the Authorizer, and turns a refusal into a 401 (with the challenge
// header) or 403.
//
// Access records follow Docker's token spec: type "repository" with the repository name and actions
// "pull" / "push" / "delete"; type "registry" with name "catalog" and action "*" for /v2/_catalog.
//
// Thread-safety: every Authorizer is safe to call from many threads at once.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::auth {

struct Access {
  std::string type;    // "repository" | "registry"
  std::string name;    // "team/app" | "catalog"
  std::string action;  // "pull" | "push" | "delete" | "*"
  friend bool operator==(const Access&, const Access&) = default;
};

struct Decision {
  bool allowed = false;
  // When not allowed: 401 (no or bad credentials; send `challenge` as WWW-Authenticate) or 403
  // (known caller lacking the action).
  int status = 401;
  std::string challenge;  // full WWW-Authenticate value, e.g. `Basic realm="Registry Realm"`
  std::string message;    // for the error body, names what was missing
  std::string subject;    // who the caller is ("" = anonymous), for the access log and audit
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // `authorization` is the request's Authorization header ("" when absent); `remote` is "ip:port"
  // (for throttling). `needed` may be empty (e.g. GET /v2/: only authentication is checked).
  virtual Decision Authorize(std::string_view authorization, std::string_view remote,
                             const std::vector<Access>& needed) = 0;
};
using AuthorizerPtr = std::shared_ptr<Authorizer>;

}  // namespace berth::auth
