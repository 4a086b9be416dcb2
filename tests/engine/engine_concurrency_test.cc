// Concurrent writers with background checkpoints: four threads commit
// batches across trees while checkpoints run, then the database is
// reopened and must equal the model. Also prints the commit latency
// (p50/p99/p99.9 at sync=full, four threads) with checkpoints running
// continuously and without any; no timing is asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "engine/engine.h"
#include "io/file.h"
#include "tests/engine/engine_test_util.h"

namespace mvdb {
namespace {

using testing_db::Model;
using testing_db::TempDir;
using testing_db::Value;

constexpr int kThreads = 4;

// Each thread writes only keys carrying its number, into shared trees, so
// the expected state is the union of what each thread's batches leave.
TEST(DbConcurrencyTest, WritersWithBackgroundCheckpointsThenReopen) {
  SetLogLevel(LogLevel::kNone);
  const uint64_t seed = testing_db::TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  TempDir dir;
  EngineOptions options;
  options.fs = posix.get();
  options.cache_mb = 2;
  options.wal_segment_bytes = 32 << 10;
  options.checkpoint_wal_bytes = 64 << 10;
  options.checkpoint_interval = std::chrono::milliseconds(20);
  Model model{{"t0", {}}, {"t1", {}}, {"t2", {}}};
  std::map<std::string, std::set<std::string>> keys;
  {
    auto engine = Engine::Open(dir.path(), options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    for (const char* tree : {"t0", "t1", "t2"}) ASSERT_TRUE((*engine)->CreateTree(tree).ok());
    std::mutex model_mu;
    std::atomic<int> failures{0};
    std::atomic<bool> stop{false};
    // A reader meanwhile: never an error other than NotFound.
    std::thread reader([&] {
      std::string value;
      while (!stop) {
        const Status s = (*engine)->Get("t1", "w0-1", &value);
        if (!s.ok() && !s.IsNotFound()) ++failures;
      }
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(seed + t);
        Model mine;
        std::map<std::string, std::set<std::string>> touched;
        // At least 300 batches each, and on until a background checkpoint
        // has completed, so that writes overlap one however the threads
        // are scheduled (bounded: the test then fails below).
        for (int i = 0; i < 300 || ((*engine)->stats().checkpoints == 0 && i < 200000); ++i) {
          TreeBatch batch;
          const int ops = 1 + static_cast<int>(rng() % 4);
          for (int o = 0; o < ops; ++o) {
            const std::string tree = "t" + std::to_string(rng() % 3);
            const std::string key = "w" + std::to_string(t) + "-" + std::to_string(rng() % 40);
            if (rng() % 5 == 0) {
              batch.Delete(tree, key);
            } else {
              batch.Put(tree, key, Value(rng() % 700, rng()));
            }
          }
          const SyncMode mode = i % 3 == 0 ? SyncMode::kFull : SyncMode::kOff;
          if (!(*engine)->Write(batch, mode).ok()) {
            ++failures;
            return;
          }
          testing_db::ApplyToModel(batch, &mine);
          testing_db::AddKeys(batch, &touched);
        }
        std::lock_guard lock(model_mu);
        for (const auto& [tree, contents] : mine) {
          for (const auto& [key, value] : contents) model[tree][key] = value;
        }
        for (const auto& [tree, names] : touched) keys[tree].insert(names.begin(), names.end());
      });
    }
    for (auto& thread : threads) thread.join();
    stop = true;
    reader.join();
    ASSERT_EQ(failures.load(), 0);
    EXPECT_EQ(testing_db::ReadBack(engine->get(), keys), model);
    EXPECT_GT((*engine)->stats().checkpoints, 0u);
    ASSERT_TRUE((*engine)->Close().ok());
  }
  auto engine = Engine::Open(dir.path(), options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  EXPECT_EQ(testing_db::ReadBack(engine->get(), keys), model);
  ASSERT_TRUE((*engine)->Close().ok());
  std::string report;
  const Status checked = CheckDatabase(dir.path(), &report, posix.get());
  EXPECT_TRUE(checked.ok()) << report;
}

// Commit latency at sync=full with four threads, with a checkpoint running
// back to back on a fifth thread and without. Prints the figures; the test
// fails only if a commit fails.
struct Latencies {
  double p50_us = 0, p99_us = 0, p999_us = 0;
  uint64_t commits = 0, checkpoints = 0;
};

Latencies MeasureCommits(FileSystem* fs, bool checkpoints, int per_thread) {
  TempDir dir(/*tmpfs=*/false);
  EngineOptions options;
  options.fs = fs;
  options.background_checkpoints = false;
  auto engine = Engine::Open(dir.path(), options);
  EXPECT_TRUE(engine.ok());
  if (!engine.ok()) return {};
  EXPECT_TRUE((*engine)->CreateTree("t").ok());
  std::vector<std::vector<double>> samples(kThreads);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> taken{0};
  std::thread checkpointer([&] {
    while (checkpoints && !stop) {
      if ((*engine)->Checkpoint().ok()) ++taken;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        TreeBatch batch;
        batch.Put("t", "k" + std::to_string(t) + "-" + std::to_string(i % 500), Value(100, i));
        const auto start = std::chrono::steady_clock::now();
        EXPECT_TRUE((*engine)->Write(batch, SyncMode::kFull).ok());
        samples[t].push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  stop = true;
  checkpointer.join();
  EXPECT_TRUE((*engine)->Close().ok());
  std::vector<double> all;
  for (const auto& s : samples) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  auto at = [&](double q) { return all[std::min(all.size() - 1, size_t(q * all.size()))]; };
  return {at(0.50), at(0.99), at(0.999), all.size(), taken.load()};
}

TEST(DbConcurrencyTest, CommitLatencyWithAndWithoutCheckpoints) {
  SetLogLevel(LogLevel::kNone);
  const char* env = std::getenv("MVDB_LATENCY_COMMITS");
  const int per_thread = env != nullptr ? std::atoi(env) : 300;
  // On the real disk (not tmpfs): fdatasync is what a commit waits for.
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  for (const bool checkpoints : {false, true}) {
    const Latencies l = MeasureCommits(posix.get(), checkpoints, per_thread);
    std::printf(
        "commit latency, sync=full, %d threads, %s: p50 %.0f us, p99 %.0f us, p99.9 %.0f us "
        "(%llu commits, %llu checkpoints)\n",
        kThreads, checkpoints ? "checkpoints running continuously" : "no checkpoints", l.p50_us,
        l.p99_us, l.p999_us, static_cast<unsigned long long>(l.commits),
        static_cast<unsigned long long>(l.checkpoints));
    EXPECT_EQ(l.commits, uint64_t(kThreads) * per_thread);
  }
}

}  // namespace
}  // namespace mvdb
