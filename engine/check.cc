// CheckDatabase: what `mvdb check DBDIR` prints. It reads every file of a
// database that nobody has open and changes nothing in it:
//   - the lock (a database held open is not checked: its files change
//     under the reader; the report says who holds it and the result is Busy);
//   - both meta slots of the data file (valid, or why not; which is newest);
//   - the newest checkpoint's page map and every tree (TreeStore::Check,
//     after which the store is abandoned, so no checkpoint is written);
//   - every WAL segment: its records and LSN range, each payload decoded,
//     and where the log ends (a torn tail is normal after a crash); damage
//     is Corruption naming the file, the offset and how many valid records
//     follow it (what opening the database would refuse);
//   - which files are missing, judged as the open judges them
//     (JudgeLogCoverage, engine.cc invariant 8): a log that does not cover
//     the checkpoint's LSN fails the check; a missing data.mvdb passes only
//     when the log starts at LSN 0 (an open rebuilds it by replaying it).
// It writes nothing, not even the lock file, which it locks through a
// read-only descriptor (a missing or unreadable LOCK is noted, not fatal),
// so it works on read-only media.
// The result is the first problem found (Corruption for damage), or OK.
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "btree/tree_store.h"
#include "buffer/checkpoint_format.h"
#include "engine/engine.h"
#include "engine/engine_impl.h"
#include "engine/record_format.h"
#include "wal/log_reader.h"

namespace mvdb {

namespace {

class Checker {
 public:
  Checker(FileSystem* fs, std::string dir, TreeContentCheck contents)
      : fs_(fs), dir_(std::move(dir)), contents_(std::move(contents)) {}

  Status Run() {
    out_ << "database " << dir_ << "\n";
    MVDB_ASSIGN_OR_RETURN(const bool exists, fs_->Exists(dir_));
    if (!exists) return Status::NotFound("no database directory " + dir_);
    // Read-only, so that a database on read-only media can be checked.
    Result<std::unique_ptr<FileLock>> lock = fs_->LockFileReadOnly(dir_ + "/" + kLockFileName);
    if (lock.status().IsBusy()) {
      out_ << "lock: " << lock.status().message() << "; not checked while it is open\n";
      return lock.status();
    }
    if (lock.ok()) {
      out_ << "lock: free\n";
    } else if (lock.status().IsNotFound()) {
      out_ << "lock: no lock file, so nobody has the database open\n";
    } else {
      // Unreadable, or a file system without read-only locks: the check
      // goes on, but cannot rule out a process writing meanwhile.
      out_ << "lock: cannot be taken (" << lock.status().message()
           << "); checking anyway, which is only sound if nobody has the database open\n";
    }
    Lsn checkpoint_lsn = 0;
    const bool have_data = CheckDataFile(&checkpoint_lsn);
    CheckLog(have_data, checkpoint_lsn);
    out_ << (result_.ok() ? "result: OK\n" : "result: " + result_.ToString() + "\n");
    return result_;
  }

  std::string report() const { return out_.str(); }
  // What TreeStore::Check found, if it ran and passed.
  const std::optional<StoreCheckReport>& trees() const { return trees_; }

 private:
  void Problem(const Status& status) {
    if (result_.ok()) result_ = status;
  }

  void Bad(const std::string& line, const Status& status) {
    out_ << line << ": " << status.ToString() << "\n";
    Problem(status);
  }

  // The meta slots, then the trees. False when there is no usable data file.
  bool CheckDataFile(Lsn* checkpoint_lsn) {
    const std::string path = dir_ + "/" + kDataFileName;
    Result<bool> exists = fs_->Exists(path);
    if (!exists.ok() || !*exists) {
      if (!exists.ok()) {
        Bad("data file " + path, exists.status());
        return false;
      }
      data_missing_ = true;
      // As Open judges it (JudgeLogCoverage, engine.cc invariant 8): a log
      // from LSN 0 rebuilds the file; CheckLog judges a log that starts later.
      Result<std::vector<SegmentFile>> segments = ListSegments(fs_, dir_ + "/" + kWalDirName);
      if (segments.ok() && !segments->empty() && segments->front().start_lsn == 0) {
        out_ << "data file " << path
             << ": missing; the log starts at LSN 0, so opening the database creates it and "
                "replays the whole log\n";
      } else if (!segments.ok() || segments->empty()) {
        Bad("data file " + path, Status::NotFound("missing, and there is no log: not a database"));
      } else {
        out_ << "data file " << path << ": missing\n";
      }
      return false;
    }
    out_ << "data file " << path << "\n";
    if (!CheckMetaSlots(path, checkpoint_lsn)) return false;
    TreeStoreOptions options;
    options.create_if_missing = false;
    options.read_only = true;
    options.cache_pages = 1024;
    Result<std::unique_ptr<TreeStore>> store = TreeStore::Open(fs_, path, options);
    if (!store.ok()) {
      Bad("  open", store.status());
      return false;
    }
    Result<StoreCheckReport> checked = (*store)->Check();
    std::string contents_report;
    Status contents = Status::OK();
    if (checked.ok() && contents_) contents = contents_(store->get(), &contents_report);
    (*store)->Abandon();
    if (!checked.ok()) {
      Bad("  trees", checked.status());
      return true;
    }
    trees_ = *checked;
    const StoreCheckReport& r = *checked;
    out_ << "  page map: OK, checkpoint " << r.checkpoint_number << ", " << r.mapped_pages
         << " mapped pages in " << r.slot_count << " slots (" << r.free_slots << " free)\n";
    out_ << "  pages: " << r.page_count << " (" << r.free_pages << " on the free list)\n";
    for (const auto& [name, tree] : r.trees) {
      out_ << "  tree '" << name << "': OK, " << tree.entries << " entries, height " << tree.height
           << ", " << tree.leaf_pages << " leaf, " << tree.inner_pages << " inner, "
           << tree.overflow_pages << " overflow pages\n";
    }
    out_ << contents_report;
    Problem(contents);
    return true;
  }

  bool CheckMetaSlots(const std::string& path, Lsn* checkpoint_lsn) {
    OpenOptions read_only;
    read_only.read_only = true;
    Result<std::unique_ptr<File>> file = fs_->Open(path, read_only);
    if (!file.ok()) {
      Bad("  open", file.status());
      return false;
    }
    Result<uint64_t> size = (*file)->Size();
    if (!size.ok()) {
      Bad("  size", size.status());
      return false;
    }
    std::vector<std::byte> slot(kPageSize);
    int newest = -1;
    uint64_t newest_number = 0;
    for (int i = 0; i < static_cast<int>(checkpoint::kMetaSlots); ++i) {
      const uint64_t offset = checkpoint::SlotOffset(i);
      out_ << "  meta slot " << i << " (offset " << offset << "): ";
      if (*size < offset + kPageSize) {
        out_ << "missing (the file has " << *size << " bytes)\n";
        continue;
      }
      if (Status read = (*file)->ReadAt(offset, slot); !read.ok()) {
        out_ << read.ToString() << "\n";
        Problem(read);
        continue;
      }
      Result<checkpoint::Meta> meta = checkpoint::DecodeMeta(slot);
      if (!meta.ok()) {
        out_ << "not valid (" << meta.status().message() << ")\n";
        continue;
      }
      out_ << "valid, checkpoint " << meta->number << ", LSN " << meta->lsn << ", "
           << meta->logical_pages << " logical pages\n";
      if (newest < 0 || meta->number > newest_number) {
        newest = i;
        newest_number = meta->number;
        *checkpoint_lsn = meta->lsn;
      }
    }
    if (newest < 0) {
      Bad("  checkpoint", Status::Corruption(path + ": neither meta slot (offsets 0 and " +
                                             std::to_string(kPageSize) + ") is valid"));
      return false;
    }
    out_ << "  newest checkpoint: " << newest_number << " in meta slot " << newest << ", LSN "
         << *checkpoint_lsn << "\n";
    return true;
  }

  void CheckLog(bool have_checkpoint, Lsn checkpoint_lsn) {
    const std::string wal_dir = dir_ + "/" + kWalDirName;
    // Whether the segments present cover the checkpoint, as Open judges it.
    if (data_missing_ || have_checkpoint) {
      const Status covered = JudgeLogCoverage(
          fs_, dir_, data_missing_ ? std::nullopt : std::optional<Lsn>(checkpoint_lsn));
      // A gap between segments is reported below, as before.
      Result<bool> have_wal = fs_->Exists(wal_dir);
      const bool gap = have_wal.ok() && *have_wal && !ListSegments(fs_, wal_dir).ok();
      if (!covered.ok() && !gap) {
        out_ << "log " << wal_dir << "\n";
        Bad("  coverage", covered);
        return;
      }
    }
    Result<bool> exists = fs_->Exists(wal_dir);
    if (!exists.ok() || !*exists) {
      out_ << "log " << wal_dir << ": " << (exists.ok() ? "none" : exists.status().ToString())
           << "\n";
      if (!exists.ok()) Problem(exists.status());
      return;
    }
    out_ << "log " << wal_dir << "\n";
    Result<std::vector<SegmentFile>> segments = ListSegments(fs_, wal_dir);
    if (!segments.ok()) {
      Bad("  segments", segments.status());
      return;
    }
    if (segments->empty()) {
      out_ << "  no segments\n";
      return;
    }
    if (have_checkpoint && checkpoint_lsn < segments->front().start_lsn) {
      Bad("  checkpoint LSN",
          Status::Corruption(wal_dir + ": the checkpoint's LSN " + std::to_string(checkpoint_lsn) +
                             " precedes the oldest segment, " + segments->front().path));
    }
    Result<std::unique_ptr<LogReader>> reader =
        LogReader::Open(fs_, *segments, segments->front().start_lsn);
    if (!reader.ok()) {
      Bad("  read", reader.status());
      return;
    }
    std::vector<uint64_t> records(segments->size(), 0);
    size_t index = 0;
    LogRecord record;
    while (true) {
      Result<bool> more = (*reader)->Next(&record);
      if (!more.ok()) {
        ReportSegments(*segments, records, index + 1);
        const std::optional<LogDamage>& damage = (*reader)->damage();
        // Damage the database's open never reads (before its checkpoint)
        // does not stop it; damage from the checkpoint on does.
        if (damage.has_value() && (!have_checkpoint || damage->lsn >= checkpoint_lsn)) {
          Bad("  damage",
              Status::Corruption(std::string(more.status().message()) +
                                 "; opening the database fails here" + DamagedLogAdvice(dir_)));
        } else {
          Bad("  damage", more.status());
        }
        return;
      }
      if (!*more) break;
      while (index + 1 < segments->size() && (*segments)[index + 1].start_lsn <= record.lsn) {
        ++index;
      }
      ++records[index];
      if (Status decoded = DecodePayload(record); !decoded.ok()) {
        ReportSegments(*segments, records, index + 1);
        Bad("  damage", Status::Corruption(DescribeLsn(fs_, wal_dir, record.lsn) + ": " +
                                           std::string(decoded.message())));
        return;
      }
    }
    ReportSegments(*segments, records, segments->size());
    const LogEnd& end = (*reader)->end();
    out_ << "  end: LSN " << end.lsn;
    if (end.valid_size < end.file_size || !end.header_valid) {
      out_ << "; torn tail in " << end.segment_path << " at offset " << end.valid_size << " ("
           << end.torn_reason << "): the end of the log, cut at the next open";
    }
    out_ << "\n";
    if (have_checkpoint && end.lsn < checkpoint_lsn) {
      Bad("  checkpoint LSN",
          Status::Corruption(wal_dir + ": the log ends at LSN " + std::to_string(end.lsn) +
                             ", before the checkpoint's LSN " + std::to_string(checkpoint_lsn)));
    }
  }

  void ReportSegments(const std::vector<SegmentFile>& segments,
                      const std::vector<uint64_t>& records, size_t upto) {
    for (size_t i = 0; i < upto && i < segments.size(); ++i) {
      out_ << "  segment " << segments[i].path << ": " << segments[i].size << " bytes, "
           << records[i] << " records from LSN " << segments[i].start_lsn << "\n";
    }
  }

  static Status DecodePayload(const LogRecord& record) {
    switch (record.type) {
      case db_record::kWriteBatch: {
        const std::string_view payload(reinterpret_cast<const char*>(record.payload.data()),
                                       record.payload.size());
        return TreeBatch::Decode(payload).status();
      }
      case db_record::kCreateTree:
      case db_record::kDropTree:
        return db_record::DecodeTreeName(record.payload).status();
      default:
        return Status::Corruption("unknown record type " + std::to_string(record.type));
    }
  }

  FileSystem* fs_;
  std::string dir_;
  TreeContentCheck contents_;
  std::ostringstream out_;
  Status result_;
  std::optional<StoreCheckReport> trees_;
  bool data_missing_ = false;  // no data.mvdb at all
};

}  // namespace

Status CheckDatabase(const std::string& dir, std::string* report, FileSystem* fs,
                     StoreCheckReport* trees, const TreeContentCheck& contents) {
  std::unique_ptr<FileSystem> owned;
  if (fs == nullptr) {
    MVDB_ASSIGN_OR_RETURN(owned, NewDefaultFileSystem());
    fs = owned.get();
  }
  Checker checker(fs, dir, contents);
  const Status status = checker.Run();
  if (report != nullptr) *report = checker.report();
  if (trees != nullptr && checker.trees().has_value()) *trees = *checker.trees();
  return status;
}

}  // namespace mvdb
