// libFuzzer target: the write-ahead log's segment decoder over arbitrary
// bytes (wal/log_format.h, DecodeSegmentImage), without files.
//
// Each input is one segment image. It is decoded twice: as the newest
// segment (a torn tail is the end of the log) with the hard payload limit,
// and as an older segment (every defect is Corruption) with a small limit.
// Besides the sanitizers' checks, the records handed out must be
// contiguous, inside the input, and agree with where the decoder says the
// segment ends; a violation traps.
//
//   build-fuzz/bin/wal_reader_fuzz -max_total_time=60 /tmp/wal-fuzz fuzz/corpus/wal
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/coding.h"
#include "wal/log_format.h"

namespace {

namespace lf = mvdb::log_format;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void DecodeOnce(std::span<const std::byte> image, mvdb::Lsn start, bool newest,
                uint32_t max_payload) {
  mvdb::Lsn expect = start;
  mvdb::Result<mvdb::SegmentEnd> end = mvdb::DecodeSegmentImage(
      image, start, newest, max_payload, [&](const mvdb::LogRecord& record) {
        Check(record.lsn == expect);
        Check(record.type != lf::kInvalidType);
        Check(record.payload.size() <= max_payload);
        Check(record.payload.data() >= image.data() &&
              record.payload.data() + record.payload.size() <= image.data() + image.size());
        expect += lf::FramedSize(record.payload.size());
      });
  if (!end.ok()) return;
  Check(end->end_lsn == expect);
  Check(end->valid_size <= image.size());
  if (end->header_valid) {
    Check(end->valid_size == lf::kSegmentHeaderSize + (expect - start));
  } else {
    Check(newest && end->valid_size == 0 && expect == start);
  }
  if (!newest) Check(end->valid_size == image.size() && end->torn_reason.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Byte access through std::byte is always allowed.
  std::span<const std::byte> image(reinterpret_cast<const std::byte*>(data), size);
  // The start LSN the file name would give: take the header's own claim,
  // so inputs get past the name check and into the records.
  const mvdb::Lsn start =
      size >= lf::kStartLsnOffset + 8 ? mvdb::DecodeFixed64(image.data() + lf::kStartLsnOffset) : 0;
  DecodeOnce(image, start, /*newest=*/true, lf::kMaxPayloadHardLimit);
  DecodeOnce(image, start, /*newest=*/false, 4096);
  return 0;
}
