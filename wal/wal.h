// Wal: the writer of the write-ahead log. It recovers the end of the log
// when it opens, appends records, makes them durable with group commit
// under three durability modes, switches and removes segment files, and
// stops acknowledging anything after the first failed write or fsync.
//
// The bytes are described in wal/log_format.md; the protocol that keeps
// concurrent committers, the leader doing I/O and the background syncer
// apart is the essay at the top of wal/wal.cc.
//
// Durability of a commit (Commit's `durability`):
//   kFull    returns once the record is written and fdatasync'ed: it
//            survives a process crash and a power loss. Concurrent kFull
//            committers share one write and one fdatasync (group commit).
//   kNormal  returns once the record is written, i.e. handed to the kernel:
//            it survives a process crash. A background thread fdatasyncs it
//            within WalOptions::sync_interval (plus the duration of at most
//            two fdatasyncs), so a power loss or kernel crash loses at most
//            the kNormal commits of that window, never a kFull one.
//   kOff     returns once the record is written; only an explicit Sync, a
//            segment switch, Close, or a later kFull commit fdatasyncs it. A
//            power loss may lose any number of such commits (but never
//            leaves a hole: the log that survives is a prefix).
//
// Failure is sticky. When a write or fdatasync fails, the log enters a
// failed state: that call and every later Append, Write, Sync, SyncAll,
// Commit and RemoveSegmentsBefore return
//   IOError("write-ahead log failed: <first error>; no further commits are
//            acknowledged; reopen the database to recover").
// Retrying is unsound: on Linux a failed fsync reports the error once and
// may leave the failed pages marked clean, so a second fsync can succeed
// without the data ever reaching the disk (PostgreSQL lost data this way
// and switched to panicking on fsync failure in 2018). Reopening recovers:
// Open reads the log back from the files, so it trusts only what the disk
// actually holds.
//
// Threading: every method may be called from any thread, concurrently,
// except that Close (and the destructor) must not race with other calls.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "io/file.h"
#include "mvdb/status.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"

namespace mvdb {

enum class Durability : uint8_t { kFull, kNormal, kOff };

// "full", "normal", "off".
std::string_view DurabilityName(Durability durability);
// The inverse of DurabilityName; nullopt for anything else.
std::optional<Durability> ParseDurability(std::string_view name);

struct WalOptions {
  // A record that does not fit in the current segment starts a new one; a
  // record larger than this gets a segment of its own. At least 256.
  uint64_t segment_size = uint64_t{64} << 20;
  // Largest payload Append accepts (at most kMaxPayloadHardLimit).
  uint32_t max_payload = log_format::kMaxPayloadHardLimit;
  // The bound on how long a kNormal commit stays unsynced.
  std::chrono::milliseconds sync_interval{100};
  // Append writes the buffered records out once they exceed this many
  // bytes, so an appender that never commits cannot grow memory unbounded.
  size_t buffer_limit = size_t{8} << 20;
  // Group commit: before a round that fdatasyncs, the leader waits up to
  // this long (and never more than half the last fdatasync took) for more
  // records, when more than one kFull committer waited at once since the
  // last round: in a steady stream, the committers the last round released
  // append again within microseconds, and waiting for them roughly doubles
  // the records per fdatasync (without it, committers split into two
  // alternating groups). 0 disables the wait; a lone committer never waits.
  std::chrono::microseconds group_commit_wait{200};
  // The LSN of the first record of a log created by Open (a multiple of 8).
  // Lets a database whose log directory was lost start past the LSNs its
  // checkpoint already covers.
  Lsn initial_lsn = 0;
};

struct WalStats {
  Lsn next_lsn = 0;               // the LSN the next record gets
  Lsn written_lsn = 0;            // every record before it is in the kernel
  Lsn durable_lsn = 0;            // every record before it is on stable storage
  uint64_t records = 0;           // appended since Open
  uint64_t payload_bytes = 0;     // their payloads
  uint64_t bytes_appended = 0;    // their framed size (headers, padding)
  uint64_t writes = 0;            // WriteAt calls of record bytes
  uint64_t rounds = 0;            // leader rounds (each: one write per segment, one fsync)
  uint64_t fsyncs = 0;            // fdatasyncs of segment files, for any reason
  uint64_t background_syncs = 0;  // of them, by the kNormal background thread
  uint64_t dir_syncs = 0;         // fsyncs of the log directory
  uint64_t durable_records = 0;   // records made durable by those fsyncs
  uint64_t max_group = 0;         // most records one leader round made durable
  uint64_t segments = 0;          // segment files now
  uint64_t segments_created = 0;  // since Open
  uint64_t segments_removed = 0;  // since Open

  // Group commit at work: records made durable per fsync.
  double RecordsPerFsync() const {
    return fsyncs == 0 ? 0.0 : static_cast<double>(durable_records) / static_cast<double>(fsyncs);
  }
};

class Wal {
 public:
  // Opens the log in `dir` (created if missing, not its parents), finding
  // its end with LogReader. A torn tail of the newest segment is truncated
  // (and a torn segment header rewritten) and that is made durable before
  // anything is appended, so new records never follow garbage; a line at
  // warning level says what was cut. Corruption, changing nothing, if the
  // log is damaged (bad bytes that valid records follow: log_format.md).
  // Only the newest segment is read: older ones are
  // checked by whoever reads them (recovery reads from its checkpoint on).
  // `fs` must outlive the Wal.
  static Result<std::unique_ptr<Wal>> Open(FileSystem* fs, const std::string& dir,
                                           const WalOptions& options = {});

  // Close()s, logging an error it returns.
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Copies a record into the log's memory buffer and returns its LSN; does
  // no I/O unless the buffer is over WalOptions::buffer_limit. `type` must
  // not be kInvalidType; the payload must fit max_payload (InvalidArgument).
  Result<Lsn> Append(uint8_t type, std::span<const std::byte> payload);

  // Append, then wait as `durability` says (see the top of this file).
  Result<Lsn> Commit(uint8_t type, std::span<const std::byte> payload, Durability durability);

  // Returns once the record at `lsn`, and every one before it, is written
  // to the kernel (Write) or fdatasync'ed (Sync). `lsn` must be the LSN of
  // an appended record (InvalidArgument otherwise).
  Status Write(Lsn lsn);
  Status Sync(Lsn lsn);
  // Makes every record appended so far durable.
  Status SyncAll();

  // Deletes the segment files whose records all lie before `lsn` (a
  // checkpoint that needs nothing older calls it), oldest first, never the
  // newest segment, then syncs the directory. A failure here is not sticky.
  Status RemoveSegmentsBefore(Lsn lsn);

  // Writes and fdatasyncs everything appended, stops the background
  // thread, closes the files. Returns the sticky failure if there is one.
  // Later calls of any other method return InvalidArgument. Idempotent.
  Status Close();

  // OK, or the sticky failure.
  Status health() const;
  Lsn next_lsn() const;
  Lsn durable_lsn() const;
  // The start of the oldest segment: reading from an older LSN is NotFound.
  Lsn oldest_lsn() const;
  // What Open found: where the log ended and what it cut.
  const LogEnd& opened_end() const { return opened_end_; }
  const std::string& dir() const { return dir_; }
  WalStats stats() const;

 private:
  Wal(FileSystem* fs, std::string dir, const WalOptions& options);

  Status Recover();
  Status CreateSegment(Lsn start_lsn, std::unique_ptr<File>* file);
  Status CheckUsable() const;
  Status CheckRecord(uint8_t type, std::span<const std::byte> payload) const;
  Result<Lsn> AppendLocked(std::unique_lock<std::mutex>& lock, uint8_t type,
                           std::span<const std::byte> payload);
  void GatherGroup(std::unique_lock<std::mutex>& lock);
  Status WaitFor(std::unique_lock<std::mutex>& lock, Lsn lsn, bool durable);
  Status RunRound(std::unique_lock<std::mutex>& lock, bool want_sync);
  Status SwitchSegment(std::unique_lock<std::mutex>& lock, Lsn start_lsn);
  Status SyncFile();
  void Fail(const Status& cause);
  void BackgroundSync();

  FileSystem* const fs_;
  const std::string dir_;
  const WalOptions options_;
  LogEnd opened_end_;  // set by Open, then constant

  mutable std::mutex mu_;
  std::condition_variable io_done_;          // a leader finished a round
  std::condition_variable background_wake_;  // work or stop for BackgroundSync
  std::condition_variable gather_cv_;        // a record arrived while gathering

  // Guarded by mu_ (the essay in wal.cc numbers their invariants).
  std::vector<std::byte> buffer_;      // unsealed records [buffer_lsn_, next_lsn_)
  uint64_t buffer_records_ = 0;        // how many
  std::vector<Lsn> pending_switches_;  // LSNs in the buffer that start a segment
  Lsn tail_segment_start_ = 0;         // start of the segment that next_lsn_ goes into
  Lsn next_lsn_ = 0;
  Lsn buffer_lsn_ = 0;
  Lsn written_lsn_ = 0;
  Lsn durable_lsn_ = 0;
  Lsn sync_requested_ = 0;   // some waiter needs durable_lsn_ >= this
  Lsn normal_unsynced_ = 0;  // kNormal commits need durable_lsn_ >= this
  uint64_t written_records_ = 0;
  uint64_t durable_records_ = 0;
  std::vector<SegmentFile> segments_;  // existing segment files, oldest first
  bool io_busy_ = false;               // a leader is doing I/O (or gathering)
  bool gathering_ = false;             // the leader waits in GatherGroup
  uint64_t full_waiters_ = 0;          // kFull committers in Commit now
  uint64_t peak_full_waiters_ = 0;     // most of them at once since the last round
  std::chrono::nanoseconds last_fsync_time_{0};
  bool closed_ = false;
  bool stopping_ = false;
  bool close_done_ = false;
  Status failed_;
  Status close_status_;

  // Owned by the thread that set io_busy_ (the leader); see invariant 2.
  std::vector<std::byte> batch_;
  std::unique_ptr<File> file_;  // the newest segment
  Lsn file_start_ = 0;

  // Counters that the leader bumps without mu_.
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> payload_bytes_{0};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> fsyncs_{0};
  std::atomic<uint64_t> background_syncs_{0};
  std::atomic<uint64_t> dir_syncs_{0};
  std::atomic<uint64_t> max_group_{0};
  std::atomic<uint64_t> segments_created_{0};
  std::atomic<uint64_t> segments_removed_{0};

  std::mutex remove_mu_;  // serialises RemoveSegmentsBefore; taken before mu_
  std::thread background_;
};

}  // namespace mvdb
