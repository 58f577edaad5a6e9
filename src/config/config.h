#pragma once
// Berth's configuration: Distribution's config.yml format (version 0.1) plus Berth's own keys, as plain
// structs. Loading applies REGISTRY_* environment overrides to the YAML tree before decoding, exactly as
// Distribution does (REGISTRY_STORAGE_DELETE_ENABLED=true sets storage.delete.enabled).
// Unknown keys produce warnings; wrong values are errors naming the key's path ("http.draintimeout:
// not a duration: \"ten\"").

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace berth::config {

struct LogConfig {
  std::string level = "info";       // error|warn|info|debug
  std::string formatter = "text";   // text|json|logstash
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
  std::string cache_blobdescriptor;  // accepted; Berth caches in memory regardless
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
  std::string prefix;  // path prefix, e.g. "/registry/" (normalized to start and end with '/')
  std::string secret;
  bool relativeurls = false;
  std::chrono::milliseconds draintimeout{0};
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;  // in file order
  TlsConfig tls;
  bool debug_enabled = false;
  std::string debug_addr;
};

struct Config {
  std::string version = "0.1";
  LogConfig log;
  StorageConfig storage;
  HttpConfig http;
};

struct LoadResult {
  Config config;
  std::vector<std::string> warnings;  // unknown keys, accepted-but-ignored keys
};

// `yaml_text` may be empty (all defaults). `env` is the process environment as NAME=VALUE strings
// (pass environ-derived data; tests pass their own). Errors: kInvalidArgument with the key's path.
Result<LoadResult> Load(const std::string& yaml_text, const std::vector<std::string>& env);
// Reads the file, then Load. Errors: kIo when unreadable.
Result<LoadResult> LoadFile(const std::string& path, const std::vector<std::string>& env);
// The process environment as NAME=VALUE strings.
std::vector<std::string> ProcessEnvironment();

// "host:port" / ":port" / "[::1]:port" -> host and port. Errors: kInvalidArgument.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& addr);

}  // namespace berth::config
