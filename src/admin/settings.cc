// Quotas (limits with usage) and repository visibility.
#include "admin/internal.h"

namespace berth::admin::internal {

Result<Reply> ListQuotas(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto quotas, c.ops.Quotas(c.caller, ""));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& q : quotas) out.push_back(QuotaJson(q));
  return Reply{200, {{"quotas", out}}};
}

Result<Reply> GetQuota(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto quotas, c.ops.Quotas(c.caller, c.args[0]));
  return Reply{200, QuotaJson(quotas.at(0))};
}

Result<Reply> SetQuota(Call& c) {
  // {"limit": "10GiB"} or {"limit": 1073741824}; 0 removes the limit.
  auto it = c.body.find("limit");
  std::string size;
  if (it != c.body.end() && it->is_number_unsigned()) {
    size = std::to_string(it->get<uint64_t>());
  } else if (it != c.body.end() && it->is_string()) {
    size = it->get<std::string>();
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "field \"limit\": want a size such as \"10GiB\" or a number of bytes");
  }
  BERTH_RETURN_IF_ERROR(c.ops.SetQuota(c.caller, c.args[0], size));
  BERTH_ASSIGN_OR_RETURN(auto quotas, c.ops.Quotas(c.caller, c.args[0]));
  return Reply{200, QuotaJson(quotas.at(0))};
}

Result<Reply> GetVisibility(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto v, c.ops.Visibility(c.caller, c.args[0]));
  return Reply{200, {{"repository", c.args[0]}, {"visibility", v}}};
}

Result<Reply> SetVisibility(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto v, String(c.body, "visibility"));
  BERTH_RETURN_IF_ERROR(c.ops.SetVisibility(c.caller, c.args[0], v));
  return Reply{200, {{"repository", c.args[0]}, {"visibility", v}}};
}

Result<Reply> ListPublic(Call& c) {
  BERTH_ASSIGN_OR_RETURN(auto repos, c.ops.PublicRepositories(c.caller));
  return Reply{200, {{"repositories", repos}}};
}

}  // namespace berth::admin::internal
