#pragma once
// The wire formats of a notification, produced here and nowhere else.
//
// Distribution's event (registry:2's `notifications` package, envelope media type
// application/vnd.docker.distribution.events.v1+json), one JSON object per event:
//   {"id","timestamp","action",
//    "target":{"mediaType","size","digest","length","repository","fromRepository","url","tag",
//              "references":[{"mediaType","digest","size"}...]},
//    "request":{"id","addr","host","method","useragent"},
//    "actor":{"name"}, "source":{"addr","instanceID"}}
// Empty strings and zero sizes are left out as Go's `omitempty` does (request.id, method and
// useragent are always present, as in registry:2). The body POSTed is {"events":[<event>]}.
//
// CloudEvents 1.0, structured JSON mode (Content-Type application/cloudevents+json):
//   {"specversion":"1.0","id":<event id>,"source":"berth://<source addr>",
//    "type":"io.berth.registry.<action>","time":<timestamp>,"subject":"<repository>[:tag|@digest]",
//    "datacontenttype":"application/json","data":<the Distribution event>}
//
// Signature: with a secret, X-Berth-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>.
// Thread-safe (pure functions).

#include <string>
#include <string_view>

#include "api/events.h"
#include "common/error.h"

namespace berth::notify {

inline constexpr std::string_view kDistributionMediaType =
    "application/vnd.docker.distribution.events.v1+json";
inline constexpr std::string_view kCloudEventsMediaType =
    "application/cloudevents+json; charset=utf-8";
inline constexpr std::string_view kSignatureHeader = "X-Berth-Signature-256";
inline constexpr std::string_view kEventIdHeader = "X-Berth-Event-Id";

// The registry node that generated the events (Distribution's SourceRecord).
struct Source {
  std::string addr;         // "hostname:port"
  std::string instance_id;  // a UUID per process
};

// Whether `action` is one Distribution's notifications know (push, pull, delete, mount); login and
// denied are for the audit log only.
bool IsNotifiable(api::EventAction action);

// The Distribution event object for `e` with `id`, as compact JSON. With `include_references` and
// manifest bytes in the event, target.references lists the manifest's config and layers (image) or
// manifests (index), as registry:2's includereferences does.
std::string EventJson(const api::Event& e, std::string_view id, const Source& source,
                      bool include_references);

// The request body for one stored event (EventJson's output). Errors: kInvalidArgument when the
// stored text is not an event object (a corrupt record that passed its checksum).
Result<std::string> DistributionBody(std::string_view event_json);
Result<std::string> CloudEventBody(std::string_view event_json);

// "sha256=<hex>" of HMAC-SHA256(secret, body).
std::string Signature(std::string_view secret, std::string_view body);

}  // namespace berth::notify
