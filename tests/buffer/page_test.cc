#include "buffer/page.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "buffer_test_util.h"

namespace mvdb {
namespace {

constexpr PageId kId = 17;
constexpr char kFile[] = "data.mvdb";
constexpr uint64_t kOffset = kId * kPageSize;  // 139264

std::vector<std::byte> SealedLeaf() {
  std::vector<std::byte> page(kPageSize);
  PageView view(page);
  view.Format(kId, PageType::kBTreeLeaf);
  view.set_lsn(42);
  for (size_t i = 0; i < view.body().size(); ++i) {
    view.body()[i] = static_cast<std::byte>(i * 13);
  }
  SealPage(page);
  return page;
}

TEST(PageTest, FormatWritesTheHeader) {
  std::vector<std::byte> page(kPageSize, std::byte{0xee});
  PageView(page).Format(kId, PageType::kOverflow);
  const ConstPageView view(page);
  EXPECT_EQ(view.type(), PageType::kOverflow);
  EXPECT_EQ(view.page_id(), kId);
  EXPECT_EQ(view.lsn(), 0u);
  EXPECT_EQ(static_cast<uint8_t>(page[page_header::kVersionOffset]), kPageFormatVersion);
  for (size_t i = page_header::kLsnOffset; i < kPageSize; ++i) {
    ASSERT_EQ(page[i], std::byte{0}) << "byte " << i;
  }
}

TEST(PageTest, SealThenVerifyRoundTrips) {
  std::vector<std::byte> page = SealedLeaf();
  EXPECT_EQ(ConstPageView(page).stored_checksum(), ComputePageChecksum(page));
  EXPECT_TRUE(VerifyPage(page, kId, kFile, kOffset).ok());
}

TEST(PageTest, EveryFlippedByteIsCorruptionNamingPageAndOffset) {
  std::vector<std::byte> page = SealedLeaf();
  for (size_t i = 0; i < kPageSize; ++i) {
    page[i] ^= std::byte{0x01};
    Status status = VerifyPage(page, kId, kFile, kOffset);
    page[i] ^= std::byte{0x01};
    ASSERT_TRUE(status.IsCorruption()) << "flipped byte " << i;
    ASSERT_TRUE(status.message().starts_with("data.mvdb: page 17 at offset 139264: checksum"))
        << status.ToString();
  }
}

TEST(PageTest, ChecksumMismatchMessageShowsBothValues) {
  std::vector<std::byte> page = SealedLeaf();
  const uint32_t good = ComputePageChecksum(page);
  EncodeFixed32(page.data(), 0x12345678);
  Status status = VerifyPage(page, kId, kFile, kOffset);
  char expected[160];
  std::snprintf(expected, sizeof(expected),
                "data.mvdb: page 17 at offset 139264: checksum mismatch (stored 0x12345678, "
                "computed 0x%08x)",
                good);
  EXPECT_EQ(status.message(), expected);
}

TEST(PageTest, WrongSelfIdIsCorruption) {
  std::vector<std::byte> page = SealedLeaf();
  Status status = VerifyPage(page, kId + 1, kFile, (kId + 1) * kPageSize);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_TRUE(testing::MessageContains(
      status, "data.mvdb: page 18 at offset 147456: page header claims id 17"));
}

TEST(PageTest, UnknownVersionOrTypeIsCorruption) {
  std::vector<std::byte> page = SealedLeaf();
  page[page_header::kVersionOffset] = std::byte{kPageFormatVersion + 1};
  SealPage(page);
  Status status = VerifyPage(page, kId, kFile, kOffset);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_TRUE(testing::MessageContains(status, "unsupported page format version 2"));

  page = SealedLeaf();
  page[page_header::kTypeOffset] = std::byte{200};
  SealPage(page);
  status = VerifyPage(page, kId, kFile, kOffset);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_TRUE(testing::MessageContains(status, "unknown page type 200"));
}

TEST(PageTest, AllZeroPageIsAValidFreePage) {
  std::vector<std::byte> page(kPageSize);
  EXPECT_TRUE(VerifyPage(page, kId, kFile, kOffset).ok());
  EXPECT_EQ(ConstPageView(page).type(), PageType::kFree);
  // One stray byte in a zero page is not a free page any more.
  page[100] = std::byte{1};
  EXPECT_TRUE(VerifyPage(page, kId, kFile, kOffset).IsCorruption());
}

TEST(PageTest, ShortImageIsCorruption) {
  std::vector<std::byte> page(kPageSize / 2);
  EXPECT_TRUE(VerifyPage(page, kId, kFile, kOffset).IsCorruption());
}

TEST(PageTest, TypeNames) {
  EXPECT_STREQ(PageTypeName(PageType::kFree), "free");
  EXPECT_STREQ(PageTypeName(PageType::kMeta), "meta");
  EXPECT_STREQ(PageTypeName(PageType::kFreeListTrunk), "freelist-trunk");
  EXPECT_STREQ(PageTypeName(PageType::kBTreeLeaf), "btree-leaf");
  EXPECT_STREQ(PageTypeName(PageType::kBTreeInner), "btree-inner");
  EXPECT_STREQ(PageTypeName(PageType::kOverflow), "overflow");
  EXPECT_STREQ(PageTypeName(static_cast<PageType>(77)), "unknown");
}

}  // namespace
}  // namespace mvdb
