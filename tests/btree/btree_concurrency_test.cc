// Many threads on one tree, with a cache small enough that pages are
// evicted under them all the time.
//
// Keys are "k<8 digits>-<owner>". Each worker owns the keys with its letter
// and is the only one writing them, so it keeps an exact model of them; the
// keys ending in "-s" are shared, and every worker puts and deletes them.
// The digits are drawn from one range by all workers, so their keys share
// leaves and the threads meet in splits, unlinks and scans. Workers:
//   - put and delete their own keys and shared keys,
//   - get any key: their own must match the model, any other must hold a
//     well-formed value (one MakeValue made for that key),
//   - scan forward or backward from a random point, with a kLive or a
//     kLeafCopy cursor (moving inside copies of leaves): keys strictly ordered,
//     values well-formed, and exactly the worker's own keys of the model in
//     the range covered (nobody else writes them, so a scan must see them
//     all, and no other),
//   - step a cursor kept open across all of that.
// Each worker's work moves from mostly inserting to mostly deleting, so
// leaves empty and are unlinked while others read them. At the end the
// tree holds exactly the union of the models plus well-formed shared keys,
// and TreeStore::Check passes.
//
// MVDB_SEED sets the seed, MVDB_STRESS_OPS the operations per worker.
//
// Deadlocks: ThreadSanitizer's lock-order detector is turned off for this
// binary. It names a latch by the address of its buffer-pool frame, and
// frames are reused for other pages, so a frame latched as a tree page by
// one thread (which then allocates a page) and as the fresh page inside the
// allocator by another looks like a cycle although no thread can wait on a
// fresh page. Data races are still detected. Real deadlocks are caught by a
// watchdog instead: if the workers do not all finish in time the test fails
// and aborts (MVDB_STRESS_TIMEOUT seconds, default 600).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "btree/btree.h"
#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "io/file.h"

#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
#endif

namespace mvdb {
namespace {

using testing::MakeValue;
using testing::WellFormedValue;

constexpr int kWorkers = 6;
constexpr uint64_t kKeyRange = 3000;
constexpr uint64_t kDrainedRange = 2000;  // [0, 2000) empties in the last quarter
#ifdef NDEBUG
constexpr uint64_t kDefaultOpsPerWorker = 60'000;
#else
constexpr uint64_t kDefaultOpsPerWorker = 12'000;
#endif

std::string StressKey(uint64_t n, char owner) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "k%08llu-%c", static_cast<unsigned long long>(n), owner);
  return buffer;
}

char OwnerOf(std::string_view key) { return key.empty() ? '?' : key.back(); }

class Worker {
 public:
  Worker(BTree* tree, int index, uint64_t seed, uint64_t ops)
      : tree_(tree),
        owner_(static_cast<char>('a' + index)),
        rng_(seed),
        ops_(ops),
        shared_sweep_(index * kDrainedRange / kWorkers / 4 * 4) {}

  void Run() {
    cursor_ = tree_->NewCursor();
    for (uint64_t i = 0; i < ops_ && error_.empty(); ++i) {
      // Deletes take over as the run goes on: 10% at first, 60% at the end.
      // In the last quarter every worker drains the lower two thirds of the
      // key range, so whole leaves empty while the others read them.
      draining_ = i >= ops_ * 3 / 4;
      const uint64_t delete_share = 10 + 50 * i / ops_;
      const uint64_t pick = Uniform(100);
      if (pick < delete_share) {
        Delete(Uniform(8) == 0 ? 's' : owner_);
      } else if (pick < delete_share + 30) {
        Put(Uniform(8) == 0 ? 's' : owner_);
      } else if (pick < delete_share + 55) {
        Get();
      } else if (pick < delete_share + 62) {
        Scan();
      } else {
        StepKeptCursor();
      }
    }
    cursor_.reset();
  }

  const std::string& error() const { return error_; }
  const std::map<std::string, std::string>& model() const { return model_; }
  char owner() const { return owner_; }

 private:
  uint64_t Uniform(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  void Fail(const std::string& what) {
    if (error_.empty()) error_ = std::string("worker ") + owner_ + ": " + what;
  }

  size_t ValueSize() { return Uniform(100) == 0 ? 3000 + Uniform(17000) : 20 + Uniform(280); }

  uint64_t PutNumber() {
    return draining_ ? kDrainedRange + Uniform(kKeyRange - kDrainedRange) : Uniform(kKeyRange);
  }

  void Put(char owner) {
    // Shared keys are every fourth number, so the drain's sweep is short.
    const std::string key = StressKey(owner == owner_ ? PutNumber() : PutNumber() / 4 * 4, owner);
    const std::string value = MakeValue(key, ++version_, ValueSize());
    const Status status = tree_->Put(key, value);
    if (!status.ok()) return Fail("put " + key + ": " + status.ToString());
    if (owner == owner_) model_[key] = value;
  }

  void Delete(char owner) {
    std::string key = StressKey(Uniform(kKeyRange), owner);
    if (draining_ && owner != owner_) {
      // Sweep the shared keys of the drained range, each worker from its
      // own starting point, so together they delete them all.
      key = StressKey((shared_sweep_ += 4) % kDrainedRange, owner);
    } else if (draining_ && !model_.empty() &&
               model_.begin()->first < StressKey(kDrainedRange, owner_)) {
      key = model_.begin()->first;  // the lowest own key left
    }
    const Status status = tree_->Delete(key);
    if (owner != owner_) {
      if (!status.ok() && !status.IsNotFound()) Fail("delete " + key + ": " + status.ToString());
      return;
    }
    const bool present = model_.erase(key) > 0;
    if (present ? !status.ok() : !status.IsNotFound()) {
      Fail("delete " + key + " (in model: " + std::to_string(present) + "): " + status.ToString());
    }
  }

  void Get() {
    const char owner = Uniform(3) == 0 ? owner_ : static_cast<char>('a' + Uniform(kWorkers));
    const std::string key = StressKey(Uniform(kKeyRange), Uniform(10) == 0 ? 's' : owner);
    std::string value;
    const Status status = tree_->Get(key, &value);
    if (!status.ok() && !status.IsNotFound()) return Fail("get " + key + ": " + status.ToString());
    if (OwnerOf(key) == owner_) {
      auto it = model_.find(key);
      if ((it == model_.end()) != status.IsNotFound() || (status.ok() && value != it->second)) {
        Fail("get " + key + " disagrees with the model");
      }
    } else if (status.ok() && !WellFormedValue(key, value)) {
      Fail("get " + key + " returned a malformed value");
    }
  }

  // Checks one cursor position; `last` is the key before it in scan order.
  bool CheckEntry(const BTreeCursor& cursor, const std::string& last, bool forward) {
    if (!last.empty() && (forward ? !(last < cursor.key()) : !(cursor.key() < last))) {
      Fail("scan out of order: " + std::string(cursor.key()) + " after " + last);
      return false;
    }
    if (!WellFormedValue(cursor.key(), cursor.value())) {
      Fail("scan found a malformed value at " + std::string(cursor.key()));
      return false;
    }
    return true;
  }

  void Scan() {
    // Both kinds of cursor: a kLeafCopy one moves inside copies of leaves
    // that other workers change meanwhile, and must keep the same promises.
    auto cursor = tree_->NewCursor(Uniform(2) == 0 ? CursorMode::kLive : CursorMode::kLeafCopy);
    const bool forward = Uniform(2) == 0;
    const std::string start = StressKey(Uniform(kKeyRange), owner_);
    if (forward) {
      cursor->Seek(start);
    } else {
      cursor->SeekForPrev(start);
    }
    std::vector<std::string> own_seen;
    std::string last;
    const uint64_t steps = 20 + Uniform(200);
    for (uint64_t i = 0; i < steps && cursor->Valid(); ++i) {
      if (!CheckEntry(*cursor, last, forward)) return;
      last.assign(cursor->key());
      if (OwnerOf(last) == owner_) own_seen.push_back(last);
      if (forward) {
        cursor->Next();
      } else {
        cursor->Prev();
      }
    }
    if (!cursor->status().ok()) return Fail("scan: " + cursor->status().ToString());
    // Own keys in the covered range: [start, last] forward, [last, start] back.
    const bool ended = !cursor->Valid();
    std::vector<std::string> expected;
    if (forward) {
      for (auto it = model_.lower_bound(start);
           it != model_.end() && (ended || last.empty() || it->first <= last); ++it) {
        expected.push_back(it->first);
      }
    } else {
      auto it = model_.upper_bound(start);
      while (it != model_.begin()) {
        --it;
        if (!ended && !last.empty() && it->first < last) break;
        expected.push_back(it->first);
      }
    }
    if (expected != own_seen) {
      Fail("scan from " + start + " saw " + std::to_string(own_seen.size()) +
           " of this worker's keys, the model has " + std::to_string(expected.size()));
    }
  }

  void StepKeptCursor() {
    if (!cursor_->Valid()) {
      cursor_->Seek(StressKey(Uniform(kKeyRange), owner_));
      if (!cursor_->status().ok()) Fail("kept cursor seek: " + cursor_->status().ToString());
      return;
    }
    const std::string at(cursor_->key());
    const bool forward = Uniform(2) == 0;
    if (forward) {
      cursor_->Next();
    } else {
      cursor_->Prev();
    }
    if (!cursor_->status().ok()) return Fail("kept cursor: " + cursor_->status().ToString());
    if (cursor_->Valid()) {
      if (!CheckEntry(*cursor_, at, forward)) return;
      // No own key of the model may be skipped between the two positions.
      const std::string now(cursor_->key());
      auto it = forward ? model_.upper_bound(at) : model_.lower_bound(at);
      if (!forward && it != model_.begin()) {
        --it;
        if (it->first > now) Fail("kept cursor skipped " + it->first);
      } else if (forward && it != model_.end() && it->first < now) {
        Fail("kept cursor skipped " + it->first);
      }
    }
  }

  BTree* const tree_;
  const char owner_;
  std::mt19937_64 rng_;
  const uint64_t ops_;
  std::unique_ptr<BTreeCursor> cursor_;
  std::map<std::string, std::string> model_;
  uint64_t version_ = 0;
  std::string error_;
  bool draining_ = false;
  uint64_t shared_sweep_;
};

TEST(BTreeConcurrencyTest, WorkersAgreeWithTheirModels) {
  const uint64_t seed = testing::TestSeed(7);
  const uint64_t ops = testing::EnvNumber("MVDB_STRESS_OPS", kDefaultOpsPerWorker);
  SCOPED_TRACE("seed=" + std::to_string(seed) + " (rerun: MVDB_SEED=" + std::to_string(seed) + ")");
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  TreeStoreOptions options;
  options.cache_pages = 96;
  options.writeback_batch = 8;
  auto opened = TreeStore::Open(fs.get(), dir.File("stress.mvdb"), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<TreeStore> store = std::move(*opened);
  auto created = store->CreateTree("stress");
  ASSERT_TRUE(created.ok());
  BTree* tree = *created;

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(std::make_unique<Worker>(tree, i, seed * 1000 + i, ops));
  }
  std::mutex done_mu;
  std::condition_variable done_cv;
  int done = 0;
  std::vector<std::thread> threads;
  for (auto& worker : workers) {
    threads.emplace_back([&] {
      worker->Run();
      std::lock_guard<std::mutex> lock(done_mu);
      ++done;
      done_cv.notify_all();
    });
  }
  {
    const auto limit = std::chrono::seconds(testing::EnvNumber("MVDB_STRESS_TIMEOUT", 600));
    std::unique_lock<std::mutex> lock(done_mu);
    if (!done_cv.wait_for(lock, limit, [&] { return done == kWorkers; })) {
      std::fprintf(stderr, "only %d of %d workers finished in time: deadlock? (seed %llu)\n", done,
                   kWorkers, static_cast<unsigned long long>(seed));
      std::abort();  // the stuck threads cannot be joined
    }
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& worker : workers) ASSERT_EQ(worker->error(), "");

  // The tree is the union of the models, plus well-formed shared keys.
  std::map<char, size_t> found;
  auto cursor = tree->NewCursor();
  std::string last;
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    const std::string key(cursor->key());
    ASSERT_LT(last, key);
    last = key;
    const char owner = OwnerOf(key);
    ++found[owner];
    if (owner == 's') {
      EXPECT_TRUE(WellFormedValue(key, cursor->value())) << key;
      continue;
    }
    ASSERT_GE(owner, 'a');
    ASSERT_LT(owner, 'a' + kWorkers);
    const auto& model = workers[owner - 'a']->model();
    auto it = model.find(key);
    ASSERT_NE(it, model.end()) << key << " is in the tree but not in its worker's model";
    EXPECT_EQ(cursor->value(), it->second) << key;
  }
  ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
  cursor.reset();
  for (const auto& worker : workers) {
    EXPECT_EQ(found[worker->owner()], worker->model().size()) << "worker " << worker->owner();
  }
  auto report = store->Check();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::printf("stress: %d workers x %llu ops; %llu entries left in %llu leaves\n", kWorkers,
              static_cast<unsigned long long>(ops),
              static_cast<unsigned long long>(report->trees[0].second.entries),
              static_cast<unsigned long long>(report->trees[0].second.leaf_pages));
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace mvdb
