#pragma once
// What the API tells the rest of the registry after it has done something: the event seam.
//
// The handlers build one Event per completed operation and pass it to every EventSink in
// ApiOptions::event_sinks, on the request's own thread, after the operation succeeded (and, for
// refusals, after the refusal was decided):
//   push    manifest PUT (201), blob upload completed by PUT or monolithic POST (201)
//   pull    manifest GET/HEAD (200), blob GET/HEAD (200/206)
//   delete  manifest DELETE by digest, tag DELETE (manifest DELETE by tag), blob DELETE (202)
//   mount   cross-repository mount that linked the blob (201)
//   login   the built-in token service issued a token (200)
//   denied  authentication or authorization refused the request (401/403/429), or the token
//           service refused credentials; `reason` says why
// Sinks are the notification queues (notify/), the audit log and the replication trigger.
//
// Contract for sinks: Emit is called concurrently from the server's io threads and must not block
// (no network, no fsync, no waiting for a lock held across I/O): copy what is needed into a bounded
// in-memory queue and return. It must not throw. `manifest` points at the manifest's bytes only for
// the duration of the call (empty for non-manifest events); a sink that wants the references parses
// them (storage::ParseManifest) only when it needs them, so the API pays nothing for it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth::api {

enum class EventAction { kPush, kPull, kDelete, kMount, kLogin, kDenied };

// "push", "pull", "delete", "mount", "login", "denied".
std::string_view ActionName(EventAction action);

// The request that caused an event (Distribution's RequestRecord).
struct EventRequest {
  std::string id;          // unique per request (a UUID)
  std::string addr;        // the client's "ip:port"
  std::string host;        // the Host header the client sent
  std::string method;      // "PUT", "GET", ...
  std::string user_agent;  // the User-Agent header
};

struct Event {
  EventAction action = EventAction::kPull;
  std::chrono::system_clock::time_point time;
  std::string repository;       // "" for login/denied outside a repository
  std::string from_repository;  // mount: the source repository, when the client named it
  std::string tag;              // manifest by tag, tag delete
  std::string digest;           // "sha256:..." ("" for a tag delete)
  std::string media_type;       // manifest media type; blobs: application/octet-stream
  uint64_t size = 0;            // bytes of the manifest or blob (0 when unknown: deletes)
  std::string url;              // where the content can be fetched ("" for deletes)
  std::string_view manifest;    // the manifest's bytes, valid during Emit only (see above)
  EventRequest request;
  std::string actor;   // the authenticated subject ("" = anonymous or no authentication)
  int status = 0;      // the HTTP status the client got
  std::string reason;  // denied: why
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Thread-safe; must not block or throw (see the contract above).
  virtual void Emit(const Event& event) noexcept = 0;
};

using EventSinkPtr = std::shared_ptr<EventSink>;

}  // namespace berth::api
