#include "cli/app.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "admin/api.h"
#include "api/api.h"
#include "auth/basic.h"
#include "auth/htpasswd.h"
#include "auth/jwt.h"
#include "auth/token_authorizer.h"
#include "auth/token_service.h"
#include "common/log.h"
#include "gc/config.h"
#include "gc/job.h"
#include "gc/metrics.h"
#include "http/server.h"
#include "jobs/scheduler.h"
#include "meta/open.h"
#include "meta/quota.h"
#include "notify/runtime.h"
#include "observe/observability.h"
#include "policy/setup.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"
#include "replicate/install.h"
#include "replicate/metrics.h"
#include "storage/driver/driver.h"
#include "storage/driver/factory.h"
#include "storage/factory.h"

namespace berth::cli {
namespace {

// Removes what a crash mid-PutContent left behind; a temporary in flight is never this old.
void PurgeTemporaries(storage::driver::StorageDriver& driver, const Clock& clock) {
  constexpr auto kTemporaryMaxAge = std::chrono::hours(1);
  auto n = driver.PurgeTemporaries(clock.Now() - kTemporaryMaxAge);
  if (!n) {
    spdlog::warn("removing stale storage temporaries failed: {}", n.error().ToString());
  } else if (*n > 0) {
    spdlog::info("removed {} stale storage temporar{}", *n, *n == 1 ? "y" : "ies");
  }
}

}  // namespace

struct App::Impl {
  config::Config cfg;
  // Health checks, metrics, the debug server (issue 13). Declared first so that it is destroyed
  // last: the storage stack, the API and the jobs record into its registry.
  std::unique_ptr<observe::Observability> observe;
  std::string root;
  storage::NamespacePtr registry;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<http::Server> server;
  storage::driver::StorageDriverPtr driver;
  std::shared_ptr<proxy::Proxy> proxy;  // the pull-through cache, when configured
  const Clock* clock = &SystemClock();
  // Background work (upload purging, stale temporaries; GC, retention, ... next). Jobs are added in
  // AddJobs; embedders and tests may add more through App::scheduler().
  std::unique_ptr<jobs::Scheduler> scheduler;
  gc::Installed gc;  // leases around the storage stack, the online collection job and its counters
  bool stopped = false;
  std::unique_ptr<notify::Runtime> notify;  // webhook queues and audit log; after the server drains
  std::shared_ptr<replicate::Service> replication;  // berth.replication; stopped after the server
  std::vector<metrics::Registration> replication_metrics;

  static constexpr auto kJobStopTimeout = std::chrono::seconds(10);
  // How stale a listing may be for writes by other processes (Distribution's listing TTL).
  // berth.listingttl: the reconcile interval (default 5 s).
  std::chrono::milliseconds listing_ttl{5000};

  // The one list of background jobs. A job may outlive Stop's wait (it is then left to finish), so
  // each captures shared_ptrs and copies, never `this`.
  Status AddJobs() {
    BERTH_RETURN_IF_ERROR(policy::AddJobs(cfg, *scheduler, registry, driver, *clock));
    // At start-up, in the background so `serve` does not wait for a walk of the whole store.
    BERTH_RETURN_IF_ERROR(scheduler->Add(
        {.name = "storage-temporaries"},
        [driver = driver, clock = clock](const jobs::JobContext&) {
          PurgeTemporaries(*driver, *clock);
        }));
    // Brings the listing index (catalog, tag lists) in line with writes by other processes sharing
    // the storage; the index's first build runs on its own at start-up.
    BERTH_RETURN_IF_ERROR(scheduler->Add(
        {.name = "listing-reconcile", .interval = listing_ttl, .initial_delay = listing_ttl},
        [registry = registry](const jobs::JobContext&) {
          if (auto st = registry->Reconcile(); !st) {
            spdlog::warn("listing reconcile failed: {}", st.error().ToString());
          }
        }));
    const config::UploadPurging& p = cfg.storage.uploadpurging;
    if (!p.enabled) return Ok();
    // Like Distribution, the first run waits a little, with jitter, so that a fleet restarting
    // together does not purge at once.
    jobs::JobSpec spec{.name = "upload-purge",
                       .interval = p.interval.count() > 0 ? std::chrono::nanoseconds(p.interval)
                                                          : std::chrono::hours(1),
                       .initial_delay = std::chrono::seconds(30),
                       .jitter = std::chrono::seconds(60)};
    return scheduler->Add(
        std::move(spec),
        [registry = registry, driver = driver, clock = clock, p](const jobs::JobContext&) {
          auto n = registry->Uploads().Purge(clock->Now() - p.age, p.dryrun);
          if (n) {
            spdlog::info("upload purge: {} stale upload(s) {}", *n,
                         p.dryrun ? "found (dry run)" : "deleted");
          } else {
            spdlog::warn("upload purge failed: {}", n.error().ToString());
          }
          PurgeTemporaries(*driver, *clock);
        });
  }
};

namespace {

// Builds the authorizer (and the built-in token service) that `auth` asks for. Errors name the key.
// With a metadata store (`tenancy`), users, tokens and grants come from it (meta/tenancy.h).
Status ConfigureAuth(const config::AuthConfig& a, api::ApiOptions& ao,
                     const meta::TenancyPtr& tenancy) {
  auto fail = [](const std::string& key, const Error& e) {
    return MakeError(ErrorCode::kInvalidArgument, key + ": " + e.message);
  };
  if (tenancy && a.type != "token") {  // a store without `auth`, or with `auth: htpasswd`
    ao.authorizer = tenancy->BasicAuthorizer(a.htpasswd_realm.empty() ? "Registry Realm"
                                                                      : a.htpasswd_realm);
    return Ok();
  }
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
    so.rules = tenancy;
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
  auto token = std::make_shared<auth::TokenAuthorizer>(std::move(to));
  ao.authorizer = tenancy ? tenancy->TokenAuthorizer(token) : token;
  return Ok();
}

// Berth's own tunables (`berth:`); what is not set keeps the component's default.
template <typename T, typename U>
void SetIf(const std::optional<U>& value, T& target) {
  if (value) target = static_cast<T>(*value);
}

void ApplyTunables(const config::BerthConfig& b, http::ServerOptions& so) {
  SetIf(b.threads, so.threads);
  SetIf(b.max_header_bytes, so.max_header_bytes);
  SetIf(b.header_timeout, so.header_timeout);
  SetIf(b.idle_timeout, so.idle_timeout);
  SetIf(b.body_idle_timeout, so.body_idle_timeout);
  SetIf(b.write_timeout, so.write_timeout);
  SetIf(b.large_buffer, so.large_buffer);
  SetIf(b.large_buffer_budget, so.large_buffer_budget);
  SetIf(b.small_buffer, so.small_buffer);
  SetIf(b.sendfile, so.sendfile);
  SetIf(b.map_files, so.map_files);
}

Status CheckReadable(const std::string& key, const std::string& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     key + ": cannot read " + path + ": " + (ec ? ec.message() : "no such file"));
  }
  if (std::filesystem::is_directory(st)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     key + ": " + path + " is a directory, not a file");
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     key + ": cannot read " + path + ": " + std::strerror(errno));
  }
  return Ok();
}

}  // namespace

namespace {

// The storage root and the TLS files; the authentication files are checked by loading them
// (ConfigureAuth), which `serve` does once, for real, and `config check` into a scratch copy.
Status CheckFiles(const config::Config& cfg) {
  if (cfg.storage.driver == "filesystem") {
    const std::string& root = cfg.storage.filesystem_rootdirectory;
    std::error_code ec;
    auto st = std::filesystem::status(root, ec);
    if (std::filesystem::exists(st) && !std::filesystem::is_directory(st)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "storage.filesystem.rootdirectory: " + root + " is not a directory");
    }
  }
  const auto& tls = cfg.http.tls;
  if (!tls.certificate.empty()) {
    BERTH_RETURN_IF_ERROR(CheckReadable("http.tls.certificate", tls.certificate));
    BERTH_RETURN_IF_ERROR(CheckReadable("http.tls.key", tls.key));
  }
  for (const auto& ca : tls.clientcas)
    BERTH_RETURN_IF_ERROR(CheckReadable("http.tls.clientcas", ca));
  return Ok();
}

}  // namespace

Status CheckResources(const config::Config& cfg) {
  BERTH_RETURN_IF_ERROR(CheckFiles(cfg));
  BERTH_RETURN_IF_ERROR(policy::Check(cfg));
  BERTH_RETURN_IF_ERROR(gc::DecodeConfig(cfg));
  if (auto o = observe::Observability::Create(cfg); !o) return std::unexpected(o.error());
  // Loading the authentication files is the check: every error names the key and the file.
  BERTH_RETURN_IF_ERROR(notify::CheckConfig(cfg));
  if (auto rc = replicate::DecodeConfig(cfg); !rc) return std::unexpected(rc.error());
  api::ApiOptions scratch;
  BERTH_ASSIGN_OR_RETURN(auto tenancy, meta::OpenTenancy(cfg));  // opens and migrates the store
  return ConfigureAuth(cfg.auth, scratch, tenancy);
}

std::string Summary(const config::Config& cfg, std::string_view listening) {
  const auto& a = cfg.auth;
  std::string auth = a.type.empty() ? "none" : a.type;
  if (a.type == "token" && !a.builtin_signingkey.empty()) auth += " (built-in token service)";
  if (meta::Configured(cfg)) auth = (a.type == "token" ? auth : "basic") + ", users from " + cfg.berth.meta_driver;
  std::string storage = cfg.storage.driver;
  if (cfg.storage.driver == "filesystem") storage += " at " + cfg.storage.filesystem_rootdirectory;
  auto on = [](bool b) { return b ? "on" : "off"; };
  return "listening on " + std::string(listening) + ": tls " +
         on(!cfg.http.tls.certificate.empty()) + ", auth " + auth + ", delete " +
         on(cfg.storage.delete_enabled) + ", storage " + storage + ", read-only " +
         on(cfg.storage.readonly);
}

Result<std::unique_ptr<App>> App::Create(const config::Config& cfg, AppDeps deps) {
  if (!deps.driver) BERTH_RETURN_IF_ERROR(CheckFiles(cfg));
  // Before the driver exists, so a bad auth setting creates no storage root.
  api::ApiOptions ao;
  BERTH_ASSIGN_OR_RETURN(auto tenancy,
                         meta::OpenTenancy(cfg, deps.clock ? *deps.clock : SystemClock()));
  BERTH_RETURN_IF_ERROR(ConfigureAuth(cfg.auth, ao, tenancy));
  BERTH_RETURN_IF_ERROR(policy::Check(cfg));
  std::unique_ptr<App> app(new App());
  app->impl_ = std::make_unique<Impl>();
  Impl& im = *app->impl_;
  im.cfg = cfg;
  BERTH_ASSIGN_OR_RETURN(im.observe, observe::Observability::Create(cfg));
  storage::driver::StorageDriverPtr driver = deps.driver;
  if (!driver) {  // an injected driver (tests) stands in for the configured one
    if (cfg.storage.driver == "filesystem") im.root = cfg.storage.filesystem_rootdirectory;
    auto made = storage::driver::Create(cfg.storage.driver,
                                        {{"rootdirectory", cfg.storage.filesystem_rootdirectory}});
    if (!made) return MakeError(made.error().code, "storage: " + made.error().message);
    driver = std::move(*made);
  }
  im.driver = im.observe->DecorateDriver(driver);
  if (deps.clock) im.clock = deps.clock;
  storage::StackOptions so_storage;
  so_storage.clock = im.clock;
  im.observe->ConfigureStorage(so_storage);  // cache hit and miss counters
  if (cfg.berth.manifest_cache_bytes) so_storage.manifest_cache_bytes = *cfg.berth.manifest_cache_bytes;
  if (cfg.berth.listing_ttl && cfg.berth.listing_ttl->count() > 0) im.listing_ttl = *cfg.berth.listing_ttl;
  im.registry = storage::NewRegistry(im.driver, so_storage);  // reconciled by the "listing-reconcile" job
  im.registry = im.observe->DecorateStorage(std::move(im.registry), driver);  // open uploads gauge
  im.scheduler = std::make_unique<jobs::Scheduler>(*im.clock);
  BERTH_ASSIGN_OR_RETURN(im.registry, policy::Decorate(cfg, std::move(im.registry)));
  if (tenancy) im.registry = meta::WithQuotas(std::move(im.registry), tenancy->store_ptr());
  if (deps.decorate_storage) im.registry = deps.decorate_storage(std::move(im.registry));
  BERTH_ASSIGN_OR_RETURN(im.gc, gc::Install(cfg, driver, *im.clock, im.registry, *im.scheduler));
  im.gc.metrics = gc::RegisterMetrics(im.observe->metrics(), im.gc.counters);
  im.registry = im.gc.registry;
  // Outermost, so that a push into a mirrored repository is refused (405 UNSUPPORTED) before any
  // other layer looks at it; what the cache stores passes through the layers below (leases).
  BERTH_ASSIGN_OR_RETURN(im.proxy, proxy::Install(cfg, driver, &im.registry, im.clock,
                                                  im.scheduler.get()));
  if (im.proxy) proxy::RegisterMetrics(im.observe->metrics(), *im.proxy);
  BERTH_RETURN_IF_ERROR(im.AddJobs());
  BERTH_RETURN_IF_ERROR(im.observe->Attach(*im.scheduler, driver, im.root, cfg.storage.readonly));
  ao.delete_enabled = cfg.storage.delete_enabled;
  ao.readonly = cfg.storage.readonly;
  ao.prefix = cfg.http.prefix.empty() ? "/" : cfg.http.prefix;
  ao.host = cfg.http.host;
  ao.relative_urls = cfg.http.relativeurls;
  ao.headers = cfg.http.headers;
  ao.catalog_max_entries = cfg.catalog_maxentries;
  if (cfg.berth.max_blob_bytes) ao.max_blob_bytes = *cfg.berth.max_blob_bytes;
  ao.validation_disabled = cfg.validation.disabled;
  ao.manifest_urls_allow = cfg.validation.manifests_urls_allow;
  ao.manifest_urls_deny = cfg.validation.manifests_urls_deny;
  if (cfg.berth.ratelimit_pulls.value_or(0) > 0) {
    ao.pull_limiter = std::make_shared<auth::PullRateLimiter>(
        auth::RateLimitOptions{*cfg.berth.ratelimit_pulls,
                               cfg.berth.ratelimit_window.value_or(std::chrono::hours(6)),
                               cfg.berth.ratelimit_exempt},
        *im.clock);
  }
  BERTH_ASSIGN_OR_RETURN(im.notify,
                         notify::Attach(cfg, ao.event_sinks, *im.clock, &im.observe->metrics()));
  if (tenancy) tenancy->store().OnChange(im.notify->ChangeRecorder());  // changes into berth.audit
  BERTH_ASSIGN_OR_RETURN(im.replication, replicate::Install(cfg, im.registry, *im.scheduler,
                                                            ao.event_sinks, *im.clock));
  im.replication_metrics = replicate::RegisterMetrics(im.observe->metrics(), im.replication);
  ao.unhealthy = im.observe->Unhealthy();
  ao.on_auth_failure = im.observe->AuthFailureHook();
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
  so.tls_ciphersuites = cfg.http.tls.ciphersuites;
  so.blocking_threads = static_cast<int>(cfg.storage.filesystem_maxthreads);
  ApplyTunables(cfg.berth, so);
  so.on_reload = im.notify->OnReload();
  if (!cfg.log.accesslog_disabled) {
    so.access_log = [](const http::AccessLogEntry& e) {
      const http::Request& r = *e.request;
      std::string msg = r.remote_addr + " " + r.method + " " + r.target + " " +
                        std::to_string(e.status) + " " + std::to_string(e.bytes_sent);
      log::Fields fields = {{"http.request.remoteaddr", r.remote_addr},
                            {"http.request.method", r.method},
                            {"http.request.uri", r.target},
                            {"http.request.useragent", std::string(r.headers.Get("User-Agent"))},
                            {"http.response.status", std::to_string(e.status)},
                            {"http.response.written", std::to_string(e.bytes_sent)},
                            {"http.response.duration", std::to_string(e.duration.count()) + "us"}};
      if (!e.note.empty()) fields.emplace_back("note", std::string(e.note));
      // Every value is escaped by the formatter: a CR/LF in a path or user agent cannot forge
      // lines.
      log::Entry(spdlog::level::info, msg, fields);
    };
  }
  so.access_log = im.observe->WrapAccessLog(std::move(so.access_log));
  api::Api* api = im.api.get();
  im.server = std::make_unique<http::Server>(
      std::move(so),
      im.observe->WrapHandler(admin::WithAdminApi(
          tenancy, {cfg.http.prefix.empty() ? "/" : cfg.http.prefix},
          [api, proxy = im.proxy](http::Request& req) {
            if (proxy) proxy->Rewrite(req);  // containerd's ?ns= into the mirror's repositories
            return api->Handle(req);
          })));
  return app;
}

App::~App() { Shutdown(); }

Status App::Start() {
  BERTH_RETURN_IF_ERROR(impl_->server->Start());
  BERTH_RETURN_IF_ERROR(impl_->observe->Start());
  impl_->scheduler->Start();
  return Ok();
}

uint16_t App::port() const { return impl_->server->port(); }
jobs::Scheduler& App::scheduler() { return *impl_->scheduler; }
metrics::Registry& App::metrics() { return impl_->observe->metrics(); }
uint16_t App::debug_port() const { return impl_->observe->debug_port(); }
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
  // Create may fail before the server or the scheduler exists (a bad htpasswd file, say); the App
  // is then destroyed half-built and there is nothing to drain or stop.
  if (impl_->server) impl_->server->Shutdown(impl_->cfg.http.draintimeout);
  impl_->notify.reset();  // persists the events still in memory
  if (impl_->replication) impl_->replication->Stop();  // persists its pending items
  if (impl_->observe) impl_->observe->Shutdown();
  if (impl_->scheduler) impl_->scheduler->Stop(Impl::kJobStopTimeout);
}

}  // namespace berth::cli
