#pragma once
// Internal to http/: the server's TLS context, built from ServerOptions by Start and by every
// reload, so that both accept and refuse exactly the same files and settings.
//
// Thread-safety: BuildTlsContext may run on any thread; the context it returns is shared read-only
// by the connections that handshake with it.

#include <memory>

#include "common/error.h"
#include "http/io.h"
#include "http/server.h"

namespace berth::http {

// Reads the certificate chain, key and client CAs named in `o` into a fresh context.
// Errors: kIo naming the file or setting and the reason.
Result<std::shared_ptr<asio::ssl::context>> BuildTlsContext(const ServerOptions& o);

}  // namespace berth::http
