// `berth copy SRC DST` and `berth sync SRC-URL DST-URL`: one-off copies between any two registries
// (Berth or not) through replicate::Copier, copying only what the destination lacks.
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/transfer_progress.h"
#include "client/registry.h"
#include "replicate/config.h"
#include "replicate/copier.h"
#include "replicate/status.h"

namespace berth::cli {
namespace {

struct ImageRef {
  std::string registry;  // scheme://host[:port]
  std::string repo;
  std::string ref;  // tag or digest
};

// "http://127.0.0.1:5000/team/app:1" or ".../team/app@sha256:..." (no tag: "latest").
Result<ImageRef> ParseImageRef(const std::string& s) {
  BERTH_ASSIGN_OR_RETURN(client::Url u, client::Url::Parse(s));
  std::string path = u.target;
  if (path.find('?') != std::string::npos || path.size() < 2) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"" + s + "\" names no repository (want URL/REPO[:TAG])");
  }
  path = path.substr(1);
  ImageRef r{u.Origin(), "", "latest"};
  if (auto at = path.find('@'); at != std::string::npos) {
    r.ref = path.substr(at + 1);
    path = path.substr(0, at);
    BERTH_RETURN_IF_ERROR(Digest::Parse(r.ref));
  } else if (auto colon = path.rfind(':');
             colon != std::string::npos && path.find('/', colon) == std::string::npos) {
    r.ref = path.substr(colon + 1);
    path = path.substr(0, colon);
    BERTH_RETURN_IF_ERROR(ValidateTag(r.ref));
  }
  BERTH_RETURN_IF_ERROR(ValidateRepositoryName(path));
  r.repo = path;
  return r;
}

Result<client::RegistryClientPtr> Connect(const std::string& url, const std::string& creds,
                                          bool tls_verify) {
  client::RegistryOptions o;
  o.url = url;
  if (!creds.empty()) {
    auto colon = creds.find(':');
    if (colon == std::string::npos)
      return MakeError(ErrorCode::kInvalidArgument, "credentials must be USER:PASSWORD");
    o.username = creds.substr(0, colon);
    o.password = creds.substr(colon + 1);
  }
  o.http.tls_verify = tls_verify;
  return client::RegistryClient::Create(o);
}

struct Args {
  std::string src, dst, src_creds, dst_creds, repo = "*", tag;
  bool dry_run = false, insecure = false;
  int retries = 5;
  uint64_t chunk_bytes = 16 << 20;
};

void Summary(const char* verb, const replicate::CopyStats& s, bool dry_run) {
  std::cout << verb << ": " << s.tags << " image(s) " << (dry_run ? "to copy" : "copied") << ", "
            << s.tags_up_to_date << " up to date; " << s.manifests << " manifest(s), "
            << s.blobs_copied << " blob(s) uploaded (" << cli::Progress::FormatBytes(s.bytes)
            << "), " << s.blobs_mounted << " mounted, " << s.blobs_present << " already there; "
            << s.failures.size() << " failure(s)\n";
  for (const auto& f : s.failures) std::cerr << "failed: " << f << "\n";
}

// The copier's options from the command line (shared by copy and sync).
replicate::CopyOptions CopyOptionsOf(const Args& a, TransferProgress& progress) {
  replicate::CopyOptions o;
  o.dry_run = a.dry_run;
  o.attempts = a.retries;
  o.progress = &progress;
  return o;
}

// The two registries of a copy or sync, connected, as the copier's sides.
struct Sides {
  client::RegistryClientPtr src_client, dst_client;
  replicate::SourcePtr src;
  replicate::DestinationPtr dst;
};

Result<Sides> ConnectSides(const std::string& src_url, const std::string& dst_url, const Args& a) {
  Sides s;
  BERTH_ASSIGN_OR_RETURN(s.src_client, Connect(src_url, a.src_creds, !a.insecure));
  BERTH_ASSIGN_OR_RETURN(s.dst_client, Connect(dst_url, a.dst_creds, !a.insecure));
  s.src = replicate::RemoteSource(*s.src_client);
  s.dst = replicate::RemoteDestination(*s.dst_client, a.chunk_bytes);
  return s;
}

// Runs `run` (a copy or a sync) between the two registries with a progress display and prints the
// summary. 2: bad URLs or credentials; 1: the run failed, or an image of a sync did.
int Run(const char* verb, const std::string& src_url, const std::string& dst_url, const Args& a,
        const std::function<Status(replicate::Copier&)>& run) {
  auto sides = ConnectSides(src_url, dst_url, a);
  if (!sides) {
    std::cerr << "berth " << verb << ": " << sides.error().message << "\n";
    return 2;
  }
  TransferProgress progress(verb);
  replicate::Copier copier(*sides->src, *sides->dst, CopyOptionsOf(a, progress));
  auto st = run(copier);
  progress.Finish();
  if (!st) {
    std::cerr << "berth " << verb << ": " << st.error().message << "\n";
    return 1;
  }
  Summary(verb, copier.stats(), a.dry_run);
  return copier.stats().failures.empty() ? 0 : 1;
}

int Copy(const Args& a) {
  auto src = ParseImageRef(a.src);
  auto dst = ParseImageRef(a.dst);
  if (!src || !dst) {
    std::cerr << "berth copy: " << (!src ? src.error().message : dst.error().message) << "\n";
    return 2;
  }
  // A digest source keeps its digest at the destination unless a tag was asked for.
  const bool dst_tagged = a.dst.find('@') == std::string::npos;
  return Run("copy", src->registry, dst->registry, a, [&](replicate::Copier& c) {
    return c.CopyImage(src->repo, src->ref, dst->repo, dst_tagged ? dst->ref : "");
  });
}

int Sync(const Args& a) {
  return Run("sync", a.src, a.dst, a, [&](replicate::Copier& c) { return c.Sync({a.repo, a.tag}); });
}

void CommonFlags(CLI::App* cmd, Args& a) {
  cmd->add_option("--src-creds", a.src_creds, "USER:PASSWORD for the source");
  cmd->add_option("--dest-creds", a.dst_creds, "USER:PASSWORD for the destination");
  cmd->add_flag("--dry-run", a.dry_run, "show what would be copied");
  cmd->add_flag("--insecure", a.insecure, "do not verify TLS certificates");
  cmd->add_option("--chunk-size", a.chunk_bytes,
                  "blobs larger than this go up in PATCH chunks of this many bytes")
      ->check(CLI::Range(uint64_t{1} << 16, uint64_t{1} << 32));
  cmd->add_option("--retries", a.retries,
                  "attempts per request while a side is down (back-off doubles from 0.5 s)")
      ->check(CLI::Range(1, 20));
}

std::string Age(double seconds) {
  if (seconds < 1) return "0s";
  auto s = static_cast<uint64_t>(seconds);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  return std::to_string(s / 3600) + "h";
}

// `berth replication status`: the rules' status files and queues, read directly, so it works
// whether or not serve runs.
Result<replicate::ReplicationConfig> LoadRules(const std::string& config_arg) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, LoadCommandConfig(config_arg));
  return replicate::DecodeConfig(loaded.config);
}

int Status(const std::string& config_arg) {
  auto rc = LoadRules(config_arg);
  if (!rc) {
    std::cerr << "berth replication status: " << rc.error().message << "\n";
    return 2;
  }
  if (rc->rules.empty()) {
    std::cout << "no replication rules (berth.replication.rules)\n";
    return 0;
  }
  const SystemTime now = SystemClock().Now();
  std::printf("%-16s %-5s %-16s %-20s %7s %12s %7s %8s %7s %5s  %s\n", "RULE", "DIR", "TRIGGER",
              "LAST RUN", "IMAGES", "BYTES", "DELETES", "FAILURES", "PENDING", "LAG", "RESULT");
  int code = 0;
  for (const auto& rule : rc->rules) {
    auto st = replicate::ReadRuleStatus(rc->directory, rule.name);
    if (!st) {
      std::cerr << "berth replication status: " << rule.name << ": " << st.error().message << "\n";
      code = 1;
      continue;
    }
    std::string trigger = rule.on_push ? "onpush" : "";
    if (rule.scheduled) trigger += std::string(trigger.empty() ? "" : ",") + "schedule";
    std::string last = st->last_run ? FormatRfc3339(*st->last_run) : "never";
    if (auto dot = last.find('.'); dot != std::string::npos) last = last.substr(0, dot) + "Z";
    std::string result = st->last_result.empty() ? "-" : st->last_result;
    std::printf("%-16s %-5s %-16s %-20s %7llu %12llu %7llu %8llu %7llu %5s  %s\n",
                rule.name.c_str(), rule.direction == replicate::Direction::kPush ? "push" : "pull",
                trigger.c_str(), last.c_str(), static_cast<unsigned long long>(st->images),
                static_cast<unsigned long long>(st->bytes),
                static_cast<unsigned long long>(st->deletes),
                static_cast<unsigned long long>(st->failures),
                static_cast<unsigned long long>(st->pending),
                Age(replicate::LagSeconds(*st, now)).c_str(), result.c_str());
  }
  return code;
}

}  // namespace

void AddReplicateCommands(CLI::App& cli, CommandResult& result) {
  auto ca = std::make_shared<Args>();
  auto* copy = cli.add_subcommand(
      "copy", "Copy one image between registries: copy http://SRC/REPO:TAG http://DST/REPO:TAG");
  copy->add_option("src", ca->src, "source image URL")->required();
  copy->add_option("dst", ca->dst, "destination image URL")->required();
  CommonFlags(copy, *ca);
  copy->callback([&result, ca] { result.code = Copy(*ca); });

  auto sa = std::make_shared<Args>();
  auto* sync = cli.add_subcommand(
      "sync", "Copy every matching tag between registries: sync SRC-URL DST-URL");
  sync->add_option("src", sa->src, "source registry URL (http://host:port)")->required();
  sync->add_option("dst", sa->dst, "destination registry URL")->required();
  sync->add_option("--repo", sa->repo, "repository glob (default: every repository)");
  sync->add_option("--tag", sa->tag, "tag regular expression (whole tag; default: every tag)");
  CommonFlags(sync, *sa);
  sync->callback([&result, sa] { result.code = Sync(*sa); });

  auto* repl = cli.add_subcommand("replication", "Replication rules (berth.replication)");
  repl->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  auto* status = repl->add_subcommand(
      "status", "Each rule's last run, images and bytes copied, failures, pending items and lag");
  status->add_option("-c,--config", *config, "registry config (default: $REGISTRY_CONFIG_PATH)");
  status->callback([&result, config] { result.code = Status(*config); });
  SetExamples(status, {"berth replication status -c /etc/berth/config.yml"});
}

}  // namespace berth::cli
