// Organisations, teams and their members, grants.
#include "admin/internal.h"

namespace berth::admin::internal {

Result<Reply> ListOrgs(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto orgs, c.ops.ListOrgs(c.caller));
  return Reply{200, {{"orgs", orgs}}};
}

Result<Reply> AddOrg(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto name, String(c.body, "name"));
  BERTH_RETURN_IF_ERROR(c.ops.AddOrg(c.caller, name));
  return Created({{"name", name}});
}

Result<Reply> DeleteOrg(Call& c) { return Done(c.ops.DeleteOrg(c.caller, c.args[0])); }

Result<Reply> ListTeams(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto teams, c.ops.ListTeams(c.caller, c.args[0]));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : teams) out.push_back({{"name", t.name}, {"members", t.members}});
  return Reply{200, {{"org", c.args[0]}, {"teams", out}}};
}

Result<Reply> AddTeam(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto name, String(c.body, "name"));
  BERTH_RETURN_IF_ERROR(c.ops.AddTeam(c.caller, c.args[0], name));
  return Created({{"org", c.args[0]}, {"name", name}});
}

Result<Reply> DeleteTeam(Call& c) { return Done(c.ops.DeleteTeam(c.caller, c.args[0], c.args[1])); }

Result<Reply> AddMember(Call& c) {
  return Done(c.ops.AddMember(c.caller, c.args[0], c.args[1], c.args[2]));
}

Result<Reply> RemoveMember(Call& c) {
  return Done(c.ops.RemoveMember(c.caller, c.args[0], c.args[1], c.args[2]));
}

Result<Reply> ListGrants(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto grants, c.ops.ListGrants(c.caller));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : grants) {
    out.push_back({{"subject", g.subject},
                   {"role", std::string(meta::RoleName(g.role))},
                   {"target", g.target}});
  }
  return Reply{200, {{"grants", out}}};
}

Result<Reply> PutGrant(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto subject, String(c.body, "subject"));
  BERTH_ASSIGN_OR_RETURN(auto role, String(c.body, "role"));
  BERTH_ASSIGN_OR_RETURN(auto target, String(c.body, "target"));
  BERTH_RETURN_IF_ERROR(c.ops.Grant(c.caller, subject, role, target));
  return Reply{200, {{"subject", subject}, {"role", role}, {"target", target}}};
}

Result<Reply> DeleteGrant(Call& c) {
  auto subject = c.query.Get("subject");
  auto target = c.query.Get("target");
  if (!subject || !target || subject->empty() || target->empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give the grant as ?subject=USER_OR_ORG/TEAM&target=ORG_OR_REPOSITORY");
  }
  return Done(c.ops.Revoke(c.caller, *subject, *target));
}

}  // namespace berth::admin::internal
