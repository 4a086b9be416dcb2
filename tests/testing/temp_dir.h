// What every test suite needs from its environment: a scratch directory
// that cleans up after itself, and the seed of randomized tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace mvdb::testing {

// A fresh directory mvdb-<tag>-XXXXXX under the system's temporary
// directory (under /dev/shm instead when `prefer_tmpfs` and it exists:
// fsync is free there, which keeps crash enumeration fast), removed with
// everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "test", bool prefer_tmpfs = false) {
    std::filesystem::path base = std::filesystem::temp_directory_path();
    if (prefer_tmpfs && std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";
    std::string pattern = (base / ("mvdb-" + std::string(tag) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern << " failed";
      return;
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// MVDB_SEED when set, else `fallback`, so runs are reproducible and a
// failing seed can be re-run.
inline uint64_t TestSeed(uint64_t fallback) {
  const char* env = std::getenv("MVDB_SEED");
  return env != nullptr && *env != '\0' ? std::strtoull(env, nullptr, 0) : fallback;
}

}  // namespace mvdb::testing
