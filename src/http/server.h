#pragma once
// The HTTP/1.1 server: Asio/Beast underneath (kept out of this header), one coroutine per
// connection, keep-alive, request bodies streamed to handlers, limits and timeouts, graceful drain.
//
// Thread-safety: Start/Shutdown/Wait from one controlling thread. The event-loop threads
// (`threads`) only do socket I/O; everything that may block runs on a bounded pool of
// `blocking_threads`: the handler, BufferBody's `then`, BodySink::Write/Finish, and
// BodySource::Read for sources without a NativeFd. So the handler is called concurrently from pool
// threads, and the calls for one request may come from different pool threads, one at a time.
// ReloadTls is thread-safe and may be called from any thread once Start has returned.
//
// Blocking pool bound: while `blocking_queue` jobs wait for a pool thread, a new request is
// answered 503 (with Retry-After) without calling the handler. Work of requests already admitted
// (their body chunks, Finish, body reads) is always queued.
//
// TLS reload: ReloadTls (and SIGHUP during WaitForSignal) reads the certificate, key and client CAs
// again into a new context. New connections use it from then on; established connections keep the
// context they started with. A reload that fails changes nothing.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/noncopyable.h"
#include "http/message.h"

namespace berth::http {

struct ServerOptions {
  std::string host = "127.0.0.1";  // "" or "0.0.0.0" for all IPv4, "::" for all
  uint16_t port = 0;               // 0 picks a free port; port() tells which
  int threads = 0;                 // event loops; 0: one per core
  // Threads for blocking work (Distribution's storage `maxthreads`), started on demand. 100 as
  // Distribution's filesystem default: directory walks and large reads spend their time waiting on
  // the disk, so a pool sized to the cores would let a few slow ones queue every other request
  // again; an idle thread costs only its stack.
  int blocking_threads = 100;
  size_t blocking_queue = 1024;         // waiting jobs beyond which new requests get 503
  size_t max_header_bytes = 64 * 1024;  // larger heads get 431
  std::chrono::milliseconds header_timeout{30'000};     // to receive a complete head
  std::chrono::milliseconds idle_timeout{120'000};      // keep-alive wait between requests
  std::chrono::milliseconds body_idle_timeout{60'000};  // longest gap between body bytes
  std::chrono::milliseconds write_timeout{120'000};     // longest stall writing a response
  size_t discard_limit = 1 << 20;  // unread body bytes drained before keep-alive; more closes
  // Large transfers (streamed responses, request bodies) move through buffers of `large_buffer`
  // bytes while `large_buffer_budget` lasts, and of `small_buffer` bytes beyond it. On loopback a
  // lone 1 GiB GET ran about 8 % faster with 2 MiB than with 1 MiB (fewer syscalls and window
  // updates per GB); 8 concurrent GETs gained nothing from it, and 256 KiB was clearly slower.
  // The budget bounds what the larger buffers add to memory, whatever the number of clients.
  size_t large_buffer = 2 << 20;
  size_t large_buffer_budget = 8 << 20;
  size_t small_buffer = 1 << 20;
  bool sendfile = false;  // use sendfile for BodySource with a NativeFd (plain TCP only)
  // Plain TCP: send large bodies of BodySources with a NativeFd from read-only mappings of the file
  // instead of read() copies (less CPU per GB; see SendMapped in body_sender.h). sendfile wins if
  // both.
  bool map_files = true;
  // TLS (issue 5): PEM paths; empty = plain TCP.
  std::string tls_certificate;
  std::string tls_key;
  // CA bundles (each file may hold several certificates); non-empty = client certificates required,
  // from any of them.
  std::vector<std::string> tls_client_cas;
  std::string tls_minimum = "tls1.2";
  // TLS 1.2 suites by Go/IANA name (Distribution's http.tls.ciphersuites), e.g.
  // "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"; TLS 1.3 names set the 1.3 suites. Empty: ECDHE key
  // exchange with AES-GCM or CHACHA20-POLY1305 only. An unknown name makes Start fail naming it.
  std::vector<std::string> tls_ciphersuites;
  std::function<void(const AccessLogEntry&)> access_log;  // nullptr: no access log
  // Called on the signal thread after each SIGHUP (and TLS reload, when serving TLS) with "" or
  // the reload's error (the audit log records it and reopens its file).
  std::function<void(const std::string& error)> on_reload;
};

class Server : NonCopyable {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();

  // Binds, listens and starts the threads. Errors: kIo (address in use, bad address, TLS files,
  // unknown cipher suite).
  Status Start();
  uint16_t port() const;
  // Stops accepting; lets in-flight requests finish for up to `drain`, then closes every
  // connection. Idle keep-alive connections close at once. Returns when all threads have stopped.
  void Shutdown(std::chrono::milliseconds drain);
  // Blocks until SIGINT or SIGTERM arrives (or Shutdown is called from elsewhere); returns the
  // signal number (0 when shut down). Installs the signal handling itself. SIGHUP does not end the
  // wait: it calls ReloadTls (its failure is logged and the old certificate stays), or is logged
  // and ignored without TLS.
  int WaitForSignal();
  // Re-reads tls_certificate, tls_key and tls_client_cas into a new TLS context for new
  // connections, after checking that the key matches the certificate. Thread-safe. Errors: kIo
  // naming the file and the reason (old context kept, error also logged); kInvalidArgument when the
  // server is not serving TLS (not started, or no certificate configured).
  [[nodiscard]] Status ReloadTls();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::http
