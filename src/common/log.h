#pragma once
// The process-wide logger (the one global, by convention). spdlog underneath; configured once at
// start-up by the CLI from `log.level`, `log.formatter` and `log.fields`.
//
// Formats, one record per line whatever the message holds (every byte an attacker may control,
// such as a repository name, a user name, a user agent or a path, is escaped in every format, so a
// CR or LF can never start a forged line):
//   text      time="2006-01-02T15:04:05.000000Z" level=info msg="..." key=value key="two words"
//             (logrus' text layout: a value is quoted, Go-%q style, when it is empty or holds
//             anything but letters, digits and -._/@:+; inside quotes `"` and `\` are escaped and
//             control characters and bytes that are not UTF-8 become \n, \r, \t, \x1b, ...)
//   json      {"time":"...","level":"info","msg":"...","key":"value"}
//   logstash  {"@timestamp":"...","@version":"1","level":"info","message":"...","key":"value"}
//             (JSON strings are escaped per RFC 8259; bytes that are not UTF-8 become U+FFFD)
// Levels are logrus' names: debug, info, warning, error, fatal (spdlog's critical). `fields` (the
// config's log.fields) go on every line, after the per-line fields of Entry.
//
// Thread-safety: Configure once before serving; logging is thread-safe.
#include <spdlog/spdlog.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::log {

enum class Format { kText, kJson, kLogstash };

struct Options {
  std::string level = "info";  // error|warn|info|debug (warning and trace also accepted)
  Format format = Format::kText;
  std::map<std::string, std::string> fields;
};

using Fields = std::vector<std::pair<std::string_view, std::string>>;

// A logger writing to `sink` in the given format and level (tests pass an ostream sink).
std::shared_ptr<spdlog::logger> MakeLogger(const Options& options, spdlog::sink_ptr sink);
// Installs MakeLogger(options, stderr) as the default logger.
void Configure(const Options& options);

// One line at `level` with `message` and extra key/value fields (the access log uses them, so a
// JSON reader gets the method, status, ... as separate keys).
void Entry(spdlog::level::level_enum level, std::string_view message, const Fields& fields);

// `message` at info level whatever the configured level: the one start-up line saying what is in
// force (scripts read the listening port from it, and an operator should always see it).
void Announce(std::string_view message);

// Escaping, exposed for tests and for callers that build their own text.
std::string JsonString(std::string_view s);  // "..." with RFC 8259 escapes
std::string TextValue(std::string_view s);   // bare when safe, else "..." Go-%q style

}  // namespace berth::log
