#pragma once
// Berth's configuration: Distribution's config.yml format (version 0.1) plus Berth's own keys, as
// plain structs. Loading applies REGISTRY_* environment overrides to the YAML tree before decoding,
// exactly as Distribution does (REGISTRY_STORAGE_DELETE_ENABLED=true sets storage.delete.enabled).
// Unknown keys produce warnings; wrong values are errors naming the key's path ("http.draintimeout:
// not a duration: \"ten\"").
//
// Environment overrides: REGISTRY_A_B_C=value sets a.b.c, matched case-insensitively against the
// known keys; variables are applied in name order, so REGISTRY_STORAGE=filesystem (which, as in
// Distribution, replaces the whole storage section) comes before
// REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY. Values are YAML ("true" is a bool, "[a, b]" a list).
// REGISTRY_HTTP_HEADERS_X_FRAME_OPTIONS names the header X-Frame-Options (the remaining words
// joined with '-', canonicalised as Go's http.CanonicalHeaderKey). REGISTRY_CONFIG_PATH is the
// CLI's and is skipped; other unrecognised REGISTRY_* variables warn.
//
// Sections Berth recognises but does not implement yet (auth, notifications, proxy, redis, health,
// validation, compatibility, reporting, middleware, policy, log.hooks, http.tls.letsencrypt,
// http.tls.ciphersuites, catalog.maxentries) produce the warning
// "accepted but not used yet: <path>".
//
// Thread-safety: all functions are pure and thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace berth::config {

struct LogConfig {
  std::string level = "info";      // error|warn|info|debug
  std::string formatter = "text";  // text|json|logstash
  std::map<std::string, std::string> fields;
  bool accesslog_disabled = false;
};

struct UploadPurging {
  bool enabled = true;
  std::chrono::seconds age{168 * 3600};
  std::chrono::seconds interval{24 * 3600};
  bool dryrun = false;
};

struct StorageConfig {
  std::string driver = "filesystem";  // filesystem|inmemory (s3 later)
  std::string filesystem_rootdirectory = "/var/lib/registry";
  uint32_t filesystem_maxthreads = 100;
  bool delete_enabled = false;
  UploadPurging uploadpurging;
  bool readonly = false;  // storage.maintenance.readonly.enabled
  bool redirect_disable = false;
  std::string cache_blobdescriptor;   // accepted; Berth caches in memory regardless
  uint32_t tag_concurrencylimit = 0;  // storage.tag.concurrencylimit; 0 = not set
};

struct TlsConfig {
  std::string certificate;
  std::string key;
  std::vector<std::string> clientcas;
  std::string minimumtls = "tls1.2";
};

struct HttpConfig {
  std::string addr = ":5000";
  std::string net = "tcp";
  std::string host;    // absolute base URL used to build Location headers
  std::string prefix;  // path prefix, e.g. "/registry/" (normalized to start and end with '/';
                       // empty when there is none, including a configured "/")
  std::string secret;
  bool relativeurls = false;
  std::chrono::milliseconds draintimeout{0};
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;  // in file order
  TlsConfig tls;
  bool debug_enabled = false;  // true when debug_addr is set
  std::string debug_addr;
  bool debug_prometheus_enabled = false;
  std::string debug_prometheus_path = "/metrics";
  bool http2_disabled = false;  // http.http2.disabled
  bool h2c_enabled = false;     // http.h2c.enabled
};

// `auth`: Distribution's htpasswd and token sections, plus Berth's built-in token service
// (`auth.token.builtin`), which issues the tokens the token section then verifies.
struct AuthConfig {
  std::string type;  // "" (none) | "htpasswd" | "token"
  std::string htpasswd_realm;
  std::string htpasswd_path;
  std::string token_realm;
  std::string token_service;
  std::string token_issuer;
  std::string token_rootcertbundle;
  std::string token_jwks;
  // Built-in token service (served at /auth/token when builtin.signingkey is set).
  std::string builtin_signingkey;  // PEM private key (RSA or EC P-256)
  std::string builtin_htpasswd;    // users
  std::string builtin_policy;      // JSON access policy (roles, users, public repositories)
  std::chrono::seconds builtin_expiration{300};
};

struct Config {
  std::string version = "0.1";
  LogConfig log;
  StorageConfig storage;
  HttpConfig http;
  AuthConfig auth;
  uint32_t catalog_maxentries = 1000;  // catalog.maxentries (<= 0 in the file means 1000)
  // Sections parsed but not decoded into structs yet, as YAML text after environment overrides,
  // keyed by top-level name: "auth", "notifications", "proxy", "redis", "health", "validation",
  // "compatibility", "reporting", "middleware", "policy". Absent sections have no entry. A scalar
  // selector is expanded as Distribution does (REGISTRY_AUTH=htpasswd gives "htpasswd: ~").
  std::map<std::string, std::string> raw_sections;
};

struct LoadResult {
  Config config;
  std::vector<std::string> warnings;  // unknown keys, accepted-but-ignored keys
};

// `yaml_text` may be empty (all defaults, no `version` needed); otherwise it must be a mapping with
// `version: 0.1`. `env` is the process environment as NAME=VALUE strings (pass environ-derived
// data; tests pass their own). Errors: kInvalidArgument, the message starting with the key's dotted
// path ("version", "storage.filesystem.maxthreads", ...), or "config:" for malformed YAML.
Result<LoadResult> Load(const std::string& yaml_text, const std::vector<std::string>& env);
// Reads the file, then Load. Errors: kIo when unreadable.
Result<LoadResult> LoadFile(const std::string& path, const std::vector<std::string>& env);
// The process environment as NAME=VALUE strings.
std::vector<std::string> ProcessEnvironment();

// "host:port" / ":port" / "[::1]:port" -> host and port. Errors: kInvalidArgument.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& addr);

}  // namespace berth::config
