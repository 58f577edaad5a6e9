#pragma once
// htpasswd files, as Apache's `htpasswd -B` writes them and Distribution's htpasswd backend reads
// them: one `user:hash` per line; blank lines and lines starting with '#' are ignored. Only bcrypt
// hashes
// ($2y$, $2b$, $2a$) are accepted: the other formats htpasswd can write (MD5-crypt, SHA-1,
// crypt(3), plain text) are too weak to keep, so a file holding one fails to load with the line and
// the user named, e.g. `line 3 (bob): only bcrypt entries are supported; make them with htpasswd
// -B`.
//
// HtpasswdFile re-reads its file when it changes: at most once per second (by the injected Clock)
// it compares mtime, size and inode, and swaps in the new contents. A file that became invalid or
// unreadable keeps the previous good contents and logs an error, so a half-finished edit never
// locks everybody out.
//
// Thread-safety: HtpasswdFile is thread-safe; bcrypt runs outside its lock.
// Errors: Open returns kIo (unreadable) or kInvalidArgument (a bad line); AddUser returns
// kInvalidArgument (bad user name, bad existing file) or kIo.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/password_source.h"
#include "common/error.h"
#include "common/time.h"

namespace berth::auth {

inline constexpr int kDefaultBcryptCost = 10;

// user -> bcrypt hash.
using HtpasswdEntries = std::map<std::string, std::string, std::less<>>;

// Parses file contents. Errors: kInvalidArgument naming the 1-based line and the user.
Result<HtpasswdEntries> ParseHtpasswd(std::string_view content);

// A bcrypt hash of `password` with a fresh random salt ("$2y$<cost>$..."). Errors: kInvalidArgument
// for a cost outside 4..31, kIo when the system cannot produce one.
Result<std::string> BcryptHash(std::string_view password, int cost = kDefaultBcryptCost);
// Runs bcrypt; compares the result in constant time. False for a malformed hash.
bool BcryptVerify(std::string_view password, std::string_view hash);

// Writes or replaces `user`'s entry with a new bcrypt hash, keeping the other lines, atomically
// (temporary file in the same directory, fsync, rename). Creates the file (mode 0600) when absent.
// For `berth htpasswd add USER`.
Status AddUser(const std::string& path, std::string_view user, std::string_view password,
               int cost = kDefaultBcryptCost);

class HtpasswdFile : public PasswordSource {
 public:
  static Result<std::shared_ptr<HtpasswdFile>> Open(std::string path,
                                                    const Clock& clock = SystemClock());
  HtpasswdFile(const HtpasswdFile&) = delete;
  HtpasswdFile& operator=(const HtpasswdFile&) = delete;

  // Runs bcrypt (also for an unknown user, against a dummy hash of the cost most entries use, made
  // at load and remade when a reload changes that cost, so the answer time does not tell
  // which users exist). Reloads the file first if it is due.
  bool Verify(std::string_view user, std::string_view password) override;
  bool HasUser(std::string_view user);

  // Bumped on every successful reload; caches key their entries on it.
  uint64_t generation() const override { return generation_.load(); }
  // How many times bcrypt ran (tests and metrics).
  uint64_t bcrypt_calls() const { return bcrypt_calls_.load(); }
  const std::string& path() const { return path_; }
  // The bcrypt cost unknown users are checked at (tests).
  int dummy_cost();

  // Checks the file now if the last check is a second old or more (Verify calls it).
  void MaybeReload() override;

 private:
  struct FileId {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    friend bool operator==(const FileId&, const FileId&) = default;
  };
  HtpasswdFile(std::string path, const Clock& clock) : path_(std::move(path)), clock_(clock) {}
  std::shared_ptr<const HtpasswdEntries> Snapshot(std::string* dummy_hash = nullptr);

  const std::string path_;
  const Clock& clock_;
  std::mutex mu_;
  std::shared_ptr<const HtpasswdEntries> entries_;  // Guarded by mu_.
  std::string dummy_hash_;                          // Guarded by mu_. At the cost most entries use.
  FileId file_id_;                                  // Guarded by mu_.
  SystemTime last_check_;                           // Guarded by mu_.
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> bcrypt_calls_{0};
};
using HtpasswdFilePtr = std::shared_ptr<HtpasswdFile>;

}  // namespace berth::auth
