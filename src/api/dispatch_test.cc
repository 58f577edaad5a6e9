// Api::Handle without a network: how authorizer decisions become responses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "storage/driver/driver.h"
#include "storage/factory.h"

namespace berth::api {
namespace {

// Refuses everything with a fixed status, and records what it was asked.
class FixedAuthorizer : public auth::Authorizer {
 public:
  explicit FixedAuthorizer(int status) : status_(status) {}
  auth::Decision Authorize(std::string_view, std::string_view,
                           const std::vector<auth::Access>& needed) override {
    asked.push_back(needed);
    auth::Decision d;
    d.status = status_;
    d.message = "refused";
    if (status_ == 401) d.challenge = "Bearer realm=\"/auth/token\",service=\"s\"";
    return d;
  }
  std::vector<std::vector<auth::Access>> asked;

 private:
  int status_;
};

struct Answer {
  int status;
  std::string code;
  std::string challenge;
};

Answer Ask(int decision, const std::string& method, const std::string& path,
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  ApiOptions o;
  o.authorizer = std::make_shared<FixedAuthorizer>(decision);
  Api api(storage::NewRegistry(storage::driver::NewInMemoryDriver()), std::move(o));
  http::Request req;
  req.method = method;
  req.path = path;
  for (const auto& [k, v] : headers) req.headers.Add(k, v);
  http::Dispatch d = api.Handle(req);
  EXPECT_TRUE(d.response.has_value());
  if (!d.response) return {};
  auto j = nlohmann::json::parse(d.response->body, nullptr, false);
  std::string code = j.is_object() ? j["errors"][0]["code"].get<std::string>() : "";
  return {d.response->status, code,
          std::string(d.response->headers.Get("WWW-Authenticate"))};
}

TEST(Dispatch, RefusalsMapTo401Unauthorized403DeniedAnd429TooManyRequests) {
  Answer a = Ask(401, "GET", "/v2/a/tags/list");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.code, "UNAUTHORIZED");
  Answer d = Ask(403, "GET", "/v2/a/tags/list");
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.code, "DENIED");
  EXPECT_EQ(d.challenge, "");
  Answer t = Ask(429, "GET", "/v2/a/tags/list");
  EXPECT_EQ(t.status, 429);
  EXPECT_EQ(t.code, "TOOMANYREQUESTS");
}

TEST(Dispatch, RelativeRealmUsesOnlyAValidatedHost) {
  EXPECT_EQ(Ask(401, "GET", "/v2/", {{"Host", "reg.example:5000"}}).challenge,
            "Bearer realm=\"http://reg.example:5000/auth/token\",service=\"s\"");
  EXPECT_EQ(Ask(401, "GET", "/v2/",
                {{"Host", "reg.example"}, {"X-Forwarded-Host", "front.example"},
                 {"X-Forwarded-Proto", "https"}})
                .challenge,
            "Bearer realm=\"https://front.example/auth/token\",service=\"s\"");
  for (const char* evil : {"x\",service=\"evil", "x\r\nSet-Cookie: a=b", "a b", "x\\"}) {
    Answer a = Ask(401, "GET", "/v2/", {{"Host", "reg.example"}, {"X-Forwarded-Host", evil}});
    EXPECT_EQ(a.challenge, "Bearer realm=\"http://reg.example/auth/token\",service=\"s\"") << evil;
    Answer h = Ask(401, "GET", "/v2/", {{"Host", evil}});
    EXPECT_EQ(h.challenge, "Bearer realm=\"/auth/token\",service=\"s\"") << evil;
  }
}

TEST(Dispatch, OptionsPreflightNeedsNoCredentials) {
  Answer a = Ask(401, "OPTIONS", "/v2/a/manifests/latest");
  EXPECT_EQ(a.status, 200);
}

}  // namespace
}  // namespace berth::api
