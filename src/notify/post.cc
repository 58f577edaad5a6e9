// The notification POST over client::HttpClient (contract in post.h).
#include "notify/post.h"

#include "client/http.h"

namespace berth::notify {
namespace {

class ClientPoster : public Poster {
 public:
  Result<int> Post(const PostRequest& r) override {
    // One client per timeout: the options are fixed per client, and an endpoint has one timeout.
    if (!client_ || timeout_ != r.timeout) {
      client::ClientOptions o;
      o.connect_timeout = r.timeout;
      o.read_timeout = r.timeout;
      o.max_idle_per_origin = 1;
      o.user_agent = "berth-notifications";
      client_ = std::make_unique<client::HttpClient>(o);
      timeout_ = r.timeout;
    }
    client::Request req;
    req.method = "POST";
    req.url = r.url;
    req.headers.Set("Content-Type", r.content_type);
    for (const auto& [name, value] : r.headers) req.headers.Add(name, value);
    req.body = r.body;
    BERTH_ASSIGN_OR_RETURN(client::ResponsePtr res, client_->Send(std::move(req)));
    int status = res->status;
    (void)res->ReadAll(64 * 1024);  // lets the connection be reused; too long just closes it
    return status;
  }

 private:
  std::unique_ptr<client::HttpClient> client_;
  std::chrono::milliseconds timeout_{0};
};

}  // namespace

std::unique_ptr<Poster> NewHttpPoster() { return std::make_unique<ClientPoster>(); }

Status CheckUrl(const std::string& url) {
  BERTH_RETURN_IF_ERROR(client::Url::Parse(url));
  return Ok();
}

}  // namespace berth::notify
