#include "proxy/upstreams.h"

#include "common/strings.h"

namespace berth::proxy {

Result<std::shared_ptr<Upstreams>> Upstreams::Create(const ProxyConfig& cfg, const Clock* clock) {
  auto out = std::make_shared<Upstreams>();
  out->cfg_ = cfg;
  for (const UpstreamConfig& u : cfg.upstreams) {
    client::RegistryOptions o;
    o.url = u.url;
    o.username = u.username;
    o.password = u.password;
    o.clock = clock;
    o.http.ca_file = u.ca_file;
    o.http.tls_verify = !u.insecure;
    o.http.user_agent = "berth-proxy";
    auto c = client::RegistryClient::Create(std::move(o));
    if (!c) return MakeError(ErrorCode::kInvalidArgument, u.where + ": " + c.error().message);
    auto up = std::make_unique<Upstream>();
    up->cfg = u;
    up->client = std::move(*c);
    out->list_.push_back(std::move(up));
  }
  return out;
}

Match Upstreams::Find(std::string_view repo) const {
  for (const auto& u : list_) {
    const std::string& p = u->cfg.prefix;
    if (p.empty()) return Match{u.get(), std::string(repo)};
    if (repo.size() > p.size() && StartsWith(repo, p)) {
      return Match{u.get(), std::string(repo.substr(p.size()))};
    }
  }
  return Match{};
}

const Upstream* Upstreams::FindNs(std::string_view ns) const {
  for (const auto& u : list_) {
    if (!u->cfg.ns.empty() && IEquals(u->cfg.ns, ns)) return u.get();
  }
  return nullptr;
}

}  // namespace berth::proxy
