// `berth export`, `berth import`, `berth backup [verify]`, `berth restore`: moving images between a
// registry's storage and OCI image layouts (see transfer/). They open the storage a config names
// directly, as `serve` would, so they work with or without a registry running on it.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/transfer_progress.h"
#include "storage/driver/factory.h"
#include "storage/factory.h"
#include "transfer/backup.h"
#include "transfer/export.h"
#include "transfer/import.h"
#include "transfer/layout_files.h"
#include "transfer/meta_backup.h"

namespace berth::cli {
namespace {

struct Storage {
  storage::driver::StorageDriverPtr driver;
  storage::NamespacePtr ns;
  config::Config config;
};

Result<Storage> OpenStorage(const std::string& config_arg) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, LoadCommandConfig(config_arg));
  const config::Config& cfg = loaded.config;
  auto driver = storage::driver::Create(cfg.storage.driver,
                                        {{"rootdirectory", cfg.storage.filesystem_rootdirectory}});
  if (!driver) return MakeError(driver.error().code, "storage: " + driver.error().message);
  storage::StackOptions so;
  so.manifest_cache_bytes = 0;  // one pass over everything: a cache only costs memory
  Storage s{*driver, storage::NewRegistry(*driver, so), cfg};
  return s;
}

int Fail(std::string_view cmd, const Error& e) {
  std::cerr << "berth " << cmd << ": " << e.message << "\n";
  return 1;
}

void PrintSkipped(const transfer::ExportStats& s) {
  for (const auto& k : s.skipped) std::cerr << "skipped " << k << "\n";
}

struct ExportArgs {
  std::string repo = "*", tag, format = "oci", config, arch, out;
};

int Export(const ExportArgs& a) {
  auto st = OpenStorage(a.config);
  if (!st) return Fail("export", st.error());
  auto snap = transfer::TakeSnapshot(*st->ns, {a.repo, a.tag});
  if (!snap) return Fail("export", snap.error());
  if (snap->tags.empty()) {
    std::cerr << "berth export: no tag matches --repo '" << a.repo << "'"
              << (a.tag.empty() ? "" : " --tag '" + a.tag + "'") << "\n";
    return 1;
  }
  if (a.format == "docker-archive" && !a.out.ends_with(".tar")) {
    std::cerr << "berth export: --format docker-archive writes a tar: OUT must end in .tar\n";
    return 2;
  }
  auto out = transfer::OpenLayoutWriter(a.out);
  if (!out) return Fail("export", out.error());
  TransferProgress progress("export");
  Result<transfer::ExportStats> stats;
  if (a.format == "docker-archive") {
    transfer::DockerArchiveOptions o;
    o.arch = a.arch;
    o.progress = &progress;
    stats = transfer::ExportDockerArchive(*st->ns, *snap, **out, o);
  } else {
    transfer::ExportOptions o;
    o.progress = &progress;
    stats = transfer::ExportOciLayout(*st->ns, *snap, **out, o);
  }
  progress.Finish();
  if (!stats) return Fail("export", stats.error());
  PrintSkipped(*stats);
  std::cout << "exported " << stats->tags << " tag(s), " << stats->manifests << " manifest(s), "
            << stats->blobs_written << " blob(s) ("
            << cli::Progress::FormatBytes(stats->bytes_written) << ") to " << a.out << " as "
            << a.format << "\n";
  return 0;
}

int Import(const std::string& in_path, const std::string& repo, const std::string& config) {
  auto in = transfer::OpenLayoutReader(in_path);
  if (!in) return Fail("import", in.error());
  auto st = OpenStorage(config);
  if (!st) return Fail("import", st.error());
  TransferProgress progress("import");
  auto stats = transfer::ImportLayout(**in, *st->ns, {repo, &progress});
  progress.Finish();
  if (!stats) return Fail("import", stats.error());
  std::cout << "imported " << stats->tags << " tag(s), " << stats->manifests
            << " manifest(s); blobs: " << stats->blobs_uploaded << " uploaded ("
            << cli::Progress::FormatBytes(stats->bytes_uploaded) << "), " << stats->blobs_linked
            << " linked, " << stats->blobs_present << " already present; every digest verified\n";
  return 0;
}

int BackupCmd(const std::string& config, const std::string& dest) {
  auto st = OpenStorage(config);
  if (!st) return Fail("backup", st.error());
  TransferProgress progress("backup");
  auto stats = transfer::Backup(*st->ns, *st->driver, dest, &progress);
  progress.Finish();
  if (!stats) return Fail("backup", stats.error());
  PrintSkipped(*stats);
  // Tests and scripts read the counts from this line.
  std::cout << "backup: " << stats->tags << " tag(s), " << stats->manifests << " manifest(s); "
            << stats->blobs_written << " new blob(s) copied ("
            << cli::Progress::FormatBytes(stats->bytes_written) << "), " << stats->blobs_present
            << " already in " << dest << "\n";
  auto meta = transfer::BackupMeta(st->config, dest);
  if (!meta) return Fail("backup", meta.error());
  if (!meta->empty()) std::cout << "backup: " << *meta << "\n";
  return 0;
}

int VerifyCmd(const std::string& dest) {
  auto in = transfer::OpenLayoutReader(dest);
  if (!in) return Fail("backup verify", in.error());
  TransferProgress progress("verify");
  auto stats = transfer::VerifyLayout(**in, &progress);
  progress.Finish();
  if (!stats) return Fail("backup verify", stats.error());
  std::cout << "verified " << stats->blobs << " blob file(s) ("
            << cli::Progress::FormatBytes(stats->bytes) << "), " << stats->entries
            << " index entries reaching " << stats->manifests << " manifest(s): ok\n";
  return 0;
}

int RestoreCmd(const std::string& src, const std::string& config) {
  auto in = transfer::OpenLayoutReader(src);
  if (!in) return Fail("restore", in.error());
  auto st = OpenStorage(config);
  if (!st) return Fail("restore", st.error());
  if (auto ok = transfer::CheckMetaRestore(src, st->config); !ok) return Fail("restore", ok.error());
  TransferProgress progress("restore");
  auto stats = transfer::Restore(**in, *st->ns, *st->driver, &progress);
  progress.Finish();
  if (!stats) return Fail("restore", stats.error());
  auto meta = transfer::RestoreMeta(src, st->config);
  if (!meta) return Fail("restore", meta.error());
  if (!meta->empty()) std::cout << "restore: " << *meta << "\n";
  std::cout << "restored " << stats->tags << " tag(s), " << stats->manifests << " manifest(s), "
            << stats->blobs_uploaded << " blob(s) ("
            << cli::Progress::FormatBytes(stats->bytes_uploaded) << "); every digest verified\n";
  return 0;
}

}  // namespace

void AddTransferCommands(CLI::App& cli, CommandResult& result) {
  auto ex = std::make_shared<ExportArgs>();
  auto* export_cmd =
      cli.add_subcommand("export", "Write images to an OCI image layout or a docker-archive");
  export_cmd->add_option("--repo", ex->repo, "repository glob (default: every repository)");
  export_cmd->add_option("--tag", ex->tag,
                         "tag regular expression (whole tag; default: every tag)");
  export_cmd
      ->add_option("--format", ex->format, "oci (default) or docker-archive (for docker load)")
      ->check(CLI::IsMember({"oci", "docker-archive"}));
  export_cmd->add_option("--arch", ex->arch,
                         "docker-archive: platform to pick from an index (default: host)");
  export_cmd->add_option("-c,--config", ex->config,
                         "registry config (default: $REGISTRY_CONFIG_PATH)");
  export_cmd->add_option("out", ex->out, "output directory, or a file ending in .tar")->required();
  export_cmd->callback([&result, ex] { result.code = Export(*ex); });

  struct ImportArgs {
    std::string in, repo, config;
  };
  auto im = std::make_shared<ImportArgs>();
  auto* import_cmd = cli.add_subcommand(
      "import", "Load an OCI image layout (directory or tar), verifying digests");
  import_cmd->add_option("--repo", im->repo,
                         "repository for every entry (default: from the annotations)");
  import_cmd->add_option("-c,--config", im->config,
                         "registry config (default: $REGISTRY_CONFIG_PATH)");
  import_cmd->add_option("in", im->in, "layout directory or tar")->required();
  import_cmd->callback([&result, im] { result.code = Import(im->in, im->repo, im->config); });

  struct BackupArgs {
    std::string config, dest, verify_dest;
  };
  auto bk = std::make_shared<BackupArgs>();
  auto* backup = cli.add_subcommand(
      "backup", "Consistent, incremental backup of a registry: backup CONFIG DEST");
  backup->add_option("config", bk->config, "registry config");
  backup->add_option("dest", bk->dest, "backup directory (created, or updated incrementally)");
  auto* verify =
      backup->add_subcommand("verify", "Re-hash every file of a backup and check it is whole");
  verify->add_option("dest", bk->verify_dest, "backup directory")->required();
  verify->callback([&result, bk] { result.code = VerifyCmd(bk->verify_dest); });
  backup->callback([&result, bk, backup] {
    if (backup->get_subcommands().empty() || !backup->got_subcommand("verify")) {
      if (bk->config.empty() || bk->dest.empty()) {
        std::cerr << "berth backup: give CONFIG and DEST (or: backup verify DEST)\n";
        result.code = 2;
        return;
      }
      result.code = BackupCmd(bk->config, bk->dest);
    }
  });

  struct RestoreArgs {
    std::string src, config;
  };
  auto rs = std::make_shared<RestoreArgs>();
  auto* restore = cli.add_subcommand(
      "restore", "Rebuild an empty registry root from a backup: restore DEST CONFIG");
  restore->add_option("backup", rs->src, "backup directory")->required();
  restore->add_option("config", rs->config, "registry config whose storage is empty")->required();
  restore->callback([&result, rs] { result.code = RestoreCmd(rs->src, rs->config); });
}

}  // namespace berth::cli
