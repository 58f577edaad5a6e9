// The audit log through the whole server: config (berth.audit) -> API events -> JSON lines.
#include <chrono>
#include <fstream>
#include <thread>

#include "auth/encoding.h"
#include "auth/htpasswd.h"
#include "test/api/api_test_util.h"
#include "test/support/temp_dir.h"

namespace berth::testing {
namespace {

class AuditLog : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    auto hash = auth::BcryptHash("wonderland", 4);
    WriteFile(dir_.Path("htpasswd"), "alice:" + hash.value() + "\n");
    return WithYaml("auth:\n  htpasswd:\n    realm: r\n    path: " + dir_.Path("htpasswd") +
                    "\nberth:\n  audit:\n    enabled: true\n    path: " + dir_.Path("audit.log") +
                    "\n");
  }
  // The audit lines once there are at least `n` (polled with a deadline: the writer is async).
  std::vector<nlohmann::json> Lines(size_t n) {
    std::vector<nlohmann::json> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      out.clear();
      std::ifstream in(dir_.Path("audit.log"));
      for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
      if (out.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return out;
  }
  HeaderList As(const std::string& user, const std::string& pass) {
    return {{"Authorization", "Basic " + auth::Base64Encode(user + ":" + pass)}};
  }
  TempDir dir_;
};

TEST_F(AuditLog, RecordsPushPullDeleteAndDenialsWithTheUser) {
  const std::string data = "audited";
  const std::string digest = "sha256:" + Digest::Of(data).hex();
  auto alice = As("alice", "wonderland");
  alice.emplace_back("Content-Type", "application/octet-stream");
  EXPECT_STATUS(c().Request("POST", "/v2/team/app/blobs/uploads/?digest=" + digest, data, alice),
                201);
  EXPECT_STATUS(c().Request("GET", "/v2/team/app/blobs/" + digest, "", As("alice", "wonderland")),
                200);
  EXPECT_STATUS(
      c().Request("DELETE", "/v2/team/app/blobs/" + digest, "", As("alice", "wonderland")), 202);
  EXPECT_STATUS(c().Request("GET", "/v2/team/app/blobs/" + digest), 401);  // handshake: no line
  EXPECT_STATUS(c().Request("GET", "/v2/team/app/blobs/" + digest, "", As("mallory", "guess")),
                401);
  EXPECT_STATUS(c().Request("POST", "/v2/team/app/blobs/uploads/?digest=" + digest, data, alice),
                201);
  auto lines = Lines(5);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4]["action"], "push");  // the handshake left no line between
  EXPECT_EQ(lines[0]["action"], "push");
  EXPECT_EQ(lines[0]["actor"]["name"], "alice");
  EXPECT_EQ(lines[0]["repository"], "team/app");
  EXPECT_EQ(lines[0]["digest"], digest);
  EXPECT_EQ(lines[0]["status"], 201);
  EXPECT_EQ(lines[1]["action"], "pull");
  EXPECT_EQ(lines[2]["action"], "delete");
  EXPECT_EQ(lines[3]["action"], "denied");
  EXPECT_EQ(lines[3]["result"], "denied");
  EXPECT_EQ(lines[3]["status"], 401);
  EXPECT_FALSE(lines[3]["reason"].get<std::string>().empty());
  EXPECT_TRUE(lines[3]["actor"]["addr"].get<std::string>().starts_with("127.0.0.1:"));
}

}  // namespace
}  // namespace berth::testing
