#include "observe/debug_server.h"

#include <sys/statvfs.h>

#include <nlohmann/json.hpp>

#include "common/version.h"
#include "health/checker.h"
#include "http/server.h"
#include "metrics/registry.h"

namespace berth::observe {
namespace {

http::Response Text(int status, std::string body, std::string_view type = "text/plain") {
  http::Response r;
  r.status = status;
  r.headers.Add("Content-Type", std::string(type));
  r.body = std::move(body);
  return r;
}

http::Response Json(int status, const nlohmann::json& j) {
  return Text(status, j.dump() + "\n", "application/json");
}

nlohmann::json StatusJson(const DebugServerOptions& o) {
  auto now = std::chrono::system_clock::now();
  nlohmann::json j;
  j["version"] = std::string(kVersion);
  j["started_at"] = FormatRfc3339(o.started_at);
  j["uptime_seconds"] = std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::seconds>(now - o.started_at).count());
  j["healthy"] = o.checker ? o.checker->Healthy() : true;
  j["checks"] = nlohmann::json::array();
  if (o.checker) {
    for (const health::CheckState& s : o.checker->States()) {
      j["checks"].push_back({{"name", s.name}, {"ok", s.ok}, {"message", s.message}});
    }
  }
  nlohmann::json storage = {{"driver", o.driver}};
  if (!o.root.empty()) {
    storage["root"] = o.root;
    struct statvfs vfs {};
    if (::statvfs(o.root.c_str(), &vfs) == 0) {
      storage["used_bytes"] =
          static_cast<uint64_t>(vfs.f_blocks - vfs.f_bfree) * static_cast<uint64_t>(vfs.f_frsize);
      storage["free_bytes"] = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    }
  }
  j["storage"] = std::move(storage);
  return j;
}

http::Response Serve(const DebugServerOptions& o, const http::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    http::Response r = Text(405, "method not allowed\n");
    r.headers.Add("Allow", "GET, HEAD");
    return r;
  }
  const std::string& path = req.path;
  if (o.prometheus && o.metrics && path == o.prometheus_path) {
    return Text(200, o.metrics->Expose(), metrics::Registry::kContentType);
  }
  if (path == "/debug/health") {
    bool healthy = !o.checker || o.checker->Healthy();
    return Text(healthy ? 200 : 503, o.checker ? o.checker->FailuresJson() : "{}",
                "application/json; charset=utf-8");
  }
  if (path == "/livez") return Text(200, "ok\n");
  if (path == "/readyz") {
    bool ready = !o.checker || o.checker->Ready("storagedriver");
    return Text(ready ? 200 : 503, ready ? "ok\n" : "not ready\n");
  }
  if (path == "/debug/status") return Json(200, StatusJson(o));
  return Text(404, "not found\n");
}

}  // namespace

struct DebugServer::Impl {
  DebugServerOptions options;
  std::unique_ptr<http::Server> server;
};

DebugServer::DebugServer(DebugServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  http::ServerOptions so;
  so.host = impl_->options.host;
  so.port = impl_->options.port;
  so.threads = 1;  // scrapes and probes: one loop is plenty
  so.blocking_threads = 4;
  so.blocking_queue = 64;
  const DebugServerOptions* o = &impl_->options;
  impl_->server = std::make_unique<http::Server>(
      std::move(so), [o](http::Request& req) { return http::Dispatch::Respond(Serve(*o, req)); });
}

DebugServer::~DebugServer() { Shutdown(std::chrono::milliseconds(0)); }

Status DebugServer::Start() { return impl_->server->Start(); }
uint16_t DebugServer::port() const { return impl_->server->port(); }
void DebugServer::Shutdown(std::chrono::milliseconds drain) {
  if (impl_->server) impl_->server->Shutdown(drain);
}

}  // namespace berth::observe
