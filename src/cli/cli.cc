// The command line: the core commands (serve, config check, version, htpasswd) and the parser's
// error reporting. Distribution's `registry serve <config>` maps to `berth serve <config>`, and,
// as registry:2's entrypoint does, `berth FILE.yml` alone means `berth serve FILE.yml`.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <vector>

#include "auth/htpasswd.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/privileges.h"
#include "common/log.h"
#include "common/version.h"

namespace berth::cli {
namespace {


// The config path: the argument, else REGISTRY_CONFIG_PATH, else none (embedded defaults).
std::string ConfigPath(const std::string& arg) {
  if (!arg.empty()) return arg;
  if (const char* p = std::getenv("REGISTRY_CONFIG_PATH"); p && *p) return p;
  return "";
}

Result<config::LoadResult> LoadConfig(const std::string& path) {
  auto env = config::ProcessEnvironment();
  if (path.empty()) {
    // Embedded default: a data directory beside where Berth was started, unless the environment
    // (REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY) says otherwise.
    std::string root = (std::filesystem::current_path() / "berth-data").string();
    if (const char* d = std::getenv("BERTH_DATA_DIR"); d && *d) root = d;
    std::string yaml = "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: \"" + root +
                       "\"\nhttp:\n  addr: \":5000\"\n";
    return config::Load(yaml, env);
  }
  return config::LoadFile(path, env);
}

// Every connection is a descriptor, and the usual soft limit (1024) would refuse clients long before
// memory runs short: raise it to the hard limit, as Go (and so Distribution) does at start-up.
void RaiseFileLimit() {
  struct rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
    spdlog::debug("open-file limit raised from {} to {}", before, rl.rlim_cur);
  } else {
    spdlog::warn("open-file limit is {}; raising it to {} failed", before, rl.rlim_max);
  }
}

log::Options LogOptions(const config::LogConfig& c) {
  log::Options o;
  o.level = c.level;
  o.format = c.formatter == "json"       ? log::Format::kJson
             : c.formatter == "logstash" ? log::Format::kLogstash
                                         : log::Format::kText;
  o.fields = c.fields;
  return o;
}

int Serve(const std::string& config_arg) {
  auto loaded = LoadCommandConfig(config_arg);
  if (!loaded) {
    // One line (e2e.startup holds it to that): the message names the key or the file.
    std::cerr << "berth: configuration error: " << loaded.error().message << "\n";
    return 2;
  }
  const config::Config& cfg = loaded->config;
  log::Configure(LogOptions(cfg.log));
  for (const auto& w : loaded->warnings) spdlog::warn("config: {}", w);
  // SIGHUP means "reload TLS certificates" once the server waits for signals; before that (and
  // during the drain after it) it must not end the process, which is its default action.
  std::signal(SIGHUP, SIG_IGN);
  RaiseFileLimit();
  // Started as root with BERTH_USER set (the container image): become that user, in two steps
  // around Create/Start (cli/privileges.h).
  PrivilegePlan privileges;
  if (const char* user = std::getenv("BERTH_USER"); user && *user && geteuid() == 0) {
    auto plan = PreparePrivilegeDrop(
        user, cfg.storage.driver == "filesystem" ? cfg.storage.filesystem_rootdirectory : "");
    if (!plan) {
      spdlog::critical("cannot start: {}", plan.error().message);
      return 1;
    }
    privileges = *plan;
    if (privileges.chowned > 0) {
      spdlog::info("gave {} entries under {} to {} (uid {})", privileges.chowned,
                   cfg.storage.filesystem_rootdirectory, privileges.user, privileges.uid);
    }
    if (!privileges.drop) spdlog::warn("running as root: {}", privileges.reason);
  }
  auto app = App::Create(cfg);
  if (!app) {
    spdlog::critical("cannot start: {}", app.error().message);
    return 1;
  }
  auto started = (*app)->Start();
  if (!started) {
    spdlog::critical(
        "cannot listen on {}: {} (another process on that port? change http.addr or set "
        "REGISTRY_HTTP_ADDR)",
        cfg.http.addr, started.error().message);
    return 1;
  }
  if (auto st = FinishPrivilegeDrop(privileges); !st) {
    spdlog::critical("cannot start: {}", st.error().message);
    return 1;
  }
  if (privileges.drop) spdlog::info("running as {} (uid {})", privileges.user, privileges.uid);
  auto hp = config::SplitHostPort(cfg.http.addr);
  std::string host = hp && !hp->first.empty() ? hp->first : "0.0.0.0";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  // Tests and scripts start Berth on port 0 and read the real port from this line.
  log::Announce("berth " + std::string(kVersion) + ": " +
                Summary(cfg, host + ":" + std::to_string((*app)->port())));
  (*app)->RunUntilSignal();
  spdlog::info("berth stopped");
  return 0;
}

// The same checks as serve, short of listening: the file, then the files it names.
int ConfigCheck(const std::string& file) {
  auto loaded = config::LoadFile(file, config::ProcessEnvironment());
  if (!loaded) {
    std::cerr << file << ": " << loaded.error().message << "\n";
    return 1;
  }
  for (const auto& w : loaded->warnings) std::cerr << file << ": warning: " << w << "\n";
  if (auto st = CheckResources(loaded->config); !st) {
    std::cerr << file << ": " << st.error().message << "\n";
    return 1;
  }
  std::cout << file << ": ok\n";
  return 0;
}

// `berth htpasswd add USER [-f FILE]`: the password comes from stdin (one line), so it never shows in
// `ps` or shell history.
int HtpasswdAdd(const std::string& user, std::string file, int cost) {
  if (file.empty()) {
    const char* env = std::getenv("REGISTRY_AUTH_HTPASSWD_PATH");
    file = env && *env ? env : "htpasswd";
  }
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::cerr << "berth htpasswd: give the password on standard input\n";
    return 2;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  auto st = auth::AddUser(file, user, password, cost);
  if (!st) {
    std::cerr << "berth htpasswd: " << st.error().message << "\n";
    return 1;
  }
  std::cout << "added " << user << " to " << file << " (bcrypt)\n";
  return 0;
}

// The deepest subcommand the user reached ("berth config" for `berth config chek`).
CLI::App* Deepest(CLI::App& cli, std::string& path) {
  CLI::App* at = &cli;
  path = "berth";
  while (true) {
    auto parsed = at->get_subcommands();
    if (parsed.empty()) return at;
    at = parsed.front();
    path += " " + at->get_name();
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string CommandList(CLI::App* at, std::string_view typed, std::string& suggestion) {
  std::string out;
  size_t best = 3;  // suggest only close matches
  for (CLI::App* sub : at->get_subcommands([](CLI::App* a) { return !a->get_group().empty(); })) {
    std::string name = sub->get_name();
    std::string pad(name.size() < 14 ? 14 - name.size() : 1, ' ');
    out += "  " + name + pad + sub->get_description() + "\n";
    if (!typed.empty()) {
      size_t d = name.starts_with(typed) ? 1 : EditDistance(typed, name);
      if (d < best) {
        best = d;
        suggestion = name;
      }
    }
  }
  return out;
}

// Usage errors in words that say what to do: an unknown command names itself and lists the
// commands; a missing one lists them; anything else points at --help. Exit 2, as for usage errors.
int ReportParseError(CLI::App& cli, const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::CallForHelp*>(&e) || dynamic_cast<const CLI::CallForAllHelp*>(&e) ||
      dynamic_cast<const CLI::CallForVersion*>(&e)) {
    return cli.exit(e);
  }
  std::string path;
  CLI::App* at = Deepest(cli, path);
  bool has_commands = !at->get_subcommands([](CLI::App* a) { return !a->get_group().empty(); }).empty();
  std::string unknown;
  for (const std::string& r : at->remaining()) {
    if (!r.starts_with("-")) {
      unknown = r;
      break;
    }
  }
  if (has_commands && (!unknown.empty() || dynamic_cast<const CLI::RequiredError*>(&e))) {
    std::string suggestion;
    std::string list = CommandList(at, unknown, suggestion);
    if (unknown.empty()) {
      std::cerr << path << ": which command? One of:\n" << list;
    } else {
      std::cerr << path << ": unknown command \"" << unknown << "\"";
      if (!suggestion.empty()) std::cerr << " (did you mean \"" << suggestion << "\"?)";
      std::cerr << "\nThe commands are:\n" << list;
    }
    std::cerr << "Run '" << path << " COMMAND --help' for a command's options and examples.\n";
    return 2;
  }
  std::cerr << path << ": " << e.what() << "\nRun '" << path
            << " --help' for its arguments and examples.\n";
  return 2;
}

}  // namespace

void SetExamples(CLI::App* cmd, std::initializer_list<std::string> lines) {
  std::string text = "\nExamples:";
  for (const auto& l : lines) text += "\n  " + l;
  cmd->footer(text);
}

Result<config::LoadResult> LoadCommandConfig(const std::string& arg) {
  return LoadConfig(ConfigPath(arg));
}

void AddCoreCommands(CLI::App& cli, CommandResult& result) {
  auto* serve = cli.add_subcommand("serve", "Run the registry (config file, or REGISTRY_CONFIG_PATH, "
                                            "or embedded defaults)");
  auto serve_config = std::make_shared<std::string>();
  serve->add_option("config", *serve_config, "Distribution-format config.yml");
  SetExamples(serve, {"berth serve /etc/berth/config.yml",
                      "REGISTRY_HTTP_ADDR=127.0.0.1:5001 berth serve config.yml   # REGISTRY_* override keys",
                      "BERTH_DATA_DIR=/srv/registry berth serve   # no file: defaults, data in that directory"});
  serve->callback([&result, serve_config] { result.code = Serve(*serve_config); });

  auto* config_cmd = cli.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  auto check_file = std::make_shared<std::string>();
  auto* check = config_cmd->add_subcommand("check", "Validate a config file without serving");
  check->add_option("file", *check_file, "config.yml")->required();
  SetExamples(check, {"berth config check /etc/berth/config.yml",
                      "REGISTRY_AUTH=htpasswd berth config check config.yml   # with the overrides serve would see"});
  SetExamples(config_cmd, {"berth config check /etc/berth/config.yml"});
  check->callback([&result, check_file] { result.code = ConfigCheck(*check_file); });

  auto* version = cli.add_subcommand("version", "Print the version");
  SetExamples(version, {"berth version"});
  version->callback([&result] {
    std::cout << "berth " << kVersion << "\n";
    result.code = 0;
  });

  auto* htpasswd = cli.add_subcommand("htpasswd", "Manage an htpasswd file (bcrypt)");
  htpasswd->require_subcommand(1);
  struct HtArgs {
    std::string user, file;
    int cost = auth::kDefaultBcryptCost;
  };
  auto ht = std::make_shared<HtArgs>();
  auto* ht_add = htpasswd->add_subcommand("add", "Add or replace USER; the password is read from stdin");
  ht_add->add_option("user", ht->user, "user name")->required();
  ht_add->add_option("-f,--file", ht->file,
                     "htpasswd file (default: $REGISTRY_AUTH_HTPASSWD_PATH, else ./htpasswd)");
  ht_add->add_option("--cost", ht->cost, "bcrypt cost")->check(CLI::Range(4, 31));
  SetExamples(ht_add, {"echo 's3cret' | berth htpasswd add alice -f /etc/berth/htpasswd",
                       "berth htpasswd add bob < password.txt   # file from $REGISTRY_AUTH_HTPASSWD_PATH"});
  SetExamples(htpasswd, {"echo 's3cret' | berth htpasswd add alice -f /etc/berth/htpasswd"});
  ht_add->callback([&result, ht] { result.code = HtpasswdAdd(ht->user, ht->file, ht->cost); });
}

int Main(int argc, char** argv) {
  CLI::App cli{"Berth: an OCI container image registry, drop-in for registry:2", "berth"};
  cli.require_subcommand(1);
  SetExamples(&cli, {"berth serve /etc/berth/config.yml       # run the registry",
                     "berth config check /etc/berth/config.yml",
                     "berth status --url http://127.0.0.1:5001  # ask a running registry",
                     "berth /etc/docker/registry/config.yml     # as registry:2's entrypoint: serve it",
                     "Run 'berth COMMAND --help' for a command's options and examples."});
  CommandResult result;
  // One line per command group (src/cli/commands.h).
  AddCoreCommands(cli, result);
  AddGcCommands(cli, result);
  AddNotificationsCommands(cli, result);
  AddReplicateCommands(cli, result);
  AddRetentionCommands(cli, result);
  AddStatusCommands(cli, result);
  AddTenancyCommands(cli, result);
  AddTransferCommands(cli, result);
  std::vector<char*> args(argv, argv + argc);
  // registry:2's image runs `registry serve FILE` when given only a config file: so does Berth.
  static char serve_word[] = "serve";
  if (argc == 2) {
    std::string_view only = argv[1];
    if (only.ends_with(".yml") || only.ends_with(".yaml")) args.insert(args.begin() + 1, serve_word);
  }
  try {
    cli.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    return ReportParseError(cli, e);
  }
  return result.code.value_or(2);
}

}  // namespace berth::cli
