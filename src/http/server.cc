#include "http/server.h"

// Server: start-up, shutdown, signals and TLS reload. The pieces live beside it, one concept each:
// listener (bind/accept), connection (the per-connection coroutine), request_parser (head parsing
// and validation), body_receiver / body_sender (request and response bodies), response_head (the
// wire form of a response), tls (context and cipher policy). Only src/http sees Asio and Beast.

#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <mutex>
#include <optional>

#include "common/log.h"
#include "http/core.h"
#include "http/listener.h"
#include "http/tls.h"

namespace berth::http {

struct Server::Impl {
  Impl(ServerOptions o, Handler h) : core(std::move(o), std::move(h)) {}

  Core core;
  std::optional<Acceptor> acceptor;
  uint16_t port = 0;
  bool started = false;
  bool shut_down = false;
  // Guards signal_ioc and shutdown_requested, shared with WaitForSignal.
  std::mutex signal_mu;
  asio::io_context* signal_ioc = nullptr;
  bool shutdown_requested = false;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  if (impl_->started && !impl_->shut_down) Shutdown(std::chrono::milliseconds(0));
}

Status Server::Start() {
  Impl& s = *impl_;
  Core& core = s.core;
  const ServerOptions& o = core.options;
  if (s.started) return MakeError(ErrorCode::kInvalidArgument, "server already started");
  if (!core.handler) return MakeError(ErrorCode::kInvalidArgument, "server has no handler");

  if (!o.tls_certificate.empty() || !o.tls_key.empty()) {
    Result<std::shared_ptr<asio::ssl::context>> tls = BuildTlsContext(o);
    if (!tls) return std::unexpected(std::move(tls).error());
    core.SetTls(std::move(*tls));
    core.tls_enabled = true;
  }

  core.pool = std::make_unique<BlockingPool>(static_cast<size_t>(std::max(o.blocking_threads, 1)),
                                             o.blocking_queue);
  int threads = o.threads > 0 ? o.threads : UsableCores();
  if (threads <= 0) threads = 1;
  core.workers.clear();
  for (int i = 0; i < threads; ++i) core.workers.push_back(std::make_unique<Worker>());

  Acceptor& acceptor = s.acceptor.emplace(core.workers[0]->ioc.get_executor());
  Result<uint16_t> port = OpenListener(o, acceptor);
  if (!port) return std::unexpected(std::move(port).error());
  s.port = *port;

  if (o.sendfile) {
    // sendfile(2) has no MSG_NOSIGNAL: a peer that hangs up would kill the process with SIGPIPE.
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  }

  asio::co_spawn(core.workers[0]->ioc.get_executor(), AcceptLoop(core, acceptor),
                 [](std::exception_ptr e) {
                   if (e) spdlog::error("http: accept loop ended by an exception");
                 });
  for (auto& w : core.workers) {
    w->guard.emplace(w->ioc.get_executor());
    Worker* worker = w.get();
    w->thread = std::thread([worker] {
      for (;;) {
        try {
          worker->ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: worker caught exception: {}", e.what());
        }
      }
    });
  }
  s.started = true;
  return Ok();
}

uint16_t Server::port() const { return impl_->port; }

void Server::Shutdown(std::chrono::milliseconds drain) {
  Impl& s = *impl_;
  Core& core = s.core;
  {
    std::lock_guard lock(s.signal_mu);
    s.shutdown_requested = true;
    if (s.signal_ioc) s.signal_ioc->stop();
  }
  if (!s.started || s.shut_down) return;
  s.shut_down = true;
  core.stopping.store(true);

  asio::post(core.workers[0]->ioc, [&s] {
    ErrorCodeT ec;
    s.acceptor->close(ec);
  });
  for (auto& w : core.workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc, [worker] { worker->ForEach([](ConnectionBase* c) { c->Drain(); }); });
  }
  {
    std::unique_lock lock(core.mu);
    core.cv.wait_for(lock, drain, [&] { return core.live.load() == 0; });
  }
  for (auto& w : core.workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc,
               [worker] { worker->ForEach([](ConnectionBase* c) { c->ForceClose(); }); });
  }
  {
    // Closed sockets end their coroutines at once unless a handler is blocked; bound that wait.
    std::unique_lock lock(core.mu);
    core.cv.wait_for(lock, std::chrono::seconds(5), [&] { return core.live.load() == 0; });
  }
  // Jobs still queued or running finish and post their completions to loops that are still there;
  // nothing can queue more once every connection has ended (or been given up on).
  core.pool->Stop();
  for (auto& w : core.workers) w->guard.reset();
  for (auto& w : core.workers) {
    if (core.live.load() != 0) w->ioc.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  s.acceptor.reset();
  // Destroying the contexts here, on the controlling thread, destroys any coroutine that never
  // finished (sinks get their Finish from SinkGuard).
  core.workers.clear();
}

Status Server::ReloadTls() {
  Core& core = impl_->core;
  if (!core.tls_enabled) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot reload TLS: the server is not serving TLS");
  }
  std::lock_guard lock(core.reload_mu);
  Result<std::shared_ptr<asio::ssl::context>> tls = BuildTlsContext(core.options);
  if (!tls) {
    spdlog::error("http: TLS reload failed, still serving the previous certificate: {}",
                  tls.error().message);
    return std::unexpected(std::move(tls).error());
  }
  core.SetTls(std::move(*tls));
  spdlog::info("http: reloaded TLS certificate {} and key {}", core.options.tls_certificate,
               core.options.tls_key);
  return Ok();
}

int Server::WaitForSignal() {
  Impl& s = *impl_;
  asio::io_context ioc(1);
  asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
  int received = 0;
  // SIGHUP reloads and keeps waiting; the other two end the wait.
  std::function<void()> arm = [&] {
    signals.async_wait([&](const ErrorCodeT& ec, int signal_number) {
      if (ec) return;
      if (signal_number != SIGHUP) {
        received = signal_number;
        return;
      }
      Status reloaded = Ok();
      if (s.core.tls_enabled) {
        reloaded = ReloadTls();  // logs its own outcome; the old certificate stays on failure
      } else {
        spdlog::info("http: SIGHUP ignored: the server is not serving TLS");
      }
      if (s.core.options.on_reload) {
        s.core.options.on_reload(reloaded ? "" : reloaded.error().message);
      }
      arm();
    });
  };
  arm();
  {
    std::lock_guard lock(s.signal_mu);
    if (s.shutdown_requested) return 0;
    s.signal_ioc = &ioc;
  }
  ioc.run();
  {
    std::lock_guard lock(s.signal_mu);
    s.signal_ioc = nullptr;
  }
  return received;
}

}  // namespace berth::http
