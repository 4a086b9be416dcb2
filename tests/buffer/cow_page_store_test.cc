// CowPageStore under a BufferPool: the page map across reopens, the meta
// slots (torn, both damaged), sticky failure, and reuse of space.
#include "buffer/cow_page_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "buffer/buffer_pool.h"
#include "buffer_test_util.h"
#include "io/fault_injection_file_system.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

using testing::HasStamp;
using testing::MessageContains;
using testing::Stamp;

using testing::FlipByte;

// A data file opened through the store and a small pool over it.
class CowPageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    posix_ = NewPosixFileSystem();
    fault_ = std::make_unique<FaultInjectionFileSystem>(posix_.get());
    path_ = dir_.File("data.mvdb");
    ASSERT_TRUE(CowPageStore::CreateFile(fault_.get(), path_).ok());
  }

  Status Open(size_t capacity = 64) {
    Close();
    MVDB_ASSIGN_OR_RETURN(file_, fault_->Open(path_, OpenOptions{}));
    MVDB_ASSIGN_OR_RETURN(store_, CowPageStore::Open(file_.get()));
    BufferPoolOptions options;
    options.capacity_pages = capacity;
    options.writeback_batch = 8;
    options.epoch = store_->write_epoch();
    MVDB_ASSIGN_OR_RETURN(pool_, BufferPool::Create(store_.get(), options));
    return Status::OK();
  }

  // Drops everything without a checkpoint.
  void Close() {
    pool_.reset();
    store_.reset();
    file_.reset();
  }

  Status WritePage(PageId id, uint64_t version) {
    MVDB_ASSIGN_OR_RETURN(WritePageGuard guard, pool_->NewPage(id, PageType::kOverflow));
    Stamp(guard.mutable_data(), id, version);
    return Status::OK();
  }

  ::testing::AssertionResult PageIs(PageId id, uint64_t version) {
    auto guard = pool_->FetchRead(id);
    if (!guard.ok()) return ::testing::AssertionFailure() << guard.status().ToString();
    if (!HasStamp(guard->data(), id, version)) {
      return ::testing::AssertionFailure() << "page " << id << " does not hold version " << version;
    }
    return ::testing::AssertionSuccess();
  }

  Status Checkpoint(uint64_t lsn) { return store_->Checkpoint(pool_.get(), nullptr, lsn).status(); }

  testing::TempDir dir_{"cow"};
  std::unique_ptr<FileSystem> posix_;
  std::unique_ptr<FaultInjectionFileSystem> fault_;
  std::string path_;
  std::unique_ptr<File> file_;
  std::unique_ptr<CowPageStore> store_;
  std::unique_ptr<BufferPool> pool_;
};

TEST_F(CowPageStoreTest, NewFileHoldsAnEmptyCheckpointZero) {
  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(store_->checkpoint_number(), 0u);
  EXPECT_EQ(store_->checkpoint_logical_pages(), 0u);
  EXPECT_EQ(store_->write_epoch(), 1u);
  EXPECT_TRUE(PageIs(7, 0) == false);  // never written: reads as zeros
  auto guard = pool_->FetchRead(7);
  ASSERT_TRUE(guard.ok());
  EXPECT_EQ(guard->view().type(), PageType::kFree);
  EXPECT_TRUE(store_->Verify().ok());
}

TEST_F(CowPageStoreTest, MapRoundTripsAcrossReopen) {
  // More pages than one map page holds, through a pool that must evict.
  const PageId pages = 2 * checkpoint::kMapEntriesPerPage + 100;
  ASSERT_TRUE(Open().ok());
  for (PageId id = 0; id < pages; ++id) ASSERT_TRUE(WritePage(id, 1).ok());
  auto first = store_->Checkpoint(pool_.get(), nullptr, 11);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->number, 1u);
  EXPECT_EQ(first->logical_pages, pages);
  EXPECT_EQ(first->map_pages, 3u);
  for (PageId id = 0; id < pages; id += 3) ASSERT_TRUE(WritePage(id, 2).ok());
  ASSERT_TRUE(Checkpoint(22).ok());
  ASSERT_TRUE(store_->Verify().ok());

  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(store_->checkpoint_number(), 2u);
  EXPECT_EQ(store_->checkpoint_lsn(), 22u);
  EXPECT_EQ(store_->write_epoch(), 3u);
  for (PageId id = 0; id < pages; ++id) ASSERT_TRUE(PageIs(id, id % 3 == 0 ? 2 : 1)) << id;
  EXPECT_TRUE(store_->Verify().ok());
}

TEST_F(CowPageStoreTest, WritesAfterTheLastCheckpointAreNotSeenAfterReopen) {
  ASSERT_TRUE(Open().ok());
  for (PageId id = 0; id < 200; ++id) ASSERT_TRUE(WritePage(id, 1).ok());
  ASSERT_TRUE(Checkpoint(1).ok());
  for (PageId id = 0; id < 300; ++id) ASSERT_TRUE(WritePage(id, 2).ok());
  ASSERT_TRUE(pool_->FlushAll().ok());  // written and synced, but no checkpoint
  ASSERT_TRUE(Open().ok());
  for (PageId id = 0; id < 200; ++id) ASSERT_TRUE(PageIs(id, 1)) << id;
  auto guard = pool_->FetchRead(250);
  ASSERT_TRUE(guard.ok());
  EXPECT_EQ(guard->view().type(), PageType::kFree);
}

TEST_F(CowPageStoreTest, TornNewestMetaSlotFallsBackToThePreviousCheckpoint) {
  ASSERT_TRUE(Open().ok());
  for (PageId id = 0; id < 50; ++id) ASSERT_TRUE(WritePage(id, 1).ok());
  ASSERT_TRUE(Checkpoint(1).ok());  // checkpoint 1, meta slot 1
  for (PageId id = 0; id < 50; ++id) ASSERT_TRUE(WritePage(id, 2).ok());
  ASSERT_TRUE(Checkpoint(2).ok());  // checkpoint 2, meta slot 0
  Close();
  FlipByte(path_, kPageSize / 2);
  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(store_->checkpoint_number(), 1u);
  EXPECT_EQ(store_->checkpoint_lsn(), 1u);
  for (PageId id = 0; id < 50; ++id) ASSERT_TRUE(PageIs(id, 1)) << id;
  // The next checkpoint overwrites the torn slot, not the good one.
  for (PageId id = 0; id < 50; ++id) ASSERT_TRUE(WritePage(id, 3).ok());
  ASSERT_TRUE(Checkpoint(3).ok());
  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(store_->checkpoint_number(), 2u);
  for (PageId id = 0; id < 50; ++id) ASSERT_TRUE(PageIs(id, 3)) << id;
}

TEST_F(CowPageStoreTest, BothMetaSlotsDamagedIsCorruptionNamingFileAndOffsets) {
  ASSERT_TRUE(Open().ok());
  ASSERT_TRUE(WritePage(0, 1).ok());
  ASSERT_TRUE(Checkpoint(1).ok());
  Close();
  FlipByte(path_, 40);
  FlipByte(path_, kPageSize + 40);
  const Status status = Open();
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_TRUE(MessageContains(status, path_));
  EXPECT_TRUE(MessageContains(status, "meta slot at offset 0: checksum mismatch"));
  EXPECT_TRUE(MessageContains(status, "meta slot at offset 8192: checksum mismatch"));
}

TEST_F(CowPageStoreTest, DamagedMapPageIsCorruptionNamingItsOffset) {
  ASSERT_TRUE(Open().ok());
  for (PageId id = 0; id < 20; ++id) ASSERT_TRUE(WritePage(id, 1).ok());
  auto result = store_->Checkpoint(pool_.get(), nullptr, 1);
  ASSERT_TRUE(result.ok());
  // The map is the last thing written: a root and a page above the data.
  const uint64_t last_slot = result->slot_count - 1;
  Close();
  FlipByte(path_, last_slot * kPageSize + 100);
  const Status status = Open();
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_TRUE(MessageContains(status, std::to_string(last_slot * kPageSize)));
}

TEST_F(CowPageStoreTest, SyncFailureIsStickyAndReopenRecoversThePreviousCheckpoint) {
  ASSERT_TRUE(Open().ok());
  for (PageId id = 0; id < 40; ++id) ASSERT_TRUE(WritePage(id, 1).ok());
  ASSERT_TRUE(Checkpoint(1).ok());
  for (PageId id = 0; id < 40; ++id) ASSERT_TRUE(WritePage(id, 2).ok());
  fault_->FailSync(1, EIO, /*sticky=*/false);
  const Status failed = Checkpoint(2);
  ASSERT_TRUE(failed.IsIOError()) << failed.ToString();
  EXPECT_TRUE(MessageContains(failed, "data file failed"));
  EXPECT_TRUE(MessageContains(failed, "reopen the database to recover"));
  // The fault fired once, but the store does not retry: it stays failed.
  EXPECT_TRUE(MessageContains(store_->failure(), "data file failed"));
  ASSERT_TRUE(WritePage(0, 3).ok());  // cached: no I/O yet
  EXPECT_TRUE(MessageContains(pool_->FlushAll(), "data file failed"));
  EXPECT_TRUE(MessageContains(Checkpoint(3), "data file failed"));

  // Whatever reached the disk, checkpoint 1 is intact.
  ASSERT_TRUE(fault_->DropUnsyncedData(CrashOptions{.tear_last_write = true}).ok());
  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(store_->checkpoint_number(), 1u);
  for (PageId id = 0; id < 40; ++id) ASSERT_TRUE(PageIs(id, 1)) << id;
  EXPECT_TRUE(store_->Verify().ok());
}

TEST_F(CowPageStoreTest, WriteFailureIsSticky) {
  ASSERT_TRUE(Open().ok());
  ASSERT_TRUE(WritePage(1, 1).ok());
  fault_->FailWrite(1, ENOSPC, /*sticky=*/false);
  const Status failed = pool_->FlushAll();
  ASSERT_TRUE(failed.IsIOError()) << failed.ToString();
  EXPECT_TRUE(MessageContains(store_->failure(), "No space left on device"));
  EXPECT_TRUE(MessageContains(Checkpoint(1), "data file failed"));
}

TEST_F(CowPageStoreTest, SpaceIsReusedAcrossCheckpoints) {
  ASSERT_TRUE(Open().ok());
  const PageId pages = 100;
  for (uint64_t round = 1; round <= 40; ++round) {
    for (PageId id = 0; id < pages; ++id) ASSERT_TRUE(WritePage(id, round).ok());
    ASSERT_TRUE(Checkpoint(round).ok());
  }
  // Two images of a page at most: the durable checkpoint's and the one
  // being written; plus the maps. Older slots went back to the free list.
  const CowStoreStats stats = store_->stats();
  EXPECT_LE(stats.slot_count, 2 * pages + 10) << "slots " << stats.slot_count;
  auto size = file_->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_LE(*size, (2 * pages + 10) * kPageSize);
  ASSERT_TRUE(Open().ok());
  for (PageId id = 0; id < pages; ++id) ASSERT_TRUE(PageIs(id, 40)) << id;
  EXPECT_TRUE(store_->Verify().ok());
}

TEST_F(CowPageStoreTest, PoolAtTheWrongEpochIsRefused) {
  ASSERT_TRUE(Open().ok());
  BufferPoolOptions options;
  options.epoch = store_->write_epoch() + 5;
  auto other = BufferPool::Create(store_.get(), options);
  ASSERT_TRUE(other.ok());
  const auto result = store_->Checkpoint(other->get(), nullptr, 0);
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
}

}  // namespace
}  // namespace mvdb
