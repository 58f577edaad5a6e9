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
// Sections Berth recognises but does not implement yet (notifications, proxy, redis, health,
// compatibility, reporting, middleware, policy, log.hooks, http.tls.letsencrypt, ...) produce the
// warning "accepted but not used yet: <path>"; docs/configuration.md lists every key of
// Distribution 2.8's reference with its status, and config_test checks the two agree.
//
// Authentication fails closed: an `auth` section must name exactly one kind Berth implements
// (htpasswd or token) with its required keys; an unknown kind ("htpassword"), `silly`, a bare
// REGISTRY_AUTH=htpasswd without a path, or an empty section is an error, never "no auth".
//
// Berth's own tunables live under the top-level `berth:` section (see BerthConfig); unset ones
// keep the defaults of the component they tune.
//
// Thread-safety: all functions are pure and thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
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
  std::vector<std::string> ciphersuites;  // OpenSSL / Go names; empty: Berth's defaults
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

// `validation`: what manifests may reference (foreign-layer URLs), as registry:2 checks them.
struct ValidationConfig {
  bool disabled = false;  // validation.disabled (legacy: validation.enabled: false)
  // validation.manifests.urls.allow / deny: regular expressions a foreign layer's URL must match /
  // must not match. Checked at load (a pattern that does not compile is an error naming it).
  std::vector<std::string> manifests_urls_allow;
  std::vector<std::string> manifests_urls_deny;
};

// `berth:`, Berth's own settings (Distribution has no such keys). Unset: the component's default.
struct BerthConfig {
  // berth.storage
  std::optional<std::chrono::milliseconds> listing_ttl;  // listingttl: catalog/tags cache life
  std::optional<uint64_t> manifest_cache_bytes;          // manifestcachesize: 0 disables
  std::optional<uint64_t> max_blob_bytes;                // maxblobsize: larger uploads get 413
  // berth.meta: the metadata store (tenancy); driver "" means none
  std::string meta_driver;  // "sqlite" | "postgres"
  std::string meta_path;    // sqlite file ("": berth-meta.db beside the storage root)
  std::string meta_dsn;     // libpq connection string
  // berth.ratelimit: pulls (manifest GETs) per identity, or per address when anonymous
  std::optional<uint32_t> ratelimit_pulls;         // pulls per window (unset or 0: no limit)
  std::optional<std::chrono::seconds> ratelimit_window;  // window (default 6h)
  std::vector<std::string> ratelimit_exempt;       // identities never limited
  // berth.http
  std::optional<uint32_t> threads;                             // event-loop threads (0: cores)
  std::optional<uint64_t> max_header_bytes;                    // maxheadersize
  std::optional<std::chrono::milliseconds> header_timeout;     // headertimeout
  std::optional<std::chrono::milliseconds> idle_timeout;       // idletimeout (keep-alive)
  std::optional<std::chrono::milliseconds> body_idle_timeout;  // bodyidletimeout
  std::optional<std::chrono::milliseconds> write_timeout;      // writetimeout
  std::optional<uint64_t> large_buffer;                        // transfer.largebuffer
  std::optional<uint64_t> large_buffer_budget;                 // transfer.largebufferbudget
  std::optional<uint64_t> small_buffer;                        // transfer.smallbuffer
  std::optional<bool> sendfile;                                // transfer.sendfile
  std::optional<bool> map_files;                               // transfer.mapfiles
  // berth.proxy: maxcachesize here; the rest (upstreams) as YAML text, decoded by proxy/config.cc
  std::optional<uint64_t> proxy_max_cache_bytes;
  std::string proxy_yaml;
};

struct Config {
  std::string version = "0.1";
  LogConfig log;
  StorageConfig storage;
  HttpConfig http;
  AuthConfig auth;
  uint32_t catalog_maxentries = 1000;  // catalog.maxentries (<= 0 in the file means 1000)
  ValidationConfig validation;
  BerthConfig berth;
  // Sections parsed but not decoded into structs yet, as YAML text after environment overrides,
  // keyed by top-level name: "notifications", "proxy", "redis", "health", "compatibility",
  // "reporting", "middleware", "policy", and "storage.maintenance.gc" (decoded by gc/). Absent
  // sections have no entry. A scalar
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

// How Berth treats a configuration key (a dotted path such as "storage.s3.bucket").
enum class KeyStatus {
  kUnknown,   // not a key Berth knows: warns "unknown configuration key"
  kHonoured,  // decoded and used
  kPlanned,   // accepted, not implemented yet: warns "accepted but not used yet: <path>"
  kRefused,   // stops start-up with an error naming the key
};
// The status of `path` by the schema Load uses (for docs/configuration.md's table and its test).
// Keys below a section that is kPlanned or kRefused as a whole take the section's status.
KeyStatus StatusOf(const std::string& path);

// A size in bytes: an integer, or a number with a unit (B, KB, MB, GB, TB powers of 1000; KiB,
// MiB, GiB, TiB powers of 1024), case-insensitive, e.g. "32MiB", "1.5GB" (whole bytes). Errors:
// kInvalidArgument ("not a size ...", "too large: ...").
Result<uint64_t> ParseByteSize(std::string_view text);

// "host:port" / ":port" / "[::1]:port" -> host and port. Errors: kInvalidArgument.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& addr);

}  // namespace berth::config
