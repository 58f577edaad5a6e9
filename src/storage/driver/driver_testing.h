#pragma once
// Test helpers shared by the driver unit tests and the conformance suite (test/conformance).
// Include only from tests: it depends on GoogleTest.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "common/error.h"
#include "storage/driver/driver.h"

// ASSERT_OK / EXPECT_OK take a Status or Result<T> and print the error when there is one.
#define BERTH_DRIVER_CHECK_OK_(expr, fail)                                          \
  do {                                                                              \
    const auto& berth_r_ = (expr);                                                  \
    if (!berth_r_.has_value()) fail() << #expr ": " << berth_r_.error().ToString(); \
  } while (0)
#define ASSERT_OK(expr) BERTH_DRIVER_CHECK_OK_(expr, FAIL)
#define EXPECT_OK(expr) BERTH_DRIVER_CHECK_OK_(expr, ADD_FAILURE)

// EXPECT_CODE(expr, ErrorCode::kX): expr (Status or Result<T>) failed with exactly that code.
#define EXPECT_CODE(expr, want)                                                        \
  do {                                                                                 \
    const auto& berth_r_ = (expr);                                                     \
    if (berth_r_.has_value()) {                                                        \
      ADD_FAILURE() << #expr " succeeded, want error code " << static_cast<int>(want); \
    } else {                                                                           \
      EXPECT_EQ(static_cast<int>(berth_r_.error().code), static_cast<int>(want))       \
          << #expr ": " << berth_r_.error().ToString();                                \
    }                                                                                  \
  } while (0)

// EXPECT_CONTENT(driver, path, want): GetContent(path) succeeds and gives `want`.
#define EXPECT_CONTENT(driver, path, want)       \
  do {                                           \
    auto berth_got_ = (driver).GetContent(path); \
    EXPECT_OK(berth_got_);                       \
    if (berth_got_) {                            \
      EXPECT_EQ(*berth_got_, want) << (path);    \
    }                                            \
  } while (0)

namespace berth::storage::driver::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/berth-driver-XXXXXX";
    if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty if the directory could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every driver call taking `path` refuses it with kInvalidPath (Move: as either end).
inline void ExpectEveryCallRejectsPath(StorageDriver& d, const std::string& path) {
  SCOPED_TRACE(::testing::PrintToString(path));
  EXPECT_CODE(d.GetContent(path), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.PutContent(path, "x"), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.NewReader(path, 0), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.NewWriter(path, false), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.NewWriter(path, true), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.Stat(path), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.List(path), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.Move(path, "/moved"), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.Move("/ok", path), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.Delete(path), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.Walk(path, [](const FileInfo&) { return true; }), ErrorCode::kInvalidPath);
  EXPECT_CODE(d.RedirectURL(path, "GET"), ErrorCode::kInvalidPath);
}

}  // namespace berth::storage::driver::testing
