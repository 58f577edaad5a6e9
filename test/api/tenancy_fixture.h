#pragma once
// The tenancy API tests' fixture (tenancy_test.cc, admin_test.cc): a SQLite metadata store in a
// temp directory with a server admin (root), alice in acme/dev and bob in globex/dev (each team
// holding delete on its organisation), and a server reading that store.

#include <string>

#include "auth/encoding.h"
#include "auth/htpasswd.h"
#include "auth/jwt.h"
#include "common/strings.h"
#include "meta/store.h"
#include "test/api/api_test_util.h"
#include "test/support/temp_dir.h"

namespace berth::testing {

inline std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + auth::Base64Encode(user + ":" + password);
}
inline HeaderList As(const std::string& authorization) {
  if (authorization.empty()) return {};
  return {{"Authorization", authorization}};
}

class Tenancy : public ApiTest {
 protected:
  void SetUp() override {
    auto db = meta::OpenSqlite(dir_.Path("meta.db"));
    ASSERT_TRUE(db) << db.error().message;
    auto store = meta::Store::Open(std::move(*db));
    ASSERT_TRUE(store) << store.error().message;
    store_ = *store;
    auto hash = [](const char* pw) { return auth::BcryptHash(pw, 4).value(); };
    ASSERT_TRUE(store_->AddUser("root", hash("root-pw"), true, "test"));
    // alice in acme/dev and bob in globex/dev, each team holding delete on its organisation.
    for (auto [user, org] : {std::pair{"alice", "acme"}, std::pair{"bob", "globex"}}) {
      ASSERT_TRUE(store_->AddUser(user, hash((std::string(user) + "-pw").c_str()), false, "t"));
      ASSERT_TRUE(store_->AddOrg(org, "t"));
      ASSERT_TRUE(store_->AddTeam(org, "dev", "t"));
      ASSERT_TRUE(store_->AddTeamMember(org, "dev", user, "t"));
      ASSERT_TRUE(store_->Grant(std::string(org) + "/dev", meta::Role::kDelete, org, "t"));
    }
    ApiTest::SetUp();
  }
  TestServerOptions ServerOptions() const override {
    return WithYaml("berth:\n  meta:\n    driver: sqlite\n    path: " + dir_.Path("meta.db") +
                    "\n" + ExtraYaml());
  }
  virtual std::string ExtraYaml() const { return ""; }

  // Pushes an image into `repo` with `auth`; returns it.
  PushedImage PushAs(const std::string& auth, const std::string& repo, int seed) {
    std::string config = "{\"seed\":" + std::to_string(seed) + "}";
    std::string layer = "layer bytes " + std::to_string(seed);
    for (const std::string* blob : {&config, &layer}) {
      Response r = c().Request("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + Sha256(*blob),
                               *blob, {{"Authorization", auth}});
      EXPECT_STATUS(r, 201) << repo;
    }
    nlohmann::json m = {{"schemaVersion", 2},
                        {"mediaType", kOciManifest},
                        {"config", DescriptorOf(kOciConfig, config)},
                        {"layers", {DescriptorOf(kOciLayer, layer)}}};
    PushedImage img{config, layer, m.dump(), Sha256(m.dump()), std::string(kOciManifest)};
    EXPECT_STATUS(c().Request("PUT", "/v2/" + repo + "/manifests/v1", img.manifest,
                              {{"Authorization", auth}, {"Content-Type", img.media_type}}),
                  201);
    return img;
  }

  const std::string root_ = Basic("root", "root-pw");
  const std::string alice_ = Basic("alice", "alice-pw");
  const std::string bob_ = Basic("bob", "bob-pw");
  TempDir dir_;
  meta::StorePtr store_;
};

// The built-in token service with the store: only the signing key is configured.
class TenancyToken : public Tenancy {
 protected:
  std::string ExtraYaml() const override {
    EXPECT_TRUE(auth::GenerateSigningKeyFiles(dir_.Path("key.pem"), dir_.Path("cert.pem")));
    return "auth:\n  token:\n    realm: /auth/token\n    service: berth\n    issuer: berth\n"
           "    builtin:\n      signingkey: " +
           dir_.Path("key.pem") + "\n";
  }
  std::string Token(const std::string& basic, const std::string& scope) {
    Response r =
        c().Request("GET", "/auth/token?service=berth&scope=" + QueryEscape(scope), "", As(basic));
    auto j = JsonBody(r);
    if (r.status != 200 || !j) return "";
    return "Bearer " + (*j)["token"].get<std::string>();
  }
};

}  // namespace berth::testing
