#pragma once
// The notification and audit settings, decoded from the raw YAML the config loader keeps
// (config::Config::raw_sections): Distribution's `notifications` section, plus Berth's own
// `berth.notifications` (defaults for every endpoint, the queue directory) and `berth.audit`.
//
//   notifications:
//     events: {includereferences: true}
//     endpoints:
//       - name: ci                       # required, unique
//         url: https://ci.example/hook   # required, http or https
//         headers: {Authorization: [Bearer x]}
//         timeout: 1s                    # per delivery attempt (default 1s)
//         threshold: 10                  # failures retried at `backoff` before it grows
//         backoff: 1s                    # first wait after a failure (default 1s)
//         ignoredmediatypes: [application/octet-stream]
//         ignore: {mediatypes: [...], actions: [pull]}
//         # Berth's own:
//         secret: "..."                  # HMAC-SHA256 signature header (16+ characters)
//         format: distribution           # or cloudevents
//         maxbackoff: 5m                 # the cap of the doubling wait
//         deadletterafter: 24h           # undelivered this long: to the dead-letter file
//         maxqueuesize: 64MiB            # on disk; oldest dropped (and counted) beyond it
//   berth:
//     notifications: {directory: /var/lib/berth/notifications, maxqueuesize: 64MiB,
//                     deadletterafter: 24h, maxbackoff: 5m}
//     audit: {enabled: true, path: /var/log/berth/audit.log, maxsize: 100MiB, maxbackups: 5}
//
// Every error is kInvalidArgument and starts with the key's dotted path
// ("notifications.endpoints[1].url: ..."). A security setting that is wrong (an empty or short
// secret, a URL with credentials over plain http...) refuses to start rather than being ignored.
// Thread-safe (pure functions).

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "config/config.h"

namespace berth::notify {

enum class Format { kDistribution, kCloudEvents };

struct EndpointConfig {
  std::string name;
  bool disabled = false;
  std::string url;
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;
  std::chrono::milliseconds timeout{1000};
  uint32_t threshold = 10;
  std::chrono::milliseconds backoff{1000};
  std::vector<std::string> ignored_media_types;  // ignoredmediatypes and ignore.mediatypes
  std::vector<std::string> ignored_actions;      // ignore.actions
  std::string secret;                            // "" = unsigned
  Format format = Format::kDistribution;
  std::chrono::milliseconds max_backoff{5 * 60 * 1000};
  std::chrono::milliseconds dead_letter_after{24 * 3600 * 1000};
  uint64_t max_queue_bytes = 64 << 20;
  std::string directory;  // this endpoint's queue directory (under the notifications directory)
};

struct NotificationsConfig {
  bool include_references = false;
  std::vector<EndpointConfig> endpoints;  // enabled and disabled ones
  // Where the queues live. Default: <storage root>/_berth/notifications for the filesystem
  // driver; required otherwise when an endpoint is enabled.
  std::string directory;
};

struct AuditConfig {
  bool enabled = false;
  std::string path;                 // "" or "-": standard output
  uint64_t max_bytes = 100 << 20;   // rotate beyond this size (0: never)
  uint32_t max_backups = 5;         // audit.log.1 .. audit.log.N
};

Result<NotificationsConfig> DecodeNotifications(const config::Config& cfg);
Result<AuditConfig> DecodeAudit(const config::Config& cfg);

}  // namespace berth::notify
