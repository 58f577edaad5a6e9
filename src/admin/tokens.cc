// Robot accounts and personal access tokens: created with their secret shown once, listed
// without it, revoked.
#include <chrono>

#include "admin/internal.h"
#include "common/time.h"

namespace berth::admin::internal {
namespace {

nlohmann::json Expiry(int64_t unix_seconds) {
  if (unix_seconds == 0) return nullptr;
  return FormatRfc3339(SystemTime(std::chrono::seconds(unix_seconds)));
}

nlohmann::json TokenJson(const meta::TokenInfo& t) {
  nlohmann::json scopes = nlohmann::json::array();
  for (const auto& s : t.scopes) scopes.push_back(meta::FormatScope(s));
  nlohmann::json out = {{"name", t.name},
                        {"scopes", scopes},
                        {"expires_at", Expiry(t.expires_at)},
                        {"revoked", t.revoked},
                        {"created_at", Expiry(t.created_at)}};
  if (!t.owner.empty()) out["owner"] = t.owner;
  return out;
}

Result<Reply> List(Call& c, bool robots) {
  BERTH_ASSIGN_OR_RETURN(auto tokens, c.ops.ListTokens(c.caller, robots));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tokens) out.push_back(TokenJson(t));
  return Reply{200, {{robots ? "robots" : "tokens", out}}};
}

// `owner` "" makes a robot.
Result<Reply> Add(Call& c, std::string owner) {
  BERTH_ASSIGN_OR_RETURN(auto name, String(c.body, "name"));
  BERTH_ASSIGN_OR_RETURN(auto scopes, Strings(c.body, "scopes"));
  BERTH_ASSIGN_OR_RETURN(auto expires, OptionalString(c.body, "expires"));
  BERTH_ASSIGN_OR_RETURN(auto t, c.ops.AddToken(c.caller, name, owner, scopes, expires));
  nlohmann::json out = TokenJson(t.info);
  // What `docker login` takes; the secret is never shown again.
  out["username"] = owner.empty() ? t.info.name : owner;
  out["token"] = t.secret;
  return Created(std::move(out));
}

}  // namespace

Result<Reply> ListRobots(Call& c) { return List(c, true); }
Result<Reply> AddRobot(Call& c) { return Add(c, ""); }
Result<Reply> RevokeRobot(Call& c) { return Done(c.ops.RevokeToken(c.caller, c.args[0], true)); }

Result<Reply> ListTokens(Call& c) { return List(c, false); }
Result<Reply> AddToken(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto owner, OptionalString(c.body, "owner"));
  return Add(c, owner.empty() ? c.caller.name : owner);
}
Result<Reply> RevokeToken(Call& c) { return Done(c.ops.RevokeToken(c.caller, c.args[0], false)); }

}  // namespace berth::admin::internal
