#include "buffer/buffer_pool.h"
#include "buffer/page_access.h"

#include <gtest/gtest.h>

#include <numeric>
#include <thread>
#include <vector>

#include "buffer_test_util.h"

namespace mvdb {
namespace {

using testing::HasStamp;
using testing::MemPageStore;
using testing::MessageContains;
using testing::SealedImage;
using testing::Stamp;

std::unique_ptr<BufferPool> MakePool(PageStore* store, size_t capacity = 16, size_t batch = 4,
                                     PageValidator validator = nullptr) {
  BufferPoolOptions options;
  options.capacity_pages = capacity;
  options.writeback_batch = batch;
  options.validator = validator;
  auto pool = BufferPool::Create(store, options);
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return std::move(pool).value();
}

// Writes (id, version) into page `id` through a new page's write guard.
void WriteNew(BufferPool* pool, PageId id, uint64_t version) {
  auto guard = pool->NewPage(id, PageType::kBTreeLeaf);
  ASSERT_TRUE(guard.ok()) << guard.status().ToString();
  Stamp(guard->mutable_data(), id, version);
}

void ExpectStamp(BufferPool* pool, PageId id, uint64_t version) {
  auto guard = pool->FetchRead(id);
  ASSERT_TRUE(guard.ok()) << "page " << id << ": " << guard.status().ToString();
  EXPECT_TRUE(HasStamp(guard->data(), id, version)) << "page " << id;
  EXPECT_EQ(guard->view().page_id(), id);
}

TEST(BufferPoolTest, CreateRejectsTinyPools) {
  MemPageStore store;
  BufferPoolOptions options;
  options.capacity_pages = 15;
  EXPECT_EQ(BufferPool::Create(&store, options).status().code(), StatusCode::kInvalidArgument);
  options.capacity_pages = 16;
  options.writeback_batch = 0;
  EXPECT_EQ(BufferPool::Create(&store, options).status().code(), StatusCode::kInvalidArgument);
}

TEST(BufferPoolTest, CountsHitsAndMisses) {
  MemPageStore store;
  store.PutRaw(3, SealedImage(3, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store);
  ExpectStamp(pool.get(), 3, 1);
  EXPECT_EQ(pool->stats().misses, 1u);
  EXPECT_EQ(pool->stats().hits, 0u);
  ExpectStamp(pool.get(), 3, 1);
  {
    auto guard = pool->FetchWrite(3);
    ASSERT_TRUE(guard.ok());
  }
  BufferPoolStats stats = pool->stats();
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.capacity_pages, 16u);
  EXPECT_EQ(stats.dirty_pages, 1u);  // taking a write guard dirties the page
  EXPECT_EQ(store.read_batches(), 1u);
}

TEST(BufferPoolTest, OptimisticReadsSeeHitsAndValidateOnlyUnchangedPages) {
  MemPageStore store;
  for (PageId id = 0; id < 40; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store);
  OptimisticPage page;
  // A miss loads nothing and waits for nothing: the caller takes a fetch.
  EXPECT_EQ(pool->ReadOptimistic(3, &page), OptimisticStatus::kMiss);
  EXPECT_EQ(pool->stats().misses, 0u);
  ExpectStamp(pool.get(), 3, 1);

  ASSERT_EQ(pool->ReadOptimistic(3, &page), OptimisticStatus::kOk);
  EXPECT_EQ(page_access::Load64(page.data, page_header::kPageIdOffset), 3u);
  EXPECT_EQ(page_access::Load64(page.data, kPageHeaderSize + 8), 1u);
  EXPECT_TRUE(page.Validate());
  {
    // A live write guard: busy, and an earlier read no longer validates.
    auto guard = pool->FetchWrite(3);
    ASSERT_TRUE(guard.ok());
    EXPECT_FALSE(page.Validate());
    OptimisticPage during;
    EXPECT_EQ(pool->ReadOptimistic(3, &during), OptimisticStatus::kBusy);
    Stamp(guard->mutable_data(), 3, 2);
  }
  EXPECT_FALSE(page.Validate());
  ASSERT_EQ(pool->ReadOptimistic(3, &page), OptimisticStatus::kOk);
  EXPECT_EQ(page_access::Load64(page.data, kPageHeaderSize + 8), 2u);
  EXPECT_TRUE(page.Validate());
  // A shared fetch changes nothing.
  ExpectStamp(pool.get(), 3, 2);
  EXPECT_TRUE(page.Validate());

  // Eviction: reading the other 39 pages through 16 frames pushes page 3
  // out; the old read fails validation and page 3 is a miss again.
  ASSERT_TRUE(pool->FlushAll().ok());
  for (PageId id = 0; id < 40; ++id) {
    if (id != 3) ExpectStamp(pool.get(), id, 1);
  }
  EXPECT_FALSE(page.Validate());
  EXPECT_EQ(pool->ReadOptimistic(3, &page), OptimisticStatus::kMiss);

  // Discard: same.
  ASSERT_EQ(pool->ReadOptimistic(39, &page), OptimisticStatus::kOk);
  pool->Discard(39);
  EXPECT_FALSE(page.Validate());
  EXPECT_EQ(pool->ReadOptimistic(39, &page), OptimisticStatus::kMiss);

  // Optimistic hits count as hits once the caller reports them.
  const uint64_t hits = pool->stats().hits;
  pool->CountOptimisticHits(5);
  EXPECT_EQ(pool->stats().hits, hits + 5);
}

TEST(BufferPoolTest, PageNeverWrittenReadsAsFreePage) {
  MemPageStore store;
  auto pool = MakePool(&store);
  auto guard = pool->FetchRead(123);
  ASSERT_TRUE(guard.ok()) << guard.status().ToString();
  EXPECT_EQ(guard->view().type(), PageType::kFree);
}

TEST(BufferPoolTest, NewPageIsFormattedDirtyAndReadsNothing) {
  MemPageStore store;
  auto pool = MakePool(&store);
  {
    auto guard = pool->NewPage(9, PageType::kOverflow);
    ASSERT_TRUE(guard.ok());
    EXPECT_EQ(guard->view().type(), PageType::kOverflow);
    EXPECT_EQ(guard->view().page_id(), 9u);
  }
  EXPECT_EQ(store.read_batches(), 0u);
  EXPECT_EQ(pool->stats().dirty_pages, 1u);
  ASSERT_TRUE(pool->FlushAll().ok());
  EXPECT_TRUE(store.Has(9));
  EXPECT_EQ(pool->stats().dirty_pages, 0u);
  EXPECT_EQ(store.syncs(), 1u);
}

TEST(BufferPoolTest, EvictionKeepsEveryPagesContent) {
  MemPageStore store;
  auto pool = MakePool(&store, 16, 8);
  constexpr PageId kPages = 1000;
  for (PageId id = 0; id < kPages; ++id) WriteNew(pool.get(), id, 1);
  for (PageId id = 0; id < kPages; id += 3) {
    auto guard = pool->FetchWrite(id);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    Stamp(guard->mutable_data(), id, 2);
  }
  for (PageId id = 0; id < kPages; ++id) ExpectStamp(pool.get(), id, id % 3 == 0 ? 2 : 1);
  BufferPoolStats stats = pool->stats();
  EXPECT_GT(stats.evictions, kPages);
  EXPECT_GT(stats.misses, 0u);
  EXPECT_LE(stats.dirty_pages, 16u);
}

TEST(BufferPoolTest, DirtyPagesAreWrittenBackInBatches) {
  MemPageStore store;
  auto pool = MakePool(&store, 16, 4);
  for (PageId id = 0; id < 200; ++id) WriteNew(pool.get(), id, 1);
  const std::vector<size_t> sizes = store.write_batch_sizes();
  ASSERT_FALSE(sizes.empty());
  const size_t pages = std::accumulate(sizes.begin(), sizes.end(), size_t{0});
  EXPECT_GT(pages, sizes.size()) << "no batch carried more than one page";
  for (size_t size : sizes) EXPECT_LE(size, 4u);
  BufferPoolStats stats = pool->stats();
  EXPECT_EQ(stats.write_batches, sizes.size());
  EXPECT_EQ(stats.pages_written, pages);
}

TEST(BufferPoolTest, WriteGuardChangesSurviveEviction) {
  MemPageStore store;
  store.PutRaw(5, SealedImage(5, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store);
  {
    auto guard = pool->FetchWrite(5);
    ASSERT_TRUE(guard.ok());
    Stamp(guard->mutable_data(), 5, 7);
  }
  for (PageId id = 100; id < 200; ++id) ASSERT_TRUE(pool->FetchRead(id).ok());
  const uint64_t reads_before = store.pages_read();
  ExpectStamp(pool.get(), 5, 7);
  EXPECT_EQ(store.pages_read(), reads_before + 1) << "page 5 should have been evicted and re-read";
}

TEST(BufferPoolTest, CorruptedPageIsCorruptionAndNotCached) {
  MemPageStore store;
  store.PutRaw(7, SealedImage(7, PageType::kBTreeLeaf, 1));
  store.FlipByte(7, 4000);
  auto pool = MakePool(&store);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto guard = pool->FetchRead(7);
    ASSERT_TRUE(guard.status().IsCorruption()) << guard.status().ToString();
    EXPECT_TRUE(MessageContains(guard.status(), "mem.mvdb: page 7 at offset 57344: checksum"));
    EXPECT_EQ(pool->stats().checksum_failures, static_cast<uint64_t>(attempt));
    EXPECT_EQ(store.read_batches(), static_cast<uint64_t>(attempt)) << "the failure was cached";
  }
  EXPECT_TRUE(pool->FetchWrite(7).status().IsCorruption());
  // Once the bytes are repaired the page loads: nothing bad stayed behind.
  store.FlipByte(7, 4000);
  ExpectStamp(pool.get(), 7, 1);
  EXPECT_EQ(pool->stats().misses, 1u);
}

TEST(BufferPoolTest, ReadErrorIsIOErrorAndNotCached) {
  MemPageStore store;
  store.PutRaw(2, SealedImage(2, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store);
  store.SetFailReads(true);
  EXPECT_TRUE(pool->FetchRead(2).status().IsIOError());
  EXPECT_EQ(pool->stats().checksum_failures, 0u);
  store.SetFailReads(false);
  ExpectStamp(pool.get(), 2, 1);
}

TEST(BufferPoolTest, WriteBackFailureSurfacesAndLosesNothing) {
  MemPageStore store;
  auto pool = MakePool(&store, 16, 4);
  for (PageId id = 0; id < 16; ++id) WriteNew(pool.get(), id, 3);
  store.SetFailWrites(true);
  auto guard = pool->FetchRead(100);
  ASSERT_TRUE(guard.status().IsIOError()) << guard.status().ToString();
  EXPECT_TRUE(MessageContains(guard.status(), "injected write failure"));
  EXPECT_EQ(pool->stats().dirty_pages, 16u);
  EXPECT_TRUE(pool->FlushAll().IsIOError());
  EXPECT_EQ(pool->stats().dirty_pages, 16u);
  EXPECT_EQ(store.syncs(), 0u);

  store.SetFailWrites(false);
  ASSERT_TRUE(pool->FlushAll().ok());
  EXPECT_EQ(pool->stats().dirty_pages, 0u);
  auto fresh = MakePool(&store);
  for (PageId id = 0; id < 16; ++id) ExpectStamp(fresh.get(), id, 3);
}

TEST(BufferPoolTest, AllFramesPinnedIsBusy) {
  MemPageStore store;
  auto pool = MakePool(&store);
  std::vector<ReadPageGuard> guards;
  for (PageId id = 0; id < 16; ++id) {
    auto guard = pool->FetchRead(id);
    ASSERT_TRUE(guard.ok());
    guards.push_back(std::move(guard).value());
  }
  auto busy = pool->FetchRead(16);
  ASSERT_TRUE(busy.status().IsBusy()) << busy.status().ToString();
  EXPECT_EQ(busy.status().message(), "buffer pool exhausted: all 16 frames pinned");
  EXPECT_TRUE(pool->NewPage(17, PageType::kBTreeLeaf).status().IsBusy());
  // Hits still work, and one released guard is enough to go on.
  EXPECT_TRUE(pool->FetchRead(3).ok());
  guards.pop_back();
  EXPECT_TRUE(pool->FetchRead(16).ok());
}

TEST(BufferPoolTest, TryFetchWriteIsBusyWhileAnotherGuardHoldsThePage) {
  MemPageStore store;
  auto pool = MakePool(&store);
  auto try_from_other_thread = [&] {
    Status status;
    std::thread([&] { status = pool->TryFetchWrite(4).status(); }).join();
    return status;
  };
  {
    auto reader = pool->FetchRead(4);
    ASSERT_TRUE(reader.ok());
    EXPECT_TRUE(try_from_other_thread().IsBusy());
  }
  {
    auto writer = pool->FetchWrite(4);
    ASSERT_TRUE(writer.ok());
    EXPECT_TRUE(try_from_other_thread().IsBusy());
  }
  EXPECT_TRUE(try_from_other_thread().ok());
  EXPECT_TRUE(pool->TryFetchWrite(4).ok());
}

TEST(BufferPoolTest, TryFetchReadIsBusyOnlyWhileAWriterHoldsThePage) {
  MemPageStore store;
  auto pool = MakePool(&store);
  auto try_from_other_thread = [&] {
    Status status;
    std::thread([&] { status = pool->TryFetchRead(4).status(); }).join();
    return status;
  };
  {
    auto writer = pool->FetchWrite(4);
    ASSERT_TRUE(writer.ok());
    EXPECT_TRUE(try_from_other_thread().IsBusy());
  }
  {
    auto reader = pool->FetchRead(4);
    ASSERT_TRUE(reader.ok());
    EXPECT_TRUE(try_from_other_thread().ok());
  }
  EXPECT_TRUE(pool->TryFetchRead(5).ok());  // a miss loads without waiting
}

TEST(BufferPoolTest, PrefetchReadsInOneBatch) {
  MemPageStore store;
  std::vector<PageId> ids;
  for (PageId id = 1; id <= 3; ++id) {
    store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
    ids.push_back(id);
  }
  auto pool = MakePool(&store);
  ExpectStamp(pool.get(), 2, 1);  // already cached: not read again
  const uint64_t batches = store.read_batches();
  ASSERT_TRUE(pool->Prefetch(ids).ok());
  EXPECT_EQ(store.read_batches(), batches + 1);
  EXPECT_EQ(store.pages_read(), 3u);
  EXPECT_EQ(pool->stats().misses, 3u);
  for (PageId id : ids) ExpectStamp(pool.get(), id, 1);
  EXPECT_EQ(store.read_batches(), batches + 1) << "prefetched pages should hit";
}

TEST(BufferPoolTest, PrefetchReportsACorruptPageAndLoadsTheRest) {
  MemPageStore store;
  for (PageId id = 1; id <= 3; ++id) store.PutRaw(id, SealedImage(id, PageType::kBTreeLeaf, 1));
  store.FlipByte(2, 100);
  auto pool = MakePool(&store);
  const std::vector<PageId> ids = {1, 2, 3};
  EXPECT_TRUE(MessageContains(pool->Prefetch(ids), "page 2 at offset 16384"));
  EXPECT_EQ(pool->stats().misses, 2u);
  EXPECT_EQ(pool->stats().checksum_failures, 1u);
  const uint64_t batches = store.read_batches();
  ExpectStamp(pool.get(), 1, 1);
  ExpectStamp(pool.get(), 3, 1);
  EXPECT_EQ(store.read_batches(), batches);
  EXPECT_TRUE(pool->FetchRead(2).status().IsCorruption());
}

// Accepts free pages and pages whose first body byte is not 0xff.
Status RejectFirstByteFF(std::span<const std::byte> page, PageId id) {
  if (page[kPageHeaderSize] == std::byte{0xff}) {
    return Status::Corruption("first body byte is 0xff");
  }
  return Status::OK();
}

TEST(BufferPoolTest, ValidatorFailureIsCorruptionWithLocation) {
  MemPageStore store;
  std::vector<std::byte> bad(kPageSize);
  PageView(bad).Format(4, PageType::kBTreeLeaf);
  bad[kPageHeaderSize] = std::byte{0xff};
  SealPage(bad);
  store.PutRaw(4, bad);
  store.PutRaw(5, SealedImage(5, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store, 16, 4, &RejectFirstByteFF);
  auto guard = pool->FetchRead(4);
  ASSERT_TRUE(guard.status().IsCorruption()) << guard.status().ToString();
  EXPECT_EQ(guard.status().message(), "mem.mvdb: page 4 at offset 32768: first body byte is 0xff");
  EXPECT_EQ(pool->stats().checksum_failures, 1u);
  EXPECT_TRUE(pool->FetchWrite(4).status().IsCorruption());
  EXPECT_EQ(store.read_batches(), 2u);
  ExpectStamp(pool.get(), 5, 1);
}

TEST(BufferPoolTest, DiscardDropsWithoutWriteBack) {
  MemPageStore store;
  store.PutRaw(8, SealedImage(8, PageType::kBTreeLeaf, 1));
  auto pool = MakePool(&store);
  WriteNew(pool.get(), 9, 1);
  {
    auto guard = pool->FetchWrite(8);
    ASSERT_TRUE(guard.ok());
    Stamp(guard->mutable_data(), 8, 2);
  }
  pool->Discard(9);
  pool->Discard(8);
  pool->Discard(1234);  // not cached: nothing to do
  EXPECT_EQ(pool->stats().dirty_pages, 0u);
  ASSERT_TRUE(pool->FlushAll().ok());
  EXPECT_FALSE(store.Has(9));
  EXPECT_TRUE(store.write_batch_sizes().empty());
  ExpectStamp(pool.get(), 8, 1);  // the discarded change is gone
  // Discarded frames are reused: all 16 can be pinned at once.
  std::vector<ReadPageGuard> guards;
  for (PageId id = 100; id < 116; ++id) {
    auto guard = pool->FetchRead(id);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    guards.push_back(std::move(guard).value());
  }
}

TEST(BufferPoolTest, NewPageOverACachedPageReformatsIt) {
  MemPageStore store;
  store.PutRaw(6, SealedImage(6, PageType::kOverflow, 1));
  auto pool = MakePool(&store);
  ExpectStamp(pool.get(), 6, 1);
  auto guard = pool->NewPage(6, PageType::kBTreeInner);
  ASSERT_TRUE(guard.ok());
  EXPECT_EQ(guard->view().type(), PageType::kBTreeInner);
  EXPECT_EQ(guard->view().body()[0], std::byte{0});
}

TEST(BufferPoolTest, GuardsMoveAndReleaseOnce) {
  MemPageStore store;
  auto pool = MakePool(&store);
  auto first = pool->FetchRead(1);
  ASSERT_TRUE(first.ok());
  ReadPageGuard moved = std::move(first).value();
  EXPECT_TRUE(moved.valid());
  EXPECT_EQ(moved.id(), 1u);
  ReadPageGuard assigned;
  EXPECT_FALSE(assigned.valid());
  assigned = std::move(moved);
  EXPECT_FALSE(moved.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  assigned.Release();
  assigned.Release();
  EXPECT_FALSE(assigned.valid());

  auto writer = pool->FetchWrite(1);  // would deadlock if a read latch leaked
  ASSERT_TRUE(writer.ok());
  WritePageGuard w = std::move(writer).value();
  WritePageGuard w2;
  w2 = std::move(w);
  EXPECT_EQ(w2.id(), 1u);
  w2.mutable_view().set_lsn(9);
  w2.Release();
  auto reader = pool->FetchRead(1);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->view().lsn(), 9u);
}

}  // namespace
}  // namespace mvdb
