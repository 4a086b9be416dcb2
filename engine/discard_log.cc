// DiscardDamagedLog: `mvdb recover --discard-damaged-log DBDIR`, the
// explicit way to accept the loss of a damaged log's records.
//
// Opening a database refuses a log with damage in the middle (bad bytes
// that valid records follow, log_format.md "The end of the log"), because
// cutting there would destroy records that may have been acknowledged. This
// cuts there on the user's word, and destroys nothing: the bytes from the
// damage on move to side files next to the log, which the log ignores.
//
// Steps, each durable before the next, so a crash in between leaves either
// the old log or the cut one (and at worst a side file to remove by hand):
//   1. take the lock (Busy if the database is open);
//   2. read the log as an open would, from the newest checkpoint's LSN, and
//      stop at the first damage (nothing to do without one);
//   3. copy the damaged segment's bytes from the damage on to
//      "<segment>.cut-at-<offset>" and fdatasync it;
//   4. rename every later segment to "<segment>.cut-at-0", newest first
//      (so the log stays contiguous), and sync the directory;
//   5. truncate the damaged segment at the damage and fdatasync it.
// The next open then finds the damage gone and the log ending there.
//
// A missing log (no wal/ directory or no segment in it while data.mvdb
// exists: engine.cc, invariant 8) is the other loss it
// accepts: it starts a new, empty log at the checkpoint's LSN (the segment
// an open creates for a new log), so the database opens with what the
// checkpoint holds.
#include <algorithm>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "btree/tree_store.h"
#include "engine/engine.h"
#include "engine/engine_impl.h"
#include "wal/log_reader.h"

namespace mvdb {

namespace {

constexpr size_t kCopyChunk = size_t{1} << 20;

// `<segment>.cut-at-<offset>`, or with `.2`, `.3`, ... after it when an
// earlier recovery kept bytes under that name: a side file is never
// overwritten.
Result<std::string> SidePath(FileSystem* fs, const std::string& segment_path, uint64_t offset) {
  const std::string base = segment_path + ".cut-at-" + std::to_string(offset);
  std::string path = base;
  for (int n = 2;; ++n) {
    MVDB_ASSIGN_OR_RETURN(const bool taken, fs->Exists(path));
    if (!taken) return path;
    path = base + "." + std::to_string(n);
  }
}

// Copies bytes [offset, end of file) of `from` into a new file `to`.
Status CopyTail(FileSystem* fs, const std::string& from, uint64_t offset, const std::string& to,
                uint64_t* copied) {
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> in, fs->Open(from, OpenOptions{.read_only = true}));
  MVDB_ASSIGN_OR_RETURN(const uint64_t size, in->Size());
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> out, fs->Open(to, OpenOptions{.create = true}));
  MVDB_RETURN_IF_ERROR(out->Truncate(0));
  std::vector<std::byte> buffer(kCopyChunk);
  *copied = 0;
  for (uint64_t at = offset; at < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, size - at));
    std::span<std::byte> chunk(buffer.data(), n);
    MVDB_RETURN_IF_ERROR(in->ReadAt(at, chunk));
    MVDB_RETURN_IF_ERROR(out->WriteAt(at - offset, chunk));
    at += n;
    *copied += n;
  }
  return out->Sync();
}

// The LSN replay starts at: the newest checkpoint's, or 0 without a data
// file (an open would create one and replay the whole log).
Result<Lsn> CheckpointLsn(FileSystem* fs, const std::string& dir) {
  TreeStoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  options.cache_pages = 16;
  Result<std::unique_ptr<TreeStore>> store =
      TreeStore::Open(fs, dir + "/" + kDataFileName, options);
  if (store.status().IsNotFound()) return Lsn{0};
  MVDB_RETURN_IF_ERROR(store.status());
  const Lsn lsn = (*store)->page_store()->checkpoint_lsn();
  (*store)->Abandon();
  return lsn;
}

}  // namespace

Status DiscardDamagedLog(const std::string& dir, std::string* report, FileSystem* fs) {
  std::unique_ptr<FileSystem> owned;
  if (fs == nullptr) {
    MVDB_ASSIGN_OR_RETURN(owned, NewDefaultFileSystem());
    fs = owned.get();
  }
  std::ostringstream out;
  const auto finish = [&](Status status) {
    if (report != nullptr) *report = out.str();
    return status;
  };
  MVDB_ASSIGN_OR_RETURN(const bool exists, fs->Exists(dir));
  if (!exists) return finish(Status::NotFound("no database directory " + dir));
  Result<std::unique_ptr<FileLock>> lock = fs->LockFile(dir + "/" + kLockFileName);
  if (!lock.ok()) return finish(lock.status());

  const std::string wal_dir = dir + "/" + kWalDirName;
  Result<Lsn> start = CheckpointLsn(fs, dir);
  if (!start.ok()) return finish(start.status().WithContext("reading the checkpoint"));
  MVDB_ASSIGN_OR_RETURN(const bool have_log, fs->Exists(wal_dir));
  Result<std::vector<SegmentFile>> segments = std::vector<SegmentFile>{};
  if (have_log) segments = ListSegments(fs, wal_dir);
  if (!segments.ok()) return finish(segments.status());
  if (segments->empty()) {
    MVDB_ASSIGN_OR_RETURN(const bool have_data, fs->Exists(dir + "/" + kDataFileName));
    if (!have_data) {
      out << "log " << wal_dir << ": none; nothing to discard\n";
      return finish(Status::OK());
    }
    // A missing log (engine.cc, invariant 8): the commits after the
    // checkpoint are gone; a new log from its LSN lets the database open.
    WalOptions wal_options;
    wal_options.initial_lsn = *start;
    Result<std::unique_ptr<Wal>> wal = Wal::Open(fs, wal_dir, wal_options);
    if (!wal.ok()) return finish(wal.status().WithContext("starting a new log"));
    if (Status closed = (*wal)->Close(); !closed.ok()) return finish(closed);
    out << "log " << wal_dir << ": " << (have_log ? "no segments" : "missing")
        << "; the commits after the checkpoint's LSN " << *start
        << " are lost; started a new log at that LSN\n";
    return finish(Status::OK());
  }
  Result<std::unique_ptr<LogReader>> reader = LogReader::Open(fs, *segments, *start);
  if (!reader.ok()) return finish(reader.status());
  LogRecord record;
  uint64_t kept = 0;
  Status damaged;
  while (true) {
    Result<bool> more = (*reader)->Next(&record);
    if (!more.ok()) {
      damaged = more.status();
      break;
    }
    if (!*more) break;
    ++kept;
  }
  if (damaged.ok()) {
    out << "log " << wal_dir << ": " << kept << " records from the checkpoint's LSN " << *start
        << " on, no damage; nothing to discard\n";
    return finish(Status::OK());
  }
  const std::optional<LogDamage>& damage = (*reader)->damage();
  if (!damage.has_value()) {
    out << "log " << wal_dir << ": " << damaged.message() << "\n";
    return finish(Status::Corruption(std::string(damaged.message()) +
                                     "; this is not a damaged record that cutting the log "
                                     "can remove"));
  }
  if (damage->lsn < *start) {
    return finish(Status::Corruption(std::string(damaged.message()) +
                                     "; the damage precedes the checkpoint's LSN " +
                                     std::to_string(*start) +
                                     ", so cutting there would also lose the log the checkpoint "
                                     "needs; not cut"));
  }

  out << "damage in " << damage->segment_path << " at offset " << damage->offset << " (LSN "
      << damage->lsn << "): " << damaged.message() << "\n";
  // 3. The damaged segment's bytes from the damage on.
  const Result<std::string> side_path = SidePath(fs, damage->segment_path, damage->offset);
  if (!side_path.ok()) return finish(side_path.status());
  const std::string& side = *side_path;
  uint64_t copied = 0;
  if (Status s = CopyTail(fs, damage->segment_path, damage->offset, side, &copied); !s.ok()) {
    return finish(s.WithContext("saving the cut bytes"));
  }
  out << "moved " << copied << " bytes from offset " << damage->offset << " of "
      << damage->segment_path << " to " << side << "\n";
  // 4. Every later segment, newest first.
  std::vector<std::string> moved;
  for (auto it = segments->rbegin(); it != segments->rend(); ++it) {
    if (it->start_lsn <= damage->segment_start) break;
    const Result<std::string> to_path = SidePath(fs, it->path, 0);
    if (!to_path.ok()) return finish(to_path.status());
    const std::string& to = *to_path;
    if (Status s = fs->Rename(it->path, to); !s.ok()) {
      return finish(s.WithContext("moving a later segment aside"));
    }
    moved.push_back(it->path + " to " + to);
  }
  for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
    out << "moved later segment " << *it << "\n";
  }
  if (Status s = fs->SyncDir(wal_dir); !s.ok()) return finish(s);
  // 5. Cut.
  {
    Result<std::unique_ptr<File>> file = fs->Open(damage->segment_path, OpenOptions{});
    if (!file.ok()) return finish(file.status());
    if (Status s = (*file)->Truncate(damage->offset); !s.ok()) return finish(s);
    if (Status s = (*file)->Sync(); !s.ok()) return finish(s);
  }
  out << "discarded " << damage->total_valid_after() << " valid records after the damage";
  if (damage->total_valid_after() > 0) {
    out << " (LSN " << damage->first_valid_lsn << " to " << damage->last_valid_end_lsn << ")";
  }
  out << "; the log now ends at LSN " << damage->lsn << "\n";
  return finish(Status::OK());
}

}  // namespace mvdb
