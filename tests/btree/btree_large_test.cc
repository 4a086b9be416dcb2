// Ten million entries (16-byte keys, 100-byte values) inserted in random
// order through a cache of a tenth of the data, then random lookups, a full
// scan in order, and TreeStore::Check. Prints the pool's capacity and the
// process's peak memory, which must stay near the cache size however large
// the tree grows. Release only (label `large`); MVDB_LARGE_ENTRIES changes
// the number of entries.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "btree/btree.h"
#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "io/file.h"

namespace mvdb {
namespace {

using testing::MakeValue;
using testing::NumberKey;

constexpr size_t kValueSize = 100;

// A field of /proc/self/status in KiB ("VmRSS", "RssAnon", "VmHWM"), 0 if
// unknown.
uint64_t ProcStatusKiB(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

// A pseudo-random permutation of [0, n) without a table: a bijection of
// the smallest power-of-two range holding n (odd multiplications and
// xor-shifts, each invertible modulo 2^bits), applied again until the
// result falls below n (cycle walking).
class RandomPermutation {
 public:
  RandomPermutation(uint64_t n, uint64_t seed) : n_(n) {
    while ((uint64_t{1} << bits_) < n) ++bits_;
    mask_ = (uint64_t{1} << bits_) - 1;
    std::mt19937_64 rng(seed);
    for (uint64_t& m : multipliers_) m = rng() | 1;
  }

  uint64_t operator()(uint64_t i) const {
    uint64_t x = i;
    do {
      for (const uint64_t m : multipliers_) {
        x = (x * m) & mask_;
        x ^= x >> (bits_ / 2 + 1);
      }
    } while (x >= n_);
    return x;
  }

 private:
  uint64_t n_;
  int bits_ = 1;
  uint64_t mask_ = 1;
  uint64_t multipliers_[3] = {};
};

class Stopwatch {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

TEST(BTreeLargeTest, TenMillionEntriesThroughATenthOfTheirSizeInCache) {
  const uint64_t entries = testing::EnvNumber("MVDB_LARGE_ENTRIES", 10'000'000);
  const uint64_t data_bytes = entries * (16 + kValueSize);
  const size_t cache_pages = std::max<size_t>(64, data_bytes / 10 / kPageSize);
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  TreeStoreOptions options;
  options.cache_pages = cache_pages;
  options.writeback_batch = 64;
  auto opened = TreeStore::Open(fs.get(), dir.File("large.mvdb"), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<TreeStore> store = std::move(*opened);
  auto created = store->CreateTree("large");
  ASSERT_TRUE(created.ok());
  BTree* tree = *created;
  const uint64_t pool_bytes = store->pool()->capacity() * kPageSize;
  std::printf("%llu entries, %.0f MiB of keys and values, cache %zu pages = %.0f MiB\n",
              static_cast<unsigned long long>(entries), data_bytes / 1048576.0, cache_pages,
              pool_bytes / 1048576.0);

  const RandomPermutation order(entries, testing::TestSeed(42));
  // The engine's own memory is anonymous. The data file's pages that reads
  // copied from its mapping (OpenOptions::map_reads) count in RSS too, as
  // shared file pages: page cache the kernel reclaims at will, not memory
  // the engine holds; the bound below is on the anonymous part, sampled at
  // every step (RssAnon has no high-water mark of its own).
  uint64_t peak_anon_kib = 0;
  auto sample_anon = [&] { peak_anon_kib = std::max(peak_anon_kib, ProcStatusKiB("RssAnon")); };
  Stopwatch insert_time;
  for (uint64_t i = 0; i < entries; ++i) {
    const uint64_t n = order(i);
    const std::string key = NumberKey(n);
    const Status status = tree->Put(key, MakeValue(key, 1, kValueSize));
    ASSERT_TRUE(status.ok()) << status.ToString();
    if ((i + 1) % 1'000'000 == 0) {
      sample_anon();
      const BufferPoolStats stats = store->pool()->stats();
      std::printf(
          "  %5.1f M inserted, %6.1f s, RSS %llu MiB (anonymous %llu), misses %llu, pages "
          "written %llu\n",
          (i + 1) / 1e6, insert_time.Seconds(),
          static_cast<unsigned long long>(ProcStatusKiB("VmRSS") / 1024),
          static_cast<unsigned long long>(ProcStatusKiB("RssAnon") / 1024),
          static_cast<unsigned long long>(stats.misses),
          static_cast<unsigned long long>(stats.pages_written));
    }
  }
  const double insert_seconds = insert_time.Seconds();

  Stopwatch lookup_time;
  std::mt19937_64 rng(testing::TestSeed(42));
  constexpr int kLookups = 200'000;
  std::string value;
  for (int i = 0; i < kLookups; ++i) {
    const std::string key = NumberKey(rng() % entries);
    const Status status = tree->Get(key, &value);
    ASSERT_TRUE(status.ok()) << key << ": " << status.ToString();
    ASSERT_EQ(value, MakeValue(key, 1, kValueSize)) << key;
  }
  const double lookup_seconds = lookup_time.Seconds();

  Stopwatch scan_time;
  uint64_t scanned = 0;
  auto cursor = tree->NewCursor();
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next(), ++scanned) {
    ASSERT_EQ(cursor->key(), NumberKey(scanned));
  }
  ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
  EXPECT_EQ(scanned, entries);
  cursor.reset();
  const double scan_seconds = scan_time.Seconds();

  Stopwatch check_time;
  auto report = store->Check();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const TreeCheckReport& tree_report = report->trees[0].second;
  EXPECT_EQ(tree_report.entries, entries);
  const double check_seconds = check_time.Seconds();

  sample_anon();
  const uint64_t peak_kib = ProcStatusKiB("VmHWM");
  std::printf(
      "insert %.1f s (%.2f us/op), %d lookups %.1f s (%.2f us/op), scan %.1f s, check %.1f s\n"
      "tree: height %llu, %llu leaves (fill %.2f), %llu inner pages, file %llu pages (%.0f MiB)\n"
      "memory: pool %.0f MiB, peak RSS %.0f MiB (file pages included), peak anonymous %.0f "
      "MiB\n",
      insert_seconds, insert_seconds * 1e6 / entries, kLookups, lookup_seconds,
      lookup_seconds * 1e6 / kLookups, scan_seconds, check_seconds,
      static_cast<unsigned long long>(tree_report.height),
      static_cast<unsigned long long>(tree_report.leaf_pages), tree_report.leaf_fill,
      static_cast<unsigned long long>(tree_report.inner_pages),
      static_cast<unsigned long long>(report->page_count),
      report->page_count * kPageSize / 1048576.0, pool_bytes / 1048576.0, peak_kib / 1024.0,
      peak_anon_kib / 1024.0);
  // Bounded memory: the pool plus a fixed allowance (code, write-back
  // buffers, gtest), nothing that grows with the tree.
  ASSERT_GT(peak_anon_kib, 0u) << "no RssAnon in /proc/self/status";
  EXPECT_LT(peak_anon_kib * 1024, pool_bytes + (uint64_t{256} << 20));
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace mvdb
