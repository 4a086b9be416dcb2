// The write-ahead log's writer: group commit, durability modes, segment
// switches and sticky failure.
//
// Who does what. Committers (any thread) call Append, which copies the
// record into buffer_ under mu_, and then wait for it to be written or
// made durable. Whoever waits while no I/O is in progress becomes the
// leader: it takes every buffered record, writes them with one WriteAt per
// segment and, if anyone needs it, one fdatasync, then wakes the others.
// Committers that arrive while a leader is busy form the next group; one of
// them leads it. A background thread is one more such waiter, for kNormal
// commits. Invariants, and why they hold:
//
//   1. Buffer order is LSN order. Append assigns the LSN (next_lsn_) and
//      copies the record in the same critical section, so buffer_ holds
//      exactly the records [buffer_lsn_, next_lsn_), contiguous.
//   2. One leader at a time. The thread that sets io_busy_ (under mu_) is
//      the only one that touches batch_, file_ and file_start_, creates
//      segments or writes, until it clears io_busy_ (under mu_). Passing
//      io_busy_ through mu_ orders each round's I/O before the next's, so
//      records reach the files in LSN order, each byte once, with no hole.
//   3. durable_lsn_ <= written_lsn_ <= buffer_lsn_ <= next_lsn_, all record
//      boundaries; written_lsn_ == buffer_lsn_ whenever no leader runs. A
//      leader takes [buffer_lsn_, next_lsn_) whole (swapping buffer_ with
//      its batch_) and raises written_lsn_ and durable_lsn_ only after the
//      write or fdatasync that justifies them. A commit is acknowledged only
//      once durable_lsn_ (kFull) or written_lsn_ (kNormal, kOff) is past its
//      LSN, so no acknowledgement precedes its I/O.
//   4. Records are sealed at write time: the leader stores the current
//      durable LSN in each record's synced-LSN field and checksums it just
//      before writing, so every byte before that LSN was fdatasync'ed before
//      the record reached the file. The reader states it when it reports
//      damage: it tells whether the bad bytes had certainly been synced
//      (log_format.md, "The end of the log").
//   5. Segments. Where a segment starts is decided in Append
//      (pending_switches_), from LSNs alone. The leader creates a segment
//      only after fdatasync'ing the previous one, and writes a record into
//      it only after its header is fdatasync'ed and the directory synced.
//      So every segment but the newest is complete and durable, and no
//      acknowledged record lives in a file whose name could vanish.
//   6. No I/O under mu_. Append only copies memory; a leader unlocks mu_
//      around every write and sync. A committer waits behind a disk only
//      when it asked to. Lock order: remove_mu_, then mu_.
//   7. Failure is sticky. The leader that sees an error sets failed_ under
//      mu_ before clearing io_busy_; it is never cleared. WaitFor checks it
//      before anything else and before leading, so after a failure no
//      commit is acknowledged and nothing more is written: the files keep
//      what the failed round left, for Open to judge.
//   8. Group commit. A waiter that needs durability raises sync_requested_;
//      a leader fdatasyncs when it or any waiter needs it. One write and one
//      fdatasync thus serve every record buffered when the round began.
//      Left at that, a steady stream of committers splits into two groups
//      that alternate (those a round releases append while the next round,
//      already started, does its I/O), so an fdatasync serves about half of
//      them. So a leader about to fdatasync first waits, briefly and with
//      mu_ released (GatherGroup), until as many records are buffered as
//      kFull committers were seen waiting at once; the wait is bounded by
//      WalOptions::group_commit_wait and by half the last fdatasync's time,
//      and a lone committer never waits. io_busy_ stays set meanwhile, so
//      invariant 2 holds.
#include "wal/wal.h"

#include <algorithm>

#include "common/logging.h"

namespace mvdb {

namespace {

// How often WaitFor looks again at a busy round before sleeping, with a
// pause of a few tens of nanoseconds between looks.
constexpr int kBusySpins = 64;

void SpinPause() {
  for (int i = 0; i < 16; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

}  // namespace
namespace lf = log_format;

namespace {

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string TrimTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

Status ValidateOptions(const WalOptions& options) {
  if (options.segment_size < 256 || options.segment_size > (uint64_t{1} << 40)) {
    return Status::InvalidArgument("WalOptions::segment_size must be in [256, 2^40]");
  }
  if (options.max_payload > lf::kMaxPayloadHardLimit) {
    return Status::InvalidArgument("WalOptions::max_payload exceeds the hard limit of 1 GiB");
  }
  if (options.sync_interval.count() <= 0) {
    return Status::InvalidArgument("WalOptions::sync_interval must be positive");
  }
  if (options.initial_lsn % lf::kAlignment != 0 || options.initial_lsn > lf::kMaxLsn) {
    return Status::InvalidArgument("WalOptions::initial_lsn must be a multiple of 8 below 2^62");
  }
  return Status::OK();
}

void RaiseMax(std::atomic<uint64_t>& max, uint64_t value) {
  uint64_t seen = max.load(std::memory_order_relaxed);
  while (value > seen && !max.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::string_view DurabilityName(Durability durability) {
  switch (durability) {
    case Durability::kFull:
      return "full";
    case Durability::kNormal:
      return "normal";
    case Durability::kOff:
      return "off";
  }
  return "unknown";
}

std::optional<Durability> ParseDurability(std::string_view name) {
  for (Durability d : {Durability::kFull, Durability::kNormal, Durability::kOff}) {
    if (name == DurabilityName(d)) return d;
  }
  return std::nullopt;
}

Wal::Wal(FileSystem* fs, std::string dir, const WalOptions& options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

Wal::~Wal() {
  Status s = Close();
  if (!s.ok()) Log(LogLevel::kError, "write-ahead log " + dir_ + " closed: " + s.ToString());
}

Result<std::unique_ptr<Wal>> Wal::Open(FileSystem* fs, const std::string& dir,
                                       const WalOptions& options) {
  MVDB_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<Wal> wal(new Wal(fs, TrimTrailingSlashes(dir), options));
  MVDB_RETURN_IF_ERROR(wal->Recover());
  wal->background_ = std::thread([w = wal.get()] { w->BackgroundSync(); });
  return wal;
}

Status Wal::CreateSegment(Lsn start_lsn, std::unique_ptr<File>* file) {
  const std::string path = dir_ + "/" + lf::SegmentFileName(start_lsn);
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> created,
                        fs_->Open(path, OpenOptions{.create = true}));
  // A file of that name can only be left over from outside this protocol;
  // a segment starts empty whatever it held.
  MVDB_ASSIGN_OR_RETURN(uint64_t size, created->Size());
  if (size != 0) MVDB_RETURN_IF_ERROR(created->Truncate(0));
  std::byte header[lf::kSegmentHeaderSize];
  lf::EncodeSegmentHeader(start_lsn, header);
  MVDB_RETURN_IF_ERROR(created->WriteAt(0, header));
  MVDB_RETURN_IF_ERROR(created->Sync());
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  MVDB_RETURN_IF_ERROR(fs_->SyncDir(dir_));  // invariant 5: the name is durable
  dir_syncs_.fetch_add(1, std::memory_order_relaxed);
  segments_created_.fetch_add(1, std::memory_order_relaxed);
  *file = std::move(created);
  return Status::OK();
}

// Runs before the Wal is shared (no other thread yet), so it takes no lock.
Status Wal::Recover() {
  MVDB_RETURN_IF_ERROR(fs_->CreateDir(dir_));
  // The log directory's own name must be durable before any commit is.
  MVDB_RETURN_IF_ERROR(fs_->SyncDir(ParentDir(dir_)));
  dir_syncs_.fetch_add(1, std::memory_order_relaxed);
  MVDB_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(fs_, dir_));

  Lsn end_lsn;
  if (segments.empty()) {
    end_lsn = options_.initial_lsn;
    MVDB_RETURN_IF_ERROR(CreateSegment(end_lsn, &file_));
    segments.push_back(
        {end_lsn, dir_ + "/" + lf::SegmentFileName(end_lsn), lf::kSegmentHeaderSize});
    opened_end_ = LogEnd{
        end_lsn, segments.back().path, lf::kSegmentHeaderSize, lf::kSegmentHeaderSize, true, ""};
  } else {
    const SegmentFile newest = segments.back();
    // Payloads up to the hard limit: a log written with a larger
    // max_payload than today's must still open.
    MVDB_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader,
                          LogReader::Open(fs_, segments, newest.start_lsn, LogReaderOptions{}));
    LogRecord record;
    while (true) {
      MVDB_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
      if (!more) break;
    }
    opened_end_ = reader->end();
    end_lsn = opened_end_.lsn;
    MVDB_ASSIGN_OR_RETURN(file_, fs_->Open(newest.path, OpenOptions{}));
    if (!opened_end_.header_valid) {
      Log(LogLevel::kWarning, "write-ahead log: the header of " + newest.path + " was torn (" +
                                  opened_end_.torn_reason + "); rewriting it");
      MVDB_RETURN_IF_ERROR(file_->Truncate(0));
      std::byte header[lf::kSegmentHeaderSize];
      lf::EncodeSegmentHeader(newest.start_lsn, header);
      MVDB_RETURN_IF_ERROR(file_->WriteAt(0, header));
    } else if (opened_end_.valid_size < opened_end_.file_size) {
      Log(LogLevel::kWarning, "write-ahead log: torn tail in " + newest.path + " at offset " +
                                  std::to_string(opened_end_.valid_size) + " (" +
                                  opened_end_.torn_reason + "); truncating " +
                                  std::to_string(opened_end_.file_size - opened_end_.valid_size) +
                                  " bytes");
      MVDB_RETURN_IF_ERROR(file_->Truncate(opened_end_.valid_size));
    }
    // Whatever an earlier process wrote without syncing, and the repair
    // above, become durable before anything builds on them. The directory
    // sync covers a crash between a segment's creation and its SyncDir.
    MVDB_RETURN_IF_ERROR(file_->Sync());
    fsyncs_.fetch_add(1, std::memory_order_relaxed);
    MVDB_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    dir_syncs_.fetch_add(1, std::memory_order_relaxed);
  }
  file_start_ = segments.back().start_lsn;
  tail_segment_start_ = file_start_;
  next_lsn_ = buffer_lsn_ = written_lsn_ = durable_lsn_ = end_lsn;
  segments_ = std::move(segments);
  return Status::OK();
}

Status Wal::CheckUsable() const {
  if (!failed_.ok()) return failed_;
  if (closed_) return Status::InvalidArgument("write-ahead log " + dir_ + " is closed");
  return Status::OK();
}

void Wal::Fail(const Status& cause) {
  if (!failed_.ok()) return;
  failed_ = Status::IOError("write-ahead log failed: " + std::string(cause.message()) +
                            "; no further commits are acknowledged; reopen the database to "
                            "recover");
  Log(LogLevel::kError, std::string(failed_.message()));
  background_wake_.notify_all();
}

Status Wal::CheckRecord(uint8_t type, std::span<const std::byte> payload) const {
  if (type == lf::kInvalidType) {
    return Status::InvalidArgument("log record type 0 is reserved as invalid");
  }
  if (payload.size() > options_.max_payload) {
    return Status::InvalidArgument("log record payload of " + std::to_string(payload.size()) +
                                   " bytes exceeds max_payload " +
                                   std::to_string(options_.max_payload));
  }
  return Status::OK();
}

Result<Lsn> Wal::AppendLocked(std::unique_lock<std::mutex>& lock, uint8_t type,
                              std::span<const std::byte> payload) {
  MVDB_RETURN_IF_ERROR(CheckUsable());
  const uint64_t framed = lf::FramedSize(payload.size());
  const Lsn lsn = next_lsn_;
  if (lsn + framed > lf::kMaxLsn) return Status::InvalidArgument("the log's LSNs are exhausted");
  // Invariant 5: a record that does not fit starts a segment, unless the
  // segment is still empty (then the segment grows past the nominal size).
  const uint64_t used = lf::kSegmentHeaderSize + (lsn - tail_segment_start_);
  if (lsn != tail_segment_start_ && used + framed > options_.segment_size) {
    pending_switches_.push_back(lsn);
    tail_segment_start_ = lsn;
  }
  lf::AppendUnsealedRecord(lsn, type, payload, &buffer_);
  next_lsn_ = lsn + framed;
  ++buffer_records_;
  if (gathering_) gather_cv_.notify_one();
  records_.fetch_add(1, std::memory_order_relaxed);
  payload_bytes_.fetch_add(payload.size(), std::memory_order_relaxed);
  if (buffer_.size() > options_.buffer_limit) {
    MVDB_RETURN_IF_ERROR(WaitFor(lock, lsn, /*durable=*/false));
  }
  return lsn;
}

Result<Lsn> Wal::Append(uint8_t type, std::span<const std::byte> payload) {
  MVDB_RETURN_IF_ERROR(CheckRecord(type, payload));
  std::unique_lock<std::mutex> lock(mu_);
  return AppendLocked(lock, type, payload);
}

Result<Lsn> Wal::Commit(uint8_t type, std::span<const std::byte> payload, Durability durability) {
  MVDB_RETURN_IF_ERROR(CheckRecord(type, payload));
  std::unique_lock<std::mutex> lock(mu_);
  MVDB_ASSIGN_OR_RETURN(Lsn lsn, AppendLocked(lock, type, payload));
  switch (durability) {
    case Durability::kFull: {
      ++full_waiters_;
      peak_full_waiters_ = std::max(peak_full_waiters_, full_waiters_);
      Status s = WaitFor(lock, lsn, /*durable=*/true);
      --full_waiters_;
      MVDB_RETURN_IF_ERROR(s);
      break;
    }
    case Durability::kNormal:
      MVDB_RETURN_IF_ERROR(WaitFor(lock, lsn, /*durable=*/false));
      if (lsn >= normal_unsynced_) {
        normal_unsynced_ = lsn + 1;
        background_wake_.notify_one();
      }
      break;
    case Durability::kOff:
      MVDB_RETURN_IF_ERROR(WaitFor(lock, lsn, /*durable=*/false));
      break;
  }
  return lsn;
}

Status Wal::Write(Lsn lsn) {
  std::unique_lock<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckUsable());
  if (lsn >= next_lsn_) {
    return Status::InvalidArgument("LSN " + std::to_string(lsn) + " has not been appended");
  }
  return WaitFor(lock, lsn, /*durable=*/false);
}

Status Wal::Sync(Lsn lsn) {
  std::unique_lock<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckUsable());
  if (lsn >= next_lsn_) {
    return Status::InvalidArgument("LSN " + std::to_string(lsn) + " has not been appended");
  }
  return WaitFor(lock, lsn, /*durable=*/true);
}

Status Wal::SyncAll() {
  std::unique_lock<std::mutex> lock(mu_);
  MVDB_RETURN_IF_ERROR(CheckUsable());
  if (durable_lsn_ == next_lsn_) return Status::OK();
  return WaitFor(lock, next_lsn_ - 1, /*durable=*/true);
}

Status Wal::WaitFor(std::unique_lock<std::mutex>& lock, Lsn lsn, bool durable) {
  if (durable) sync_requested_ = std::max(sync_requested_, lsn + 1);
  while (true) {
    if (!failed_.ok()) return failed_;  // invariant 7: checked first
    if ((durable ? durable_lsn_ : written_lsn_) > lsn) return Status::OK();
    if (io_busy_) {
      // A round that only writes to the kernel ends within a microsecond or
      // two; sleeping on io_done_ and being woken costs more than that, so
      // look again a few times before sleeping (not for a durable wait,
      // which an fsync round makes long).
      for (int spin = 0; !durable && spin < kBusySpins && io_busy_; ++spin) {
        lock.unlock();
        SpinPause();
        lock.lock();
      }
      if (io_busy_) io_done_.wait(lock);
      continue;
    }
    io_busy_ = true;
    if (durable) GatherGroup(lock);
    Status s = RunRound(lock, durable);
    io_busy_ = false;
    io_done_.notify_all();
    if (!s.ok()) return failed_;
  }
}

void Wal::GatherGroup(std::unique_lock<std::mutex>& lock) {
  // How many kFull committers waited at once since the last round: in a
  // steady stream, those the last round released are about to append again.
  const uint64_t expected = peak_full_waiters_;
  peak_full_waiters_ = full_waiters_;
  const auto cap =
      std::min<std::chrono::nanoseconds>(options_.group_commit_wait, last_fsync_time_ / 2);
  if (expected <= 1 || cap.count() <= 0 || buffer_records_ >= expected) return;
  gathering_ = true;
  const auto deadline = std::chrono::steady_clock::now() + cap;
  while (buffer_records_ < expected) {
    if (gather_cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  gathering_ = false;
}

Status Wal::SyncFile() {
  MVDB_RETURN_IF_ERROR(file_->Sync());
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

Status Wal::SwitchSegment(std::unique_lock<std::mutex>& lock, Lsn start_lsn) {
  MVDB_RETURN_IF_ERROR(SyncFile());  // invariant 5: the old segment is complete
  std::unique_ptr<File> file;
  MVDB_RETURN_IF_ERROR(CreateSegment(start_lsn, &file));
  file_ = std::move(file);
  file_start_ = start_lsn;
  lock.lock();
  segments_.push_back(
      {start_lsn, dir_ + "/" + lf::SegmentFileName(start_lsn), lf::kSegmentHeaderSize});
  lock.unlock();
  return Status::OK();
}

// REQUIRES: `lock` holds mu_ and this thread set io_busy_. Returns with mu_
// held again.
Status Wal::RunRound(std::unique_lock<std::mutex>& lock, bool want_sync) {
  const Lsn start = buffer_lsn_;
  const Lsn end = next_lsn_;
  batch_.swap(buffer_);
  buffer_records_ = 0;
  std::vector<Lsn> switches;
  switches.swap(pending_switches_);
  buffer_lsn_ = end;
  const bool sync = want_sync || sync_requested_ > durable_lsn_;
  Lsn durable = durable_lsn_;
  const uint64_t durable_records_before = durable_records_;
  const uint64_t records_before = written_records_;
  uint64_t records_synced = durable_records_before;
  lock.unlock();
  rounds_.fetch_add(1, std::memory_order_relaxed);

  Status s;
  Lsn lsn = start;
  size_t pos = 0;
  size_t next_switch = 0;
  uint64_t records_written = records_before;
  while (s.ok() && lsn < end) {
    if (next_switch < switches.size() && switches[next_switch] == lsn) {
      s = SwitchSegment(lock, lsn);
      if (s.ok()) {
        durable = lsn;  // the old segment, and all before it, was synced
        records_synced = records_written;
      }
      ++next_switch;
      continue;
    }
    const Lsn piece_end = next_switch < switches.size() ? switches[next_switch] : end;
    std::span<std::byte> piece(batch_.data() + pos, piece_end - lsn);
    uint64_t piece_records = 0;
    for (size_t p = 0; p < piece.size(); ++piece_records) {
      p += lf::SealRecord(piece.subspan(p), durable);
    }
    s = file_->WriteAt(lf::kSegmentHeaderSize + (lsn - file_start_), piece);
    writes_.fetch_add(1, std::memory_order_relaxed);
    if (s.ok()) {
      pos += piece.size();
      lsn = piece_end;
      records_written += piece_records;
    }
  }
  std::chrono::nanoseconds fsync_time{0};
  if (s.ok() && sync && durable < end) {
    const auto started = std::chrono::steady_clock::now();
    s = SyncFile();
    fsync_time = std::chrono::steady_clock::now() - started;
    if (s.ok()) {
      durable = end;
      records_synced = records_written;
    }
  }

  lock.lock();
  if (fsync_time.count() > 0) last_fsync_time_ = fsync_time;
  written_lsn_ = lsn;
  written_records_ = records_written;
  durable_lsn_ = durable;
  durable_records_ = std::max(durable_records_, records_synced);
  RaiseMax(max_group_, durable_records_ - durable_records_before);
  if (!s.ok()) Fail(s);
  batch_.clear();
  // A huge record leaves a huge buffer behind; give it back.
  if (batch_.capacity() > 2 * std::max<size_t>(options_.buffer_limit, size_t{1} << 20)) {
    batch_.shrink_to_fit();
  }
  return s;
}

void Wal::BackgroundSync() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    background_wake_.wait(
        lock, [this] { return stopping_ || (failed_.ok() && normal_unsynced_ > durable_lsn_); });
    if (stopping_) return;
    // The oldest unsynced kNormal commit is at most this old when the sync
    // below starts.
    background_wake_.wait_for(lock, options_.sync_interval, [this] { return stopping_; });
    if (stopping_) return;  // Close syncs everything itself
    if (!failed_.ok() || normal_unsynced_ <= durable_lsn_) continue;
    if (WaitFor(lock, normal_unsynced_ - 1, /*durable=*/true).ok()) {
      background_syncs_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

Status Wal::RemoveSegmentsBefore(Lsn lsn) {
  std::lock_guard<std::mutex> remove_lock(remove_mu_);
  std::vector<SegmentFile> victims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    MVDB_RETURN_IF_ERROR(CheckUsable());
    // Segment i holds [start_i, start_{i+1}); the newest has no successor
    // and so is never chosen.
    for (size_t i = 0; i + 1 < segments_.size() && segments_[i + 1].start_lsn <= lsn; ++i) {
      victims.push_back(segments_[i]);
    }
  }
  if (victims.empty()) return Status::OK();
  // Oldest first, so that whatever a crash or an error leaves is still a
  // contiguous log (ListSegments' gap check stays meaningful).
  for (const SegmentFile& victim : victims) {
    Status s = fs_->Remove(victim.path);
    if (!s.ok() && !s.IsNotFound()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    segments_.erase(segments_.begin());
    segments_removed_.fetch_add(1, std::memory_order_relaxed);
  }
  MVDB_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  dir_syncs_.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

Status Wal::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (close_done_) return close_status_;
    closed_ = true;  // new calls fail from now on; what is buffered is flushed below
    stopping_ = true;
  }
  background_wake_.notify_all();
  if (background_.joinable()) background_.join();

  std::unique_lock<std::mutex> lock(mu_);
  Status s = failed_;
  if (s.ok() && durable_lsn_ < next_lsn_) s = WaitFor(lock, next_lsn_ - 1, /*durable=*/true);
  io_done_.wait(lock, [this] { return !io_busy_; });
  close_status_ = s;
  close_done_ = true;
  std::unique_ptr<File> file = std::move(file_);
  lock.unlock();
  return s;
}

Status Wal::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

Lsn Wal::next_lsn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_lsn_;
}

Lsn Wal::durable_lsn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_lsn_;
}

Lsn Wal::oldest_lsn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.front().start_lsn;
}

WalStats Wal::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  WalStats s;
  s.next_lsn = next_lsn_;
  s.written_lsn = written_lsn_;
  s.durable_lsn = durable_lsn_;
  s.records = records_.load(std::memory_order_relaxed);
  s.payload_bytes = payload_bytes_.load(std::memory_order_relaxed);
  s.bytes_appended = s.next_lsn - opened_end_.lsn;
  s.writes = writes_.load(std::memory_order_relaxed);
  s.rounds = rounds_.load(std::memory_order_relaxed);
  s.fsyncs = fsyncs_.load(std::memory_order_relaxed);
  s.background_syncs = background_syncs_.load(std::memory_order_relaxed);
  s.dir_syncs = dir_syncs_.load(std::memory_order_relaxed);
  s.durable_records = durable_records_;
  s.max_group = max_group_.load(std::memory_order_relaxed);
  s.segments = segments_.size();
  s.segments_created = segments_created_.load(std::memory_order_relaxed);
  s.segments_removed = segments_removed_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace mvdb
