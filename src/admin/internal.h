#pragma once
// Shared by the admin API's files; not part of the admin library's interface.

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "admin/ops.h"
#include "api/router.h"
#include "common/error.h"

namespace berth::admin::internal {

// One request, authenticated and matched.
struct Call {
  Operations& ops;
  Caller caller;
  std::vector<std::string> args;  // the pattern's {placeholders}, in order, percent-decoded
  api::Query query;
  nlohmann::json body;  // a JSON object for rows that read a body, else null
};

struct Reply {
  int status = 200;
  nlohmann::json body;  // null: no body (204)
};
inline Reply Created(nlohmann::json body) { return Reply{201, std::move(body)}; }
inline Reply NoContent() { return Reply{204, nullptr}; }

using HandlerFn = Result<Reply> (*)(Call&);

struct Row {
  std::string_view method;
  // After <prefix>api/v1/: '/'-separated literals and {args} (one segment each); {repo} spans
  // one or more segments (a repository name).
  std::string_view pattern;
  HandlerFn handler;
  bool reads_body;
};

std::span<const Row> Rows();

// Body fields. Errors: kInvalidArgument naming the field.
Result<std::string> String(const nlohmann::json& body, const char* field);
Result<bool> Bool(const nlohmann::json& body, const char* field, bool fallback);
// An array of strings (or one string); `required` refuses an absent field.
Result<std::vector<std::string>> Strings(const nlohmann::json& body, const char* field);
// Optional string field ("" when absent).
Result<std::string> OptionalString(const nlohmann::json& body, const char* field);
// Turns a Status into an empty 204 reply.
Result<Reply> Done(const Status& st);

// Handlers (users.cc, orgs.cc, tokens.cc, settings.cc).
Result<Reply> GetMe(Call& c);
Result<Reply> ListUsers(Call& c);
Result<Reply> AddUser(Call& c);
Result<Reply> DeleteUser(Call& c);
Result<Reply> SetPassword(Call& c);
Result<Reply> SetAdmin(Call& c);
Result<Reply> ListAudit(Call& c);

Result<Reply> ListOrgs(Call& c);
Result<Reply> AddOrg(Call& c);
Result<Reply> DeleteOrg(Call& c);
Result<Reply> ListTeams(Call& c);
Result<Reply> AddTeam(Call& c);
Result<Reply> DeleteTeam(Call& c);
Result<Reply> AddMember(Call& c);
Result<Reply> RemoveMember(Call& c);
Result<Reply> ListGrants(Call& c);
Result<Reply> PutGrant(Call& c);
Result<Reply> DeleteGrant(Call& c);

Result<Reply> ListRobots(Call& c);
Result<Reply> AddRobot(Call& c);
Result<Reply> RevokeRobot(Call& c);
Result<Reply> ListTokens(Call& c);
Result<Reply> AddToken(Call& c);
Result<Reply> RevokeToken(Call& c);

Result<Reply> ListQuotas(Call& c);
Result<Reply> GetQuota(Call& c);
Result<Reply> SetQuota(Call& c);
Result<Reply> GetVisibility(Call& c);
Result<Reply> SetVisibility(Call& c);
Result<Reply> ListPublic(Call& c);

// JSON shapes shared by handlers.
nlohmann::json QuotaJson(const meta::QuotaInfo& q);

}  // namespace berth::admin::internal
