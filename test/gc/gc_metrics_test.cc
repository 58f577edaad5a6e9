// The online collection's metrics, scraped from the debug server of a running `berth serve`
// (gc/metrics.h, registered by cli/app.cc): a blob nothing references is collected once older than
// the grace period, and the scrape shows the run, the deleted blob and the bytes freed.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Clock = std::chrono::steady_clock;

// The value of the sample `series` (name with labels, as exposed) in a Prometheus text scrape;
// -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  std::smatch m;
  std::regex re("(^|\n)" + std::regex_replace(series, std::regex(R"([{}"])"), R"(\$&)") +
                " ([0-9.e+-]+)");
  if (!std::regex_search(text, m, re)) return -1;
  return std::stod(m[2]);
}

TEST(GcMetrics, ScrapeShowsRunsDeletedObjectsAndBytesFreed) {
  auto srv = StartServer(
      WithYaml("http:\n  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n"
               "storage:\n  maintenance:\n    gc:\n      enabled: true\n      interval: 50ms\n"
               "      graceperiod: 1s\n      removelinks: true\n"));
  ASSERT_TRUE(srv);
  ASSERT_NE(srv->debug_port(), 0);
  HttpClient c(srv->port());
  const std::string garbage(1000, 'g');
  PushBlob(c, "team/app", garbage);  // linked, referenced by no manifest: garbage

  HttpClient debug(srv->debug_port());
  std::string text;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    Response r = debug.Request("GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    text = r.body;
    if (Sample(text, R"(berth_gc_deleted_objects_total{kind="blob"})") >= 1) break;
  }
  EXPECT_GE(Sample(text, "berth_gc_runs_total"), 1) << text;
  EXPECT_EQ(Sample(text, R"(berth_gc_deleted_objects_total{kind="blob"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(berth_gc_deleted_objects_total{kind="link"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(berth_gc_deleted_objects_total{kind="manifest"})"), 0) << text;
  EXPECT_EQ(Sample(text, "berth_gc_freed_bytes_total"), 1000) << text;
  EXPECT_EQ(Sample(text, "berth_gc_failed_runs_total"), 0) << text;
  EXPECT_EQ(Sample(text, "berth_gc_errors_total"), 0) << text;
  EXPECT_GT(Sample(text, "berth_gc_duration_seconds_total"), 0) << text;
  EXPECT_GE(Sample(text, "berth_gc_last_duration_seconds"), 0) << text;
  EXPECT_NE(text.find("# TYPE berth_gc_runs_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE berth_gc_last_duration_seconds gauge"), std::string::npos);
}

}  // namespace
}  // namespace berth::testing
