#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace mvdb {
namespace {

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// Test vectors from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32cTest, KnownValues) {
  std::vector<std::byte> zeros(32, std::byte{0});
  EXPECT_EQ(crc32c::Value(zeros), 0x8a9136aaU);
  std::vector<std::byte> ones(32, std::byte{0xff});
  EXPECT_EQ(crc32c::Value(ones), 0x62a8ab43U);
  std::vector<std::byte> ascending(32);
  for (int i = 0; i < 32; ++i) ascending[i] = std::byte(i);
  EXPECT_EQ(crc32c::Value(ascending), 0x46dd794eU);
  EXPECT_EQ(crc32c::Value(Bytes("123456789")), 0xe3069283U);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string_view text = "hello, write-ahead log";
  uint32_t whole = crc32c::Value(Bytes(text));
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    uint32_t part =
        crc32c::Extend(crc32c::Value(Bytes(text.substr(0, cut))), Bytes(text.substr(cut)));
    EXPECT_EQ(part, whole) << "cut at " << cut;
  }
}

TEST(Crc32cTest, HardwareMatchesPortable) {
  std::mt19937 rng(42);
  for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 4096, 8191}) {
    std::vector<std::byte> data(len);
    for (auto& b : data) b = std::byte(rng());
    EXPECT_EQ(crc32c::Extend(0, data), crc32c::ExtendPortable(0, data)) << "len " << len;
  }
}

// The hardware path runs three interleaved chains over blocks of 3 x 1024
// and 3 x 128 bytes and combines them: every length and offset around
// those block edges must give the portable result, also continuing a CRC.
TEST(Crc32cTest, InterleavedHardwareMatchesPortableAtEveryBlockEdge) {
  std::mt19937 rng(7);
  std::vector<std::byte> data(3 * 3 * 1024 + 64);
  for (auto& b : data) b = std::byte(rng());
  std::vector<size_t> lengths;
  for (size_t edge : {3 * 128, 2 * 3 * 128, 3 * 1024, 3 * 1024 + 3 * 128, 2 * 3 * 1024, 8188, 8192,
                      3 * 3 * 1024}) {
    for (size_t len = edge - 9; len <= edge + 9; ++len) lengths.push_back(len);
  }
  for (size_t len : lengths) {
    for (size_t offset : {0, 1, 3, 8, 13}) {
      if (offset + len > data.size()) continue;
      const std::span<const std::byte> piece(data.data() + offset, len);
      const uint32_t expected = crc32c::ExtendPortable(0, piece);
      ASSERT_EQ(crc32c::Value(piece), expected) << "len " << len << " offset " << offset;
      // Continued after a prefix of 5 bytes: the chains start mid-stream.
      ASSERT_EQ(crc32c::Extend(crc32c::Value(piece.first(5)), piece.subspan(5)), expected)
          << "len " << len << " offset " << offset;
    }
  }
}

TEST(Crc32cTest, DetectsSingleBitFlips) {
  std::vector<std::byte> page(8192, std::byte{0x5a});
  uint32_t base = crc32c::Value(page);
  for (size_t bit = 0; bit < page.size() * 8; bit += 997) {
    page[bit / 8] ^= std::byte(1 << (bit % 8));
    EXPECT_NE(crc32c::Value(page), base) << "bit " << bit;
    page[bit / 8] ^= std::byte(1 << (bit % 8));
  }
}

}  // namespace
}  // namespace mvdb
