#pragma once
// Pull-through cache metrics for the Prometheus endpoint, read from each upstream's own counters
// (proxy/upstreams.h) at scrape time, labelled by upstream: its prefix ("hub/"), or its URL when it
// mirrors every repository (registry:2's proxy.remoteurl). Bounded: the values come from the
// configuration.
//   berth_proxy_hits_total{upstream}               served from the cache (blobs, manifests, tags
//                                                  within their TTL or unchanged upstream)
//   berth_proxy_misses_total{upstream}             had to be fetched
//   berth_proxy_upstream_requests_total{upstream}  HTTP requests sent upstream (tokens included)
//   berth_proxy_blob_fetches_total{upstream}       single-flight blob fetches started
//   berth_proxy_fetched_bytes_total{upstream}      body bytes received (blobs and manifests)
//   berth_proxy_errors_total{upstream}             upstream down, 5xx, 429, broken fetches
//   berth_proxy_stale_serves_total{upstream}       cached tags served unchecked (upstream down)
// The registrations live as long as `proxy`. Thread-safe.

#include "metrics/registry.h"
#include "proxy/proxy.h"

namespace berth::proxy {

void RegisterMetrics(metrics::Registry& registry, Proxy& proxy);

}  // namespace berth::proxy
