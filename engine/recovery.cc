// Recovery: replay the log after the newest durable checkpoint (the essay
// in engine.cc, invariant 6).
//
// The checkpoint holds exactly the records before its LSN (invariant 3),
// so replay starts at that LSN and applies every later record in order.
// Each record was validated before it was logged, so on replay a tree must
// exist when a batch names it, must not exist when a create names it, and
// must exist when a drop names it; anything else means the files disagree
// and is Corruption naming the WAL file and offset, never silently skipped.
// A malformed payload is Corruption the same way. A torn tail of the newest
// segment is the end of the log (LogReader), and Wal::Open cuts it off; bad
// bytes that valid records follow are damage, and the open fails with
// DamagedLogAdvice before anything is changed.
#include <optional>
#include <string>
#include <vector>

#include "btree/btree.h"
#include "common/logging.h"
#include "engine/engine_impl.h"
#include "engine/record_format.h"
#include "wal/log_reader.h"

namespace mvdb {

std::string DescribeLsn(FileSystem* fs, const std::string& wal_dir, Lsn lsn) {
  const std::string plain = wal_dir + " at LSN " + std::to_string(lsn);
  Result<std::vector<SegmentFile>> segments = ListSegments(fs, wal_dir);
  if (!segments.ok()) return plain;
  const SegmentFile* holder = nullptr;
  for (const SegmentFile& segment : *segments) {
    if (segment.start_lsn <= lsn) holder = &segment;
  }
  if (holder == nullptr) return plain;
  return holder->path + " at offset " +
         std::to_string(log_format::kSegmentHeaderSize + (lsn - holder->start_lsn)) + " (LSN " +
         std::to_string(lsn) + ")";
}

std::string DamagedLogAdvice(const std::string& dir) {
  return "; to give up the records from the damage on, run 'mvdb recover --discard-damaged-log " +
         dir + "', which moves those bytes to a side file next to the log";
}

std::string MissingLogAdvice(const std::string& dir) {
  return "; to give up the commits after the checkpoint, run 'mvdb recover "
         "--discard-damaged-log " +
         dir + "', which starts a new log at the checkpoint's LSN";
}

Status JudgeLogCoverage(FileSystem* fs, const std::string& dir, std::optional<Lsn> checkpoint_lsn) {
  const std::string wal_dir = dir + "/" + kWalDirName;
  const std::string data_path = dir + "/" + kDataFileName;
  const std::string unchanged = "; the database was not opened and nothing was changed";
  MVDB_ASSIGN_OR_RETURN(const bool have_wal, fs->Exists(wal_dir));
  std::vector<SegmentFile> segments;
  // A gap between segments is Corruption here (ListSegments).
  if (have_wal) {
    Result<std::vector<SegmentFile>> listed = ListSegments(fs, wal_dir);
    if (listed.status().IsCorruption()) {
      return Status::Corruption(std::string(listed.status().message()) + unchanged);
    }
    MVDB_RETURN_IF_ERROR(listed.status());
    segments = std::move(*listed);
  }
  if (!checkpoint_lsn.has_value()) {
    // No data file: a new database, or one whose whole history is in the
    // log (replay from LSN 0 rebuilds it). A log that starts later needed
    // the lost file's checkpoint.
    if (segments.empty() || segments.front().start_lsn == 0) return Status::OK();
    return Status::Corruption(
        data_path + " is missing, but the log " + wal_dir + " starts at LSN " +
        std::to_string(segments.front().start_lsn) + " (" + segments.front().path +
        "): the records before that LSN were only in the lost data file, so the database "
        "cannot be recovered from the log" +
        unchanged);
  }
  const Lsn lsn = *checkpoint_lsn;
  if (!have_wal) {
    return Status::Corruption(wal_dir + " is missing, but the checkpoint in " + data_path +
                              " needs the log from its LSN " + std::to_string(lsn) +
                              " on (commits after it may have been acknowledged)" + unchanged +
                              MissingLogAdvice(dir));
  }
  if (segments.empty()) {
    return Status::Corruption(wal_dir + " holds no log segment, but the checkpoint in " +
                              data_path + " needs the log from its LSN " + std::to_string(lsn) +
                              " on (a segment starting at or before it); the log's files were "
                              "removed" +
                              unchanged + MissingLogAdvice(dir));
  }
  if (segments.front().start_lsn > lsn) {
    return Status::Corruption(wal_dir + ": the checkpoint's LSN " + std::to_string(lsn) +
                              " precedes the oldest segment, " + segments.front().path + " (LSN " +
                              std::to_string(segments.front().start_lsn) +
                              "): the segments before it are missing" + unchanged);
  }
  // The newest segment's size bounds the log's end from above (a torn
  // tail only shortens it); a checkpoint past it lost the segments after.
  const SegmentFile& newest = segments.back();
  const Lsn end_bound = newest.start_lsn + (newest.size > log_format::kSegmentHeaderSize
                                                ? newest.size - log_format::kSegmentHeaderSize
                                                : 0);
  if (end_bound < lsn) {
    return Status::Corruption(wal_dir + ": the log ends at LSN " + std::to_string(end_bound) +
                              " (" + newest.path + "), before the checkpoint's LSN " +
                              std::to_string(lsn) + ": the segments after it are missing" +
                              unchanged);
  }
  return Status::OK();
}

namespace {

Status ApplyBatch(TreeStore* store, const TreeBatch& batch, Lsn lsn, const ApplyBatchFn& apply) {
  std::vector<BTree*> trees;
  trees.reserve(batch.ops().size());
  for (const TreeBatch::Op& op : batch.ops()) {
    Result<BTree*> tree = store->OpenTree(op.tree);
    if (tree.status().IsNotFound()) {
      return Status::Corruption("the batch names tree '" + std::string(op.tree) +
                                "', which the checkpoint does not hold");
    }
    MVDB_RETURN_IF_ERROR(tree.status());
    trees.push_back(*tree);
  }
  return apply ? apply(batch, trees, lsn) : ApplyPlainBatch(batch, trees);
}

Status ApplyRecord(TreeStore* store, const LogRecord& record, const ApplyBatchFn& apply) {
  switch (record.type) {
    case db_record::kWriteBatch: {
      const std::string_view payload(reinterpret_cast<const char*>(record.payload.data()),
                                     record.payload.size());
      MVDB_ASSIGN_OR_RETURN(const TreeBatch batch, TreeBatch::Decode(payload));
      return ApplyBatch(store, batch, record.lsn, apply);
    }
    case db_record::kCreateTree: {
      MVDB_ASSIGN_OR_RETURN(const std::string name, db_record::DecodeTreeName(record.payload));
      const Result<BTree*> created = store->CreateTree(name);
      if (created.status().code() == StatusCode::kInvalidArgument) {
        return Status::Corruption("creates tree '" + name + "', which exists already");
      }
      return created.status();
    }
    case db_record::kDropTree: {
      MVDB_ASSIGN_OR_RETURN(const std::string name, db_record::DecodeTreeName(record.payload));
      const Status dropped = store->DropTree(name);
      if (dropped.IsNotFound()) {
        return Status::Corruption("drops tree '" + name + "', which does not exist");
      }
      return dropped;
    }
    default:
      return Status::Corruption("unknown record type " + std::to_string(record.type));
  }
}

}  // namespace

Status Engine::Impl::Replay() {
  const std::string wal_dir = dir + "/" + kWalDirName;
  const Lsn start = store->page_store()->checkpoint_lsn();
  // Whether the log covers the checkpoint's LSN at all (invariant 8).
  MVDB_RETURN_IF_ERROR(JudgeLogCoverage(fs, dir, start));
  MVDB_ASSIGN_OR_RETURN(const bool have_log, fs->Exists(wal_dir));
  if (!have_log) return Status::OK();  // JudgeLogCoverage refused a missing log unless new
  Result<std::unique_ptr<LogReader>> opened = LogReader::Open(fs, wal_dir, start);
  if (!opened.ok()) {
    if (opened.status().IsNotFound()) {
      return Status::Corruption(wal_dir + ": the log no longer holds the checkpoint's LSN " +
                                std::to_string(start) + ": " +
                                std::string(opened.status().message()));
    }
    return opened.status();
  }
  LogReader& reader = **opened;
  LogRecord record;
  while (true) {
    Result<bool> more = reader.Next(&record);
    if (!more.ok()) {
      if (more.status().code() == StatusCode::kInvalidArgument) {
        // The checkpoint's LSN is not a record boundary or lies past the
        // end: the log and the data file disagree.
        return Status::Corruption(wal_dir + ": cannot replay from the checkpoint's LSN " +
                                  std::to_string(start) + ": " +
                                  std::string(more.status().message()));
      }
      if (more.status().IsCorruption() && reader.damage().has_value()) {
        return Status::Corruption(std::string(more.status().message()) +
                                  "; the database was not opened and nothing was changed" +
                                  DamagedLogAdvice(dir));
      }
      return more.status();
    }
    if (!*more) break;
    const Status applied = ApplyRecord(store.get(), record, options.replay_apply);
    if (!applied.ok()) {
      const std::string where = DescribeLsn(fs, wal_dir, record.lsn) + ", " +
                                db_record::RecordTypeName(record.type) + " record";
      if (applied.IsCorruption()) {
        return Status::Corruption(where + ": " + std::string(applied.message()));
      }
      return applied.WithContext("replaying " + where);
    }
    ++recovered_records;
  }
  if (recovered_records > 0) {
    Log(LogLevel::kInfo, dir + ": replayed " + std::to_string(recovered_records) +
                             " log records from LSN " + std::to_string(start));
  }
  return Status::OK();
}

}  // namespace mvdb
