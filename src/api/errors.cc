#include "api/errors.h"

#include <nlohmann/json.hpp>

#include "common/log.h"

namespace berth::api {
namespace {
std::atomic<uint64_t> g_internal_errors{0};
}

uint64_t InternalErrorCount() { return g_internal_errors.load(std::memory_order_relaxed); }

http::Response ErrorResponse(const Error& error, bool head_request) {
  const ErrorCodeInfo& info = ErrorInfo(error.code);
  http::Response res;
  res.status = error.HttpStatus();
  nlohmann::json item;
  item["code"] = std::string(info.wire);
  if (info.internal) {
    g_internal_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("internal error: {}", error.ToString());
    item["message"] = "internal error";
  } else {
    item["message"] = error.message.empty() ? std::string(info.message) : error.message;
  }
  if (!error.detail.empty()) {
    item["detail"] = nlohmann::json::parse(error.detail, nullptr, false);
    if (item["detail"].is_discarded()) item["detail"] = error.detail;
  } else {
    item["detail"] = nullptr;
  }
  nlohmann::json body;
  body["errors"] = nlohmann::json::array({item});
  res.headers.Add("Content-Type", "application/json; charset=utf-8");
  std::string text = body.dump();
  text += '\n';
  if (head_request) {
    res.content_length = text.size();
  } else {
    res.body = std::move(text);
  }
  res.log_note = error.ToString();
  return res;
}

}  // namespace berth::api
