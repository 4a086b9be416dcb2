#include "common/crc32c.h"

#include <boost/crc.hpp>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mvdb::crc32c {
namespace {

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc,
                                                          std::span<const std::byte> data) {
  const std::byte* p = data.data();
  size_t n = data.size();
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*p));
    ++p;
    --n;
  }
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
