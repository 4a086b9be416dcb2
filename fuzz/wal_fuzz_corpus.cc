// Writes the seed corpus of wal_reader_fuzz (fuzz/corpus/wal/): small
// segment images, valid and damaged in the ways log_format.md describes.
//
//   build-fuzz/bin/wal_fuzz_corpus fuzz/corpus/wal
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common/coding.h"
#include "io/file.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/wal.h"

namespace {

namespace lf = mvdb::log_format;
using Bytes = std::vector<std::byte>;

Bytes Payload(size_t n, int tag) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 7 + tag * 31) & 0xff);
  return out;
}

// A segment at `start` with records of `sizes`. With `each_synced`, each
// record says the log was synced through everything before it (one commit
// at a time); otherwise through nothing in this segment (one batch).
Bytes Segment(mvdb::Lsn start, const std::vector<size_t>& sizes, bool each_synced) {
  Bytes out(lf::kSegmentHeaderSize);
  lf::EncodeSegmentHeader(start, out);
  for (size_t i = 0; i < sizes.size(); ++i) {
    const size_t offset = out.size();
    const mvdb::Lsn lsn = start + offset - lf::kSegmentHeaderSize;
    lf::AppendUnsealedRecord(lsn, static_cast<uint8_t>(1 + i), Payload(sizes[i], i), &out);
    lf::SealRecord(std::span(out).subspan(offset), each_synced ? lsn : start);
  }
  return out;
}

bool Write(const std::string& dir, const std::string& name, const Bytes& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return out.good();
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  Bytes out(chars.size());
  for (size_t i = 0; i < chars.size(); ++i) out[i] = static_cast<std::byte>(chars[i]);
  return out;
}

// Segments as the writer makes them: a few commits over 1 KiB segments.
bool WriteRealSegments(const std::string& out_dir) {
  std::string tmp = "/tmp/mvdb-wal-corpus-XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) return false;
  bool ok = false;
  {
    std::unique_ptr<mvdb::FileSystem> fs = mvdb::NewPosixFileSystem();
    mvdb::WalOptions options;
    options.segment_size = 1024;
    mvdb::Result<std::unique_ptr<mvdb::Wal>> wal = mvdb::Wal::Open(fs.get(), tmp + "/wal", options);
    if (wal.ok()) {
      ok = true;
      for (size_t size : {0, 40, 300, 7, 600, 90, 90}) {
        ok &=
            (*wal)->Commit(3, Payload(size, static_cast<int>(size)), mvdb::Durability::kFull).ok();
      }
      ok &= (*wal)->Close().ok();
      mvdb::Result<std::vector<mvdb::SegmentFile>> segments =
          mvdb::ListSegments(fs.get(), tmp + "/wal");
      ok &= segments.ok() && segments->size() >= 2;
      if (ok) {
        ok &= Write(out_dir, "writer_first_segment", ReadFile(segments->front().path));
        ok &= Write(out_dir, "writer_last_segment", ReadFile(segments->back().path));
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  // The offset of the second record when the first has `first_size` bytes.
  auto second = [](size_t first_size) {
    return lf::kSegmentHeaderSize + lf::FramedSize(first_size);
  };
  bool ok = true;

  ok &= Write(dir, "empty_segment", Segment(0, {}, true));
  const Bytes three = Segment(4096, {0, 5, 40}, true);
  ok &= Write(dir, "three_records", three);
  ok &= Write(dir, "torn_tail", Bytes(three.begin(), three.end() - 20));
  ok &= Write(dir, "torn_header", Bytes(three.begin(), three.begin() + 20));

  Bytes damaged = Segment(8192, {10, 30, 10, 10}, true);
  damaged[second(10) + lf::kRecordHeaderSize + 3] ^= std::byte{0x01};
  ok &= Write(dir, "damaged_middle", damaged);

  Bytes unsynced = Segment(8192, {10, 30, 10, 10}, false);
  unsynced[second(10) + lf::kRecordHeaderSize + 3] ^= std::byte{0x01};
  ok &= Write(dir, "damaged_unsynced_batch", unsynced);

  Bytes long_length = Segment(0, {12, 12}, true);
  mvdb::EncodeFixed32(long_length.data() + second(12) + lf::kLengthOffset, 0x40000000);
  ok &= Write(dir, "length_past_end", long_length);

  Bytes zero_tail = Segment(64, {3, 17}, true);
  zero_tail.resize(zero_tail.size() + 96);
  ok &= Write(dir, "zero_tail", zero_tail);

  ok &= WriteRealSegments(dir);
  return ok ? 0 : 1;
}
