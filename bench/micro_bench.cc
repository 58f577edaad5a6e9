// Microbenchmarks of the per-request hot paths: route matching, digest and reference parsing,
// manifest validation and the error writer. Run: build/bench/berth_micro_bench (bench/run.sh runs
// it with --benchmark_min_time to keep it short).

#include <benchmark/benchmark.h>

#include <string>

#include "api/errors.h"
#include "api/router.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/names.h"
#include "storage/manifest.h"

namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kDigest = "sha256:" + kHex;

void BM_MatchRouteManifestTag(benchmark::State& state) {
  const std::string path = "/v2/library/team/app/manifests/v1.2.3";
  for (auto _ : state) {
    auto r = berth::api::MatchRoute("GET", path, "/");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchRouteManifestTag);

void BM_MatchRouteBlob(benchmark::State& state) {
  const std::string path = "/v2/library/team/app/blobs/" + kDigest;
  for (auto _ : state) {
    auto r = berth::api::MatchRoute("GET", path, "/");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchRouteBlob);

void BM_MatchRouteUpload(benchmark::State& state) {
  const std::string path = "/v2/team/app/blobs/uploads/7f1c7a32-0d1e-4b9e-8f0a-2c1f3b7e9d10";
  for (auto _ : state) {
    auto r = berth::api::MatchRoute("GET", path, "/");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchRouteUpload);

void BM_MatchRoutePercentEncoded(benchmark::State& state) {
  const std::string path = "/v2/team%2Fapp/tags/list";
  for (auto _ : state) {
    auto r = berth::api::MatchRoute("GET", path, "/");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchRoutePercentEncoded);

void BM_DigestParse(benchmark::State& state) {
  for (auto _ : state) {
    auto d = berth::Digest::Parse(kDigest);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DigestParse);

void BM_DigestParseInvalid(benchmark::State& state) {
  const std::string bad = "sha256:" + kHex.substr(0, 63) + "G";
  for (auto _ : state) {
    auto d = berth::Digest::Parse(bad);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DigestParseInvalid);

void BM_ParseReferenceTag(benchmark::State& state) {
  for (auto _ : state) {
    auto r = berth::ParseReference("v1.2.3-alpine");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseReferenceTag);

void BM_ParseReferenceDigest(benchmark::State& state) {
  for (auto _ : state) {
    auto r = berth::ParseReference(kDigest);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseReferenceDigest);

std::string Descriptor(const char* media_type, int i, size_t size) {
  std::string hex = kHex;
  hex[0] = "0123456789abcdef"[i % 16];
  hex[1] = "0123456789abcdef"[(i / 16) % 16];
  return std::string(R"({"mediaType":")") + media_type + R"(","digest":"sha256:)" + hex +
         R"(","size":)" + std::to_string(size) + "}";
}

// An OCI image manifest with `layers` layers (a typical image has 5-15).
std::string ImageManifest(int layers) {
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                  R"("config":)" +
                  Descriptor("application/vnd.oci.image.config.v1+json", 255, 1469) +
                  R"(,"layers":[)";
  for (int i = 0; i < layers; ++i) {
    if (i) m += ",";
    m += Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", i, 1000000 + i);
  }
  m += R"(],"annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}})";
  return m;
}

void BM_ParseManifestImage(benchmark::State& state) {
  const std::string m = ImageManifest(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = berth::storage::ParseManifest(m, berth::storage::kOciManifest);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.size()));
}
BENCHMARK(BM_ParseManifestImage)->Arg(1)->Arg(10)->Arg(100);

void BM_ParseManifestIndex(benchmark::State& state) {
  std::string m =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
  for (int i = 0; i < 8; ++i) {
    if (i) m += ",";
    std::string d = Descriptor("application/vnd.oci.image.manifest.v1+json", i, 1000 + i);
    d.pop_back();
    m += d + R"(,"platform":{"architecture":"amd64","os":"linux"}})";
  }
  m += "]}";
  for (auto _ : state) {
    auto r = berth::storage::ParseManifest(m, "");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.size()));
}
BENCHMARK(BM_ParseManifestIndex);

void BM_ErrorResponseBlobUnknown(benchmark::State& state) {
  berth::Error e{berth::ErrorCode::kBlobUnknown,
                 "blob " + kDigest + " is not in repository \"team/app\"",
                 {},
                 0};
  for (auto _ : state) {
    auto r = berth::api::ErrorResponse(e, /*head_request=*/false);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ErrorResponseBlobUnknown);

void BM_ErrorResponseHead(benchmark::State& state) {
  berth::Error e{berth::ErrorCode::kManifestUnknown, "manifest unknown", {}, 0};
  for (auto _ : state) {
    auto r = berth::api::ErrorResponse(e, /*head_request=*/true);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ErrorResponseHead);

}  // namespace

BENCHMARK_MAIN();
