// How long a checkpoint holds the gate (stalls writers) with a million
// entries, idle and with writers running. Release only (label `large`);
// MVDB_CHECKPOINT_ENTRIES overrides the count.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "btree/tree_store.h"
#include "btree_test_util.h"

namespace mvdb {
namespace {

TEST(CheckpointLargeTest, GateHoldWithAMillionEntries) {
  const uint64_t entries = testing::EnvNumber("MVDB_CHECKPOINT_ENTRIES", 1000000);
  const uint64_t seed = testing::TestSeed(3);
  SCOPED_TRACE("seed=" + std::to_string(seed));
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  TreeStoreOptions options;
  options.cache_pages = 4096;  // 32 MiB: a fraction of the ~150 MiB of data
  auto opened = TreeStore::Open(posix.get(), dir.File("large.mvdb"), options);
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<TreeStore> store = std::move(*opened);
  auto tree = store->CreateTree("t");
  ASSERT_TRUE(tree.ok());
  for (uint64_t i = 0; i < entries; ++i) {
    const std::string key = testing::NumberKey(testing::Mix(i) % 1000000000000000ull);
    ASSERT_TRUE((*tree)->Put(key, testing::MakeValue(key, 0, 100)).ok());
  }
  auto loaded = store->Checkpoint(1);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::printf(
      "after loading %llu entries: %llu logical pages, %llu map pages; gate held %.1f us, "
      "checkpoint took %.1f ms\n",
      static_cast<unsigned long long>(entries),
      static_cast<unsigned long long>(loaded->logical_pages),
      static_cast<unsigned long long>(loaded->map_pages), loaded->gate_hold.count() / 1e3,
      loaded->duration.count() / 1e6);

  // Two writers overwrite random entries while checkpoints run.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937_64 rng(seed + t);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string key =
            testing::NumberKey(testing::Mix(rng() % entries) % 1000000000000000ull);
        if (!(*tree)->Put(key, testing::MakeValue(key, 1, 100)).ok()) return;
        writes.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::chrono::nanoseconds longest{0};
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto result = store->Checkpoint(2 + round);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    longest = std::max(longest, result->gate_hold);
    std::printf(
        "checkpoint %llu with writers: waited %.1f us for writers, gate held %.1f us, "
        "took %.1f ms\n",
        static_cast<unsigned long long>(result->number), result->gate_wait.count() / 1e3,
        result->gate_hold.count() / 1e3, result->duration.count() / 1e6);
  }
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  std::printf(
      "%llu overwrites ran during the checkpoints; longest gate hold %.1f us; "
      "writes before modify %llu\n",
      static_cast<unsigned long long>(writes.load()), longest.count() / 1e3,
      static_cast<unsigned long long>(store->pool()->stats().owed_writes_before_modify));
  // A map copy of ~20k entries takes microseconds; a millisecond is a bug.
  EXPECT_LT(longest, std::chrono::milliseconds(5));
  auto report = store->Check();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace mvdb
