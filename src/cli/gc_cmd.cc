// `berth garbage-collect [--dry-run] [--delete-untagged] [--quiet] [CONFIG]`: registry:2's command,
// flags and meaning, safe to run while `berth serve` uses the same storage (gc/collector.h).
#include <malloc.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/progress.h"
#include "common/time.h"
#include "gc/collector.h"
#include "gc/config.h"
#include "storage/driver/factory.h"

namespace berth::cli {
namespace {

struct GcArgs {
  std::string config;
  bool dry_run = false;
  bool delete_untagged = false;
  bool quiet = false;
  bool remove_links = false;  // Berth's: or storage.maintenance.gc.removelinks
  std::string grace;          // Berth's: overrides storage.maintenance.gc.graceperiod
  // More threads than the online job's default: a run of this command has the machine to itself,
  // and more threads keep more of the disk's requests in flight (the benchmark tree, cold: 29-38 s
  // with 32, 39 s with 8; docs/performance.md).
  size_t parallel = 32;
};

// One cli::Progress per phase on stderr (a bar on a terminal, plain lines otherwise); deletions are
// lines on stdout unless quiet (above the bar when both are the terminal).
using Bar = cli::Progress;

class CommandProgress : public gc::Progress {
 public:
  CommandProgress(bool quiet, bool dry_run)
      : quiet_(quiet), dry_run_(dry_run), stdout_tty_(::isatty(STDOUT_FILENO) == 1) {}

  void Phase(std::string_view name, size_t total) override {
    if (bar_) bar_->Finish();
    bar_.reset();
    if (quiet_ || name.empty()) return;
    bar_.reset(new Bar(Bar::ForStderr("gc: " + std::string(name), total, Bar::Unit::kCount,
                                      name == "sweep" ? "blob directories" : "repositories")));
  }
  void Step(size_t done) override {
    if (bar_) bar_->Set(done);
  }
  void Deleted(std::string_view kind, std::string_view what, uint64_t bytes) override {
    if (quiet_) return;
    std::string line = std::string(dry_run_ ? "would delete " : "deleted ") + std::string(kind) +
                       " " + std::string(what);
    if (kind == "blob") line += " (" + Bar::FormatBytes(bytes) + ")";
    if (bar_ && stdout_tty_) {
      bar_->Note(line);
    } else {
      std::cout << line << "\n";
    }
  }

 private:
  bool quiet_, dry_run_, stdout_tty_;
  std::unique_ptr<Bar> bar_;
};

int GarbageCollect(const GcArgs& a) {
  // The threads allocate little (paths, listings); one malloc arena each would only add to the
  // peak RSS (about 10 MiB at 32 threads).
  ::mallopt(M_ARENA_MAX, 2);
  auto loaded = LoadCommandConfig(a.config);
  if (!loaded) {
    std::cerr << "berth: configuration error: " << loaded.error().message << "\n";
    return 2;
  }
  const config::Config& cfg = loaded->config;
  auto gc_cfg = gc::DecodeConfig(cfg);
  if (!gc_cfg) {
    std::cerr << "berth: configuration error: " << gc_cfg.error().message << "\n";
    return 2;
  }
  gc::CollectOptions options{.dry_run = a.dry_run,
                             .delete_untagged = a.delete_untagged,
                             .grace_period = gc_cfg->graceperiod,
                             .parallelism = a.parallel,
                             .remove_links = a.remove_links || gc_cfg->removelinks};
  if (!a.grace.empty()) {
    auto g = ParseGoDuration(a.grace);
    if (!g) {
      std::cerr << "berth: --grace-period: not a duration: \"" << a.grace << "\"\n";
      return 2;
    }
    options.grace_period = *g;
  }
  auto driver = storage::driver::Create(cfg.storage.driver,
                                        {{"rootdirectory", cfg.storage.filesystem_rootdirectory}});
  if (!driver) {
    std::cerr << "berth: storage: " << driver.error().message << "\n";
    return 1;
  }
  CommandProgress progress(a.quiet, a.dry_run);
  auto stats = gc::Collect(**driver, SystemClock(), options, &progress);
  progress.Phase("", 0);
  if (!stats) {
    std::cerr << "berth: garbage collection failed: " << stats.error().ToString() << "\n";
    return 1;
  }
  const auto& s = *stats;
  const char* verb = a.dry_run ? "would delete" : "deleted";
  std::cout << s.repositories << " repositories, " << s.manifests << " manifests, " << s.blobs
            << " blobs: " << s.blobs_marked << " blobs marked, " << s.blobs_young
            << " kept as young or in use; " << verb << " " << s.manifests_deleted << " manifests, "
            << s.blobs_deleted << " blobs (" << Bar::FormatBytes(s.bytes_freed) << "), "
            << s.links_deleted << " repository links in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(s.duration).count() / 1000.0
            << " s" << (s.errors ? ", " + std::to_string(s.errors) + " errors (see log)" : "")
            << "\n";
  return s.errors ? 1 : 0;
}

}  // namespace

void AddGcCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<GcArgs>();
  auto* gc = cli.add_subcommand(
      "garbage-collect",
      "Delete blobs and (with --delete-untagged) manifests nothing needs; safe while serving");
  gc->add_option("config", a->config, "Distribution-format config.yml");
  gc->add_flag("-d,--dry-run", a->dry_run, "Delete nothing; list what would be deleted");
  gc->add_flag("-m,--delete-untagged", a->delete_untagged,
               "Delete manifests that no tag, index or subject keeps");
  gc->add_flag("-q,--quiet", a->quiet, "Print the summary only");
  gc->add_option("--grace-period", a->grace,
                 "Keep anything used more recently than this (default: "
                 "storage.maintenance.gc.graceperiod, 1h)");
  gc->add_option("--parallel", a->parallel,
                 "Threads marking repositories and sweeping blobs at once (default 32)")
      ->check(CLI::Range(1, 64));
  gc->add_flag("--remove-links", a->remove_links,
               "Also remove repository links to deleted blobs (default: "
               "storage.maintenance.gc.removelinks, false; Distribution leaves them)");
  gc->callback([&result, a] { result.code = GarbageCollect(*a); });
}

}  // namespace berth::cli
