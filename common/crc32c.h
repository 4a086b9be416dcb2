// CRC32C (Castagnoli), the checksum of every page and log record.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
// run time) and Boost.CRC's table-driven implementation otherwise; both give
// identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mvdb::crc32c {

// Extends `crc` (the CRC of earlier bytes, 0 to start) over `data`.
uint32_t Extend(uint32_t crc, std::span<const std::byte> data);

inline uint32_t Value(std::span<const std::byte> data) { return Extend(0, data); }

// True when Extend uses the CPU instruction.
bool IsHardwareAccelerated();

// The portable implementation, exposed so tests can compare the two.
uint32_t ExtendPortable(uint32_t crc, std::span<const std::byte> data);

}  // namespace mvdb::crc32c
