// A randomized test of BTree against std::map.
//
// Each seed runs four phases on a store whose cache holds 16 to 64 pages,
// so nearly every operation evicts: grow (mostly puts), mixed, drain (every
// key deleted, down to an empty root leaf) and regrow. Operations: puts of
// values from 0 bytes to 3 KiB plus occasional overflow values up to
// 100 KiB, gets, deletes, short scans in both directions from random
// points, and steps of a cursor kept open across all the writes. The store
// is checked after every phase and reopened after the mixed phase.
//
// MVDB_SEED picks the first seed (the others follow it); MVDB_MODEL_OPS
// the total number of operations over all seeds: by default at least a
// million in an optimized build (the Release CI job runs that) and fewer in
// a debug or sanitizer build, which are slower by an order of magnitude.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "btree/btree.h"
#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "io/file.h"

namespace mvdb {
namespace {

using testing::MakeValue;

#ifdef NDEBUG
constexpr uint64_t kDefaultTotalOps = 1'200'000;
#else
constexpr uint64_t kDefaultTotalOps = 400'000;
#endif
constexpr int kSeeds = 4;
constexpr size_t kCacheSizes[kSeeds] = {16, 24, 40, 64};

class ModelRun {
 public:
  ModelRun(uint64_t seed, size_t cache_pages, const std::string& path)
      : rng_(seed), cache_pages_(cache_pages), path_(path), fs_(NewPosixFileSystem()) {}

  void Run(uint64_t ops) {
    ASSERT_NO_FATAL_FAILURE(Open());
    const uint64_t quarter = ops / 4;
    {
      SCOPED_TRACE("phase: grow");
      ASSERT_NO_FATAL_FAILURE(RunOps(quarter, Mix{60, 15, 10, 5, 10}));
      ASSERT_NO_FATAL_FAILURE(CheckStore());
    }
    {
      SCOPED_TRACE("phase: mixed");
      ASSERT_NO_FATAL_FAILURE(RunOps(quarter, Mix{35, 25, 25, 5, 10}));
      ASSERT_NO_FATAL_FAILURE(CheckStore());
    }
    ASSERT_NO_FATAL_FAILURE(Reopen());
    {
      SCOPED_TRACE("phase: drain");
      ASSERT_NO_FATAL_FAILURE(RunOps(quarter / 4, Mix{10, 20, 55, 5, 10}));
      ASSERT_NO_FATAL_FAILURE(Drain());
      ASSERT_NO_FATAL_FAILURE(CheckStore());
      TreeCheckReport report;
      ASSERT_TRUE(tree_->Check(&report).ok());
      EXPECT_EQ(report.entries, 0u);
      EXPECT_EQ(report.height, 1u);
      EXPECT_EQ(report.leaf_pages, 1u);
      EXPECT_EQ(report.overflow_pages, 0u);
    }
    {
      SCOPED_TRACE("phase: regrow");
      const uint64_t done = 2 * quarter + quarter / 4 + drained_;
      ASSERT_NO_FATAL_FAILURE(RunOps(ops > done ? ops - done : 0, Mix{55, 20, 10, 5, 10}));
      ASSERT_NO_FATAL_FAILURE(CheckStore());
    }
    cursor_.reset();
    ASSERT_TRUE(store_->Close().ok());
  }

  uint64_t ops_done() const { return ops_done_; }

 private:
  // Relative weights of the operations.
  struct Mix {
    int put;
    int get;
    int del;
    int scan;
    int cursor_step;
  };

  void Open() {
    TreeStoreOptions options;
    options.cache_pages = cache_pages_;
    options.writeback_batch = 8;
    auto opened = TreeStore::Open(fs_.get(), path_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    auto tree = store_->OpenTree("model");
    if (tree.status().IsNotFound()) tree = store_->CreateTree("model");
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    tree_ = *tree;
    cursor_ = tree_->NewCursor();
  }

  void Reopen() {
    cursor_.reset();
    ASSERT_TRUE(store_->Close().ok());
    store_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  void CheckStore() {
    auto report = store_->Check();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    ASSERT_EQ(report->trees.size(), 1u);
    EXPECT_EQ(report->trees[0].second.entries, model_.size());
  }

  uint64_t Uniform(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  std::string RandomKey() {
    const uint64_t kind = Uniform(100);
    if (kind < 70) return testing::NumberKey(Uniform(12000));
    std::string key;
    const size_t size = kind < 97 ? 1 + Uniform(40) : 200 + Uniform(kMaxKeySize - 199);
    // A small alphabet with the extreme bytes, so prefixes and byte order matter.
    static constexpr char kAlphabet[] = {'\0', '\x01', 'a', 'b', 'k', '\x7f', '\x80', '\xff'};
    for (size_t i = 0; i < size; ++i) key.push_back(kAlphabet[Uniform(sizeof(kAlphabet))]);
    return key;
  }

  // A key of the model half of the time, when there is one.
  std::string SomeKey() {
    if (model_.empty() || Uniform(2) == 0) return RandomKey();
    auto it = model_.lower_bound(RandomKey());
    if (it == model_.end()) it = model_.begin();
    return it->first;
  }

  size_t RandomValueSize() {
    const uint64_t kind = Uniform(1000);
    if (kind < 600) return Uniform(101);
    if (kind < 900) return 100 + Uniform(900);
    if (kind < 995) return 1000 + Uniform(2073);
    return 3072 + Uniform(100 * 1024 - 3072);
  }

  void RunOps(uint64_t count, const Mix& mix) {
    const int total = mix.put + mix.get + mix.del + mix.scan + mix.cursor_step;
    for (uint64_t i = 0; i < count; ++i) {
      int pick = static_cast<int>(Uniform(total));
      if ((pick -= mix.put) < 0) {
        ASSERT_NO_FATAL_FAILURE(Put());
      } else if ((pick -= mix.get) < 0) {
        ASSERT_NO_FATAL_FAILURE(Get());
      } else if ((pick -= mix.del) < 0) {
        ASSERT_NO_FATAL_FAILURE(Delete(SomeKey()));
      } else if ((pick -= mix.scan) < 0) {
        ASSERT_NO_FATAL_FAILURE(Scan());
      } else {
        ASSERT_NO_FATAL_FAILURE(StepKeptCursor());
      }
      ++ops_done_;
    }
  }

  void Put() {
    const std::string key = SomeKey();
    const std::string value = MakeValue(key, ++version_, RandomValueSize());
    const Status status = tree_->Put(key, value);
    ASSERT_TRUE(status.ok()) << status.ToString();
    model_[key] = value;
  }

  void Get() {
    const std::string key = SomeKey();
    std::string value;
    const Status status = tree_->Get(key, &value);
    auto it = model_.find(key);
    if (it == model_.end()) {
      ASSERT_TRUE(status.IsNotFound()) << status.ToString();
    } else {
      ASSERT_TRUE(status.ok()) << status.ToString();
      ASSERT_EQ(value, it->second);
    }
  }

  void Delete(const std::string& key) {
    const Status status = tree_->Delete(key);
    if (model_.erase(key) == 0) {
      ASSERT_TRUE(status.IsNotFound()) << status.ToString();
    } else {
      ASSERT_TRUE(status.ok()) << status.ToString();
    }
  }

  void Drain() {
    std::vector<std::string> keys;
    for (const auto& [key, value] : model_) keys.push_back(key);
    std::shuffle(keys.begin(), keys.end(), rng_);
    for (const std::string& key : keys) {
      ASSERT_NO_FATAL_FAILURE(Delete(key));
      ++drained_;
    }
    ops_done_ += keys.size();
    ASSERT_TRUE(model_.empty());
  }

  void ExpectAt(const BTreeCursor& cursor, std::map<std::string, std::string>::const_iterator it) {
    ASSERT_TRUE(cursor.status().ok()) << cursor.status().ToString();
    if (it == model_.end()) {
      ASSERT_FALSE(cursor.Valid()) << "cursor at a key the model does not have";
      return;
    }
    ASSERT_TRUE(cursor.Valid()) << "cursor ended before the model";
    ASSERT_EQ(cursor.key(), it->first);
    ASSERT_EQ(cursor.value(), it->second);
  }

  // The last entry with key < bound (or <= bound when inclusive), or end().
  std::map<std::string, std::string>::const_iterator Before(const std::string& bound,
                                                            bool inclusive) const {
    auto it = inclusive ? model_.upper_bound(bound) : model_.lower_bound(bound);
    return it == model_.begin() ? model_.end() : std::prev(it);
  }

  void Scan() {
    auto cursor = tree_->NewCursor();
    const std::string start = SomeKey();
    const bool forward = Uniform(2) == 0;
    const uint64_t steps = Uniform(60);
    if (forward) {
      std::map<std::string, std::string>::const_iterator it = model_.end();
      if (Uniform(8) == 0) {
        cursor->SeekToFirst();
        it = model_.begin();
      } else {
        cursor->Seek(start);
        it = model_.lower_bound(start);
      }
      ASSERT_NO_FATAL_FAILURE(ExpectAt(*cursor, it));
      for (uint64_t i = 0; i < steps && it != model_.end(); ++i) {
        cursor->Next();
        ++it;
        ASSERT_NO_FATAL_FAILURE(ExpectAt(*cursor, it));
      }
    } else {
      std::map<std::string, std::string>::const_iterator it = model_.end();
      if (Uniform(8) == 0) {
        cursor->SeekToLast();
        it = model_.empty() ? model_.end() : std::prev(model_.end());
      } else {
        cursor->SeekForPrev(start);
        it = Before(start, /*inclusive=*/true);
      }
      ASSERT_NO_FATAL_FAILURE(ExpectAt(*cursor, it));
      for (uint64_t i = 0; i < steps && it != model_.end(); ++i) {
        cursor->Prev();
        it = it == model_.begin() ? model_.end() : std::prev(it);
        ASSERT_NO_FATAL_FAILURE(ExpectAt(*cursor, it));
      }
    }
  }

  // The long-lived cursor: after any writes, Next goes to the first key
  // above the one it was on, Prev to the last key below it.
  void StepKeptCursor() {
    if (!cursor_->Valid() || Uniform(50) == 0) {
      const std::string start = SomeKey();
      cursor_->Seek(start);
      ASSERT_NO_FATAL_FAILURE(ExpectAt(*cursor_, model_.lower_bound(start)));
      return;
    }
    const std::string at(cursor_->key());
    if (Uniform(2) == 0) {
      cursor_->Next();
      ASSERT_NO_FATAL_FAILURE(ExpectAt(*cursor_, model_.upper_bound(at)));
    } else {
      cursor_->Prev();
      ASSERT_NO_FATAL_FAILURE(ExpectAt(*cursor_, Before(at, /*inclusive=*/false)));
    }
  }

  std::mt19937_64 rng_;
  const size_t cache_pages_;
  const std::string path_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<TreeStore> store_;
  BTree* tree_ = nullptr;
  std::unique_ptr<BTreeCursor> cursor_;
  std::map<std::string, std::string> model_;
  uint64_t version_ = 0;
  uint64_t ops_done_ = 0;
  uint64_t drained_ = 0;
};

TEST(BTreeModelTest, MatchesStdMapOverSeveralSeeds) {
  const uint64_t first_seed = testing::TestSeed(20240611);
  const uint64_t total_ops = testing::EnvNumber("MVDB_MODEL_OPS", kDefaultTotalOps);
  uint64_t done = 0;
  for (int i = 0; i < kSeeds; ++i) {
    const uint64_t seed = first_seed + static_cast<uint64_t>(i);
    const size_t cache_pages = kCacheSizes[seed % kSeeds];  // so MVDB_SEED=seed reruns it
    SCOPED_TRACE("seed=" + std::to_string(seed) + " (rerun: MVDB_SEED=" + std::to_string(seed) +
                 "), cache pages " + std::to_string(cache_pages));
    testing::TempDir dir;
    ASSERT_TRUE(dir.ok());
    ModelRun run(seed, cache_pages, dir.File("model.mvdb"));
    ASSERT_NO_FATAL_FAILURE(run.Run(total_ops / kSeeds));
    done += run.ops_done();
  }
  std::printf("model test: %llu operations over %d seeds from %llu\n",
              static_cast<unsigned long long>(done), kSeeds,
              static_cast<unsigned long long>(first_seed));
  EXPECT_GE(done, total_ops * 9 / 10);
}

}  // namespace
}  // namespace mvdb
