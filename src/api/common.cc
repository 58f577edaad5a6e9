// Helpers the handler files share: responses, URLs, pagination, conditional requests.
#include <algorithm>

#include "api/internal.h"
#include "common/names.h"
#include "common/strings.h"

namespace berth::api::internal {

using http::Response;

Response Fail(const Ctx& c, const Error& e) { return ErrorResponse(e, c.head()); }

Error MethodNotAllowed(const std::string& method) {
  return Error{
      ErrorCode::kUnsupported, "method " + method.substr(0, 20) + " is not allowed here", {}, 405};
}
Error ReadOnly() {
  return Error{ErrorCode::kUnsupported, "the registry is in read-only mode", {}, 0};
}
Error DeleteDisabled() {
  return Error{ErrorCode::kUnsupported, "deletion is disabled on this registry", {}, 0};
}

Response Empty(int status) {
  Response r;
  r.status = status;
  r.content_length = 0;
  return r;
}

Response JsonResponse(const Ctx& c, const nlohmann::json& body, std::string_view content_type) {
  Response res;
  res.headers.Add("Content-Type", std::string(content_type));
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (c.head()) {
    res.content_length = text.size();
  } else {
    res.body = std::move(text);
  }
  return res;
}

namespace {

// The first element of a comma-separated forwarded header ("a, b" -> "a"), trimmed.
std::string_view FirstHop(std::string_view value) {
  if (auto comma = value.find(','); comma != std::string_view::npos) value = value.substr(0, comma);
  return Trim(value);
}

}  // namespace

std::string ClientBase(const Ctx& c) {
  // Proxies append to these headers and clients can send anything: only a well-formed authority
  // and a known scheme may reach Location or a challenge; anything else falls back.
  std::string_view host = FirstHop(c.req.headers.Get("X-Forwarded-Host"));
  if (!IsValidHostPort(host)) host = Trim(c.req.headers.Get("Host"));
  if (!IsValidHostPort(host)) return "";
  std::string proto = ToLower(FirstHop(c.req.headers.Get("X-Forwarded-Proto")));
  if (proto != "http" && proto != "https") proto = c.req.tls ? "https" : "http";
  return proto + "://" + std::string(host);
}

std::string Path(const Ctx& c, std::string_view path) {
  std::string out = c.opt.prefix;
  out += path;
  return out;
}

std::string Url(const Ctx& c, std::string_view path) {
  std::string p = Path(c, path);
  if (c.opt.relative_urls) return p;
  if (!c.opt.host.empty()) {
    std::string base = c.opt.host;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + p;
  }
  return ClientBase(c) + p;
}

bool NotModified(const Ctx& c, const Digest& d) {
  std::string_view inm = c.req.headers.Get("If-None-Match");
  if (inm.empty()) return false;
  const std::string digest = d.str();
  for (auto tag : Split(inm, ',')) {
    tag = Trim(tag);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
      tag = tag.substr(1, tag.size() - 2);
    if (tag == "*" || tag == digest) return true;
  }
  return false;
}

Response NotModifiedResponse(const Digest& d) {
  Response res;
  res.status = 304;
  res.headers.Add("ETag", "\"" + d.str() + "\"");
  res.headers.Add("Docker-Content-Digest", d.str());
  return res;
}

std::string UploadRange(uint64_t size) { return "0-" + std::to_string(size == 0 ? 0 : size - 1); }

Result<size_t> PageSize(const Query& q, size_t fallback, size_t max) {
  auto n = q.Get("n");
  if (!n) return fallback;
  auto v = ParseUint64(*n);
  if (!v) {
    return MakeError(ErrorCode::kPaginationNumberInvalid,
                     "n=" + n->substr(0, 40) + " is not a non-negative integer");
  }
  return static_cast<size_t>(std::min<uint64_t>(*v, max));
}

void AddNextLink(Response& res, const Ctx& c, std::string_view path, const std::string& last,
                 size_t n) {
  res.headers.Add("Link", "<" + Path(c, path) + "?last=" + UrlEncode(last) +
                              "&n=" + std::to_string(n) + ">; rel=\"next\"");
}

}  // namespace berth::api::internal
