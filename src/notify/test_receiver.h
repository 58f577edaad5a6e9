#pragma once
// A webhook receiver for the notification tests: Berth's own HTTP server on 127.0.0.1:0 that
// records every POST and answers with a status the test sets. Thread-safe.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"

namespace berth::notify::testing {

struct Received {
  std::string body;
  std::string content_type;
  std::string signature;
  std::string event_id;
  std::string custom;  // the X-Test header
};

class Receiver {
 public:
  Receiver() {
    http::ServerOptions so;
    so.threads = 1;
    so.blocking_threads = 2;
    server_ = std::make_unique<http::Server>(so, [this](http::Request& req) {
      return http::Dispatch::BufferBody(
          1 << 20,
          [this](http::Request& r) {
            http::Response res;
            res.status = status.load();
            res.content_length = 0;
            if (res.status < 300) {
              std::lock_guard lock(mu_);
              got_.push_back({r.body, std::string(r.headers.Get("Content-Type")),
                              std::string(r.headers.Get("X-Berth-Signature-256")),
                              std::string(r.headers.Get("X-Berth-Event-Id")),
                              std::string(r.headers.Get("X-Test"))});
            }
            ++attempts;
            return res;
          },
          http::Response{.status = 413});
    });
    if (!server_->Start()) std::abort();
  }
  ~Receiver() { server_->Shutdown(std::chrono::milliseconds(100)); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook";
  }
  std::vector<Received> got() const {
    std::lock_guard lock(mu_);
    return got_;
  }
  // Polls until `n` deliveries were accepted or `limit` passes.
  bool WaitFor(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(20)) const {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (got().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return got().size() >= n;
  }
  std::atomic<int> status{200};
  std::atomic<int> attempts{0};

 private:
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  std::vector<Received> got_;
};

}  // namespace berth::notify::testing
