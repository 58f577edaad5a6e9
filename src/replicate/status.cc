#include "replicate/status.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/log.h"
#include "notify/files.h"
#include "notify/queue.h"

namespace berth::replicate {
namespace {

using json = nlohmann::json;

std::string StatusPath(const std::string& directory, const std::string& rule) {
  return RuleDirectory(directory, rule) + "/status.json";
}

Result<RuleStatus> Load(const std::string& path, const std::string& rule) {
  RuleStatus s;
  s.rule = rule;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return s;
  BERTH_ASSIGN_OR_RETURN(std::string text, notify::ReadWholeFile(path));
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return MakeError(ErrorCode::kIo, path + ": not a status file");
  if (auto t = ParseRfc3339(j.value("last_run", ""))) s.last_run = *t;
  s.last_result = j.value("last_result", "");
  s.images = j.value("images", uint64_t{0});
  s.bytes = j.value("bytes", uint64_t{0});
  s.deletes = j.value("deletes", uint64_t{0});
  s.failures = j.value("failures", uint64_t{0});
  s.last_error = j.value("last_error", "");
  return s;
}

}  // namespace

std::string RuleDirectory(const std::string& directory, const std::string& rule) {
  return directory + "/" + rule;
}

std::string QueueDirectory(const std::string& directory, const std::string& rule) {
  return RuleDirectory(directory, rule) + "/queue";
}

Result<RuleStatus> ReadRuleStatus(const std::string& directory, const std::string& rule) {
  BERTH_ASSIGN_OR_RETURN(RuleStatus s, Load(StatusPath(directory, rule), rule));
  BERTH_ASSIGN_OR_RETURN(auto q, notify::Queue::Inspect(QueueDirectory(directory, rule)));
  s.pending = q.pending;
  s.oldest_pending = q.oldest;
  return s;
}

double LagSeconds(const RuleStatus& s, SystemTime now) {
  if (s.pending == 0 || !s.oldest_pending) return 0;
  return std::max(0.0, std::chrono::duration<double>(now - *s.oldest_pending).count());
}

Result<std::unique_ptr<RuleStatusFile>> RuleStatusFile::Open(const std::string& directory,
                                                             const std::string& rule) {
  BERTH_RETURN_IF_ERROR(notify::MakeDirs(RuleDirectory(directory, rule)));
  std::unique_ptr<RuleStatusFile> f(new RuleStatusFile(StatusPath(directory, rule)));
  BERTH_ASSIGN_OR_RETURN(f->status_, Load(f->path_, rule));
  return f;
}

void RuleStatusFile::Record(SystemTime end, uint64_t images, uint64_t bytes, uint64_t deletes,
                            const std::string& error) {
  std::lock_guard lock(mu_);
  status_.last_run = end;
  status_.last_result = error.empty() ? "ok" : error;
  status_.images += images;
  status_.bytes += bytes;
  status_.deletes += deletes;
  if (!error.empty()) {
    ++status_.failures;
    status_.last_error = error;
  }
  PersistLocked();
}

void RuleStatusFile::Failure(const std::string& error) {
  std::lock_guard lock(mu_);
  ++status_.failures;
  status_.last_error = error;
  PersistLocked();
}

void RuleStatusFile::PersistLocked() {
  json j = {{"rule", status_.rule},
            {"last_run", status_.last_run ? FormatRfc3339(*status_.last_run) : ""},
            {"last_result", status_.last_result},
            {"images", status_.images},
            {"bytes", status_.bytes},
            {"deletes", status_.deletes},
            {"failures", status_.failures},
            {"last_error", status_.last_error}};
  auto text = j.dump(2, ' ', false, json::error_handler_t::replace);
  if (auto st = notify::WriteFileAtomic(path_, text); !st) {
    spdlog::warn("replication {}: cannot record the status: {}", status_.rule,
                 st.error().ToString());
  }
}

RuleStatus RuleStatusFile::Get() const {
  std::lock_guard lock(mu_);
  return status_;
}

}  // namespace berth::replicate
