// The commit path of the storage engine, and why the state after a crash
// is exactly the acknowledged batches (plus possibly ones in flight).
//
// A write (a TreeBatch, CreateTree or DropTree) is one WAL record. Terms:
// a record is *applied* once its changes are in the trees (the buffer
// pool), *durable* once the WAL has fdatasync'ed it, *acknowledged* once
// Write returned OK.
//
//  1. Validate, then log, then apply. Write checks every tree exists and
//     every size fits before appending, so an appended record always
//     applies; if applying fails anyway (an I/O error or corruption of the
//     data file), the trees hold part of a logged batch, so the engine
//     fails (invariant 5) rather than go on from a state no replay gives.
//  2. Append and apply happen under the checkpoint gate held shared and
//     under commit_mu, in that order. commit_mu makes the apply order the
//     LSN order, so replaying the log in LSN order rebuilds the exact state
//     readers saw (two batches writing one key end with the later LSN's
//     value both live and after replay). The gate makes every record
//     either wholly before a checkpoint's moment or wholly after it.
//     A concurrent apply (Commit with ConcurrentApply, the transaction
//     layer's) releases commit_mu after the append and applies under the
//     gate and trees_mu (shared) only, so batches on different keys apply
//     in parallel. Its caller guarantees that no two batches in flight
//     write one key (row locks held until the commit is applied), so the
//     order of applies to any key is still the LSN order; trees_mu keeps
//     DropTree and CheckTrees out until the apply ends.
//  3. A checkpoint (checkpointer.cc) reads its LSN, the WAL's next LSN,
//     while holding the gate exclusively: then every record before the LSN
//     is applied and none after it is, so the checkpoint holds exactly the
//     records before its LSN, and recovery replays exactly those from it
//     on. Before the checkpoint's meta slot is written, the WAL is made
//     durable up to that LSN, so a durable checkpoint never holds a change
//     that the log could still lose; only then are older segments removed.
//  4. Durability is waited for after the gate and commit_mu are released
//     (kFull: Wal::Sync, group-committed with every other waiter), so a
//     checkpoint or another committer never waits behind an fsync. Write
//     returns OK only after that wait, so an acknowledged batch's record is
//     durable (kFull) and replay restores it. A batch not yet acknowledged
//     may be visible to Get (engine.h, "Visibility") and may be lost.
//  5. Sticky failure. The first I/O error of the WAL or the data file, or a
//     failed apply, puts the engine in the failed state: every later write
//     and checkpoint returns IOError("database failed: <first cause>; ...").
//     A failed engine never checkpoints again (not even at Close): the trees
//     may hold applied batches whose records never became durable, and a
//     checkpoint must not capture them (invariant 3). The newest durable
//     checkpoint plus the durable log are what reopening recovers.
//  6. Recovery (recovery.cc): open the newest durable checkpoint, replay
//     every record from its LSN in order (idempotent: puts and deletes are
//     redone, a delete of an absent key is no change), open the WAL after
//     the last valid record (a torn tail is cut), then checkpoint. Bad
//     bytes with valid records after them are damage, not a torn tail: the
//     open fails and changes nothing (DiscardDamagedLog is the explicit way
//     to accept that loss).
//  7. A failed open leaves no file it created. Open notes which of the
//     directory, LOCK, data.mvdb and the log's files existed before it (the
//     last three once it holds the lock, so another opener's files are
//     never mistaken for its own); when it fails after taking the lock, it
//     closes without writing and removes what it made, LOCK last, while
//     still holding it (LockFile re-checks that the path still names the
//     file it locked, so a racing opener cannot keep a lock on a removed
//     file).
//  8. Which files may be absent (JudgeLogCoverage in recovery.cc, asked by
//     Open and by CheckDatabase, so that they agree). The log always holds
//     a segment covering the newest checkpoint's LSN C, that is: the
//     segments are contiguous (ListSegments' gap rule), the oldest starts
//     at or before C, and the newest ends at or after C. Why: a new
//     database's first segment (LSN 0) is made, synced, before its data
//     file exists, so a data file never exists without a segment;
//     Wal::Open creates a segment only when there is none, at
//     initial_lsn = C; RemoveSegmentsBefore(C) removes a segment only when
//     the next one starts at or before C (so the oldest left starts at or
//     before C) and never removes the newest; C is the WAL's next LSN when
//     the checkpoint was taken, made durable before the meta slot
//     (invariant 3), so the newest segment ends at or after C. After a
//     clean Close, C equals the log's end: the newest segment may end
//     exactly at C (a segment starting at C is made only by the next
//     record or a segmentless open), and that is covered. So no segment,
//     no wal/ directory, an oldest segment after C, a newest that ends
//     before C, or a gap, can only be damage: the open fails with
//     Corruption naming what is missing and changes nothing. The missing
//     log (no segment at all) has an explicit way out, `mvdb recover
//     --discard-damaged-log`, which starts a new log at C and gives up the
//     commits after C. Without data.mvdb, a log whose oldest segment starts
//     at LSN 0 is the whole history, and replaying it rebuilds the data
//     file (a complete recovery, no loss); a log that starts later needed
//     the lost file's checkpoint, so the open refuses before it creates a
//     file. No data file and no segment is a new database. The blind spot:
//     the newest segment deleted while C lies in an older one leaves a log
//     that looks complete (its records after C are lost unnoticed), since
//     nothing outside the deleted file recorded where the log ended.
//
// Lock order: checkpoint gate (shared) -> commit_mu -> trees_mu ->
// TreeStore's mutex -> Wal's mutexes. Get takes only trees_mu (shared).
// A checkpoint takes checkpoint_mu, then the gate exclusively; it never
// takes commit_mu, so a writer inside the gate never waits for it.
#include "engine/engine.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "btree/btree.h"
#include "common/logging.h"
#include "engine/engine_impl.h"
#include "engine/record_format.h"

namespace mvdb {

namespace {

std::span<const std::byte> AsBytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

Status Validate(const TreeBatch& batch) {
  std::string_view checked;  // the last tree name found good (a batch's ops share a few)
  for (const TreeBatch::Op& op : batch.ops()) {
    if (op.tree.data() != checked.data() || op.tree.size() != checked.size()) {
      if (std::string problem = db_record::TreeNameProblem(op.tree); !problem.empty()) {
        return Status::InvalidArgument(problem);
      }
      checked = op.tree;
    }
    if (op.key.empty() || op.key.size() > kMaxKeySize) {
      return Status::InvalidArgument("key of " + std::to_string(op.key.size()) +
                                     " bytes in tree '" + std::string(op.tree) +
                                     "': keys are 1 to " + std::to_string(kMaxKeySize) + " bytes");
    }
    if (op.value.size() > kMaxValueSize) {
      return Status::InvalidArgument("value of " + std::to_string(op.value.size()) +
                                     " bytes exceeds " + std::to_string(kMaxValueSize));
    }
  }
  return Status::OK();
}

}  // namespace

// ---- Impl: failure state ----

Status Engine::Impl::Health() const {
  if (!failed.load(std::memory_order_acquire)) return Status::OK();
  std::lock_guard lock(failure_mu);
  return failure;
}

Status Engine::Impl::Fail(const Status& cause) {
  std::lock_guard lock(failure_mu);
  if (failure.ok()) {
    std::string text = "database failed: " + cause.ToString();
    // The log's and the data file's own sticky errors already say what
    // happens next; say it once.
    if (text.find("reopen the database to recover") == std::string::npos) {
      text += "; no further commits are acknowledged; reopen to recover";
    }
    failure = Status::IOError(text);
    failed.store(true, std::memory_order_release);
    Log(LogLevel::kError, dir + ": " + std::string(failure.message()));
  }
  return failure;
}

Status Engine::Impl::CheckWritable() const {
  if (closed) return Status::InvalidArgument("database " + dir + " is closed");
  return Health();
}

// ---- open and close ----

Engine::Engine() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<Engine>> Engine::Open(const std::string& dir, const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  Impl& impl = *engine->impl_;
  impl.dir = dir;
  impl.options = options;
  impl.fs = options.fs;
  if (impl.fs == nullptr) {
    MVDB_ASSIGN_OR_RETURN(impl.owned_fs, NewDefaultFileSystem());
    impl.fs = impl.owned_fs.get();
  }
  const Status opened = impl.OpenFiles();
  if (!opened.ok()) {
    // Nothing may be written on the way out: the trees may hold part of a
    // replay, and a checkpoint of them would claim the old LSN.
    if (impl.wal != nullptr) (void)impl.wal->Close();
    if (impl.store != nullptr) impl.store->Abandon();
    impl.wal.reset();
    impl.store.reset();
    if (impl.lock != nullptr) impl.RemoveCreatedFiles();  // invariant 7
    impl.lock.reset();
    impl.closed = true;
    return opened;
  }
  if (options.background_checkpoints) impl.StartBackground();
  return engine;
}

Status Engine::Impl::OpenFiles() {
  MVDB_ASSIGN_OR_RETURN(const bool exists, fs->Exists(dir));
  if (!exists) {
    if (!options.create_if_missing) return Status::NotFound("no database directory " + dir);
    MVDB_RETURN_IF_ERROR(fs->CreateDir(dir));
    created.dir = true;
  }
  // First, so that a second opener fails at once and changes nothing.
  const std::string lock_path = dir + "/" + kLockFileName;
  MVDB_ASSIGN_OR_RETURN(const bool had_lock, fs->Exists(lock_path));
  Result<std::unique_ptr<FileLock>> locked = fs->LockFile(lock_path);
  if (!locked.ok()) {
    if (created.dir) (void)fs->Remove(dir);  // invariant 7; fails if another opener filled it
    return locked.status();
  }
  lock = std::move(*locked);
  created.lock = !had_lock;
  MVDB_ASSIGN_OR_RETURN(const bool had_data, fs->Exists(dir + "/" + kDataFileName));
  created.data = !had_data;
  const std::string wal_dir = dir + "/" + kWalDirName;
  MVDB_ASSIGN_OR_RETURN(const bool had_wal, fs->Exists(wal_dir));
  created.wal_dir = !had_wal;
  if (had_wal) {
    MVDB_ASSIGN_OR_RETURN(created.wal_files_before, fs->ListDir(wal_dir));
  }
  created.wal_known = true;
  if (!had_data) {
    // Invariant 8: without a data file, only a log from LSN 0 may rebuild
    // one; judged before anything is created.
    MVDB_RETURN_IF_ERROR(JudgeLogCoverage(fs, dir, std::nullopt));
    // And a new database's log gets its first segment before the data file
    // exists, so that a data file never exists without a segment.
    std::vector<SegmentFile> segments;
    if (had_wal) {
      MVDB_ASSIGN_OR_RETURN(segments, ListSegments(fs, wal_dir));
    }
    if (segments.empty()) {
      WalOptions first;
      first.segment_size = options.wal_segment_bytes;
      first.initial_lsn = 0;
      MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Wal> created_log, Wal::Open(fs, wal_dir, first));
      MVDB_RETURN_IF_ERROR(created_log->Close());
    }
  }

  TreeStoreOptions store_options;
  store_options.create_if_missing = true;
  store_options.cache_pages =
      std::max<size_t>(16, options.cache_mb * (size_t{1} << 20) / kPageSize);
  store_options.direct_io = options.direct_io;
  MVDB_ASSIGN_OR_RETURN(store, TreeStore::Open(fs, dir + "/" + kDataFileName, store_options));
  const Lsn checkpoint_lsn = store->page_store()->checkpoint_lsn();
  last_checkpoint_lsn = checkpoint_lsn;
  MVDB_RETURN_IF_ERROR(Replay());

  WalOptions wal_options;
  wal_options.segment_size = options.wal_segment_bytes;
  wal_options.sync_interval = options.sync_interval;
  wal_options.initial_lsn = checkpoint_lsn;
  MVDB_ASSIGN_OR_RETURN(wal, Wal::Open(fs, dir + "/" + kWalDirName, wal_options));
  if (wal->next_lsn() < checkpoint_lsn) {
    return Status::Corruption(dir + "/" + kWalDirName + ": the log ends at LSN " +
                              std::to_string(wal->next_lsn()) + ", before the checkpoint's LSN " +
                              std::to_string(checkpoint_lsn));
  }
  if (recovered_records > 0) {
    // The replayed records are in the trees now; a checkpoint lets their
    // segments go and spares the next open the replay. Only a sticky
    // failure fails the open; segments left behind go at the next one.
    (void)RunCheckpoint();
    MVDB_RETURN_IF_ERROR(Health());
  }
  return Status::OK();
}

void Engine::Impl::RemoveCreatedFiles() {
  const std::string wal_dir = dir + "/" + kWalDirName;
  // Only once the open had listed the log: before that it made nothing there.
  std::vector<std::string> names;
  if (created.wal_known) {
    if (Result<std::vector<std::string>> listed = fs->ListDir(wal_dir); listed.ok()) {
      names = std::move(*listed);
    }
  }
  const std::vector<std::string>& before = created.wal_files_before;
  for (const std::string& name : names) {
    if (std::find(before.begin(), before.end(), name) == before.end()) {
      (void)fs->Remove(wal_dir + "/" + name);
    }
  }
  if (created.wal_dir) (void)fs->Remove(wal_dir);
  if (created.data) {
    (void)fs->Remove(dir + "/" + kDataFileName);
    (void)fs->Remove(dir + "/" + kDataFileName + ".new");  // a creation that failed half way
  }
  if (created.lock) (void)fs->Remove(dir + "/" + kLockFileName);  // still held: see invariant 7
  lock.reset();
  if (created.dir) (void)fs->Remove(dir);  // only if it is empty now
}

Engine::~Engine() {
  if (impl_ == nullptr || impl_->closed) return;
  const Status status = Close();
  if (!status.ok()) Log(LogLevel::kError, "closing " + impl_->dir + ": " + status.ToString());
}

Status Engine::Close() {
  Impl& impl = *impl_;
  if (impl.closed) return impl.Health();
  impl.StopBackground();
  Status status;
  if (impl.store != nullptr && impl.wal != nullptr && !impl.failed) {
    status = impl.RunCheckpoint();
  }
  if (impl.wal != nullptr) {
    const Status closed = impl.wal->Close();
    if (!closed.ok()) status = impl.Fail(closed);
  }
  if (impl.store != nullptr) {
    if (impl.failed) {
      impl.store->Abandon();  // invariant 5
    } else if (Status closed = impl.store->Close(); !closed.ok()) {
      status = impl.Fail(closed);
    }
  }
  impl.closed = true;
  impl.wal.reset();
  impl.store.reset();
  impl.lock.reset();
  if (impl.failed) return impl.Health();
  return status;
}

Status Engine::health() const { return impl_->Health(); }

// ---- the commit path ----

Status Engine::Write(const TreeBatch& batch) { return Write(batch, impl_->options.sync); }

Status Engine::Write(const TreeBatch& batch, SyncMode sync) {
  if (batch.empty()) return impl_->CheckWritable();
  return Commit(batch, sync, nullptr, nullptr).status();
}

Status ApplyPlainBatch(const TreeBatch& batch, std::span<BTree* const> trees) {
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    const TreeBatch::Op& op = batch.ops()[i];
    Status applied = op.is_delete ? trees[i]->Delete(op.key) : trees[i]->Put(op.key, op.value);
    if (applied.IsNotFound() && op.is_delete) applied = Status::OK();
    MVDB_RETURN_IF_ERROR(applied);
  }
  return Status::OK();
}

Result<Lsn> Engine::Commit(const TreeBatch& batch, SyncMode sync, const ApplyBatchFn& apply,
                           const ConcurrentApply* concurrent) {
  Impl& impl = *impl_;
  MVDB_RETURN_IF_ERROR(impl.CheckWritable());
  if (batch.empty()) return Status::InvalidArgument("an empty write batch commits nothing");
  MVDB_RETURN_IF_ERROR(Validate(batch));
  const std::string payload = batch.Encode();
  Lsn lsn = 0;
  {
    const CheckpointGate::SharedHold hold(impl.store->checkpoint_gate());
    std::unique_lock commit(impl.commit_mu);
    MVDB_RETURN_IF_ERROR(impl.Health());
    std::vector<BTree*> trees;
    trees.reserve(batch.ops().size());
    for (const TreeBatch::Op& op : batch.ops()) {
      if (!trees.empty() && op.tree == batch.ops()[trees.size() - 1].tree) {
        trees.push_back(trees.back());
        continue;
      }
      MVDB_ASSIGN_OR_RETURN(BTree * tree, impl.store->OpenTree(op.tree));
      trees.push_back(tree);
    }
    MVDB_ASSIGN_OR_RETURN(lsn, impl.AppendRecord(db_record::kWriteBatch, payload));
    std::shared_lock<std::shared_mutex> trees_alive;
    if (concurrent != nullptr) {  // invariant 2
      if (concurrent->appended) concurrent->appended(lsn);
      trees_alive = std::shared_lock(impl.trees_mu);
      commit.unlock();
    }
    const Status applied = apply ? apply(batch, trees, lsn) : ApplyPlainBatch(batch, trees);
    if (!applied.ok()) {  // invariant 1
      return impl.Fail(applied.WithContext("applying a write batch"));
    }
  }
  MVDB_RETURN_IF_ERROR(impl.Acknowledge(lsn, sync));
  impl.commits.fetch_add(1, std::memory_order_relaxed);
  return lsn;
}

Result<Lsn> Engine::Impl::AppendRecord(uint8_t type, std::string_view payload) {
  Result<Lsn> appended = wal->Append(type, AsBytes(payload));
  if (!appended.ok()) {
    return appended.status().IsIOError() ? Fail(appended.status()) : appended.status();
  }
  last_appended_plus_one.store(*appended + 1, std::memory_order_release);
  return appended;
}

// Invariant 4: called outside the gate and commit_mu, so committers share
// the fsync.
Status Engine::Impl::Acknowledge(Lsn lsn, SyncMode sync) {
  const Status waited = sync == SyncMode::kFull ? wal->Sync(lsn) : wal->Write(lsn);
  if (!waited.ok()) return Fail(waited);
  AfterCommit(lsn, sync);
  return Status::OK();
}

Status Engine::CreateTree(std::string_view name) {
  Impl& impl = *impl_;
  MVDB_RETURN_IF_ERROR(impl.CheckWritable());
  if (std::string problem = db_record::TreeNameProblem(name); !problem.empty()) {
    return Status::InvalidArgument(problem);
  }
  const std::string payload = db_record::EncodeTreeName(name);
  Lsn lsn = 0;
  {
    const CheckpointGate::SharedHold hold(impl.store->checkpoint_gate());
    std::lock_guard commit(impl.commit_mu);
    MVDB_RETURN_IF_ERROR(impl.Health());
    const Result<BTree*> existing = impl.store->OpenTree(name);
    if (existing.ok()) {
      return Status::InvalidArgument("tree '" + std::string(name) + "' exists already");
    }
    if (!existing.status().IsNotFound()) return existing.status();
    MVDB_ASSIGN_OR_RETURN(lsn, impl.AppendRecord(db_record::kCreateTree, payload));
    const Result<BTree*> created = impl.store->CreateTree(name);
    if (!created.ok()) return impl.Fail(created.status().WithContext("creating a tree"));
  }
  return impl.Acknowledge(lsn, impl.options.sync);
}

Status Engine::DropTree(std::string_view name) {
  Impl& impl = *impl_;
  MVDB_RETURN_IF_ERROR(impl.CheckWritable());
  if (std::string problem = db_record::TreeNameProblem(name); !problem.empty()) {
    return Status::InvalidArgument(problem);
  }
  const std::string payload = db_record::EncodeTreeName(name);
  Lsn lsn = 0;
  {
    const CheckpointGate::SharedHold hold(impl.store->checkpoint_gate());
    std::lock_guard commit(impl.commit_mu);
    std::unique_lock trees(impl.trees_mu);  // no Get or concurrent apply is inside the tree
    MVDB_RETURN_IF_ERROR(impl.Health());
    MVDB_RETURN_IF_ERROR(impl.store->OpenTree(name).status());
    MVDB_ASSIGN_OR_RETURN(lsn, impl.AppendRecord(db_record::kDropTree, payload));
    const Status dropped = impl.store->DropTree(name);
    if (!dropped.ok()) return impl.Fail(dropped.WithContext("dropping a tree"));
  }
  return impl.Acknowledge(lsn, impl.options.sync);
}

Result<std::vector<std::string>> Engine::ListTrees() {
  if (impl_->closed) return Status::InvalidArgument("database " + impl_->dir + " is closed");
  return impl_->store->ListTrees();
}

// ---- reads ----

Status Engine::RunUnderCommitLock(const std::function<Status()>& fn) {
  Impl& impl = *impl_;
  MVDB_RETURN_IF_ERROR(impl.CheckWritable());
  const CheckpointGate::SharedHold hold(impl.store->checkpoint_gate());
  std::lock_guard commit(impl.commit_mu);
  MVDB_RETURN_IF_ERROR(impl.Health());
  const Status status = fn();
  if (status.IsIOError() || status.IsCorruption()) return impl.Fail(status);
  return status;
}

Lsn Engine::next_lsn() const { return impl_->wal == nullptr ? 0 : impl_->wal->next_lsn(); }

Result<BTree*> Engine::OpenTree(std::string_view name) {
  if (impl_->closed) return Status::InvalidArgument("database " + impl_->dir + " is closed");
  return impl_->store->OpenTree(name);
}

Status Engine::Get(std::string_view tree, std::string_view key, std::string* value) {
  Impl& impl = *impl_;
  if (impl.closed) return Status::InvalidArgument("database " + impl.dir + " is closed");
  std::shared_lock trees(impl.trees_mu);
  MVDB_ASSIGN_OR_RETURN(BTree * btree, impl.store->OpenTree(tree));
  return btree->Get(key, value);
}

Result<StoreCheckReport> Engine::CheckTrees() {
  Impl& impl = *impl_;
  if (impl.closed) return Status::InvalidArgument("database " + impl.dir + " is closed");
  // commit_mu keeps every new write (and DropTree) out, trees_mu the
  // concurrent applies under way. Not the gate: a checkpoint waiting for it
  // may hold the page store's checkpoint mutex, which the page map check
  // needs.
  std::lock_guard commit(impl.commit_mu);
  std::unique_lock trees(impl.trees_mu);
  return impl.store->Check();
}

Result<TreeCheckReport> Engine::CheckTree(std::string_view name) {
  Impl& impl = *impl_;
  if (impl.closed) return Status::InvalidArgument("database " + impl.dir + " is closed");
  std::lock_guard commit(impl.commit_mu);  // as CheckTrees
  std::unique_lock trees(impl.trees_mu);
  MVDB_ASSIGN_OR_RETURN(BTree * tree, impl.store->OpenTree(name));
  TreeCheckReport report;
  MVDB_RETURN_IF_ERROR(tree->Check(&report));
  return report;
}

Status Engine::Checkpoint() {
  MVDB_RETURN_IF_ERROR(impl_->CheckWritable());
  return impl_->RunCheckpoint();
}

EngineStats Engine::stats() const {
  const Impl& impl = *impl_;
  EngineStats stats;
  stats.commits = impl.commits.load(std::memory_order_relaxed);
  stats.checkpoints = impl.checkpoints.load(std::memory_order_relaxed);
  stats.last_checkpoint_lsn = impl.last_checkpoint_lsn.load(std::memory_order_relaxed);
  stats.recovered_batches = impl.recovered_records;
  stats.failed = impl.failed.load(std::memory_order_acquire);
  stats.io_backend = std::string(impl.fs->name());
  if (impl.wal != nullptr) {
    const WalStats wal = impl.wal->stats();
    stats.wal_bytes = wal.bytes_appended;
    stats.wal_fsyncs = wal.fsyncs;
    stats.wal_segments = wal.segments;
  }
  return stats;
}

BufferPoolStats Engine::pool_stats() const {
  return impl_->store == nullptr ? BufferPoolStats{} : impl_->store->pool()->stats();
}

}  // namespace mvdb
