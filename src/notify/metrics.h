#pragma once
// Notification and audit metrics for the Prometheus endpoint, read from the services' own counters
// at scrape time (metrics/registry.h callbacks), labelled by endpoint name (bounded: the names come
// from the configuration):
//   berth_notifications_pending_events{endpoint}          gauge  events queued on disk
//   berth_notifications_pending_bytes{endpoint}           gauge  their payload bytes
//   berth_notifications_oldest_pending_age_seconds{endpoint} gauge  0 when nothing is pending
//   berth_notifications_deliveries_total{endpoint}        counter  acknowledged by the receiver
//   berth_notifications_failures_total{endpoint}          counter  failed attempts
//   berth_notifications_dropped_total{endpoint}           counter  oldest dropped, queue full
//   berth_notifications_dead_lettered_total{endpoint}     counter  moved to the dead-letter file
//   berth_notifications_memory_dropped_total              counter  lost before reaching the disk
//   berth_audit_dropped_total                             counter  audit lines lost (writer behind)
// Keep the returned registrations alive no longer than the Runtime. Thread-safe.

#include <vector>

#include "metrics/registry.h"
#include "notify/runtime.h"

namespace berth::notify {

std::vector<metrics::Registration> RegisterMetrics(metrics::Registry& registry,
                                                   const Runtime& runtime);

}  // namespace berth::notify
