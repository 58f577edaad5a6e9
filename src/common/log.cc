#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace berth::log {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when the byte does not start one.
size_t Utf8Length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  uint32_t cp = n == 1 ? c : c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
  // C1 controls (U+0080..U+009F) are escaped like C0 ones.
  if (cp >= 0x80 && cp <= 0x9f) return 0;
  return n;
}

void AppendHex(std::string& out, const char* prefix, unsigned value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += prefix;
  for (int d = digits - 1; d >= 0; --d) out += kHex[(value >> (4 * d)) & 0xf];
}

// The escapes both formats share; `json` selects \u00XX and U+FFFD over Go's \xXX.
void AppendEscaped(std::string& out, std::string_view s, bool json) {
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (u < 0x20 || u == 0x7f) {
      AppendHex(out, json ? "\\u" : "\\x", u, json ? 4 : 2);
      ++i;
      continue;
    }
    size_t n = Utf8Length(s, i);
    if (n == 0) {
      if (json) {
        out += "\\ufffd";
      } else {
        AppendHex(out, "\\x", u, 2);
      }
      ++i;
      continue;
    }
    // U+2028/U+2029 end lines in some readers; escape them too.
    if (n == 3 && u == 0xe2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xfe) == 0xa8) {
      AppendHex(out, "\\u", 0x2028 + (static_cast<unsigned char>(s[i + 2]) & 1), 4);
      i += 3;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
}

bool IsBareTextChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._/@:+").find(c) != std::string_view::npos;
}

std::string_view LevelName(spdlog::level::level_enum level) {
  // Logrus's names, indexed by spdlog's levels (trace .. critical).
  constexpr std::string_view kNames[] = {"trace", "debug", "info", "warning", "error", "fatal"};
  const auto i = static_cast<size_t>(level);
  return i < std::size(kNames) ? kNames[i] : "info";
}

std::string Timestamp(spdlog::log_clock::time_point t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(micros));
  return buf;
}

// Per-line fields of the Entry being written on this thread (the logger is synchronous, so the
// formatter runs on the caller's thread while Entry holds them).
thread_local const Fields* tls_fields = nullptr;

class Formatter : public spdlog::formatter {
 public:
  Formatter(Format format, std::map<std::string, std::string> fields)
      : format_(format), fields_(std::move(fields)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    std::string line;
    line.reserve(text.size() + 96);
    if (format_ == Format::kText) {
      line += "time=\"" + Timestamp(msg.time) + "\" level=";
      line += LevelName(msg.level);
      line += " msg=";
      AppendQuoted(line, text);
      ForEachField([&](std::string_view k, std::string_view v) {
        line += ' ';
        line += TextKey(k);
        line += '=';
        line += TextValue(v);
      });
    } else {
      bool logstash = format_ == Format::kLogstash;
      line += logstash ? "{\"@timestamp\":\"" : "{\"time\":\"";
      line += Timestamp(msg.time) + "\"";
      if (logstash) line += ",\"@version\":\"1\"";
      line += ",\"level\":\"";
      line += LevelName(msg.level);
      line += logstash ? "\",\"message\":" : "\",\"msg\":";
      line += JsonString(text);
      ForEachField([&](std::string_view k, std::string_view v) {
        line += ',' + JsonString(k) + ':' + JsonString(v);
      });
      line += '}';
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<Formatter>(format_, fields_);
  }

 private:
  template <typename F>
  void ForEachField(F f) const {
    if (tls_fields != nullptr) {
      for (const auto& [k, v] : *tls_fields) f(k, v);
    }
    for (const auto& [k, v] : fields_) f(k, v);
  }
  static void AppendQuoted(std::string& out, std::string_view s) {
    out += '"';
    AppendEscaped(out, s, /*json=*/false);
    out += '"';
  }
  // Keys come from the config; still, a key must never break the line or the k=v shape.
  static std::string TextKey(std::string_view k) {
    std::string out;
    for (char c : k) out += IsBareTextChar(c) ? c : '_';
    return out.empty() ? "_" : out;
  }

  const Format format_;
  const std::map<std::string, std::string> fields_;
};

spdlog::level::level_enum ParseLevel(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "warn" || level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "trace") return spdlog::level::trace;
  return spdlog::level::info;
}

}  // namespace

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  AppendEscaped(out, s, /*json=*/true);
  out += '"';
  return out;
}

std::string TextValue(std::string_view s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), IsBareTextChar)) return std::string(s);
  std::string out = "\"";
  AppendEscaped(out, s, /*json=*/false);
  out += '"';
  return out;
}

std::shared_ptr<spdlog::logger> MakeLogger(const Options& options, spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("berth", std::move(sink));
  logger->set_formatter(std::make_unique<Formatter>(options.format, options.fields));
  logger->set_level(ParseLevel(options.level));
  return logger;
}

void Configure(const Options& options) {
  spdlog::set_default_logger(
      MakeLogger(options, std::make_shared<spdlog::sinks::stderr_sink_mt>()));
}

void Entry(spdlog::level::level_enum level, std::string_view message, const Fields& fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  const Fields* saved = tls_fields;
  tls_fields = &fields;
  logger->log(level, "{}", message);
  tls_fields = saved;
}

void Announce(std::string_view message) {
  auto logger = spdlog::default_logger_raw();
  spdlog::details::log_msg msg(logger->name(), spdlog::level::info,
                               spdlog::string_view_t(message.data(), message.size()));
  // The sinks share the logger's formatter, so the line looks like every other one.
  for (auto& sink : logger->sinks()) sink->log(msg);
}

}  // namespace berth::log
