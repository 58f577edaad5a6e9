#pragma once
// Internal to http/: one accepted connection, served by its own coroutine on one worker for its
// whole life: an optional TLS handshake, then a keep-alive loop of request head -> handler -> body
// -> response, bounded by the timeouts of ServerOptions.
//
// Thread-safety: SpawnConnection may be called from any thread (the acceptor calls it on worker
// 0); the connection then runs only on `worker`'s thread.

#include "http/core.h"
#include "http/io.h"

namespace berth::http {

// Starts serving `socket` on `worker`; the connection counts itself in core.live (already
// incremented by the caller) until it ends. `tls` chooses a TLS connection using
// core.CurrentTls().
void SpawnConnection(Core& core, Worker& worker, Socket socket, bool tls);

}  // namespace berth::http
