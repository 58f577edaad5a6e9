#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "metrics/text_format.h"

namespace berth::metrics {
namespace {

TEST(Metrics, CounterSumsEveryThreadsIncrements) {
  Registry reg;
  Counter& c = reg.AddCounter("t_total", "t").With({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 800000u);
}

TEST(Metrics, ExposesCounterGaugeAndHistogramInTextFormat) {
  Registry reg;
  auto& req = reg.AddCounter("app_requests_total", "Requests served.", {"method", "code"});
  req.With({"GET", "200"}).Inc(3);
  req.With({"DELETE", "404"}).Inc();
  reg.AddGauge("app_in_flight", "In flight.").With({}).Set(2.5);
  auto& lat = reg.AddHistogram("app_seconds", "Latency.", {"op"}, std::vector<double>{0.1, 1});
  lat.With({"get"}).Observe(0.1);  // le is inclusive
  lat.With({"get"}).Observe(0.5);
  lat.With({"get"}).Observe(7);
  EXPECT_EQ(reg.Expose(),
            "# HELP app_in_flight In flight.\n"
            "# TYPE app_in_flight gauge\n"
            "app_in_flight 2.5\n"
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{method=\"DELETE\",code=\"404\"} 1\n"
            "app_requests_total{method=\"GET\",code=\"200\"} 3\n"
            "# HELP app_seconds Latency.\n"
            "# TYPE app_seconds histogram\n"
            "app_seconds_bucket{op=\"get\",le=\"0.1\"} 1\n"
            "app_seconds_bucket{op=\"get\",le=\"1\"} 2\n"
            "app_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
            "app_seconds_sum{op=\"get\"} 7.6\n"
            "app_seconds_count{op=\"get\"} 3\n");
}

TEST(Metrics, HistogramObservationsFromManyThreadsAllCounted) {
  Registry reg;
  Histogram& h = reg.AddHistogram("h_seconds", "h", {}).With({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.Observe(0.002);
    });
  }
  for (auto& t : threads) t.join();
  Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_NEAR(s.sum, 80.0, 1e-6);
  EXPECT_EQ(s.cumulative[1], 0u);      // le 0.001
  EXPECT_EQ(s.cumulative[2], 40000u);  // le 0.0025
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry reg;
  reg.AddCounter("e_total", "line\\one\ntwo", {"v"}).With({"a\"b\\c\nd"}).Inc();
  EXPECT_EQ(reg.Expose(),
            "# HELP e_total line\\\\one\\ntwo\n"
            "# TYPE e_total counter\n"
            "e_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Metrics, SeriesBeyondTheBoundShareOneOtherSeries) {
  Registry reg;
  auto& f = reg.AddCounter("b_total", "b", {"k"}, /*max_series=*/3);
  f.With({"a"}).Inc();
  f.With({"b"}).Inc();
  f.With({"c"}).Inc();
  f.With({"d"}).Inc();
  f.With({"a"}).Inc();  // existing series still found
  EXPECT_EQ(&f.With({"c"}), &f.With({"d"}));
  EXPECT_EQ(reg.Expose(),
            "# HELP b_total b\n# TYPE b_total counter\n"
            "b_total{k=\"a\"} 2\nb_total{k=\"b\"} 1\nb_total{k=\"other\"} 2\n");
}

TEST(Metrics, SameShapeRegisteredTwiceIsOneFamily) {
  Registry reg;
  auto& a = reg.AddCounter("s_total", "s", {"x"});
  auto& b = reg.AddCounter("s_total", "s", {"x"});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsDeathTest, ConflictingOrInvalidRegistrationAborts) {
  EXPECT_DEATH(
      {
        Registry reg;
        reg.AddCounter("s_total", "s", {"x"});
        reg.AddGauge("s_total", "s", {"x"});
      },
      "registered twice.*s_total");
  EXPECT_DEATH(
      {
        Registry reg;
        reg.AddCounter("s_total", "s", {"x"});
        reg.AddCounter("s_total", "s", {"y"});
      },
      "s_total");
  EXPECT_DEATH({ Registry().AddCounter("bad-name", "x"); }, "invalid metric name: bad-name");
  EXPECT_DEATH({ Registry().AddCounter("ok_total", "x", {"__reserved"}); }, "invalid label");
  EXPECT_DEATH({ Registry().AddHistogram("h", "x", {"le"}); }, "invalid label");
  EXPECT_DEATH(
      {
        Registry reg;
        reg.AddCounter("w_total", "x", {"a", "b"}).With({"only-one"});
      },
      "wrong number of label values");
}

TEST(Metrics, CallbacksAreReadAtScrapeTimeAndRemovedWithTheirRegistration) {
  Registry reg;
  reg.AddCounter("b_total", "b").With({}).Inc();
  double depth = 4;
  Registration r1 = reg.AddCallback("a_depth", "Depth.", Type::kGauge, [&] { return depth; });
  Registration r2 = reg.AddCallback("c_events_total", "Events.", Type::kCounter, {"endpoint"}, [] {
    return std::vector<Sample>{{{"z"}, 1}, {{"a"}, 2}};
  });
  depth = 5;
  EXPECT_EQ(reg.Expose(),
            "# HELP a_depth Depth.\n# TYPE a_depth gauge\na_depth 5\n"
            "# HELP b_total b\n# TYPE b_total counter\nb_total 1\n"
            "# HELP c_events_total Events.\n# TYPE c_events_total counter\n"
            "c_events_total{endpoint=\"a\"} 2\nc_events_total{endpoint=\"z\"} 1\n");
  r1.Reset();
  r2 = Registration();
  EXPECT_EQ(reg.Expose(), "# HELP b_total b\n# TYPE b_total counter\nb_total 1\n");
  // The name is free again once its callback is gone.
  Registration r3 = reg.AddCallback("a_depth", "Depth.", Type::kGauge, [] { return 1.0; });
  EXPECT_NE(reg.Expose().find("a_depth 1\n"), std::string::npos);
}

TEST(Metrics, RegistrationMayOutliveTheRegistry) {
  Registration r;
  {
    Registry reg;
    r = reg.AddCallback("x", "x", Type::kGauge, [] { return 1.0; });
  }
  r.Reset();  // no crash, nothing to do
}

TEST(MetricsTextFormat, ValuesAndNames) {
  std::string s;
  AppendValue(s, 1e21);
  s += ' ';
  AppendValue(s, 0.25);
  s += ' ';
  AppendValue(s, -std::numeric_limits<double>::infinity());
  s += ' ';
  AppendValue(s, std::numeric_limits<double>::quiet_NaN());
  s += ' ';
  AppendValue(s, 42);
  EXPECT_EQ(s, "1e+21 0.25 -Inf NaN 42");
  EXPECT_TRUE(ValidMetricName("registry:http_requests_total"));
  EXPECT_FALSE(ValidMetricName("9lives"));
  EXPECT_FALSE(ValidMetricName(""));
  EXPECT_TRUE(ValidLabelName("_x1"));
  EXPECT_FALSE(ValidLabelName("a:b"));
}

}  // namespace
}  // namespace berth::metrics
