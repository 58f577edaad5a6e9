// /auth/token: the built-in token service (auth/token_service.h), when configured.
#include "api/internal.h"

namespace berth::api::internal {
namespace {

// The token service's answer: the token JSON, or the error in the OCI envelope.
http::Response TokenReply(const Ctx& c, const Result<auth::IssuedToken>& issued) {
  if (!issued) {
    http::Response res = Fail(c, issued.error());
    EmitAuth(c, EventAction::kDenied, "", res.status, issued.error().message);
    if (issued.error().code == ErrorCode::kUnauthorized) {
      res.headers.Add("WWW-Authenticate", "Basic realm=\"berth token service\"");
    }
    return res;
  }
  http::Response res;
  res.headers.Add("Content-Type", "application/json");
  res.headers.Add("Cache-Control", "no-store");
  res.body = auth::TokenService::ResponseJson(*issued);
  res.log_note = issued->subject.empty() ? "anonymous token" : "token for " + issued->subject;
  if (!issued->subject.empty()) {  // an anonymous token is no login
    Ctx who(c, c.req);
    who.subject = issued->subject;
    EmitAuth(who, EventAction::kLogin, "", 200, "");
  }
  return res;
}

}  // namespace

// Docker's token endpoint: GET with Basic credentials (or none, for anonymous pulls of public
// repositories), and the OAuth2 password-grant POST form that podman and docker use.
http::Dispatch HandleToken(Ctx& c) {
  if (!c.opt.token_service) {
    return FailNow(c, Error{ErrorCode::kUnsupported, "no token service is configured", {}, 404});
  }
  if (c.req.method == "GET") {
    return http::Dispatch::Respond(
        TokenReply(c, c.opt.token_service->Issue(c.req.headers.Get("Authorization"),
                                                 c.query.Get("service").value_or(""),
                                                 c.query.GetAll("scope"), c.req.remote_addr)));
  }
  return http::Dispatch::BufferBody(
      64 * 1024,
      [c](http::Request& req) {
        Ctx now(c, req);
        return TokenReply(now, now.opt.token_service->IssueOAuth(req.body, req.remote_addr));
      },
      Fail(c, Error{ErrorCode::kSizeInvalid, "token request too large", {}, 413}));
}

}  // namespace berth::api::internal
