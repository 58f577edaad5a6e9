#pragma once
// Replication metrics for the Prometheus endpoint, read from the service's rule statuses at
// scrape time, labelled by rule name (bounded: the names come from the configuration):
//   berth_replication_images_total{rule}              counter  images copied
//   berth_replication_bytes_total{rule}               counter  blob bytes uploaded
//   berth_replication_deletes_total{rule}             counter  deletes propagated
//   berth_replication_failures_total{rule}            counter  failed runs and attempts
//   berth_replication_pending_items{rule}             gauge    queued on-push items
//   berth_replication_lag_seconds{rule}               gauge    age of the oldest pending item
//   berth_replication_last_run_timestamp_seconds{rule} gauge   end of the last run (0: never)
// Keep the returned registrations alive no longer than the service. Thread-safe.

#include <memory>
#include <vector>

#include "metrics/registry.h"

namespace berth::replicate {

class Service;

std::vector<metrics::Registration> RegisterMetrics(metrics::Registry& registry,
                                                   std::shared_ptr<Service> service);

}  // namespace berth::replicate
