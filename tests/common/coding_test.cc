#include "common/coding.h"

#include <gtest/gtest.h>

#include <array>

namespace mvdb {
namespace {

TEST(CodingTest, LittleEndianLayout) {
  std::array<std::byte, 8> buf{};
  EncodeFixed32(buf.data(), 0x04030201U);
  EXPECT_EQ(buf[0], std::byte{1});
  EXPECT_EQ(buf[3], std::byte{4});
  EncodeFixed64(buf.data(), 0x0807060504030201ULL);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(buf[i], std::byte(i + 1));
  EXPECT_EQ(DecodeFixed64(buf.data()), 0x0807060504030201ULL);
  EXPECT_EQ(DecodeFixed16(buf.data() + 1), 0x0302U);
}

TEST(CodingTest, UnalignedRoundTrip) {
  std::array<std::byte, 32> buf{};
  for (size_t off = 0; off < 8; ++off) {
    EncodeFixed64(buf.data() + off, 0xdeadbeefcafebabeULL + off);
    EXPECT_EQ(DecodeFixed64(buf.data() + off), 0xdeadbeefcafebabeULL + off);
    EncodeFixed16(buf.data() + off + 9, static_cast<uint16_t>(0xabcd + off));
    EXPECT_EQ(DecodeFixed16(buf.data() + off + 9), 0xabcd + off);
  }
}

}  // namespace
}  // namespace mvdb
