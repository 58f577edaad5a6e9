// The admin API's route table: one row per endpoint (docs/openapi.yaml documents each; a test
// compares the two).
#include <array>

#include "admin/internal.h"

namespace berth::admin::internal {
namespace {

const std::array kRows = {
    Row{"GET", "me", GetMe, false},
    Row{"GET", "users", ListUsers, false},
    Row{"POST", "users", AddUser, true},
    Row{"DELETE", "users/{user}", DeleteUser, false},
    Row{"PUT", "users/{user}/password", SetPassword, true},
    Row{"PUT", "users/{user}/admin", SetAdmin, true},
    Row{"GET", "orgs", ListOrgs, false},
    Row{"POST", "orgs", AddOrg, true},
    Row{"DELETE", "orgs/{org}", DeleteOrg, false},
    Row{"GET", "orgs/{org}/teams", ListTeams, false},
    Row{"POST", "orgs/{org}/teams", AddTeam, true},
    Row{"DELETE", "orgs/{org}/teams/{team}", DeleteTeam, false},
    Row{"PUT", "orgs/{org}/teams/{team}/members/{user}", AddMember, false},
    Row{"DELETE", "orgs/{org}/teams/{team}/members/{user}", RemoveMember, false},
    Row{"GET", "grants", ListGrants, false},
    Row{"PUT", "grants", PutGrant, true},
    Row{"DELETE", "grants", DeleteGrant, false},
    Row{"GET", "robots", ListRobots, false},
    Row{"POST", "robots", AddRobot, true},
    Row{"DELETE", "robots/{robot}", RevokeRobot, false},
    Row{"GET", "tokens", ListTokens, false},
    Row{"POST", "tokens", AddToken, true},
    Row{"DELETE", "tokens/{token}", RevokeToken, false},
    Row{"GET", "quotas", ListQuotas, false},
    Row{"GET", "quotas/{namespace}", GetQuota, false},
    Row{"PUT", "quotas/{namespace}", SetQuota, true},
    Row{"GET", "repositories/public", ListPublic, false},
    Row{"GET", "repositories/{repo}/visibility", GetVisibility, false},
    Row{"PUT", "repositories/{repo}/visibility", SetVisibility, true},
    Row{"GET", "audit", ListAudit, false},
};

}  // namespace

std::span<const Row> Rows() { return kRows; }

}  // namespace berth::admin::internal
