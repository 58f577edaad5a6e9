#include "meta/model.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "auth/token_service.h"
#include "common/enum_names.h"
#include "common/names.h"
#include "common/strings.h"

namespace berth::meta {
namespace {

constexpr std::string_view kActions[] = {"pull", "push", "delete"};

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

constexpr std::array<std::string_view, 5> kRoleNames = {"none", "read", "write", "delete",
                                                        "admin"};
static_assert(kRoleNames.size() == static_cast<size_t>(Role::kAdmin) + 1);

std::string_view RoleName(Role r) { return EnumName(r, kRoleNames, "none"); }

Result<Role> ParseRole(std::string_view s) {
  for (Role r : {Role::kRead, Role::kWrite, Role::kDelete, Role::kAdmin}) {
    if (s == RoleName(r)) return r;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown role \"" + std::string(s.substr(0, 40)) +
                       "\" (want read, write, delete or admin)");
}

Role RoleFor(std::string_view action) {
  if (action == "pull") return Role::kRead;
  if (action == "push") return Role::kWrite;
  if (action == "delete") return Role::kDelete;
  return Role::kAdmin;
}

Status ValidateName(std::string_view name, std::string_view what) {
  auto bad = [&](std::string why) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + " name \"" +
                                                      std::string(name.substr(0, 80)) + "\" " +
                                                      why);
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 64) return bad("is longer than 64 characters");
  bool prev_sep = true;
  for (char c : name) {
    if (IsAlnum(c)) {
      prev_sep = false;
    } else if (c == '.' || c == '_' || c == '-') {
      if (prev_sep) return bad("must separate letters and digits by single '.', '_' or '-'");
      prev_sep = true;
    } else {
      return bad("may hold only lowercase letters, digits, '.', '_' and '-'");
    }
  }
  if (prev_sep) return bad("must end with a letter or digit");
  return Ok();
}

std::string_view NamespaceOf(std::string_view repo) {
  size_t slash = repo.find('/');
  return slash == std::string_view::npos ? std::string_view() : repo.substr(0, slash);
}

Result<Scope> ParseScopeSpec(std::string_view spec) {
  size_t colon = spec.rfind(':');
  auto bad = [&](std::string why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "scope \"" + std::string(spec.substr(0, 120)) + "\": " + why);
  };
  if (colon == std::string_view::npos || colon == 0) {
    return bad("expected GLOB:ACTIONS, e.g. acme/*:pull,push");
  }
  Scope s;
  s.glob = std::string(spec.substr(0, colon));
  if (s.glob.size() > 256) return bad("glob too long");
  for (char c : s.glob) {
    if (!(IsAlnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == '*' || c == '?')) {
      return bad("the glob may hold repository-name characters, '*' and '?'");
    }
  }
  for (std::string_view a : Split(spec.substr(colon + 1), ',')) {
    a = Trim(a);
    if (a == "*") {
      s.actions.assign(std::begin(kActions), std::end(kActions));
    } else if (std::find(std::begin(kActions), std::end(kActions), a) != std::end(kActions)) {
      if (std::find(s.actions.begin(), s.actions.end(), a) == s.actions.end()) {
        s.actions.emplace_back(a);
      }
    } else {
      return bad("unknown action \"" + std::string(a.substr(0, 40)) +
                 "\" (pull, push, delete or *)");
    }
  }
  if (s.actions.empty()) return bad("no actions");
  return s;
}

std::string FormatScope(const Scope& s) {
  std::string out = s.glob + ":";
  for (size_t i = 0; i < s.actions.size(); ++i) out += (i ? "," : "") + s.actions[i];
  return out;
}

std::string FormatBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

Result<uint64_t> ParseBytes(std::string_view s) {
  std::string_view t = Trim(s);
  size_t end = 0;
  while (end < t.size() && ((t[end] >= '0' && t[end] <= '9') || t[end] == '.')) ++end;
  std::string num(t.substr(0, end));
  std::string unit = ToLower(Trim(t.substr(end)));
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a size: \"" + std::string(s.substr(0, 40)) +
                         "\" (want bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
  };
  if (num.empty() || num.find('.') != num.rfind('.')) return bad();
  const std::pair<const char*, double> units[] = {
      {"", 1},      {"b", 1},        {"kb", 1e3},      {"mb", 1e6},        {"gb", 1e9},
      {"tb", 1e12}, {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0},
      {"tib", 1099511627776.0}};
  for (const auto& [name, mult] : units) {
    if (unit != name) continue;
    double v = std::strtod(num.c_str(), nullptr) * mult;
    if (!(v >= 0) || v > 9.0e18) return bad();
    return static_cast<uint64_t>(v);
  }
  return bad();
}

namespace {

// The best role `subject` holds on `repo` (a grant on the repository or on its organisation).
Role GrantedRole(const Directory& dir, std::string_view subject, std::string_view repo) {
  auto g = dir.grants.find(subject);
  if (g == dir.grants.end()) return Role::kNone;
  Role best = Role::kNone;
  if (auto r = g->second.find(repo); r != g->second.end()) best = std::max(best, r->second);
  std::string_view ns = NamespaceOf(repo);
  if (!ns.empty()) {
    if (auto r = g->second.find(ns); r != g->second.end()) best = std::max(best, r->second);
  }
  return best;
}

bool UserAllows(const Directory& dir, std::string_view user, std::string_view repo,
                std::string_view action) {
  auto u = dir.users.find(user);
  if (u == dir.users.end()) return false;
  if (u->second.admin) return true;
  if (NamespaceOf(repo) == user) return true;  // the personal namespace
  Role need = RoleFor(action);
  if (GrantedRole(dir, user, repo) >= need) return true;
  if (auto t = dir.teams_of.find(user); t != dir.teams_of.end()) {
    for (const std::string& team : t->second) {
      if (GrantedRole(dir, team, repo) >= need) return true;
    }
  }
  return false;
}

bool TokenAllows(const TokenInfo& t, std::string_view repo, std::string_view action,
                 int64_t now) {
  if (t.revoked || (t.expires_at != 0 && now >= t.expires_at)) return false;
  for (const Scope& s : t.scopes) {
    if (!auth::GlobMatch(s.glob, repo)) continue;
    if (std::find(s.actions.begin(), s.actions.end(), action) != s.actions.end()) return true;
  }
  return false;
}

}  // namespace

bool Allows(const Directory& dir, const Identity& who, std::string_view repo,
            std::string_view action, int64_t now) {
  if (!ValidateRepositoryName(repo)) return false;
  if (action == "pull" && dir.public_repos.contains(repo)) return true;
  if (who.name.empty()) return false;
  if (who.token != nullptr) {
    if (!TokenAllows(*who.token, repo, action, now)) return false;
    // A robot's scopes are its whole authority; a personal token is also bounded by its owner.
    return who.token->owner.empty() || UserAllows(dir, who.token->owner, repo, action);
  }
  return UserAllows(dir, who.name, repo, action);
}

bool MayAdminister(const Directory& dir, const Identity& who, std::string_view target) {
  if (who.name.empty() || who.token != nullptr) return false;  // tokens do not administer
  auto u = dir.users.find(who.name);
  if (u == dir.users.end()) return false;
  if (u->second.admin) return true;
  std::string_view ns = NamespaceOf(target).empty() ? target : NamespaceOf(target);
  if (ns == who.name) return true;
  auto holds_admin = [&](std::string_view subject) {
    auto g = dir.grants.find(subject);
    if (g == dir.grants.end()) return false;
    auto r = g->second.find(ns);
    return r != g->second.end() && r->second == Role::kAdmin;
  };
  if (holds_admin(who.name)) return true;
  if (auto t = dir.teams_of.find(who.name); t != dir.teams_of.end()) {
    for (const std::string& team : t->second) {
      if (holds_admin(team)) return true;
    }
  }
  return false;
}

}  // namespace berth::meta
