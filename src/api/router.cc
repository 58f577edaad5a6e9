#include "api/router.h"

#include <algorithm>

#include "common/names.h"
#include "common/strings.h"

namespace berth::api {
namespace {

Error BadQuery(std::string message) {
  return Error{ErrorCode::kUnsupported, std::move(message), {}, 400};
}

// Matches `segs` against the pattern's segments; fills `out`. False when it does not match;
// an error for an invalid repository name in a path that otherwise matches.
Result<bool> MatchSegments(const std::vector<std::string_view>& pat,
                           const std::vector<std::string_view>& segs, Route& out) {
  auto is_arg = [](std::string_view s) {
    return s.size() > 2 && s.front() == '<' && s.back() == '>';
  };
  auto name_at = std::find(pat.begin(), pat.end(), "<name>");
  const size_t before = static_cast<size_t>(name_at - pat.begin());
  const size_t after = name_at == pat.end() ? 0 : pat.size() - before - 1;
  if (name_at == pat.end() ? segs.size() != pat.size() : segs.size() < pat.size()) return false;
  auto match_one = [&](std::string_view p, std::string_view s) {
    if (!is_arg(p)) return p == s;
    if (s.empty()) return false;
    out.arg = std::string(s);
    return true;
  };
  for (size_t i = 0; i < before; ++i) {
    if (!match_one(pat[i], segs[i])) return false;
  }
  for (size_t i = 0; i < after; ++i) {
    if (!match_one(pat[pat.size() - 1 - i], segs[segs.size() - 1 - i])) return false;
  }
  if (name_at == pat.end()) return true;
  std::string name;
  for (size_t i = before; i < segs.size() - after; ++i) {
    if (i > before) name += '/';
    name += segs[i];
  }
  if (name.empty()) return MakeError(ErrorCode::kNameInvalid, "repository name is empty");
  BERTH_RETURN_IF_ERROR(ValidateRepositoryName(name));
  out.name = std::move(name);
  return true;
}

bool HasMethod(std::string_view methods, std::string_view method) {
  for (auto m : Split(methods, ' ')) {
    if (m == method) return true;
  }
  return false;
}

}  // namespace

Result<Query> Query::Parse(std::string_view raw) {
  Query q;
  if (raw.empty()) return q;
  for (auto part : Split(raw, '&')) {
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto key = UrlDecode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : UrlDecode(part.substr(eq + 1));
    if (!key || !value) {
      return std::unexpected(BadQuery("query parameter \"" + std::string(part.substr(0, 60)) +
                                      "\" has a bad percent-escape"));
    }
    if (*key != "scope" && q.Get(*key)) {
      return std::unexpected(
          BadQuery("query parameter \"" + key->substr(0, 60) + "\" is given more than once"));
    }
    q.items_.emplace_back(std::move(*key), std::move(*value));
  }
  return q;
}

std::optional<std::string> Query::Get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Query::GetAll(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : items_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

Result<RouteMatch> MatchRoute(std::string_view method, std::string_view raw_path,
                              std::string_view prefix) {
  RouteMatch m;
  if (!raw_path.starts_with(prefix)) return m;
  auto decoded = UrlDecode(raw_path.substr(prefix.size()), /*plus_is_space=*/false);
  if (!decoded) return MakeError(ErrorCode::kNameInvalid, "request path has a bad percent-escape");
  const std::string with_slash = *decoded + "/";
  const std::vector<std::string_view> segs = Split(*decoded, '/');
  const std::vector<std::string_view> segs_slash = Split(with_slash, '/');
  std::string_view matched_pattern;
  for (const RouteSpec& spec : Routes()) {
    if (!matched_pattern.empty()) {
      if (spec.pattern != matched_pattern) continue;
    } else {
      Route r;
      r.kind = spec.kind;
      auto pat = Split(spec.pattern, '/');
      BERTH_ASSIGN_OR_RETURN(bool ok, MatchSegments(pat, segs, r));
      if (!ok && spec.pattern.ends_with('/') && !decoded->ends_with('/')) {
        BERTH_ASSIGN_OR_RETURN(ok, MatchSegments(pat, segs_slash, r));
      }
      if (!ok) continue;
      matched_pattern = spec.pattern;
      m.route = std::move(r);
    }
    for (auto each : Split(spec.methods, ' ')) m.allowed.push_back(each);
    if (m.spec == nullptr && HasMethod(spec.methods, method)) m.spec = &spec;
  }
  return m;
}

Result<NeededAccess> AccessFor(std::string_view method, std::string_view path,
                               std::string_view query, std::string_view prefix) {
  BERTH_ASSIGN_OR_RETURN(RouteMatch m, MatchRoute(method, path, prefix));
  BERTH_ASSIGN_OR_RETURN(Query q, Query::Parse(query));
  if (m.spec == nullptr) return NeededAccess{};
  return m.spec->access(m.route, q);
}

}  // namespace berth::api
