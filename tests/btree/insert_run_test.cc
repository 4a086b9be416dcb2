// BTree::InsertRun: a run of inserts in key order, a leaf latched once for
// the keys that follow one another in it. What a caller relies on: every
// absent key of the run lands where a Put would put it, the run stops at
// the first present key and reports its value, keys out of order and values
// that need overflow pages are still right, and threads running
// interleaved runs on one tree (with a pool small enough to evict) lose
// nothing. The tests that change the tree end with its own structural
// check. Seeds come from MVDB_SEED when it is set (printed on failure).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "btree/btree.h"
#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "io/file.h"

namespace mvdb {
namespace {

using testing::MakeValue;
using testing::NumberKey;

class InsertRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    fs_ = NewPosixFileSystem();
    TreeStoreOptions options;
    options.cache_pages = 64;  // smaller than the trees: runs meet evicted leaves
    auto opened = TreeStore::Open(fs_.get(), dir_.File("data.mvdb"), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    auto created = store_->CreateTree("t");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    tree_ = *created;
  }

  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_TRUE(store_->Close().ok());
    }
  }

  // Runs InsertRun on `entries` (views into it), expecting `want_done`.
  void Run(const std::vector<std::pair<std::string, std::string>>& entries, size_t want_done,
           std::string* existing = nullptr) {
    std::vector<std::string_view> keys;
    std::vector<std::string_view> values;
    for (const auto& [key, value] : entries) {
      keys.push_back(key);
      values.push_back(value);
    }
    std::string found;
    size_t done = 99999;
    const Status status = tree_->InsertRun(keys, values, &done, &found);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(done, want_done);
    if (existing != nullptr) *existing = found;
  }

  void ExpectTreeIs(const std::map<std::string, std::string>& model) {
    TreeCheckReport report;
    const Status checked = tree_->Check(&report);
    ASSERT_TRUE(checked.ok()) << checked.ToString();
    EXPECT_EQ(report.entries, model.size());
    std::unique_ptr<BTreeCursor> cursor = tree_->NewCursor();
    cursor->SeekToFirst();
    for (const auto& [key, value] : model) {
      ASSERT_TRUE(cursor->Valid()) << "missing " << key;
      ASSERT_EQ(cursor->key(), key);
      ASSERT_EQ(cursor->value(), value) << key;
      cursor->Next();
    }
    EXPECT_FALSE(cursor->Valid());
    EXPECT_TRUE(cursor->status().ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<TreeStore> store_;
  BTree* tree_ = nullptr;
};

TEST_F(InsertRunTest, LoadInKeyOrderFillsManyLeaves) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::map<std::string, std::string> model;
  for (uint64_t i = 0; i < 20000; ++i) {
    entries.emplace_back(NumberKey(i), MakeValue(NumberKey(i), 1, 100));
    model.emplace(entries.back());
  }
  Run(entries, entries.size());
  ExpectTreeIs(model);
  // A load in key order leaves full leaves (the rightmost split).
  TreeCheckReport report;
  ASSERT_TRUE(tree_->Check(&report).ok());
  EXPECT_GT(report.leaf_fill, 0.85);
}

TEST_F(InsertRunTest, RunBetweenExistingKeysLandsInEachLeaf) {
  // Even keys first, then the odd ones as one run: each belongs inside a
  // leaf that has a right sibling, so the run must leave a leaf whenever the
  // next key passes the leaf's last key.
  std::map<std::string, std::string> model;
  std::vector<std::pair<std::string, std::string>> evens;
  std::vector<std::pair<std::string, std::string>> odds;
  for (uint64_t i = 0; i < 12000; ++i) {
    auto& into = i % 2 == 0 ? evens : odds;
    into.emplace_back(NumberKey(i), MakeValue(NumberKey(i), 1, 60 + i % 90));
    model.emplace(into.back());
  }
  Run(evens, evens.size());
  Run(odds, odds.size());
  ExpectTreeIs(model);
}

TEST_F(InsertRunTest, StopsAtThePresentKeyAndReportsItsValue) {
  std::map<std::string, std::string> model;
  const std::string old_value = MakeValue(NumberKey(500), 7, 40);
  ASSERT_TRUE(tree_->Put(NumberKey(500), old_value).ok());
  model.emplace(NumberKey(500), old_value);
  std::vector<std::pair<std::string, std::string>> entries;
  for (uint64_t i = 0; i < 1000; ++i) {
    entries.emplace_back(NumberKey(i), MakeValue(NumberKey(i), 1, 80));
  }
  std::string existing;
  Run(entries, 500, &existing);
  EXPECT_EQ(existing, old_value);
  for (uint64_t i = 0; i < 500; ++i) model.emplace(entries[i]);
  ExpectTreeIs(model);  // nothing after the present key went in
  // The caller goes on after the present key.
  entries.erase(entries.begin(), entries.begin() + 501);
  Run(entries, entries.size());
  for (const auto& entry : entries) model.emplace(entry);
  ExpectTreeIs(model);
}

TEST_F(InsertRunTest, PresentKeyWithAnOverflowValueIsReportedWhole) {
  const std::string big = MakeValue(NumberKey(3), 2, 100000);
  ASSERT_TRUE(tree_->Put(NumberKey(3), big).ok());
  std::vector<std::pair<std::string, std::string>> entries;
  for (uint64_t i = 0; i < 6; ++i) entries.emplace_back(NumberKey(i), "v");
  std::string existing;
  Run(entries, 3, &existing);
  EXPECT_EQ(existing, big);
}

TEST_F(InsertRunTest, KeysOutOfOrderAndOverflowValuesAreStillRight) {
  const uint64_t seed = testing::EnvNumber("MVDB_SEED", 42);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::vector<std::pair<std::string, std::string>> entries;
  std::map<std::string, std::string> model;
  for (uint64_t i = 0; i < 5000; ++i) {
    const uint64_t n = random() % 1000000;
    if (model.count(NumberKey(n)) != 0) continue;
    // One value in fifty needs overflow pages.
    const size_t size = i % 50 == 0 ? 20000 : 1 + random() % 300;
    entries.emplace_back(NumberKey(n), MakeValue(NumberKey(n), 1, size));
    model.emplace(entries.back());
  }
  // Sorted runs with a few keys moved out of place.
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i + 40 < entries.size(); i += 97) std::swap(entries[i], entries[i + 40]);
  Run(entries, entries.size());
  ExpectTreeIs(model);
}

TEST_F(InsertRunTest, BadInputInsertsNothing) {
  std::vector<std::string_view> keys = {"a", "b"};
  std::vector<std::string_view> values = {"1"};
  size_t done = 7;
  std::string existing;
  Status status = tree_->InsertRun(keys, values, &done, &existing);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_EQ(done, 0u);
  keys = {"a", "", "c"};
  values = {"1", "2", "3"};
  status = tree_->InsertRun(keys, values, &done, &existing);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_EQ(done, 0u);
  const std::string long_key(kMaxKeySize + 1, 'k');
  keys = {"a", long_key};
  values = {"1", "2"};
  done = 7;
  status = tree_->InsertRun(keys, values, &done, &existing);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_EQ(done, 0u);
  ExpectTreeIs({});
  // An empty run is no change.
  status = tree_->InsertRun({}, {}, &done, &existing);
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(done, 0u);
}

TEST_F(InsertRunTest, InterleavedRunsOfSeveralThreadsLoseNothing) {
  // Each thread loads the keys congruent to its number, in order, in runs
  // of 200, with readers looking up what is already there: leaves are split
  // under runs, shared by them, and evicted by the small pool.
  constexpr int kWriters = 3;
  constexpr uint64_t kKeys = 15000;
  std::vector<std::thread> threads;
  std::vector<Status> failures(kWriters + 1);
  std::atomic<int> writers_left{kWriters};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::vector<std::string> keys;
      std::vector<std::string> values;
      for (uint64_t n = static_cast<uint64_t>(w); n < kKeys; n += kWriters) {
        keys.push_back(NumberKey(n));
        values.push_back(MakeValue(keys.back(), 1, 50 + n % 120));
      }
      for (size_t at = 0; at < keys.size(); at += 200) {
        const size_t end = std::min(keys.size(), at + 200);
        std::vector<std::string_view> key_views(keys.begin() + at, keys.begin() + end);
        std::vector<std::string_view> value_views(values.begin() + at, values.begin() + end);
        size_t done = 0;
        std::string existing;
        Status status = tree_->InsertRun(key_views, value_views, &done, &existing);
        if (status.ok() && done != key_views.size()) {
          status = Status::Corruption("run stopped at " + std::string(key_views[done]) +
                                      ", which is new");
        }
        if (!status.ok()) {
          failures[w] = status;
          break;
        }
      }
      writers_left.fetch_sub(1);
    });
  }
  const uint64_t seed = testing::EnvNumber("MVDB_SEED", 7);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  threads.emplace_back([&] {
    std::mt19937_64 random(seed);
    std::string value;
    while (writers_left.load() > 0) {
      const uint64_t n = random() % kKeys;
      const Status status = tree_->Get(NumberKey(n), &value);
      if (status.ok() && value != MakeValue(NumberKey(n), 1, 50 + n % 120)) {
        failures[kWriters] = Status::Corruption("wrong value for " + NumberKey(n));
        return;
      }
      if (!status.ok() && !status.IsNotFound()) {
        failures[kWriters] = status;
        return;
      }
    }
  });
  for (std::thread& thread : threads) thread.join();
  for (const Status& failure : failures) EXPECT_TRUE(failure.ok()) << failure.ToString();
  std::map<std::string, std::string> model;
  for (uint64_t n = 0; n < kKeys; ++n)
    model.emplace(NumberKey(n), MakeValue(NumberKey(n), 1, 50 + n % 120));
  ExpectTreeIs(model);
}

}  // namespace
}  // namespace mvdb
