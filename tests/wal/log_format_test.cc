// The segment format and the pure decoder: framing, validity rules, and the
// end-of-log rule (torn tail vs damage) on segment images built in memory.
#include "wal/log_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/coding.h"
#include "common/crc32c.h"
#include "wal_test_util.h"

namespace mvdb {
namespace {

namespace lf = log_format;
using testing_wal::Payload;
using testing_wal::ReadRecord;
using testing_wal::TestSeed;

// A segment image built record by record.
class Image {
 public:
  explicit Image(Lsn start) : start_(start) {
    bytes_.resize(lf::kSegmentHeaderSize);
    lf::EncodeSegmentHeader(start, bytes_);
  }

  // Appends a sealed record; `synced` defaults to the segment's start (the
  // log synced through nothing in this segment yet). Returns its offset.
  uint64_t Add(std::span<const std::byte> payload, std::optional<Lsn> synced = std::nullopt,
               uint8_t type = 7, std::optional<Lsn> lsn = std::nullopt) {
    const uint64_t offset = bytes_.size();
    lf::AppendUnsealedRecord(lsn.value_or(LsnAt(offset)), type, payload, &bytes_);
    lf::SealRecord(std::span(bytes_).subspan(offset), synced.value_or(start_));
    offsets_.push_back(offset);
    return offset;
  }

  Lsn LsnAt(uint64_t offset) const { return start_ + offset - lf::kSegmentHeaderSize; }
  Lsn start() const { return start_; }
  std::vector<std::byte>& bytes() { return bytes_; }
  const std::vector<uint64_t>& offsets() const { return offsets_; }

 private:
  Lsn start_;
  std::vector<std::byte> bytes_;
  std::vector<uint64_t> offsets_;
};

struct Decoded {
  Status status;
  std::vector<ReadRecord> records;
  SegmentEnd end;
};

Decoded Decode(std::span<const std::byte> image, Lsn start, bool newest,
               uint32_t max_payload = lf::kMaxPayloadHardLimit) {
  Decoded out;
  Result<SegmentEnd> end =
      DecodeSegmentImage(image, start, newest, max_payload, [&](const LogRecord& r) {
        out.records.push_back({r.lsn, r.type, {r.payload.begin(), r.payload.end()}});
      });
  if (end.ok()) {
    out.end = *end;
  } else {
    out.status = end.status();
  }
  return out;
}

using testing_wal::Contains;

TEST(LogFormatTest, SegmentFileNames) {
  EXPECT_EQ(lf::SegmentFileName(0), "0000000000000000.log");
  EXPECT_EQ(lf::SegmentFileName(0x1234abcd0), "00000001234abcd0.log");
  EXPECT_EQ(lf::ParseSegmentFileName("00000001234abcd0.log"), Lsn{0x1234abcd0});
  EXPECT_EQ(lf::ParseSegmentFileName("00000001234ABCD0.log"), std::nullopt);
  EXPECT_EQ(lf::ParseSegmentFileName("0000000001234abcd0.log"), std::nullopt);
  EXPECT_EQ(lf::ParseSegmentFileName("00000001234abcd0.tmp"), std::nullopt);
  EXPECT_EQ(lf::ParseSegmentFileName("LOCK"), std::nullopt);
}

TEST(LogFormatTest, FramedSizeIsHeaderPayloadAndPadding) {
  EXPECT_EQ(lf::FramedSize(0), 32u);
  EXPECT_EQ(lf::FramedSize(4), 32u);
  EXPECT_EQ(lf::FramedSize(5), 40u);
  EXPECT_EQ(lf::FramedSize(100), 128u);
  EXPECT_EQ(lf::FramedSize(lf::kMaxPayloadHardLimit), (uint64_t{1} << 30) + 32);
}

TEST(LogFormatTest, SegmentHeaderLayout) {
  std::vector<std::byte> header(lf::kSegmentHeaderSize);
  lf::EncodeSegmentHeader(4096, header);
  EXPECT_EQ(std::memcmp(header.data(), "mvdbwal\0", 8), 0);
  EXPECT_EQ(DecodeFixed32(header.data() + 8), 1u);
  EXPECT_EQ(DecodeFixed64(header.data() + 16), 4096u);
  EXPECT_EQ(DecodeFixed32(header.data() + 28), crc32c::Value(std::span(header).first(28)));
}

TEST(LogFormatTest, RecordLayoutAndChecksumCoverage) {
  std::vector<std::byte> rec;
  lf::AppendUnsealedRecord(64, 9, Payload(5, 1), &rec);
  ASSERT_EQ(rec.size(), 40u);
  EXPECT_EQ(lf::SealRecord(rec, 56), 40u);
  EXPECT_EQ(DecodeFixed32(rec.data() + 4), 5u);
  EXPECT_EQ(static_cast<uint8_t>(rec[8]), 9u);
  EXPECT_EQ(DecodeFixed64(rec.data() + 12), 64u);
  EXPECT_EQ(DecodeFixed64(rec.data() + 20), 56u);
  // The checksum covers everything after it, padding included.
  EXPECT_EQ(DecodeFixed32(rec.data()), crc32c::Value(std::span(rec).subspan(4)));
  for (size_t i = 33; i < 40; ++i) EXPECT_EQ(rec[i], std::byte{0}) << "padding is zero";
}

TEST(LogFormatTest, EmptySegmentEndsAtItsStart) {
  Image image(800);
  Decoded d = Decode(image.bytes(), 800, /*newest=*/false);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_TRUE(d.records.empty());
  EXPECT_EQ(d.end.end_lsn, 800u);
  EXPECT_EQ(d.end.valid_size, 32u);
  EXPECT_TRUE(d.end.header_valid);
  EXPECT_EQ(d.end.torn_reason, "");
}

TEST(LogFormatTest, RecordsRoundTripWithContiguousLsns) {
  const std::vector<size_t> sizes = {0, 1, 7, 8, 27, 28, 100, 5000};
  Image image(1 << 20);
  for (size_t i = 0; i < sizes.size(); ++i) image.Add(Payload(sizes[i], i), std::nullopt, 1 + i);
  Decoded d = Decode(image.bytes(), 1 << 20, /*newest=*/false);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  ASSERT_EQ(d.records.size(), sizes.size());
  Lsn expect = 1 << 20;
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(d.records[i].lsn, expect);
    EXPECT_EQ(d.records[i].type, 1 + i);
    EXPECT_EQ(d.records[i].payload, Payload(sizes[i], i));
    expect += lf::FramedSize(sizes[i]);
  }
  EXPECT_EQ(d.end.end_lsn, expect);
  EXPECT_EQ(d.end.valid_size, image.bytes().size());
}

TEST(LogFormatTest, TruncationInsideTheLastRecordIsATornTailOnlyInTheNewestSegment) {
  Image image(0);
  image.Add(Payload(40, 1));
  image.Add(Payload(0, 2));
  const uint64_t last = image.Add(Payload(61, 3));
  for (uint64_t cut = last + 1; cut < image.bytes().size(); ++cut) {
    SCOPED_TRACE("cut=" + std::to_string(cut));
    std::span<const std::byte> cut_image = std::span(image.bytes()).first(cut);
    Decoded d = Decode(cut_image, 0, /*newest=*/true);
    ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    EXPECT_EQ(d.records.size(), 2u);
    EXPECT_EQ(d.end.end_lsn, image.LsnAt(last));
    EXPECT_EQ(d.end.valid_size, last);
    EXPECT_NE(d.end.torn_reason, "");

    Decoded old = Decode(cut_image, 0, /*newest=*/false);
    EXPECT_TRUE(old.status.IsCorruption()) << old.status.ToString();
    EXPECT_TRUE(Contains(old.status, "offset " + std::to_string(last))) << old.status.ToString();
  }
}

TEST(LogFormatTest, TornSegmentHeader) {
  Image image(4096);
  for (uint64_t cut = 0; cut < lf::kSegmentHeaderSize; ++cut) {
    SCOPED_TRACE("cut=" + std::to_string(cut));
    Decoded d = Decode(std::span(image.bytes()).first(cut), 4096, /*newest=*/true);
    ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    EXPECT_TRUE(d.records.empty());
    EXPECT_FALSE(d.end.header_valid);
    EXPECT_EQ(d.end.valid_size, 0u);
    EXPECT_EQ(d.end.end_lsn, 4096u);
    EXPECT_TRUE(Decode(std::span(image.bytes()).first(cut), 4096, false).status.IsCorruption());
  }
}

TEST(LogFormatTest, DamagedHeaderFollowedByARecordIsCorruption) {
  Image image(0);
  image.Add(Payload(10, 1));
  image.bytes()[3] ^= std::byte{0x40};
  Decoded d = Decode(image.bytes(), 0, /*newest=*/true);
  EXPECT_TRUE(d.status.IsCorruption()) << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "offset 0")) << d.status.ToString();
}

TEST(LogFormatTest, HeaderThatDisagreesWithItsNameIsCorruption) {
  Image image(4096);
  Decoded d = Decode(image.bytes(), 8192, /*newest=*/true);
  EXPECT_TRUE(d.status.IsCorruption()) << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "file name")) << d.status.ToString();
}

TEST(LogFormatTest, LaterFormatVersionIsNotSupported) {
  Image image(0);
  EncodeFixed32(image.bytes().data() + lf::kVersionOffset, 2);
  EncodeFixed32(image.bytes().data() + lf::kHeaderCrcOffset,
                crc32c::Value(std::span(image.bytes()).first(lf::kHeaderCrcOffset)));
  Decoded d = Decode(image.bytes(), 0, /*newest=*/true);
  EXPECT_EQ(d.status.code(), StatusCode::kNotSupported) << d.status.ToString();
}

TEST(LogFormatTest, AnyFlippedByteOfTheLastRecordEndsTheLog) {
  Image image(0);
  image.Add(Payload(30, 1));
  const uint64_t last = image.Add(Payload(45, 2));
  for (uint64_t at = last; at < image.bytes().size(); ++at) {
    SCOPED_TRACE("at=" + std::to_string(at));
    std::vector<std::byte> bytes = image.bytes();
    bytes[at] ^= std::byte{0x01};
    Decoded d = Decode(bytes, 0, /*newest=*/true);
    ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    EXPECT_EQ(d.records.size(), 1u);
    EXPECT_EQ(d.end.valid_size, last);
  }
}

TEST(LogFormatTest, DamageBeforeARecordWrittenAfterItWasSyncedIsCorruption) {
  Image image(0);
  image.Add(Payload(30, 1));
  const uint64_t middle = image.Add(Payload(30, 2));
  const uint64_t after = image.bytes().size();
  // The third record was sealed when the log was durable through the
  // second one: the second was on stable storage before the third existed.
  image.Add(Payload(30, 3), image.LsnAt(after));
  image.bytes()[middle + lf::kRecordHeaderSize + 5] ^= std::byte{0x10};
  Decoded d = Decode(image.bytes(), 0, /*newest=*/true);
  EXPECT_TRUE(d.status.IsCorruption()) << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "segment image: offset " + std::to_string(middle)))
      << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "checksum mismatch")) << d.status.ToString();
}

TEST(LogFormatTest, ValidRecordsAfterABadOneAreDamageWhateverTheirSyncedLsn) {
  // Issue 11: the third record says the log was synced only through the
  // first (a `--sync off` or `normal` log looks like this), yet it is a
  // valid record at the position its LSN names after the bad second one.
  // A torn write is the end of what was written, so this is damage: a cut
  // here would silently destroy records that may have been acknowledged.
  Image image(0);
  const uint64_t first = image.Add(Payload(30, 1));
  const uint64_t middle = image.Add(Payload(30, 2), image.LsnAt(first));
  const uint64_t third = image.Add(Payload(30, 3), image.LsnAt(middle));
  image.Add(Payload(30, 4), image.LsnAt(middle));
  image.bytes()[middle + lf::kRecordHeaderSize + 5] ^= std::byte{0x10};
  Decoded d = Decode(image.bytes(), 0, /*newest=*/true);
  ASSERT_TRUE(d.status.IsCorruption()) << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "segment image: offset " + std::to_string(middle)))
      << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "checksum mismatch")) << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "2 valid records follow")) << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "from offset " + std::to_string(third))) << d.status.ToString();
  EXPECT_TRUE(Contains(d.status, "lost power")) << d.status.ToString();

  MemorySegmentSource source(image.bytes());
  SegmentDecoder decoder(&source, "segment image", 0, /*is_newest=*/true);
  LogRecord record;
  ASSERT_TRUE(decoder.Next(&record).ok());
  ASSERT_TRUE(decoder.Next(&record).status().IsCorruption());
  ASSERT_TRUE(decoder.damage().has_value());
  EXPECT_EQ(decoder.damage()->offset, middle);
  EXPECT_EQ(decoder.damage()->lsn, image.LsnAt(middle));
  EXPECT_EQ(decoder.damage()->valid_after, 2u);
  EXPECT_EQ(decoder.damage()->first_valid_lsn, image.LsnAt(third));
  EXPECT_EQ(decoder.damage()->last_valid_end_lsn, image.LsnAt(image.bytes().size()));
}

TEST(LogFormatTest, HalfARecordThenGarbageIsATornTail) {
  // What a crash in the middle of a write leaves: the head of a record,
  // then bytes that are not one (old contents, zeros, anything) and no
  // valid record at the position its own LSN names.
  Image image(0);
  image.Add(Payload(30, 1));
  const uint64_t last = image.Add(Payload(300, 2));
  image.bytes().resize(last + 100);
  std::mt19937_64 random(TestSeed());
  for (int i = 0; i < 4096; ++i) image.bytes().push_back(static_cast<std::byte>(random()));
  Decoded d = Decode(image.bytes(), 0, /*newest=*/true);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.end.valid_size, last);

  // A valid record that belongs elsewhere (its LSN names another position)
  // does not count as one that follows: copied bytes prove nothing.
  Image other(0);
  other.Add(Payload(30, 9));
  other.Add(Payload(30, 9));
  const std::vector<std::byte> copy(other.bytes().begin() + lf::kSegmentHeaderSize,
                                    other.bytes().end());
  image.bytes().resize(last + 104);
  image.bytes().insert(image.bytes().end(), copy.begin(), copy.end());
  Decoded shifted = Decode(image.bytes(), 0, /*newest=*/true);
  ASSERT_TRUE(shifted.status.ok()) << shifted.status.ToString();
  EXPECT_EQ(shifted.end.valid_size, last);
}

TEST(LogFormatTest, LengthAboveTheLimitIsRejectedBeforeReading) {
  Image image(0);
  const uint64_t big = image.Add(Payload(600, 1));
  Decoded newest = Decode(image.bytes(), 0, /*newest=*/true, /*max_payload=*/512);
  ASSERT_TRUE(newest.status.ok()) << newest.status.ToString();
  EXPECT_TRUE(newest.records.empty());
  EXPECT_NE(newest.end.torn_reason.find("exceeds the limit 512"), std::string::npos);
  Decoded old = Decode(image.bytes(), 0, /*newest=*/false, 512);
  EXPECT_TRUE(old.status.IsCorruption()) << old.status.ToString();
  EXPECT_TRUE(Contains(old.status, "offset " + std::to_string(big)));

  // A length larger than what the file holds is caught the same way.
  EncodeFixed32(image.bytes().data() + big + lf::kLengthOffset, 0x7fffffff);
  Decoded huge = Decode(image.bytes(), 0, /*newest=*/false);
  EXPECT_TRUE(Contains(huge.status, "exceeds the limit")) << huge.status.ToString();
  EncodeFixed32(image.bytes().data() + big + lf::kLengthOffset, 700);
  Decoded past = Decode(image.bytes(), 0, /*newest=*/false);
  EXPECT_TRUE(Contains(past.status, "run past the end of the file")) << past.status.ToString();
}

TEST(LogFormatTest, ValidChecksumButWrongFieldsIsStillABadRecord) {
  struct Case {
    const char* name;
    uint8_t type;
    std::optional<Lsn> lsn;
    std::optional<Lsn> synced;
    const char* reason;
  };
  const Case cases[] = {
      {"type 0", 0, std::nullopt, std::nullopt, "type 0"},
      {"wrong LSN", 5, Lsn{8}, std::nullopt, "position is LSN"},
      {"synced past itself", 5, std::nullopt, Lsn{4096}, "synced LSN"},
      {"synced before the segment", 5, std::nullopt, Lsn{0}, "synced LSN"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Image image(64);
    const uint64_t at = image.Add(Payload(3, 1), c.synced, c.type, c.lsn);
    Decoded d = Decode(image.bytes(), 64, /*newest=*/false);
    EXPECT_TRUE(d.status.IsCorruption()) << d.status.ToString();
    EXPECT_TRUE(Contains(d.status, "offset " + std::to_string(at))) << d.status.ToString();
    EXPECT_TRUE(Contains(d.status, c.reason)) << d.status.ToString();
  }
}

TEST(LogFormatTest, ZeroFilledTailIsATornTail) {
  Image image(0);
  image.Add(Payload(30, 1));
  const uint64_t end = image.bytes().size();
  image.bytes().resize(end + 4096);
  Decoded d = Decode(image.bytes(), 0, /*newest=*/true);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.end.valid_size, end);
}

// Mutated and random images: the decoder returns records that are
// contiguous and checksummed, or an error, and never reads out of bounds
// (ASan runs this too).
TEST(LogFormatTest, RandomDamageNeverCrashesAndKeepsInvariants) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 400; ++round) {
    Image image(8 * (rng() % 1000));
    const int records = static_cast<int>(rng() % 6);
    for (int i = 0; i < records; ++i) {
      Lsn synced = image.start() + (rng() % 2 == 0 ? 0 : image.bytes().size() - 32);
      image.Add(Payload(rng() % 300, rng()), synced);
    }
    std::vector<std::byte>& bytes = image.bytes();
    const int damage = static_cast<int>(rng() % 4);
    for (int i = 0; i < damage && !bytes.empty(); ++i) {
      bytes[rng() % bytes.size()] = static_cast<std::byte>(rng());
    }
    if (rng() % 3 == 0) bytes.resize(rng() % (bytes.size() + 1));
    for (bool newest : {true, false}) {
      Decoded d = Decode(bytes, image.start(), newest, 1 + rng() % 400);
      if (!d.status.ok()) continue;
      Lsn expect = image.start();
      for (const ReadRecord& r : d.records) {
        EXPECT_EQ(r.lsn, expect);
        expect += lf::FramedSize(r.payload.size());
      }
      EXPECT_EQ(d.end.end_lsn, expect);
      EXPECT_LE(d.end.valid_size, bytes.size());
      if (!newest) {
        EXPECT_EQ(d.end.valid_size, bytes.size());
      }
    }
  }
}

}  // namespace
}  // namespace mvdb
