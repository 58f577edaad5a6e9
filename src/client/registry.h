#pragma once
// A client for one remote registry (OCI distribution / Docker registry v2 API) over HttpClient:
// authentication, manifests, blobs, tags and the catalog. Used by the pull-through cache
// (proxy/), replication and the copy commands.
//
//   client::RegistryOptions o;
//   o.url = "https://registry-1.docker.io";  o.username = "..."; o.password = "...";
//   auto reg = client::RegistryClient::Create(o);           // kInvalidArgument on a bad URL
//   auto m = (*reg)->GetManifest("library/busybox", "latest");   // bytes, media type, digest
//   auto blob = (*reg)->GetBlob("library/busybox", digest);      // a Response to stream from
//
// Authentication, as docker does it: the first request learns the scheme from the registry's
// challenge on GET /v2/ (Ping). Anonymous when there is none; Basic with the configured username
// and password; Bearer: a token is fetched from the challenge's realm (GET
// realm?service=..&scope=.. with Basic credentials when configured, anonymous otherwise), cached
// per scope until its expires_in (less a margin), and a request answered 401 with a fresh challenge
// gets a new token and is retried once (when its body can be replayed).
//
// Errors: the upstream's OCI error envelope is mapped back to the code it names (BLOB_UNKNOWN,
// MANIFEST_UNKNOWN, NAME_UNKNOWN, DENIED, ...), with the message prefixed by the upstream URL; a
// status without an envelope maps by status (401 UNAUTHORIZED, 403 DENIED, 404 as the operation's
// *_UNKNOWN, 429 TOOMANYREQUESTS, 5xx and transport failures UNAVAILABLE). Callers that fall back
// to cached content check Error::code == kUnavailable or kTooManyRequests (see IsUpstreamDown).
//
// Extending it (push operations live in client/push.*): build on Send(), which takes a Request
// whose url is relative to the registry ("/v2/<name>/blobs/uploads/"), a scope
// ("repository:<name>:pull,push") and returns the authenticated response; map failures with
// ErrorFromResponse(). Keep new operations in their own file, as free functions or a class
// holding a RegistryClient&.
//
// Thread-safety: all methods are thread-safe (the token cache is locked); responses are used by
// one thread at a time. All calls block (see client/http.h): call them off event loops.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/http.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/time.h"

namespace berth::client {

struct RegistryOptions {
  std::string url;  // scheme://host[:port], no path ("https://registry-1.docker.io")
  std::string username;
  std::string password;
  ClientOptions http;
  const Clock* clock = &SystemClock();  // token expiry; must outlive the client
  size_t max_manifest_bytes = 4 << 20;  // larger manifests are refused (as the API does)
};

// The media types a manifest request accepts: OCI manifest and index, Docker schema 2 manifest
// and manifest list.
extern const char* const kManifestAccept;

struct RemoteManifest {
  Digest digest;           // of the bytes (verified against a digest reference)
  std::string media_type;  // Content-Type the upstream sent
  std::string bytes;       // empty for Head
  uint64_t size = 0;
};

struct RemoteBlob {
  uint64_t size = 0;
};

struct Page {
  std::vector<std::string> names;
  std::string next;  // the Link header's next target ("" when none)
};

// True for errors that mean "the upstream cannot answer now" (transport failure, 5xx, 429), as
// opposed to a definite answer (unknown, denied).
bool IsUpstreamDown(const Error& e);

class RegistryClient {
 public:
  static Result<std::unique_ptr<RegistryClient>> Create(RegistryOptions options);
  ~RegistryClient();

  const std::string& url() const { return base_.empty() ? options_.url : base_; }

  // GET /v2/: learns the authentication scheme. Errors as above; kUnauthorized when the
  // credentials are refused.
  Status Ping();

  // HEAD or GET a manifest by tag or digest. MANIFEST_UNKNOWN when the upstream has none.
  Result<RemoteManifest> HeadManifest(std::string_view repo, std::string_view reference);
  Result<RemoteManifest> GetManifest(std::string_view repo, std::string_view reference);

  // HEAD a blob: its size. BLOB_UNKNOWN.
  Result<RemoteBlob> HeadBlob(std::string_view repo, const Digest& d);
  // GET a blob from `offset`: a response (status 200, or 206 for offset > 0) whose body the caller
  // streams. Redirects (to object storage) are followed. BLOB_UNKNOWN.
  Result<ResponsePtr> GetBlob(std::string_view repo, const Digest& d, uint64_t offset = 0);

  // One page of tags / repositories (`n` 0: the upstream's default page; `last` "" from the
  // start). NAME_UNKNOWN for an unknown repository.
  Result<Page> ListTags(std::string_view repo, size_t n = 0, std::string_view last = {});
  Result<Page> Catalog(size_t n = 0, std::string_view last = {});

  // The extension point: sends `req` (url relative to the registry, e.g. "/v2/a/b/tags/list")
  // authenticated for `scope` ("" for none, e.g. the catalog's "registry:catalog:*"), retrying
  // once after a 401 with a new challenge when the body is replayable. Statuses are not errors.
  Result<ResponsePtr> Send(Request req, std::string_view scope);
  // An Error for a failed response (reads at most 64 KiB of its body for the envelope);
  // `not_found` is the code a bare 404 means for this operation.
  static Error ErrorFromResponse(Response& res, ErrorCode not_found);

  // Requests sent upstream so far (tests and metrics).
  uint64_t requests() const;

 private:
  explicit RegistryClient(RegistryOptions options);
  Result<std::string> AuthorizationFor(std::string_view scope, bool refresh);
  Result<std::string> FetchToken(std::string_view scope);
  Status LearnScheme(Response& res);

  RegistryOptions options_;
  std::string base_;  // normalised url without trailing slash
  HttpClient http_;
  struct TokenCache;
  std::unique_ptr<TokenCache> tokens_;
};
using RegistryClientPtr = std::unique_ptr<RegistryClient>;

}  // namespace berth::client
