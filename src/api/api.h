#pragma once
// The OCI Distribution v1.1 / Docker Registry v2 HTTP API over a storage::Namespace. One entry point,
// Api::Handle, decides per request head (see http/message.h) and returns the response, or asks the
// HTTP layer to buffer or stream the body first. Every error leaves through one writer (errors.h).
// Thread-safe.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/auth.h"
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
  auth::AuthorizerPtr authorizer;  // nullptr: no authentication (Distribution's default)
  std::shared_ptr<auth::TokenService> token_service;  // serves /auth/token when set
};

class Api {
 public:
  Api(std::shared_ptr<storage::Namespace> registry, ApiOptions options);
  ~Api();
  http::Dispatch Handle(http::Request& req);
  storage::Namespace& registry() { return *registry_; }

 private:
  std::shared_ptr<storage::Namespace> registry_;
  ApiOptions options_;
};

}  // namespace berth::api
