#include "http/listener.h"

#include <boost/asio/ip/v6_only.hpp>
#include <string>

#include "common/log.h"
#include "http/connection.h"

namespace berth::http {

Result<uint16_t> OpenListener(const ServerOptions& o, Acceptor& acceptor) {
  std::string where = (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" +
                      std::to_string(o.port);
  ErrorCodeT ec;
  tcp::endpoint endpoint;
  if (o.host.empty()) {
    endpoint = tcp::endpoint(asio::ip::address_v4::any(), o.port);
  } else {
    asio::ip::address address = asio::ip::make_address(o.host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, o.port);
    } else {
      asio::io_context resolver_ioc;
      tcp::resolver resolver(resolver_ioc);
      auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
      if (ec || results.empty()) {
        return MakeError(ErrorCode::kIo, "cannot resolve listen address " + where + ": " +
                                             (ec ? ec.message() : "no addresses"));
      }
      endpoint = results.begin()->endpoint();
    }
  }

  auto fail = [&](std::string_view what) {
    ErrorCodeT ignored;
    acceptor.close(ignored);
    return MakeError(ErrorCode::kIo,
                     "cannot " + std::string(what) + " on " + where + ": " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR");
  if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    // "::" means every address, IPv4 included, whatever the system default for v6only is.
    acceptor.set_option(asio::ip::v6_only(false), ec);
  }
  acceptor.bind(endpoint, ec);
  if (ec) return fail("listen");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  uint16_t port = acceptor.local_endpoint(ec).port();
  return port;
}

Task<void> AcceptLoop(Core& core, Acceptor& acceptor) {
  size_t next = 0;
  Timer backoff(core.workers[0]->ioc.get_executor());
  for (;;) {
    Worker& worker = *core.workers[next];
    next = (next + 1) % core.workers.size();
    auto [ec, socket] = co_await acceptor.async_accept(worker.ioc.get_executor(), kUse);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Typically EMFILE: back off rather than spin on a listening socket that stays readable.
      spdlog::warn("http: accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kUse);
      continue;
    }
    if (core.stopping.load()) continue;  // the socket closes as it goes out of scope
    core.live.fetch_add(1, std::memory_order_relaxed);
    SpawnConnection(core, worker, std::move(socket), core.tls_enabled);
  }
}

}  // namespace berth::http
