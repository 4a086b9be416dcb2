// Many threads on one small pool: every increment made under a write guard
// must survive eviction, write-back and FlushAll running at the same time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "buffer/buffer_pool.h"
#include "buffer/page_access.h"
#include "buffer_test_util.h"

namespace mvdb {
namespace {

using testing::MemPageStore;

constexpr PageId kPages = 500;
constexpr size_t kFrames = 32;
constexpr int kThreads = 4;
constexpr int kOpsPerThread = 10000;
// Pages below this play parents: a thread may hold one while it fetches a
// page at or above it, as a B+tree descent holds a parent over a child.
constexpr PageId kParents = 50;

// Page body: page id u64 | counter u64.
uint64_t Counter(std::span<const std::byte> page) {
  return DecodeFixed64(page.data() + kPageHeaderSize + 8);
}

std::unique_ptr<BufferPool> MakePool(PageStore* store) {
  BufferPoolOptions options;
  options.capacity_pages = kFrames;
  options.writeback_batch = 8;
  auto pool = BufferPool::Create(store, options);
  EXPECT_TRUE(pool.ok());
  return std::move(pool).value();
}

uint64_t SumCounters(BufferPool* pool) {
  uint64_t sum = 0;
  for (PageId id = 0; id < kPages; ++id) {
    auto guard = pool->FetchRead(id);
    EXPECT_TRUE(guard.ok()) << guard.status().ToString();
    if (!guard.ok()) continue;
    EXPECT_EQ(DecodeFixed64(guard->data().data() + kPageHeaderSize), id);
    sum += Counter(guard->data());
  }
  return sum;
}

TEST(BufferPoolConcurrencyTest, CountersSurviveConcurrentFetchesAndEviction) {
  const uint64_t seed = testing::TestSeed(
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  MemPageStore store;
  auto pool = MakePool(&store);
  for (PageId id = 0; id < kPages; ++id) {
    auto guard = pool->NewPage(id, PageType::kBTreeLeaf);
    ASSERT_TRUE(guard.ok());
    EncodeFixed64(guard->mutable_data().data() + kPageHeaderSize, id);
  }

  std::atomic<uint64_t> increments{0};
  std::atomic<uint64_t> failures{0};
  auto worker = [&](int index) {
    std::mt19937_64 rng(seed + static_cast<uint64_t>(index));
    for (int op = 0; op < kOpsPerThread; ++op) {
      const PageId id = rng() % kPages;
      const unsigned kind = rng() % 100;
      if (kind < 40) {
        auto guard = pool->FetchWrite(id);
        if (!guard.ok()) {
          failures.fetch_add(1);
          continue;
        }
        std::byte* counter = guard->mutable_data().data() + kPageHeaderSize + 8;
        EncodeFixed64(counter, DecodeFixed64(counter) + 1);
        increments.fetch_add(1, std::memory_order_relaxed);
      } else if (kind < 45) {
        // Busy is the expected answer when another thread holds the page.
        auto guard = pool->TryFetchWrite(id);
        if (guard.ok()) {
          std::byte* counter = guard->mutable_data().data() + kPageHeaderSize + 8;
          EncodeFixed64(counter, DecodeFixed64(counter) + 1);
          increments.fetch_add(1, std::memory_order_relaxed);
        } else if (!guard.status().IsBusy()) {
          failures.fetch_add(1);
        }
      } else if (kind < 55) {
        auto parent = pool->FetchRead(id % kParents);
        auto child = pool->FetchWrite(kParents + id % (kPages - kParents));
        if (!parent.ok() || !child.ok()) {
          failures.fetch_add(1);
          continue;
        }
        std::byte* counter = child->mutable_data().data() + kPageHeaderSize + 8;
        EncodeFixed64(counter, DecodeFixed64(counter) + 1);
        increments.fetch_add(1, std::memory_order_relaxed);
      } else if (kind < 57) {
        const PageId ids[3] = {id, (id + 1) % kPages, (id + 2) % kPages};
        if (!pool->Prefetch(ids).ok()) failures.fetch_add(1);
      } else if (kind < 58 && index == 0) {
        if (!pool->FlushAll().ok()) failures.fetch_add(1);
      } else {
        auto guard = pool->FetchRead(id);
        if (!guard.ok() || DecodeFixed64(guard->data().data() + kPageHeaderSize) != id) {
          failures.fetch_add(1);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(SumCounters(pool.get()), increments.load());
  BufferPoolStats stats = pool->stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.pages_written, 0u);

  // Everything also reached the store.
  ASSERT_TRUE(pool->FlushAll().ok());
  auto fresh = MakePool(&store);
  EXPECT_EQ(SumCounters(fresh.get()), increments.load());
}

// Optimistic readers against writers and eviction on a small pool: a
// writer fills a page's body with one number per word under its write
// guard; a reader that copies a whole page without latch or pin and then
// validates must see one number throughout and the page's own id, however
// the copy overlapped writes, eviction, write-back and reloads.
TEST(BufferPoolConcurrencyTest, ValidatedOptimisticReadsAreNeverTorn) {
  const uint64_t seed = testing::TestSeed(
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  constexpr PageId kOptimisticPages = 64;  // twice the frames: eviction all the time
  constexpr int kWriters = 2;
  constexpr int kReaders = 2;
  constexpr int kOps = 4000;
  MemPageStore store;
  auto pool = MakePool(&store);
  for (PageId id = 0; id < kOptimisticPages; ++id) {
    auto guard = pool->NewPage(id, PageType::kBTreeLeaf);
    ASSERT_TRUE(guard.ok());
  }
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> validated{0};
  std::atomic<int> writers_left{kWriters};
  auto writer = [&](int index) {
    std::mt19937_64 rng(seed + static_cast<uint64_t>(index));
    for (int op = 0; op < kOps; ++op) {
      const PageId id = rng() % kOptimisticPages;
      auto guard = pool->FetchWrite(id);
      if (!guard.ok()) {
        failures.fetch_add(1);
        continue;
      }
      const uint64_t stamp = rng();
      std::byte* page = guard->mutable_data().data();
      for (size_t offset = kPageHeaderSize; offset < kPageSize; offset += 8) {
        page_access::Store64(page, offset, stamp);
      }
    }
    writers_left.fetch_sub(1);
  };
  auto reader = [&](int index) {
    std::mt19937_64 rng(seed + 100 + static_cast<uint64_t>(index));
    std::vector<std::byte> copy(kPageSize);
    while (writers_left.load() > 0) {
      const PageId id = rng() % kOptimisticPages;
      OptimisticPage page;
      const OptimisticStatus status = pool->ReadOptimistic(id, &page);
      if (status == OptimisticStatus::kMiss) {
        // Load it, as a tree lookup's latched path would.
        if (!pool->FetchRead(id).ok()) failures.fetch_add(1);
        continue;
      }
      if (status != OptimisticStatus::kOk) continue;
      page_access::CopyOut(page.data, 0, kPageSize, copy.data());
      if (!page.Validate()) continue;
      validated.fetch_add(1, std::memory_order_relaxed);
      bool consistent = ConstPageView(copy).page_id() == id;
      const uint64_t first = DecodeFixed64(copy.data() + kPageHeaderSize);
      for (size_t offset = kPageHeaderSize; offset < kPageSize; offset += 8) {
        consistent = consistent && DecodeFixed64(copy.data() + offset) == first;
      }
      if (!consistent) failures.fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) threads.emplace_back(writer, i);
  for (int i = 0; i < kReaders; ++i) threads.emplace_back(reader, i);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(validated.load(), 0u);
  EXPECT_GT(pool->stats().evictions, 0u);
}

TEST(BufferPoolConcurrencyTest, WaitersOfAFailedLoadAllGetTheError) {
  MemPageStore store;
  store.PutRaw(3, testing::SealedImage(3, PageType::kBTreeLeaf, 1));
  store.FlipByte(3, 5000);
  store.SetReadDelay(std::chrono::microseconds(2000));  // so fetchers pile up on one load
  auto pool = MakePool(&store);
  std::atomic<int> corruption{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 20; ++round) {
        Status status = (i % 2 == 0) ? pool->FetchRead(3).status() : pool->FetchWrite(3).status();
        (status.IsCorruption() ? corruption : other).fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(corruption.load(), kThreads * 20);
  EXPECT_EQ(other.load(), 0);
  // Fewer loads than fetches: waiters shared a load instead of each reading.
  EXPECT_LT(store.read_batches(), static_cast<uint64_t>(kThreads * 20));
  // No frame leaked: the whole pool is still usable.
  std::vector<ReadPageGuard> guards;
  guards.reserve(kFrames);
  for (PageId id = 100; id < 100 + kFrames; ++id) {
    auto guard = pool->FetchRead(id);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    guards.push_back(std::move(guard).value());
  }
}

TEST(BufferPoolConcurrencyTest, ConcurrentMissesOfOnePageLoadItOnce) {
  MemPageStore store;
  store.PutRaw(9, testing::SealedImage(9, PageType::kBTreeLeaf, 1));
  store.SetReadDelay(std::chrono::microseconds(20000));
  auto pool = MakePool(&store);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto guard = pool->FetchRead(9);
      if (guard.ok() && testing::HasStamp(guard->data(), 9, 1)) ok.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(store.pages_read(), 1u);
  EXPECT_EQ(pool->stats().misses, 1u);
}

}  // namespace
}  // namespace mvdb
