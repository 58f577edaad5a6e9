#include "auth/basic.h"

#include <openssl/crypto.h>

#include "auth/encoding.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/strings.h"

namespace berth::auth {

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view authorization) {
  authorization = Trim(authorization);
  size_t sp = authorization.find(' ');
  if (sp == std::string_view::npos || !IEquals(authorization.substr(0, sp), "basic")) {
    return std::nullopt;
  }
  std::string_view encoded = Trim(authorization.substr(sp + 1));
  if (encoded.empty() || encoded.size() > 4096) return std::nullopt;
  auto decoded = Base64Decode(encoded);
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  BasicCredentials creds{decoded->substr(0, colon), decoded->substr(colon + 1)};
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return creds;
}

std::string_view RemoteIp(std::string_view remote) {
  if (remote.starts_with('[')) {
    size_t close = remote.find(']');
    if (close != std::string_view::npos) return remote.substr(1, close - 1);
    return remote;
  }
  // One colon: host:port. More: a bare IPv6 address without a port.
  size_t colon = remote.find(':');
  if (colon != std::string_view::npos && remote.find(':', colon + 1) == std::string_view::npos) {
    return remote.substr(0, colon);
  }
  return remote;
}

CredentialVerifier::CredentialVerifier(PasswordSourcePtr file, const Clock& clock,
                                       VerifierOptions options)
    : file_(std::move(file)), clock_(clock), options_(options), budget_(clock, options.budget) {}

size_t CredentialVerifier::cache_entries() {
  std::lock_guard lock(mu_);
  return cache_.size();
}

void CredentialVerifier::PruneLocked(SystemTime now) {
  if (cache_.size() >= options_.cache_max_entries) {
    std::erase_if(cache_, [&](const auto& kv) { return kv.second.expires <= now; });
    if (cache_.size() >= options_.cache_max_entries) cache_.clear();
  }
  if (failures_.size() >= options_.throttle_max_entries) {
    std::erase_if(failures_, [&](const auto& kv) {
      return kv.second.blocked_until <= now &&
             now - kv.second.window_start > options_.failure_window;
    });
    // Still full means a flood of distinct pairs; forgetting them is better than growing without
    // end.
    if (failures_.size() >= options_.throttle_max_entries) failures_.clear();
  }
}

CredentialVerifier::Verdict CredentialVerifier::Verify(std::string_view user,
                                                       std::string_view password,
                                                       std::string_view remote) {
  std::string throttle_key = std::string(RemoteIp(remote)) + '\0' + std::string(user);
  std::string secret = std::string(user) + ":" + std::string(password);
  std::string cache_key = Digest::Of(secret).hex();
  OPENSSL_cleanse(secret.data(), secret.size());

  file_->MaybeReload();
  uint64_t generation = file_->generation();
  SystemTime now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    auto f = failures_.find(throttle_key);
    if (f != failures_.end() && now < f->second.blocked_until) return Verdict::kThrottled;
    auto c = cache_.find(cache_key);
    if (c != cache_.end()) {
      if (c->second.expires > now && c->second.generation == generation) {
        if (f != failures_.end()) failures_.erase(f);
        return Verdict::kOk;
      }
      cache_.erase(c);
    }
  }

  bool ok = false;
  {
    LoginBudget::Ticket ticket = budget_.Acquire(RemoteIp(remote));
    if (!ticket) return Verdict::kBusy;
    ok = file_->Verify(user, password);
  }

  now = clock_.Now();
  std::lock_guard lock(mu_);
  PruneLocked(now);
  if (ok) {
    failures_.erase(throttle_key);
    cache_[cache_key] = CacheEntry{now + options_.cache_ttl, generation};
    return Verdict::kOk;
  }
  Failures& f = failures_[throttle_key];
  if (f.count == 0 || now - f.window_start > options_.failure_window) {
    f.window_start = now;
    f.count = 0;
  }
  if (++f.count >= options_.max_failures) {
    f.blocked_until = now + options_.backoff;
    f.count = 0;
    spdlog::warn("auth: {} failed logins for user \"{}\" from {}; refusing it for {} s",
                 options_.max_failures, user, RemoteIp(remote), options_.backoff.count());
  }
  return Verdict::kBadCredentials;
}

Decision HtpasswdAuthorizer::Authorize(std::string_view authorization, std::string_view remote,
                                       const std::vector<Access>& needed) {
  Decision d;
  d.challenge = "Basic realm=\"" + realm_ + "\"";
  auto creds = ParseBasicAuthorization(authorization);
  if (!creds) {
    d.status = 401;
    d.message = authorization.empty() ? "authentication required" : "malformed Basic credentials";
    return d;
  }
  switch (verifier_->Verify(creds->user, creds->password, remote)) {
    case CredentialVerifier::Verdict::kOk:
      d.allowed = true;
      d.status = 200;
      d.challenge.clear();
      d.subject = creds->user;
      break;
    case CredentialVerifier::Verdict::kBadCredentials:
      d.status = 401;
      d.message = "invalid user name or password";
      break;
    case CredentialVerifier::Verdict::kThrottled:
      d.status = 429;
      d.challenge.clear();
      d.message = "too many failed logins for user \"" + creds->user + "\"; try again later";
      break;
    case CredentialVerifier::Verdict::kBusy:
      d.status = 429;
      d.challenge.clear();
      d.message = kBusyMessage;
      break;
  }
  OPENSSL_cleanse(creds->password.data(), creds->password.size());
  return d;
}

}  // namespace berth::auth
