// Health and metrics through a whole in-process Berth: the debug server, /v2/ answering 503 while
// a check fails, the storage check noticing a root that disappears, request and storage metrics.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "auth/htpasswd.h"
#include "test/support/http_client.h"
#include "test/support/temp_dir.h"
#include "test/support/test_server.h"

namespace berth::observe {
namespace {

using namespace std::chrono_literals;
using testing::HttpClient;
using testing::TestServer;

// Polls `cond` until true or 10 s pass.
bool Eventually(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

const char* kDebug =
    "http:\n  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n";

// The value of the series `series` (exact text before the value) in a scrape, or -1.
double Sample(const std::string& scrape, const std::string& series) {
  size_t pos = scrape.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(scrape.substr(pos + series.size() + 2));
}

// Pushes a config blob ("{}") and a manifest naming it as repo:tag.
void PushManifest(HttpClient& api, const std::string& repo, const std::string& tag) {
  const std::string cdigest =
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
  ASSERT_EQ(api.Request("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + cdigest, "{}").status,
            201);
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      cdigest + R"(","size":2},"layers":[]})";
  ASSERT_EQ(api.Request("PUT", "/v2/" + repo + "/manifests/" + tag, manifest,
                        {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}})
                .status,
            201);
}

// The path of an upload session's Location header.
std::string UploadPath(const testing::Response& r) {
  std::string loc = r.Header("Location");
  size_t v2 = loc.find("/v2/");
  return v2 == std::string::npos ? loc : loc.substr(v2);
}

TEST(Observe, MetricsOnTheDebugAddressOnlyCountRequestsByRoute) {
  auto srv = TestServer::Start({.yaml = kDebug});
  ASSERT_TRUE(srv);
  ASSERT_NE(srv->debug_port(), 0);
  ASSERT_NE(srv->debug_port(), srv->port());
  HttpClient api(srv->port()), debug(srv->debug_port());
  EXPECT_EQ(api.Request("GET", "/v2/").status, 200);
  EXPECT_EQ(api.Request("GET", "/v2/").status, 200);
  EXPECT_EQ(api.Request("GET", "/v2/no/such/manifests/latest").status, 404);
  EXPECT_EQ(api.Request("BREW", "/v2/").status, 405);
  // A request is recorded when its response has been written, which the client may see first.
  testing::Response r;
  ASSERT_TRUE(Eventually([&] {
    r = debug.Request("GET", "/metrics");
    return Sample(r.body, R"(registry_http_in_flight_requests{handler="base"})") == 0;
  })) << r.body;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(
      Sample(r.body, R"(registry_http_requests_total{handler="base",method="GET",code="200"})"), 2);
  EXPECT_EQ(
      Sample(r.body, R"(registry_http_requests_total{handler="manifest",method="GET",code="404"})"),
      1);
  // An unknown method is not a new label value.
  EXPECT_EQ(
      Sample(r.body, R"(registry_http_requests_total{handler="base",method="other",code="405"})"),
      1);
  EXPECT_EQ(Sample(r.body,
                   R"(registry_http_request_duration_seconds_count{handler="base",method="GET"})"),
            2);
  EXPECT_EQ(Sample(r.body, R"(registry_http_in_flight_requests{handler="base"})"), 0);
  EXPECT_GT(Sample(r.body, R"(berth_http_sent_bytes_total{handler="manifest"})"), 0);
  EXPECT_GT(Sample(r.body, "process_resident_memory_bytes"), 0);
  // The manifest lookup went to the storage driver.
  EXPECT_NE(
      r.body.find(
          "registry_storage_action_seconds_count{driver=\"filesystem\",action=\"GetContent\"}"),
      std::string::npos);
  EXPECT_NE(r.body.find("berth_storage_errors_total{driver=\"filesystem\",action=\"GetContent\","
                        "code=\"not_found\"}"),
            std::string::npos);
  // A manifest pushed and read twice: the second read comes from the manifest cache.
  PushManifest(api, "m", "v1");
  EXPECT_EQ(api.Request("GET", "/v2/m/manifests/v1").status, 200);
  EXPECT_EQ(api.Request("GET", "/v2/m/manifests/v1").status, 200);
  r = debug.Request("GET", "/metrics");
  EXPECT_GE(Sample(r.body, R"(berth_cache_requests_total{cache="manifest",result="hit"})"), 1);
  EXPECT_GE(Sample(r.body, R"(berth_cache_requests_total{cache="manifest",result="miss"})"), 1);
  // Never on the public address.
  EXPECT_EQ(api.Request("GET", "/metrics").status, 404);
  EXPECT_EQ(api.Request("GET", "/debug/health").status, 404);
}

TEST(Observe, ListingIndexHitsAndMissesCounted) {
  auto srv = TestServer::Start({.yaml = kDebug});
  ASSERT_TRUE(srv);
  HttpClient api(srv->port()), debug(srv->debug_port());
  PushManifest(api, "l", "v1");
  EXPECT_EQ(api.Request("GET", "/v2/_catalog").status, 200);
  EXPECT_EQ(api.Request("GET", "/v2/l/tags/list").status, 200);  // loaded from storage
  EXPECT_EQ(api.Request("GET", "/v2/l/tags/list").status, 200);  // from memory
  EXPECT_EQ(api.Request("GET", "/v2/l/tags/list").status, 200);
  std::string scrape = debug.Request("GET", "/metrics").body;
  EXPECT_EQ(Sample(scrape, R"(berth_cache_requests_total{cache="catalog",result="hit"})"), 1)
      << scrape;
  EXPECT_EQ(Sample(scrape, R"(berth_cache_requests_total{cache="catalog",result="miss"})"), 0);
  EXPECT_EQ(Sample(scrape, R"(berth_cache_requests_total{cache="tags",result="miss"})"), 1);
  EXPECT_EQ(Sample(scrape, R"(berth_cache_requests_total{cache="tags",result="hit"})"), 2);
}

TEST(Observe, OpenUploadSessionsGaugeFollowsSessionsAndSurvivesARestart) {
  testing::TempDir dir;
  std::string root = dir.Path("root");
  auto gauge = [](HttpClient& debug) {
    return Sample(debug.Request("GET", "/metrics").body, "berth_uploads_open");
  };
  std::vector<std::string> sessions;
  {
    auto srv = TestServer::Start({.yaml = kDebug, .root = root});
    ASSERT_TRUE(srv);
    HttpClient api(srv->port()), debug(srv->debug_port());
    ASSERT_TRUE(Eventually([&] { return gauge(debug) == 0; }));  // counted at start
    for (int i = 0; i < 4; ++i) {
      auto r = api.Request("POST", "/v2/u/blobs/uploads/");
      ASSERT_EQ(r.status, 202);
      sessions.push_back(UploadPath(r));
    }
    EXPECT_EQ(gauge(debug), 4);
    EXPECT_EQ(api.Request("DELETE", sessions[0]).status, 204);
    EXPECT_EQ(gauge(debug), 3);
    const std::string ok =
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    EXPECT_EQ(api.Request("PUT", sessions[1] + "?digest=" + ok, "{}").status, 201);
    EXPECT_EQ(gauge(debug), 2);
    // A digest mismatch cancels the session: it ends too.
    EXPECT_EQ(api.Request("PUT", sessions[2] + "?digest=" + ok, "{x}").status, 400);
    EXPECT_EQ(gauge(debug), 1);
    // A failed request that leaves the session (a chunk out of order) ends nothing.
    EXPECT_EQ(api.Request("PATCH", sessions[3], "ab", {{"Content-Range", "5-6"}}).status, 416);
    EXPECT_EQ(gauge(debug), 1);
    ASSERT_EQ(api.Request("POST", "/v2/other/blobs/uploads/").status, 202);
    EXPECT_EQ(gauge(debug), 2);
  }
  // Sessions are stored: a new process counts them before any request.
  auto srv = TestServer::Start({.yaml = kDebug, .root = root});
  ASSERT_TRUE(srv);
  HttpClient debug(srv->debug_port());
  ASSERT_TRUE(Eventually([&] { return gauge(debug) == 2; })) << gauge(debug);
}

TEST(Observe, NotificationQueueAndDeliveryMetricsPerEndpoint) {
  // A receiver that refuses connections: the events stay queued and every attempt fails.
  testing::TempDir dir;
  auto srv = TestServer::Start(
      {.yaml = std::string(kDebug) +
               "notifications:\n  endpoints:\n    - name: ci\n      url: http://127.0.0.1:1/hook\n"
               "      timeout: 200ms\n      backoff: 10ms\n"
               "berth:\n  audit:\n    enabled: true\n    path: " +
               dir.Path("audit.log") + "\n"});
  ASSERT_TRUE(srv);
  HttpClient api(srv->port()), debug(srv->debug_port());
  PushManifest(api, "n", "v1");
  std::string scrape;
  ASSERT_TRUE(Eventually([&] {
    scrape = debug.Request("GET", "/metrics").body;
    return Sample(scrape, R"(berth_notifications_failures_total{endpoint="ci"})") >= 1;
  })) << scrape;
  // The config blob's push and the manifest's.
  EXPECT_EQ(Sample(scrape, R"(berth_notifications_pending_events{endpoint="ci"})"), 2);
  EXPECT_GT(Sample(scrape, R"(berth_notifications_pending_bytes{endpoint="ci"})"), 0);
  EXPECT_GE(Sample(scrape, R"(berth_notifications_oldest_pending_age_seconds{endpoint="ci"})"), 0);
  EXPECT_EQ(Sample(scrape, R"(berth_notifications_deliveries_total{endpoint="ci"})"), 0);
  EXPECT_EQ(Sample(scrape, R"(berth_notifications_dropped_total{endpoint="ci"})"), 0);
  EXPECT_EQ(Sample(scrape, R"(berth_notifications_dead_lettered_total{endpoint="ci"})"), 0);
  EXPECT_EQ(Sample(scrape, "berth_notifications_memory_dropped_total"), 0);
  EXPECT_EQ(Sample(scrape, "berth_audit_dropped_total"), 0);
}

TEST(Observe, AuthenticationFailuresCountedByReason) {
  testing::TempDir dir;
  auto hash = auth::BcryptHash("wonderland", 4);
  ASSERT_TRUE(hash);
  testing::WriteFile(dir.Path("htpasswd"), "alice:" + *hash + "\n");
  auto srv = TestServer::Start(
      {.yaml = std::string(kDebug) +
               "auth:\n  htpasswd:\n    realm: r\n    path: " + dir.Path("htpasswd") + "\n"});
  ASSERT_TRUE(srv);
  HttpClient api(srv->port()), debug(srv->debug_port());
  EXPECT_EQ(api.Request("GET", "/v2/").status, 401);
  EXPECT_EQ(api.Request("GET", "/v2/", "", {{"Authorization", "Basic YWxpY2U6d3Jvbmc="}}).status,
            401);  // alice:wrong
  EXPECT_EQ(
      api.Request("GET", "/v2/", "", {{"Authorization", "Basic YWxpY2U6d29uZGVybGFuZA=="}}).status,
      200);  // alice:wonderland
  std::string scrape = debug.Request("GET", "/metrics").body;
  EXPECT_EQ(Sample(scrape, R"(berth_auth_failures_total{reason="missing_credentials"})"), 1);
  EXPECT_EQ(Sample(scrape, R"(berth_auth_failures_total{reason="invalid_credentials"})"), 1);
}

TEST(Observe, NoDebugAddressNoDebugServer) {
  auto srv = TestServer::Start();
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->debug_port(), 0);
}

TEST(Observe, PrometheusDisabledServesProbesButNoMetrics) {
  auto srv = TestServer::Start({.yaml = "http:\n  debug:\n    addr: 127.0.0.1:0\n"});
  ASSERT_TRUE(srv);
  HttpClient debug(srv->debug_port());
  EXPECT_EQ(debug.Request("GET", "/metrics").status, 404);
  EXPECT_EQ(debug.Request("GET", "/livez").status, 200);
  EXPECT_EQ(debug.Request("POST", "/livez").status, 405);
}

TEST(Observe, FileCheckTurnsV2Into503AndBack) {
  testing::TempDir dir;
  std::string drain = dir.Path("drain");
  auto srv =
      TestServer::Start({.yaml = std::string(kDebug) + "health:\n  file:\n    - file: " + drain +
                                 "\n      interval: 20ms\n"});
  ASSERT_TRUE(srv);
  HttpClient api(srv->port()), debug(srv->debug_port());
  EXPECT_EQ(api.Request("GET", "/v2/").status, 200);
  EXPECT_EQ(debug.Request("GET", "/debug/health").body, "{}");
  testing::WriteFile(drain, "");
  ASSERT_TRUE(Eventually([&] { return api.Request("GET", "/v2/").status == 503; }));
  auto r = api.Request("GET", "/v2/");
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["errors"][0]["code"], "UNAVAILABLE");
  EXPECT_EQ(body["errors"][0]["detail"][drain], "file exists: " + drain);
  auto h = debug.Request("GET", "/debug/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(nlohmann::json::parse(h.body)[drain], "file exists: " + drain);
  EXPECT_EQ(debug.Request("GET", "/readyz").status, 503);
  // Only /v2/ is gated, as in registry:2.
  EXPECT_EQ(api.Request("GET", "/v2/_catalog").status, 200);
  std::filesystem::remove(drain);
  ASSERT_TRUE(Eventually([&] { return api.Request("GET", "/v2/").status == 200; }));
  EXPECT_EQ(debug.Request("GET", "/debug/health").status, 200);
}

TEST(Observe, StorageRootThatDisappearsIsNoticedAfterTheThreshold) {
  auto srv = TestServer::Start(
      {.yaml = std::string(kDebug) +
               "health:\n  storagedriver:\n    enabled: true\n    interval: 20ms\n"
               "    threshold: 3\n"});
  ASSERT_TRUE(srv);
  HttpClient api(srv->port()), debug(srv->debug_port());
  ASSERT_TRUE(Eventually([&] { return debug.Request("GET", "/readyz").status == 200; }));
  EXPECT_EQ(api.Request("GET", "/v2/").status, 200);
  std::string moved = srv->root() + ".moved";
  std::filesystem::rename(srv->root(), moved);
  ASSERT_TRUE(Eventually([&] { return api.Request("GET", "/v2/").status == 503; }));
  auto status = nlohmann::json::parse(debug.Request("GET", "/debug/status").body);
  EXPECT_FALSE(status["healthy"]);
  EXPECT_EQ(status["checks"][0]["name"], "storagedriver");
  EXPECT_FALSE(status["checks"][0]["ok"]);
  EXPECT_NE(status["checks"][0]["message"].get<std::string>().find("storage root"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(srv->root()));  // not recreated by the probe
  std::filesystem::rename(moved, srv->root());
  ASSERT_TRUE(Eventually([&] { return api.Request("GET", "/v2/").status == 200; }));
}

TEST(Observe, ThresholdHoldsBackA503UntilEnoughFailures) {
  // A tcp check to a closed port with a long interval: only the first run happens in the test.
  auto srv =
      TestServer::Start({.yaml = std::string(kDebug) + "health:\n  tcp:\n    - addr: 127.0.0.1:1\n"
                                                       "      interval: 1h\n      threshold: 2\n"});
  ASSERT_TRUE(srv);
  HttpClient api(srv->port()), debug(srv->debug_port());
  // The first run has failed once (below the threshold): still 200.
  ASSERT_TRUE(Eventually([&] {
    auto s = nlohmann::json::parse(debug.Request("GET", "/debug/status").body);
    for (const auto& c : s["checks"]) {
      if (c["name"] == "127.0.0.1:1") return !c["message"].get<std::string>().empty();
    }
    return false;
  }));
  EXPECT_EQ(api.Request("GET", "/v2/").status, 200);
}

TEST(Observe, StatusReportsVersionUptimeAndStorage) {
  auto srv = TestServer::Start({.yaml = "http:\n  debug:\n    addr: 127.0.0.1:0\n"});
  ASSERT_TRUE(srv);
  HttpClient debug(srv->debug_port());
  ASSERT_TRUE(Eventually([&] { return debug.Request("GET", "/readyz").status == 200; }));
  auto r = debug.Request("GET", "/debug/status");
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_TRUE(std::regex_match(j["started_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*Z)")));
  EXPECT_GE(j["uptime_seconds"].get<int64_t>(), 0);
  EXPECT_TRUE(j["healthy"]);
  ASSERT_EQ(j["checks"].size(), 1u);
  EXPECT_EQ(j["checks"][0]["name"], "storagedriver");
  EXPECT_TRUE(j["checks"][0]["ok"]);
  EXPECT_EQ(j["storage"]["driver"], "filesystem");
  EXPECT_EQ(j["storage"]["root"], srv->root());
  EXPECT_GT(j["storage"]["free_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(j["storage"]["used_bytes"].get<uint64_t>(), 0u);
}

}  // namespace
}  // namespace berth::observe
