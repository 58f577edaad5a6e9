#include "test/support/test_server.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "cli/app.h"
#include "config/config.h"

namespace berth::testing {
namespace {

class InProcessServer : public TestServer {
 public:
  ~InProcessServer() override {
    Stop();
    if (owns_root_ && !root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }
  uint16_t port() const override { return port_; }
  uint16_t debug_port() const override { return app_ ? app_->debug_port() : 0; }
  const std::string& root() const override { return root_; }
  void Stop() override {
    if (app_) {
      app_->Shutdown();
      app_.reset();
    }
  }

  std::unique_ptr<cli::App> app_;
  std::string root_;
  bool owns_root_ = false;
  uint16_t port_ = 0;
};

// Deep-merges YAML maps: keys in `over` win; nested maps merge.
YAML::Node Merge(YAML::Node base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  for (auto it = over.begin(); it != over.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (base[key] && base[key].IsMap() && it->second.IsMap()) {
      base[key] = Merge(base[key], it->second);
    } else {
      base[key] = YAML::Clone(it->second);
    }
  }
  return base;
}

std::string MergeYaml(const std::string& base, const std::string& over) {
  if (over.empty()) return base;
  YAML::Emitter out;
  out << Merge(YAML::Load(base), YAML::Load(over));
  return out.c_str();
}

std::string DefaultYaml(const std::string& root, bool inmemory) {
  std::string y = "version: 0.1\nlog:\n  accesslog:\n    disabled: true\n  level: warn\n";
  if (inmemory) {
    y += "storage:\n  inmemory: {}\n";
  } else {
    y += "storage:\n  filesystem:\n    rootdirectory: \"" + root + "\"\n";
  }
  y += "  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n";
  y += "http:\n  addr: 127.0.0.1:0\n";
  return y;
}

}  // namespace

std::unique_ptr<TestServer> TestServer::Start(const TestServerOptions& options) {
  auto srv = std::make_unique<InProcessServer>();
  if (!options.inmemory) {
    if (!options.root.empty()) {
      srv->root_ = options.root;
    } else {
      std::string tmpl = (std::filesystem::temp_directory_path() / "berth-test-XXXXXX").string();
      char* dir = mkdtemp(tmpl.data());
      if (dir == nullptr) {
        ADD_FAILURE() << "mkdtemp failed";
        return nullptr;
      }
      srv->root_ = dir;
      srv->owns_root_ = true;
    }
  }
  auto loaded =
      config::Load(MergeYaml(DefaultYaml(srv->root_, options.inmemory), options.yaml), {});
  if (!loaded) {
    ADD_FAILURE() << "test config: " << loaded.error().message;
    return nullptr;
  }
  for (const std::string& w : loaded->warnings) {
    if (std::find(options.allowed_warnings.begin(), options.allowed_warnings.end(), w) ==
        options.allowed_warnings.end()) {
      ADD_FAILURE() << "test config warning (misspelt key?): " << w;
      return nullptr;
    }
  }
  auto app = cli::App::Create(loaded->config, options.deps);
  if (!app) {
    ADD_FAILURE() << "App::Create: " << app.error().message;
    return nullptr;
  }
  auto st = (*app)->Start();
  if (!st) {
    ADD_FAILURE() << "App::Start: " << st.error().message;
    return nullptr;
  }
  srv->port_ = (*app)->port();
  srv->app_ = std::move(*app);
  return srv;
}

}  // namespace berth::testing
