#pragma once
// The OCI Distribution v1.1 / Docker Registry v2 HTTP API over a storage::Namespace. One entry
// point, Api::Handle, decides per request head (see http/message.h) and returns the response, or
// asks the HTTP layer to buffer or stream the body first. Every error leaves through one writer
// (errors.h). Thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/events.h"
#include "auth/auth.h"
#include "auth/rate_limit.h"
#include "auth/token_service.h"
#include "http/message.h"
#include "storage/registry.h"

namespace berth::api {

struct ApiOptions {
  bool delete_enabled = false;
  bool readonly = false;
  std::string prefix = "/";  // starts and ends with '/'; the API lives under <prefix>v2/
  std::string host;          // absolute base for Location headers ("" = from the request's Host)
  bool relative_urls = false;
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;  // http.headers
  size_t catalog_max_entries = 1000;
  // The largest blob a client may announce or send (PATCH/PUT/POST bodies, and a session's total):
  // beyond it, 413 SIZE_INVALID. The default, 100 GiB, is far above any real image layer (the
  // largest public ones are tens of GiB) and far below what would let one client fill a disk by
  // announcing a length; 0 means no limit.
  uint64_t max_blob_bytes = uint64_t{100} << 30;
  // validation.disabled: when true, foreign-layer URLs are checked only for scheme and fragment.
  bool validation_disabled = false;
  // validation.manifests.urls.allow / deny: regular expressions (ECMAScript, unanchored search, as
  // Go's MatchString) over each foreign-layer URL of a pushed manifest. With validation on, a URL
  // must match an allow pattern (none configured: every URL is refused, as in registry:2) and no
  // deny pattern. Invalid patterns refuse every URL (see Api::ValidateOptions).
  std::vector<std::string> manifest_urls_allow;
  std::vector<std::string> manifest_urls_deny;
  auth::AuthorizerPtr authorizer;  // nullptr: no authentication (Distribution's default)
  std::shared_ptr<auth::TokenService> token_service;  // serves /auth/token when set
  // berth.ratelimit: each manifest GET takes a pull from the caller's bucket (429 when empty).
  std::shared_ptr<auth::PullRateLimiter> pull_limiter;
  // Told of every completed operation and refusal (api/events.h); empty: no events are built.
  std::vector<EventSinkPtr> event_sinks;
  // Health (health.*): when set and it returns a non-empty JSON object of failing checks, GET /v2/
  // answers 503 UNAVAILABLE with that object as detail (before authentication, as registry:2).
  std::function<std::string()> unhealthy;
  // Called for each refused authentication or authorization with a fixed reason word
  // ("missing_credentials", "invalid_credentials", "denied", "throttled"): metrics.
  std::function<void(std::string_view reason)> on_auth_failure;
};

class Api {
 public:
  Api(std::shared_ptr<storage::Namespace> registry, ApiOptions options);
  ~Api();
  // Checks what the constructor cannot refuse: the URL patterns compile. Errors: kInvalidArgument
  // naming the key ("validation.manifests.urls.allow[1]: ...").
  static Status ValidateOptions(const ApiOptions& options);
  http::Dispatch Handle(http::Request& req);
  storage::Namespace& registry() { return *registry_; }

 private:
  std::shared_ptr<storage::Namespace> registry_;
  ApiOptions options_;
};

}  // namespace berth::api
