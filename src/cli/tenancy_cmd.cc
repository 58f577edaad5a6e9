// Tenancy commands over the metadata store the config names (berth.meta): users, organisations,
// teams, grants, robot accounts and personal access tokens, quotas, repository visibility and the
// audit trail. They work whether the server runs or not (the server notices changes on its next
// request). Passwords come from standard input, never from arguments (which `ps` shows).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "admin/ops.h"
#include "auth/htpasswd.h"
#include "cli/commands.h"
#include "common/strings.h"
#include "meta/open.h"
#include "notify/changes.h"

namespace berth::cli {
namespace {

// Who made a change, for the audit trail: the operating-system user running the CLI.
admin::Caller Operator() {
  const char* u = std::getenv("SUDO_USER");
  if (u == nullptr || *u == '\0') u = std::getenv("USER");
  return admin::Caller::Local(std::string("cli:") + (u && *u ? u : std::to_string(::getuid())));
}

// What a command line gives: the config naming the store, and the arguments of whichever
// subcommand runs (one object per command group, filled by CLI11 before its callback).
struct Args {
  std::string config;
  std::string name, file, org, team, user, subject, role, target, owner, expires, ns, size, repo,
      visibility;
  std::vector<std::string> scopes;
  bool admin = false, remove = false, list = false;
  std::string team_path() const { return org + "/" + team; }
};
using ArgsPtr = std::shared_ptr<Args>;
using OpFn = std::function<Status(admin::Operations&, const admin::Caller&)>;

// Opens the store, runs `fn`, and turns errors into an exit code with a message.
int Run(const Args& args, const OpFn& fn) {
  auto loaded = LoadCommandConfig(args.config);
  if (!loaded) {
    std::cerr << "berth: configuration error: " << loaded.error().message << "\n";
    return 2;
  }
  auto store = meta::OpenConfigured(loaded->config);
  if (!store) {
    std::cerr << "berth: " << store.error().message << "\n";
    return 1;
  }
  // Changes also go to berth.audit when it writes to a file (notify/changes.h).
  auto hook = notify::OpenChangeRecorder(loaded->config);
  if (!hook) {
    std::cerr << "berth: " << hook.error().message << "\n";
    return 1;
  }
  (*store)->OnChange(std::move(*hook));
  admin::Operations ops(**store);
  auto st = fn(ops, Operator());
  if (!st) {
    std::cerr << "berth: " << st.error().message << "\n";
    return st.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

// Makes `cmd` run `fn` on the store.
void On(CLI::App* cmd, CommandResult& result, const ArgsPtr& args, OpFn fn) {
  cmd->callback([&result, args, fn = std::move(fn)] { result.code = Run(*args, fn); });
}

// Prints `done` after `st` succeeded.
Status Say(const Status& st, const std::string& done) {
  if (st) std::cout << done << "\n";
  return st;
}

using Rows = std::vector<std::vector<std::string>>;

// A table a person can read: a header row, then aligned columns.
void PrintTable(const std::vector<std::string>& header, const Rows& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string Date(int64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  return FormatRfc3339(SystemTime(std::chrono::seconds(unix_seconds)));
}

Result<std::string> ReadPassword() {
  std::string password;
  if (!std::getline(std::cin, password)) password.clear();
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "give the password on standard input");
  }
  return password;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A command group with the -c option naming the store; one subcommand is required unless the
// group is a command itself.
CLI::App* Group(CLI::App& cli, const char* name, const char* help, const ArgsPtr& c,
                bool has_subcommands = true) {
  auto* g = cli.add_subcommand(name, help);
  g->add_option("-c,--config", c->config,
                "config naming the store (berth.meta; default $REGISTRY_CONFIG_PATH)");
  g->fallthrough();
  if (has_subcommands) g->require_subcommand(1);
  return g;
}

// Subcommand `name` of `group` with the required positional arguments `args` (name, where).
CLI::App* Sub(CLI::App* group, const std::string& name, const std::string& help,
              std::initializer_list<std::pair<const char*, std::string*>> args) {
  auto* cmd = group->add_subcommand(name, help);
  for (auto [arg, where] : args) cmd->add_option(arg, *where)->required();
  return cmd;
}

void AddUserCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<Args>();
  auto* user = Group(cli, "user", "Users of the metadata store (berth.meta)", a);

  auto* add =
      Sub(user, "add", "Add user NAME; the password is read from stdin", {{"name", &a->name}});
  add->add_flag("--admin", a->admin, "may do everything, including administering the registry");
  On(add, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_RETURN_IF_ERROR(meta::ValidateName(a->name, "user"));
    BERTH_ASSIGN_OR_RETURN(auto password, ReadPassword());
    return Say(ops.AddUser(me, a->name, password, a->admin),
               "added user " + a->name + (a->admin ? " (admin)" : ""));
  });

  auto* passwd = Sub(user, "passwd", "Set NAME's password from stdin", {{"name", &a->name}});
  On(passwd, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto password, ReadPassword());
    return Say(ops.SetPassword(me, a->name, password), "changed the password of " + a->name);
  });

  auto* set_admin =
      Sub(user, "set-admin", "Make NAME a server admin (--revoke: an ordinary user again)",
          {{"name", &a->name}});
  set_admin->add_flag("--revoke", a->remove, "take the admin flag away");
  On(set_admin, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    return Say(ops.SetAdmin(me, a->name, !a->remove),
               a->name + (a->remove ? " is no longer a server admin" : " is a server admin"));
  });

  auto* del = Sub(user, "delete", "Delete NAME, its team memberships, grants and tokens",
                  {{"name", &a->name}});
  On(del, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    return Say(ops.DeleteUser(me, a->name), "deleted user " + a->name);
  });

  auto* list = user->add_subcommand("list", "List users");
  On(list, result, a, [](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto users, ops.ListUsers(me));
    Rows rows;
    for (const auto& u : users)
      rows.push_back({u.name, u.admin ? "yes" : "no", Date(u.created_at)});
    PrintTable({"USER", "ADMIN", "CREATED"}, rows);
    return Ok();
  });

  auto* import = Sub(user, "import-htpasswd",
                     "Add the users of an htpasswd file (bcrypt entries), keeping their hashes",
                     {{"file", &a->file}});
  On(import, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
    std::ifstream in(a->file, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kIo, "cannot read " + a->file);
    std::ostringstream text;
    text << in.rdbuf();
    auto entries = auth::ParseHtpasswd(text.str());
    if (!entries) return MakeError(entries.error().code, a->file + ": " + entries.error().message);
    size_t added = 0, skipped = 0;
    for (const auto& [name, hash] : *entries) {
      auto st = ops.AddUserWithHash(me, name, hash);
      if (st) {
        ++added;
      } else if (st.error().code == ErrorCode::kAlreadyExists ||
                 st.error().code == ErrorCode::kInvalidArgument) {
        std::cerr << "skipped " << name << ": " << st.error().message << "\n";
        ++skipped;
      } else {
        return st;
      }
    }
    std::cout << "imported " << added << " users from " << a->file;
    if (skipped) std::cout << " (" << skipped << " skipped)";
    std::cout << "\n";
    return Ok();
  });
}

void AddOrgCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<Args>();
  auto* org = Group(cli, "org", "Organisations (own the repositories under their name)", a);
  auto* add = Sub(org, "add", "Add organisation ORG", {{"org", &a->name}});
  On(add, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    return Say(ops.AddOrg(me, a->name), "added organisation " + a->name);
  });
  auto* del = Sub(org, "delete", "Delete ORG with its teams and grants", {{"org", &a->name}});
  On(del, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    return Say(ops.DeleteOrg(me, a->name), "deleted organisation " + a->name);
  });
  auto* list = org->add_subcommand("list", "List organisations");
  On(list, result, a, [](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto orgs, ops.ListOrgs(me));
    BERTH_ASSIGN_OR_RETURN(auto quotas, ops.Quotas(me, ""));
    Rows rows;
    for (const auto& o : orgs) {
      std::string used = "0 B", limit = "none";
      for (const auto& q : quotas) {
        if (q.ns != o) continue;
        used = meta::FormatBytes(q.used_bytes);
        if (q.limit_bytes) limit = meta::FormatBytes(q.limit_bytes);
      }
      rows.push_back({o, used, limit});
    }
    PrintTable({"ORGANISATION", "USED", "QUOTA"}, rows);
    return Ok();
  });
}

void AddTeamCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<Args>();
  auto* team = Group(cli, "team", "Teams inside organisations", a);
  auto* add = Sub(team, "add", "Add team TEAM to ORG", {{"org", &a->org}, {"team", &a->team}});
  On(add, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    return Say(ops.AddTeam(me, a->org, a->team), "added team " + a->team_path());
  });
  auto* del = Sub(team, "delete", "Delete ORG's team TEAM", {{"org", &a->org}, {"team", &a->team}});
  On(del, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    return Say(ops.DeleteTeam(me, a->org, a->team), "deleted team " + a->team_path());
  });
  auto* member = Sub(team, "member", "Add USER to ORG's team TEAM (--remove: take out)",
                     {{"org", &a->org}, {"team", &a->team}, {"user", &a->user}});
  member->add_flag("--remove", a->remove, "remove the user from the team");
  On(member, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    if (a->remove) {
      return Say(ops.RemoveMember(me, a->org, a->team, a->user),
                 "removed " + a->user + " from " + a->team_path());
    }
    return Say(ops.AddMember(me, a->org, a->team, a->user),
               "added " + a->user + " to " + a->team_path());
  });
  auto* list = Sub(team, "list", "List ORG's teams and their members", {{"org", &a->org}});
  On(list, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto teams, ops.ListTeams(me, a->org));
    Rows rows;
    for (const auto& t : teams) {
      std::string members;
      for (const auto& m : t.members) members += (members.empty() ? "" : ", ") + m;
      rows.push_back({t.org + "/" + t.name, members.empty() ? "-" : members});
    }
    PrintTable({"TEAM", "MEMBERS"}, rows);
    return Ok();
  });
}

void AddGrantCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<Args>();
  auto* grant = Group(cli, "grant",
                      "Give SUBJECT (a user or ORG/TEAM) ROLE (read|write|delete|admin, or none to "
                      "revoke) on TARGET (an organisation or a repository); --list shows grants",
                      a, false);
  grant->add_option("subject", a->subject, "user or ORG/TEAM");
  grant->add_option("role", a->role, "read, write, delete, admin or none");
  grant->add_option("target", a->target, "organisation or repository");
  grant->add_flag("--list", a->list, "list every grant");
  On(grant, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
    if (a->list) {
      BERTH_ASSIGN_OR_RETURN(auto grants, ops.ListGrants(me));
      Rows rows;
      for (const auto& g : grants) {
        rows.push_back({g.subject, std::string(meta::RoleName(g.role)), g.target});
      }
      PrintTable({"SUBJECT", "ROLE", "TARGET"}, rows);
      return Ok();
    }
    if (a->subject.empty() || a->role.empty() || a->target.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "usage: berth grant SUBJECT ROLE TARGET");
    }
    return Say(ops.Grant(me, a->subject, a->role, a->target),
               a->role == "none" ? "revoked " + a->subject + "'s role on " + a->target
                                 : "granted " + a->role + " on " + a->target + " to " + a->subject);
  });
}

// Robots (owner "") and personal access tokens share the table and the listing.
void TokenTable(const std::vector<meta::TokenInfo>& tokens, bool robots) {
  Rows rows;
  int64_t now = NowSeconds();
  for (const auto& t : tokens) {
    std::string scopes;
    for (const auto& sc : t.scopes) scopes += (scopes.empty() ? "" : " ") + meta::FormatScope(sc);
    std::string state = t.revoked                                   ? "revoked"
                        : (t.expires_at && now >= t.expires_at) ? "expired"
                                                                    : "active";
    std::vector<std::string> row{t.name};
    if (!robots) row.push_back(t.owner);
    row.insert(row.end(), {scopes, Date(t.expires_at), state});
    rows.push_back(std::move(row));
  }
  if (robots) {
    PrintTable({"ROBOT", "SCOPES", "EXPIRES", "STATE"}, rows);
  } else {
    PrintTable({"TOKEN", "OWNER", "SCOPES", "EXPIRES", "STATE"}, rows);
  }
}

void AddRobotCommands(CLI::App& cli, CommandResult& result) {
  for (bool robots : {true, false}) {
    auto a = std::make_shared<Args>();
    auto* g = robots
                  ? Group(cli, "robot", "Robot accounts: log in with the robot's name and token", a)
                  : Group(cli, "token",
                          "Personal access tokens: log in with the owner's name and the token", a);
    auto* add = g->add_subcommand("add", robots ? "Add robot NAME; prints its token once"
                                                : "Add token NAME for USER; prints it once");
    if (!robots) add->add_option("user", a->owner, "owner")->required();
    add->add_option("name", a->name, "name")->required();
    add->add_option("--scope", a->scopes, "GLOB:ACTIONS, e.g. acme/*:pull,push (repeatable)")
        ->required();
    add->add_option("--expires", a->expires, "lifetime, e.g. 30d or 12h (default: never)");
    On(add, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
      BERTH_ASSIGN_OR_RETURN(auto t, ops.AddToken(me, a->name, a->owner, a->scopes, a->expires));
      std::cout << "username: " << (t.info.owner.empty() ? t.info.name : t.info.owner) << "\n"
                << "token: " << t.secret << "\n"
                << "expires: " << Date(t.info.expires_at) << "\n";
      return Ok();
    });
    auto* list = g->add_subcommand("list", robots ? "List robots" : "List personal tokens");
    On(list, result, a, [robots](admin::Operations& ops, const admin::Caller& me) -> Status {
      BERTH_ASSIGN_OR_RETURN(auto tokens, ops.ListTokens(me, robots));
      TokenTable(tokens, robots);
      return Ok();
    });
    auto* revoke =
        Sub(g, "revoke", "Revoke NAME (effective on its next request)", {{"name", &a->name}});
    On(revoke, result, a, [a, robots](admin::Operations& ops, const admin::Caller& me) {
      return Say(ops.RevokeToken(me, a->name, robots), "revoked " + a->name);
    });
  }
}

std::string Percent(const meta::QuotaInfo& q) {
  if (!q.limit_bytes) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(1)
    << 100.0 * static_cast<double>(q.used_bytes) / static_cast<double>(q.limit_bytes) << "%";
  return o.str();
}

void AddQuotaCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<Args>();
  auto* quota = Group(cli, "quota", "Storage quotas per namespace (organisation or user)", a);
  auto* set = Sub(quota, "set", "Limit NAMESPACE to SIZE (e.g. 10GiB; 0 = no limit)",
                  {{"namespace", &a->ns}, {"size", &a->size}});
  On(set, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(uint64_t bytes, ops.SetQuota(me, a->ns, a->size));
    std::cout << "quota of " << a->ns << ": "
              << (bytes ? meta::FormatBytes(bytes) : std::string("no limit")) << "\n";
    return Ok();
  });
  auto* show = quota->add_subcommand("show", "Usage and limits (of NAMESPACE, or all)");
  show->add_option("namespace", a->ns);
  On(show, result, a, [a](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto quotas, ops.Quotas(me, a->ns));
    Rows rows;
    for (const auto& q : quotas) {
      rows.push_back({q.ns.empty() ? "(top level)" : q.ns, meta::FormatBytes(q.used_bytes),
                      q.limit_bytes ? meta::FormatBytes(q.limit_bytes) : "none", Percent(q)});
    }
    PrintTable({"NAMESPACE", "USED", "LIMIT", "USE%"}, rows);
    return Ok();
  });
}

void AddRepoCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<Args>();
  auto* repo = Group(cli, "repo", "Repository settings", a);
  auto* vis = Sub(repo, "set-visibility", "Make REPO public (anonymous pull) or private",
                  {{"repo", &a->repo}});
  vis->add_option("visibility", a->visibility)->required()->check(CLI::IsMember({"public", "private"}));
  On(vis, result, a, [a](admin::Operations& ops, const admin::Caller& me) {
    return Say(ops.SetVisibility(me, a->repo, a->visibility), a->repo + " is " + a->visibility);
  });
  auto* pub = repo->add_subcommand("list-public", "List public repositories");
  On(pub, result, a, [](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto repos, ops.PublicRepositories(me));
    for (const auto& r : repos) std::cout << r << "\n";
    return Ok();
  });
}

void AddAuditCommand(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<Args>();
  auto* audit = Group(cli, "audit", "The store's audit trail of changes, newest first", a, false);
  auto limit = std::make_shared<size_t>(50);
  audit->add_option("-n,--limit", *limit, "entries to show (default 50)");
  On(audit, result, a, [limit](admin::Operations& ops, const admin::Caller& me) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto entries, ops.Audit(me, *limit));
    Rows rows;
    for (const auto& e : entries)
      rows.push_back({Date(e.at), e.actor, e.action, e.target, e.detail});
    PrintTable({"TIME", "ACTOR", "ACTION", "TARGET", "DETAIL"}, rows);
    return Ok();
  });
}

}  // namespace

void AddTenancyCommands(CLI::App& cli, CommandResult& result) {
  AddUserCommands(cli, result);
  AddOrgCommands(cli, result);
  AddTeamCommands(cli, result);
  AddGrantCommands(cli, result);
  AddRobotCommands(cli, result);
  AddQuotaCommands(cli, result);
  AddRepoCommands(cli, result);
  AddAuditCommand(cli, result);
}

}  // namespace berth::cli
