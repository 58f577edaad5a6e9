#include "cli/app.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "api/api.h"
#include "auth/basic.h"
#include "auth/htpasswd.h"
#include "auth/jwt.h"
#include "auth/token_authorizer.h"
#include "auth/token_service.h"
#include "common/log.h"
#include "http/server.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::cli {

struct App::Impl {
  config::Config cfg;
  std::string root;
  std::shared_ptr<storage::Registry> registry;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<http::Server> server;
  // Upload purging runs on its own thread until shutdown.
  std::thread purger;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // Guarded by mu.
  bool stopped = false;

  void PurgeLoop() {
    const auto& p = cfg.storage.uploadpurging;
    // Like Distribution, wait a little before the first run so a fleet restarting together does not
    // purge at once.
    std::mt19937 rng(std::random_device{}());
    auto delay = std::chrono::seconds(30 + rng() % 60);
    std::unique_lock lock(mu);
    while (!stopping) {
      if (cv.wait_for(lock, delay, [&] { return stopping; })) break;
      lock.unlock();
      auto cutoff = SystemClock().Now() - p.age;
      auto n = registry->PurgeUploads(cutoff, p.dryrun);
      if (n) {
        spdlog::info("upload purge: {} stale upload(s) {}", *n, p.dryrun ? "found (dry run)" : "deleted");
      } else {
        spdlog::warn("upload purge failed: {}", n.error().ToString());
      }
      lock.lock();
      delay = std::chrono::duration_cast<std::chrono::seconds>(p.interval);
      if (delay.count() <= 0) delay = std::chrono::seconds(3600);
    }
  }
};

namespace {

// Builds the authorizer (and the built-in token service) that `auth` asks for. Errors name the key.
Status ConfigureAuth(const config::AuthConfig& a, api::ApiOptions& ao) {
  auto fail = [](const std::string& key, const Error& e) {
    return MakeError(ErrorCode::kInvalidArgument, key + ": " + e.message);
  };
  if (a.type == "htpasswd") {
    auto file = auth::HtpasswdFile::Open(a.htpasswd_path);
    if (!file) return fail("auth.htpasswd.path", file.error());
    auto verifier = std::make_shared<auth::CredentialVerifier>(*file);
    ao.authorizer = std::make_shared<auth::HtpasswdAuthorizer>(a.htpasswd_realm, verifier);
    return Ok();
  }
  if (a.type != "token") return Ok();
  auth::PublicKeySet keys;
  if (!a.token_rootcertbundle.empty()) {
    auto bundle = auth::PublicKeySet::LoadPemBundleFile(a.token_rootcertbundle);
    if (!bundle) return fail("auth.token.rootcertbundle", bundle.error());
    keys.Merge(*bundle);
  }
  if (!a.token_jwks.empty()) {
    auto jwks = auth::PublicKeySet::LoadJwksFile(a.token_jwks);
    if (!jwks) return fail("auth.token.jwks", jwks.error());
    keys.Merge(*jwks);
  }
  if (!a.builtin_signingkey.empty()) {
    auto key = auth::SigningKey::LoadFile(a.builtin_signingkey);
    if (!key) return fail("auth.token.builtin.signingkey", key.error());
    keys.Merge(key->PublicKeys());
    auth::TokenServiceOptions so;
    so.issuer = a.token_issuer;
    so.service = a.token_service;
    so.key = std::move(*key);
    so.lifetime = a.builtin_expiration;
    if (!a.builtin_htpasswd.empty()) {
      auto file = auth::HtpasswdFile::Open(a.builtin_htpasswd);
      if (!file) return fail("auth.token.builtin.htpasswd", file.error());
      so.verifier = std::make_shared<auth::CredentialVerifier>(*file);
    }
    if (!a.builtin_policy.empty()) {
      auto policy = auth::AccessPolicy::LoadFile(a.builtin_policy);
      if (!policy) return fail("auth.token.builtin.policy", policy.error());
      so.policy = std::move(*policy);
    }
    ao.token_service = std::make_shared<auth::TokenService>(std::move(so));
  }
  auth::TokenAuthorizerOptions to;
  to.realm = a.token_realm;
  to.service = a.token_service;
  to.issuer = a.token_issuer;
  to.keys = std::move(keys);
  ao.authorizer = std::make_shared<auth::TokenAuthorizer>(std::move(to));
  return Ok();
}

}  // namespace

Result<std::unique_ptr<App>> App::Create(const config::Config& cfg, AppDeps deps) {
  std::unique_ptr<App> app(new App());
  app->impl_ = std::make_unique<Impl>();
  Impl& im = *app->impl_;
  im.cfg = cfg;
  storage::driver::StorageDriverPtr driver = deps.driver;
  if (driver) {
    // injected (tests): the configured driver is not opened
  } else if (cfg.storage.driver == "inmemory") {
    driver = storage::driver::NewInMemoryDriver();
  } else if (cfg.storage.driver == "filesystem") {
    im.root = cfg.storage.filesystem_rootdirectory;
    BERTH_ASSIGN_OR_RETURN(driver, storage::driver::NewFilesystemDriver(im.root));
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "storage: driver " + cfg.storage.driver + " is not supported");
  }
  storage::RegistryOptions ro;
  if (deps.clock) ro.clock = deps.clock;
  im.registry = std::make_shared<storage::Registry>(driver, ro);
  api::ApiOptions ao;
  ao.delete_enabled = cfg.storage.delete_enabled;
  ao.readonly = cfg.storage.readonly;
  ao.prefix = cfg.http.prefix.empty() ? "/" : cfg.http.prefix;
  ao.host = cfg.http.host;
  ao.relative_urls = cfg.http.relativeurls;
  ao.headers = cfg.http.headers;
  ao.catalog_max_entries = cfg.catalog_maxentries;
  BERTH_RETURN_IF_ERROR(ConfigureAuth(cfg.auth, ao));
  if (deps.adjust_api) deps.adjust_api(ao);
  im.api = std::make_unique<api::Api>(im.registry, std::move(ao));

  http::ServerOptions so;
  BERTH_ASSIGN_OR_RETURN(auto hp, config::SplitHostPort(cfg.http.addr));
  so.host = hp.first;
  so.port = hp.second;
  so.tls_certificate = cfg.http.tls.certificate;
  so.tls_key = cfg.http.tls.key;
  so.tls_minimum = cfg.http.tls.minimumtls;
  so.tls_client_cas = cfg.http.tls.clientcas;
  if (!cfg.log.accesslog_disabled) {
    so.access_log = [](const http::AccessLogEntry& e) {
      spdlog::info("{} \"{} {}\" {} {} {}us{}{}", e.request->remote_addr, e.request->method,
                   e.request->target, e.status, e.bytes_sent, e.duration.count(),
                   e.note.empty() ? "" : " ", e.note);
    };
  }
  api::Api* api = im.api.get();
  im.server = std::make_unique<http::Server>(
      std::move(so), [api](http::Request& req) { return api->Handle(req); });
  return app;
}

App::~App() { Shutdown(); }

Status App::Start() {
  BERTH_RETURN_IF_ERROR(impl_->server->Start());
  if (impl_->cfg.storage.uploadpurging.enabled) {
    impl_->purger = std::thread([im = impl_.get()] { im->PurgeLoop(); });
  }
  return Ok();
}

uint16_t App::port() const { return impl_->server->port(); }
const std::string& App::root_directory() const { return impl_->root; }

int App::RunUntilSignal() {
  int sig = impl_->server->WaitForSignal();
  if (sig != 0) spdlog::info("signal {} received: draining for up to {} ms", sig,
                             impl_->cfg.http.draintimeout.count());
  Shutdown();
  return sig;
}

void App::Shutdown() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->server->Shutdown(impl_->cfg.http.draintimeout);
  if (impl_->purger.joinable()) impl_->purger.join();
}

}  // namespace berth::cli
