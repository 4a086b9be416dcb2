// LogReader: the records of a write-ahead log directory, in LSN order.
//
// A log is a directory of segment files named by the LSN of their first
// record (wal/log_format.md). The reader lists them, starts at the segment
// that holds the requested LSN and hands out every record from there to the
// end of the log, checking each against the rules of log_format.md as it
// goes: a bad record in an older segment, a gap between segments, or bad
// bytes in the newest segment that valid records follow is Corruption
// naming the file, the offset and how many valid records follow (damage()
// says the same in fields); a torn tail of the newest segment is the end of
// the log, and end() says where it is and why.
//
// Memory: one read window per reader, of LogReaderOptions::read_chunk bytes
// or one record if that is larger (at most the record's size, which is
// checked against the file's size before anything is allocated).
//
// A reader reads what the files hold when it gets there. It is meant for
// recovery, before a Wal opens the directory, and for checks; reading a log
// that a Wal is appending to sees a prefix of it (a record being written
// reads as a torn tail), and RemoveSegmentsBefore may remove a segment
// before the reader reaches it (NotFound).
//
// Threading: one thread at a time per reader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/file.h"
#include "mvdb/status.h"
#include "wal/log_format.h"

namespace mvdb {

struct SegmentFile {
  Lsn start_lsn = 0;
  std::string path;
  uint64_t size = 0;  // when it was listed
};

// The segment files of `dir`, oldest first. Other files are ignored.
// Corruption when a segment file name is not a multiple of 8, or when a
// segment other than the newest does not end exactly where the next one
// starts (a missing or truncated segment: a gap in the LSNs).
Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& dir);

struct LogReaderOptions {
  // Longer payloads are invalid records (clamped to the hard limit).
  uint32_t max_payload = log_format::kMaxPayloadHardLimit;
  // Bytes read from a segment file at a time.
  size_t read_chunk = size_t{1} << 20;
};

// Where the log ends, known once LogReader::Next has returned false.
struct LogEnd {
  Lsn lsn = 0;                // the LSN the next record will have
  std::string segment_path;   // the newest segment; "" when the log has none
  uint64_t valid_size = 0;    // its bytes that hold its header and valid records
  uint64_t file_size = 0;     // its size; more than valid_size after a torn write
  bool header_valid = false;  // false: the newest segment's own header is torn
  std::string torn_reason;    // why the bytes after valid_size are not a record
};

class LogReader {
 public:
  // A reader of the records with LSN >= start_lsn. NotFound when start_lsn
  // is older than the oldest segment (its records were removed). An empty
  // directory is an empty log, whose end is start_lsn.
  static Result<std::unique_ptr<LogReader>> Open(FileSystem* fs, const std::string& dir,
                                                 Lsn start_lsn,
                                                 const LogReaderOptions& options = {});
  // The same over segments listed by ListSegments.
  static Result<std::unique_ptr<LogReader>> Open(FileSystem* fs, std::vector<SegmentFile> segments,
                                                 Lsn start_lsn,
                                                 const LogReaderOptions& options = {});
  ~LogReader();
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // The next record into *record (its payload view lives until the next
  // call), or false at the end of the log. Errors: Corruption naming the
  // file and offset; InvalidArgument when start_lsn is not the LSN of a
  // record or lies past the end of the log; the file system's errors. After
  // false or an error, later calls return the same.
  Result<bool> Next(LogRecord* record);

  // REQUIRES: Next returned false.
  const LogEnd& end() const { return end_; }

  // Where the log is damaged, once Next returned a Corruption that names a
  // place in a segment (a bad record or header; not a gap between
  // segments). Its valid_after_in_later_segments counts the valid records
  // of every later segment, which the message of that Corruption states.
  const std::optional<LogDamage>& damage() const { return damage_; }

 private:
  struct OpenSegment;

  LogReader(FileSystem* fs, std::vector<SegmentFile> segments, size_t index, Lsn start_lsn,
            const LogReaderOptions& options);
  Result<bool> Advance(LogRecord* record);
  Status OpenSegmentAt(size_t index);
  Status DescribeDamage(const Status& status);

  FileSystem* fs_;
  std::vector<SegmentFile> segments_;
  size_t index_;  // of the segment being read
  Lsn start_lsn_;
  LogReaderOptions options_;
  std::unique_ptr<OpenSegment> current_;
  bool done_ = false;
  Status error_;
  LogEnd end_;
  std::optional<LogDamage> damage_;
};

}  // namespace mvdb
