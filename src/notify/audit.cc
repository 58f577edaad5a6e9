// The audit log (format and behaviour in audit.h).
#include "notify/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/log.h"
#include "common/time.h"
#include "notify/files.h"
#include "notify/stop.h"

namespace berth::notify {
namespace {

constexpr size_t kMemoryLimit = 10000;

bool ToStdout(const AuditConfig& c) { return c.path.empty() || c.path == "-"; }

// One line: invalid UTF-8 from a client is replaced, never an exception.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<std::shared_ptr<AuditLog>> AuditLog::Open(const AuditConfig& cfg) {
  std::shared_ptr<AuditLog> log(new AuditLog(cfg));
  if (!ToStdout(cfg)) {
    auto parent = std::filesystem::path(cfg.path).parent_path();
    if (auto st = parent.empty() ? Ok() : MakeDirs(parent.string()); !st) {
      return MakeError(ErrorCode::kIo, "berth.audit.path: " + st.error().message);
    }
    log->OpenFile();
    if (log->fd_ < 0) {
      return MakeError(ErrorCode::kIo,
                       "berth.audit.path: cannot open " + cfg.path + ": " + std::strerror(errno));
    }
  }
  log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
  return log;
}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::OpenFile() {
  fd_ = ::open(cfg_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  struct stat st {};
  size_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void AuditLog::Emit(const api::Event& e) noexcept {
  PushBuilt([&] {
    nlohmann::json j = {{"time", FormatRfc3339(e.time)},
                        {"action", std::string(api::ActionName(e.action))},
                        {"result", e.action == api::EventAction::kDenied ? "denied" : "success"},
                        {"status", e.status}};
    nlohmann::json actor = {{"addr", e.request.addr}, {"useragent", e.request.user_agent}};
    if (!e.actor.empty()) actor["name"] = e.actor;
    j["actor"] = std::move(actor);
    if (!e.repository.empty()) j["repository"] = e.repository;
    if (!e.from_repository.empty()) j["fromrepository"] = e.from_repository;
    std::string reference = e.tag.empty() ? e.digest : e.tag;
    if (!reference.empty()) j["reference"] = reference;
    if (!e.digest.empty()) j["digest"] = e.digest;
    if (!e.media_type.empty()) j["mediatype"] = e.media_type;
    if (e.size > 0) j["size"] = e.size;
    if (!e.reason.empty()) j["reason"] = e.reason;
    j["request"] = {{"id", e.request.id}, {"method", e.request.method}, {"host", e.request.host}};
    return Dump(j);
  });
}

void AuditLog::RecordReload(bool ok, const std::string& detail) noexcept {
  PushBuilt([&] {
    nlohmann::json j = {{"time", FormatRfc3339(std::chrono::system_clock::now())},
                        {"action", "config reload"},
                        {"result", ok ? "success" : "failure"}};
    if (!detail.empty()) j["reason"] = detail;
    return Dump(j);
  });
}

void AuditLog::RecordChange(std::string_view actor, std::string_view action,
                            std::string_view target, std::string_view detail) noexcept {
  PushBuilt([&] {
    nlohmann::json j = {{"time", FormatRfc3339(std::chrono::system_clock::now())},
                        {"action", action},
                        {"result", "success"}};
    if (!actor.empty()) j["actor"] = {{"name", actor}};
    if (!target.empty()) j["target"] = target;
    if (!detail.empty()) j["detail"] = detail;
    return Dump(j);
  });
}

void AuditLog::PushBuilt(const std::function<std::string()>& build) noexcept {
  try {
    Push(build());
  } catch (...) {  // out of memory building the line: counted like a line the writer lost
    std::lock_guard lock(mu_);
    ++dropped_;
  }
}

void AuditLog::Push(std::string line) noexcept {
  std::lock_guard lock(mu_);
  if (stop_ || lines_.size() >= kMemoryLimit) {
    if (dropped_++ % 1000 == 0) spdlog::error("audit log: writer is behind; dropping lines");
    return;
  }
  line += '\n';
  lines_.push_back(std::move(line));
  ++pushed_;
  cv_.notify_all();
}

void AuditLog::Flush() {
  std::unique_lock lock(mu_);
  uint64_t target = pushed_;
  written_cv_.wait(lock, [&] { return written_ >= target || !writer_.joinable(); });
}

void AuditLog::Reopen() {
  std::lock_guard lock(mu_);
  reopen_ = true;
  cv_.notify_all();
}

void AuditLog::Stop() {
  StopAndJoin(mu_, cv_, stop_, writer_);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

uint64_t AuditLog::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AuditLog::WriterLoop() {
  while (true) {
    std::deque<std::string> batch;
    bool stopping, reopen;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || reopen_ || !lines_.empty(); });
      batch.swap(lines_);
      stopping = stop_;
      reopen = std::exchange(reopen_, false);
    }
    if (reopen && !ToStdout(cfg_)) {
      if (fd_ >= 0) ::close(fd_);
      OpenFile();
    }
    std::string data;
    for (const auto& l : batch) {
      if (!ToStdout(cfg_) && cfg_.max_bytes > 0 &&
          size_ + data.size() + l.size() > cfg_.max_bytes) {
        Write(data);
        data.clear();
        Rotate();
      }
      data += l;
    }
    Write(data);
    {
      std::lock_guard lock(mu_);
      written_ += batch.size();
      written_cv_.notify_all();
      if (stopping && lines_.empty()) return;
    }
  }
}

void AuditLog::Write(const std::string& data) {
  if (data.empty()) return;
  int fd = ToStdout(cfg_) ? STDOUT_FILENO : fd_;
  if (fd < 0) return;
  if (auto st = WriteAll(fd, data, ToStdout(cfg_) ? "stdout" : cfg_.path); !st) {
    spdlog::error("audit log: {}", st.error().ToString());
    return;
  }
  size_ += data.size();
}

void AuditLog::Rotate() {
  if (size_ == 0) return;  // a single line larger than maxsize: written to a fresh file as is
  if (fd_ >= 0) ::close(fd_);
  const std::string& p = cfg_.path;
  if (cfg_.max_backups == 0) {
    ::unlink(p.c_str());
  } else {
    ::unlink((p + "." + std::to_string(cfg_.max_backups)).c_str());
    for (uint32_t i = cfg_.max_backups; i > 1; --i) {
      ::rename((p + "." + std::to_string(i - 1)).c_str(), (p + "." + std::to_string(i)).c_str());
    }
    ::rename(p.c_str(), (p + ".1").c_str());
  }
  OpenFile();
  if (fd_ < 0) spdlog::error("audit log: cannot reopen {}: {}", p, std::strerror(errno));
}

}  // namespace berth::notify
