// What every test suite needs from its environment: a scratch directory
// that cleans up after itself, the seed of randomized tests, and a way to
// damage a file the way a bad disk would.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

// Flips bits of the byte at `offset` of the file at `path` (xor 0x5a), in
// place: corruption a checksum must catch.
inline void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(file.good()) << "cannot open " << path;
  file.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  file.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x5a);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(&byte, 1);
  ASSERT_TRUE(file.good()) << "cannot rewrite byte " << offset << " of " << path;
}

}  // namespace mvdb::testing
