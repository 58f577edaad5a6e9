// Request metrics: labels from the route, method and status, through the per-thread series cache.
#include "observe/request_metrics.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace berth::observe {
namespace {

void Record(RequestMetrics& m, std::string route, std::string method, int status) {
  http::Request req;
  req.method = std::move(method);
  req.route = route;  // a non-static string: the cache must compare contents, not addresses
  m.Started(req);
  m.Finished({&req, status, 10, 3, std::chrono::microseconds(100), {}});
}

bool Has(const metrics::Registry& r, const std::string& sample) {
  return r.Expose().find("\n" + sample + "\n") != std::string::npos;
}

TEST(RequestMetrics, CountsByRouteMethodAndCodeThroughTheCache) {
  metrics::Registry reg;
  RequestMetrics m(reg);
  for (int i = 0; i < 3; ++i) Record(m, "manifest", "GET", 200);
  Record(m, "manifest", "BREW", 200);
  Record(m, "blob", "GET", 999);
  Record(m, "manifest", "GET", 404);
  EXPECT_TRUE(
      Has(reg, R"(registry_http_requests_total{handler="manifest",method="GET",code="200"} 3)"))
      << reg.Expose();
  EXPECT_TRUE(
      Has(reg, R"(registry_http_requests_total{handler="manifest",method="other",code="200"} 1)"));
  EXPECT_TRUE(
      Has(reg, R"(registry_http_requests_total{handler="blob",method="GET",code="other"} 1)"));
  EXPECT_TRUE(
      Has(reg, R"(registry_http_requests_total{handler="manifest",method="GET",code="404"} 1)"));
  EXPECT_TRUE(Has(reg, R"(registry_http_in_flight_requests{handler="manifest"} 0)"));
  EXPECT_TRUE(Has(reg, R"(berth_http_sent_bytes_total{handler="manifest"} 50)"));
  EXPECT_TRUE(Has(reg, R"(berth_http_received_bytes_total{handler="blob"} 3)"));
  EXPECT_TRUE(Has(
      reg, R"(registry_http_request_duration_seconds_count{handler="manifest",method="GET"} 4)"));
}

TEST(RequestMetrics, AnotherInstanceOnTheSameThreadNeverUsesTheFirstOnesSeries) {
  const std::string get_200 =
      R"(registry_http_requests_total{handler="manifest",method="GET",code="200"} 1)";
  metrics::Registry first_reg, second_reg;
  RequestMetrics first(first_reg);
  Record(first, "manifest", "GET", 200);
  {
    RequestMetrics second(second_reg);  // the thread's cache holds the first one's series
    Record(second, "manifest", "GET", 200);
  }
  EXPECT_TRUE(Has(first_reg, get_200)) << first_reg.Expose();
  EXPECT_TRUE(Has(second_reg, get_200)) << second_reg.Expose();
  // A third, perhaps at the second's address, does not find the destroyed second's entries.
  metrics::Registry third_reg;
  RequestMetrics third(third_reg);
  Record(third, "manifest", "GET", 200);
  EXPECT_TRUE(Has(third_reg, get_200)) << third_reg.Expose();
}

}  // namespace
}  // namespace berth::observe
