#include "cli/app.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "api/api.h"
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

Result<std::unique_ptr<App>> App::Create(const config::Config& cfg) {
  std::unique_ptr<App> app(new App());
  app->impl_ = std::make_unique<Impl>();
  Impl& im = *app->impl_;
  im.cfg = cfg;
  storage::driver::StorageDriverPtr driver;
  if (cfg.storage.driver == "inmemory") {
    driver = storage::driver::NewInMemoryDriver();
  } else if (cfg.storage.driver == "filesystem") {
    im.root = cfg.storage.filesystem_rootdirectory;
    BERTH_ASSIGN_OR_RETURN(driver, storage::driver::NewFilesystemDriver(im.root));
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "storage: driver " + cfg.storage.driver + " is not supported");
  }
  im.registry = std::make_shared<storage::Registry>(driver);
  api::ApiOptions ao;
  ao.delete_enabled = cfg.storage.delete_enabled;
  ao.readonly = cfg.storage.readonly;
  ao.prefix = cfg.http.prefix.empty() ? "/" : cfg.http.prefix;
  ao.host = cfg.http.host;
  ao.relative_urls = cfg.http.relativeurls;
  ao.headers = cfg.http.headers;
  ao.catalog_max_entries = cfg.catalog_maxentries;
  im.api = std::make_unique<api::Api>(im.registry, std::move(ao));

  http::ServerOptions so;
  BERTH_ASSIGN_OR_RETURN(auto hp, config::SplitHostPort(cfg.http.addr));
  so.host = hp.first;
  so.port = hp.second;
  so.tls_certificate = cfg.http.tls.certificate;
  so.tls_key = cfg.http.tls.key;
  so.tls_minimum = cfg.http.tls.minimumtls;
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
