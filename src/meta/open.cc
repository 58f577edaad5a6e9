#include "meta/open.h"

#include <filesystem>

namespace berth::meta {

bool Configured(const config::Config& cfg) { return !cfg.berth.meta_driver.empty(); }

std::string SqlitePath(const config::Config& cfg) {
  if (cfg.berth.meta_driver != "sqlite") return "";
  if (!cfg.berth.meta_path.empty()) return cfg.berth.meta_path;
  if (cfg.storage.driver != "filesystem" || cfg.storage.filesystem_rootdirectory.empty()) return "";
  // Beside the storage root, not inside it: the root is Distribution's layout, which tools
  // (registry:2, garbage collectors, rsync) own.
  std::filesystem::path root(cfg.storage.filesystem_rootdirectory);
  while (root.has_relative_path() && !root.has_filename()) root = root.parent_path();
  return (root.parent_path() / "berth-meta.db").string();
}

Result<StorePtr> OpenConfigured(const config::Config& cfg, const Clock& clock) {
  if (!Configured(cfg)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "berth.meta: no metadata store is configured (set berth.meta.driver)");
  }
  std::string path = SqlitePath(cfg);
  if (cfg.berth.meta_driver == "sqlite" && path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "berth.meta.path: required when the storage is not a filesystem root");
  }
  auto store = OpenStore(cfg.berth.meta_driver, path, cfg.berth.meta_dsn, clock);
  if (!store) return MakeError(store.error().code, "berth.meta: " + store.error().message);
  return store;
}

Result<TenancyPtr> OpenTenancy(const config::Config& cfg, const Clock& clock) {
  if (!Configured(cfg)) return TenancyPtr();
  BERTH_ASSIGN_OR_RETURN(auto store, OpenConfigured(cfg, clock));
  return Tenancy::Create(std::move(store), clock);
}

}  // namespace berth::meta
