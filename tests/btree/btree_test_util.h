// Helpers shared by the B+tree tests: a temporary directory, seeds and
// counts from the environment, and keys and values whose bytes can be
// checked on their own.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "common/coding.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::testing {

// The value of environment variable `name` as an unsigned number, or
// `fallback` when it is unset or empty.
inline uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 0);
}

// A 16-byte key that sorts as the number does: "k" and 15 digits.
inline std::string NumberKey(uint64_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "k%015llu", static_cast<unsigned long long>(n));
  return std::string(buffer, 16);
}

// A value of `size` bytes that names the key it belongs to and a version,
// so a reader can tell a well-formed value from a torn or misplaced one:
// 8-byte version, 8-byte hash of key and version, then a pattern derived
// from both. Sizes below 16 hold a prefix of that.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t HashKey(std::string_view key) {
  uint64_t h = 1469598103934665603ULL;
  for (const char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

inline std::string MakeValue(std::string_view key, uint64_t version, size_t size) {
  std::string full(std::max<size_t>(size, 16), '\0');
  auto* bytes = reinterpret_cast<std::byte*>(full.data());
  const uint64_t seed = Mix(HashKey(key) ^ version);
  EncodeFixed64(bytes, version);
  EncodeFixed64(bytes + 8, seed);
  for (size_t i = 16; i < full.size(); ++i) {
    full[i] = static_cast<char>('a' + (Mix(seed + i / 8) >> ((i % 8) * 8)) % 26);
  }
  full.resize(size);
  return full;
}

// True when `value` is what MakeValue(key, v, value.size()) gives for the
// version v it records (values under 16 bytes cannot say; they pass).
inline bool WellFormedValue(std::string_view key, std::string_view value) {
  if (value.size() < 16) return true;
  const uint64_t version = DecodeFixed64(reinterpret_cast<const std::byte*>(value.data()));
  return MakeValue(key, version, value.size()) == value;
}

}  // namespace mvdb::testing
