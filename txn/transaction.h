// The transaction manager: the life of a transaction from Begin to a
// durable commit or a rollback, on the storage engine (engine/), the
// versions (mvcc/) and the row locks (lock_manager.h). The public
// Transaction (include/mvdb/db.h) is a thin wrapper that names tables; here
// a table is its id and tree (db/ keeps the catalog). The protocol is the
// essay at the top of transaction.cc.
//
// Threading: TxnManager may be used from any thread; a Txn (and its
// iterators) from one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"
#include "mvcc/timeline.h"
#include "mvcc/version_store.h"
#include "mvdb/db.h"
#include "mvdb/options.h"
#include "txn/lock_manager.h"

namespace mvdb {

class BTree;
class BTreeCursor;
class Engine;
class TxnIterator;
class TxnManager;

// A table as the transaction layer sees it.
struct TableRef {
  TableId id = 0;
  BTree* tree = nullptr;
  const std::string* name = nullptr;  // owned by the catalog, lives as long as the table
};

// How a Conflict of first updater wins begins: the row the snapshot saw
// was deleted (perhaps with a new row under its key since), or changed.
inline constexpr char kConcurrentDelete[] = "could not serialize access due to concurrent delete";
inline constexpr char kConcurrentUpdate[] = "could not serialize access due to concurrent update";

// What a read through a snapshot that the memory bound reclaimed answers
// (TxnManager::Collect).
Status SnapshotReclaimed(Timestamp ts);

// InvalidArgument if a key (1 to kMaxKeySize bytes) or a value size
// (up to kMaxValueSize) is out of bounds: what every write checks, in a
// transaction (Txn) or a write batch (db/write_batch.cc).
Status CheckKeyAndValueSize(std::string_view key, size_t value_size);

class Txn {
 public:
  ~Txn();  // rolls back if still open

  TxnId id() const { return id_; }
  IsolationLevel isolation() const { return isolation_; }
  TransactionState state() const { return state_.load(std::memory_order_acquire); }
  bool read_only() const { return read_only_; }

  Status Get(const TableRef& table, std::string_view key, std::string* value);
  Status GetForUpdate(const TableRef& table, std::string_view key, std::string* value);
  // GetForUpdate for a caller that read `key` through `read_by`, an open
  // iterator of this transaction (db.h): at read committed NotFound unless
  // the row read_by's snapshot saw lives on in the newest version
  // (invariant 8 of transaction.cc). InvalidArgument for another
  // transaction's iterator.
  Status GetForUpdate(const TableRef& table, std::string_view key, std::string* value,
                      const TxnIterator& read_by);
  Status Put(const TableRef& table, std::string_view key, std::string_view value);
  Status Delete(const TableRef& table, std::string_view key);
  Status Commit(const CommitOptions& options);
  Status Rollback();

  // One write of a blind transaction (WriteBlind): a put of `value`, or a
  // delete.
  struct BlindWrite {
    const TableRef* table = nullptr;
    std::string_view key;
    bool is_delete = false;
    std::string_view value;
  };
  // A blind transaction's whole work (transaction.cc, invariant 10): locks
  // the key of every write, in the order given, then commits them all as
  // one batch; the later of two writes of a key wins. No write set is kept:
  // the commit costs a lock and an install per key. REQUIRES: a blind
  // transaction that has done nothing but lock its tables (kRowExclusive),
  // `writes` in (table id, key) order with a key's writes in the order
  // made, keys and values valid (ValidateWrite). InvalidArgument, before
  // any key is locked, if the writes would take more than
  // max_transaction_bytes (counted as a write set); else Commit's errors.
  // Ends the transaction either way.
  Status WriteBlind(std::span<const BlindWrite> writes, const CommitOptions& options);

  // Takes table lock `name` in `mode` (LockManager::LockTable), held to the
  // end; Deadlock and LockTimeout fail the transaction. *newly: the mode
  // was not held before. UnlockTable gives back that mode, taken on a
  // table that turned out not to exist; the modes held before stay.
  Status LockTable(std::string_view name, TableLockMode mode, bool* newly);
  void UnlockTable(std::string_view name, TableLockMode mode);

  // Takes the transaction's snapshot now, at base's timestamp (a
  // transaction begun at a shared Snapshot: TransactionOptions::snapshot)
  // rather than at its first operation. Fails the transaction with
  // SnapshotTooOld if base was reclaimed. REQUIRES: snapshot isolation,
  // before any operation.
  Status StartAt(SnapshotOwner* base);

  // The snapshot reads go through: the transaction's (snapshot isolation)
  // or a new one owned by `owner` (read committed iterators). Fails if the
  // transaction cannot read (failed, ended, snapshot too old).
  Result<Timestamp> SnapshotForIterator(SnapshotOwner* owner);
  // OK while the transaction may go on reading; else the error a read gets
  // (and, for SnapshotTooOld, fails the transaction).
  Status CheckReadable(const SnapshotOwner* owner);
  void ReleaseIteratorSnapshot(SnapshotOwner* owner);

  // What the transaction holds of a key, named LockManager::LockName(table,
  // key): the row lock (always), the tree entry read right after taking it
  // (it cannot change while the lock is held: transaction.cc, invariant 3),
  // and the transaction's write of it, if any.
  struct Key {
    bool base_read = false;           // false only in a blind transaction
    std::optional<std::string> base;  // the tree entry; nullopt: none
    bool written = false;
    bool is_delete = false;
    // The transaction deleted the key: a later put of it starts a new row
    // (mvcc/version_format.md, the new-row flag).
    bool deleted = false;
    std::string value;
    size_t bytes = 0;  // what the entry counts against max_transaction_bytes
  };
  const std::map<std::string, Key>& keys() const { return keys_; }
  // The memory the keys take (mvcc/footprint.h), at most
  // Options::max_transaction_bytes.
  size_t write_set_bytes() const { return write_set_bytes_; }
  TxnManager* manager() const { return manager_; }

 private:
  friend class TxnManager;
  Txn(TxnManager* manager, TxnId id, const TransactionOptions& options, IsolationLevel isolation,
      std::optional<std::chrono::milliseconds> lock_timeout, bool blind);

  // The snapshot of a snapshot-isolation transaction, taken at the first
  // operation.
  Timestamp EnsureSnapshot();
  // Fails unless active; turns a reclaimed snapshot into SnapshotTooOld.
  Status CheckActive();
  // Locks `name`, reads its tree entry once and, at snapshot isolation,
  // checks first updater wins. Returns the key's state.
  Result<Key*> LockForWrite(const TableRef& table, std::string_view key, std::string name);
  // LockForWrite within max_transaction_bytes: locks `key` and charges its
  // entry as it will be once `write` (a put of value_size bytes or a
  // delete; false: GetForUpdate's lock alone) is recorded. A key that does
  // not fit is refused with InvalidArgument before it is locked, or, when
  // only the tree entry read after locking shows it, unlocked again: the
  // transaction is left as it was.
  Result<Key*> LockWithinLimit(const TableRef& table, std::string_view key, bool write,
                               size_t value_size);
  // InvalidArgument unless the write set fits once an entry counted
  // `before` bytes counts `after`.
  Status CheckRoom(size_t before, size_t after) const;
  // Commit's work once the write set is `batch`: op_tables[i], op_bases[i]
  // (empty: none read) and op_new_rows[i] are what Install needs of op i.
  Status CommitBatch(const TreeBatch& batch, const std::vector<TableId>& op_tables,
                     const std::vector<const std::optional<std::string>*>& op_bases,
                     const std::vector<uint8_t>& op_new_rows, const CommitOptions& options);
  // Releases every row and table lock.
  void UnlockAll();
  // Records the transaction's write of a locked key.
  void Write(Key* state, bool is_delete, std::string_view value);
  // Records a retryable (or fatal) error: the transaction is failed.
  Status FailWith(Status status);
  // Releases locks and snapshot, unregisters; the end of every path.
  void Finish(TransactionState final_state);
  Status ValidateWrite(std::string_view key, size_t value_size) const;

  TxnManager* manager_;
  const TxnId id_;
  const IsolationLevel isolation_;
  const bool read_only_;
  const bool blind_;  // TxnManager::Begin's `blind`
  const std::optional<std::chrono::milliseconds> lock_timeout_;
  const std::chrono::steady_clock::time_point started_;
  std::atomic<TransactionState> state_{TransactionState::kActive};
  SnapshotOwner snapshot_;           // registered at snapshot isolation
  std::map<std::string, Key> keys_;  // every key locked, in key order
  // WriteBlind's row locks, in no map: their names one after another in
  // blind_lock_names_ (one buffer, not a string per key), each ending at
  // its offset in blind_lock_ends_.
  std::string blind_lock_names_;
  std::vector<size_t> blind_lock_ends_;
  size_t written_ = 0;          // keys_ with written set
  size_t write_set_bytes_ = 0;  // the sum of keys_' bytes
  Status failure_;              // why the transaction failed (state kFailed)
  // Every table locked, with the modes held (a bit per TableLockMode).
  std::vector<std::pair<std::string, uint8_t>> table_locks_;
  // For ListTransactions from other threads.
  Txn* prev_ = nullptr;  // the manager's list of open transactions
  Txn* next_ = nullptr;
  std::atomic<bool> has_snapshot_{false};
  std::atomic<Timestamp> snapshot_ts_{0};
  std::atomic<uint64_t> write_count_{0};
};

struct TxnManagerStats {
  uint64_t commits = 0, read_only_commits = 0, rollbacks = 0;
  uint64_t aborts_conflict = 0, aborts_deadlock = 0, aborts_lock_timeout = 0;
  uint64_t aborts_snapshot_too_old = 0, aborts_other = 0;
  uint64_t active = 0;
};

// What the transaction manager asks of the catalog of tables (db/ keeps
// it): a commit names the tables it wrote, and the collector needs their
// trees. Both hold the catalog shared meanwhile, so no table is dropped
// under them; neither holds it while waiting for a row lock or an fsync.
class Catalog {
 public:
  virtual ~Catalog() = default;
  // The table with this id, or nullopt if it was dropped.
  // REQUIRES: LockShared (or a successful TryLockShared) held.
  virtual std::optional<TableRef> Find(TableId id) const = 0;
  virtual void LockShared() = 0;
  virtual bool TryLockShared() = 0;
  virtual void UnlockShared() = 0;
};

class TxnManager {
 public:
  // `catalog` must outlive the manager. `skip_write_conflict_check`:
  // InternalOptions::unsafe_skip_write_conflict_check (db/internal_options.h).
  TxnManager(Engine* engine, const Options& options, Catalog* catalog,
             bool skip_write_conflict_check = false);
  ~TxnManager();

  // `blind`: a transaction of writes without a read (Database::Write, db.h),
  // which reads no tree entry when it locks a key: its commit's install
  // reads it (VersionStore::Install, in one descent for a new key).
  // REQUIRES with it: read committed, and no GetForUpdate.
  std::unique_ptr<Txn> Begin(const TransactionOptions& options, bool blind = false);

  // The ApplyBatchFn recovery uses (VersionStore::ApplyReplayed).
  static Status ApplyReplayed(const TreeBatch& batch, std::span<BTree* const> trees, Lsn lsn);

  // Runs due collection work (all of it when max_items is 0), and reclaims
  // the oldest snapshots while old versions exceed the memory limit.
  // `wait`: false skips the pass if another one is running.
  Status Collect(size_t max_items, bool wait);
  void DropTable(TableId table) { versions_.DropTable(table); }

  Timeline& timeline() { return timeline_; }
  VersionStore& versions() { return versions_; }
  LockManager& locks() { return locks_; }
  Engine* engine() { return engine_; }
  const Options& options() const { return options_; }
  // Options::max_transaction_bytes, at most what one log record can carry.
  size_t max_transaction_bytes() const { return max_transaction_bytes_; }
  TxnManagerStats stats() const;
  std::vector<TransactionInfo> ListTransactions() const;

 private:
  friend class Txn;
  void Register(Txn* txn);
  void Unregister(Txn* txn);
  void Count(const Status& abort_cause);

  Engine* engine_;
  const Options options_;
  const size_t max_transaction_bytes_;
  const bool skip_write_conflict_check_;
  Catalog* const catalog_;
  Timeline timeline_;
  VersionStore versions_;
  LockManager locks_;
  std::atomic<TxnId> next_id_{1};
  mutable std::mutex registry_mu_;
  Txn* active_ = nullptr;    // open transactions, a list; guarded by registry_mu_
  size_t active_count_ = 0;  // guarded by registry_mu_
  std::atomic<uint64_t> commits_{0}, read_only_commits_{0}, rollbacks_{0};
  std::atomic<uint64_t> aborts_conflict_{0}, aborts_deadlock_{0}, aborts_lock_timeout_{0};
  std::atomic<uint64_t> aborts_snapshot_too_old_{0}, aborts_other_{0};
  // Serializes collection passes (background thread, commits, CollectGarbage).
  std::mutex collect_mu_;
};

// A transaction's view of one table, in key order both ways: the snapshot
// merged with the transaction's own writes (db.h, Iterator). Or, made
// with a registered snapshot and no transaction, that snapshot's view
// alone (a shared snapshot's iterator, db.h Snapshot).
class TxnIterator {
 public:
  TxnIterator(Txn* txn, const TableRef& table, const IteratorOptions& options);
  // REQUIRES: `snapshot` registered (or flagged too_old) for as long as
  // the iterator lives; its reclaim stops the iterator (SnapshotTooOld).
  TxnIterator(TxnManager* manager, const TableRef& table, const IteratorOptions& options,
              const SnapshotOwner* snapshot);
  ~TxnIterator();

  bool Valid() const { return valid_; }
  void SeekToFirst();
  void SeekToLast();
  void Seek(std::string_view target);
  void SeekForPrev(std::string_view target);
  void Next();
  void Prev();
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  Status status() const { return status_; }
  // Null for a shared snapshot's iterator.
  const Txn* txn() const { return txn_; }
  // The snapshot the iterator reads (0 if it could not take one), and the
  // owner whose reclaim ends it (null: the transaction's own snapshot).
  Timestamp snapshot() const { return snapshot_; }
  const SnapshotOwner* reclaim_owner() const { return check_owner_; }

 private:
  enum class Direction { kForward, kBackward };
  // Moves the tree cursor (in the current direction) to the next entry the
  // snapshot sees within bounds; leaves tree_value_ set.
  void SkipInvisibleTree();
  void SeekTreeForward(std::string_view from, bool inclusive);
  void SeekTreeBackward(std::string_view from, bool inclusive);
  // Moves the cursor one entry in the current direction, then to the next
  // entry the snapshot sees.
  void StepTree();
  // The transaction's own write of this table nearest after (moving
  // backward: before) `from` within bounds, or null; *key is its key.
  const Txn::Key* NearestOwnWrite(std::string_view from, bool inclusive,
                                  std::string_view* key) const;
  // Positions on the nearer of the cursor's entry and the own write after
  // (or before) `from`, in the current direction, skipping own deletes.
  void Resolve(std::string_view from, bool inclusive);
  bool Begin();  // checks the transaction; false (with status_) if it cannot read
  bool HasOwnWrites() const { return txn_ != nullptr && !txn_->keys().empty(); }
  void Stop(Status status);
  bool InBounds(std::string_view key) const;
  // The key a move starts from: key_ itself while it outlives the move
  // (same direction, no own writes to merge), else a copy in from_key_.
  std::string_view MoveFrom(Direction direction);

  Txn* txn_;  // null: a shared snapshot's
  TxnManager* manager_;
  TableRef table_;
  IteratorOptions options_;
  std::string prefix_;  // LockName(table, "") : the table's part of the write set
  SnapshotOwner owner_;
  Timestamp snapshot_ = 0;
  std::unique_ptr<BTreeCursor> cursor_;
  Direction direction_ = Direction::kForward;
  bool valid_ = false;
  bool from_tree_ = false;
  bool tree_valid_ = false;  // the cursor is on an entry the snapshot sees, within bounds
  const SnapshotOwner* check_owner_ = nullptr;  // whose reclaim ends the iterator
  // key_ and value_ are views: into the cursor's copy of a leaf, into
  // tree_value_ (a chain's version) or into own_key_ and own_value_ (an own
  // write, copied).
  std::string_view key_, value_;
  std::string tree_value_, own_key_, own_value_, from_key_;
  // The tree's entry the merge rests on when tree_valid_: the cursor's key
  // and its resolved value (a view into the cursor's copy, or tree_value_).
  std::string_view tree_key_, tree_val_;
  Status status_;
};

}  // namespace mvdb
