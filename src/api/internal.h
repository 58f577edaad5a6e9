#pragma once
// Shared by the handler files of api/; not part of the api library's interface.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/errors.h"
#include "api/router.h"

namespace berth::api::internal {

// One request in flight.
struct Ctx {
  http::Request& req;
  const Route& route;
  storage::Namespace& reg;
  const ApiOptions& opt;
  std::string subject = {};  // the authenticated caller ("" = anonymous or no auth)
  bool head() const { return req.method == "HEAD"; }
};

// Decoded query parameters, in order.
class Query {
 public:
  explicit Query(std::string_view raw);
  std::optional<std::string> Get(std::string_view key) const;
  std::vector<std::string> GetAll(std::string_view key) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

http::Response Fail(const Ctx& c, const Error& e);
// The UNSUPPORTED refusals every write endpoint shares.
Error MethodNotAllowed(const std::string& method);  // 405
Error ReadOnly();                                   // storage.maintenance.readonly
Error DeleteDisabled();                             // storage.delete.enabled is false
inline http::Dispatch FailNow(const Ctx& c, const Error& e) {
  return http::Dispatch::Respond(Fail(c, e));
}
// A response with no body (Content-Length: 0) and the given status.
http::Response Empty(int status);
// `path` (starting with "v2/...") as the client should see it: prefixed, absolute unless relative URLs.
std::string Url(const Ctx& c, std::string_view path);
std::string Path(const Ctx& c, std::string_view path);  // prefixed, never absolute
// "0-<last>" as Distribution writes an upload's Range (also "0-0" when empty).
std::string UploadRange(uint64_t size);
// True when the request's If-None-Match names this digest's ETag (or "*"): answer 304.
bool NotModified(const Ctx& c, const Digest& d);
http::Response NotModifiedResponse(const Digest& d);

http::Dispatch HandleBlob(Ctx& c);
http::Dispatch HandleUploadStart(Ctx& c);
http::Dispatch HandleUpload(Ctx& c);

}  // namespace berth::api::internal
