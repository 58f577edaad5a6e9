#include "auth/htpasswd.h"

#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/log.h"
#include "common/strings.h"

namespace berth::auth {
namespace {

bool IsBcrypt(std::string_view hash) {
  return hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$");
}

// The cost most entries use ("$2y$12$..." -> 12), or the default for an empty file.
int TypicalCost(const HtpasswdEntries& entries) {
  std::map<int, size_t> counts;
  for (const auto& [user, hash] : entries) {
    auto cost = ParseUint64(std::string_view(hash).substr(4, 2));
    if (cost && *cost >= 4 && *cost <= 31) ++counts[static_cast<int>(*cost)];
  }
  int best = kDefaultBcryptCost;
  size_t best_count = 0;
  for (const auto& [cost, n] : counts) {
    if (n > best_count) best = cost, best_count = n;
  }
  return best;
}

// A hash of a random password nobody knows, at the cost the file's users have: unknown users are
// checked against it so that they cost exactly as much time as a wrong password for a known one.
std::string DummyHash(const HtpasswdEntries& entries) {
  auto h = BcryptHash(RandomHex(16), TypicalCost(entries));
  // Only a broken system RNG fails here; a malformed dummy would make unknown users cheap, so fall
  // back to a fixed valid hash of the default cost rather than to nothing.
  return h ? *h : "$2y$10$zs1annhCghwUmpyysg0JAeMiZDOgtGPSErwiWCF.V13VvHYMrFcES";
}

std::string ErrnoText() { return std::strerror(errno); }

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return MakeError(ErrorCode::kIo, "cannot read htpasswd file " + path + ": " + ErrnoText());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return MakeError(ErrorCode::kIo, "cannot read htpasswd file " + path);
  return ss.str();
}

Status ValidateUserName(std::string_view user) {
  if (user.empty()) return MakeError(ErrorCode::kInvalidArgument, "user name is empty");
  for (char c : user) {
    if (c == ':' || c == '\n' || c == '\r' || c == '\0') {
      return MakeError(ErrorCode::kInvalidArgument, "user name \"" + std::string(user) +
                                                        "\" must not contain ':' or line breaks");
    }
  }
  if (user.front() == '#') {
    return MakeError(ErrorCode::kInvalidArgument, "user name must not start with '#'");
  }
  return Ok();
}

}  // namespace

Result<HtpasswdEntries> ParseHtpasswd(std::string_view content) {
  HtpasswdEntries entries;
  size_t line_no = 0;
  for (std::string_view raw : Split(content, '\n')) {
    ++line_no;
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "line " + std::to_string(line_no) + ": expected user:hash");
    }
    std::string user(line.substr(0, colon));
    std::string_view hash = line.substr(colon + 1);
    std::string where = "line " + std::to_string(line_no) + " (" + user + "): ";
    if (!IsBcrypt(hash)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + "only bcrypt entries are supported; make them with htpasswd -B");
    }
    // Distribution keeps the first entry of a duplicated user; a silent pick is a trap, so refuse.
    if (entries.contains(user)) {
      return MakeError(ErrorCode::kInvalidArgument, where + "user appears more than once");
    }
    entries.emplace(std::move(user), std::string(hash));
  }
  return entries;
}

Result<std::string> BcryptHash(std::string_view password, int cost) {
  if (cost < 4 || cost > 31) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bcrypt cost " + std::to_string(cost) + " is outside 4..31");
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // Null random bytes: libxcrypt takes them from the OS CSPRNG.
  if (crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt) ==
      nullptr) {
    return MakeError(ErrorCode::kIo, "crypt_gensalt_rn failed: " + ErrnoText());
  }
  std::string pw(password);  // crypt wants a NUL-terminated phrase
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(pw.c_str(), salt, data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  if (out == nullptr || out[0] == '*') return MakeError(ErrorCode::kIo, "bcrypt failed");
  std::string hash(out);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return hash;
}

bool BcryptVerify(std::string_view password, std::string_view hash) {
  if (!IsBcrypt(hash)) return false;
  // bcrypt reads at most 72 bytes and stops at NUL; a NUL inside would make different passwords
  // equal.
  if (password.find('\0') != std::string_view::npos) return false;
  std::string pw(password);
  std::string setting(hash);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(pw.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  bool ok = out != nullptr && std::strlen(out) == hash.size() &&
            CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

Status AddUser(const std::string& path, std::string_view user, std::string_view password,
               int cost) {
  BERTH_RETURN_IF_ERROR(ValidateUserName(user));
  BERTH_ASSIGN_OR_RETURN(std::string hash, BcryptHash(password, cost));

  std::string existing;
  mode_t mode = 0600;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    mode = st.st_mode & 07777;
    BERTH_ASSIGN_OR_RETURN(existing, ReadFile(path));
  } else if (errno != ENOENT) {
    return MakeError(ErrorCode::kIo, "cannot stat " + path + ": " + ErrnoText());
  }

  // Keep every other line as it was (comments included); replace the user's line in place.
  std::string out;
  bool replaced = false;
  std::vector<std::string_view> lines = Split(existing, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::string_view line : lines) {
    std::string_view t = Trim(line);
    size_t colon = t.find(':');
    if (!t.empty() && t.front() != '#' && colon != std::string_view::npos &&
        t.substr(0, colon) == user) {
      if (replaced) continue;  // drop duplicates of the same user
      out += std::string(user) + ":" + hash + "\n";
      replaced = true;
      continue;
    }
    out += line;
    out += '\n';
  }
  if (!replaced) out += std::string(user) + ":" + hash + "\n";
  // Never write a file the registry would refuse to load.
  BERTH_RETURN_IF_ERROR(ParseHtpasswd(out));

  std::string tmp = path + ".tmp-" + RandomHex(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return MakeError(ErrorCode::kIo, "cannot create " + tmp + ": " + ErrnoText());
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(fd, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string err = ErrnoText();
      ::close(fd);
      ::unlink(tmp.c_str());
      return MakeError(ErrorCode::kIo, "cannot write " + tmp + ": " + err);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = ErrnoText();
    ::unlink(tmp.c_str());
    return MakeError(ErrorCode::kIo, "cannot sync " + tmp + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = ErrnoText();
    ::unlink(tmp.c_str());
    return MakeError(ErrorCode::kIo, "cannot rename " + tmp + " to " + path + ": " + err);
  }
  return Ok();
}

Result<std::shared_ptr<HtpasswdFile>> HtpasswdFile::Open(std::string path, const Clock& clock) {
  std::shared_ptr<HtpasswdFile> f(new HtpasswdFile(std::move(path), clock));
  struct stat st {};
  if (::stat(f->path_.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kIo, "cannot stat htpasswd file " + f->path_ + ": " + ErrnoText());
  }
  BERTH_ASSIGN_OR_RETURN(std::string content, ReadFile(f->path_));
  auto parsed = ParseHtpasswd(content);
  if (!parsed) {
    Error e = parsed.error();
    e.message = "htpasswd file " + f->path_ + ": " + e.message;
    return std::unexpected(std::move(e));
  }
  f->dummy_hash_ = DummyHash(*parsed);
  f->entries_ = std::make_shared<const HtpasswdEntries>(std::move(*parsed));
  f->file_id_ = FileId{static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                       static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
  f->last_check_ = clock.Now();
  return f;
}

void HtpasswdFile::MaybeReload() {
  std::lock_guard lock(mu_);
  SystemTime now = clock_.Now();
  if (now - last_check_ < std::chrono::seconds(1)) return;
  last_check_ = now;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    // A missing file is usually an editor's rename in flight; keep serving what we have.
    spdlog::error("htpasswd file {}: {}; keeping the previous contents", path_, ErrnoText());
    return;
  }
  FileId id{static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
            static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
  if (id == file_id_) return;
  // Remember the new identity even when it fails to parse: the error is logged once, not every
  // second, and the next edit is picked up.
  file_id_ = id;
  auto content = ReadFile(path_);
  if (!content) {
    spdlog::error("{}; keeping the previous contents", content.error().message);
    return;
  }
  auto parsed = ParseHtpasswd(*content);
  if (!parsed) {
    spdlog::error("htpasswd file {}: {}; keeping the previous contents", path_,
                  parsed.error().message);
    return;
  }
  if (TypicalCost(*parsed) != TypicalCost(*entries_)) dummy_hash_ = DummyHash(*parsed);
  entries_ = std::make_shared<const HtpasswdEntries>(std::move(*parsed));
  generation_.fetch_add(1);
  spdlog::info("htpasswd file {} reloaded ({} users)", path_, entries_->size());
}

std::shared_ptr<const HtpasswdEntries> HtpasswdFile::Snapshot(std::string* dummy_hash) {
  std::lock_guard lock(mu_);
  if (dummy_hash != nullptr) *dummy_hash = dummy_hash_;
  return entries_;
}

int HtpasswdFile::dummy_cost() {
  std::string dummy;
  Snapshot(&dummy);
  return static_cast<int>(*ParseUint64(std::string_view(dummy).substr(4, 2)));
}

bool HtpasswdFile::Verify(std::string_view user, std::string_view password) {
  MaybeReload();
  std::string dummy;
  auto entries = Snapshot(&dummy);
  auto it = entries->find(user);
  bcrypt_calls_.fetch_add(1);
  if (it == entries->end()) {
    (void)BcryptVerify(password, dummy);
    return false;
  }
  return BcryptVerify(password, it->second);
}

bool HtpasswdFile::HasUser(std::string_view user) {
  MaybeReload();
  auto entries = Snapshot();
  return entries->contains(user);
}

}  // namespace berth::auth
