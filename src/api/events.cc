// Builds the API's events (api/events.h) from a request context and hands them to the sinks.
#include "api/events.h"

#include "api/internal.h"
#include "common/enum_names.h"
#include "common/strings.h"
#include "storage/manifest.h"

namespace berth::api {

constexpr std::array<std::string_view, 6> kActionNames = {"push",  "pull",  "delete",
                                                          "mount", "login", "denied"};
static_assert(kActionNames.size() == static_cast<size_t>(EventAction::kDenied) + 1);

std::string_view ActionName(EventAction action) {
  return EnumName(action, kActionNames, "unknown");
}

namespace internal {
namespace {

Event Base(const Ctx& c, EventAction action, int status) {
  Event e;
  e.action = action;
  e.time = std::chrono::system_clock::now();
  e.repository = c.route.name;
  e.request.id = NewUuid();
  e.request.addr = c.req.remote_addr;
  e.request.host = std::string(c.req.headers.Get("Host"));
  e.request.method = c.req.method;
  e.request.user_agent = std::string(c.req.headers.Get("User-Agent"));
  e.actor = c.subject;
  e.status = status;
  return e;
}

void Send(const Ctx& c, const Event& e) {
  for (const EventSinkPtr& sink : c.opt.event_sinks) sink->Emit(e);
}

}  // namespace

void EmitManifest(const Ctx& c, EventAction action, const Reference& ref, const Digest* digest,
                  std::string_view media_type, std::string_view bytes, int status) {
  if (c.opt.event_sinks.empty()) return;
  Event e = Base(c, action, status);
  e.tag = ref.tag;
  if (digest == nullptr && ref.is_digest()) digest = &ref.digest;
  if (digest != nullptr) e.digest = digest->str();
  e.media_type = media_type.empty() && !bytes.empty() ? storage::DetectMediaType(bytes)
                                                      : std::string(media_type);
  e.size = bytes.size();
  e.manifest = bytes;
  if (action != EventAction::kDelete && digest != nullptr) {
    e.url = Url(c, "v2/" + c.route.name + "/manifests/" + e.digest);
  }
  Send(c, e);
}

void EmitBlob(const Ctx& c, EventAction action, const Digest& d, uint64_t size, int status,
              std::string_view from) {
  if (c.opt.event_sinks.empty()) return;
  Event e = Base(c, action, status);
  e.digest = d.str();
  e.size = size;
  e.from_repository = std::string(from);
  if (action != EventAction::kDelete) {
    e.media_type = "application/octet-stream";
    e.url = Url(c, "v2/" + c.route.name + "/blobs/" + e.digest);
  }
  Send(c, e);
}

void EmitAuth(const Ctx& c, EventAction action, std::string_view repository, int status,
              std::string_view reason) {
  if (c.opt.event_sinks.empty()) return;
  Event e = Base(c, action, status);
  e.repository = std::string(repository);
  e.reason = std::string(reason);
  Send(c, e);
}

}  // namespace internal
}  // namespace berth::api
