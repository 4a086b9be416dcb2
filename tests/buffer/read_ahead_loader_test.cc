// BufferPool::StartLoads (read-ahead): pages load as one batch on the
// loader thread, a fetch finds them or waits for them, failures are left to
// the fetch that needs the page, and ids freed or reused meanwhile do no
// harm, also while other threads fetch, write and evict.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "buffer/buffer_pool.h"
#include "buffer_test_util.h"

namespace mvdb {
namespace {

using testing::HasStamp;
using testing::MemPageStore;
using testing::SealedImage;
using testing::Stamp;

std::unique_ptr<BufferPool> MakePool(PageStore* store, size_t capacity = 64,
                                     size_t queue_pages = 0) {
  BufferPoolOptions options;
  options.capacity_pages = capacity;
  options.writeback_batch = 4;
  options.loader_queue_pages = queue_pages;
  auto pool = BufferPool::Create(store, options);
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return std::move(pool).value();
}

void ExpectStamp(BufferPool* pool, PageId id, uint64_t version) {
  auto guard = pool->FetchRead(id);
  ASSERT_TRUE(guard.ok()) << "page " << id << ": " << guard.status().ToString();
  EXPECT_TRUE(HasStamp(guard->data(), id, version)) << "page " << id;
}

std::vector<PageId> Range(PageId first, PageId last) {
  std::vector<PageId> ids;
  for (PageId id = first; id <= last; ++id) ids.push_back(id);
  return ids;
}

TEST(ReadAheadLoaderTest, StartLoadsReadsTheMissingPagesInOneBatch) {
  MemPageStore store;
  for (PageId id = 1; id <= 12; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store);
  ExpectStamp(pool.get(), 4, 1);  // cached already: not read again
  const uint64_t batches = store.read_batches();
  const std::vector<PageId> ids = Range(1, 12);
  pool->StartLoads(ids);  // a quarter of 64 frames may wait: all of them
  pool->WaitForStartedLoads();
  EXPECT_EQ(store.read_batches(), batches + 1);
  EXPECT_EQ(store.pages_read(), 12u);
  for (PageId id : ids) EXPECT_TRUE(pool->IsCached(id)) << id;
  EXPECT_FALSE(pool->IsCached(13));
  const BufferPoolStats stats = pool->stats();
  EXPECT_EQ(stats.read_ahead_requested, 12u);
  EXPECT_EQ(stats.read_ahead_loaded, 11u);
  for (PageId id : ids) ExpectStamp(pool.get(), id, 1);
  EXPECT_EQ(store.read_batches(), batches + 1) << "pages read ahead should hit";
}

TEST(ReadAheadLoaderTest, AFetchWaitsForALoadUnderWayAndGetsItsBytes) {
  MemPageStore store;
  for (PageId id = 1; id <= 8; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 3));
  store.SetReadDelay(std::chrono::milliseconds(20));  // loads are slow, so fetches meet them
  auto pool = MakePool(&store);
  const std::vector<PageId> ids = Range(1, 8);
  pool->StartLoads(ids);
  // Whether a fetch finds the page loaded, waits for the loader's latch, or
  // loads it itself first, it returns the page's bytes, and each page is
  // read once.
  for (PageId id : ids) ExpectStamp(pool.get(), id, 3);
  pool->WaitForStartedLoads();
  EXPECT_EQ(store.pages_read(), 8u);  // each page read once, by whoever published it
  EXPECT_EQ(pool->stats().misses, store.pages_read());
}

TEST(ReadAheadLoaderTest, ACorruptPageIsReportedByTheFetchNotByTheReadAhead) {
  MemPageStore store;
  for (PageId id = 1; id <= 4; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  store.FlipByte(3, 200);
  auto pool = MakePool(&store);
  const std::vector<PageId> ids = Range(1, 4);
  pool->StartLoads(ids);  // returns nothing to report
  pool->WaitForStartedLoads();
  EXPECT_FALSE(pool->IsCached(3)) << "a page that failed must not be cached";
  EXPECT_EQ(pool->stats().read_ahead_loaded, 3u);
  auto fetched = pool->FetchRead(3);
  ASSERT_FALSE(fetched.ok());
  EXPECT_TRUE(fetched.status().IsCorruption()) << fetched.status().ToString();
  EXPECT_TRUE(testing::MessageContains(fetched.status(), "mem.mvdb: page 3 at offset 24576"));
  ExpectStamp(pool.get(), 4, 1);
}

TEST(ReadAheadLoaderTest, ReadErrorsAreLeftToTheFetch) {
  MemPageStore store;
  for (PageId id = 1; id <= 4; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store);
  store.SetFailReads(true);
  const std::vector<PageId> ids = Range(1, 4);
  pool->StartLoads(ids);
  pool->WaitForStartedLoads();
  for (PageId id : ids) EXPECT_FALSE(pool->IsCached(id));
  EXPECT_TRUE(pool->FetchRead(2).status().IsIOError());
  store.SetFailReads(false);
  ExpectStamp(pool.get(), 2, 1);
}

TEST(ReadAheadLoaderTest, TheQueueIsBoundedAndDropsTheRest) {
  MemPageStore store;
  for (PageId id = 1; id <= 40; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store, 64, /*queue_pages=*/5);
  pool->StartLoads(Range(1, 40));
  pool->WaitForStartedLoads();
  EXPECT_EQ(pool->stats().read_ahead_loaded, 5u);
  EXPECT_EQ(store.pages_read(), 5u);
  for (PageId id = 1; id <= 5; ++id) EXPECT_TRUE(pool->IsCached(id));
  EXPECT_FALSE(pool->IsCached(6));
}

TEST(ReadAheadLoaderTest, LoadsOfPagesReusedMeanwhileAreHarmless) {
  MemPageStore store;
  for (PageId id = 1; id <= 8; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  store.SetReadDelay(std::chrono::milliseconds(5));
  auto pool = MakePool(&store);
  pool->StartLoads(Range(1, 8));
  // Pages 2 and 5 are freed and reallocated while (or before, or after) the
  // loader reads their old images: the new content must win.
  pool->Discard(2);
  {
    auto guard = pool->NewPage(2, PageType::kBTreeLeaf);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    Stamp(guard->mutable_data(), 2, 9);
  }
  {
    auto guard = pool->NewPage(5, PageType::kBTreeLeaf);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    Stamp(guard->mutable_data(), 5, 9);
  }
  pool->WaitForStartedLoads();
  ExpectStamp(pool.get(), 2, 9);
  ExpectStamp(pool.get(), 5, 9);
  ExpectStamp(pool.get(), 4, 1);
  ASSERT_TRUE(pool->FlushAll().ok());
  EXPECT_TRUE(HasStamp(store.Image(2), 2, 9));
  EXPECT_TRUE(HasStamp(store.Image(5), 5, 9));
}

TEST(ReadAheadLoaderTest, DestroyingThePoolStopsTheLoader) {
  MemPageStore store;
  for (PageId id = 1; id <= 30; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  store.SetReadDelay(std::chrono::milliseconds(2));
  auto pool = MakePool(&store);
  pool->StartLoads(Range(1, 30));
  pool.reset();  // joins the loader, which may be in the middle of a batch
  SUCCEED();
}

// The loader makes fresh frames resident ahead of their first use: after a
// few pages are handed out, the frames of the next few MiB are in memory
// (mincore) although nothing has touched them.
TEST(ReadAheadLoaderTest, FreshFramesAreMadeResidentAheadOfUse) {
  {
    // The pool's advice is optional: where the kernel refuses it (before
    // Linux 5.14), there is nothing to test.
    const size_t size = 1 << 20;
    void* probe = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(probe, MAP_FAILED);
    const bool supported = ::madvise(probe, size, MADV_POPULATE_WRITE) == 0;
    const int error = errno;
    ::munmap(probe, size);
    if (!supported)
      GTEST_SKIP() << "madvise(MADV_POPULATE_WRITE) refused: " << std::strerror(error);
  }
  MemPageStore store;
  // 64 MiB of frames: a window of 8 MiB, well past the huge pages the first
  // frames share.
  auto pool = MakePool(&store, /*capacity=*/8192);
  const std::byte* first = nullptr;
  for (PageId id = 1; id <= 20; ++id) {
    auto guard = pool->NewPage(id, PageType::kBTreeLeaf);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    if (id == 1) first = guard->data().data();
  }
  pool->WaitForStartedLoads();
  const BufferPoolStats stats = pool->stats();
  EXPECT_GE(stats.populated_frames, 20u + 512u);
  EXPECT_LE(stats.populated_frames, 20u + 1024u);
  // Frames are handed out from the start of the memory, page 1 in frame 0:
  // frames 512 to 1000 (4 MiB on) are resident now.
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto start = reinterpret_cast<uintptr_t>(first) + 512 * kPageSize;
  const uintptr_t aligned = start & ~static_cast<uintptr_t>(page - 1);
  const size_t length = 488 * kPageSize;
  std::vector<unsigned char> resident((length + static_cast<size_t>(page) - 1) /
                                      static_cast<size_t>(page));
  ASSERT_EQ(::mincore(reinterpret_cast<void*>(aligned), length, resident.data()), 0)
      << std::strerror(errno);
  size_t in_memory = 0;
  for (const unsigned char bit : resident) in_memory += bit & 1;
  EXPECT_EQ(in_memory, resident.size());
}

// Readers and writers on a pool much smaller than the data, while a thread
// asks for read-ahead of random ranges and pages are freed and reused: every
// page read has the content last written to it.
TEST(ReadAheadLoaderTest, ConcurrentReadAheadFetchesWritesAndEviction) {
  const uint64_t seed = testing::TestSeed(
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  constexpr PageId kPages = 300;
  constexpr int kThreads = 3;
  constexpr int kOps = 3000;
  MemPageStore store;
  for (PageId id = 0; id < kPages; ++id) {
    store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 0));
  }
  auto pool = MakePool(&store, 32);
  // versions[id] only grows, and only the thread owning id (id % kThreads)
  // writes it, so a reader of a page it owns knows the exact version.
  std::vector<std::atomic<uint64_t>> versions(kPages);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread ahead([&] {
    std::mt19937_64 rng(seed);
    while (!stop.load(std::memory_order_relaxed)) {
      std::vector<PageId> ids;
      const PageId first = rng() % kPages;
      for (PageId id = first; id < std::min(kPages, first + 16); ++id) ids.push_back(id);
      pool->StartLoads(ids);
      pool->WaitForStartedLoads();
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seed + 1 + t);
      for (int op = 0; op < kOps; ++op) {
        PageId id = rng() % kPages;
        id = id - id % kThreads + t;
        if (id >= kPages) continue;
        const int action = static_cast<int>(rng() % 10);
        if (action < 6) {
          auto guard = pool->FetchRead(id);
          if (!guard.ok() || !HasStamp(guard->data(), id, versions[id].load())) {
            failures.fetch_add(1);
          }
        } else if (action < 9) {
          auto guard = pool->FetchWrite(id);
          if (!guard.ok()) {
            failures.fetch_add(1);
            continue;
          }
          const uint64_t next = versions[id].load() + 1;
          Stamp(guard->mutable_data(), id, next);
          versions[id].store(next);
        } else {
          // Free and reuse: the old image may be in a read-ahead batch.
          pool->Discard(id);
          auto guard = pool->NewPage(id, PageType::kBTreeLeaf);
          if (!guard.ok()) {
            failures.fetch_add(1);
            continue;
          }
          const uint64_t next = versions[id].load() + 1;
          Stamp(guard->mutable_data(), id, next);
          versions[id].store(next);
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  stop.store(true);
  ahead.join();
  EXPECT_EQ(failures.load(), 0);
  for (PageId id = 0; id < kPages; ++id) ExpectStamp(pool.get(), id, versions[id].load());
  EXPECT_GT(pool->stats().read_ahead_loaded, 0u);
}

}  // namespace
}  // namespace mvdb
