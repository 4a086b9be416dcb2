#include "buffer/page_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "buffer_test_util.h"

namespace mvdb {
namespace {

using testing::MemPageStore;
using testing::MessageContains;

constexpr PageId kDirectoryRoot = 1;
constexpr uint64_t kReserved = 2;  // meta and directory root

class PageAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = NewPool();
    auto allocator = PageAllocator::Create(pool_.get(), kReserved, kDirectoryRoot);
    ASSERT_TRUE(allocator.ok()) << allocator.status().ToString();
    allocator_ = std::move(allocator).value();
  }

  std::unique_ptr<BufferPool> NewPool() {
    BufferPoolOptions options;
    options.capacity_pages = 32;
    options.writeback_batch = 8;
    auto pool = BufferPool::Create(&store_, options);
    EXPECT_TRUE(pool.ok());
    return std::move(pool).value();
  }

  // Drops the pool after flushing and opens the file again.
  Status Reopen() {
    MVDB_RETURN_IF_ERROR(pool_->FlushAll());
    allocator_.reset();
    pool_ = NewPool();
    MVDB_ASSIGN_OR_RETURN(allocator_, PageAllocator::Open(pool_.get()));
    return Status::OK();
  }

  PageId Allocate() {
    auto guard = allocator_->Allocate(PageType::kBTreeLeaf);
    EXPECT_TRUE(guard.ok()) << guard.status().ToString();
    if (!guard.ok()) return kInvalidPageId;
    EXPECT_EQ(guard->view().type(), PageType::kBTreeLeaf);
    EXPECT_EQ(guard->view().page_id(), guard->id());
    return guard->id();
  }

  std::multiset<PageId> FreePages() {
    std::multiset<PageId> ids;
    Status status = allocator_->ForEachFreePage([&](PageId id) {
      ids.insert(id);
      return Status::OK();
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
    return ids;
  }

  // Rewrites one u64 field of the meta page body in place.
  void PatchMeta(size_t body_offset, uint64_t value) {
    auto guard = pool_->FetchWrite(kMetaPageId);
    ASSERT_TRUE(guard.ok());
    EncodeFixed64(guard->mutable_data().data() + kPageHeaderSize + body_offset, value);
  }

  MemPageStore store_;
  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<PageAllocator> allocator_;
};

TEST_F(PageAllocatorTest, CreateWritesAnEmptyMeta) {
  auto meta = allocator_->ReadMeta();
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->page_count, kReserved);
  EXPECT_EQ(meta->freelist_head, kInvalidPageId);
  EXPECT_EQ(meta->free_pages, 0u);
  EXPECT_EQ(meta->directory_root, kDirectoryRoot);
  EXPECT_TRUE(FreePages().empty());
}

TEST_F(PageAllocatorTest, AllocatesByGrowingTheFile) {
  for (PageId expected = kReserved; expected < 200; ++expected) {
    ASSERT_EQ(Allocate(), expected);
  }
  EXPECT_EQ(allocator_->ReadMeta()->page_count, 200u);
}

TEST_F(PageAllocatorTest, FreedIdsAreReusedLastInFirstOut) {
  for (int i = 0; i < 10; ++i) Allocate();  // ids 2..11
  for (PageId id : {4, 7, 9}) ASSERT_TRUE(allocator_->Free(id).ok());
  EXPECT_EQ(FreePages(), (std::multiset<PageId>{4, 7, 9}));
  EXPECT_EQ(allocator_->ReadMeta()->free_pages, 3u);
  EXPECT_EQ(Allocate(), 9u);
  EXPECT_EQ(Allocate(), 7u);
  EXPECT_EQ(Allocate(), 4u);  // the trunk page itself, handed out last
  EXPECT_EQ(Allocate(), 12u);
  EXPECT_TRUE(FreePages().empty());
}

TEST_F(PageAllocatorTest, FreeListOverflowsIntoSeveralTrunks) {
  const size_t count = 2 * kFreeListTrunkCapacity + 10;
  std::vector<PageId> ids;
  for (size_t i = 0; i < count + 5; ++i) ids.push_back(Allocate());
  std::multiset<PageId> freed;
  for (size_t i = 0; i < count; ++i) {
    ASSERT_TRUE(allocator_->Free(ids[i]).ok()) << i;
    freed.insert(ids[i]);
  }
  EXPECT_EQ(FreePages(), freed);
  EXPECT_EQ(allocator_->ReadMeta()->free_pages, count);

  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ(FreePages(), freed) << "the free list did not survive a reopen";

  std::multiset<PageId> reallocated;
  for (size_t i = 0; i < count; ++i) reallocated.insert(Allocate());
  EXPECT_EQ(reallocated, freed);
  EXPECT_TRUE(FreePages().empty());
  EXPECT_EQ(Allocate(), ids.back() + 1);
}

TEST_F(PageAllocatorTest, RejectsFreeingFixedOrUnknownPages) {
  const PageId id = Allocate();
  EXPECT_EQ(allocator_->Free(kMetaPageId).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(allocator_->Free(kDirectoryRoot).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(allocator_->Free(id + 1).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(allocator_->Free(id).ok());
  EXPECT_EQ(allocator_->Free(id).code(), StatusCode::kInvalidArgument);  // it is the trunk now
}

TEST_F(PageAllocatorTest, ReopenKeepsMeta) {
  for (int i = 0; i < 5; ++i) Allocate();
  ASSERT_TRUE(allocator_->Free(3).ok());
  ASSERT_TRUE(Reopen().ok());
  auto meta = allocator_->ReadMeta();
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->page_count, 7u);
  EXPECT_EQ(meta->freelist_head, 3u);
  EXPECT_EQ(meta->free_pages, 1u);
  EXPECT_EQ(meta->directory_root, kDirectoryRoot);
}

TEST_F(PageAllocatorTest, CorruptMagicIsCorruption) {
  {
    auto guard = pool_->FetchWrite(kMetaPageId);
    ASSERT_TRUE(guard.ok());
    guard->mutable_data()[kPageHeaderSize] = std::byte{'X'};
  }
  Status status = Reopen();
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_TRUE(MessageContains(status, "mem.mvdb: page 0 at offset 0: meta page: bad magic"));
}

TEST_F(PageAllocatorTest, OutOfRangeMetaFieldsAreCorruption) {
  PatchMeta(24, 500);  // freelist_head beyond page_count
  Status status = Reopen();
  EXPECT_TRUE(MessageContains(status, "freelist_head 500 out of range (page_count 2)"));

  SetUp();
  PatchMeta(40, 99);  // directory_root
  EXPECT_TRUE(MessageContains(Reopen(), "directory_root 99 out of range"));

  SetUp();
  PatchMeta(32, 1);  // free_pages without a free list
  EXPECT_TRUE(MessageContains(Reopen(), "free_pages 1 inconsistent"));
}

TEST_F(PageAllocatorTest, OpenOfAnEmptyFileIsCorruption) {
  MemPageStore empty;
  BufferPoolOptions options;
  auto pool = BufferPool::Create(&empty, options);
  ASSERT_TRUE(pool.ok());
  auto allocator = PageAllocator::Open(pool->get());
  EXPECT_TRUE(MessageContains(allocator.status(), "meta page: page type is free, not meta"));
}

TEST_F(PageAllocatorTest, ForEachFreePageDetectsACycle) {
  for (int i = 0; i < 4; ++i) Allocate();  // ids 2..5
  ASSERT_TRUE(allocator_->Free(2).ok());   // trunk 2, empty
  {
    // Point trunk 2's next at itself.
    auto guard = pool_->FetchWrite(2);
    ASSERT_TRUE(guard.ok());
    EncodeFixed64(guard->mutable_data().data() + kPageHeaderSize, 2);
  }
  PatchMeta(32, 3);  // claim more free pages so the walk goes on
  Status status = allocator_->ForEachFreePage([](PageId) { return Status::OK(); });
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_TRUE(MessageContains(status, "trunk 2 is already on the free list (cycle)"));
}

TEST_F(PageAllocatorTest, ForEachFreePageDetectsOutOfRangeEntries) {
  for (int i = 0; i < 4; ++i) Allocate();
  ASSERT_TRUE(allocator_->Free(2).ok());
  ASSERT_TRUE(allocator_->Free(3).ok());  // entry 0 of trunk 2
  {
    auto guard = pool_->FetchWrite(2);
    ASSERT_TRUE(guard.ok());
    EncodeFixed64(guard->mutable_data().data() + kPageHeaderSize + kFreeListTrunkHeaderSize, 777);
  }
  Status status = allocator_->ForEachFreePage([](PageId) { return Status::OK(); });
  EXPECT_TRUE(MessageContains(status,
                              "page 2 at offset 16384: free-list trunk: entry 777 out of "
                              "range (page_count 6)"));
  // Allocation checks the popped id the same way.
  EXPECT_TRUE(allocator_->Allocate(PageType::kBTreeLeaf).status().IsCorruption());
}

TEST_F(PageAllocatorTest, FreeListCallbackErrorsStopTheWalk) {
  for (int i = 0; i < 4; ++i) Allocate();
  ASSERT_TRUE(allocator_->Free(2).ok());
  ASSERT_TRUE(allocator_->Free(3).ok());
  int calls = 0;
  Status status = allocator_->ForEachFreePage([&](PageId) {
    ++calls;
    return Status::Aborted("stop");
  });
  EXPECT_EQ(status.code(), StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace mvdb
