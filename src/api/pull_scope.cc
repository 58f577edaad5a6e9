// PullScope: which repositories the caller may pull (see internal.h).
#include "api/internal.h"
#include "auth/basic.h"
#include "auth/tenant.h"
#include "auth/token_authorizer.h"

namespace berth::api::internal {

PullScope::PullScope(const Ctx& c) : c_(c) {
  const auth::AuthorizerPtr& authorizer = c.opt.authorizer;
  if (!authorizer || dynamic_cast<auth::HtpasswdAuthorizer*>(authorizer.get()) != nullptr) {
    // The dispatcher has already authenticated the caller.
    all_ = lists_all_ = true;
    return;
  }
  if (auto* scoped = dynamic_cast<auth::ScopedAuthorizer*>(authorizer.get())) {
    filter_ = scoped->PullFilter(c.req.headers.Get("Authorization"), c.req.remote_addr);
    return;
  }
  auto* token = dynamic_cast<auth::TokenAuthorizer*>(authorizer.get());
  if (token == nullptr) {
    ask_authorizer_ = true;
    return;
  }
  auto claims = token->Verify(c.req.headers.Get("Authorization"));
  if (!claims) return;  // nothing (the dispatcher refuses such requests before this runs)
  claims_ = std::move(*claims);
  lists_all_ = auth::Grants(claims_->access, auth::Access{"registry", "catalog", "*"});
  for (const auto& r : claims_->access) {
    if (r.type == "repository" && auth::Grants({r}, auth::Access{"repository", r.name, "pull"})) {
      named_.push_back(r.name);
    }
  }
  if (c.opt.token_service) policy_ = &c.opt.token_service->policy();
}

bool PullScope::Allows(const std::string& repo, bool for_listing) const {
  if (all_ || (for_listing && lists_all_)) return true;
  if (filter_) return filter_(repo);
  const auth::Access pull{"repository", repo, "pull"};
  if (ask_authorizer_) {
    return c_.opt.authorizer
        ->Authorize(c_.req.headers.Get("Authorization"), c_.req.remote_addr, {pull})
        .allowed;
  }
  if (!claims_) return false;
  if (auth::Grants(claims_->access, pull)) return true;
  return policy_ != nullptr && policy_->Allows(claims_->subject, pull);
}

}  // namespace berth::api::internal
