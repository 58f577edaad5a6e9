// `berth retention run [--dry-run] [CONFIG]`: applies berth.retention's rules once
// (docs/retention.md) and prints every decision with the rule that made it. Safe beside a running
// `berth serve` on the same storage (its listings catch up at their next reconcile); not beside a
// second retention run.
#include <iostream>

#include "cli/commands.h"
#include "policy/config.h"
#include "policy/immutable.h"
#include "policy/retention.h"
#include "storage/driver/factory.h"
#include "storage/factory.h"

namespace berth::cli {
namespace {

int RetentionRun(const std::string& config_arg, bool dry_run) {
  auto loaded = LoadCommandConfig(config_arg);
  if (!loaded) {
    std::cerr << "berth retention: configuration error: " << loaded.error().message << "\n";
    return 2;
  }
  for (const auto& w : loaded->warnings) std::cerr << "berth retention: warning: " << w << "\n";
  const config::Config& cfg = loaded->config;
  auto pc = policy::Decode(cfg);
  if (!pc) {
    std::cerr << "berth retention: configuration error: " << pc.error().message << "\n";
    return 2;
  }
  if (pc->retention.rules.empty()) {
    std::cerr << "berth retention: no rules (berth.retention.rules): nothing to do\n";
    return 0;
  }
  auto driver = storage::driver::Create(cfg.storage.driver,
                                        {{"rootdirectory", cfg.storage.filesystem_rootdirectory}});
  if (!driver) {
    std::cerr << "berth retention: storage: " << driver.error().message << "\n";
    return 1;
  }
  auto immutable = std::make_shared<const policy::ImmutableTags>(std::move(pc->immutable));
  auto registry = policy::WithImmutableTags(storage::NewRegistry(*driver), immutable);
  policy::RetentionOptions opt;
  opt.dry_run = dry_run;
  opt.out = [](const std::string& line) { std::cout << line << "\n"; };
  auto sum =
      policy::RunRetention(*registry, **driver, pc->retention, immutable.get(), SystemClock(), opt);
  if (!sum) {
    std::cerr << "berth retention: " << sum.error().message << "\n";
    return 1;
  }
  const char* would = dry_run ? "would be " : "";
  std::cout << (dry_run ? "dry run: " : "") << sum->repositories << " repositories, "
            << sum->tags_kept << " tags kept, " << sum->tags_deleted << " tags " << would
            << "deleted, " << sum->manifests_deleted << " manifests " << would << "deleted, "
            << sum->errors << " errors\n";
  return sum->errors == 0 ? 0 : 1;
}

}  // namespace

void AddRetentionCommands(CLI::App& cli, CommandResult& result) {
  auto* retention = cli.add_subcommand("retention", "Retention policies (berth.retention)");
  retention->require_subcommand(1);
  struct Args {
    std::string config;
    bool dry_run = false;
  };
  auto args = std::make_shared<Args>();
  auto* run = retention->add_subcommand(
      "run", "Apply the retention rules once, printing what is kept and deleted and why");
  run->add_flag("--dry-run", args->dry_run, "Delete nothing; print what would be deleted");
  run->add_option("config", args->config,
                  "config.yml (default: $REGISTRY_CONFIG_PATH, else the embedded defaults)");
  run->callback([&result, args] { result.code = RetentionRun(args->config, args->dry_run); });
}

}  // namespace berth::cli
