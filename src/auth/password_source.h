#pragma once
// Where CredentialVerifier (basic.h) checks passwords: an htpasswd file (htpasswd.h) or the
// metadata store's users (meta/tenancy.h). The verifier adds the success cache, the failure
// throttle and the bcrypt budget on top, whatever the source.
//
// Thread-safety: implementations are thread-safe.

#include <cstdint>
#include <memory>
#include <string_view>

namespace berth::auth {

class PasswordSource {
 public:
  virtual ~PasswordSource() = default;
  // Runs bcrypt (also for an unknown user, so the answer time does not tell which users exist).
  virtual bool Verify(std::string_view user, std::string_view password) = 0;
  // Changes whenever any user or password may have changed; cached successes die with it.
  virtual uint64_t generation() const = 0;
  // Called before each check (a file source re-reads a changed file here).
  virtual void MaybeReload() {}
};
using PasswordSourcePtr = std::shared_ptr<PasswordSource>;

}  // namespace berth::auth
