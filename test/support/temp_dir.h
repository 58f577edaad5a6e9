#pragma once
// A fresh directory under the system temp dir, removed (recursively) on destruction.
//
//   TempDir dir;
//   WriteFile(dir.Path("htpasswd"), "...");

#include <string>
#include <string_view>

namespace berth::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // `name` inside the directory.
  std::string Path(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Writes `content` to `path` (replacing it); fails the test when it cannot.
void WriteFile(const std::string& path, std::string_view content);

}  // namespace berth::testing
