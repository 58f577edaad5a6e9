#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/strings.h"

namespace berth::config {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

using Env = std::vector<std::string>;
using Headers = std::vector<std::pair<std::string, std::vector<std::string>>>;

LoadResult MustLoad(const std::string& yaml, const Env& env = {}) {
  auto r = Load(yaml, env);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : LoadResult{};
}

// The error message of a load that must fail.
std::string LoadError(const std::string& yaml, const Env& env = {}) {
  auto r = Load(yaml, env);
  if (r) {
    ADD_FAILURE() << "load succeeded";
    return {};
  }
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().message;
}

// The production config from the seeds (003, "registry-config.yml").
constexpr const char* kProductionConfig = R"(
# registry-config.yml
version: 0.1
log:
  accesslog:
    disabled: false
  level: info
  formatter: text
  fields:
    service: registry
    environment: production

storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
  redirect:
    disable: false
  cache:
    blobdescriptor: inmemory

http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
    Access-Control-Allow-Origin: ['*']
    Access-Control-Allow-Methods: ['HEAD', 'GET', 'OPTIONS', 'DELETE']
    Access-Control-Allow-Headers: ['Authorization', 'Accept', 'Cache-Control']
  host: https://registry.example.com
  secret: asecretforlocaldevelopment
  tls:
    certificate: /certs/domain.crt
    key: /certs/domain.key
    minimumtls: tls1.2

auth:
  htpasswd:
    realm: basic-realm
    path: /auth/htpasswd

validation:
  manifests:
    urls:
      allow:
        - ^https?://([^/]+\.)*example\.com/
      deny:
        - ^https?://www\.example\.com/

health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3

notifications:
  events:
    includereferences: true
  endpoints:
    - name: webhook
      disabled: false
      url: https://webhook.example.com/registry
      headers:
        Authorization: [Bearer <token>]
      timeout: 5s
      threshold: 10
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
)";

// The registry service's environment from the seeds' compose file (003).
const Env kComposeEnv = {
    "REGISTRY_CONFIG_PATH=/etc/registry/config.yml",
    "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry",
    "REGISTRY_AUTH=htpasswd",
    "REGISTRY_AUTH_HTPASSWD_REALM=Registry Realm",
    "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
    "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/domain.crt",
    "REGISTRY_HTTP_TLS_KEY=/certs/domain.key",
    "PATH=/usr/bin",
};

TEST(Config, EmptyTextIsAllDefaults) {
  LoadResult r = MustLoad("");
  const Config& c = r.config;
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_EQ(c.version, "0.1");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.formatter, "text");
  EXPECT_FALSE(c.log.accesslog_disabled);
  EXPECT_EQ(c.storage.driver, "filesystem");
  EXPECT_EQ(c.storage.filesystem_rootdirectory, "/var/lib/registry");
  EXPECT_EQ(c.storage.filesystem_maxthreads, 100u);
  EXPECT_FALSE(c.storage.delete_enabled);
  EXPECT_TRUE(c.storage.uploadpurging.enabled);
  EXPECT_EQ(c.storage.uploadpurging.age, std::chrono::hours(168));
  EXPECT_EQ(c.storage.uploadpurging.interval, std::chrono::hours(24));
  EXPECT_FALSE(c.storage.readonly);
  EXPECT_EQ(c.http.addr, ":5000");
  EXPECT_EQ(c.http.net, "tcp");
  EXPECT_EQ(c.http.prefix, "");
  EXPECT_EQ(c.http.draintimeout, std::chrono::milliseconds(0));
  EXPECT_THAT(c.http.headers, IsEmpty());
  EXPECT_EQ(c.http.tls.minimumtls, "tls1.2");
  EXPECT_FALSE(c.http.debug_enabled);
  EXPECT_EQ(c.catalog_maxentries, 1000u);
  EXPECT_THAT(c.raw_sections, IsEmpty());
}

TEST(Config, SeedProductionConfigLoads) {
  LoadResult r = MustLoad(kProductionConfig);
  const Config& c = r.config;
  EXPECT_FALSE(c.log.accesslog_disabled);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_THAT(c.log.fields,
              ElementsAre(Pair("environment", "production"), Pair("service", "registry")));
  EXPECT_EQ(c.storage.driver, "filesystem");
  EXPECT_EQ(c.storage.filesystem_rootdirectory, "/var/lib/registry");
  EXPECT_TRUE(c.storage.delete_enabled);
  EXPECT_FALSE(c.storage.redirect_disable);
  EXPECT_EQ(c.storage.cache_blobdescriptor, "inmemory");
  EXPECT_EQ(c.http.addr, ":5000");
  EXPECT_EQ(c.http.host, "https://registry.example.com");
  EXPECT_EQ(c.http.secret, "asecretforlocaldevelopment");
  EXPECT_EQ(c.http.tls.certificate, "/certs/domain.crt");
  EXPECT_EQ(c.http.tls.key, "/certs/domain.key");
  EXPECT_EQ(c.http.tls.minimumtls, "tls1.2");
  EXPECT_EQ(
      c.http.headers,
      (Headers{{"X-Content-Type-Options", {"nosniff"}},
               {"Access-Control-Allow-Origin", {"*"}},
               {"Access-Control-Allow-Methods", {"HEAD", "GET", "OPTIONS", "DELETE"}},
               {"Access-Control-Allow-Headers", {"Authorization", "Accept", "Cache-Control"}}}));
  // Every section of the seed config is honoured now: no "accepted but not used yet".
  EXPECT_TRUE(r.warnings.empty()) << (r.warnings.empty() ? "" : r.warnings.front());
  ASSERT_TRUE(c.raw_sections.contains("notifications"));
  YAML::Node notifications = YAML::Load(c.raw_sections.at("notifications"));
  EXPECT_EQ(notifications["endpoints"][0]["url"].as<std::string>(),
            "https://webhook.example.com/registry");
}

TEST(Config, SeedComposeEnvironmentOverridesFile) {
  LoadResult r = MustLoad(kProductionConfig, kComposeEnv);
  const Config& c = r.config;
  EXPECT_EQ(c.storage.filesystem_rootdirectory, "/var/lib/registry");
  EXPECT_EQ(c.http.tls.certificate, "/certs/domain.crt");
  // REGISTRY_AUTH=htpasswd replaces the file's auth section, as in Distribution; the parameters
  // that follow it (in name order) land inside the chosen type.
  EXPECT_EQ(c.auth.type, "htpasswd");
  EXPECT_EQ(c.auth.htpasswd_realm, "Registry Realm");
  EXPECT_EQ(c.auth.htpasswd_path, "/auth/htpasswd");
  // REGISTRY_CONFIG_PATH is the CLI's and PATH is not ours: neither warns.
  EXPECT_THAT(r.warnings, Not(Contains(HasSubstr("REGISTRY_CONFIG_PATH"))));
  EXPECT_THAT(r.warnings, Not(Contains(HasSubstr("PATH"))));
}

TEST(Config, SeedComposeEnvironmentWithoutFile) {
  LoadResult r = MustLoad(
      "", {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/data", "REGISTRY_AUTH=htpasswd",
           "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd", "REGISTRY_AUTH_HTPASSWD_REALM=Registry",
           "REGISTRY_STORAGE_DELETE_ENABLED=true"});
  EXPECT_EQ(r.config.storage.driver, "filesystem");
  EXPECT_EQ(r.config.storage.filesystem_rootdirectory, "/data");
  EXPECT_TRUE(r.config.storage.delete_enabled);
  EXPECT_EQ(r.config.auth.type, "htpasswd");
  EXPECT_EQ(r.config.auth.htpasswd_realm, "Registry");
  EXPECT_TRUE(r.warnings.empty());
}

TEST(Config, TokenAuthWithBuiltinService) {
  LoadResult r = MustLoad(
      "version: 0.1\nauth:\n  token:\n    realm: http://127.0.0.1:5000/auth/token\n"
      "    service: berth\n    issuer: berth-issuer\n    builtin:\n      signingkey: /k.pem\n"
      "      policy: /p.json\n      htpasswd: /h\n      expiration: 10m\n");
  EXPECT_EQ(r.config.auth.type, "token");
  EXPECT_EQ(r.config.auth.token_service, "berth");
  EXPECT_EQ(r.config.auth.builtin_signingkey, "/k.pem");
  EXPECT_EQ(r.config.auth.builtin_expiration, std::chrono::seconds(600));
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_THAT(LoadError("version: 0.1\nauth:\n  token:\n    realm: x\n    service: s\n"),
              StartsWith("auth.token.issuer: required"));
  EXPECT_THAT(LoadError("version: 0.1\nauth:\n  htpasswd:\n    realm: r\n"),
              StartsWith("auth.htpasswd.path: required"));
}

TEST(Config, EnvironmentWinsOverFile) {
  LoadResult r = MustLoad("version: 0.1\nhttp:\n  addr: :5000\nlog:\n  level: info\n",
                          {"REGISTRY_HTTP_ADDR=:5001", "REGISTRY_LOG_LEVEL=debug"});
  EXPECT_EQ(r.config.http.addr, ":5001");
  EXPECT_EQ(r.config.log.level, "debug");
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(Config, EnvironmentValuesAreYaml) {
  // Compose files quote "true"; the decoder sees the same value either way.
  LoadResult r = MustLoad(
      "", {"REGISTRY_STORAGE_DELETE_ENABLED=\"true\"", "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS=50",
           "REGISTRY_HTTP_TLS_CLIENTCAS=[/a.pem, /b.pem]"});
  EXPECT_TRUE(r.config.storage.delete_enabled);
  EXPECT_EQ(r.config.storage.filesystem_maxthreads, 50u);
  EXPECT_THAT(r.config.http.tls.clientcas, ElementsAre("/a.pem", "/b.pem"));
}

TEST(Config, EnvironmentListIndex) {
  LoadResult r =
      MustLoad("version: 0.1\nhttp:\n  tls:\n    clientcas: [/a.pem]\n",
               {"REGISTRY_HTTP_TLS_CLIENTCAS_0=/x.pem", "REGISTRY_HTTP_TLS_CLIENTCAS_1=/y.pem"});
  EXPECT_THAT(r.config.http.tls.clientcas, ElementsAre("/x.pem", "/y.pem"));
}

TEST(Config, EnvironmentReachesMapsAndListsInsideSections) {
  LoadResult r = MustLoad(R"(version: 0.1
log:
  fields:
    Service: registry
notifications:
  endpoints:
    - name: webhook
      url: https://old.example.com
)",
                          {"REGISTRY_LOG_FIELDS_SERVICE=berth", "REGISTRY_LOG_FIELDS_ZONE=eu",
                           "REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL=https://new.example.com"});
  EXPECT_THAT(r.config.log.fields, ElementsAre(Pair("Service", "berth"), Pair("zone", "eu")));
  YAML::Node n = YAML::Load(r.config.raw_sections.at("notifications"));
  EXPECT_EQ(n["endpoints"][0]["url"].as<std::string>(), "https://new.example.com");
  EXPECT_EQ(n["endpoints"][0]["name"].as<std::string>(), "webhook");
}

TEST(Config, EnvironmentHeaderNameIsCanonical) {
  LoadResult r = MustLoad("version: 0.1\nhttp:\n  headers:\n    x-content-type-options: [old]\n",
                          {"REGISTRY_HTTP_HEADERS_X_CONTENT_TYPE_OPTIONS=nosniff",
                           "REGISTRY_HTTP_HEADERS_X_FRAME_OPTIONS=DENY"});
  EXPECT_EQ(r.config.http.headers,
            (Headers{{"X-Content-Type-Options", {"nosniff"}}, {"X-Frame-Options", {"DENY"}}}));
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(Config, HeaderAcceptsSingleString) {
  LoadResult r =
      MustLoad("version: 0.1\nhttp:\n  headers:\n    strict-transport-security: max-age=1\n");
  EXPECT_EQ(r.config.http.headers, (Headers{{"Strict-Transport-Security", {"max-age=1"}}}));
}

TEST(Config, StorageSelectorReplacesSection) {
  LoadResult r = MustLoad("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /x\n",
                          {"REGISTRY_STORAGE=inmemory"});
  EXPECT_EQ(r.config.storage.driver, "inmemory");
  // Name order applies REGISTRY_STORAGE before the keys inside it, whatever the input order.
  r = MustLoad("", {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/y", "REGISTRY_STORAGE=filesystem"});
  EXPECT_EQ(r.config.storage.driver, "filesystem");
  EXPECT_EQ(r.config.storage.filesystem_rootdirectory, "/y");
  r = MustLoad("version: 0.1\nstorage: inmemory\n");
  EXPECT_EQ(r.config.storage.driver, "inmemory");
}

TEST(Config, EnvironmentDebugAndProxy) {
  LoadResult r = MustLoad(
      "", {"REGISTRY_HTTP_DEBUG_ADDR=:5001", "REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED=\"true\"",
           "REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io",
           "REGISTRY_PROXY_USERNAME=username"});
  EXPECT_TRUE(r.config.http.debug_enabled);
  EXPECT_EQ(r.config.http.debug_addr, ":5001");
  EXPECT_TRUE(r.config.http.debug_prometheus_enabled);
  EXPECT_EQ(r.config.http.debug_prometheus_path, "/metrics");
  YAML::Node proxy = YAML::Load(r.config.raw_sections.at("proxy"));
  EXPECT_EQ(proxy["remoteurl"].as<std::string>(), "https://registry-1.docker.io");
  EXPECT_EQ(proxy["username"].as<std::string>(), "username");
  // The debug listener and the proxy are both honoured now: nothing is "accepted but not used".
  EXPECT_TRUE(r.warnings.empty()) << (r.warnings.empty() ? "" : r.warnings.front());
}

TEST(Config, UnknownEnvironmentVariableWarns) {
  LoadResult r = MustLoad("", {"REGISTRY_TITLE=Docker", "REGISTRY_HTTP_ADDR_EXTRA=1",
                               "REGISTRY_HTTP__ADDR=1", "OTHER_HTTP_ADDR=:1"});
  EXPECT_THAT(r.warnings,
              ElementsAre("ignoring unrecognised environment variable REGISTRY_HTTP_ADDR_EXTRA",
                          "ignoring unrecognised environment variable REGISTRY_HTTP__ADDR",
                          "ignoring unrecognised environment variable REGISTRY_TITLE"));
  EXPECT_EQ(r.config.http.addr, ":5000");
}

TEST(Config, UnknownKeysWarnWithPath) {
  LoadResult r = MustLoad(
      "version: 0.1\nfoo: 1\nstorage:\n  filesystem:\n    rootdir: /x\nhttp:\n  tls:\n    cert: "
      "a\n");
  EXPECT_THAT(r.warnings, ElementsAre("unknown configuration key foo",
                                      "unknown configuration key storage.filesystem.rootdir",
                                      "unknown configuration key http.tls.cert"));
  EXPECT_EQ(r.config.storage.filesystem_rootdirectory, "/var/lib/registry");
}

TEST(Config, VersionAsFloatOrString) {
  EXPECT_EQ(MustLoad("version: 0.1\n").config.version, "0.1");
  EXPECT_EQ(MustLoad("version: \"0.1\"\n").config.version, "0.1");
}

TEST(Config, VersionErrors) {
  EXPECT_THAT(LoadError("log:\n  level: info\n"), StartsWith("version: missing"));
  EXPECT_THAT(LoadError("version: 0.2\n"), StartsWith("version: unsupported version \"0.2\""));
  EXPECT_THAT(LoadError("# just a comment\n"), StartsWith("version: missing"));
}

TEST(Config, ValueErrorsNameTheKeyPath) {
  const std::string v = "version: 0.1\n";
  EXPECT_EQ(LoadError(v + "http:\n  draintimeout: ten\n"),
            "http.draintimeout: not a duration: \"ten\"");
  EXPECT_EQ(LoadError(v + "storage:\n  delete:\n    enabled: maybe\n"),
            "storage.delete.enabled: not a boolean: \"maybe\"");
  EXPECT_THAT(LoadError(v + "storage:\n  filesystem:\n    maxthreads: x\n"),
              StartsWith("storage.filesystem.maxthreads: "));
  auto low = Load(v + "storage:\n  filesystem:\n    maxthreads: 10\n", {});
  ASSERT_TRUE(low.has_value());
  // Raised to the floor, as Distribution does.
  EXPECT_EQ(low->config.storage.filesystem_maxthreads, 25u);
  EXPECT_THAT(
      LoadError(v + "http:\n  addr: localhost\n"),
      AllOf(StartsWith("http.addr: "), HasSubstr("\"localhost\""), HasSubstr("missing port")));
  EXPECT_THAT(LoadError(v + "http:\n  net: unix\n  addr: /run/registry.sock\n"),
              AllOf(StartsWith("http.net: "), HasSubstr("not supported")));
  EXPECT_THAT(LoadError(v + "http:\n  host: registry.example.com\n"),
              StartsWith("http.host: not an absolute URL"));
  EXPECT_THAT(LoadError(v + "http:\n  tls:\n    minimumtls: tls1.4\n"),
              StartsWith("http.tls.minimumtls: "));
  EXPECT_THAT(LoadError(v + "http:\n  tls:\n    certificate: /c.pem\n"),
              StartsWith("http.tls.key: "));
  EXPECT_THAT(LoadError(v + "http:\n  debug:\n    addr: nope\n"), StartsWith("http.debug.addr: "));
  EXPECT_THAT(LoadError(v + "http:\n  relativeurls: [true]\n"),
              StartsWith("http.relativeurls: expected a single value"));
  EXPECT_THAT(LoadError(v + "http: 5\n"), StartsWith("http: expected a mapping"));
  EXPECT_THAT(LoadError(v + "log:\n  level: verbose\n"), StartsWith("log.level: "));
  EXPECT_THAT(LoadError(v + "log:\n  formatter: xml\n"), StartsWith("log.formatter: "));
  EXPECT_THAT(LoadError(v + "storage:\n  cache:\n    blobdescriptor: memcached\n"),
              StartsWith("storage.cache.blobdescriptor: "));
  EXPECT_THAT(LoadError(v + "storage:\n  maintenance:\n    uploadpurging:\n      age: soon\n"),
              StartsWith("storage.maintenance.uploadpurging.age: not a duration"));
  EXPECT_THAT(LoadError(v + "catalog:\n  maxentries: many\n"), StartsWith("catalog.maxentries: "));
}

TEST(Config, EnvironmentValueErrorsNameTheKeyPath) {
  EXPECT_EQ(LoadError("", {"REGISTRY_HTTP_DRAINTIMEOUT=ten"}),
            "http.draintimeout: not a duration: \"ten\"");
  EXPECT_THAT(LoadError("", {"REGISTRY_STORAGE_DELETE_ENABLED=maybe"}),
              StartsWith("storage.delete.enabled: "));
}

TEST(Config, StorageDriverErrors) {
  const std::string v = "version: 0.1\n";
  std::string two = LoadError(v + "storage:\n  filesystem: {}\n  inmemory:\n");
  EXPECT_THAT(two, AllOf(StartsWith("storage: "), HasSubstr("filesystem"), HasSubstr("inmemory")));
  EXPECT_EQ(LoadError(v + "storage:\n  s3:\n    bucket: b\n"),
            "storage.s3: storage driver s3 is not supported yet");
  EXPECT_THAT(LoadError(v + "storage:\n  filesytem: {}\n"),
              StartsWith("storage: unknown storage driver \"filesytem\""));
  // A driver from the environment beside one from the file is still two drivers.
  EXPECT_THAT(LoadError(v + "storage:\n  filesystem: {}\n", {"REGISTRY_STORAGE_S3_BUCKET=b"}),
              AllOf(StartsWith("storage: "), HasSubstr("filesystem"), HasSubstr("s3")));
}

TEST(Config, InvalidYamlIsAnError) {
  EXPECT_THAT(LoadError("version: 0.1\nhttp: [\n"), StartsWith("config: invalid YAML"));
  EXPECT_THAT(LoadError("- a\n- b\n"), StartsWith("config: expected a mapping"));
}

TEST(Config, StorageSections) {
  LoadResult r = MustLoad(R"(version: 0.1
storage:
  inmemory:
  delete:
    enabled: yes
  maintenance:
    uploadpurging:
      enabled: off
      age: 72h
      interval: 1h30m
      dryrun: on
    readonly:
      enabled: "true"
  redirect:
    disable: True
  cache:
    blobdescriptor: redis
  tag:
    concurrencylimit: 8
)");
  const StorageConfig& s = r.config.storage;
  EXPECT_THAT(r.warnings, ElementsAre("accepted but not used yet: storage.tag.concurrencylimit"));
  EXPECT_EQ(s.driver, "inmemory");
  EXPECT_TRUE(s.delete_enabled);
  EXPECT_FALSE(s.uploadpurging.enabled);
  EXPECT_EQ(s.uploadpurging.age, std::chrono::hours(72));
  EXPECT_EQ(s.uploadpurging.interval, std::chrono::minutes(90));
  EXPECT_TRUE(s.uploadpurging.dryrun);
  EXPECT_TRUE(s.readonly);
  EXPECT_TRUE(s.redirect_disable);
  EXPECT_EQ(s.cache_blobdescriptor, "redis");
  EXPECT_EQ(s.tag_concurrencylimit, 8u);
}

TEST(Config, HttpSection) {
  LoadResult r = MustLoad(R"(version: 0.1
http:
  addr: 0.0.0.0:5000
  net: tcp
  prefix: registry
  relativeurls: true
  draintimeout: 60s
  tls:
    certificate: /c.pem
    key: /k.pem
    clientcas: /ca.pem
    minimumtls: TLS1.3
  http2:
    disabled: true
  h2c:
    enabled: true
)");
  const HttpConfig& h = r.config.http;
  EXPECT_THAT(r.warnings, ElementsAre("accepted but not used yet: http.h2c"));
  EXPECT_EQ(h.addr, "0.0.0.0:5000");
  EXPECT_EQ(h.prefix, "/registry/");
  EXPECT_TRUE(h.relativeurls);
  EXPECT_EQ(h.draintimeout, std::chrono::seconds(60));
  EXPECT_THAT(h.tls.clientcas, ElementsAre("/ca.pem"));
  EXPECT_EQ(h.tls.minimumtls, "tls1.3");
  EXPECT_TRUE(h.http2_disabled);
  EXPECT_TRUE(h.h2c_enabled);
  EXPECT_EQ(MustLoad("version: 0.1\nhttp:\n  prefix: /a/b\n").config.http.prefix, "/a/b/");
  EXPECT_EQ(MustLoad("version: 0.1\nhttp:\n  prefix: /\n").config.http.prefix, "");
}

TEST(Config, LegacyLoglevelIsDeprecated) {
  LoadResult r = MustLoad("version: 0.1\nloglevel: DEBUG\n");
  EXPECT_EQ(r.config.log.level, "debug");
  EXPECT_THAT(r.warnings, ElementsAre(HasSubstr("loglevel is deprecated")));
  EXPECT_EQ(MustLoad("version: 0.1\nloglevel: debug\nlog:\n  level: warn\n").config.log.level,
            "warn");
  EXPECT_THAT(LoadError("version: 0.1\nloglevel: loud\n"), StartsWith("loglevel: "));
}

TEST(Config, CatalogMaxEntriesIsStoredAndWarns) {
  LoadResult r = MustLoad("version: 0.1\ncatalog:\n  maxentries: 50\n");
  EXPECT_EQ(r.config.catalog_maxentries, 50u);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(MustLoad("version: 0.1\ncatalog:\n  maxentries: -1\n").config.catalog_maxentries,
            1000u);
}

TEST(Config, AcceptedSectionsWarnOnce) {
  LoadResult r = MustLoad(R"(version: 0.1
redis:
  addr: localhost:6379
middleware:
  registry:
    - name: foo
compatibility:
  schema1:
    enabled: true
reporting:
  bugsnag:
    apikey: k
log:
  hooks:
    - type: mail
http:
  tls:
    letsencrypt:
      email: a@b.c
)");
  EXPECT_THAT(
      r.warnings,
      ElementsAre("accepted but not used yet: redis", "accepted but not used yet: middleware",
                  "accepted but not used yet: compatibility",
                  "accepted but not used yet: reporting", "accepted but not used yet: log.hooks",
                  "accepted but not used yet: http.tls.letsencrypt"));
}

TEST(Config, LoadFileReadsAndReportsIo) {
  auto path = std::filesystem::temp_directory_path() /
              ("berth-config-test-" + std::to_string(::getpid()) + ".yml");
  {
    std::ofstream out(path);
    out << "version: 0.1\nhttp:\n  addr: :6000\n";
  }
  auto r = LoadFile(path.string(), {});
  std::filesystem::remove(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->config.http.addr, ":6000");
  auto missing = LoadFile(path.string(), {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_THAT(missing.error().message, HasSubstr(path.string()));
}

TEST(Config, ProcessEnvironmentSeesVariables) {
  ::setenv("BERTH_CONFIG_TEST_VAR", "x=y", 1);
  EXPECT_THAT(ProcessEnvironment(), Contains("BERTH_CONFIG_TEST_VAR=x=y"));
  ::unsetenv("BERTH_CONFIG_TEST_VAR");
}

TEST(SplitHostPort, Forms) {
  using P = std::pair<std::string, uint16_t>;
  EXPECT_EQ(SplitHostPort(":5000").value(), (P{"", 5000}));
  EXPECT_EQ(SplitHostPort("0.0.0.0:5000").value(), (P{"0.0.0.0", 5000}));
  EXPECT_EQ(SplitHostPort("localhost:5000").value(), (P{"localhost", 5000}));
  EXPECT_EQ(SplitHostPort("[::1]:5000").value(), (P{"::1", 5000}));
  EXPECT_EQ(SplitHostPort(":0").value(), (P{"", 0}));
  EXPECT_EQ(SplitHostPort(":65535").value(), (P{"", 65535}));
}

TEST(SplitHostPort, ErrorsNameTheValue) {
  for (const char* bad :
       {"localhost", ":", ":x", ":65536", "::1:5000", "[::1]", "[::1", "", "a:-1"}) {
    auto r = SplitHostPort(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr("\"" + std::string(bad) + "\""));
  }
}

}  // namespace
}  // namespace berth::config

namespace berth::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Authentication fails closed.

TEST(ConfigAuth, BareSelectorWithoutPathStopsStartUp) {
  EXPECT_THAT(LoadError("", {"REGISTRY_AUTH=htpasswd"}),
              StartsWith("auth.htpasswd.path: required"));
  EXPECT_THAT(LoadError("version: 0.1\nauth: htpasswd\n"), StartsWith("auth.htpasswd.path"));
  EXPECT_THAT(LoadError("version: 0.1\nauth:\n  htpasswd:\n"), StartsWith("auth.htpasswd.path"));
  EXPECT_THAT(LoadError("", {"REGISTRY_AUTH=token"}), StartsWith("auth.token.realm: required"));
}

TEST(ConfigAuth, UnknownKindStopsStartUp) {
  EXPECT_THAT(LoadError("version: 0.1\nauth:\n  htpassword:\n    path: /x\n"),
              AllOf(StartsWith("auth: "), HasSubstr("\"htpassword\"")));
  EXPECT_THAT(LoadError("", {"REGISTRY_AUTH=htpassword"}), HasSubstr("\"htpassword\""));
  EXPECT_THAT(LoadError("version: 0.1\nauth: {}\n"), StartsWith("auth: no authentication kind"));
  EXPECT_THAT(LoadError("version: 0.1\nauth:\n  silly:\n    realm: r\n    service: s\n"),
              StartsWith("auth.silly: "));
  EXPECT_THAT(LoadError("version: 0.1\nauth: [htpasswd]\n"),
              StartsWith("auth: expected a mapping"));
  EXPECT_THAT(LoadError("version: 0.1\nauth:\n  htpasswd: /etc/htpasswd\n"),
              StartsWith("auth.htpasswd: expected a mapping"));
}

TEST(ConfigAuth, EmptyAuthSectionMeansNone) {
  EXPECT_EQ(MustLoad("version: 0.1\nauth:\n").config.auth.type, "");
}

// ---------------------------------------------------------------------------------------------
// Berth's own section, validation and TLS suites.

TEST(ConfigBerth, TunablesParse) {
  LoadResult r = MustLoad(R"(version: 0.1
berth:
  storage:
    listingttl: 2s
    manifestcachesize: 64MiB
    maxblobsize: 10GB
  http:
    threads: 4
    maxheadersize: 32KiB
    headertimeout: 5s
    idletimeout: 1m
    bodyidletimeout: 30s
    writetimeout: 90s
    transfer:
      largebuffer: 4MiB
      largebufferbudget: 16MiB
      smallbuffer: 512KiB
      sendfile: true
      mapfiles: false
)");
  const BerthConfig& b = r.config.berth;
  EXPECT_EQ(b.listing_ttl, std::chrono::milliseconds(2000));
  EXPECT_EQ(b.manifest_cache_bytes, uint64_t{64} << 20);
  EXPECT_EQ(b.max_blob_bytes, uint64_t{10'000'000'000});
  EXPECT_EQ(b.threads, 4u);
  EXPECT_EQ(b.max_header_bytes, 32u * 1024);
  EXPECT_EQ(b.header_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(b.idle_timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(b.body_idle_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(b.write_timeout, std::chrono::milliseconds(90000));
  EXPECT_EQ(b.large_buffer, uint64_t{4} << 20);
  EXPECT_EQ(b.large_buffer_budget, uint64_t{16} << 20);
  EXPECT_EQ(b.small_buffer, 512u * 1024);
  EXPECT_EQ(b.sendfile, true);
  EXPECT_EQ(b.map_files, false);
}

TEST(ConfigBerth, UnsetTunablesKeepComponentDefaults) {
  const BerthConfig& b = MustLoad("").config.berth;
  EXPECT_FALSE(b.listing_ttl || b.manifest_cache_bytes || b.max_blob_bytes || b.threads ||
               b.max_header_bytes || b.header_timeout || b.large_buffer || b.sendfile);
}

TEST(ConfigBerth, TunablesFromEnvironment) {
  LoadResult r = MustLoad("", {"REGISTRY_BERTH_STORAGE_LISTINGTTL=0s",
                               "REGISTRY_BERTH_HTTP_TRANSFER_SMALLBUFFER=65536"});
  EXPECT_EQ(r.config.berth.listing_ttl, std::chrono::milliseconds(0));
  EXPECT_EQ(r.config.berth.small_buffer, 65536u);
}

TEST(ConfigBerth, BadTunablesNameTheKey) {
  auto berth = [](const std::string& section, const std::string& kv) {
    return "version: 0.1\nberth:\n  " + section + ":\n    " + kv + "\n";
  };
  const struct {
    const char* section;
    const char* kv;
    const char* error_prefix;
  } cases[] = {
      {"storage", "manifestcachesize: lots", "berth.storage.manifestcachesize: not a size"},
      {"storage", "maxblobsize: 0", "berth.storage.maxblobsize: must be positive"},
      {"storage", "maxblobsize: 1.2.3GB", "berth.storage.maxblobsize"},
      {"storage", "maxblobsize: 99999999999TB", "berth.storage.maxblobsize: too large"},
      {"http", "headertimeout: 0s", "berth.http.headertimeout: must be positive"},
      {"http", "threads: 100000", "berth.http.threads: out of range"},
      {"http", "maxheadersize: 10", "berth.http.maxheadersize: out of range"},
      {"http", "transfer:\n      largebuffer: 1", "berth.http.transfer.largebuffer: out of range"},
      {"http", "transfer:\n      sendfile: maybe", "berth.http.transfer.sendfile: not a boolean"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(LoadError(berth(c.section, c.kv)), StartsWith(c.error_prefix)) << c.kv;
  }
  EXPECT_THAT(MustLoad(berth("storage", "listingtll: 1s")).warnings,
              Contains("unknown configuration key berth.storage.listingtll"));
}

TEST(ConfigValidation, ParsesUrlsAndRefusesBadPatterns) {
  LoadResult r = MustLoad(kProductionConfig);
  EXPECT_FALSE(r.config.validation.disabled);
  EXPECT_THAT(r.config.validation.manifests_urls_allow,
              ElementsAre("^https?://([^/]+\\.)*example\\.com/"));
  EXPECT_THAT(r.config.validation.manifests_urls_deny,
              ElementsAre("^https?://www\\.example\\.com/"));
  EXPECT_TRUE(MustLoad("version: 0.1\nvalidation:\n  disabled: true\n").config.validation.disabled);
  EXPECT_TRUE(MustLoad("version: 0.1\nvalidation:\n  enabled: false\n").config.validation.disabled);
  EXPECT_THAT(
      LoadError("version: 0.1\nvalidation:\n  manifests:\n    urls:\n      deny: ['^ok', '(']\n"),
      StartsWith("validation.manifests.urls.deny.1: not a regular expression"));
}

TEST(ConfigTls, CipherSuitesParse) {
  LoadResult r = MustLoad(
      "version: 0.1\nhttp:\n  tls:\n    ciphersuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
      "ECDHE-ECDSA-AES256-GCM-SHA384]\n");
  EXPECT_THAT(r.config.http.tls.ciphersuites, ElementsAre("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                                          "ECDHE-ECDSA-AES256-GCM-SHA384"));
  EXPECT_THAT(LoadError("version: 0.1\nhttp:\n  tls:\n    ciphersuites: ['A:B']\n"),
              StartsWith("http.tls.ciphersuites: not a cipher suite name"));
}

TEST(ConfigSizes, UnitsAreDecimalOrBinary) {
  auto size = [](const std::string& v) {
    return MustLoad("version: 0.1\nberth:\n  storage:\n    manifestcachesize: " + v + "\n")
        .config.berth.manifest_cache_bytes.value_or(0);
  };
  EXPECT_EQ(size("1000"), 1000u);
  EXPECT_EQ(size("1kb"), 1000u);
  EXPECT_EQ(size("1KiB"), 1024u);
  EXPECT_EQ(size("1.5 MiB"), 1572864u);
  EXPECT_EQ(size("2GB"), 2'000'000'000u);
}

// ---------------------------------------------------------------------------------------------
// Distribution 2.8's reference: every key honoured, warned about or refused, and documented.

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(BERTH_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Dotted paths of every leaf (scalar, null, list or empty map) of a YAML tree.
void LeafPaths(const YAML::Node& n, const std::string& path, std::vector<std::string>& out) {
  if (!n.IsMap() || n.size() == 0) {
    out.push_back(path);
    return;
  }
  for (const auto& kv : n) {
    LeafPaths(kv.second, path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar(), out);
  }
}

bool WarnsAbout(const std::vector<std::string>& warnings, const std::string& path) {
  const std::string prefix = "accepted but not used yet: ";
  for (const auto& w : warnings) {
    if (!w.starts_with(prefix)) continue;
    std::string p = w.substr(prefix.size());
    if (path == p || path.starts_with(p + ".")) return true;
  }
  return false;
}

constexpr const char* kDrivers[] = {"filesystem", "azure", "gcs", "s3", "swift", "oss", "inmemory"};

TEST(ConfigReference, EveryKeyIsHonouredWarnedOrRefused) {
  YAML::Node ref = YAML::Load(ReadSource("src/config/testdata/distribution-2.8-reference.yml"));
  ASSERT_TRUE(ref.IsMap());
  std::vector<std::string> paths;
  LeafPaths(ref, "", paths);
  ASSERT_GT(paths.size(), 120u);

  // The reference with one driver and one authentication kind at a time.
  std::map<std::string, LoadResult> loaded;     // key: "<driver>/<auth kind>"
  std::map<std::string, std::string> refusals;  // the same key, when the load failed
  for (const char* driver : kDrivers) {
    for (const char* kind : {"htpasswd", "token", "silly"}) {
      YAML::Node cfg = YAML::Clone(ref);
      for (const char* other : kDrivers) {
        if (std::string(other) != driver) cfg["storage"].remove(other);
      }
      for (const char* other : {"htpasswd", "token", "silly"}) {
        if (std::string(other) != kind) cfg["auth"].remove(other);
      }
      std::string key = std::string(driver) + "/" + kind;
      auto r = Load(YAML::Dump(cfg), {});
      if (r) {
        loaded[key] = *r;
      } else {
        refusals[key] = r.error().message;
      }
    }
  }
  for (const std::string& path : paths) {
    KeyStatus status = StatusOf(path);
    ASSERT_NE(status, KeyStatus::kUnknown) << path;
    std::vector<std::string> parts;
    for (std::string_view p : Split(path, '.')) parts.emplace_back(p);
    std::string driver =
        parts[0] == "storage" && std::ranges::count(kDrivers, parts[1]) ? parts[1] : "filesystem";
    std::string kind = parts[0] == "auth" ? parts[1] : "htpasswd";
    std::string key = driver + "/" + kind;
    if (status == KeyStatus::kRefused) {
      ASSERT_TRUE(refusals.contains(key)) << path << " is refused but " << key << " loads";
      EXPECT_THAT(refusals[key], StartsWith(parts[0] + "." + parts[1])) << path;
      continue;
    }
    ASSERT_TRUE(loaded.contains(key)) << path << ": " << refusals[key];
    const auto& warnings = loaded[key].warnings;
    for (const auto& w : warnings) {
      EXPECT_FALSE(w.starts_with("unknown configuration key") && path.starts_with(w.substr(26)))
          << w;
    }
    EXPECT_EQ(WarnsAbout(warnings, path), status == KeyStatus::kPlanned) << path;
  }
}

TEST(ConfigReference, DocsTableAgreesWithTheSchema) {
  std::string doc = ReadSource("docs/configuration.md");
  ASSERT_FALSE(doc.empty());
  // Rows: | `key.path` | status | how |
  std::map<std::string, std::string> table;
  size_t from = doc.find("## Every key of Distribution 2.8");
  size_t to = doc.find("## Berth's own keys");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  for (std::string_view line : Split(std::string_view(doc).substr(from, to - from), '\n')) {
    if (!line.starts_with("| `")) continue;
    size_t end = line.find('`', 3);
    size_t bar = line.find('|', end);
    size_t bar2 = line.find('|', bar + 1);
    if (end == std::string_view::npos || bar == std::string_view::npos ||
        bar2 == std::string_view::npos) {
      continue;
    }
    table[std::string(line.substr(3, end - 3))] =
        std::string(Trim(line.substr(bar + 1, bar2 - bar - 1)));
  }
  auto word = [](KeyStatus status) -> std::string {
    return status == KeyStatus::kRefused   ? "refused"
           : status == KeyStatus::kPlanned ? "planned"
           : status == KeyStatus::kUnknown ? "unknown"
                                           : "honoured";
  };
  // Every row names a key Berth knows, with its status.
  for (const auto& [key, documented] : table) {
    EXPECT_TRUE(documented.starts_with(word(StatusOf(key))))
        << key << " is documented as \"" << documented << "\" but is " << word(StatusOf(key));
  }
  // Every key of the reference has a row.
  YAML::Node ref = YAML::Load(ReadSource("src/config/testdata/distribution-2.8-reference.yml"));
  std::vector<std::string> paths;
  LeafPaths(ref, "", paths);
  for (const std::string& path : paths) {
    // The most specific row that covers the key.
    std::string row;
    for (const auto& [k, v] : table) {
      if ((path == k || path.starts_with(k + ".")) && k.size() > row.size()) row = k;
    }
    ASSERT_FALSE(row.empty()) << path << " has no row in docs/configuration.md";
    const std::string& documented = table[row];
    std::string want = word(StatusOf(path));
    EXPECT_TRUE(documented.starts_with(want))
        << path << " (row " << row << ") is documented as \"" << documented << "\" but is " << want;
  }
}

}  // namespace
}  // namespace berth::config
