// Read-ahead of cursors past the buffer pool (btree/read_ahead.h): scans
// over a pool much smaller than the tree return every entry in order in
// both directions, also while writers change the tree, and a page damaged
// on disk that read-ahead meets is reported by the scan that needs it, with
// the file and page, and by nothing else.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "btree/btree.h"
#include "btree/node.h"
#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "buffer/buffer_pool.h"
#include "io/file.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

using testing::MakeValue;
using testing::NumberKey;

constexpr size_t kSmallPool = 128;  // read-ahead windows of 8 leaves

class ReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    fs_ = NewPosixFileSystem();
    path_ = dir_.File("data.mvdb");
  }
  void TearDown() override { Close(); }

  void Open(size_t cache_pages) {
    Close();
    TreeStoreOptions options;
    options.cache_pages = cache_pages;
    auto opened = TreeStore::Open(fs_.get(), path_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    auto tree = store_->OpenTree("t");
    if (!tree.ok()) tree = store_->CreateTree("t");
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    tree_ = *tree;
  }

  void Close() {
    if (store_ != nullptr) EXPECT_TRUE(store_->Close().ok());
    store_.reset();
    tree_ = nullptr;
  }

  // Builds keys 0, step, 2 * step, ... below `count * step` with a large
  // pool, then reopens with `cache_pages`, so the scans start cold.
  void Build(uint64_t count, uint64_t step, size_t cache_pages) {
    Open(4096);
    for (uint64_t i = 0; i < count; ++i) {
      const std::string key = NumberKey(i * step);
      ASSERT_TRUE(tree_->Put(key, MakeValue(key, 0, 100)).ok());
    }
    Open(cache_pages);
  }

  // The leaves from left to right.
  std::vector<PageId> Leaves() {
    PageId id = tree_->root();
    for (;;) {
      auto guard = store_->pool()->FetchRead(id);
      EXPECT_TRUE(guard.ok());
      if (!guard.ok()) return {};
      const btree::ConstNode node(guard->data());
      if (node.is_leaf()) break;
      id = node.leftmost_child();
    }
    std::vector<PageId> leaves;
    while (id != kInvalidPageId) {
      leaves.push_back(id);
      auto guard = store_->pool()->FetchRead(id);
      EXPECT_TRUE(guard.ok());
      if (!guard.ok()) return {};
      id = btree::ConstNode(guard->data()).next_leaf();
    }
    return leaves;
  }

  std::string FirstKey(PageId leaf) {
    auto guard = store_->pool()->FetchRead(leaf);
    EXPECT_TRUE(guard.ok());
    if (!guard.ok()) return {};
    const btree::ConstNode node(guard->data());
    return node.size() > 0 ? std::string(node.key(0)) : std::string();
  }

  void FlipByte(uint64_t offset) {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open());
    file.seekg(static_cast<std::streamoff>(offset));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(&byte, 1);
  }

  testing::TempDir dir_;
  std::unique_ptr<FileSystem> fs_;
  std::string path_;
  std::unique_ptr<TreeStore> store_;
  BTree* tree_ = nullptr;
};

TEST_F(ReadAheadTest, ForwardAndBackwardScansOverASmallPoolSeeEveryEntryInOrder) {
  constexpr uint64_t kKeys = 20000;
  Build(kKeys, 1, kSmallPool);
  auto cursor = tree_->NewCursor();
  uint64_t expected = 0;
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next(), ++expected) {
    ASSERT_EQ(cursor->key(), NumberKey(expected));
    ASSERT_EQ(cursor->value(), MakeValue(NumberKey(expected), 0, 100));
  }
  ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
  EXPECT_EQ(expected, kKeys);
  const BufferPoolStats forward = store_->pool()->stats();
  EXPECT_GT(forward.read_ahead_loaded, 0u) << "the scan should have read ahead";

  cursor.reset();    // a cursor must not outlive its tree
  Open(kSmallPool);  // cold again
  auto back = tree_->NewCursor();
  expected = kKeys;
  for (back->SeekToLast(); back->Valid(); back->Prev()) {
    --expected;
    ASSERT_EQ(back->key(), NumberKey(expected));
    ASSERT_EQ(back->value(), MakeValue(NumberKey(expected), 0, 100));
  }
  ASSERT_TRUE(back->status().ok()) << back->status().ToString();
  EXPECT_EQ(expected, 0u);
  EXPECT_GT(store_->pool()->stats().read_ahead_loaded, 0u)
      << "the backward scan should have read ahead";
}

TEST_F(ReadAheadTest, ScansWithConcurrentWritersSeeEveryStableKeyOnceInOrder) {
  const uint64_t seed = testing::TestSeed(
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  // Even numbers are stable (their values change, they never go away); odd
  // ones come and go, splitting and emptying leaves under the scans.
  constexpr uint64_t kStable = 6000;
  Build(kStable, 2, kSmallPool);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 rng(seed + w);
      uint64_t version = 1;
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t n = rng() % (2 * kStable);
        const std::string key = NumberKey(n);
        if (n % 2 == 0) {
          EXPECT_TRUE(tree_->Put(key, MakeValue(key, version++, 100)).ok());
        } else if (rng() % 2 == 0) {
          EXPECT_TRUE(tree_->Put(key, MakeValue(key, version++, 100)).ok());
        } else {
          const Status deleted = tree_->Delete(key);
          EXPECT_TRUE(deleted.ok() || deleted.IsNotFound()) << deleted.ToString();
        }
      }
    });
  }
  for (int round = 0; round < 3; ++round) {
    auto cursor = tree_->NewCursor();
    std::string last;
    uint64_t stable_seen = 0;
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
      const std::string key(cursor->key());
      ASSERT_LT(last, key) << "forward scan out of order";
      last = key;
      if (std::stoull(key.substr(1)) % 2 == 0) {
        ASSERT_EQ(key, NumberKey(2 * stable_seen)) << "a stable key was skipped";
        ++stable_seen;
      }
    }
    ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
    EXPECT_EQ(stable_seen, kStable);

    auto back = tree_->NewCursor();
    std::string above;
    uint64_t stable_left = kStable;
    for (back->SeekToLast(); back->Valid(); back->Prev()) {
      const std::string key(back->key());
      ASSERT_TRUE(above.empty() || key < above) << "backward scan out of order";
      above = key;
      if (std::stoull(key.substr(1)) % 2 == 0) {
        --stable_left;
        ASSERT_EQ(key, NumberKey(2 * stable_left)) << "a stable key was skipped";
      }
    }
    ASSERT_TRUE(back->status().ok()) << back->status().ToString();
    EXPECT_EQ(stable_left, 0u);
  }
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  EXPECT_GT(store_->pool()->stats().read_ahead_requested, 0u);
  TreeCheckReport report;
  EXPECT_TRUE(tree_->Check(&report).ok());
}

TEST_F(ReadAheadTest, ADamagedLeafMetByReadAheadIsReportedOnlyByTheScanThatNeedsIt) {
  Build(20000, 1, 4096);
  const std::vector<PageId> leaves = Leaves();
  ASSERT_GT(leaves.size(), 40u);
  const PageId damaged = leaves[20];
  const std::string stop_at = FirstKey(leaves[18]);
  auto offset = store_->page_store()->OffsetOf(damaged);
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  Close();
  FlipByte(*offset + kPageSize / 2);
  Open(kSmallPool);

  // Windows of 8 leaves, the next asked for when half of one is used: by
  // leaf 18 the leaves up to 24 have been asked for, the damaged one too.
  auto cursor = tree_->NewCursor();
  for (cursor->SeekToFirst(); cursor->Valid() && cursor->key() < stop_at; cursor->Next()) {
  }
  ASSERT_TRUE(cursor->Valid());
  ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
  store_->pool()->WaitForStartedLoads();
  EXPECT_GE(store_->pool()->stats().checksum_failures, 1u)
      << "read-ahead should have met the damaged leaf";
  EXPECT_FALSE(store_->pool()->IsCached(damaged));

  // Going on, the scan itself reads the leaf and reports it.
  while (cursor->Valid()) cursor->Next();
  const Status status = cursor->status();
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find(path_), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("page " + std::to_string(damaged)), std::string::npos)
      << status.ToString();
}

}  // namespace
}  // namespace mvdb
