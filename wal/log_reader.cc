#include "wal/log_reader.h"

#include <algorithm>
#include <utility>

namespace mvdb {
namespace lf = log_format;

namespace {

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// A segment file read through one window of bytes that moves forward (and,
// for the rare backward look of a scan, back) as the decoder asks.
class FileSegmentSource final : public SegmentSource {
 public:
  FileSegmentSource(File* file, uint64_t size, size_t chunk)
      : file_(file), size_(size), chunk_(std::max<size_t>(chunk, lf::kRecordHeaderSize)) {}

  uint64_t size() const override { return size_; }

  Result<std::span<const std::byte>> Read(uint64_t offset, size_t n) override {
    if (offset >= window_offset_ && offset - window_offset_ <= window_size_ &&
        n <= window_size_ - (offset - window_offset_)) {
      return std::span<const std::byte>(buffer_.get() + (offset - window_offset_), n);
    }
    // The decoder asks only for bytes inside the file, whose size bounds n.
    const size_t len = static_cast<size_t>(std::min<uint64_t>(std::max(n, chunk_), size_ - offset));
    // Grow for a large record; give the memory back once records are small
    // again.
    if (capacity_ < len || capacity_ > 4 * std::max(len, chunk_)) {
      buffer_ = std::make_unique_for_overwrite<std::byte[]>(len);
      capacity_ = len;
    }
    window_size_ = 0;
    MVDB_RETURN_IF_ERROR(file_->ReadAt(offset, std::span<std::byte>(buffer_.get(), len)));
    window_offset_ = offset;
    window_size_ = len;
    return std::span<const std::byte>(buffer_.get(), n);
  }

 private:
  File* file_;
  uint64_t size_;
  size_t chunk_;
  std::unique_ptr<std::byte[]> buffer_;
  size_t capacity_ = 0;
  uint64_t window_offset_ = 0;
  size_t window_size_ = 0;
};

}  // namespace

Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir) {
  MVDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  std::vector<SegmentFile> segments;
  for (const std::string& name : names) {
    std::optional<Lsn> start = lf::ParseSegmentFileName(name);
    if (!start.has_value()) continue;
    SegmentFile segment{*start, JoinPath(dir, name), 0};
    if (*start % lf::kAlignment != 0 || *start > lf::kMaxLsn) {
      return Status::Corruption(segment.path +
                                ": the name is not a valid segment start LSN (a multiple of 8 "
                                "below 2^62)");
    }
    MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                          fs->Open(segment.path, OpenOptions{.read_only = true}));
    MVDB_ASSIGN_OR_RETURN(segment.size, file->Size());
    segments.push_back(std::move(segment));
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.start_lsn < b.start_lsn; });
  // Every segment but the newest is complete (it was synced before the next
  // one was created), so its size says where it ends.
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    const SegmentFile& a = segments[i];
    const SegmentFile& b = segments[i + 1];
    if (a.size < lf::kSegmentHeaderSize) {
      return Status::Corruption(a.path + ": " + std::to_string(a.size) +
                                " bytes, shorter than a segment header, but it is not the "
                                "newest segment");
    }
    const Lsn end = a.start_lsn + (a.size - lf::kSegmentHeaderSize);
    if (end < b.start_lsn) {
      return Status::Corruption(a.path + ": ends at LSN " + std::to_string(end) +
                                " but the next segment " + b.path + " starts at LSN " +
                                std::to_string(b.start_lsn) +
                                ": a segment is missing or truncated (a gap in the log)");
    }
    if (end > b.start_lsn) {
      return Status::Corruption(a.path + ": ends at LSN " + std::to_string(end) +
                                ", past the start of the next segment " + b.path + " (LSN " +
                                std::to_string(b.start_lsn) + ")");
    }
  }
  return segments;
}

struct LogReader::OpenSegment {
  std::unique_ptr<File> file;
  std::unique_ptr<FileSegmentSource> source;
  std::unique_ptr<SegmentDecoder> decoder;
};

LogReader::LogReader(FileSystem* fs, std::vector<SegmentFile> segments, size_t index, Lsn start_lsn,
                     const LogReaderOptions& options)
    : fs_(fs),
      segments_(std::move(segments)),
      index_(index),
      start_lsn_(start_lsn),
      options_(options) {}

LogReader::~LogReader() = default;

Result<std::unique_ptr<LogReader>> LogReader::Open(FileSystem* fs, const std::string& dir,
                                                   Lsn start_lsn, const LogReaderOptions& options) {
  MVDB_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(fs, dir));
  return Open(fs, std::move(segments), start_lsn, options);
}

Result<std::unique_ptr<LogReader>> LogReader::Open(FileSystem* fs,
                                                   std::vector<SegmentFile> segments, Lsn start_lsn,
                                                   const LogReaderOptions& options) {
  if (!segments.empty() && start_lsn < segments.front().start_lsn) {
    return Status::NotFound("LSN " + std::to_string(start_lsn) +
                            " is older than the oldest log segment " + segments.front().path +
                            ": its records were removed");
  }
  // The newest segment that starts at or before start_lsn holds it.
  size_t index = 0;
  while (index + 1 < segments.size() && segments[index + 1].start_lsn <= start_lsn) ++index;
  return std::unique_ptr<LogReader>(
      new LogReader(fs, std::move(segments), index, start_lsn, options));
}

Status LogReader::OpenSegmentAt(size_t index) {
  const SegmentFile& segment = segments_[index];
  auto open = std::make_unique<OpenSegment>();
  MVDB_ASSIGN_OR_RETURN(open->file, fs_->Open(segment.path, OpenOptions{.read_only = true}));
  MVDB_ASSIGN_OR_RETURN(uint64_t size, open->file->Size());
  open->source = std::make_unique<FileSegmentSource>(open->file.get(), size, options_.read_chunk);
  open->decoder =
      std::make_unique<SegmentDecoder>(open->source.get(), segment.path, segment.start_lsn,
                                       index + 1 == segments_.size(), options_.max_payload);
  current_ = std::move(open);
  return Status::OK();
}

Result<bool> LogReader::Next(LogRecord* record) {
  if (!error_.ok()) return error_;
  if (done_) return false;
  Result<bool> result = Advance(record);
  if (!result.ok()) {
    error_ = DescribeDamage(result.status());
    return error_;
  }
  if (!*result) {
    done_ = true;
  }
  return result;
}

// Completes a Corruption of the current segment with the valid records of
// every later segment: they are lost too if the log is cut at the damage.
Status LogReader::DescribeDamage(const Status& status) {
  if (!status.IsCorruption() || current_ == nullptr) return status;
  const std::optional<LogDamage>& found = current_->decoder->damage();
  if (!found.has_value()) return status;
  LogDamage damage = *found;
  uint64_t later_segments = 0;
  for (size_t i = index_ + 1; i < segments_.size(); ++i) {
    const SegmentFile& segment = segments_[i];
    MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                          fs_->Open(segment.path, OpenOptions{.read_only = true}));
    MVDB_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    FileSegmentSource source(file.get(), size, options_.read_chunk);
    SegmentDecoder decoder(&source, segment.path, segment.start_lsn, i + 1 == segments_.size(),
                           options_.max_payload);
    MVDB_ASSIGN_OR_RETURN(const ValidRun run, decoder.ScanValidRecords(lf::kSegmentHeaderSize));
    if (run.records == 0) continue;
    ++later_segments;
    damage.valid_after_in_later_segments += run.records;
    if (damage.first_valid_lsn == 0 && damage.valid_after == 0)
      damage.first_valid_lsn = run.first_lsn;
    damage.last_valid_end_lsn = run.last_end_lsn;
    damage.max_synced_lsn = std::max(damage.max_synced_lsn, run.max_synced_lsn);
  }
  damage_ = damage;
  if (later_segments == 0) return status;
  return Status::Corruption(std::string(status.message()) + "; and " +
                            std::to_string(damage.valid_after_in_later_segments) +
                            " valid records in " + std::to_string(later_segments) +
                            " later segment" + (later_segments == 1 ? "" : "s") + ", up to LSN " +
                            std::to_string(damage.last_valid_end_lsn));
}

Result<bool> LogReader::Advance(LogRecord* record) {
  if (segments_.empty()) {
    end_.lsn = start_lsn_;
    return false;
  }
  while (true) {
    if (current_ == nullptr) MVDB_RETURN_IF_ERROR(OpenSegmentAt(index_));
    MVDB_ASSIGN_OR_RETURN(bool more, current_->decoder->Next(record));
    if (more) {
      if (record->lsn >= start_lsn_) return true;
      if (record->lsn + lf::FramedSize(record->payload.size()) > start_lsn_) {
        return Status::InvalidArgument("LSN " + std::to_string(start_lsn_) +
                                       " is not the start of a record: the record at LSN " +
                                       std::to_string(record->lsn) + " in " +
                                       segments_[index_].path + " covers it");
      }
      continue;
    }
    const SegmentEnd& end = current_->decoder->end();
    const SegmentFile& segment = segments_[index_];
    if (index_ + 1 < segments_.size()) {
      const SegmentFile& next = segments_[index_ + 1];
      if (end.end_lsn != next.start_lsn) {
        return Status::Corruption(segment.path + ": ends at LSN " + std::to_string(end.end_lsn) +
                                  " but the next segment " + next.path + " starts at LSN " +
                                  std::to_string(next.start_lsn) + " (a gap in the log)");
      }
      ++index_;
      current_.reset();
      continue;
    }
    end_.lsn = end.end_lsn;
    end_.segment_path = segment.path;
    end_.valid_size = end.valid_size;
    end_.file_size = current_->source->size();
    end_.header_valid = end.header_valid;
    end_.torn_reason = end.torn_reason;
    if (start_lsn_ > end_.lsn) {
      return Status::InvalidArgument("LSN " + std::to_string(start_lsn_) +
                                     " is past the end of the log (LSN " +
                                     std::to_string(end_.lsn) + ", in " + segment.path + ")");
    }
    return false;
  }
}

}  // namespace mvdb
