#pragma once
// The seam for `berth` subcommands. Each group of commands lives in its own file
// (src/cli/<group>_cmd.cc) and exposes one `void Add<Group>Commands(CLI::App&, CommandResult&)`;
// Main calls each registrar once (the list in cli.cc). A subcommand's callback runs the command
// after parsing and stores its exit code in `result.code`. Include this header only from src/cli/
// (it pulls in CLI11).

#include <CLI/CLI.hpp>
#include <initializer_list>
#include <optional>
#include <string>

#include "common/error.h"
#include "config/config.h"

namespace berth::cli {

struct CommandResult {
  std::optional<int> code;  // set by the subcommand that ran
};

// The config a command works on: `arg`, else $REGISTRY_CONFIG_PATH, else the embedded defaults (a
// `berth-data` directory in the working directory, or $BERTH_DATA_DIR), with REGISTRY_* overrides
// applied. Errors name the file or the key.
Result<config::LoadResult> LoadCommandConfig(const std::string& arg);

// Every subcommand's --help ends with examples (a test checks each command has some):
//   SetExamples(cmd, {"berth gc --dry-run /etc/berth/config.yml", "berth gc -c CONFIG"});
void SetExamples(CLI::App* cmd, std::initializer_list<std::string> lines);

// Registrars (one line each; keep alphabetical).
void AddCoreCommands(CLI::App& cli, CommandResult& result);  // serve, config check, version, htpasswd
void AddStatusCommands(CLI::App& cli, CommandResult& result);  // status, healthcheck
void AddRetentionCommands(CLI::App& cli, CommandResult& result);  // retention run
// user, org, team, grant, robot, token, quota, repo, audit (the metadata store, berth.meta)
void AddTenancyCommands(CLI::App& cli, CommandResult& result);
void AddGcCommands(CLI::App& cli, CommandResult& result);    // garbage-collect
void AddNotificationsCommands(CLI::App& cli, CommandResult& result);  // notifications list|replay
void AddReplicateCommands(CLI::App& cli, CommandResult& result);  // copy, sync
void AddTransferCommands(CLI::App& cli, CommandResult& result);  // export, import, backup, restore

}  // namespace berth::cli
