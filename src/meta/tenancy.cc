#include "meta/tenancy.h"

#include <openssl/crypto.h>

#include "auth/htpasswd.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/strings.h"

namespace berth::meta {
namespace {

constexpr auto kStaleGrace = std::chrono::seconds(5);
// How long the directory is trusted without reading the generation when no change is visible.
constexpr auto kRecheck = std::chrono::seconds(1);
constexpr std::string_view kTokenPrefix = "berth_";
constexpr size_t kTokenLength = 6 + 64;

// Users' passwords for auth::CredentialVerifier, from the tenancy's current directory.
class DirectoryPasswords : public auth::PasswordSource {
 public:
  explicit DirectoryPasswords(std::weak_ptr<Tenancy> tenancy)
      : tenancy_(std::move(tenancy)),
        dummy_(auth::BcryptHash("berth-dummy-password").value_or("")) {}
  bool Verify(std::string_view user, std::string_view password) override {
    auto t = tenancy_.lock();
    if (!t) return false;
    auto dir = t->Cached();  // Authenticate refreshed it for this request
    auto u = dir->users.find(user);
    // An unknown user costs the same bcrypt as a wrong password.
    const std::string& hash = u == dir->users.end() ? dummy_ : u->second.password_hash;
    return auth::BcryptVerify(password, hash) && u != dir->users.end();
  }
  uint64_t generation() const override {
    auto t = tenancy_.lock();
    return t ? t->Cached()->generation : 0;
  }

 private:
  std::weak_ptr<Tenancy> tenancy_;
  const std::string dummy_;
};

class BasicTenancyAuthorizer : public auth::Authorizer, public auth::ScopedAuthorizer {
 public:
  BasicTenancyAuthorizer(TenancyPtr tenancy, std::string realm)
      : tenancy_(std::move(tenancy)), challenge_("Basic realm=\"" + QuoteEscape(realm) + "\"") {}

  auth::Decision Authorize(std::string_view authorization, std::string_view remote,
                           const std::vector<auth::Access>& needed) override {
    auth::Decision d;
    auto who = Identify(authorization, remote, &d);
    if (!who) return d;
    if (who->subject.empty() && needed.empty()) {
      // GET /v2/ without credentials: the challenge is how clients learn to log in (and how
      // `docker login` checks a password at all).
      d.status = 401;
      d.challenge = challenge_;
      d.message = "authentication required";
      return d;
    }
    // Authenticating read the store for this request; an anonymous caller did not.
    auto dir = who->subject.empty() ? tenancy_->Current() : tenancy_->Cached();
    for (const auth::Access& a : needed) {
      if (tenancy_->AllowsIn(*dir, *who, a)) continue;
      if (who->subject.empty()) {
        d.status = 401;
        d.challenge = challenge_;
        d.message = "authentication required";
      } else {
        d.status = 403;
        d.subject = who->subject;
        d.message = "requested access to the resource is denied";
      }
      return d;
    }
    d.allowed = true;
    d.status = 200;
    d.subject = who->subject;
    return d;
  }

  std::function<bool(std::string_view)> PullFilter(std::string_view authorization,
                                                   std::string_view remote) override {
    auth::Decision ignored;
    auto who = Identify(authorization, remote, &ignored);
    if (!who) return [](std::string_view) { return false; };
    return [t = tenancy_, dir = tenancy_->Current(), who = *who](std::string_view repo) {
      return t->AllowsIn(*dir, who, auth::Access{"repository", std::string(repo), "pull"});
    };
  }

 private:
  // The caller (anonymous without credentials), or nullopt with `d` filled with the refusal.
  std::optional<auth::Principal> Identify(std::string_view authorization, std::string_view remote,
                                          auth::Decision* d) {
    if (Trim(authorization).empty()) return auth::Principal{};
    d->challenge = challenge_;
    auto login = tenancy_->Identify(authorization, remote);
    if (!login) {
      d->status = login.error().code == ErrorCode::kTooManyRequests ? 429 : 401;
      if (d->status == 429) d->challenge.clear();
      d->message = login.error().message;
      return std::nullopt;
    }
    return login->principal;
  }

  TenancyPtr tenancy_;
  const std::string challenge_;
};

class TokenTenancyAuthorizer : public auth::Authorizer, public auth::ScopedAuthorizer {
 public:
  TokenTenancyAuthorizer(TenancyPtr tenancy, std::shared_ptr<auth::TokenAuthorizer> inner)
      : tenancy_(std::move(tenancy)), inner_(std::move(inner)) {}

  auth::Decision Authorize(std::string_view authorization, std::string_view remote,
                           const std::vector<auth::Access>& needed) override {
    auth::Decision d = inner_->Authorize(authorization, remote, needed);
    if (!d.allowed) return d;
    auto dir = tenancy_->Current();
    auth::Principal who = Tenancy::FromSubject(*dir, d.subject);
    for (const auth::Access& a : needed) {
      if (tenancy_->AllowsIn(*dir, who, a)) continue;
      // What the token claims is no longer true (revoked robot, removed grant, private again):
      // the client fetches a new token, which the token service issues from the store as it is.
      d.allowed = false;
      d.status = 401;
      d.challenge = inner_->Challenge(needed, "insufficient_scope");
      d.message = "access to " + a.type + " \"" + a.name + "\" is no longer granted";
      return d;
    }
    return d;
  }

  std::function<bool(std::string_view)> PullFilter(std::string_view authorization,
                                                   std::string_view) override {
    auto claims = inner_->Verify(authorization);
    if (!claims) return [](std::string_view) { return false; };
    auto dir = tenancy_->Current();
    return [t = tenancy_, dir, who = Tenancy::FromSubject(*dir, claims->subject)](
               std::string_view repo) {
      return t->AllowsIn(*dir, who, auth::Access{"repository", std::string(repo), "pull"});
    };
  }

 private:
  TenancyPtr tenancy_;
  std::shared_ptr<auth::TokenAuthorizer> inner_;
};

}  // namespace

std::shared_ptr<Tenancy> Tenancy::Create(StorePtr store, const Clock& clock,
                                         auth::VerifierOptions options) {
  std::shared_ptr<Tenancy> t(new Tenancy(std::move(store), clock));
  t->verifier_ = std::make_shared<auth::CredentialVerifier>(
      std::make_shared<DirectoryPasswords>(t), clock, options);
  return t;
}

int64_t Tenancy::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
}

uint64_t Tenancy::reloads() const {
  std::lock_guard lock(mu_);
  return reloads_;
}

std::shared_ptr<const Directory> Tenancy::Current() {
  static const auto kEmpty = std::make_shared<const Directory>();
  // Read before the generation, so a change committed after them shows next time.
  const uint64_t local = store_->LocalChanges();
  std::optional<uint64_t> stamp = store_->ChangeStamp();
  const auto steady = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (dir_ && local == seen_local_ && stamp == seen_stamp_ && steady - checked_ < kRecheck) {
      return dir_;
    }
  }
  auto generation = store_->Generation();
  SystemTime now = clock_.Now();
  std::lock_guard lock(mu_);
  auto fresh = [&] {
    last_good_ = now;
    seen_local_ = local;
    seen_stamp_ = std::move(stamp);
    checked_ = steady;
    return dir_;
  };
  if (generation) {
    if (dir_ && dir_->generation == *generation) return fresh();
    auto loaded = store_->LoadDirectory();
    if (loaded) {
      dir_ = std::make_shared<const Directory>(std::move(*loaded));
      ++reloads_;
      return fresh();
    }
    generation = std::unexpected(loaded.error());
  }
  if (dir_ && now - last_good_ < kStaleGrace) return dir_;
  spdlog::error("tenancy: the metadata store cannot be read ({}); refusing access",
                generation.error().message);
  return kEmpty;
}

std::shared_ptr<const Directory> Tenancy::Cached() {
  {
    std::lock_guard lock(mu_);
    if (dir_) return dir_;
  }
  return Current();
}

auth::Principal Tenancy::FromSubject(const Directory& dir, const std::string& subject) {
  if (auto r = dir.robot_secret.find(subject); r != dir.robot_secret.end()) {
    return auth::Principal{subject, r->second};
  }
  return auth::Principal{subject, ""};
}

Result<auth::Principal> Tenancy::Authenticate(std::string_view user, std::string_view password,
                                              std::string_view remote) {
  auto dir = Current();  // the one read of the store for this login (the password check uses it)
  if (password.size() == kTokenLength && password.starts_with(kTokenPrefix)) {
    std::string digest = Digest::Of(password).hex();
    auto t = dir->tokens_by_secret.find(digest);
    if (t != dir->tokens_by_secret.end() &&
        ((t->second.owner.empty() && t->second.name == user) || t->second.owner == user)) {
      if (t->second.revoked) {
        return MakeError(ErrorCode::kUnauthorized, "token \"" + t->second.name + "\" is revoked");
      }
      if (t->second.expires_at != 0 && Now() >= t->second.expires_at) {
        return MakeError(ErrorCode::kUnauthorized, "token \"" + t->second.name + "\" has expired");
      }
      return auth::Principal{std::string(user), digest};
    }
    // Not a token of this user: perhaps a password that looks like one.
  }
  switch (verifier_->Verify(user, password, remote)) {
    case auth::CredentialVerifier::Verdict::kOk:
      return auth::Principal{std::string(user), ""};
    case auth::CredentialVerifier::Verdict::kBadCredentials:
      return MakeError(ErrorCode::kUnauthorized, "invalid user name or password");
    case auth::CredentialVerifier::Verdict::kThrottled:
      return MakeError(ErrorCode::kTooManyRequests, "too many failed logins for user \"" +
                                                        std::string(user) + "\"; try again later");
    case auth::CredentialVerifier::Verdict::kBusy:
      return MakeError(ErrorCode::kTooManyRequests, auth::kBusyMessage);
  }
  return MakeError(ErrorCode::kUnauthorized, "invalid user name or password");
}

bool Tenancy::Allows(const auth::Principal& who, const auth::Access& access) {
  return AllowsIn(*Current(), who, access);
}

bool Tenancy::AllowsIn(const Directory& dir, const auth::Principal& who,
                       const auth::Access& access) const {
  if (access.type == "registry") {
    // Everyone may ask for the catalog; it lists only what the caller may pull.
    return access.name == "catalog" && access.action == "*";
  }
  if (access.type != "repository") return false;
  Identity id{who.subject, nullptr};
  if (!who.credential.empty()) {
    auto t = dir.tokens_by_secret.find(who.credential);
    if (t == dir.tokens_by_secret.end()) return false;  // deleted since
    id.token = &t->second;
  }
  return meta::Allows(dir, id, access.name, access.action, Now());
}

auth::AuthorizerPtr Tenancy::BasicAuthorizer(std::string realm) {
  return std::make_shared<BasicTenancyAuthorizer>(shared_from_this(), std::move(realm));
}

Result<Tenancy::Login> Tenancy::Identify(std::string_view authorization, std::string_view remote) {
  if (Trim(authorization).empty()) return Login{};
  if (std::string_view a = Trim(authorization);
      a.size() > 7 && IEquals(a.substr(0, 7), "bearer ")) {
    std::shared_ptr<auth::TokenAuthorizer> bearer;
    {
      std::lock_guard lock(mu_);
      bearer = bearer_;
    }
    if (!bearer) {
      return MakeError(ErrorCode::kUnauthorized,
                       "Bearer tokens are not accepted here (auth is not `token`); use Basic");
    }
    BERTH_ASSIGN_OR_RETURN(auto claims, bearer->Verify(authorization));
    if (claims.subject.empty()) return Login{};
    return Login{FromSubject(*Current(), claims.subject), true};
  }
  auto creds = auth::ParseBasicAuthorization(authorization);
  if (!creds) return MakeError(ErrorCode::kUnauthorized, "malformed Basic credentials");
  auto who = Authenticate(creds->user, creds->password, remote);
  OPENSSL_cleanse(creds->password.data(), creds->password.size());
  if (!who) return std::unexpected(who.error());
  bool by_token = !who->credential.empty();
  return Login{std::move(*who), by_token};
}

auth::AuthorizerPtr Tenancy::TokenAuthorizer(std::shared_ptr<auth::TokenAuthorizer> inner) {
  {
    std::lock_guard lock(mu_);
    bearer_ = inner;
  }
  return std::make_shared<TokenTenancyAuthorizer>(shared_from_this(), std::move(inner));
}

}  // namespace berth::meta
