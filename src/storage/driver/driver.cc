#include "storage/driver/driver.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace berth::storage::driver {
namespace {

bool IsComponentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Paths come from request URLs; the message must stay printable and bounded whatever they hold.
std::string QuoteForMessage(std::string_view path) {
  constexpr size_t kMaxShown = 200;
  std::string out = "\"";
  for (size_t i = 0; i < path.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (path.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

Status Invalid(std::string_view path, std::string_view why) {
  return MakeError(ErrorCode::kInvalidPath,
                   "invalid storage path " + QuoteForMessage(path) + ": " + std::string(why));
}

}  // namespace

Status ValidatePath(std::string_view path) {
  if (path.empty() || path.front() != '/') return Invalid(path, "must start with '/'");
  if (path == "/") return Ok();
  // Each iteration consumes "/component"; an empty component covers both "//" and a trailing '/'.
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos + 1);
    if (end == std::string_view::npos) end = path.size();
    std::string_view component = path.substr(pos + 1, end - pos - 1);
    if (component.empty()) return Invalid(path, "empty component");
    if (component == "." || component == "..") return Invalid(path, "'.' or '..' component");
    if (!std::all_of(component.begin(), component.end(), IsComponentChar)) {
      return Invalid(path, "component outside [A-Za-z0-9._-]");
    }
    if (component.starts_with(kTemporaryPrefix)) {
      return Invalid(path, "component uses the reserved prefix " + std::string(kTemporaryPrefix));
    }
    pos = end;
  }
  return Ok();
}

Result<std::string> StorageDriver::GetContent(std::string_view path) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoGetContent(path);
}

Status StorageDriver::PutContent(std::string_view path, std::string_view content) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoPutContent(path, content);
}

Result<ReaderPtr> StorageDriver::NewReader(std::string_view path, uint64_t offset) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoNewReader(path, offset);
}

Result<FileWriterPtr> StorageDriver::NewWriter(std::string_view path, bool append) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoNewWriter(path, append);
}

Result<FileInfo> StorageDriver::Stat(std::string_view path) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoStat(path);
}

Result<std::vector<std::string>> StorageDriver::List(std::string_view path) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoList(path);
}

Status StorageDriver::Move(std::string_view src, std::string_view dst) {
  BERTH_RETURN_IF_ERROR(ValidatePath(src));
  BERTH_RETURN_IF_ERROR(ValidatePath(dst));
  return DoMove(src, dst);
}

Status StorageDriver::Delete(std::string_view path) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoDelete(path);
}

Result<std::string> StorageDriver::RedirectURL(std::string_view path, std::string_view method) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoRedirectURL(path, method);
}

Status StorageDriver::Walk(std::string_view path, const std::function<bool(const FileInfo&)>& fn) {
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  return DoWalk(path, fn);
}

Status StorageDriver::WalkByListing(std::string_view path,
                                    const std::function<bool(const FileInfo&)>& fn) {
  // The walked directory itself must exist; below it, entries that vanish mid-walk (a concurrent
  // Delete, GC) are skipped rather than failing the whole walk. An explicit stack keeps deep trees
  // off the call stack.
  struct Level {
    std::vector<std::string> children;
    size_t next = 0;
  };
  std::vector<Level> stack;
  {
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> children, List(path));
    std::sort(children.begin(), children.end());
    stack.push_back(Level{std::move(children)});
  }
  while (!stack.empty()) {
    Level& level = stack.back();
    if (level.next == level.children.size()) {
      stack.pop_back();
      continue;
    }
    std::string child = std::move(level.children[level.next++]);
    Result<FileInfo> info = Stat(child);
    if (!info) {
      if (info.error().Is(ErrorCode::kNotFound)) continue;
      return std::unexpected(std::move(info).error());
    }
    bool descend = fn(*info);
    if (!info->is_dir || !descend) continue;
    Result<std::vector<std::string>> grandchildren = List(child);
    if (!grandchildren) {
      if (grandchildren.error().Is(ErrorCode::kNotFound)) continue;
      return std::unexpected(std::move(grandchildren).error());
    }
    std::sort(grandchildren->begin(), grandchildren->end());
    // `level` may dangle after this push_back; it is not used again in this iteration.
    stack.push_back(Level{std::move(*grandchildren)});
  }
  return Ok();
}

}  // namespace berth::storage::driver
