#pragma once
// Replication rules: Berth's key `berth.replication`, decoded from the raw YAML config/ keeps for
// it (Config::raw_sections["berth.replication"]). docs/replication.md is the user's guide:
//
//   berth:
//     replication:
//       directory: /var/lib/berth/replication  # queues and status; default <root>/_berth/replication
//       maxbackoff: 5m          # cap of the retry back-off while a destination is down
//       rules:
//         - name: eu-west       # required, unique; [A-Za-z0-9._-] (queue directory, metric label)
//           url: https://eu.example.com   # the other registry (scheme://host[:port])
//           direction: push     # push: from here to there (default); pull: from there into here
//           repository: "team/*"          # glob of (source) repositories; default every one
//           tags: '^v[0-9.]+$'            # regular expression, whole tag; default every tag
//           prefix: mirror/     # prepended to repository names at the destination
//           username: robot     # Basic credentials, also used for the bearer-token flow
//           password: s3cret
//           cafile: /etc/berth/eu-ca.pem  # TLS roots for the other registry
//           insecure: false     # true: no TLS verification (never the default)
//           trigger: [onpush, schedule]   # onpush (push rules only), schedule, or both
//           interval: 1h        # schedule: a full sync of the rule this often
//           deletes: false      # onpush: propagate tag and manifest deletes
//           concurrency: 2      # images copied at once by a scheduled sync
//           bandwidth: 10MB     # bytes per second over all of the rule's streams; 0: unlimited
//
// Every error is kInvalidArgument naming the key's dotted path ("berth.replication.rules.0.url:
// ..."). Unknown keys inside a rule are errors (a misspelt `deletes` must not silently keep or
// drop deletes). Thread-safety: pure functions; the structs are immutable once decoded.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "transfer/snapshot.h"

namespace berth::replicate {

enum class Direction { kPush, kPull };

struct Rule {
  std::string name;
  std::string url;
  Direction direction = Direction::kPush;
  transfer::Selection selection;  // of source repositories and tags
  std::string prefix;
  std::string username, password, cafile;
  bool insecure = false;
  bool on_push = false;
  bool scheduled = false;
  std::chrono::milliseconds interval = std::chrono::hours(1);
  bool deletes = false;
  int concurrency = 2;
  uint64_t bandwidth = 0;  // bytes per second; 0 unlimited
};

struct ReplicationConfig {
  std::string directory;  // "" when no rule needs one
  std::chrono::milliseconds max_backoff = std::chrono::minutes(5);
  std::vector<Rule> rules;
};

// Decodes `berth.replication`. An absent section gives no rules.
Result<ReplicationConfig> DecodeConfig(const config::Config& cfg);

}  // namespace berth::replicate
