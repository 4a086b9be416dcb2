// Checkpoints while writers run: the checkpoint is the state at its gate.
//
// Each writer t applies operations n = 0, 1, 2, ... in order; operation n
// writes value n to key (t, n % K) and to its mirror key, both under one
// shared hold of the gate (as the database facade does for a batch). So at
// any gate moment writer t has applied exactly a prefix of its operations,
// and a key and its mirror agree. After a crash right after the last
// checkpoint, the reopened trees must show such a prefix P_t for every
// writer, with P_t between the writer's progress before and after that
// Checkpoint call.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "io/fault_injection_file_system.h"

namespace mvdb {
namespace {

constexpr int kWriters = 4;
constexpr uint64_t kKeysPerWriter = 200;

std::string Key(int writer, uint64_t j, bool mirror) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%c%d-%06llu", mirror ? 'm' : 'k', writer,
                static_cast<unsigned long long>(j));
  return buffer;
}

// Value n, padded so the keys span many more pages than the cache holds.
std::string Value(uint64_t n) {
  std::string value = std::to_string(n);
  value.resize(120, '.');
  return value;
}

TEST(CheckpointConcurrencyTest, CheckpointImageIsTheStateAtTheGate) {
  const uint64_t seed = testing::TestSeed(5);
  SCOPED_TRACE("seed=" + std::to_string(seed));
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  FaultInjectionFileSystem fault(posix.get());
  const std::string path = dir.File("gate.mvdb");
  TreeStoreOptions options;
  options.cache_pages = 24;  // constant eviction, so owed pages get evicted too
  options.writeback_batch = 4;
  auto opened = TreeStore::Open(&fault, path, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<TreeStore> store = std::move(*opened);
  auto created = store->CreateTree("t");
  ASSERT_TRUE(created.ok());
  BTree* tree = *created;

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> progress[kWriters];
  std::atomic<bool> writer_failed{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    progress[t].store(0);
    writers.emplace_back([&, t] {
      // Each writer starts at a different key, from the seed.
      const uint64_t offset = (seed * 7919 + t * 31) % kKeysPerWriter;
      for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        const uint64_t j = (n + offset) % kKeysPerWriter;
        {
          const CheckpointGate::SharedHold hold(store->checkpoint_gate());
          if (!tree->Put(Key(t, j, false), Value(n)).ok() ||
              !tree->Put(Key(t, j, true), Value(n)).ok()) {
            writer_failed.store(true);
            return;
          }
        }
        progress[t].store(n + 1, std::memory_order_release);
      }
    });
  }

  uint64_t before[kWriters] = {};
  uint64_t after[kWriters] = {};
  std::chrono::nanoseconds longest_gate{0};
  for (int round = 0; round < 6; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    for (int t = 0; t < kWriters; ++t) before[t] = progress[t].load(std::memory_order_acquire);
    auto result = store->Checkpoint(round + 1);
    for (int t = 0; t < kWriters; ++t) after[t] = progress[t].load(std::memory_order_acquire);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    longest_gate = std::max(longest_gate, result->gate_hold);
  }
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  ASSERT_FALSE(writer_failed.load());
  // Crash now: whatever the writers did after the last checkpoint is lost.
  fault.SetCrashAfter(0);
  const BufferPoolStats stats = store->pool()->stats();
  std::printf("writers applied %llu ops; longest gate hold %.1f us; writes before modify %llu\n",
              static_cast<unsigned long long>(after[0] + after[1] + after[2] + after[3]),
              longest_gate.count() / 1000.0,
              static_cast<unsigned long long>(stats.owed_writes_before_modify));
  (void)store->Close();
  store.reset();
  ASSERT_TRUE(fault.DropUnsyncedData(CrashOptions{.tear_last_write = true}).ok());
  fault.ClearFaults();

  auto reopened = TreeStore::Open(&fault, path, TreeStoreOptions{});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store = std::move(*reopened);
  ASSERT_TRUE(store->Check().ok());
  auto opened_tree = store->OpenTree("t");
  ASSERT_TRUE(opened_tree.ok());
  for (int t = 0; t < kWriters; ++t) {
    SCOPED_TRACE("writer " + std::to_string(t));
    const uint64_t offset = (seed * 7919 + t * 31) % kKeysPerWriter;
    // The prefix the checkpoint holds: one past the largest value written.
    uint64_t prefix = 0;
    std::vector<std::string> values(kKeysPerWriter);
    for (uint64_t j = 0; j < kKeysPerWriter; ++j) {
      std::string mirror;
      const Status got = (*opened_tree)->Get(Key(t, j, false), &values[j]);
      const Status got_mirror = (*opened_tree)->Get(Key(t, j, true), &mirror);
      ASSERT_EQ(got.IsNotFound(), got_mirror.IsNotFound()) << "key " << j;
      if (got.IsNotFound()) continue;
      ASSERT_TRUE(got.ok() && got_mirror.ok());
      ASSERT_EQ(values[j], mirror) << "a batch is split at key " << j;
      prefix = std::max<uint64_t>(prefix, std::stoull(values[j]) + 1);
    }
    EXPECT_GE(prefix, before[t]);
    EXPECT_LE(prefix, after[t]);
    for (uint64_t j = 0; j < kKeysPerWriter; ++j) {
      // The last n < prefix with (n + offset) % K == j.
      const uint64_t first = (j + kKeysPerWriter - offset) % kKeysPerWriter;
      if (prefix <= first) {
        EXPECT_TRUE(values[j].empty()) << "key " << j << " should not exist yet";
        continue;
      }
      const uint64_t last = first + (prefix - 1 - first) / kKeysPerWriter * kKeysPerWriter;
      EXPECT_EQ(values[j], Value(last)) << "key " << j << " at prefix " << prefix;
    }
  }
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace mvdb
