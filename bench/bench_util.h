// What the micro-benchmarks share (btree_bench, txn_bench): the data set —
// key number i is 16 hex digits in a random-looking order, its value 100
// bytes that start with i — a cheap random source to pick keys with, and
// the fresh directory a run works in. Kept in one place so that every
// benchmark reads and writes the same keys and its figures stay comparable
// with the others and with earlier runs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace mvdb::bench {

inline constexpr size_t kKeySize = 16;
inline constexpr size_t kValueSize = 100;

// splitmix64's finaliser: a bijection on 64-bit integers, so distinct
// indexes give distinct keys, and index order is a random key order.
inline uint64_t Scramble(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

using Key = std::array<char, kKeySize>;

// Key number i: the 16 hex digits of Scramble(i).
inline Key MakeKey(uint64_t i) {
  static constexpr char kHex[] = "0123456789abcdef";
  Key key;
  uint64_t x = Scramble(i);
  for (size_t d = 0; d < kKeySize; ++d, x >>= 4) {
    key[kKeySize - 1 - d] = kHex[x & 15];
  }
  return key;
}

inline std::string_view View(const Key& key) { return {key.data(), key.size()}; }

// Keys number 0 to count - 1, the data set of a benchmark of `count` keys.
inline std::vector<Key> MakeKeys(uint64_t count) {
  std::vector<Key> keys(count);
  for (uint64_t i = 0; i < count; ++i) {
    keys[i] = MakeKey(i);
  }
  return keys;
}

// The value of key number i: i's eight bytes, little-endian, then `fill`
// up to kValueSize bytes.
inline std::string MakeValue(uint64_t i, char fill) {
  std::string value(kValueSize, fill);
  for (size_t b = 0; b < 8; ++b) {
    value[b] = static_cast<char>(i >> (8 * b));
  }
  return value;
}

// A cheap per-thread random source (xorshift64*).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(Scramble(seed) | 1) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL;
  }
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // Uniform in [0, 1), from the top 53 bits.
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// A fresh directory for a run, under $MVDB_BENCH_DIR (which chooses the
// disk), else $TMPDIR, else /tmp; "" (after saying why) if it cannot be made.
inline std::string MakeBenchDir(const std::string& program) {
  const char* base = std::getenv("MVDB_BENCH_DIR");
  if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mvdb-" +
                    program + "-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror((program + ": mkdtemp " + dir).c_str());
    return "";
  }
  return dir;
}

}  // namespace mvdb::bench
