#include "wal/log_format.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/coding.h"
#include "common/crc32c.h"

namespace mvdb {

namespace log_format {

std::string SegmentFileName(Lsn start_lsn) {
  char name[32];
  std::snprintf(name, sizeof(name), "%016" PRIx64 ".log", start_lsn);
  return name;
}

std::optional<Lsn> ParseSegmentFileName(std::string_view name) {
  constexpr std::string_view kSuffix = ".log";
  if (name.size() != 16 + kSuffix.size() || name.substr(16) != kSuffix) return std::nullopt;
  Lsn lsn = 0;
  for (char c : name.substr(0, 16)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;  // upper case too: one LSN has exactly one name
    }
    lsn = (lsn << 4) | static_cast<Lsn>(digit);
  }
  return lsn;
}

void EncodeSegmentHeader(Lsn start_lsn, std::span<std::byte> out) {
  std::memset(out.data(), 0, kSegmentHeaderSize);
  std::memcpy(out.data() + kMagicOffset, kMagic.data(), kMagic.size());
  EncodeFixed32(out.data() + kVersionOffset, kVersion);
  EncodeFixed64(out.data() + kStartLsnOffset, start_lsn);
  EncodeFixed32(out.data() + kHeaderCrcOffset, crc32c::Value(out.first(kHeaderCrcOffset)));
}

void AppendUnsealedRecord(Lsn lsn, uint8_t type, std::span<const std::byte> payload,
                          std::vector<std::byte>* out) {
  const size_t start = out->size();
  out->resize(start + kRecordHeaderSize);
  std::byte* header = out->data() + start;
  EncodeFixed32(header + kLengthOffset, static_cast<uint32_t>(payload.size()));
  header[kTypeOffset] = static_cast<std::byte>(type);
  EncodeFixed64(header + kLsnOffset, lsn);
  out->insert(out->end(), payload.begin(), payload.end());
  out->resize(start + FramedSize(payload.size()));  // zero padding
}

uint64_t SealRecord(std::span<std::byte> record, Lsn synced_lsn) {
  const uint64_t framed = FramedSize(DecodeFixed32(record.data() + kLengthOffset));
  EncodeFixed64(record.data() + kSyncedLsnOffset, synced_lsn);
  EncodeFixed32(record.data() + kCrcOffset, crc32c::Value(record.subspan(4, framed - 4)));
  return framed;
}

}  // namespace log_format

namespace lf = log_format;

namespace {

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08" PRIx32, v);
  return buf;
}

// "3 valid records follow (LSN 96 to 288, from offset 128)".
std::string Follow(const ValidRun& run) {
  if (run.records == 0) return "no valid record follows in this segment";
  return std::to_string(run.records) +
         (run.records == 1 ? " valid record follows" : " valid records follow") +
         " in this segment (LSN " + std::to_string(run.first_lsn) + " to " +
         std::to_string(run.last_end_lsn) + ", from offset " + std::to_string(run.first_offset) +
         ")";
}

// Whether the records after the damage prove the bad bytes were synced
// first: worth saying, because only then is a power loss ruled out.
std::string SyncNote(const ValidRun& run, Lsn bad_lsn) {
  if (run.max_synced_lsn > bad_lsn) {
    return " (the log had been synced through LSN " + std::to_string(run.max_synced_lsn) +
           " before one of them was written)";
  }
  return " (none of them was written after a sync past the bad record, so if the machine lost "
         "power, rather than the process crashing, they may also be the later part of an "
         "unsynced write whose earlier part never reached the disk)";
}

}  // namespace

// What is found at one offset of a segment: a valid record, or the first
// rule the bytes there break.
struct SegmentDecoder::Probe {
  enum class Verdict : uint8_t {
    kValid,
    kShortHeader,
    kTooLong,
    kOverrun,
    kLsnMismatch,
    kBadChecksum,
    kBadType,
    kBadFlags,
    kBadSyncedLsn,
  };

  Verdict verdict = Verdict::kValid;
  uint64_t offset = 0;
  uint64_t remaining = 0;  // bytes from offset to the end of the file
  Lsn position_lsn = 0;    // the LSN a record at this offset must carry
  uint32_t length = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  uint16_t reserved = 0;
  Lsn lsn = 0;
  Lsn synced_lsn = 0;
  uint32_t stored_crc = 0;
  uint32_t computed_crc = 0;
  uint64_t framed = 0;
  std::span<const std::byte> payload;  // valid until the source's next Read

  bool valid() const { return verdict == Verdict::kValid; }

  std::string Describe(Lsn segment_start, uint32_t max_payload) const {
    switch (verdict) {
      case Verdict::kValid:
        return "valid";
      case Verdict::kShortHeader:
        return "only " + std::to_string(remaining) + " bytes left, less than a " +
               std::to_string(lf::kRecordHeaderSize) + "-byte record header";
      case Verdict::kTooLong:
        return "payload length " + std::to_string(length) + " exceeds the limit " +
               std::to_string(max_payload);
      case Verdict::kOverrun:
        return "the record's " + std::to_string(framed) + " bytes (payload " +
               std::to_string(length) + ") run past the end of the file (" +
               std::to_string(remaining) + " bytes left)";
      case Verdict::kLsnMismatch:
        return "its header says LSN " + std::to_string(lsn) + " but its position is LSN " +
               std::to_string(position_lsn);
      case Verdict::kBadChecksum:
        return "checksum mismatch: stored " + Hex32(stored_crc) + ", computed " +
               Hex32(computed_crc);
      case Verdict::kBadType:
        return "type 0 is not a record type";
      case Verdict::kBadFlags:
        return "flags " + std::to_string(flags) + " and reserved " + std::to_string(reserved) +
               " must be zero in format version " + std::to_string(lf::kVersion);
      case Verdict::kBadSyncedLsn:
        return "synced LSN " + std::to_string(synced_lsn) + " is outside [segment start " +
               std::to_string(segment_start) + ", record LSN " + std::to_string(lsn) + "]";
    }
    return "unknown";
  }
};

SegmentDecoder::SegmentDecoder(SegmentSource* source, std::string name, Lsn start_lsn,
                               bool is_newest, uint32_t max_payload)
    : source_(source),
      name_(std::move(name)),
      start_lsn_(start_lsn),
      is_newest_(is_newest),
      max_payload_(std::min(max_payload, lf::kMaxPayloadHardLimit)) {}

Status SegmentDecoder::Damage(uint64_t offset, const std::string& what, const ValidRun& after) {
  LogDamage damage;
  damage.segment_path = name_;
  damage.segment_start = start_lsn_;
  damage.offset = offset;
  damage.lsn =
      start_lsn_ + (std::max<uint64_t>(offset, lf::kSegmentHeaderSize) - lf::kSegmentHeaderSize);
  damage.valid_after = after.records;
  damage.first_valid_lsn = after.first_lsn;
  damage.last_valid_end_lsn = after.last_end_lsn;
  damage.max_synced_lsn = after.max_synced_lsn;
  damage_ = damage;
  return Status::Corruption(name_ + ": offset " + std::to_string(offset) + ": " + what);
}

Result<bool> SegmentDecoder::Finish(uint64_t valid_size, std::string torn_reason) {
  finished_ = true;
  end_.valid_size = valid_size;
  end_.end_lsn = valid_size < lf::kSegmentHeaderSize
                     ? start_lsn_
                     : start_lsn_ + (valid_size - lf::kSegmentHeaderSize);
  end_.torn_reason = std::move(torn_reason);
  return false;
}

Result<SegmentDecoder::Probe> SegmentDecoder::ProbeRecord(uint64_t offset) {
  using Verdict = Probe::Verdict;
  Probe p;
  p.offset = offset;
  p.remaining = source_->size() - offset;
  p.position_lsn = start_lsn_ + (offset - lf::kSegmentHeaderSize);
  if (p.remaining < lf::kRecordHeaderSize) {
    p.verdict = Verdict::kShortHeader;
    return p;
  }
  MVDB_ASSIGN_OR_RETURN(std::span<const std::byte> header,
                        source_->Read(offset, lf::kRecordHeaderSize));
  p.stored_crc = DecodeFixed32(header.data() + lf::kCrcOffset);
  p.length = DecodeFixed32(header.data() + lf::kLengthOffset);
  p.type = static_cast<uint8_t>(header[lf::kTypeOffset]);
  p.flags = static_cast<uint8_t>(header[lf::kFlagsOffset]);
  p.reserved = DecodeFixed16(header.data() + lf::kReservedOffset);
  p.lsn = DecodeFixed64(header.data() + lf::kLsnOffset);
  p.synced_lsn = DecodeFixed64(header.data() + lf::kSyncedLsnOffset);
  p.framed = lf::FramedSize(p.length);
  // Cheap checks first: they decide whether the rest may be read at all,
  // and they keep the forward scan of ScanValidRecords from checksumming
  // garbage.
  if (p.length > max_payload_) {
    p.verdict = Verdict::kTooLong;
  } else if (p.framed > p.remaining) {
    p.verdict = Verdict::kOverrun;
  } else if (p.lsn != p.position_lsn) {
    p.verdict = Verdict::kLsnMismatch;
  }
  if (!p.valid()) return p;

  MVDB_ASSIGN_OR_RETURN(std::span<const std::byte> record, source_->Read(offset, p.framed));
  p.computed_crc = crc32c::Value(record.subspan(4));
  if (p.computed_crc != p.stored_crc) {
    p.verdict = Verdict::kBadChecksum;
  } else if (p.type == lf::kInvalidType) {
    p.verdict = Verdict::kBadType;
  } else if (p.flags != 0 || p.reserved != 0) {
    p.verdict = Verdict::kBadFlags;
  } else if (p.synced_lsn > p.lsn || p.synced_lsn < start_lsn_) {
    p.verdict = Verdict::kBadSyncedLsn;
  } else {
    p.payload = record.subspan(lf::kRecordHeaderSize, p.length);
  }
  return p;
}

Result<ValidRun> SegmentDecoder::ScanValidRecords(uint64_t offset) {
  ValidRun run;
  const uint64_t size = source_->size();
  while (offset < size && size - offset >= lf::kRecordHeaderSize) {
    MVDB_ASSIGN_OR_RETURN(Probe p, ProbeRecord(offset));
    if (!p.valid()) {
      offset += lf::kAlignment;
      continue;
    }
    if (run.records == 0) {
      run.first_offset = offset;
      run.first_lsn = p.lsn;
    }
    ++run.records;
    run.last_end_lsn = p.lsn + p.framed;
    run.max_synced_lsn = std::max(run.max_synced_lsn, p.synced_lsn);
    offset += p.framed;  // a valid record: the next candidate follows it
  }
  return run;
}

Result<bool> SegmentDecoder::Start() {
  started_ = true;
  if (start_lsn_ % lf::kAlignment != 0 || start_lsn_ > lf::kMaxLsn) {
    return Status::Corruption(name_ + ": start LSN " + std::to_string(start_lsn_) +
                              " is not a multiple of 8 below 2^62");
  }
  const uint64_t size = source_->size();
  std::string torn;  // why the header is not there, if it is a write that never finished
  std::span<const std::byte> header;
  if (size < lf::kSegmentHeaderSize) {
    torn = "the file is " + std::to_string(size) + " bytes, shorter than the " +
           std::to_string(lf::kSegmentHeaderSize) + "-byte segment header";
  } else {
    MVDB_ASSIGN_OR_RETURN(header, source_->Read(0, lf::kSegmentHeaderSize));
    const uint32_t stored = DecodeFixed32(header.data() + lf::kHeaderCrcOffset);
    const uint32_t computed = crc32c::Value(header.first(lf::kHeaderCrcOffset));
    if (std::memcmp(header.data() + lf::kMagicOffset, lf::kMagic.data(), lf::kMagic.size()) != 0) {
      torn = "bad segment magic";
    } else if (stored != computed) {
      torn = "segment header checksum mismatch: stored " + Hex32(stored) + ", computed " +
             Hex32(computed);
    }
  }
  if (!torn.empty()) {
    MVDB_ASSIGN_OR_RETURN(const ValidRun after, ScanValidRecords(lf::kSegmentHeaderSize));
    if (!is_newest_) {
      return Damage(0, torn + "; not the newest segment, so not a torn write; " + Follow(after),
                    after);
    }
    // Records enter a segment only after its header is durable, so a valid
    // record behind a bad header proves the header was damaged later.
    if (after.records > 0) {
      return Damage(0,
                    torn + ", yet " + Follow(after) +
                        "; records are written only after the header is durable, so this is "
                        "damage, not a torn write",
                    after);
    }
    end_.header_valid = false;
    return Finish(0, torn);
  }

  const uint32_t version = DecodeFixed32(header.data() + lf::kVersionOffset);
  if (version != lf::kVersion) {
    return Status::NotSupported(name_ + ": segment format version " + std::to_string(version) +
                                "; this build reads version " + std::to_string(lf::kVersion));
  }
  if (DecodeFixed32(header.data() + lf::kHeaderReservedOffset) != 0 ||
      DecodeFixed32(header.data() + lf::kHeaderReserved2Offset) != 0) {
    return Damage(0, "reserved segment header fields are not zero", ValidRun{});
  }
  const Lsn header_start = DecodeFixed64(header.data() + lf::kStartLsnOffset);
  if (header_start != start_lsn_) {
    return Damage(0,
                  "the segment header says start LSN " + std::to_string(header_start) +
                      " but the file name says " + std::to_string(start_lsn_),
                  ValidRun{});
  }
  end_.header_valid = true;
  offset_ = lf::kSegmentHeaderSize;
  return true;
}

Result<bool> SegmentDecoder::Next(LogRecord* record) {
  if (!error_.ok()) return error_;
  if (finished_) return false;
  Result<bool> result = [&]() -> Result<bool> {
    if (!started_) {
      MVDB_ASSIGN_OR_RETURN(bool has_records, Start());
      if (!has_records) return false;
    }
    if (offset_ == source_->size()) return Finish(offset_, "");

    MVDB_ASSIGN_OR_RETURN(Probe p, ProbeRecord(offset_));
    if (p.valid()) {
      record->lsn = p.lsn;
      record->type = p.type;
      record->payload = p.payload;
      offset_ += p.framed;
      return true;
    }
    const std::string what = "bad record (LSN " + std::to_string(p.position_lsn) +
                             "): " + p.Describe(start_lsn_, max_payload_);
    // The end-of-log rule (log_format.md): a torn write is the end of what
    // was written, so a valid record after the bad bytes, at the position
    // its own LSN names, proves they are damage, whatever the sync mode.
    MVDB_ASSIGN_OR_RETURN(const ValidRun after, ScanValidRecords(offset_ + lf::kAlignment));
    if (!is_newest_) {
      return Damage(
          offset_, what + "; not the newest segment, so not a torn write; " + Follow(after), after);
    }
    if (after.records > 0) {
      return Damage(offset_,
                    what + "; " + Follow(after) + ", so this is damage, not a torn write" +
                        SyncNote(after, p.position_lsn),
                    after);
    }
    return Finish(offset_, what);
  }();
  if (!result.ok()) error_ = result.status();
  return result;
}

Result<SegmentEnd> DecodeSegmentImage(std::span<const std::byte> image, Lsn start_lsn,
                                      bool is_newest, uint32_t max_payload,
                                      const std::function<void(const LogRecord&)>& on_record) {
  MemorySegmentSource source(image);
  SegmentDecoder decoder(&source, "segment image", start_lsn, is_newest, max_payload);
  LogRecord record;
  while (true) {
    MVDB_ASSIGN_OR_RETURN(bool more, decoder.Next(&record));
    if (!more) return decoder.end();
    on_record(record);
  }
}

}  // namespace mvdb
