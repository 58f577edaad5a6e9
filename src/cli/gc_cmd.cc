// `berth garbage-collect [--dry-run] [--delete-untagged] [--quiet] [CONFIG]`: registry:2's command,
// flags and meaning, safe to run while `berth serve` uses the same storage (gc/collector.h).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
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
  std::string grace;  // Berth's: overrides storage.maintenance.gc.graceperiod
};

std::string Bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// A bar on a terminal (stderr), plain lines otherwise; deletions on stdout unless quiet.
class CommandProgress : public gc::Progress {
 public:
  CommandProgress(bool quiet, bool dry_run)
      : quiet_(quiet), dry_run_(dry_run), tty_(::isatty(STDERR_FILENO) == 1) {}
  ~CommandProgress() override { EndBar(); }

  void Phase(std::string_view name, size_t total) override {
    EndBar();
    phase_ = name;
    total_ = total;
    if (quiet_) return;
    const char* what = name == "sweep" ? "blob directories" : "repositories";
    if (tty_) {
      Step(0);
    } else {
      std::cerr << name << ": " << total << " " << what << "\n";
    }
  }
  void Step(size_t done) override {
    if (quiet_ || !tty_) return;
    constexpr size_t kWidth = 30;
    size_t filled = total_ ? done * kWidth / total_ : kWidth;
    std::cerr << "\r" << phase_ << " [" << std::string(filled, '#')
              << std::string(kWidth - filled, ' ') << "] " << done << "/" << total_ << std::flush;
    bar_open_ = true;
  }
  void Deleted(std::string_view kind, std::string_view what, uint64_t bytes) override {
    if (quiet_) return;
    EndBar();
    std::cout << (dry_run_ ? "would delete " : "deleted ") << kind << " " << what;
    if (kind == "blob") std::cout << " (" << Bytes(bytes) << ")";
    std::cout << "\n";
  }

 private:
  void EndBar() {
    if (bar_open_) std::cerr << "\n";
    bar_open_ = false;
  }
  bool quiet_, dry_run_, tty_;
  bool bar_open_ = false;
  std::string phase_;
  size_t total_ = 0;
};

int GarbageCollect(const GcArgs& a) {
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
                             .grace_period = gc_cfg->graceperiod};
  if (!a.grace.empty()) {
    auto g = ParseGoDuration(a.grace);
    if (!g) {
      std::cerr << "berth: --grace-period: not a duration: \"" << a.grace << "\"\n";
      return 2;
    }
    options.grace_period = *g;
  }
  auto driver = storage::driver::Create(
      cfg.storage.driver, {{"rootdirectory", cfg.storage.filesystem_rootdirectory}});
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
            << " kept as young or in use; " << verb << " " << s.manifests_deleted
            << " manifests, " << s.blobs_deleted << " blobs (" << Bytes(s.bytes_freed) << "), "
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
  gc->callback([&result, a] { result.code = GarbageCollect(*a); });
}

}  // namespace berth::cli
