#pragma once
// Internal to http/: the Asio/Beast vocabulary shared by the server's translation units. Never
// included by headers outside src/http (server.h and message.h stay free of Asio and Beast).
//
// Strongly typed executors avoid any_io_executor's type erasure on every operation; errors come
// back as values (kUse), so nothing on the request path throws.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/wait_traits.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCodeT = boost::system::error_code;

using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;
using TlsStream = asio::ssl::stream<Socket>;
template <class T>
using Task = asio::awaitable<T, Executor>;
inline constexpr asio::as_tuple_t<asio::use_awaitable_t<Executor>> kUse{};

inline constexpr Clock::time_point kNever = Clock::time_point::max();

}  // namespace berth::http
