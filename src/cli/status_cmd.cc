// `berth status` asks a running registry how it is (GET /debug/status on the debug address) and
// prints a summary; `berth healthcheck` is the container/systemd probe: exit 0 when the registry
// answers and says it is healthy, 1 otherwise, one line either way.
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "client/http.h"

namespace berth::cli {
namespace {

constexpr const char* kDefaultStatusUrl = "http://127.0.0.1:5001";
constexpr const char* kStatusPath = "/debug/status";

// A listen address (":5001", "0.0.0.0:5001", "[::]:5001", "10.0.0.2:5001") as the host to dial
// from this machine: an unspecified host means "this machine", so loopback.
Result<std::string> DialHostPort(const std::string& addr) {
  auto hp = config::SplitHostPort(addr);
  if (!hp) return std::unexpected(hp.error());
  std::string host = hp->first;
  if (host.empty() || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(hp->second);
}

// The status URL: --url (a base such as http://h:5001/ gets /debug/status appended), else the
// config's http.debug.addr, else the default.
Result<client::Url> StatusUrl(const std::string& url_arg, const std::string& config_arg) {
  std::string text = url_arg;
  if (text.empty() && !config_arg.empty()) {
    auto loaded = LoadCommandConfig(config_arg);
    if (!loaded) {
      return MakeError(ErrorCode::kInvalidArgument, config_arg + ": " + loaded.error().message +
                                                        " (check it with 'berth config check " +
                                                        config_arg + "')");
    }
    const std::string& debug = loaded->config.http.debug_addr;
    if (debug.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       config_arg +
                           " sets no http.debug.addr, and the status is served on the debug "
                           "address: add\n  http:\n    debug:\n      addr: 127.0.0.1:5001\n"
                           "to it (and restart Berth), or give --url");
    }
    auto hp = DialHostPort(debug);
    if (!hp) return std::unexpected(hp.error());
    text = "http://" + *hp;
  }
  if (text.empty()) text = kDefaultStatusUrl;
  if (text.find("://") == std::string::npos) {
    text = "http://" + text;
  } else if (!text.starts_with("http://") && !text.starts_with("https://")) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--url " + text + ": only http:// and https:// are supported");
  }
  auto url = client::Url::Parse(text);
  if (!url) {
    return MakeError(ErrorCode::kInvalidArgument, "--url " + text + ": " + url.error().message);
  }
  if (url->target.find('?') != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "--url " + text + ": give no query");
  }
  if (!url->target.ends_with(kStatusPath)) {
    while (url->target.ends_with("/")) url->target.pop_back();
    url->target += kStatusPath;
  }
  return url;
}

struct Reply {
  int status = 0;
  std::string body;
};

// One GET with the whole exchange bounded by `timeout` per step, the body by 1 MiB. `verify`
// false only for the probe of our own listener (its certificate names the public host).
Result<Reply> Fetch(const client::Url& url, double timeout, bool verify = true) {
  client::ClientOptions o;
  o.connect_timeout = o.read_timeout =
      std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
  o.tls_verify = verify;
  o.max_redirects = 0;
  o.user_agent = "berth-cli";
  client::HttpClient c(o);
  client::Request req;
  req.url = url.str();
  req.headers.Add("Accept", "application/json");
  auto res = c.Send(std::move(req));
  if (!res) return std::unexpected(res.error());
  auto body = (*res)->ReadAll(1 << 20);
  if (!body) return std::unexpected(body.error());
  return Reply{(*res)->status, std::move(*body)};
}

std::string Uptime(double seconds) {
  long long s = static_cast<long long>(seconds);
  char buf[64];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%lldd %lldh %02lldm", s / 86400, s / 3600 % 24, s / 60 % 60);
  } else if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", s / 3600, s / 60 % 60, s % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm %02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", s);
  }
  return buf;
}

template <typename T>
T Get(const nlohmann::json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return fallback;
  }
}

// Prints the readable summary; returns whether the registry says it is healthy.
bool PrintSummary(const nlohmann::json& j, const std::string& where, std::ostream& out) {
  bool healthy = Get<bool>(j, "healthy", false);
  out << "Berth " << Get<std::string>(j, "version", "(unknown version)") << " at " << where << ": "
      << (healthy ? "healthy" : "UNHEALTHY") << "\n";
  std::string started = Get<std::string>(j, "started_at", "");
  double up = Get<double>(j, "uptime_seconds", -1);
  if (!started.empty() || up >= 0) {
    out << "  started   " << (started.empty() ? "?" : started);
    if (up >= 0) out << " (up " << Uptime(up) << ")";
    out << "\n";
  }
  if (auto s = j.find("storage"); s != j.end() && s->is_object()) {
    out << "  storage   " << Get<std::string>(*s, "driver", "?");
    if (std::string root = Get<std::string>(*s, "root", ""); !root.empty()) out << " " << root;
    auto bytes = [&](const char* key) -> std::string {
      auto it = s->find(key);
      if (it == s->end() || !it->is_number_unsigned()) return "";
      return Progress::FormatBytes(it->get<uint64_t>());
    };
    std::string used = bytes("used_bytes"), free = bytes("free_bytes");
    if (!used.empty()) out << ": " << used << " used";
    if (!free.empty()) out << (used.empty() ? ": " : ", ") << free << " free";
    out << "\n";
  }
  if (auto c = j.find("checks"); c != j.end() && c->is_array() && !c->empty()) {
    bool first = true;
    for (const auto& check : *c) {
      if (!check.is_object()) continue;
      out << (first ? "  checks    " : "            ")
          << (Get<bool>(check, "ok", false) ? "ok   " : "FAIL ")
          << Get<std::string>(check, "name", "?");
      if (std::string m = Get<std::string>(check, "message", ""); !m.empty()) out << ": " << m;
      out << "\n";
      first = false;
    }
  }
  return healthy;
}

struct StatusArgs {
  std::string url, config;
  bool json = false, quiet = false;
  double timeout = 5;
};

int Status(const StatusArgs& a) {
  auto url = StatusUrl(a.url, a.config);
  if (!url) {
    if (!a.quiet) std::cerr << "berth status: " << url.error().message << "\n";
    return 2;
  }
  const std::string where = url->str();
  auto reply = Fetch(*url, a.timeout);
  if (!reply) {
    if (!a.quiet) {
      std::cerr << "berth status: cannot reach " << reply.error().message << "\n"
                << "  Is Berth running, with http.debug.addr set in its config? Point at its debug "
                   "address with --url http://HOST:PORT or -c CONFIG.\n";
    }
    return 1;
  }
  if (reply->status == 404) {
    if (!a.quiet) {
      std::cerr << "berth status: " << where
                << " answered 404: there is no status endpoint there.\n"
                << "  --url must be Berth's debug address (http.debug.addr, e.g. "
                   "http://127.0.0.1:5001), not the registry's own port.\n";
    }
    return 1;
  }
  nlohmann::json j = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  // 503 with the status document is how an unhealthy registry answers; anything else is not ours.
  if ((reply->status != 200 && reply->status != 503) || !j.is_object() || !j.contains("healthy")) {
    if (!a.quiet) {
      std::string excerpt = reply->body.substr(0, 200);
      std::cerr << "berth status: " << where << " answered " << reply->status
                << " without a status document" << (excerpt.empty() ? "" : ": " + excerpt) << "\n"
                << "  Is this Berth's debug address (http.debug.addr)?\n";
    }
    return 1;
  }
  bool healthy = Get<bool>(j, "healthy", false);
  if (a.quiet) return healthy ? 0 : 1;
  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    PrintSummary(j, where, std::cout);
  }
  return healthy ? 0 : 1;
}

// The probe: the debug status when the config has a debug address that serves it, else the
// registry's own /v2/ on loopback (200 or 401 means it is serving).
int Healthcheck(const std::string& config_arg, double timeout) {
  auto loaded = LoadCommandConfig(config_arg);
  if (!loaded) {
    std::cerr << "unhealthy: configuration error: " << loaded.error().message << "\n";
    return 1;
  }
  const config::Config& cfg = loaded->config;
  if (!cfg.http.debug_addr.empty()) {
    auto hp = DialHostPort(cfg.http.debug_addr);
    auto url = hp ? client::Url::Parse("http://" + *hp + kStatusPath)
                  : Result<client::Url>(std::unexpected(hp.error()));
    if (url) {
      auto reply = Fetch(*url, timeout);
      if (reply && (reply->status == 200 || reply->status == 503)) {
        nlohmann::json j = nlohmann::json::parse(reply->body, nullptr, false);
        if (j.is_object() && j.contains("healthy")) {
          bool healthy = Get<bool>(j, "healthy", false);
          std::cout << (healthy ? "healthy" : "unhealthy") << ": " << url->str() << "\n";
          if (!healthy && j.contains("checks") && j["checks"].is_array()) {
            for (const auto& c : j["checks"]) {
              if (c.is_object() && !Get<bool>(c, "ok", true)) {
                std::cout << "  " << Get<std::string>(c, "name", "?") << ": "
                          << Get<std::string>(c, "message", "") << "\n";
              }
            }
          }
          return healthy ? 0 : 1;
        }
      }
      // No status endpoint there (a Berth without it, or not started yet): ask the registry.
    }
  }
  if (cfg.http.net == "unix") {
    std::cout << "healthy: not checked (http.net is unix)\n";
    return 0;
  }
  auto hp = DialHostPort(cfg.http.addr);
  if (!hp) {
    std::cerr << "unhealthy: http.addr " << cfg.http.addr << ": " << hp.error().message << "\n";
    return 1;
  }
  std::string scheme = cfg.http.tls.certificate.empty() ? "http" : "https";
  std::string prefix = cfg.http.prefix.empty() ? "/" : cfg.http.prefix;
  auto url = client::Url::Parse(scheme + "://" + *hp + prefix + "v2/");
  if (!url) {
    std::cerr << "unhealthy: " << url.error().message << "\n";
    return 1;
  }
  auto reply = Fetch(*url, timeout, /*verify=*/false);
  if (!reply) {
    std::cout << "unhealthy: cannot reach " << reply.error().message << "\n";
    return 1;
  }
  bool ok = reply->status == 200 || reply->status == 401;
  std::cout << (ok ? "healthy" : "unhealthy") << ": GET " << url->str() << " answered "
            << reply->status << "\n";
  return ok ? 0 : 1;
}

}  // namespace

void AddStatusCommands(CLI::App& cli, CommandResult& result) {
  auto a = std::make_shared<StatusArgs>();
  auto* status = cli.add_subcommand(
      "status", "Ask a running Berth for its health, version, uptime and storage use");
  status->add_option("--url", a->url,
                     "Berth's debug address (http.debug.addr); /debug/status is appended "
                     "(default: from -c CONFIG, else http://127.0.0.1:5001)");
  status->add_option("-c,--config", a->config, "read the debug address from this config file");
  status->add_flag("--json", a->json, "print the status document as JSON");
  status->add_flag("-q,--quiet", a->quiet,
                   "print nothing; the exit code says healthy (0) or not (1)");
  status->add_option("--timeout", a->timeout, "seconds to wait for the answer")
      ->check(CLI::Range(0.1, 600.0));
  SetExamples(status, {"berth status                                # http://127.0.0.1:5001",
                       "berth status -c /etc/berth/config.yml       # its http.debug.addr",
                       "berth status --url http://10.0.0.5:5001 --json",
                       "berth status --quiet && echo up             # exit 0 when healthy"});
  status->callback([&result, a] { result.code = Status(*a); });

  auto hc_config = std::make_shared<std::string>();
  auto hc_timeout = std::make_shared<double>(5);
  auto* hc = cli.add_subcommand(
      "healthcheck",
      "Probe the registry on this machine: exit 0 when it serves and is healthy (HEALTHCHECK)");
  hc->add_option("-c,--config", *hc_config,
                 "the config Berth runs with (default: $REGISTRY_CONFIG_PATH, else the embedded "
                 "defaults)");
  hc->add_option("--timeout", *hc_timeout, "seconds to wait for the answer")
      ->check(CLI::Range(0.1, 600.0));
  SetExamples(hc, {"berth healthcheck -c /etc/berth/config.yml",
                   "HEALTHCHECK CMD [\"/usr/bin/berth\", \"healthcheck\"]   # in a Containerfile"});
  hc->callback(
      [&result, hc_config, hc_timeout] { result.code = Healthcheck(*hc_config, *hc_timeout); });
}

}  // namespace berth::cli
