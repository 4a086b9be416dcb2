// DirectPageStore and the pool over real files, on every I/O backend.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "buffer/buffer_pool.h"
#include "buffer/page_store.h"
#include "buffer_test_util.h"
#include "io/fault_injection_file_system.h"
#include "io/file.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

using testing::HasStamp;
using testing::MessageContains;
using testing::Stamp;

enum class Backend { kPosix, kUring };

class DirectPageStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPosix) {
      fs_ = NewPosixFileSystem();
    } else {
      auto fs = NewUringFileSystem();
      if (!fs.ok()) GTEST_SKIP() << fs.status().ToString();
      fs_ = std::move(fs).value();
    }
    path_ = dir_.File("data.mvdb");
  }

  // Opens the data file, a store and a pool over it (dropping earlier ones).
  void OpenPool(FileSystem* fs, size_t capacity = 16) {
    pool_.reset();
    store_.reset();
    file_.reset();
    OpenOptions options;
    options.create = true;
    auto file = fs->Open(path_, options);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    file_ = std::move(file).value();
    store_ = NewDirectPageStore(file_.get());
    BufferPoolOptions pool_options;
    pool_options.capacity_pages = capacity;
    pool_options.writeback_batch = 4;
    auto pool = BufferPool::Create(store_.get(), pool_options);
    ASSERT_TRUE(pool.ok());
    pool_ = std::move(pool).value();
  }

  void WritePages(PageId count, uint64_t version) {
    for (PageId id = 0; id < count; ++id) {
      auto guard = pool_->NewPage(id, PageType::kBTreeLeaf);
      ASSERT_TRUE(guard.ok()) << guard.status().ToString();
      Stamp(guard->mutable_data(), id, version);
    }
  }

  void FlipByteOnDisk(uint64_t offset) {
    const int fd = ::open(path_.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    std::byte b{};
    ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(offset)), 1);
    b ^= std::byte{0x20};
    ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(offset)), 1);
    ::close(fd);
  }

  testing::TempDir dir_{"buffer"};
  std::string path_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<FaultInjectionFileSystem> fault_;  // wraps fs_; before file_, which it may open
  std::unique_ptr<File> file_;
  std::unique_ptr<PageStore> store_;
  std::unique_ptr<BufferPool> pool_;
};

TEST_P(DirectPageStoreTest, FlushAllThenReopenReadsEveryPage) {
  OpenPool(fs_.get());
  WritePages(50, 4);
  ASSERT_TRUE(pool_->FlushAll().ok());
  EXPECT_EQ(*file_->Size(), 50 * kPageSize);

  OpenPool(fs_.get());
  for (PageId id = 0; id < 50; ++id) {
    auto guard = pool_->FetchRead(id);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    EXPECT_TRUE(HasStamp(guard->data(), id, 4)) << "page " << id;
  }
  // Beyond the end of the file: allocated but never written, so free.
  auto beyond = pool_->FetchRead(80);
  ASSERT_TRUE(beyond.ok()) << beyond.status().ToString();
  EXPECT_EQ(beyond->view().type(), PageType::kFree);
}

TEST_P(DirectPageStoreTest, CorruptPageOnDiskNamesFileAndOffset) {
  OpenPool(fs_.get());
  WritePages(10, 1);
  ASSERT_TRUE(pool_->FlushAll().ok());
  FlipByteOnDisk(7 * kPageSize + 1000);

  OpenPool(fs_.get());
  auto guard = pool_->FetchRead(7);
  ASSERT_TRUE(guard.status().IsCorruption()) << guard.status().ToString();
  EXPECT_TRUE(MessageContains(guard.status(), path_ + ": page 7 at offset 57344: checksum"));
  EXPECT_TRUE(pool_->FetchRead(6).ok());
}

TEST_P(DirectPageStoreTest, MisdirectedPageIsCorruption) {
  OpenPool(fs_.get());
  WritePages(3, 1);
  ASSERT_TRUE(pool_->FlushAll().ok());
  // Copy page 1 over page 2, as a misdirected write would.
  std::vector<std::byte> image(kPageSize);
  ASSERT_TRUE(file_->ReadAt(kPageSize, image).ok());
  ASSERT_TRUE(file_->WriteAt(2 * kPageSize, image).ok());

  OpenPool(fs_.get());
  EXPECT_TRUE(MessageContains(pool_->FetchRead(2).status(),
                              "page 2 at offset 16384: page header claims id 1"));
}

TEST_P(DirectPageStoreTest, ReadsAndWritesGoOutInBatches) {
  OpenPool(fs_.get(), 64);
  WritePages(12, 1);
  const uint64_t batches_before_flush = fs_->stats().batches;
  ASSERT_TRUE(pool_->FlushAll().ok());
  EXPECT_EQ(fs_->stats().batches - batches_before_flush, 3u) << "12 pages in batches of 4";

  OpenPool(fs_.get(), 64);
  std::vector<PageId> ids;
  for (PageId id = 0; id < 14; ++id) ids.push_back(id);  // two past the end
  const uint64_t batches = fs_->stats().batches;
  ASSERT_TRUE(pool_->Prefetch(ids).ok());
  EXPECT_EQ(fs_->stats().batches - batches, 1u);
  EXPECT_EQ(pool_->stats().misses, 14u);
}

TEST_P(DirectPageStoreTest, FailedWriteBackKeepsPagesDirtyUntilItSucceeds) {
  fault_ = std::make_unique<FaultInjectionFileSystem>(fs_.get());
  OpenPool(fault_.get());
  WritePages(8, 2);
  fault_->FailWrite(3, EIO, /*sticky=*/false);
  Status status = pool_->FlushAll();
  EXPECT_TRUE(status.IsIOError()) << status.ToString();
  EXPECT_GT(pool_->stats().dirty_pages, 0u);
  ASSERT_TRUE(pool_->FlushAll().ok());
  EXPECT_EQ(pool_->stats().dirty_pages, 0u);

  OpenPool(fs_.get());
  for (PageId id = 0; id < 8; ++id) {
    auto guard = pool_->FetchRead(id);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    EXPECT_TRUE(HasStamp(guard->data(), id, 2)) << "page " << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectPageStoreTest,
                         ::testing::Values(Backend::kPosix, Backend::kUring),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kPosix ? "Posix" : "Uring";
                         });

}  // namespace
}  // namespace mvdb
