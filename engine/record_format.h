// The log records of the storage engine: what Engine appends to the WAL
// and recovery replays. engine/record_format.md documents the bytes (offset
// tables and the rules that make a payload valid); the WAL's own framing
// (length, type, LSN, CRC32C) is wal/log_format.md.
//
// Decoders never trust a length they have not checked against the bytes
// left; a malformed payload is a Corruption whose message says what is
// wrong and where in the payload (the caller adds the WAL file and offset).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "mvdb/status.h"

namespace mvdb::db_record {

// WAL record types (the `type` byte of wal/log_format.md; 0 is invalid).
inline constexpr uint8_t kWriteBatch = 1;  // payload: TreeBatch::Encode
inline constexpr uint8_t kCreateTree = 2;  // payload: EncodeTreeName
inline constexpr uint8_t kDropTree = 3;    // payload: EncodeTreeName

// TreeBatch payload: a 4-byte op count, then each op as a 9-byte header
// (kind u8, tree length u16, key length u16, value length u32) followed by
// the tree name, the key and the value.
inline constexpr size_t kBatchHeaderSize = 4;
inline constexpr size_t kOpHeaderSize = 9;
inline constexpr uint8_t kOpPut = 1;
inline constexpr uint8_t kOpDelete = 2;

// Tree-name payload: length u16, then the name.
inline constexpr size_t kTreeNameHeaderSize = 2;

// "" when `name` is a valid tree name, else why not (1..kMaxKeySize bytes).
std::string TreeNameProblem(std::string_view name);

std::string EncodeTreeName(std::string_view name);
Result<std::string> DecodeTreeName(std::span<const std::byte> payload);

// A readable name for a record type, for messages.
std::string RecordTypeName(uint8_t type);

}  // namespace mvdb::db_record
