// Distribution and CloudEvents bodies, and the HMAC signature (formats documented in envelope.h).
#include "notify/envelope.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "storage/manifest.h"

namespace berth::notify {
namespace {

using nlohmann::json;

void SetIf(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

json Descriptor(const storage::Descriptor& d) {
  return {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
}

json References(std::string_view manifest, std::string_view media_type) {
  json refs = json::array();
  auto parsed = storage::ParseManifest(manifest, media_type);
  if (!parsed) return refs;
  if (parsed->config) refs.push_back(Descriptor(*parsed->config));
  for (const auto& l : parsed->layers) refs.push_back(Descriptor(l));
  for (const auto& m : parsed->manifests) refs.push_back(Descriptor(m));
  return refs;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Result<json> ParseEvent(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "stored event is not an event object");
  }
  return j;
}

}  // namespace

bool IsNotifiable(api::EventAction action) {
  switch (action) {
    case api::EventAction::kPush:
    case api::EventAction::kPull:
    case api::EventAction::kDelete:
    case api::EventAction::kMount:
      return true;
    default:
      return false;
  }
}

std::string EventJson(const api::Event& e, std::string_view id, const Source& source,
                      bool include_references) {
  json target = json::object();
  SetIf(target, "mediaType", e.media_type);
  if (e.size > 0) target["size"] = e.size;
  SetIf(target, "digest", e.digest);
  if (e.size > 0) target["length"] = e.size;
  SetIf(target, "repository", e.repository);
  SetIf(target, "fromRepository", e.from_repository);
  SetIf(target, "url", e.url);
  SetIf(target, "tag", e.tag);
  if (include_references && !e.manifest.empty()) {
    json refs = References(e.manifest, e.media_type);
    if (!refs.empty()) target["references"] = std::move(refs);
  }
  json request = {{"id", e.request.id}};
  SetIf(request, "addr", e.request.addr);
  SetIf(request, "host", e.request.host);
  request["method"] = e.request.method;
  request["useragent"] = e.request.user_agent;
  json actor = json::object();
  SetIf(actor, "name", e.actor);
  json src = json::object();
  SetIf(src, "addr", source.addr);
  SetIf(src, "instanceID", source.instance_id);
  json j = {{"id", std::string(id)},
            {"timestamp", FormatRfc3339(e.time)},
            {"action", std::string(api::ActionName(e.action))},
            {"target", std::move(target)},
            {"request", std::move(request)},
            {"actor", std::move(actor)},
            {"source", std::move(src)}};
  return Dump(j);
}

Result<std::string> DistributionBody(std::string_view event_json) {
  BERTH_ASSIGN_OR_RETURN(json event, ParseEvent(event_json));
  json envelope = {{"events", json::array({std::move(event)})}};
  return Dump(envelope);
}

Result<std::string> CloudEventBody(std::string_view event_json) {
  BERTH_ASSIGN_OR_RETURN(json event, ParseEvent(event_json));
  const json& target = event.value("target", json::object());
  std::string subject = target.value("repository", "");
  if (std::string tag = target.value("tag", ""); !tag.empty()) {
    subject += ":" + tag;
  } else if (std::string digest = target.value("digest", ""); !digest.empty()) {
    subject += "@" + digest;
  }
  std::string source_addr = event.value("source", json::object()).value("addr", "");
  json ce = {{"specversion", "1.0"},
             {"id", event["id"]},
             {"source", "berth://" + (source_addr.empty() ? std::string("registry") : source_addr)},
             {"type", "io.berth.registry." + event.value("action", std::string("unknown"))},
             {"time", event.value("timestamp", "")},
             {"datacontenttype", "application/json"}};
  if (!subject.empty()) ce["subject"] = subject;
  ce["data"] = std::move(event);
  return Dump(ce);
}

std::string Signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

}  // namespace berth::notify
