// The bytes of the write-ahead log, and the pure decoder of one segment.
//
// wal/log_format.md is the format's document: offset tables, what the
// checksums cover, the rules that make a record valid, and how the end of
// the log is told from damage. This header is its code. Everything here is
// pure: no files, no threads. SegmentDecoder reads a segment through a
// SegmentSource, which is a file for LogReader (wal/log_reader.h) and a
// plain buffer for tests and the fuzzer (DecodeSegmentImage).
//
// The decoder never trusts a byte it has not checked: a record's length is
// compared with the payload limit and with the bytes left in the segment
// before anything past the record header is read, and every LSN is checked
// against the record's position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/status.h"

namespace mvdb {

// A log sequence number: the byte position of a record in the logical log
// stream (the records of all segments, one after another, without segment
// headers). The next record's LSN is this one's plus its framed size.
using Lsn = uint64_t;

namespace log_format {

inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kAlignment = 8;  // records and LSNs are multiples of it
// LSNs stay far below 2^64 so that position arithmetic cannot wrap.
inline constexpr Lsn kMaxLsn = Lsn{1} << 62;

// Segment header (32 bytes at offset 0 of every segment file).
inline constexpr size_t kSegmentHeaderSize = 32;
inline constexpr std::string_view kMagic{"mvdbwal\0", 8};
inline constexpr size_t kMagicOffset = 0;             // 8 bytes
inline constexpr size_t kVersionOffset = 8;           // u32
inline constexpr size_t kHeaderReservedOffset = 12;   // u32, zero
inline constexpr size_t kStartLsnOffset = 16;         // u64
inline constexpr size_t kHeaderReserved2Offset = 24;  // u32, zero
inline constexpr size_t kHeaderCrcOffset = 28;        // u32, CRC32C of bytes [0, 28)

// Record header (28 bytes, then the payload, then zero padding to a
// multiple of kAlignment).
inline constexpr size_t kRecordHeaderSize = 28;
inline constexpr size_t kCrcOffset = 0;         // u32, CRC32C of bytes [4, framed size)
inline constexpr size_t kLengthOffset = 4;      // u32, payload bytes
inline constexpr size_t kTypeOffset = 8;        // u8, never kInvalidType
inline constexpr size_t kFlagsOffset = 9;       // u8, zero in version 1
inline constexpr size_t kReservedOffset = 10;   // u16, zero
inline constexpr size_t kLsnOffset = 12;        // u64, the record's own LSN
inline constexpr size_t kSyncedLsnOffset = 20;  // u64, see log_format.md "synced LSN"

// Type 0 is never a record, so zeroed bytes never read as one. Every other
// type belongs to the callers (the commit path, checkpoints).
inline constexpr uint8_t kInvalidType = 0;

// No payload is ever larger, whatever the options say.
inline constexpr uint32_t kMaxPayloadHardLimit = uint32_t{1} << 30;

// Header, payload and padding.
constexpr uint64_t FramedSize(uint64_t payload_size) {
  return (kRecordHeaderSize + payload_size + kAlignment - 1) & ~uint64_t{kAlignment - 1};
}

// "<16 lowercase hex digits of start_lsn>.log".
std::string SegmentFileName(Lsn start_lsn);
// The start LSN a segment file name spells, or nullopt for any other name.
std::optional<Lsn> ParseSegmentFileName(std::string_view name);

// Writes the 32-byte header of a segment starting at `start_lsn` into
// out[0, 32). REQUIRES: out.size() >= kSegmentHeaderSize.
void EncodeSegmentHeader(Lsn start_lsn, std::span<std::byte> out);

// Appends one framed record (header, payload, zero padding) to `out`, with
// the checksum and synced LSN left zero: SealRecord fills them once the
// synced LSN is known (when the record is handed to the file).
void AppendUnsealedRecord(Lsn lsn, uint8_t type, std::span<const std::byte> payload,
                          std::vector<std::byte>* out);
// Stores `synced_lsn` in the framed record at the front of `record` and
// computes its checksum. Returns the record's framed size.
// REQUIRES: `record` starts with a record made by AppendUnsealedRecord.
uint64_t SealRecord(std::span<std::byte> record, Lsn synced_lsn);

}  // namespace log_format

// One record as a reader returns it.
struct LogRecord {
  Lsn lsn = 0;
  uint8_t type = 0;
  // Valid until the next call on the reader or decoder that returned it.
  std::span<const std::byte> payload;
};

// The bytes of one segment file, fetched on demand.
class SegmentSource {
 public:
  virtual ~SegmentSource() = default;
  virtual uint64_t size() const = 0;
  // A view of bytes [offset, offset + n), valid until the next Read.
  // REQUIRES: offset + n <= size().
  virtual Result<std::span<const std::byte>> Read(uint64_t offset, size_t n) = 0;
};

// A segment held in memory.
class MemorySegmentSource final : public SegmentSource {
 public:
  explicit MemorySegmentSource(std::span<const std::byte> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<std::span<const std::byte>> Read(uint64_t offset, size_t n) override {
    return bytes_.subspan(offset, n);
  }

 private:
  std::span<const std::byte> bytes_;
};

// Where a segment's valid records end, once SegmentDecoder::Next said so.
struct SegmentEnd {
  Lsn end_lsn = 0;          // after its last valid record (its start if none)
  uint64_t valid_size = 0;  // header plus valid records; 0 if the header is torn
  bool header_valid = false;
  // Only the newest segment may end torn: the bytes after valid_size are the
  // remains of writes the crash interrupted, and why the first of them is
  // not a record. Empty when the segment ends exactly at its last record.
  std::string torn_reason;
};

// Where a log is damaged: the first bad bytes of a segment that cannot be a
// torn tail, because the segment is not the newest or valid records follow
// them (log_format.md, "The end of the log"). Everything before `offset` in
// that segment, and every segment before it, is valid. Set by
// SegmentDecoder and LogReader when they return such a Corruption.
struct LogDamage {
  std::string segment_path;  // the segment's name as the decoder was given it
  Lsn segment_start = 0;
  uint64_t offset = 0;  // of the bad record (0: the segment header is bad)
  Lsn lsn = 0;          // the LSN a record at `offset` would have
  // Valid records after the bad bytes: in this segment, and (LogReader
  // only) in the later segments, counted by the same scan.
  uint64_t valid_after = 0;
  uint64_t valid_after_in_later_segments = 0;
  // The first and the last of them (0 when there are none).
  Lsn first_valid_lsn = 0;
  Lsn last_valid_end_lsn = 0;
  // The largest synced LSN among them: if it exceeds `lsn`, the bad bytes
  // had been fdatasync'ed before a valid record was written.
  Lsn max_synced_lsn = 0;

  uint64_t total_valid_after() const { return valid_after + valid_after_in_later_segments; }
};

// The valid records found by scanning a segment from an offset on (every
// 8-byte boundary that is not inside a valid record is tried).
struct ValidRun {
  uint64_t records = 0;
  uint64_t first_offset = 0;  // of the first (0 when none)
  Lsn first_lsn = 0;
  Lsn last_end_lsn = 0;  // the LSN after the last
  Lsn max_synced_lsn = 0;
};

// Decodes the records of one segment, in order, applying the validity rules
// and the end-of-log rule of log_format.md.
//
// Not thread-safe. The source must outlive the decoder.
class SegmentDecoder {
 public:
  // `name` names the segment in messages (its path). `start_lsn` is the
  // start its file name gives. `is_newest`: the last segment of the log, the
  // only one whose tail may be torn. Payloads longer than `max_payload`
  // (clamped to kMaxPayloadHardLimit) are invalid records.
  SegmentDecoder(SegmentSource* source, std::string name, Lsn start_lsn, bool is_newest,
                 uint32_t max_payload = log_format::kMaxPayloadHardLimit);

  // Decodes the next record into *record and returns true, or returns false
  // at the end of the segment (end() then says where and why). Errors:
  // Corruption naming the file and offset, NotSupported for a segment of a
  // later format version, or whatever the source's Read returns. After
  // false or an error, every later call returns the same.
  Result<bool> Next(LogRecord* record);

  // REQUIRES: Next returned false.
  const SegmentEnd& end() const { return end_; }

  // Where the segment is damaged, once Next returned a Corruption that
  // names a place in it (not for every Corruption: a bad start LSN in the
  // name has none).
  const std::optional<LogDamage>& damage() const { return damage_; }

  // Scans the segment from `offset` (a multiple of 8) to its end for valid
  // records, whatever comes before them. Independent of Next.
  Result<ValidRun> ScanValidRecords(uint64_t offset);

 private:
  struct Probe;

  Result<bool> Start();
  Result<Probe> ProbeRecord(uint64_t offset);
  Status Damage(uint64_t offset, const std::string& what, const ValidRun& after);
  Result<bool> Finish(uint64_t valid_size, std::string torn_reason);

  SegmentSource* source_;
  std::string name_;
  Lsn start_lsn_;
  bool is_newest_;
  uint32_t max_payload_;

  bool started_ = false;
  bool finished_ = false;
  Status error_;         // sticky: returned by every Next after a failure
  uint64_t offset_ = 0;  // of the next record in the file
  SegmentEnd end_;
  std::optional<LogDamage> damage_;
};

// The pure decoding of a whole segment image, for tests and the fuzzer:
// calls `on_record` for each record in order, then returns how the segment
// ends. Arguments and errors as for SegmentDecoder.
Result<SegmentEnd> DecodeSegmentImage(std::span<const std::byte> image, Lsn start_lsn,
                                      bool is_newest, uint32_t max_payload,
                                      const std::function<void(const LogRecord&)>& on_record);

}  // namespace mvdb
