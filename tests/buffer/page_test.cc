#include "buffer/page.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "buffer/page_access.h"
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

namespace mvdb {
namespace {

// page_access does everything in aligned 8-byte words; whatever the offsets
// and lengths, it must change exactly the bytes memcpy/memmove/memset would.
TEST(PageAccessTest, WordAccessesMatchPlainByteCopies) {
  std::mt19937_64 rng(5);
  alignas(8) std::byte page[kPageSize];
  std::vector<std::byte> model(kPageSize);
  for (size_t i = 0; i < kPageSize; ++i) page[i] = model[i] = static_cast<std::byte>(rng());
  std::byte source[600];
  for (int op = 0; op < 20000; ++op) {
    const size_t n = rng() % 500;
    const size_t at = rng() % (kPageSize - n);
    switch (rng() % 4) {
      case 0: {
        for (size_t i = 0; i < n; ++i) source[i] = static_cast<std::byte>(rng());
        page_access::CopyIn(page, at, source, n);
        std::memcpy(model.data() + at, source, n);
        break;
      }
      case 1: {
        const size_t from = rng() % (kPageSize - n);
        page_access::Move(page, at, from, n);
        std::memmove(model.data() + at, model.data() + from, n);
        break;
      }
      case 2: {
        const auto value = static_cast<std::byte>(rng());
        page_access::Fill(page, at, value, n);
        std::memset(model.data() + at, static_cast<int>(value), n);
        break;
      }
      default: {
        const size_t width = 1 + rng() % 8;
        const uint64_t value = rng();
        page_access::StoreLE(page, at, value, width);
        std::memcpy(model.data() + at, &value, width);
        uint64_t expected = 0;
        std::memcpy(&expected, model.data() + at, width);
        ASSERT_EQ(page_access::LoadLE(page, at, width), expected) << at << " " << width;
        break;
      }
    }
    std::byte out[600];
    page_access::CopyOut(page, at, n, out);
    ASSERT_EQ(std::memcmp(out, model.data() + at, n), 0) << "op " << op;
  }
  ASSERT_EQ(std::memcmp(page, model.data(), kPageSize), 0);
  // A buffer that is not word-aligned gets plain copies, inside its bounds.
  std::vector<std::byte> odd(kPageSize + 1);
  page_access::Fill(odd.data() + 1, 0, std::byte{7}, kPageSize);
  EXPECT_EQ(odd[0], std::byte{0});
  EXPECT_EQ(odd[kPageSize], std::byte{7});
}

}  // namespace
}  // namespace mvdb
