// Little-endian fixed-width encoding of integers into byte buffers.
//
// Every on-disk format in mvdb is little-endian and is read and written
// through these helpers (never through a reinterpret_cast of a struct), so
// that layouts are explicit and unaligned access is safe.
#pragma once

#include <boost/endian/conversion.hpp>
#include <cstddef>
#include <cstdint>

namespace mvdb {

inline const unsigned char* AsUChar(const std::byte* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
inline unsigned char* AsUChar(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

inline uint16_t DecodeFixed16(const std::byte* p) {
  return boost::endian::load_little_u16(AsUChar(p));
}
inline uint32_t DecodeFixed32(const std::byte* p) {
  return boost::endian::load_little_u32(AsUChar(p));
}
inline uint64_t DecodeFixed64(const std::byte* p) {
  return boost::endian::load_little_u64(AsUChar(p));
}
inline void EncodeFixed16(std::byte* p, uint16_t v) {
  boost::endian::store_little_u16(AsUChar(p), v);
}
inline void EncodeFixed32(std::byte* p, uint32_t v) {
  boost::endian::store_little_u32(AsUChar(p), v);
}
inline void EncodeFixed64(std::byte* p, uint64_t v) {
  boost::endian::store_little_u64(AsUChar(p), v);
}

}  // namespace mvdb
