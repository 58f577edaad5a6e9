// Reading the fields of a request body, and the JSON shapes several handlers share.
#include "admin/internal.h"

namespace berth::admin::internal {
namespace {

std::unexpected<Error> BadField(const char* field, const char* want) {
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string("field \"") + field + "\": want " + want);
}

}  // namespace

Result<std::string> OptionalString(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::string();
  if (!it->is_string()) return BadField(field, "a string");
  return it->get<std::string>();
}

Result<std::string> String(const nlohmann::json& body, const char* field) {
  BERTH_ASSIGN_OR_RETURN(std::string s, OptionalString(body, field));
  if (s.empty()) return BadField(field, "a non-empty string");
  return s;
}

Result<bool> Bool(const nlohmann::json& body, const char* field, bool fallback) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return BadField(field, "true or false");
  return it->get<bool>();
}

Result<std::vector<std::string>> Strings(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return BadField(field, "a list of strings");
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array() || it->empty() || it->size() > 100) {
    return BadField(field, "a list of 1 to 100 strings");
  }
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) return BadField(field, "a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<Reply> Done(const Status& st) {
  if (!st) return std::unexpected(st.error());
  return NoContent();
}

nlohmann::json QuotaJson(const meta::QuotaInfo& q) {
  return {{"namespace", q.ns},
          {"limit_bytes", q.limit_bytes},
          {"used_bytes", q.used_bytes},
          {"limit", q.limit_bytes ? meta::FormatBytes(q.limit_bytes) : "none"},
          {"used", meta::FormatBytes(q.used_bytes)}};
}

}  // namespace berth::admin::internal
