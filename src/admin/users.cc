// Users, GET /me and the audit trail.
#include "admin/internal.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::admin::internal {
namespace {

std::string Time(int64_t unix_seconds) {
  return FormatRfc3339(SystemTime(std::chrono::seconds(unix_seconds)));
}

}  // namespace

Result<Reply> GetMe(Call& c) {
  BERTH_ASSIGN_OR_RETURN(Me me, c.ops.WhoAmI(c.caller));
  nlohmann::json quotas = nlohmann::json::array();
  for (const auto& q : me.quotas) quotas.push_back(QuotaJson(q));
  return Reply{200,
               {{"name", me.name},
                {"kind", me.kind},
                {"admin", me.admin},
                {"teams", me.teams},
                {"administers", me.administers},
                {"quotas", quotas}}};
}

Result<Reply> ListUsers(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto users, c.ops.ListUsers(c.caller));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& u : users) {
    out.push_back({{"name", u.name}, {"admin", u.admin}, {"created_at", Time(u.created_at)}});
  }
  return Reply{200, {{"users", out}}};
}

Result<Reply> AddUser(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto name, String(c.body, "name"));
  BERTH_ASSIGN_OR_RETURN(auto password, String(c.body, "password"));
  BERTH_ASSIGN_OR_RETURN(bool admin, Bool(c.body, "admin", false));
  BERTH_RETURN_IF_ERROR(c.ops.AddUser(c.caller, name, password, admin));
  return Created({{"name", name}, {"admin", admin}});
}

Result<Reply> DeleteUser(Call& c) { return Done(c.ops.DeleteUser(c.caller, c.args[0])); }

Result<Reply> SetPassword(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto password, String(c.body, "password"));
  return Done(c.ops.SetPassword(c.caller, c.args[0], password));
}

Result<Reply> SetAdmin(Call& c) {
  auto it = c.body.find("admin");
  if (it == c.body.end() || !it->is_boolean()) {
    return MakeError(ErrorCode::kInvalidArgument, "field \"admin\": want true or false");
  }
  return Done(c.ops.SetAdmin(c.caller, c.args[0], it->get<bool>()));
}

Result<Reply> ListAudit(Call& c) {
  size_t limit = 100;
  if (auto l = c.query.Get("limit")) {
    auto n = ParseUint64(*l);
    if (!n || *n == 0 || *n > 10000) {
      return MakeError(ErrorCode::kInvalidArgument, "limit: want a number from 1 to 10000");
    }
    limit = static_cast<size_t>(*n);
  }
  BERTH_ASSIGN_OR_RETURN(auto entries, c.ops.Audit(c.caller, limit));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries) {
    out.push_back({{"time", Time(e.at)},
                   {"actor", e.actor},
                   {"action", e.action},
                   {"target", e.target},
                   {"detail", e.detail}});
  }
  return Reply{200, {{"entries", out}}};
}

}  // namespace berth::admin::internal
