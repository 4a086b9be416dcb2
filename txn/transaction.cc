// The life of a transaction, and why each isolation level gives what it
// promises (include/mvdb/options.h, IsolationLevel).
//
//  1. Private writes. Put and Delete go to the transaction's write set
//     (and lock the key); nothing reaches a tree before commit, so no one
//     can read an uncommitted value (no G1a, G1b) and a rollback only drops
//     the set. Reads look in the write set first (read your writes).
//  2. Snapshots. Snapshot isolation takes one registered snapshot at the
//     first operation (PostgreSQL's REPEATABLE READ takes it at the first
//     statement). Read committed reads the newest committed version per
//     point read (VersionStore::ReadLatest) and registers a snapshot per
//     iterator. A snapshot at ts sees exactly the commits at or below ts
//     (mvcc/timeline.h), so it never sees half of a commit. A shared
//     Snapshot (db/snapshot.cc) registers one the same way, outside any
//     transaction, and is counted and reclaimed like these.
//  3. Locks before writes. Every write (and GetForUpdate) first takes the
//     key's row lock, held until commit or rollback (LockManager). A commit
//     releases its locks only after it is visible (step 6), so whoever gets
//     the lock next sees the commit with a fresh read. Only a lock holder
//     installs a key, so the tree entry read right after locking stays the
//     key's entry until this transaction installs over it (the collector
//     may remove it if it is an old tombstone, which changes nothing any
//     snapshot sees); that read serves the check of 4 and the install.
//  4. First updater wins. At snapshot isolation, after taking the lock,
//     a writer compares the key's tree entry (the newest committed version,
//     or one whose committer still holds the lock, which it cannot, since
//     we hold it) with its snapshot: newer means someone committed a change
//     after the snapshot, and the write fails with Conflict. This forbids
//     lost updates (P4) and, with 2, gives snapshot isolation. The snapshot
//     is taken before the lock wait, so a waiter whose holder commits a
//     change fails, and one whose holder rolls back goes on.
//  5. Errors end the transaction at once. A retryable error (Conflict,
//     Deadlock, LockTimeout, SnapshotTooOld) fails the transaction: its
//     locks and snapshot are released right away, as PostgreSQL does when
//     a statement fails, and every later call but Rollback gets Aborted.
//  6. Commit: the write set becomes one TreeBatch; Engine::Commit appends
//     its record and, under the commit lock, tells the timeline the commit
//     is in flight at ts = LSN + 1 (so in ts order); then, outside that
//     lock but under the checkpoint gate, each write is installed stamped
//     with ts (VersionStore::Install), in parallel with other commits: the
//     row locks of 3 keep any two from writing one key. Once durable, FinishCommit waits
//     until visible() >= ts; only then are the locks released and OK
//     returned. So an acknowledged commit is durable and seen by every
//     later snapshot, and the commit order (ts) is the log order.
//  7. A commit that fails after its record was appended (an I/O error)
//     has failed the engine; it is abandoned and stays in flight forever, so
//     nothing at or after its ts becomes visible, later commits that were
//     already durable fail too (their outcome is for recovery to tell), and
//     reads go on at the last good state until the database is reopened and
//     recovers what was durable.
//  8. The read committed re-check follows rows, not keys. A statement that
//     read a row through an iterator and then locks it (GetForUpdate with
//     the iterator) acts on the newest version only if it continues the
//     row the iterator's snapshot saw; if that row was deleted meanwhile,
//     a value put under the key since is another row, which the statement's
//     snapshot did not see, so the answer is NotFound (PostgreSQL follows
//     the update chain from the tuple it read, and a delete ends it). The
//     newest version is the key's tree entry, read under the lock (3);
//     whether it continues the row is VersionStore::RowSince over the
//     versions committed after the snapshot, all kept because the
//     iterator still holds it (mvcc/version_store.cc, invariant 7). A
//     transaction that deletes a key and then puts it leaves one version,
//     so it marks that version as starting a new row (Key::deleted).
//  9. Bounded write sets. Every key in the write set is charged what it
//     takes on the heap (KeyBytes: its entry, name, lock, base and value,
//     and its op's share of the log record). A Put, Delete or GetForUpdate
//     that would take the set past Options::max_transaction_bytes fails
//     with InvalidArgument before anything changes (a key locked only to
//     find that out is unlocked again), so the transaction stays active.
//     The set is never larger than the limit, the commit moves the values
//     into its batch rather than copying them, and the limit is capped at
//     what one log record carries, so a transaction that could write can
//     commit, and its commit holds at most the set, the record and the
//     log's copy of it.
// 10. Writes without a read (Database::Write, Put and Delete: a WriteBatch,
//     db/write_batch.cc) are a blind transaction at read committed: they
//     lock their tables and keys as any writer does (3; keys in key order,
//     so two batches never deadlock with each other), but read nothing,
//     not even the tree entry at lock time: the install reads it (under the
//     same row lock, so it is the same entry 3 would have read), and for a
//     key that has none inserts in one descent (BTree::Insert). Each key
//     gets a version stamped with the batch's ts like any commit's, so the
//     rules above hold against it unchanged: a snapshot-isolation writer
//     whose snapshot predates the batch fails with Conflict at 4, even if
//     it only read the key before the batch (PostgreSQL's 40001); a
//     read-committed waiter goes on after the batch's unlock (6) and reads
//     the batch's value; and a batch waiting for a transaction's key goes
//     on once it ends, writing over what it committed (a blind write
//     checks no first updater). The write set (9) counts no base entry, so
//     the old values a batch replaces are bounded only by
//     max_version_bytes: they go to chains at install, and the commit that
//     leaves the chains over that limit collects (reclaiming the oldest
//     snapshots) before it returns, as every commit does. Its cost per
//     key is kept to the lock and the install: the log record's batch
//     borrows the keys and values (TreeBatch::PutBorrowed; the caller's
//     WriteBatch outlives the commit, which ends before WriteBlind
//     returns), the row locks' names share one buffer and are released a
//     lock-table shard at a time (LockManager::UnlockMany), and the puts
//     go into the tree a leaf at a time (VersionStore::InstallPuts,
//     BTree::InsertRun).
#include "txn/transaction.h"

#include <algorithm>
#include <utility>

#include "btree/btree.h"  // kMaxKeySize, kMaxValueSize
#include "common/coding.h"
#include "engine/engine.h"
#include "engine/record_format.h"
#include "mvcc/footprint.h"
#include "wal/log_format.h"

namespace mvdb {

namespace {

constexpr size_t kTableIdBytes = 4;
// The collector's identity in the lock table (transaction ids count up
// from 1 and never get here).
constexpr TxnId kCollectorTxn = ~TxnId{0};

TableId TableOf(const std::string& name) {
  return DecodeFixed32(reinterpret_cast<const std::byte*>(name.data()));
}

// The largest write set whose commit fits in one log record: every entry
// counts at least its op's share of the record (KeyBytes).
constexpr size_t kMaxTransactionBytes =
    log_format::kMaxPayloadHardLimit - db_record::kBatchHeaderSize;

// What a key costs the write set (mvcc/footprint.h): its node in keys_,
// its name there and in the lock table with the lock's entry, the tree
// entry read after locking, and, written, its value and its op's header and
// tree name in the commit's log record (the record then never outgrows the
// write set). Written values are fresh strings (Txn::Write): capacity = size.
size_t KeyBytes(size_t name_size, const std::optional<std::string>& base, bool written,
                size_t value_size, size_t tree_name_size) {
  using LockEntry = std::pair<const std::string, std::pair<TxnId, std::vector<TxnId>>>;
  size_t bytes = footprint::MapNode<std::pair<const std::string, Txn::Key>>() +
                 footprint::HashNode<LockEntry>() + footprint::kBucket +
                 2 * footprint::StringCharacters(name_size);
  if (base.has_value()) bytes += footprint::String(*base);
  if (written) {
    bytes += footprint::StringCharacters(value_size) + db_record::kOpHeaderSize + tree_name_size;
  }
  return bytes;
}

}  // namespace

Status SnapshotReclaimed(Timestamp ts) {
  return Status::SnapshotTooOld("snapshot " + std::to_string(ts) +
                                " was reclaimed: old versions exceeded max_version_bytes");
}

// ---- TxnManager ----

TxnManager::TxnManager(Engine* engine, const Options& options, Catalog* catalog,
                       bool skip_write_conflict_check)
    : engine_(engine),
      options_(options),
      max_transaction_bytes_(std::min(options.max_transaction_bytes, kMaxTransactionBytes)),
      skip_write_conflict_check_(skip_write_conflict_check),
      catalog_(catalog),
      timeline_(engine->next_lsn()),
      versions_(&timeline_, engine->next_lsn()) {}

TxnManager::~TxnManager() = default;

std::unique_ptr<Txn> TxnManager::Begin(const TransactionOptions& options, bool blind) {
  const IsolationLevel isolation = options.isolation.value_or(options_.default_isolation);
  const std::optional<std::chrono::milliseconds> timeout =
      options.lock_timeout.has_value() ? options.lock_timeout : options_.lock_timeout;
  std::unique_ptr<Txn> txn(new Txn(this, next_id_.fetch_add(1, std::memory_order_relaxed), options,
                                   isolation, timeout, blind));
  Register(txn.get());
  return txn;
}

Status TxnManager::ApplyReplayed(const TreeBatch& batch, std::span<BTree* const> trees, Lsn lsn) {
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    const TreeBatch::Op& op = batch.ops()[i];
    const std::optional<std::string_view> value =
        op.is_delete ? std::nullopt : std::optional<std::string_view>(op.value);
    MVDB_RETURN_IF_ERROR(VersionStore::ApplyReplayed(trees[i], op.key, value, lsn + 1));
  }
  return Status::OK();
}

Status TxnManager::Collect(size_t max_items, bool wait) {
  std::unique_lock lock(collect_mu_, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return Status::OK();
  }
  if (wait) {
    catalog_->LockShared();
  } else if (!catalog_->TryLockShared()) {
    return Status::OK();
  }
  struct Unlock {
    Catalog* catalog;
    ~Unlock() { catalog->UnlockShared(); }
  } unlock{catalog_};
  const auto tree_of = [this](TableId id) -> BTree* {
    const std::optional<TableRef> table = catalog_->Find(id);
    return table.has_value() ? table->tree : nullptr;
  };
  const VersionStore::KeyLocks key_locks{
      [this](const std::string& name) { return locks_.TryLock(kCollectorTxn, name); },
      [this](const std::string& name) { locks_.Unlock(kCollectorTxn, name); }};
  MVDB_RETURN_IF_ERROR(
      versions_.Collect(timeline_.Watermark(), max_items, engine_, tree_of, key_locks));
  // Bound memory: reclaim the oldest snapshots while the versions they pin
  // exceed the limit (mvcc/version_store.cc, invariant 6).
  while (versions_.stats().bytes > options_.max_version_bytes) {
    const std::vector<uint64_t> victims = timeline_.ReclaimOldest();
    if (victims.empty()) break;
    // Counted now; the victims fail when they next call (Txn::CheckActive).
    aborts_snapshot_too_old_.fetch_add(victims.size(), std::memory_order_relaxed);
    MVDB_RETURN_IF_ERROR(versions_.Collect(timeline_.Watermark(), 0, engine_, tree_of, key_locks));
  }
  return Status::OK();
}

void TxnManager::Register(Txn* txn) {
  std::lock_guard lock(registry_mu_);
  txn->next_ = active_;
  if (active_ != nullptr) active_->prev_ = txn;
  active_ = txn;
  ++active_count_;
}

void TxnManager::Unregister(Txn* txn) {
  std::lock_guard lock(registry_mu_);
  if (txn->prev_ != nullptr) {
    txn->prev_->next_ = txn->next_;
  } else if (active_ == txn) {
    active_ = txn->next_;
  } else {
    return;  // not registered (already unregistered)
  }
  if (txn->next_ != nullptr) txn->next_->prev_ = txn->prev_;
  txn->prev_ = txn->next_ = nullptr;
  --active_count_;
}

void TxnManager::Count(const Status& cause) {
  switch (cause.code()) {
    case StatusCode::kConflict:
      aborts_conflict_.fetch_add(1, std::memory_order_relaxed);
      break;
    case StatusCode::kDeadlock:
      aborts_deadlock_.fetch_add(1, std::memory_order_relaxed);
      break;
    case StatusCode::kLockTimeout:
      aborts_lock_timeout_.fetch_add(1, std::memory_order_relaxed);
      break;
    case StatusCode::kSnapshotTooOld:
      aborts_snapshot_too_old_.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      aborts_other_.fetch_add(1, std::memory_order_relaxed);
  }
}

TxnManagerStats TxnManager::stats() const {
  TxnManagerStats s;
  s.commits = commits_.load(std::memory_order_relaxed);
  s.read_only_commits = read_only_commits_.load(std::memory_order_relaxed);
  s.rollbacks = rollbacks_.load(std::memory_order_relaxed);
  s.aborts_conflict = aborts_conflict_.load(std::memory_order_relaxed);
  s.aborts_deadlock = aborts_deadlock_.load(std::memory_order_relaxed);
  s.aborts_lock_timeout = aborts_lock_timeout_.load(std::memory_order_relaxed);
  s.aborts_snapshot_too_old = aborts_snapshot_too_old_.load(std::memory_order_relaxed);
  s.aborts_other = aborts_other_.load(std::memory_order_relaxed);
  std::lock_guard lock(registry_mu_);
  s.active = active_count_;
  return s;
}

std::vector<TransactionInfo> TxnManager::ListTransactions() const {
  std::vector<TransactionInfo> out;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(registry_mu_);
    for (const Txn* txn = active_; txn != nullptr; txn = txn->next_) {
      TransactionInfo info;
      info.id = txn->id();
      info.isolation = txn->isolation();
      info.state = txn->state();
      info.has_snapshot = txn->has_snapshot_.load(std::memory_order_acquire);
      info.snapshot_ts = txn->snapshot_ts_.load(std::memory_order_relaxed);
      info.writes = txn->write_count_.load(std::memory_order_relaxed);
      info.age_ms = std::chrono::duration<double, std::milli>(now - txn->started_).count();
      out.push_back(info);
    }
  }
  for (TransactionInfo& info : out) info.waiting_for = locks_.WaitingFor(info.id);
  std::sort(out.begin(), out.end(),
            [](const TransactionInfo& a, const TransactionInfo& b) { return a.id < b.id; });
  return out;
}

// ---- Txn ----

Txn::Txn(TxnManager* manager, TxnId id, const TransactionOptions& options, IsolationLevel isolation,
         std::optional<std::chrono::milliseconds> lock_timeout, bool blind)
    : manager_(manager),
      id_(id),
      isolation_(isolation),
      read_only_(options.read_only),
      blind_(blind),
      lock_timeout_(lock_timeout),
      started_(std::chrono::steady_clock::now()) {
  snapshot_.txn_id = id;
}

Txn::~Txn() {
  const TransactionState state = this->state();
  if (state == TransactionState::kActive || state == TransactionState::kFailed) {
    (void)Rollback();
  }
}

Status Txn::CheckActive() {
  switch (state()) {
    case TransactionState::kActive:
      break;
    case TransactionState::kFailed:
      return Status::Aborted("transaction " + std::to_string(id_) +
                             " failed earlier and can only be rolled back (" + failure_.ToString() +
                             ")");
    default:
      return Status::InvalidArgument("transaction " + std::to_string(id_) + " has ended");
  }
  if (snapshot_.too_old.load(std::memory_order_acquire)) {
    return FailWith(SnapshotReclaimed(snapshot_.ts));
  }
  return Status::OK();
}

Status Txn::CheckReadable(const SnapshotOwner* owner) {
  if (owner != nullptr && owner->too_old.load(std::memory_order_acquire)) {
    return FailWith(SnapshotReclaimed(owner->ts));
  }
  return CheckActive();
}

Timestamp Txn::EnsureSnapshot() {
  if (!has_snapshot_.load(std::memory_order_relaxed)) {
    snapshot_ts_.store(manager_->timeline().Acquire(&snapshot_), std::memory_order_relaxed);
    has_snapshot_.store(true, std::memory_order_release);
  }
  return snapshot_.ts;
}

Status Txn::StartAt(SnapshotOwner* base) {
  if (!manager_->timeline().AcquireAt(&snapshot_, base)) {
    // Counted when base was reclaimed. Born reclaimed, unregistered: its
    // first call fails it with SnapshotTooOld (CheckActive), as any
    // reclaimed transaction's does, so Run and IsRetryable see the cause.
    snapshot_.ts = base->ts;
    snapshot_.too_old.store(true, std::memory_order_release);
    snapshot_ts_.store(snapshot_.ts, std::memory_order_relaxed);
    has_snapshot_.store(true, std::memory_order_release);
    return SnapshotReclaimed(base->ts);
  }
  snapshot_ts_.store(snapshot_.ts, std::memory_order_relaxed);
  has_snapshot_.store(true, std::memory_order_release);
  return Status::OK();
}

Status Txn::FailWith(Status status) {
  if (state() != TransactionState::kActive) return status;
  if (!status.IsSnapshotTooOld()) manager_->Count(status);  // counted at the reclaim
  failure_ = status;
  UnlockAll();  // invariant 5
  manager_->timeline().Release(&snapshot_);
  state_.store(TransactionState::kFailed, std::memory_order_release);
  return status;
}

void Txn::UnlockAll() {
  for (const auto& [name, key] : keys_) manager_->locks().Unlock(id_, name);
  if (!blind_lock_ends_.empty()) {
    std::vector<std::string_view> names;
    names.reserve(blind_lock_ends_.size());
    size_t begin = 0;
    for (const size_t end : blind_lock_ends_) {
      names.push_back(std::string_view(blind_lock_names_).substr(begin, end - begin));
      begin = end;
    }
    manager_->locks().UnlockMany(id_, names);
  }
  blind_lock_names_.clear();
  blind_lock_ends_.clear();
  for (const auto& [name, modes] : table_locks_) manager_->locks().UnlockTable(id_, name);
  table_locks_.clear();
  keys_.clear();
  written_ = 0;
  write_set_bytes_ = 0;
  write_count_.store(0, std::memory_order_relaxed);
}

void Txn::Finish(TransactionState final_state) {
  UnlockAll();
  manager_->timeline().Release(&snapshot_);
  state_.store(final_state, std::memory_order_release);
  manager_->Unregister(this);
}

Status CheckKeyAndValueSize(std::string_view key, size_t value_size) {
  if (key.empty() || key.size() > kMaxKeySize) {
    return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                   " bytes: keys are 1 to " + std::to_string(kMaxKeySize) +
                                   " bytes");
  }
  if (value_size > kMaxValueSize) {
    return Status::InvalidArgument("value of " + std::to_string(value_size) + " bytes exceeds " +
                                   std::to_string(kMaxValueSize));
  }
  return Status::OK();
}

Status Txn::ValidateWrite(std::string_view key, size_t value_size) const {
  if (read_only_) {
    return Status::InvalidArgument("transaction " + std::to_string(id_) + " is read-only");
  }
  return CheckKeyAndValueSize(key, value_size);
}

Status Txn::Get(const TableRef& table, std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ERROR(CheckActive());
  // Only a transaction that wrote needs the name (an allocation) to look up.
  if (const auto own =
          keys_.empty() ? keys_.end() : keys_.find(LockManager::LockName(table.id, key));
      own != keys_.end() && own->second.written) {
    if (own->second.is_delete) return Status::NotFound("deleted by this transaction");
    *value = own->second.value;
    return Status::OK();
  }
  Status read;
  if (isolation_ == IsolationLevel::kSnapshot) {
    const Timestamp snapshot = EnsureSnapshot();
    read = manager_->versions().Read(table.id, table.tree, key, snapshot, value);
  } else {
    read = manager_->versions().ReadLatest(table.id, table.tree, key, value);
  }
  MVDB_RETURN_IF_ERROR(CheckReadable(&snapshot_));  // invariant 6 of version_store.cc
  return read;
}

Result<Txn::Key*> Txn::LockForWrite(const TableRef& table, std::string_view key, std::string name) {
  const bool snapshot_isolation = isolation_ == IsolationLevel::kSnapshot;
  const Timestamp snapshot = snapshot_isolation ? EnsureSnapshot() : 0;  // invariant 4
  bool newly = false;
  bool waited = false;
  const Status locked = manager_->locks().Lock(id_, name, lock_timeout_, &newly, &waited);
  // Recorded even on failure if taken, so that it is released.
  Key& state = keys_.try_emplace(std::move(name)).first->second;
  if (!locked.ok()) return FailWith(locked);
  MVDB_RETURN_IF_ERROR(CheckActive());
  // Invariant 3: read once, here, outside the commit lock; Install reuses it.
  // A blind transaction leaves it to Install (invariant 10).
  if (!state.base_read && !blind_) {
    MVDB_ASSIGN_OR_RETURN(state.base, VersionStore::ReadEntry(table.tree, key));
    state.base_read = true;
  }
  if (!snapshot_isolation || manager_->skip_write_conflict_check_ || !state.base.has_value()) {
    return &state;
  }
  MVDB_ASSIGN_OR_RETURN(const EntryView newest, DecodeEntry(*state.base, key));
  if (newest.ts > snapshot) {
    // PostgreSQL's words: "delete" when the row the snapshot saw is gone
    // (even if a new row took its key: invariant 8), else "update".
    const bool deleted = manager_->versions().RowSince(table.id, key, newest, snapshot) ==
                         VersionStore::RowFate::kDeleted;
    return FailWith(Status::Conflict(std::string(deleted ? kConcurrentDelete : kConcurrentUpdate) +
                                     ": key changed by a commit at ts " +
                                     std::to_string(newest.ts) + " after snapshot " +
                                     std::to_string(snapshot)));
  }
  return &state;
}

Status Txn::CheckRoom(size_t before, size_t after) const {
  const size_t limit = manager_->max_transaction_bytes();
  const size_t total = write_set_bytes_ - before + after;
  if (total <= limit) return Status::OK();
  return Status::InvalidArgument("transaction is too large: its writes would take " +
                                 std::to_string(total) + " bytes of memory, more than " +
                                 "max_transaction_bytes (" + std::to_string(limit) + ")");
}

Result<Txn::Key*> Txn::LockWithinLimit(const TableRef& table, std::string_view key, bool write,
                                       size_t value_size) {
  std::string name = LockManager::LockName(table.id, key);
  const size_t name_size = name.size();
  const size_t tree_name_size = table.name == nullptr ? 0 : table.name->size();
  const auto known = keys_.find(name);
  const bool is_new = known == keys_.end();
  // The entry as it will be; a new key's tree entry is read only once locked.
  const Key none;
  const Key& now = is_new ? none : known->second;
  const bool written = write || now.written;
  const size_t value = write ? value_size : now.value.size();
  MVDB_RETURN_IF_ERROR(
      CheckRoom(now.bytes, KeyBytes(name_size, now.base, written, value, tree_name_size)));
  MVDB_ASSIGN_OR_RETURN(Key * state, LockForWrite(table, key, std::move(name)));
  const size_t bytes = KeyBytes(name_size, state->base, written, value, tree_name_size);
  if (const Status room = CheckRoom(state->bytes, bytes); !room.ok()) {
    if (is_new) {  // locked by this call alone: as if it never was
      const std::string again = LockManager::LockName(table.id, key);
      manager_->locks().Unlock(id_, again);
      keys_.erase(again);
    }
    return room;
  }
  write_set_bytes_ = write_set_bytes_ - state->bytes + bytes;
  state->bytes = bytes;
  return state;
}

Status Txn::GetForUpdate(const TableRef& table, std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ERROR(CheckActive());
  MVDB_RETURN_IF_ERROR(ValidateWrite(key, 0));
  MVDB_RETURN_IF_ERROR(LockWithinLimit(table, key, /*write=*/false, 0).status());
  return Get(table, key, value);  // at read committed: the newest, after the wait
}

Status Txn::GetForUpdate(const TableRef& table, std::string_view key, std::string* value,
                         const TxnIterator& read_by) {
  MVDB_RETURN_IF_ERROR(CheckActive());
  if (read_by.txn() != this) {
    return Status::InvalidArgument("the iterator belongs to another transaction or a snapshot");
  }
  MVDB_RETURN_IF_ERROR(read_by.status());  // an iterator that failed holds no snapshot
  MVDB_RETURN_IF_ERROR(ValidateWrite(key, 0));
  MVDB_ASSIGN_OR_RETURN(const Key* state, LockWithinLimit(table, key, /*write=*/false, 0));
  // Snapshot isolation: LockForWrite failed on any change after the
  // snapshot, which is read_by's; own writes are what the iterator merged.
  if (isolation_ == IsolationLevel::kSnapshot || state->written) return Get(table, key, value);
  if (!state->base.has_value()) return Status::NotFound("no row");
  MVDB_ASSIGN_OR_RETURN(const EntryView newest, DecodeEntry(*state->base, key));
  const VersionStore::RowFate fate =
      manager_->versions().RowSince(table.id, key, newest, read_by.snapshot());  // invariant 8
  // A reclaimed snapshot may have lost the versions just walked.
  MVDB_RETURN_IF_ERROR(CheckReadable(read_by.reclaim_owner()));
  if (fate == VersionStore::RowFate::kNoRow) return Status::NotFound("no row");
  if (fate == VersionStore::RowFate::kDeleted) {
    return Status::NotFound("the row was deleted after the iterator's snapshot");
  }
  value->assign(newest.value);
  return Status::OK();
}

Status Txn::Put(const TableRef& table, std::string_view key, std::string_view value) {
  MVDB_RETURN_IF_ERROR(CheckActive());
  MVDB_RETURN_IF_ERROR(ValidateWrite(key, value.size()));
  MVDB_ASSIGN_OR_RETURN(Key * state, LockWithinLimit(table, key, /*write=*/true, value.size()));
  Write(state, false, value);
  return Status::OK();
}

Status Txn::Delete(const TableRef& table, std::string_view key) {
  MVDB_RETURN_IF_ERROR(CheckActive());
  MVDB_RETURN_IF_ERROR(ValidateWrite(key, 0));
  MVDB_ASSIGN_OR_RETURN(Key * state, LockWithinLimit(table, key, /*write=*/true, 0));
  Write(state, true, {});
  return Status::OK();
}

void Txn::Write(Key* state, bool is_delete, std::string_view value) {
  if (!state->written) ++written_;
  state->written = true;
  state->is_delete = is_delete;
  state->deleted = state->deleted || is_delete;  // invariant 8
  // A fresh string, so its capacity is its size, as KeyBytes counts it
  // (assign would keep a larger buffer from an earlier write).
  state->value = std::string(value);
  write_count_.store(written_, std::memory_order_relaxed);
}

Status Txn::Commit(const CommitOptions& options) {
  if (state() == TransactionState::kFailed) {
    const Status failure = failure_;
    Finish(TransactionState::kRolledBack);
    return failure;
  }
  MVDB_RETURN_IF_ERROR(CheckActive());
  if (written_ == 0) {
    Finish(TransactionState::kCommitted);
    manager_->read_only_commits_.fetch_add(1, std::memory_order_relaxed);
    return Status::OK();
  }
  // The batch takes the values over from the write set, so a commit holds
  // its values once plus the log record (at most max_transaction_bytes
  // each), not a copy more.
  TreeBatch batch;
  batch.Reserve(written_);
  std::vector<TableId> op_tables;
  std::vector<const std::optional<std::string>*> op_bases;
  std::vector<uint8_t> op_new_rows;  // a put after this transaction's delete of the key
  op_tables.reserve(written_);
  op_bases.reserve(written_);
  op_new_rows.reserve(written_);
  bool dropped = false;
  manager_->catalog_->LockShared();  // only to name the tables
  for (auto& [name, write] : keys_) {
    if (!write.written) continue;  // locked by GetForUpdate only
    const TableId table = TableOf(name);
    const std::optional<TableRef> ref = manager_->catalog_->Find(table);
    if (!ref.has_value()) {
      dropped = true;
      break;
    }
    const std::string_view key = std::string_view(name).substr(kTableIdBytes);
    if (write.is_delete) {
      batch.Delete(*ref->name, key);
    } else {
      batch.PutMoved(*ref->name, key, std::move(write.value));
    }
    op_tables.push_back(table);
    op_bases.push_back(write.base_read ? &write.base : nullptr);
    op_new_rows.push_back(write.deleted && !write.is_delete);
  }
  manager_->catalog_->UnlockShared();
  if (dropped) {
    const Status status =
        Status::NotFound("a table this transaction wrote to was dropped before it committed");
    manager_->Count(status);
    Finish(TransactionState::kRolledBack);
    return status;
  }
  return CommitBatch(batch, op_tables, op_bases, op_new_rows, options);
}

Status Txn::CommitBatch(const TreeBatch& batch, const std::vector<TableId>& op_tables,
                        const std::vector<const std::optional<std::string>*>& op_bases,
                        const std::vector<uint8_t>& op_new_rows, const CommitOptions& options) {
  // A table dropped from here on fails the engine's commit with NotFound
  // (it checks every tree under its commit lock, as DropTree takes it).
  Timestamp ts = 0;
  VersionStore& versions = manager_->versions();
  Timeline& timeline = manager_->timeline();
  // Invariant 6. In flight in log order (under the engine's commit lock);
  // installed in parallel with other commits, as this one holds the row
  // lock of every key it writes.
  Engine::ConcurrentApply in_flight;
  in_flight.appended = [&](Lsn lsn) {
    ts = lsn + 1;
    timeline.BeginCommit(ts);
  };
  // A run of puts nobody read (a write batch's, in key order) to one tree
  // goes in with InstallPuts: a latch a leaf instead of a descent a key.
  std::vector<std::string_view> run_keys;
  std::vector<std::string_view> run_values;
  const auto install = [&](const TreeBatch& logged, std::span<BTree* const> trees,
                           Lsn lsn) -> Status {
    const std::vector<TreeBatch::Op>& ops = logged.ops();
    for (size_t i = 0; i < ops.size();) {
      if (op_bases.empty() && !ops[i].is_delete) {
        size_t end = i + 1;
        while (end < ops.size() && !ops[end].is_delete && trees[end] == trees[i]) ++end;
        if (end - i > 1) {
          run_keys.clear();
          run_values.clear();
          for (size_t k = i; k < end; ++k) {
            run_keys.push_back(ops[k].key);
            run_values.push_back(ops[k].value);
          }
          MVDB_RETURN_IF_ERROR(
              versions.InstallPuts(op_tables[i], trees[i], run_keys, run_values,
                                   std::span<const uint8_t>(op_new_rows).subspan(i, end - i), ts));
          i = end;
          continue;
        }
      }
      const TreeBatch::Op& op = ops[i];
      const std::optional<std::string_view> value =
          op.is_delete ? std::nullopt : std::optional<std::string_view>(op.value);
      const std::optional<std::string>* base = op_bases.empty() ? nullptr : op_bases[i];
      MVDB_RETURN_IF_ERROR(
          versions.Install(op_tables[i], trees[i], op.key, value, ts, base, op_new_rows[i] != 0));
      ++i;
    }
    return Status::OK();
  };
  const SyncMode sync = options.sync.value_or(manager_->options().sync);
  const Result<Lsn> committed = manager_->engine()->Commit(batch, sync, install, &in_flight);
  if (!committed.ok()) {
    if (ts != 0) timeline.AbandonCommit(ts);  // invariant 7
    manager_->Count(committed.status());
    Finish(TransactionState::kRolledBack);
    return committed.status();
  }
  if (!timeline.FinishCommit(ts)) {  // invariant 7: an earlier commit failed
    Status failed = manager_->engine()->health();
    if (failed.ok()) failed = Status::IOError("an earlier commit failed; this one is not visible");
    manager_->Count(failed);
    Finish(TransactionState::kRolledBack);
    return failed;
  }
  const size_t written = written_;
  Finish(TransactionState::kCommitted);
  manager_->commits_.fetch_add(1, std::memory_order_relaxed);
  // Opportunistic collection: a few items per write, skipped when another
  // pass runs. Its failure is the engine's and shows at the next commit.
  // A commit that left the old versions over max_version_bytes waits for
  // a whole pass, which reclaims snapshots until they fit: writers cannot
  // outrun the bound between background passes.
  if (versions.bytes() > manager_->options().max_version_bytes) {
    (void)manager_->Collect(0, /*wait=*/true);
  } else {
    (void)manager_->Collect(4 * written + 4, /*wait=*/false);
  }
  return Status::OK();
}

Status Txn::WriteBlind(std::span<const BlindWrite> writes, const CommitOptions& options) {
  MVDB_RETURN_IF_ERROR(CheckActive());
  // The writes that stay (the last of each key's), and the room they take.
  const auto same_key = [&](size_t i, size_t j) {
    return writes[i].table->id == writes[j].table->id && writes[i].key == writes[j].key;
  };
  size_t kept = 0;
  size_t bytes = 0;
  size_t name_bytes = 0;  // of the lock names
  for (size_t i = 0; i < writes.size(); ++i) {
    if (i + 1 < writes.size() && same_key(i, i + 1)) continue;
    const BlindWrite& w = writes[i];
    ++kept;
    name_bytes += kTableIdBytes + w.key.size();
    bytes += KeyBytes(kTableIdBytes + w.key.size(), std::nullopt, true, w.value.size(),
                      w.table->name == nullptr ? 0 : w.table->name->size());
  }
  if (bytes > manager_->max_transaction_bytes()) {
    const Status status = CheckRoom(write_set_bytes_, bytes);
    Finish(TransactionState::kRolledBack);
    return status;
  }
  // Invariant 3, in the order given (key order: invariant 10): the names,
  // one after another in blind_lock_names_, locked in that order (LockMany).
  std::vector<size_t> name_ends;
  name_ends.reserve(kept);
  TreeBatch batch;
  batch.Reserve(kept);
  std::vector<TableId> op_tables;
  std::vector<uint8_t> op_new_rows;
  op_tables.reserve(kept);
  op_new_rows.reserve(kept);
  const size_t names_begin = blind_lock_names_.size();
  blind_lock_names_.reserve(names_begin + name_bytes);
  bool deleted = false;  // an earlier write of this key was a delete (invariant 8)
  for (size_t i = 0; i < writes.size(); ++i) {
    const BlindWrite& w = writes[i];
    if (i + 1 < writes.size() && same_key(i, i + 1)) {
      deleted = deleted || w.is_delete;
      continue;
    }
    const size_t begin = blind_lock_names_.size();
    blind_lock_names_.resize(begin + kTableIdBytes);
    EncodeFixed32(reinterpret_cast<std::byte*>(blind_lock_names_.data() + begin), w.table->id);
    blind_lock_names_.append(w.key);
    name_ends.push_back(blind_lock_names_.size());
    // The batch borrows the names, keys and values: the caller's, alive
    // until this call returns, and the commit is over by then.
    if (w.is_delete) {
      batch.DeleteBorrowed(*w.table->name, w.key);
    } else {
      batch.PutBorrowed(*w.table->name, w.key, w.value);
    }
    op_tables.push_back(w.table->id);
    op_new_rows.push_back(deleted && !w.is_delete ? 1 : 0);
    deleted = false;
  }
  // blind_lock_names_ is complete: views into it stay valid.
  std::vector<std::string_view> names;
  names.reserve(kept);
  for (size_t k = 0, begin = names_begin; k < name_ends.size(); begin = name_ends[k++]) {
    names.emplace_back(blind_lock_names_.data() + begin, name_ends[k] - begin);
  }
  std::vector<uint8_t> newly(names.size());
  const Status locked = manager_->locks().LockMany(id_, names, lock_timeout_, newly);
  // Kept: the names of the locks taken now (released by Finish or FailWith).
  std::string taken;
  taken.reserve(name_bytes);
  for (size_t k = 0; k < names.size(); ++k) {
    if (newly[k] == 0) continue;
    taken.append(names[k]);
    blind_lock_ends_.push_back(names_begin + taken.size());
  }
  blind_lock_names_.resize(names_begin);
  blind_lock_names_.append(taken);
  if (!locked.ok()) {
    const Status failure = FailWith(locked);
    Finish(TransactionState::kRolledBack);
    return failure;
  }
  written_ = kept;
  write_count_.store(kept, std::memory_order_relaxed);
  return CommitBatch(batch, op_tables, {}, op_new_rows, options);
}

Status Txn::Rollback() {
  const TransactionState state = this->state();
  if (state != TransactionState::kActive && state != TransactionState::kFailed) {
    return Status::InvalidArgument("transaction " + std::to_string(id_) + " has ended");
  }
  if (state == TransactionState::kActive) {
    manager_->rollbacks_.fetch_add(1, std::memory_order_relaxed);
  }
  Finish(TransactionState::kRolledBack);
  return Status::OK();
}

Status Txn::LockTable(std::string_view name, TableLockMode mode, bool* newly) {
  *newly = false;
  MVDB_RETURN_IF_ERROR(CheckActive());
  const auto bit = static_cast<uint8_t>(1u << static_cast<unsigned>(mode));
  auto held = std::find_if(table_locks_.begin(), table_locks_.end(),
                           [&](const auto& lock) { return lock.first == name; });
  if (held != table_locks_.end() && (held->second & bit) != 0) return Status::OK();
  std::string lock_name(name);
  const Status locked = manager_->locks().LockTable(id_, lock_name, mode, lock_timeout_, newly);
  if (!locked.ok()) return FailWith(locked);  // releases every lock (invariant 5)
  if (held == table_locks_.end()) {
    table_locks_.emplace_back(std::move(lock_name), bit);
  } else {
    held->second |= bit;
  }
  return Status::OK();
}

void Txn::UnlockTable(std::string_view name, TableLockMode mode) {
  const auto held = std::find_if(table_locks_.begin(), table_locks_.end(),
                                 [&](const auto& lock) { return lock.first == name; });
  if (held == table_locks_.end()) return;
  const auto bit = static_cast<uint8_t>(1u << static_cast<unsigned>(mode));
  manager_->locks().UnlockTable(id_, held->first, bit);
  held->second &= static_cast<uint8_t>(~bit);
  if (held->second == 0) table_locks_.erase(held);
}

Result<Timestamp> Txn::SnapshotForIterator(SnapshotOwner* owner) {
  MVDB_RETURN_IF_ERROR(CheckActive());
  if (isolation_ == IsolationLevel::kSnapshot) return EnsureSnapshot();
  owner->txn_id = id_;
  return manager_->timeline().Acquire(owner);
}

void Txn::ReleaseIteratorSnapshot(SnapshotOwner* owner) {
  if (owner != &snapshot_) manager_->timeline().Release(owner);
}

}  // namespace mvdb
