// Dead letters and the redelivery inbox (contract in deadletter.h).
#include "notify/deadletter.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "notify/files.h"

namespace berth::notify {
namespace {

// flock(2) on <dir>/deadletter.lock for the lifetime of the object.
class DeadLetterLock {
 public:
  explicit DeadLetterLock(const std::string& dir) {
    std::string path = dir + "/deadletter.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      error_ = "cannot open " + path + ": " + std::strerror(errno);
      return;
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        error_ = "cannot lock " + path + ": " + std::strerror(errno);
        return;
      }
    }
  }
  ~DeadLetterLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  Status status() const {
    if (error_.empty()) return Ok();
    return MakeError(ErrorCode::kIo, error_);
  }

 private:
  int fd_ = -1;
  std::string error_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (auto line : Split(text, '\n')) {
    if (!Trim(line).empty()) out.emplace_back(line);
  }
  return out;
}

Result<std::vector<std::string>> ReadLinesLocked(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::vector<std::string>();
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Lines(text);
}

}  // namespace

Status AppendDeadLetter(const std::string& dir, std::string_view json_line) {
  BERTH_RETURN_IF_ERROR(MakeDirs(dir));
  DeadLetterLock lock(dir);
  BERTH_RETURN_IF_ERROR(lock.status());
  std::string path = dir + "/deadletter.jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  std::string line(json_line);
  line += '\n';
  Status st = WriteAll(fd, line, path);
  if (st && ::fdatasync(fd) != 0) {
    st = MakeError(ErrorCode::kIo, "cannot fsync " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  return st;
}

Result<std::vector<std::string>> ReadDeadLetters(const std::string& dir, size_t* bad) {
  DeadLetterLock lock(dir);
  BERTH_RETURN_IF_ERROR(lock.status());
  BERTH_ASSIGN_OR_RETURN(auto lines, ReadLinesLocked(dir + "/deadletter.jsonl"));
  std::vector<std::string> out;
  size_t skipped = 0;
  for (auto& l : lines) {
    if (nlohmann::json::accept(l)) {
      out.push_back(std::move(l));
    } else {
      ++skipped;  // a torn last line after a crash
    }
  }
  if (bad) *bad = skipped;
  return out;
}

Result<size_t> ReplayDeadLetters(const std::string& dir, const std::vector<std::string>& ids) {
  DeadLetterLock lock(dir);
  BERTH_RETURN_IF_ERROR(lock.status());
  std::string path = dir + "/deadletter.jsonl";
  BERTH_ASSIGN_OR_RETURN(auto lines, ReadLinesLocked(path));
  std::string keep, replay;
  size_t n = 0;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    bool chosen = false;
    if (j.is_object() && j.contains("event") && j["event"].is_object()) {
      std::string id = j["event"].value("id", "");
      chosen = ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
      if (chosen) {
        replay += j["event"].dump() + "\n";
        ++n;
      }
    }
    if (!chosen) keep += l + "\n";
  }
  if (n == 0) return n;
  std::string inbox = dir + "/inbox";
  BERTH_RETURN_IF_ERROR(MakeDirs(inbox));
  // Named by time so the service takes files in the order they were written.
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string name = std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) +
                     "-" + RandomHex(4) + ".jsonl";
  // Inbox first: a crash between the two steps redelivers (duplicates) rather than loses.
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(inbox + "/" + name, replay));
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(path, keep));
  return n;
}

Result<std::vector<InboxFile>> ReadInbox(const std::string& dir) {
  std::vector<InboxFile> out;
  std::string inbox = dir + "/inbox";
  std::error_code ec;
  if (!std::filesystem::is_directory(inbox, ec)) return out;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(inbox, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".jsonl")) names.push_back(entry.path().string());  // not *.tmp
  }
  if (ec) return MakeError(ErrorCode::kIo, "cannot list " + inbox + ": " + ec.message());
  std::sort(names.begin(), names.end());
  for (auto& p : names) {
    BERTH_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(p));
    InboxFile f{std::move(p), {}};
    for (auto& l : Lines(text)) {
      if (nlohmann::json::accept(l)) f.events.push_back(std::move(l));
    }
    out.push_back(std::move(f));
  }
  return out;
}

Status RemoveInboxFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return MakeError(ErrorCode::kIo, "cannot remove " + path + ": " + std::strerror(errno));
  }
  return Ok();
}

}  // namespace berth::notify
