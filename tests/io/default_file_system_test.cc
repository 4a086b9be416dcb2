// How NewDefaultFileSystem picks a backend, and that it says so.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>

#include "common/logging.h"
#include "io/file.h"

namespace mvdb {
namespace {

// Sets (or unsets, for nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Runs NewDefaultFileSystem with info logging on; returns what it logged.
std::string CreateAndCaptureLog(IoBackend backend, Result<std::unique_ptr<FileSystem>>* out) {
  LogLevel old = GetLogLevel();
  SetLogLevel(LogLevel::kInfo);
  ::testing::internal::CaptureStderr();
  *out = NewDefaultFileSystem(backend);
  std::string log = ::testing::internal::GetCapturedStderr();
  SetLogLevel(old);
  return log;
}

bool UringAvailable() { return NewUringFileSystem().ok(); }

TEST(DefaultFileSystemTest, AutoPrefersIoUringAndSaysSo) {
  ScopedEnv env("MVDB_IO", std::nullopt);
  Result<std::unique_ptr<FileSystem>> fs = Status::NotFound("unset");
  std::string log = CreateAndCaptureLog(IoBackend::kAuto, &fs);
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  Result<std::unique_ptr<FileSystem>> uring = NewUringFileSystem();
  if (uring.ok()) {
    EXPECT_EQ((*fs)->name(), "io_uring");
    EXPECT_EQ(log, "mvdb: info: I/O backend: io_uring\n");
  } else {
    EXPECT_EQ((*fs)->name(), "posix");
    EXPECT_EQ(log,
              "mvdb: info: I/O backend: posix (" + std::string(uring.status().message()) + ")\n");
  }
}

TEST(DefaultFileSystemTest, EnvironmentOverridesAuto) {
  {
    ScopedEnv env("MVDB_IO", "posix");
    Result<std::unique_ptr<FileSystem>> fs = Status::NotFound("unset");
    std::string log = CreateAndCaptureLog(IoBackend::kAuto, &fs);
    ASSERT_TRUE(fs.ok());
    EXPECT_EQ((*fs)->name(), "posix");
    EXPECT_EQ(log, "mvdb: info: I/O backend: posix (MVDB_IO)\n");
  }
  if (UringAvailable()) {
    ScopedEnv env("MVDB_IO", "uring");
    Result<std::unique_ptr<FileSystem>> fs = NewDefaultFileSystem(IoBackend::kAuto);
    ASSERT_TRUE(fs.ok());
    EXPECT_EQ((*fs)->name(), "io_uring");
  }
  {
    ScopedEnv env("MVDB_IO", "aio");
    Result<std::unique_ptr<FileSystem>> fs = NewDefaultFileSystem(IoBackend::kAuto);
    ASSERT_FALSE(fs.ok());
    EXPECT_EQ(fs.status().code(), StatusCode::kInvalidArgument) << fs.status().ToString();
  }
  {
    // An explicit choice is not overridden.
    ScopedEnv env("MVDB_IO", "aio");
    Result<std::unique_ptr<FileSystem>> fs = NewDefaultFileSystem(IoBackend::kPosix);
    ASSERT_TRUE(fs.ok());
    EXPECT_EQ((*fs)->name(), "posix");
  }
}

TEST(DefaultFileSystemTest, ExplicitUringFailsRatherThanFallingBack) {
  Result<std::unique_ptr<FileSystem>> fs = NewDefaultFileSystem(IoBackend::kUring);
  if (UringAvailable()) {
    ASSERT_TRUE(fs.ok());
    EXPECT_EQ((*fs)->name(), "io_uring");
  } else {
    ASSERT_FALSE(fs.ok());
    EXPECT_EQ(fs.status().code(), StatusCode::kNotSupported);
    EXPECT_EQ(fs.status().message().rfind("io_uring unavailable: ", 0), 0u);
  }
}

TEST(DefaultFileSystemTest, UringRejectsBadQueueDepth) {
  EXPECT_EQ(NewUringFileSystem(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewUringFileSystem(1 << 20).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mvdb
