#pragma once
// The audit trail: one JSON object per line for every push, pull, delete, mount, login, denied
// request (api/events.h) and configuration reload, to a file with size-based rotation or to
// standard output.
//
//   {"time":"2026-12-01T05:50:00.123456789Z","action":"push","result":"success","status":201,
//    "actor":{"name":"alice","addr":"10.0.0.5:51234","useragent":"docker/24.0"},
//    "repository":"team/app","reference":"v1","digest":"sha256:...","mediatype":"...",
//    "size":1234,"request":{"id":"...","method":"PUT","host":"registry.example"}}
//
// `result` is "success" or "denied" (with "reason"); an anonymous caller has no actor.name.
// Changes to the tenancy model (notify/changes.h) are lines of their own, with the metadata
// store's action word and no request:
//
//   {"time":"...","action":"user.add","result":"success","actor":{"name":"admin"},
//    "target":"bob","detail":"..."}
//
// `reference` is the tag, else the digest. Every string is JSON-escaped, so a client-chosen user
// agent or name cannot forge a line.
//
// Emit never blocks: lines go to a bounded in-memory list that a writer thread appends (one
// write(2) per batch, no fsync: the audit log is a log, not a queue). Rotation: before a write
// would take the file past `maxsize`, path.(N-1) -> path.N ... path -> path.1 and a new file is
// started; `maxbackups` old files are kept. Reopen (SIGHUP) starts writing to a fresh `path`,
// for external rotation tools. Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "api/events.h"
#include "notify/config.h"

namespace berth::notify {

class AuditLog : public api::EventSink {
 public:
  // Errors: kIo when the file cannot be opened (the directory is created).
  static Result<std::shared_ptr<AuditLog>> Open(const AuditConfig& cfg);
  ~AuditLog() override;
  void Emit(const api::Event& event) noexcept override;
  // A configuration reload (`ok` false: it failed, `detail` says why).
  void RecordReload(bool ok, const std::string& detail) noexcept;
  // A change to users, organisations, teams, grants, tokens, quotas or repository settings
  // (`action` as the metadata store names it: "user.add", "grant.set", ...). Empty `actor`,
  // `target` or `detail` are left out of the line.
  void RecordChange(std::string_view actor, std::string_view action, std::string_view target,
                    std::string_view detail) noexcept;
  // Waits until every line recorded before the call is written.
  void Flush();
  // Closes and reopens the file (after an external rotation).
  void Reopen();
  void Stop();
  uint64_t dropped() const;

 private:
  explicit AuditLog(AuditConfig cfg) : cfg_(std::move(cfg)) {}
  void Push(std::string line) noexcept;
  // Pushes what `build` returns; a failure to build (out of memory) counts as a dropped line.
  void PushBuilt(const std::function<std::string()>& build) noexcept;
  void WriterLoop();
  void Write(const std::string& data);
  void OpenFile();
  void Rotate();

  const AuditConfig cfg_;
  mutable std::mutex mu_;
  std::condition_variable cv_, written_cv_;
  std::deque<std::string> lines_;  // guarded by mu_
  uint64_t pushed_ = 0, written_ = 0, dropped_ = 0;
  bool stop_ = false, reopen_ = false;
  std::thread writer_;
  int fd_ = -1;  // writer thread only (and Open)
  uint64_t size_ = 0;
};

}  // namespace berth::notify
