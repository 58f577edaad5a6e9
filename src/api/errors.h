#pragma once
// The one error writer: turns an Error into the OCI envelope
//   {"errors":[{"code":"BLOB_UNKNOWN","message":"...","detail":...}]}
// with the table's status (common/error.h). Internal codes become 500 UNKNOWN (the message is
// logged, and a generic one is sent). HEAD replies carry the status and headers only. Thread-safe.

#include <atomic>
#include <cstdint>

#include "common/error.h"
#include "http/message.h"

namespace berth::api {

http::Response ErrorResponse(const Error& error, bool head_request);
// Internal errors that reached the writer (for the metrics endpoint later).
uint64_t InternalErrorCount();

}  // namespace berth::api
