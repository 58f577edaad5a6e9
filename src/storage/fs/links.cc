#include "storage/fs/links.h"

#include "storage/paths.h"

namespace berth::storage::fs {

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view BaseName(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

Result<Digest> ReadLink(driver::StorageDriver& driver, const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string content, driver.GetContent(path));
  auto d = paths::ParseLink(content);
  if (!d) return MakeError(ErrorCode::kIo, "corrupt link file " + path + ": " + d.error().message);
  return *d;
}

Result<bool> Exists(driver::StorageDriver& driver, const std::string& path) {
  auto st = driver.Stat(path);
  if (st) return true;
  if (IsNotFound(st.error())) return false;
  return std::unexpected(st.error());
}

}  // namespace berth::storage::fs
