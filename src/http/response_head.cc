#include "http/response_head.h"

#include <boost/beast/http/status.hpp>
#include <cstdio>
#include <ctime>

#include "common/log.h"
#include "common/strings.h"

namespace berth::http {
namespace {

bool ContainsLineBreak(std::string_view s) {
  // Not find_first_of: libstdc++ runs a memchr per character for it, which showed in profiles.
  for (char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

}  // namespace

std::string_view DateHeader() {
  // Formatting a date per response is measurable at high request rates; one per second per thread.
  thread_local time_t cached = -1;
  thread_local char text[64];
  thread_local size_t length = 0;
  time_t now = time(nullptr);
  if (now != cached) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm t;
    gmtime_r(&now, &t);
    int n = snprintf(text, sizeof(text), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                     kDays[t.tm_wday % 7], t.tm_mday, kMonths[t.tm_mon % 12], t.tm_year + 1900,
                     t.tm_hour, t.tm_min, t.tm_sec);
    length = n > 0 ? static_cast<size_t>(n) : 0;
    cached = now;
  }
  return {text, length};
}

bool HasToken(std::string_view list, std::string_view token) {
  for (std::string_view part : Split(list, ',')) {
    if (IEquals(Trim(part), token)) return true;
  }
  return false;
}

Response TextResponse(int status, std::string_view text) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "text/plain; charset=utf-8");
  r.body = std::string(text);
  r.body += '\n';
  return r;
}

Response InternalError(std::string note) {
  Response r = TextResponse(500, "internal server error");
  r.log_note = std::move(note);
  return r;
}

void BuildResponseHead(std::string& out, const Response& r, int status,
                       std::optional<uint64_t> length, bool keep_alive, int version) {
  namespace bhttp = boost::beast::http;
  out.clear();
  out += "HTTP/1.1 ";
  AppendNumber(out, static_cast<uint64_t>(status));
  out += ' ';
  boost::beast::string_view reason = bhttp::obsolete_reason(bhttp::int_to_status(status));
  if (bhttp::int_to_status(status) == bhttp::status::unknown) reason = "Status";
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& [name, value] : r.headers.items()) {
    // Framing headers are ours alone: a second or stale Content-Length would desynchronise the
    // client, and Connection must agree with what the server actually does.
    if (IEquals(name, "Content-Length") || IEquals(name, "Connection") ||
        IEquals(name, "Transfer-Encoding")) {
      continue;
    }
    if (ContainsLineBreak(name) || ContainsLineBreak(value)) {
      spdlog::warn("http: dropped response header \"{}\" with a line break", name);
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (length) {
    out += "Content-Length: ";
    AppendNumber(out, *length);
    out += "\r\n";
  }
  out += DateHeader();
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version < 11) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

}  // namespace berth::http
