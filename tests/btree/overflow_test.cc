#include "btree/overflow.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "buffer/buffer_pool.h"
#include "buffer/page_allocator.h"
#include "buffer/page_store.h"
#include "common/coding.h"

namespace mvdb::btree {
namespace {

// Overflow page fields (node_format.md), offsets from the page start.
constexpr size_t kNextOffset = kPageHeaderSize;
constexpr size_t kPieceLengthOffset = kPageHeaderSize + 8;

uint64_t TestSeed() {
  const char* env = std::getenv("MVDB_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240601;
}

// A PageStore in memory that seals on write and verifies on read, as the
// PageStore contract asks, so the pool behaves as over a file.
class MemoryPageStore : public PageStore {
 public:
  Status ReadPages(std::span<PageRead> pages) override {
    std::lock_guard<std::mutex> lock(mu_);
    Status first;
    for (PageRead& read : pages) {
      const auto it = pages_.find(read.id);
      if (it == pages_.end()) {
        std::fill(read.data.begin(), read.data.end(), std::byte{0});
        read.result = Status::OK();
      } else {
        std::copy(it->second.begin(), it->second.end(), read.data.begin());
        read.result = VerifyPage(read.data, read.id, path_, read.id * kPageSize);
      }
      if (first.ok()) first = read.result;
    }
    return first;
  }
  Status WritePages(std::span<PageWrite> pages) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (PageWrite& write : pages) {
      SealPage(write.data);
      pages_[write.id].assign(write.data.begin(), write.data.end());
    }
    return Status::OK();
  }
  Status Sync() override { return Status::OK(); }
  const std::string& path() const override { return path_; }

 private:
  std::mutex mu_;
  std::map<PageId, std::vector<std::byte>> pages_;
  std::string path_ = "memory";
};

class OverflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BufferPoolOptions options;
    // Far fewer frames than a 1 MiB chain has pages: the writer and readers
    // must not hold on to pages.
    options.capacity_pages = 16;
    auto pool = BufferPool::Create(&store_, options);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    pool_ = std::move(*pool);
    auto allocator = PageAllocator::Create(pool_.get(), 1, kInvalidPageId);
    ASSERT_TRUE(allocator.ok()) << allocator.status().ToString();
    allocator_ = std::move(*allocator);
  }

  std::string RandomValue(size_t size) {
    std::string value(size, '\0');
    for (char& c : value) c = static_cast<char>(rng_());
    return value;
  }

  PageId Write(std::string_view value) {
    Result<PageId> first = WriteOverflow(allocator_.get(), value);
    EXPECT_TRUE(first.ok()) << first.status().ToString();
    return first.ok() ? *first : kInvalidPageId;
  }

  std::vector<PageId> Chain(PageId first, uint32_t size) {
    std::vector<PageId> pages;
    const Result<uint64_t> count = CheckOverflow(pool_.get(), first, size, &pages);
    EXPECT_TRUE(count.ok()) << count.status().ToString();
    return pages;
  }

  uint64_t FreePages() {
    const Result<MetaPage> meta = allocator_->ReadMeta();
    EXPECT_TRUE(meta.ok()) << meta.status().ToString();
    return meta.ok() ? meta->free_pages : 0;
  }

  // Changes page `id` through a write guard.
  template <typename Edit>
  void EditPage(PageId id, Edit edit) {
    Result<WritePageGuard> guard = pool_->FetchWrite(id);
    ASSERT_TRUE(guard.ok()) << guard.status().ToString();
    edit(guard->mutable_data().data());
  }

  void ExpectCorruptionNaming(const Status& status, PageId id) {
    EXPECT_TRUE(status.IsCorruption()) << status.ToString();
    EXPECT_NE(status.message().find("page " + std::to_string(id) + ":"), std::string_view::npos)
        << status.ToString();
  }

  const uint64_t seed_ = TestSeed();
  std::mt19937_64 rng_{seed_};
  MemoryPageStore store_;
  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<PageAllocator> allocator_;
};

TEST_F(OverflowTest, RoundTripsValuesOfEverySize) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  for (size_t size :
       {size_t{0}, size_t{1}, kOverflowCapacity, kOverflowCapacity + 1, size_t{1} << 20}) {
    SCOPED_TRACE("size=" + std::to_string(size));
    const std::string value = RandomValue(size);
    const PageId first = Write(value);
    std::string out = "prefix";
    ASSERT_TRUE(ReadOverflow(pool_.get(), first, size, &out).ok());
    EXPECT_EQ(out.size(), 6 + size);
    EXPECT_TRUE(out == "prefix" + value);
    const std::vector<PageId> pages = Chain(first, static_cast<uint32_t>(size));
    const size_t expected_pages =
        std::max<size_t>(1, (size + kOverflowCapacity - 1) / kOverflowCapacity);
    EXPECT_EQ(pages.size(), expected_pages);
    EXPECT_EQ(pages.front(), first);
    EXPECT_EQ(std::set<PageId>(pages.begin(), pages.end()).size(), pages.size());
  }
  // Everything survives a round trip through the store as well.
  ASSERT_TRUE(pool_->FlushAll().ok());
  EXPECT_GT(pool_->stats().evictions, 0U);
}

TEST_F(OverflowTest, FreeReturnsEveryPage) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string value = RandomValue(3 * kOverflowCapacity + 17);
  const PageId first = Write(value);
  const std::vector<PageId> pages = Chain(first, static_cast<uint32_t>(value.size()));
  ASSERT_EQ(pages.size(), 4U);
  const uint64_t free_before = FreePages();
  const Result<MetaPage> meta_before = allocator_->ReadMeta();
  ASSERT_TRUE(meta_before.ok());

  ASSERT_TRUE(FreeOverflow(pool_.get(), allocator_.get(), first).ok());
  EXPECT_EQ(FreePages(), free_before + pages.size());
  std::set<PageId> on_free_list;
  ASSERT_TRUE(allocator_
                  ->ForEachFreePage([&](PageId id) {
                    on_free_list.insert(id);
                    return Status::OK();
                  })
                  .ok());
  for (PageId id : pages) EXPECT_EQ(on_free_list.count(id), 1U) << "page " << id;

  // The freed pages are reused: a chain of the same length grows no file.
  const PageId again = Write(value);
  const Result<MetaPage> meta_after = allocator_->ReadMeta();
  ASSERT_TRUE(meta_after.ok());
  EXPECT_EQ(meta_after->page_count, meta_before->page_count);
  EXPECT_EQ(FreePages(), free_before);
  std::string out;
  ASSERT_TRUE(ReadOverflow(pool_.get(), again, static_cast<uint32_t>(value.size()), &out).ok());
  EXPECT_TRUE(out == value);
}

TEST_F(OverflowTest, WrongSizeIsCorruption) {
  const std::string value = RandomValue(2 * kOverflowCapacity + 5);
  const PageId first = Write(value);
  const std::vector<PageId> pages = Chain(first, static_cast<uint32_t>(value.size()));
  ASSERT_EQ(pages.size(), 3U);
  std::string out = "keep";
  // The chain is longer than a shorter value, and shorter than a longer one.
  const auto full = static_cast<uint32_t>(value.size());
  for (uint32_t size : {full - 5, full - 1, full + 1, uint32_t{0}}) {
    const Status status = ReadOverflow(pool_.get(), first, size, &out);
    EXPECT_TRUE(status.IsCorruption()) << size << ": " << status.ToString();
    EXPECT_EQ(out, "keep");
    EXPECT_FALSE(CheckOverflow(pool_.get(), first, size, nullptr).ok());
  }
}

TEST_F(OverflowTest, DamagedChainIsCorruptionNamingThePage) {
  const std::string value = RandomValue(3 * kOverflowCapacity);
  const auto size = static_cast<uint32_t>(value.size());
  const PageId first = Write(value);
  const std::vector<PageId> pages = Chain(first, size);
  ASSERT_EQ(pages.size(), 3U);
  const uint64_t free_before = FreePages();
  std::string out;

  // A piece length that disagrees with the value's.
  EditPage(pages[1],
           [](std::byte* p) { EncodeFixed32(p + kPieceLengthOffset, kOverflowCapacity - 1); });
  ExpectCorruptionNaming(ReadOverflow(pool_.get(), first, size, &out), pages[1]);
  ExpectCorruptionNaming(FreeOverflow(pool_.get(), allocator_.get(), first), pages[1]);
  // A piece longer than the page.
  EditPage(pages[1],
           [](std::byte* p) { EncodeFixed32(p + kPieceLengthOffset, kOverflowCapacity + 1); });
  ExpectCorruptionNaming(ReadOverflow(pool_.get(), first, size, &out), pages[1]);
  EditPage(pages[1],
           [](std::byte* p) { EncodeFixed32(p + kPieceLengthOffset, kOverflowCapacity); });
  ASSERT_TRUE(ReadOverflow(pool_.get(), first, size, &out).ok());

  // The last page links back to the first: a loop.
  EditPage(pages[2], [&](std::byte* p) { EncodeFixed64(p + kNextOffset, first); });
  ExpectCorruptionNaming(ReadOverflow(pool_.get(), first, size, &out), pages[2]);
  const Status loop = FreeOverflow(pool_.get(), allocator_.get(), first);
  ExpectCorruptionNaming(loop, first);
  EXPECT_NE(loop.message().find("loop"), std::string_view::npos) << loop.ToString();
  EXPECT_FALSE(CheckOverflow(pool_.get(), first, size, nullptr).ok());
  // A page linking to itself.
  EditPage(pages[2], [&](std::byte* p) { EncodeFixed64(p + kNextOffset, pages[2]); });
  ExpectCorruptionNaming(FreeOverflow(pool_.get(), allocator_.get(), first), pages[2]);
  EditPage(pages[2], [](std::byte* p) { EncodeFixed64(p + kNextOffset, kInvalidPageId); });

  // A page of the wrong type in the middle.
  EditPage(pages[1], [](std::byte* p) {
    p[page_header::kTypeOffset] = static_cast<std::byte>(PageType::kBTreeLeaf);
  });
  ExpectCorruptionNaming(ReadOverflow(pool_.get(), first, size, &out), pages[1]);
  ExpectCorruptionNaming(FreeOverflow(pool_.get(), allocator_.get(), first), pages[1]);
  // A link to a page never written (it reads as a free page).
  EditPage(pages[0], [](std::byte* p) { EncodeFixed64(p + kNextOffset, 1000); });
  out.clear();
  ExpectCorruptionNaming(ReadOverflow(pool_.get(), first, size, &out), 1000);
  EXPECT_TRUE(out.empty());

  // None of the failed frees gave a page back.
  EXPECT_EQ(FreePages(), free_before);
  ExpectCorruptionNaming(ReadOverflow(pool_.get(), kMetaPageId, 10, &out), kMetaPageId);
  EXPECT_TRUE(ReadOverflow(pool_.get(), kInvalidPageId, 10, &out).IsCorruption());
}

TEST_F(OverflowTest, ValidateOverflowPage) {
  std::vector<std::byte> page(kPageSize);
  PageView(page).Format(9, PageType::kOverflow);
  EncodeFixed64(page.data() + kNextOffset, 10);
  EncodeFixed32(page.data() + kPieceLengthOffset, kOverflowCapacity);
  EXPECT_TRUE(ValidateOverflowPage(page, 9).ok());
  EncodeFixed32(page.data() + kPieceLengthOffset, kOverflowCapacity + 1);
  ExpectCorruptionNaming(ValidateOverflowPage(page, 9), 9);
  EncodeFixed32(page.data() + kPieceLengthOffset, 0);
  EncodeFixed64(page.data() + kNextOffset, 9);
  ExpectCorruptionNaming(ValidateOverflowPage(page, 9), 9);
  EncodeFixed64(page.data() + kNextOffset, kInvalidPageId);
  EXPECT_TRUE(ValidateOverflowPage(page, 9).ok());
  page[page_header::kTypeOffset] = static_cast<std::byte>(PageType::kFree);
  ExpectCorruptionNaming(ValidateOverflowPage(page, 9), 9);
  EXPECT_TRUE(ValidateOverflowPage(std::span<const std::byte>(page).first(40), 9).IsCorruption());
}

}  // namespace
}  // namespace mvdb::btree
