#pragma once
// HTTP Basic authentication against an htpasswd file, with a verification cache and a failure
// throttle.
//
// Cache: bcrypt is slow on purpose (tens of milliseconds at cost 10) and docker/podman send the
// same credentials on every request, so a successful check is remembered for `cache_ttl` (60 s
// default), keyed by SHA-256 of "user:password" (the plain password is never kept; a user name
// cannot contain
// ':', so the key is unambiguous). Entries remember the htpasswd file generation and die when the
// file changes, so a removed user or changed password takes effect at the next reload. The cache is
// bounded (`cache_max_entries`); when full, expired entries go first, then everything.
//
// Throttle: failures are counted per (client IP, user). After `max_failures` (5) failures within
// `failure_window` (60 s) the pair is locked out for `backoff` (30 s): further attempts, correct or
// not, are refused without running bcrypt, with Verdict::kThrottled. HtpasswdAuthorizer answers
// those with Decision{status = 429, message = "too many failed logins ..."}; the API sends 429
// TOOMANYREQUESTS (no challenge, so clients do not prompt again). A success clears the pair's
// count. Refusing the right password during the lock-out is deliberate: answering it differently
// would tell a guesser that the guess was right.
//
// Budget: every bcrypt run (a cache miss) first takes a ticket from a LoginBudget (login_budget.h),
// which bounds hashing per client address and overall; a caller over budget gets Verdict::kBusy
// without any hashing, answered 429 TOOMANYREQUESTS like a throttled one. Unknown users cost the
// same bcrypt as a wrong password (htpasswd.h), so the budget is spent either way and timing does
// not tell which users exist.
//
// Thread-safety: CredentialVerifier and HtpasswdAuthorizer are thread-safe; bcrypt runs unlocked.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/auth.h"
#include "auth/htpasswd.h"
#include "auth/login_budget.h"
#include "common/time.h"

namespace berth::auth {

// The 429 message for a caller over the bcrypt budget.
inline constexpr const char* kBusyMessage = "too many login attempts; try again later";

struct BasicCredentials {
  std::string user;
  std::string password;
};
// Parses `Basic base64(user:password)` (scheme case-insensitive). nullopt when absent or malformed.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view authorization);

// "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "::1"; anything else is returned as is.
std::string_view RemoteIp(std::string_view remote);

struct VerifierOptions {
  std::chrono::seconds cache_ttl{60};
  size_t cache_max_entries = 10000;
  int max_failures = 5;
  std::chrono::seconds failure_window{60};
  std::chrono::seconds backoff{30};
  size_t throttle_max_entries = 100000;
  LoginBudgetOptions budget;
};

class CredentialVerifier {
 public:
  // kThrottled: this (address, user) failed too often; kBusy: over the bcrypt budget.
  enum class Verdict { kOk, kBadCredentials, kThrottled, kBusy };

  CredentialVerifier(PasswordSourcePtr file, const Clock& clock = SystemClock(),
                     VerifierOptions options = {});
  CredentialVerifier(const CredentialVerifier&) = delete;
  CredentialVerifier& operator=(const CredentialVerifier&) = delete;

  // `remote` is "ip:port"; only the IP counts for throttling.
  Verdict Verify(std::string_view user, std::string_view password, std::string_view remote);

  // Remembered successes (bounded by cache_max_entries).
  size_t cache_entries();

 private:
  struct CacheEntry {
    SystemTime expires;
    uint64_t generation;
  };
  struct Failures {
    SystemTime window_start;
    int count = 0;
    SystemTime blocked_until;
  };
  void PruneLocked(SystemTime now);

  PasswordSourcePtr file_;
  const Clock& clock_;
  const VerifierOptions options_;
  LoginBudget budget_;
  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;   // Guarded by mu_. Key: SHA-256 hex.
  std::unordered_map<std::string, Failures> failures_;  // Guarded by mu_. Key: ip + '\0' + user.
};
using CredentialVerifierPtr = std::shared_ptr<CredentialVerifier>;

// Distribution's `auth: htpasswd`: any authenticated user may do everything.
class HtpasswdAuthorizer : public Authorizer {
 public:
  HtpasswdAuthorizer(std::string realm, CredentialVerifierPtr verifier)
      : realm_(std::move(realm)), verifier_(std::move(verifier)) {}

  // No or malformed credentials, unknown user, wrong password -> 401 with `Basic realm="<realm>"`;
  // throttled -> 429; otherwise allowed for every access, subject = user.
  Decision Authorize(std::string_view authorization, std::string_view remote,
                     const std::vector<Access>& needed) override;

 private:
  const std::string realm_;
  CredentialVerifierPtr verifier_;
};

}  // namespace berth::auth
