// Engine: one database directory — the data file, the write-ahead log and
// the lock file — with atomic write batches across named trees, crash
// recovery and background checkpoints.
//
// Directory layout:
//   DBDIR/LOCK        held (flock) while a process has the database open
//   DBDIR/data.mvdb   B+trees in copy-on-write checkpoints (buffer/cow_page_store.h)
//   DBDIR/wal/        log segments (wal/log_format.md)
//
// Commit path (the transaction manager's commits take it too: txn/):
// a TreeBatch is encoded as one log record; under the checkpoint gate held
// shared, the record is appended to the WAL and applied to the trees; then
// the commit waits for the durability it asked for. Recovery opens the
// newest checkpoint and replays every batch record after its LSN, so the
// state after a crash is exactly the acknowledged batches (plus possibly
// ones whose acknowledgement was in flight), never part of a batch.
//
// Visibility at this layer: a Get sees a batch as soon as it is applied,
// which is before it is durable, so a reader of the engine alone may see a
// batch that a crash then loses (only one whose Write has not returned OK
// yet). Transactions do not read this way: the layers above (mvcc/, txn/)
// make a commit visible only once it is durable, through the versions'
// timestamps.
//
// Threading: every method may be called concurrently from many threads,
// except Close (and the destructor), which must not race with other calls.
// The protocol is the essay at the top of engine/engine.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/options.h"  // SyncMode
#include "mvdb/status.h"
#include "wal/log_format.h"  // Lsn

namespace mvdb {

class BTree;
class FileSystem;
struct BufferPoolStats;
struct StoreCheckReport;
struct TreeCheckReport;
class TreeStore;

// Writes to several trees that commit atomically: all or nothing. The
// storage engine's batch, one log record (not the public mvdb::WriteBatch of
// include/mvdb/db.h, which db/ commits through transactions of its own).
//
// An op's tree, key and value are views: into the batch's own arena (Put,
// Delete, Decode: one allocation per 64 KiB of ops, not one per string),
// into a string the batch took over (PutMoved), or into the caller's bytes
// (PutBorrowed, DeleteBorrowed: no copy at all; the caller keeps them alive
// and unchanged while the batch is used). Moving a batch keeps its views
// valid; it cannot be copied.
class TreeBatch {
 public:
  TreeBatch() = default;
  TreeBatch(TreeBatch&&) noexcept = default;
  TreeBatch& operator=(TreeBatch&&) noexcept = default;
  TreeBatch(const TreeBatch&) = delete;
  TreeBatch& operator=(const TreeBatch&) = delete;

  void Put(std::string_view tree, std::string_view key, std::string_view value);
  // Takes the value over instead of copying it.
  void PutMoved(std::string_view tree, std::string_view key, std::string&& value);
  void Delete(std::string_view tree, std::string_view key);
  // REQUIRES: tree, key and value outlive every use of the batch.
  void PutBorrowed(std::string_view tree, std::string_view key, std::string_view value) {
    ops_.push_back(Op{false, tree, key, value});
  }
  void DeleteBorrowed(std::string_view tree, std::string_view key) {
    ops_.push_back(Op{true, tree, key, {}});
  }
  void Clear();
  // Room for n ops, so that a large batch is not grown by doubling.
  void Reserve(size_t n) { ops_.reserve(n); }
  size_t count() const;
  bool empty() const { return count() == 0; }

  // The batch as one log record payload, and back (Corruption if malformed).
  std::string Encode() const;
  static Result<TreeBatch> Decode(std::string_view payload);

  struct Op {
    bool is_delete = false;
    std::string_view tree, key, value;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  // A copy of `bytes` in the arena, valid until Clear or destruction.
  std::string_view Keep(std::string_view bytes);

  std::vector<Op> ops_;
  std::vector<std::unique_ptr<char[]>> blocks_;  // the arena; never moved in memory
  char* free_ = nullptr;                         // the unused tail of blocks_.back()
  size_t free_size_ = 0;
  std::deque<std::string> moved_;  // PutMoved's values (a deque: elements stay put)
};

// Applies the ops of a logged write batch to the trees: trees[i] is the
// tree of op i, `lsn` the LSN of the batch's record. Without one, the engine
// puts each value as it is and deletes keys (a delete of an absent key is no
// change). The MVCC layer installs versions stamped with the LSN instead
// (mvcc/version_store.h). A failure makes the engine fail (invariant 1).
using ApplyBatchFn =
    std::function<Status(const TreeBatch& batch, std::span<BTree* const> trees, Lsn lsn)>;

struct EngineOptions {
  bool create_if_missing = true;
  size_t cache_mb = 64;
  SyncMode sync = SyncMode::kFull;
  std::chrono::milliseconds sync_interval{100};  // kNormal's loss window
  // A background checkpoint starts when the log has grown this much since
  // the last one, or this long has passed with changes.
  uint64_t checkpoint_wal_bytes = 64ull << 20;
  std::chrono::milliseconds checkpoint_interval{30000};
  uint64_t wal_segment_bytes = 64ull << 20;
  // The data file with O_DIRECT (TreeStoreOptions::direct_io).
  bool direct_io = false;
  // False: no background thread; checkpoints happen only through
  // Checkpoint(), Open (after a replay) and Close. kNormal commits are then
  // fsync'ed only by those and by later kFull commits.
  bool background_checkpoints = true;
  // Null: NewDefaultFileSystem (io_uring where the kernel allows).
  FileSystem* fs = nullptr;
  // How recovery applies a replayed batch; null: as Write does by default.
  ApplyBatchFn replay_apply;
};

struct EngineStats {
  uint64_t commits = 0;
  uint64_t checkpoints = 0;
  uint64_t last_checkpoint_lsn = 0;
  uint64_t wal_bytes = 0;
  uint64_t wal_fsyncs = 0;
  uint64_t recovered_batches = 0;  // records replayed at the last open
  uint64_t wal_segments = 0;       // segment files now
  bool failed = false;             // in the sticky failed state
  std::string io_backend;
};

class Engine {
 public:
  // Opens DBDIR (creating it if allowed), takes the lock (Busy naming the
  // holder's pid if another process has it), opens the newest checkpoint and
  // replays the log after it.
  static Result<std::unique_ptr<Engine>> Open(const std::string& dir, const EngineOptions& options);
  // Checkpoints and closes; errors are dropped (call Close to see them).
  ~Engine();

  // Creates an empty tree (durably logged). InvalidArgument if it exists.
  Status CreateTree(std::string_view name);
  Status DropTree(std::string_view name);
  Result<std::vector<std::string>> ListTrees();

  // Commits `batch` atomically with the database's sync mode, or `sync`.
  // After an I/O failure of the log or data file the engine is in a sticky
  // failed state: this and every later write return IOError saying why, and
  // reopening recovers.
  Status Write(const TreeBatch& batch);
  Status Write(const TreeBatch& batch, SyncMode sync);
  // Write with the batch applied by `apply` (null: as Write does), right
  // after its record is appended, under the checkpoint gate. Without
  // `concurrent`, apply runs under the commit lock, so batches are applied
  // in LSN order. With it, concurrent->appended(lsn) runs under the commit
  // lock and apply after releasing it, in parallel with other batches
  // (essay, invariant 2). REQUIRES then: no two batches in flight write the
  // same key. Returns the batch's LSN once the commit is acknowledged under
  // `sync`.
  struct ConcurrentApply {
    std::function<void(Lsn)> appended;
  };
  Result<Lsn> Commit(const TreeBatch& batch, SyncMode sync, const ApplyBatchFn& apply,
                     const ConcurrentApply* concurrent = nullptr);

  // Runs fn under the checkpoint gate (shared) and the commit lock, so no
  // record is appended meanwhile (concurrent applies of records already
  // appended may run; see Commit). For changes to the trees that are not
  // logged because they change no logical state (the MVCC collector removes
  // tombstones no snapshot needs, holding the key's row lock). Returns fn's status; an error fails
  // the engine only if fn says so by returning IOError or Corruption.
  Status RunUnderCommitLock(const std::function<Status()>& fn);
  // The LSN the next record will get: every record so far is below it.
  Lsn next_lsn() const;

  // The tree named `name`: NotFound if there is none. The pointer stays
  // valid until DropTree of it or Close; the caller keeps those out while
  // using it (the transactional layer does, db/database.cc).
  Result<BTree*> OpenTree(std::string_view name);

  // Reads the latest applied value. NotFound if absent.
  Status Get(std::string_view tree, std::string_view key, std::string* value);

  // Takes a checkpoint now and removes log segments it made unnecessary.
  Status Checkpoint();
  // Stops the background thread, takes a final checkpoint (unless the
  // engine failed: then the newest durable checkpoint and the log stay as a
  // crash would leave them), closes the log, releases the lock. Returns the
  // sticky failure if there is one. Later calls fail with InvalidArgument.
  Status Close();

  // OK, or the sticky failure that Write returns.
  Status health() const;

  EngineStats stats() const;
  // The buffer pool's counters (buffer/buffer_pool.h).
  BufferPoolStats pool_stats() const;

  // BTree::Check of the tree `name` alone (NotFound if there is none), with
  // writes held off meanwhile: its height, pages, entries and fill.
  Result<TreeCheckReport> CheckTree(std::string_view name);

  // TreeStore::Check of the open database, with writes held off meanwhile:
  // the page map, every tree, the free list. For the process that holds the
  // database open, where CheckDatabase (which wants the lock) answers Busy;
  // unlike CheckDatabase it reads the live state, not the files.
  Result<StoreCheckReport> CheckTrees();

 private:
  Engine();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A check of what the trees hold, for layers above the engine (the SQL
// rows: sql/check.h). It gets the store CheckDatabase opened read-only,
// after TreeStore::Check passed, appends its lines to `report` and returns
// Corruption for what it finds wrong.
using TreeContentCheck = std::function<Status(TreeStore* store, std::string* report)>;

// What `mvdb check DBDIR` prints: every file's state. OK only if all are.
// Reads the database without changing it, writing nothing (not even the
// lock file, so it works on read-only media): Busy (and says so in the
// report) when another process, or an Engine of this one, holds it open;
// Corruption if any file is damaged, naming the file and offset (for a
// damaged log also how many valid records follow the damage). `fs` null:
// NewDefaultFileSystem. `trees`, when not null, receives what
// TreeStore::Check found if it ran and passed; `contents`, when set, runs
// after it.
Status CheckDatabase(const std::string& dir, std::string* report, FileSystem* fs = nullptr,
                     StoreCheckReport* trees = nullptr, const TreeContentCheck& contents = {});

// What `mvdb recover --discard-damaged-log DBDIR` does (engine/discard_log.cc):
// when the log that an open would replay is damaged (Corruption with valid
// records after the bad bytes, which Open refuses), cuts it at the damage
// and keeps every byte from there on in side files next to the log
// ("<segment>.cut-at-<offset>"), which `report` names with what was lost.
// OK and nothing changed when there is no such damage; Busy when the
// database is open; Corruption when the log is damaged in a way a cut
// cannot mend (a gap between segments, damage before the checkpoint's LSN).
// A missing log (data.mvdb exists but wal/ or every segment in it is gone,
// which Open refuses: engine.cc, invariant 8) it accepts by starting a new,
// empty log at the newest checkpoint's LSN, giving up the commits after it.
Status DiscardDamagedLog(const std::string& dir, std::string* report, FileSystem* fs = nullptr);

}  // namespace mvdb
