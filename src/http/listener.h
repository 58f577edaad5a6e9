#pragma once
// Internal to http/: the listening socket. OpenListener resolves, binds and listens; AcceptLoop
// accepts until the acceptor is closed (Server::Shutdown closes it on worker 0) and deals the
// sockets round-robin over the workers.
//
// Thread-safety: AcceptLoop runs on worker 0; the acceptor is touched only there once serving.

#include <cstdint>

#include "common/error.h"
#include "http/core.h"
#include "http/io.h"

namespace berth::http {

// Opens `acceptor` listening on options.host:options.port. Returns the bound port.
// Errors: kIo naming the address (cannot resolve, in use, bad address).
Result<uint16_t> OpenListener(const ServerOptions& options, Acceptor& acceptor);

Task<void> AcceptLoop(Core& core, Acceptor& acceptor);

}  // namespace berth::http
