// Pull rate limits on manifest GETs (auth/rate_limit.h): Docker Hub's headers on every counted
// pull, 429 TOOMANYREQUESTS with Retry-After when the caller's bucket is empty.
#include "api/internal.h"
#include "auth/basic.h"

namespace berth::api::internal {

http::Dispatch LimitPulls(Ctx& c, auth::PullRateLimiter& limiter,
                          http::Dispatch (*handler)(Ctx&)) {
  auto v = limiter.Take(c.subject, auth::RemoteIp(c.req.remote_addr));
  if (v.exempt) return handler(c);
  if (!v.allowed) {
    http::Response res = Fail(
        c, Error{ErrorCode::kTooManyRequests,
                 "pull rate limit reached (" + limiter.LimitHeader() +
                     " seconds); try again in " + std::to_string(v.retry_after.count()) + " s",
                 {},
                 0});
    res.headers.Set("ratelimit-limit", limiter.LimitHeader());
    res.headers.Set("ratelimit-remaining", limiter.RemainingHeader(0));
    res.headers.Set("Retry-After", std::to_string(v.retry_after.count()));
    return http::Dispatch::Respond(std::move(res));
  }
  http::Dispatch d = handler(c);
  if (d.response) {
    d.response->headers.Set("ratelimit-limit", limiter.LimitHeader());
    d.response->headers.Set("ratelimit-remaining", limiter.RemainingHeader(v.remaining));
  }
  return d;
}

}  // namespace berth::api::internal
