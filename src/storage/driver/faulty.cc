#include "storage/driver/faulty.h"

#include <algorithm>
#include <memory>
#include <utility>

namespace berth::storage::driver {

void FaultPlan::Add(FaultRule rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(ActiveRule{std::move(rule)});
}

void FaultPlan::FailNth(FaultOp op, uint64_t nth, ErrorCode code) {
  Add(FaultRule{op, std::string(), nth, code});
}

void FaultPlan::FailPath(FaultOp op, std::string path_contains, ErrorCode code) {
  Add(FaultRule{op, std::move(path_contains), 0, code});
}

void FaultPlan::FailWritesAfter(uint64_t bytes, std::string path_contains) {
  std::lock_guard lock(mu_);
  budgets_.push_back(Budget{bytes, std::move(path_contains)});
}

void FaultPlan::Clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
  budgets_.clear();
}

uint64_t FaultPlan::Calls(FaultOp op) const {
  std::lock_guard lock(mu_);
  if (op != FaultOp::kAny) return calls_[static_cast<size_t>(op)];
  uint64_t total = 0;
  for (uint64_t n : calls_) total += n;
  return total;
}

std::optional<Error> FaultPlan::Check(FaultOp op, std::string_view path, std::string_view path2) {
  std::lock_guard lock(mu_);
  ++calls_[static_cast<size_t>(op)];
  auto contains = [&](const std::string& needle) {
    return path.find(needle) != std::string_view::npos ||
           (!path2.empty() && path2.find(needle) != std::string_view::npos);
  };
  for (ActiveRule& active : rules_) {
    const FaultRule& rule = active.rule;
    if (rule.op != FaultOp::kAny && rule.op != op) continue;
    if (!contains(rule.path_contains)) continue;
    ++active.matched;
    if (rule.nth == 0 || active.matched == rule.nth) {
      return Error{rule.code, rule.message + " on \"" + std::string(path) + "\"", {}, 0};
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> FaultPlan::WriteBudget(std::string_view path) const {
  std::lock_guard lock(mu_);
  for (const Budget& budget : budgets_) {
    if (path.find(budget.path_contains) != std::string_view::npos) return budget.bytes;
  }
  return std::nullopt;
}

namespace {

#define BERTH_FAULT_CHECK(plan, ...)                                      \
  do {                                                                    \
    if (std::optional<Error> berth_fault_ = (plan)->Check(__VA_ARGS__)) { \
      return std::unexpected(std::move(*berth_fault_));                   \
    }                                                                     \
  } while (0)

class FaultyReader : public ReaderWrapper {
 public:
  FaultyReader(ReaderPtr base, FaultPlan* plan, std::string path)
      : ReaderWrapper(std::move(base)), plan_(plan), path_(std::move(path)) {}

  Result<size_t> Read(char* buf, size_t cap) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kRead, path_);
    return ReaderWrapper::Read(buf, cap);
  }

 private:
  FaultPlan* plan_;
  std::string path_;
};

class FaultyWriter : public FileWriterWrapper {
 public:
  FaultyWriter(FileWriterPtr base, FaultPlan* plan, std::string path,
               std::optional<uint64_t> budget)
      : FileWriterWrapper(std::move(base)), plan_(plan), path_(std::move(path)), budget_(budget) {}

  Status Write(const char* data, size_t n) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kWrite, path_);
    if (budget_ && written_ + n > *budget_) {
      uint64_t room = *budget_ - std::min(written_, *budget_);
      if (room > 0) {
        BERTH_RETURN_IF_ERROR(FileWriterWrapper::Write(data, room));
        written_ += room;
      }
      return MakeError(ErrorCode::kIo, "write \"" + path_ +
                                           "\": No space left on device (injected after " +
                                           std::to_string(*budget_) + " bytes)");
    }
    BERTH_RETURN_IF_ERROR(FileWriterWrapper::Write(data, n));
    written_ += n;
    return Ok();
  }

  Status Commit() override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kCommit, path_);
    return FileWriterWrapper::Commit();
  }

  Status Cancel() override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kCancel, path_);
    return FileWriterWrapper::Cancel();
  }

 private:
  FaultPlan* plan_;
  std::string path_;
  std::optional<uint64_t> budget_;
  uint64_t written_ = 0;
};

// Built on DriverWrapper: each Do* consults the plan, then forwards.
class FaultyDriver : public DriverWrapper {
 public:
  FaultyDriver(StorageDriverPtr base, FaultPlan* plan)
      : DriverWrapper(std::move(base)), plan_(plan) {}

 protected:
  Result<std::string> DoGetContent(std::string_view path) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kGetContent, path);
    return DriverWrapper::DoGetContent(path);
  }

  Status DoPutContent(std::string_view path, std::string_view content) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kPutContent, path);
    return DriverWrapper::DoPutContent(path, content);
  }

  Result<ReaderPtr> DoNewReader(std::string_view path, uint64_t offset) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kNewReader, path);
    BERTH_ASSIGN_OR_RETURN(ReaderPtr reader, DriverWrapper::DoNewReader(path, offset));
    return ReaderPtr(std::make_unique<FaultyReader>(std::move(reader), plan_, std::string(path)));
  }

  Result<FileWriterPtr> DoNewWriter(std::string_view path, bool append) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kNewWriter, path);
    BERTH_ASSIGN_OR_RETURN(FileWriterPtr writer, DriverWrapper::DoNewWriter(path, append));
    return FileWriterPtr(std::make_unique<FaultyWriter>(std::move(writer), plan_, std::string(path),
                                                        plan_->WriteBudget(path)));
  }

  Result<FileInfo> DoStat(std::string_view path) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kStat, path);
    return DriverWrapper::DoStat(path);
  }

  Result<std::vector<std::string>> DoList(std::string_view path) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kList, path);
    return DriverWrapper::DoList(path);
  }

  Status DoMove(std::string_view src, std::string_view dst) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kMove, src, dst);
    return DriverWrapper::DoMove(src, dst);
  }

  Status DoDelete(std::string_view path) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kDelete, path);
    return DriverWrapper::DoDelete(path);
  }

  Result<std::string> DoRedirectURL(std::string_view path, std::string_view method) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kRedirectURL, path);
    return DriverWrapper::DoRedirectURL(path, method);
  }

  // The generic walk over this decorator, so List/Stat rules apply inside it.
  Status DoWalk(std::string_view path, const std::function<bool(const FileInfo&)>& fn) override {
    BERTH_FAULT_CHECK(plan_, FaultOp::kWalk, path);
    return WalkByListing(path, fn);
  }

 private:
  FaultPlan* plan_;
};

#undef BERTH_FAULT_CHECK

}  // namespace

StorageDriverPtr NewFaultyDriver(StorageDriverPtr base, FaultPlan* plan) {
  return std::make_shared<FaultyDriver>(std::move(base), plan);
}

}  // namespace berth::storage::driver
