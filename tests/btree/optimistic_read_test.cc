// Optimistic lookups (Get and GetSplit, btree_get.cc) racing writers,
// splits, unlinks of emptied leaves and eviction on a cache far smaller than
// the tree, every answer checked against what must be visible.
//
// Keys come in blocks of 64 owned by one writer each, so a writer can empty
// whole leaves (a sweep deleting one of its blocks). Per key the owner counts
// its operations; before an operation it publishes the operation's number in
// `started`, after it the number and kind in `done`. A reader reads `done`,
// looks the key up, then reads `started`:
//   - a value must be well-formed and carry the number of a put made
//     between the two (the value's first 8 bytes are that number);
//   - when no operation started in between, the answer must be exactly the
//     state `done` describes: the value of that put, or NotFound.
// At the end the tree must equal the writers' std::map models and
// TreeStore::Check must pass.
//
// MVDB_SEED sets the seed, MVDB_STRESS_OPS the operations per writer.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "btree/btree.h"
#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "common/coding.h"
#include "io/file.h"

#if defined(__SANITIZE_THREAD__)
// Frames are reused for any page, so TSan's lock-order detector, which
// names a latch by its frame's address, sees cycles no thread can close
// (btree_concurrency_test.cc explains). Data races are still detected.
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
#endif

namespace mvdb {
namespace {

using testing::MakeValue;
using testing::NumberKey;
using testing::WellFormedValue;

constexpr int kWriters = 2;
constexpr int kReaders = 3;
constexpr uint64_t kKeys = 4096;
constexpr uint64_t kBlock = 64;
#ifdef NDEBUG
constexpr uint64_t kDefaultOpsPerWriter = 40'000;
#else
constexpr uint64_t kDefaultOpsPerWriter = 8'000;
#endif

int OwnerOf(uint64_t key) { return static_cast<int>(key / kBlock % kWriters); }

struct KeyState {
  std::atomic<uint64_t> started{0};  // number of the last operation begun
  std::atomic<uint64_t> done{0};     // 2 * number of the last one finished, + 1 if a put
};

class Fixture {
 public:
  std::array<KeyState, kKeys> keys;
  std::atomic<int> writers_running{kWriters};
  std::atomic<uint64_t> exact_checks{0};
};

class Writer {
 public:
  Writer(BTree* tree, Fixture* fixture, int index, uint64_t seed, uint64_t ops)
      : tree_(tree), fixture_(fixture), index_(index), rng_(seed), ops_(ops) {}

  void Run() {
    for (uint64_t i = 0; i < ops_ && error_.empty(); ++i) {
      const uint64_t pick = rng_() % 1000;
      if (pick < 3) {
        Sweep();
      } else {
        Apply(OwnKey(), pick < 350 ? Op::kDelete : Op::kPut);
      }
    }
    fixture_->writers_running.fetch_sub(1);
  }

  const std::string& error() const { return error_; }
  const std::map<std::string, std::string>& model() const { return model_; }

 private:
  enum class Op { kPut, kDelete };

  uint64_t OwnKey() {
    for (;;) {
      const uint64_t key = rng_() % kKeys;
      if (OwnerOf(key) == index_) return key;
    }
  }

  // Deletes one whole block: its leaves empty and are unlinked.
  void Sweep() {
    const uint64_t first = OwnKey() / kBlock * kBlock;
    for (uint64_t key = first; key < first + kBlock && error_.empty(); ++key) {
      Apply(key, Op::kDelete);
    }
  }

  void Apply(uint64_t n, Op op) {
    KeyState& state = fixture_->keys[n];
    const uint64_t number = state.started.load(std::memory_order_relaxed) + 1;
    state.started.store(number, std::memory_order_seq_cst);
    const std::string key = NumberKey(n);
    Status status;
    if (op == Op::kPut) {
      // Now and then a value for overflow pages (the latched fallback).
      const size_t size = rng_() % 200 == 0 ? 9000 : 16 + rng_() % 240;
      const std::string value = MakeValue(key, number, size);
      status = tree_->Put(key, value);
      if (status.ok()) model_[key] = value;
    } else {
      status = tree_->Delete(key);
      const bool present = model_.erase(key) > 0;
      if (status.IsNotFound() && !present) status = Status::OK();
    }
    if (!status.ok()) {
      error_ = "writer " + std::to_string(index_) + ": " + key + ": " + status.ToString();
      return;
    }
    state.done.store(2 * number + (op == Op::kPut ? 1 : 0), std::memory_order_seq_cst);
  }

  BTree* const tree_;
  Fixture* const fixture_;
  const int index_;
  std::mt19937_64 rng_;
  const uint64_t ops_;
  std::map<std::string, std::string> model_;
  std::string error_;
};

// Looks keys up until the writers are done; returns the first disagreement.
std::string Read(BTree* tree, Fixture* fixture, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string value;
  std::array<char, 8> head{};
  uint64_t lookups = 0;
  while (fixture->writers_running.load() > 0 || lookups < 1000) {
    ++lookups;
    const uint64_t n = rng() % kKeys;
    const std::string key = NumberKey(n);
    KeyState& state = fixture->keys[n];
    const uint64_t before = state.done.load(std::memory_order_seq_cst);
    const bool split = rng() % 2 == 0;
    Status status = split ? tree->GetSplit(key, head, &value) : tree->Get(key, &value);
    const uint64_t after = state.started.load(std::memory_order_seq_cst);
    if (!status.ok() && !status.IsNotFound()) return key + ": " + status.ToString();
    uint64_t number = 0;
    if (status.ok()) {
      if (split) value.insert(0, head.data(), head.size());
      if (value.size() < 16 || !WellFormedValue(key, value)) return key + ": malformed value";
      number = DecodeFixed64(reinterpret_cast<const std::byte*>(value.data()));
      if (number < before / 2 || number > after) {
        return key + ": value of operation " + std::to_string(number) + ", expected one in [" +
               std::to_string(before / 2) + ", " + std::to_string(after) + "]";
      }
    }
    if (after == before / 2) {  // nothing started meanwhile: exact
      fixture->exact_checks.fetch_add(1, std::memory_order_relaxed);
      const bool put = before % 2 == 1;
      if (status.ok() != put || (put && number != before / 2)) {
        return key + ": " + (status.ok() ? "found" : "not found") + " after operation " +
               std::to_string(before / 2) + (put ? " (a put)" : " (a delete)");
      }
    }
  }
  return "";
}

TEST(OptimisticReadTest, LookupsRacingWritersAndEvictionMatchTheModel) {
  const uint64_t seed = testing::TestSeed(11);
  const uint64_t ops = testing::EnvNumber("MVDB_STRESS_OPS", kDefaultOpsPerWriter);
  SCOPED_TRACE("seed=" + std::to_string(seed) + " (rerun: MVDB_SEED=" + std::to_string(seed) + ")");
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  TreeStoreOptions options;
  options.cache_pages = 48;  // the tree has well over a hundred pages
  options.writeback_batch = 8;
  auto opened = TreeStore::Open(fs.get(), dir.File("optimistic.mvdb"), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<TreeStore> store = std::move(*opened);
  auto created = store->CreateTree("t");
  ASSERT_TRUE(created.ok());
  BTree* tree = *created;

  auto fixture = std::make_unique<Fixture>();
  std::vector<std::unique_ptr<Writer>> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(std::make_unique<Writer>(tree, fixture.get(), i, seed * 100 + i, ops));
  }
  std::vector<std::string> reader_errors(kReaders);
  std::vector<std::thread> threads;
  for (auto& writer : writers) threads.emplace_back([&writer] { writer->Run(); });
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back(
        [&, i] { reader_errors[i] = Read(tree, fixture.get(), seed * 100 + 50 + i); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& writer : writers) ASSERT_EQ(writer->error(), "");
  for (const std::string& error : reader_errors) ASSERT_EQ(error, "");
  EXPECT_GT(fixture->exact_checks.load(), 0u);

  std::map<std::string, std::string> model;
  for (const auto& writer : writers) model.insert(writer->model().begin(), writer->model().end());
  std::string value;
  for (uint64_t n = 0; n < kKeys; ++n) {
    const std::string key = NumberKey(n);
    const Status status = tree->Get(key, &value);
    auto it = model.find(key);
    if (it == model.end()) {
      EXPECT_TRUE(status.IsNotFound()) << key << ": " << status.ToString();
    } else {
      ASSERT_TRUE(status.ok()) << key << ": " << status.ToString();
      EXPECT_EQ(value, it->second) << key;
    }
  }
  auto report = store->Check();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GT(store->pool()->stats().evictions, 0u);
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace mvdb
