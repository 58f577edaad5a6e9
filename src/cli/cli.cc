// The command line: serve, config check, version. Distribution's `registry serve <config>` maps to
// `berth serve <config>`.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <csignal>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "auth/htpasswd.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "common/log.h"

namespace berth::cli {
namespace {

constexpr const char* kVersion = "0.1.0";

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
  auto app = App::Create(cfg);
  if (!app) {
    spdlog::critical("cannot start: {}", app.error().message);
    return 1;
  }
  auto started = (*app)->Start();
  if (!started) {
    spdlog::critical("cannot listen on {}: {}", cfg.http.addr, started.error().message);
    return 1;
  }
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

}  // namespace

Result<config::LoadResult> LoadCommandConfig(const std::string& arg) {
  return LoadConfig(ConfigPath(arg));
}

void AddCoreCommands(CLI::App& cli, CommandResult& result) {
  auto* serve = cli.add_subcommand("serve", "Run the registry (config file, or REGISTRY_CONFIG_PATH, "
                                            "or embedded defaults)");
  auto serve_config = std::make_shared<std::string>();
  serve->add_option("config", *serve_config, "Distribution-format config.yml");
  serve->callback([&result, serve_config] { result.code = Serve(*serve_config); });

  auto* config_cmd = cli.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  auto check_file = std::make_shared<std::string>();
  auto* check = config_cmd->add_subcommand("check", "Validate a config file without serving");
  check->add_option("file", *check_file, "config.yml")->required();
  check->callback([&result, check_file] { result.code = ConfigCheck(*check_file); });

  auto* version = cli.add_subcommand("version", "Print the version");
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
  ht_add->callback([&result, ht] { result.code = HtpasswdAdd(ht->user, ht->file, ht->cost); });
}

int Main(int argc, char** argv) {
  CLI::App cli{"Berth: an OCI container image registry, drop-in for registry:2"};
  cli.require_subcommand(1);
  CommandResult result;
  // One line per command group (src/cli/commands.h).
  AddCoreCommands(cli, result);
  AddTransferCommands(cli, result);
  AddReplicateCommands(cli, result);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  return result.code.value_or(2);
}

}  // namespace berth::cli
