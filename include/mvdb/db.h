// mvdb's embedded API: a transactional key-value store of named tables.
//
//   auto db = mvdb::Database::Open("bank.db").value();   // or check .ok()
//   (void)db->CreateTable("accounts");
//   mvdb::Status s = db->Run([](mvdb::Transaction& txn) {
//     std::string balance;
//     MVDB_RETURN_IF_ERROR(txn.GetForUpdate("accounts", "alice", &balance));
//     return txn.Put("accounts", "alice", "42");
//   });
//   // Or look the table up once and pass the handle instead of the name:
//   mvdb::TableHandle accounts = db->OpenTable("accounts").value();
//   std::string balance;
//   s = db->Get(accounts, "alice", &balance);
//
// Model. A database is a directory (data file, write-ahead log, lock file)
// that one process at a time may open. It holds tables: ordered maps from
// byte-string keys (1 to 1,024 bytes) to byte-string values (up to 64 MiB),
// compared byte-wise. All reads and writes go through transactions, and a
// transaction's writes to several tables commit atomically: after a crash,
// every acknowledged commit is there and nothing of any other.
//
// Concurrency. Many transactions run at once on many threads. Reads do not
// wait for writers: a transaction reads the snapshot its isolation level
// gives it (options.h, IsolationLevel) plus its own writes. A write takes a lock on
// its key held to the end of the transaction; a second writer of the key
// waits for the first. When the first commits, the waiter fails with
// Conflict at snapshot isolation and goes on with the newest version at read
// committed; when the first rolls back, the waiter goes on. Deadlocks are
// detected when a wait starts, and the transaction whose wait would close
// the cycle fails with Deadlock.
//
// Rows. Successive values of a key are versions of one row while each Put
// replaces a value; a Delete ends the row, and a Put to a key without a
// value (never written, deleted by an earlier commit, or deleted earlier in
// the same transaction) starts a new row, even though a reader of the key
// sees only values. GetForUpdate with an Iterator tells the two apart, for
// a caller that acts on what it read (a read committed re-check).
//
// Tables and transactions. A transaction locks each table it uses at its
// first use (TableLockMode) and keeps the lock to its end, so the tables it
// has touched stay as they were while it runs: DropTable waits until every
// transaction that has used the table has ended (PostgreSQL's DROP TABLE
// does the same), and a transaction that first uses a table while a
// DropTable waits for it waits behind the drop (then finds no table:
// NotFound). These waits are lock waits like a row lock's: the lock
// timeout bounds them (LockTimeout) and a cycle fails with Deadlock.
// Every call that takes a table, and every operation of a WriteBatch,
// takes it by name or by a TableHandle (Database::OpenTable), which skips
// the lookup by name and takes the same table lock.
//
// Errors (mvdb/status.h). Conflict, Deadlock, LockTimeout and
// SnapshotTooOld are retryable (Status::IsRetryable): they fail the
// transaction (state kFailed) — every later call but Rollback returns
// Aborted ("transaction N failed earlier and can only be rolled back
// (<the cause>)") and Commit rolls back, returning the cause — and running
// the whole transaction again may succeed; Database::Run does so. NotFound from a read is an
// answer, not a failure, and leaves the transaction usable, as does InvalidArgument. An IOError
// from a commit means the database has failed (health() says so): every later commit is refused
// until it is reopened, which recovers every acknowledged commit. Corruption names a damaged page:
// the operations that need it fail, the rest of the database goes on working, and `mvdb check`
// reports the damage.
//
// Threading. A Database may be used from any number of threads at once.
// A Transaction, and its iterators, belong to one thread at a time; a
// Snapshot may be read by any number of threads at once (each of its
// iterators by one at a time). Close may run while other threads use
// transactions, snapshots, iterators, Begin, GetSnapshot and Run (it then
// answers Busy, or they answer that the database is closed), but not while
// another thread is inside another call of the Database itself; ~Database
// must not run while any other thread uses the database, its
// transactions, its snapshots or their iterators.
//
// Lifetimes and misuse. Misuse answers a Status; it is never undefined
// behaviour. The objects may be destroyed in any order:
//   - Close refuses with Busy, changing nothing, while a transaction is
//     open (neither committed nor rolled back; its iterators with it) or a
//     Snapshot lives (a copy of it, or an iterator over it). Once they have
//     ended, Close may be called again. Every later call of
//     the database answers InvalidArgument ("database DIR is closed"), and
//     Begin then returns a transaction whose every call answers the same.
//   - ~Database rolls back the transactions still open and ends their
//     iterators; their later calls answer Aborted ("database DIR was
//     destroyed with transaction N open: it was rolled back"). It detaches
//     the snapshots still alive the same way ("database DIR was destroyed
//     with snapshot N open"), ending their iterators.
//   - When a transaction commits, rolls back or is destroyed, its iterators
//     end: not Valid, status Aborted, key() and value() empty. A
//     transaction that has ended, a snapshot, and an iterator may outlive
//     everything else. An iterator over a snapshot keeps it alive (and its
//     versions kept) until the iterator is destroyed, as a copy would.
//   - Result::value() on an error aborts the process with the status's
//     message (status.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/export.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "mvdb/version.h"

namespace mvdb {

class Database;
class Snapshot;
class Transaction;
struct TableHandleAccess;

// A table, looked up once (Database::OpenTable) and then given to calls in
// place of its name (RocksDB's ColumnFamilyHandle, LMDB's MDB_dbi). A call
// through a handle goes straight to the table: it takes no catalog mutex
// and looks nothing up by name. It still takes the table lock a call by
// name takes (TableLockMode), once per transaction, so DropTable waits for
// it as for any user of the table.
//
// Cheap to copy (a shared pointer): copy it freely, keep it as long as you
// like, share it between threads. A handle never keeps a table's data or
// its database alive (only the small record naming the table) and is never undefined behaviour to
// use:
//   - After the table is dropped, every call through it answers NotFound
//     ("table 'NAME' was dropped"), also once a new table of the same name
//     was created: that is a new table, which needs a new handle.
//   - A default-constructed handle (no table) answers InvalidArgument
//     ("the table handle names no table"), and so does a handle given to a
//     Database other than the one that opened it, including the same
//     directory reopened ("table handle 'NAME' belongs to another
//     database").
//   - After Close, or once the Database is destroyed, the calls answer what
//     they answer then without a handle (Lifetimes, at the top).
// Thread-safe: a handle is immutable.
class MVDB_EXPORT TableHandle {
 public:
  // Names no table.
  TableHandle();
  ~TableHandle();
  TableHandle(const TableHandle&);
  TableHandle& operator=(const TableHandle&);
  TableHandle(TableHandle&&) noexcept;
  TableHandle& operator=(TableHandle&&) noexcept;

  // The table's name when it was opened (empty for a default handle).
  const std::string& name() const;

 private:
  friend struct TableHandleAccess;
  struct MVDB_HIDDEN State;
  std::shared_ptr<State> state_;
};

// A position in one table as a transaction sees it: the snapshot the
// iterator was created with (read committed: taken at NewIterator), merged
// with the transaction's own writes as they are at each move, within the
// bounds of its IteratorOptions.
//
// key() and value() are views, not copies: into the iterator's copy of the
// B-tree leaf it is on (a leaf is copied once, when a scan reaches it; a
// seek copies only the entry it lands on), or, for an older version kept
// for the snapshot or the transaction's own write, into the iterator's copy
// of that value. They stay valid until the next move (Seek*, Next, Prev),
// the end of the transaction or the iterator's destruction, whichever comes
// first, and never change while valid: a writer changing the key meanwhile
// (another transaction, or this one) does not touch them. Copy what must
// outlive the next move. A view may be passed to the next move itself
// (it->Seek(it->key()) is fine).
//
// When its transaction commits, rolls back or is destroyed (or the database
// is destroyed), the iterator ends: not Valid, status Aborted, key() and
// value() empty, moves do nothing. It may be destroyed at any time, before
// or after them.
//
// An iterator of a Snapshot (Snapshot::NewIterator) reads that snapshot
// and has no writes to merge. It keeps the snapshot alive, as a copy of it
// would, until it is destroyed; it ends (Aborted) only when the database
// is destroyed, and stops with SnapshotTooOld once the memory bound
// reclaims the snapshot.
class MVDB_EXPORT Iterator {
 public:
  ~Iterator();
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;

  // True when positioned on a key. False at either end and after an error.
  bool Valid() const;
  void SeekToFirst();
  void SeekToLast();
  // The first key >= target (within bounds).
  void Seek(std::string_view target);
  // The last key <= target (within bounds).
  void SeekForPrev(std::string_view target);
  // Not Valid: nothing happens.
  void Next();
  void Prev();
  // Not Valid: empty.
  std::string_view key() const;
  std::string_view value() const;
  // OK, or why the iterator stopped: IOError/Corruption reading a page,
  // SnapshotTooOld, Aborted (the transaction ended).
  Status status() const;

 private:
  friend class Transaction;
  friend class Snapshot;
  struct MVDB_HIDDEN Impl;
  explicit Iterator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class TransactionState : uint8_t {
  kActive,  // may read and write
  kFailed,  // a retryable error ended it: only Rollback (or destruction) is useful
  kCommitted,
  kRolledBack,
};

MVDB_EXPORT const char* TransactionStateName(TransactionState state);

// Table locks, PostgreSQL's modes of the same names (the ones mvdb uses).
// A transaction locks a table at its first use of it and holds the lock to
// its end: reads (Get, NewIterator) kAccessShare, GetForUpdate kRowShare,
// writes kRowExclusive; these never conflict with each other. kShare keeps
// writers out and lets readers in (SQL's CREATE INDEX); kAccessExclusive
// keeps everyone out (DropTable; SQL's ALTER TABLE and DROP INDEX). A
// request waits while another transaction holds a conflicting mode or an
// earlier request for a conflicting mode waits (so a reader arriving while
// a DropTable waits queues behind it), except that a transaction already
// holding the table goes ahead of the requests its lock is blocking.
enum class TableLockMode : uint8_t {
  kAccessShare,
  kRowShare,
  kRowExclusive,
  kShare,
  kAccessExclusive,
};

// A transaction. Made by Database::Begin; rolls back on destruction unless
// it committed. May outlive its Database (see Lifetimes at the top).
//
// Every call below answers, besides the errors it lists: InvalidArgument
// ("transaction N has ended") once it has committed or rolled back;
// Aborted once a retryable error failed it (Errors, at the top) or its
// database was destroyed while it was open; InvalidArgument ("database DIR
// is closed") if it was begun on a closed database (or with a
// TransactionOptions::snapshot it cannot use).
//
// Each call that names a table takes it by name or by a TableHandle; the
// two do the same, with the same errors, except that where the name's call
// answers NotFound ("no table 'NAME'") the handle's answers NotFound
// ("table 'NAME' was dropped"), and a handle that is not this database's
// answers InvalidArgument (TableHandle). These answers come after the
// transaction's own ones above (and after a read_by iterator's error).
class MVDB_EXPORT Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Unique within the process; larger for later Begins. 0 for a
  // transaction begun on a closed database.
  uint64_t id() const;
  IsolationLevel isolation() const;
  TransactionState state() const;
  bool read_only() const;

  // Copies the value of `key` in `table` into *value, once: straight from
  // the page (or from the older version the snapshot sees) into the
  // string, reusing its capacity, so a caller that passes the same string
  // to every Get allocates only when a value outgrows it. NotFound if the
  // key has no value in what this transaction sees (or there is no such
  // table); *value is then empty or unchanged.
  // Never waits for a row lock; waits for the table only behind DDL (a
  // DropTable that holds or waits for it).
  Status Get(std::string_view table, std::string_view key, std::string* value);
  Status Get(const TableHandle& table, std::string_view key, std::string* value);

  // Locks `key` as a write would (waiting for another holder, Deadlock,
  // LockTimeout), then reads it: at snapshot isolation the snapshot's
  // version, failing with Conflict if a newer one was committed after the
  // snapshot; at read committed the newest committed version. The lock is
  // taken even when the answer is NotFound, and held until the end.
  Status GetForUpdate(std::string_view table, std::string_view key, std::string* value);
  Status GetForUpdate(const TableHandle& table, std::string_view key, std::string* value);
  // GetForUpdate for a caller that read `key` through `read_by` (an open
  // iterator of this transaction, whose snapshot it keeps) and now locks it
  // to act on the row it read, as PostgreSQL's read committed UPDATE does.
  // At read committed, after the lock (and any wait): the newest committed
  // value if it is a version of that row, NotFound if the row was deleted
  // since the iterator's snapshot — also when a new row was put under the
  // key afterwards (see Rows), or the snapshot saw no row. This
  // transaction's own write of the key is returned as it is. At snapshot
  // isolation the same as GetForUpdate (any change since the snapshot is a
  // Conflict). InvalidArgument if `read_by` belongs to another transaction;
  // its error if it failed to open.
  Status GetForUpdate(std::string_view table, std::string_view key, std::string* value,
                      const Iterator& read_by);
  Status GetForUpdate(const TableHandle& table, std::string_view key, std::string* value,
                      const Iterator& read_by);

  // Sets `key` to `value` in the transaction's writes, after locking the key
  // (as GetForUpdate). At snapshot isolation, Conflict if another
  // transaction committed a change to the key after the snapshot. (Such a
  // Conflict's message, here and in GetForUpdate and Delete, begins "could
  // not serialize access due to concurrent delete" when the row the
  // snapshot saw was deleted, "... concurrent update" otherwise, as
  // PostgreSQL says.)
  // InvalidArgument for an empty or too long key (1 to 1,024 bytes), a
  // value over 64 MiB (an empty value is a value, as in LevelDB and LMDB),
  // a read-only transaction, or a write that would take the transaction's
  // writes past
  // Options::max_transaction_bytes (also for Delete and GetForUpdate; the
  // transaction is left as it was), or NotFound for a table that does not
  // exist.
  Status Put(std::string_view table, std::string_view key, std::string_view value);
  Status Put(const TableHandle& table, std::string_view key, std::string_view value);
  // Removes `key` (no error if it has no value), with Put's locking and
  // errors.
  Status Delete(std::string_view table, std::string_view key);
  Status Delete(const TableHandle& table, std::string_view key);

  // An iterator over `table` (see Iterator). Never null: an iterator that
  // is not Valid with status NotFound if the table does not exist (after a
  // failed table lock wait, that error; on a transaction that has ended,
  // what its other calls answer).
  std::unique_ptr<Iterator> NewIterator(std::string_view table,
                                        const IteratorOptions& options = {});
  std::unique_ptr<Iterator> NewIterator(const TableHandle& table,
                                        const IteratorOptions& options = {});

  // Locks `table` in `mode` until the transaction ends (as a first use
  // does; see TableLockMode), waiting while a conflicting mode is held or
  // asked for ahead. NotFound if there is no such table (no lock is kept);
  // Deadlock and LockTimeout as a row lock's wait, failing the transaction.
  Status LockTable(std::string_view table, TableLockMode mode);
  Status LockTable(const TableHandle& table, TableLockMode mode);
  // Locks `table` in kAccessExclusive mode (waiting for every other
  // transaction that holds it, as LockTable), then removes it and its rows,
  // durably and at once: a later Rollback does not bring it back (DDL is
  // not transactional). NotFound if there is none; Busy while an iterator
  // of this transaction, or of a Snapshot, over it is open (another
  // transaction's iterators end with it, before its table lock is given
  // back). This transaction's
  // own writes to it make its Commit fail with NotFound. Every handle on
  // the table answers NotFound from then on (TableHandle).
  Status DropTable(std::string_view table);
  Status DropTable(const TableHandle& table);

  // Makes the writes durable (under options.sync or the database's sync
  // mode) and visible to every snapshot taken afterwards, then releases the
  // locks. OK only once both hold. A read-only or write-free commit only
  // releases. Fails with the error that failed the transaction (it is then
  // rolled back), NotFound if a table it wrote was dropped meanwhile, or
  // IOError if the database failed. InvalidArgument if not active.
  Status Commit(const CommitOptions& options = {});
  // Discards the writes and releases the locks. OK also for a failed
  // transaction; InvalidArgument if it has committed or rolled back.
  Status Rollback();

 private:
  friend class Database;
  friend class Iterator;
  struct MVDB_HIDDEN Impl;
  explicit Transaction(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A read-only view of the whole database as it was committed at one
// moment, shared by any number of readers and threads (LevelDB's
// GetSnapshot, WiredTiger's read timestamp). Made by Database::GetSnapshot.
//
// What it sees: exactly the commits visible when GetSnapshot ran (every
// one acknowledged before the call, never half of one), and nothing
// committed later, however long it is kept: every Get and every iterator
// of it answers the same. Tables are not versioned (DDL is not
// transactional): a table dropped since reads as absent (NotFound), one
// created since as empty.
//
// What it costs: while it lives, the versions it sees are kept (it counts
// in the collector's watermark, DatabaseStats::oldest_snapshot_ts, as an
// open transaction's snapshot does). Like those, it is reclaimed when old
// versions exceed Options::max_version_bytes, oldest first: from then on
// its Get and its iterators answer SnapshotTooOld, and a new snapshot is
// the remedy. Taking one holds two mutexes briefly and allocates once (no
// transaction is made); a Get takes no lock of the snapshot's, opening or
// destroying an iterator over it takes its mutex briefly. A transaction may
// also begin at it (TransactionOptions::snapshot), to read it with its
// own writes merged, or to write as of it.
//
// Copies share one snapshot (a copy costs an atomic increment); it is
// released when the last copy, and the last iterator over it, goes. A
// Snapshot moved from is empty: its Get and iterators answer
// InvalidArgument, its sequence() and id() are 0.
//
// Threading: any number of threads may call Get and NewIterator on one
// Snapshot (or its copies) at once; each Iterator is used by one thread at
// a time. Copies may be made, and distinct copies destroyed, on any
// thread; assigning to a Snapshot while another thread uses that same
// object is a race (as for std::shared_ptr).
//
// Lifetimes (see Lifetimes at the top): Database::Close answers Busy while
// a snapshot, or an iterator over it, is alive (DatabaseStats::
// open_snapshots counts them). ~Database detaches the snapshots left:
// their Get and new iterators answer Aborted ("database DIR was destroyed
// with snapshot N open"), their open iterators end (Aborted), and they may
// be destroyed afterwards.
class MVDB_EXPORT Snapshot {
 public:
  Snapshot(const Snapshot& other);
  Snapshot& operator=(const Snapshot& other);
  Snapshot(Snapshot&& other) noexcept;
  Snapshot& operator=(Snapshot&& other) noexcept;
  ~Snapshot();

  // The commit timestamp it sees up to: every commit at or below it and
  // none above (DatabaseStats::visible_ts when it was taken).
  uint64_t sequence() const;
  // Unique within the process; larger for later GetSnapshots (for
  // display and logs).
  uint64_t id() const;

  // The value of `key` in `table` as the snapshot sees it, copied into
  // *value as Transaction::Get does. NotFound if the snapshot sees no value
  // (or there is no such table): *value is then empty or unchanged.
  // SnapshotTooOld once the snapshot was reclaimed (*value then empty);
  // Aborted after the database was destroyed. Never waits for a row or
  // table lock (only behind a CreateTable or DropTable, for as long as
  // that DDL call runs).
  // Through a handle (TableHandle): NotFound ("table 'NAME' was dropped")
  // for a dropped table, InvalidArgument for a handle not of this database;
  // no catalog mutex is taken.
  Status Get(std::string_view table, std::string_view key, std::string* value) const;
  Status Get(const TableHandle& table, std::string_view key, std::string* value) const;

  // An iterator over `table` as the snapshot sees it (see Iterator). Never
  // null: an iterator that is not Valid with status NotFound if the table
  // does not exist, or what Get would answer. While it is open the table
  // cannot be dropped (DropTable answers Busy), as for a transaction's.
  std::unique_ptr<Iterator> NewIterator(std::string_view table,
                                        const IteratorOptions& options = {}) const;
  std::unique_ptr<Iterator> NewIterator(const TableHandle& table,
                                        const IteratorOptions& options = {}) const;

 private:
  friend class Database;
  friend class Iterator;
  struct MVDB_HIDDEN Impl;
  explicit Snapshot(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

struct DatabaseStats {
  // Transactions.
  uint64_t commits = 0;            // with writes
  uint64_t read_only_commits = 0;  // without writes
  uint64_t rollbacks = 0;          // asked for (Rollback or destruction)
  uint64_t aborts_conflict =
      0;  // Conflict (first updater wins, or lost a wait at snapshot isolation)
  uint64_t aborts_deadlock = 0;
  uint64_t aborts_lock_timeout = 0;
  uint64_t aborts_snapshot_too_old = 0;  // transactions' and Snapshots' reclaimed
  uint64_t aborts_other = 0;             // commit failed for another reason (I/O, dropped table)
  uint64_t lock_waits = 0;               // waits started for another transaction's lock
  uint64_t active_transactions = 0;
  // Snapshots made by GetSnapshot that are still alive (one with its
  // copies and iterators counts once; a reclaimed one counts until it
  // goes): what makes Close answer Busy besides open transactions.
  uint64_t open_snapshots = 0;
  uint64_t visible_ts = 0;  // the newest commit every new snapshot sees
  // The GC watermark: the oldest snapshot held by a transaction, an
  // iterator or a Snapshot (visible_ts when none is).
  uint64_t oldest_snapshot_ts = 0;
  double oldest_snapshot_age_ms = 0;
  // Versions kept for snapshots (in memory), and what the collector has
  // yet to look at.
  uint64_t old_versions = 0;
  uint64_t old_version_bytes = 0;
  uint64_t gc_backlog = 0;  // committed writes whose old versions are not yet examined
  uint64_t versions_reclaimed = 0;
  uint64_t tombstones_removed = 0;
  // Storage.
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t wal_bytes = 0;
  uint64_t wal_fsyncs = 0;
  uint64_t wal_segments = 0;  // log segment files now
  uint64_t wal_next_lsn = 0;  // where the next log record goes
  uint64_t checkpoints = 0;
  uint64_t last_checkpoint_lsn = 0;  // recovery replays the log from here
  std::string io_backend;
};

// The B+tree holding one table, for inspection (the shell's \btree). Its
// entries are the newest version of each key, tombstones included.
struct TableInfo {
  uint64_t height = 0;
  uint64_t leaf_pages = 0;
  uint64_t inner_pages = 0;
  uint64_t overflow_pages = 0;
  uint64_t entries = 0;
  double leaf_fill = 0;  // average fraction of leaf bytes in use
};

// One open transaction, for inspection (the shell's \txns).
struct TransactionInfo {
  uint64_t id = 0;
  IsolationLevel isolation = IsolationLevel::kSnapshot;
  TransactionState state = TransactionState::kActive;
  bool has_snapshot = false;
  uint64_t snapshot_ts = 0;
  uint64_t writes = 0;
  uint64_t waiting_for = 0;  // id of the transaction whose lock it waits for; 0 if none
  double age_ms = 0;
};

// One row lock, for inspection (the shell's \locks).
struct LockInfo {
  std::string table;
  std::string key;
  uint64_t holder = 0;
  std::vector<uint64_t> waiters;  // in no particular order
};

// One version of a key, newest first (the shell's \versions).
struct VersionInfo {
  uint64_t commit_ts = 0;
  bool deleted = false;  // a tombstone
  bool in_tree = false;  // the tree's entry (the newest committed); else an in-memory old version
  std::string value;
  bool new_row = false;  // starts a row rather than continuing the version before it (see Rows)
};

// Writes to one or more tables that Database::Write commits atomically, as
// one transaction: after a crash every acknowledged batch is there whole,
// and no snapshot ever sees part of one. Building a batch touches no
// database: Put and Delete only record the operation (copying the bytes),
// in order; a later operation on the same key wins, as in LevelDB's and
// RocksDB's WriteBatch. Whether the operations are valid (keys of 1 to
// 1,024 bytes, values up to 64 MiB, tables that exist) is checked by
// Database::Write, which then applies none of them.
//
// An operation names its table by name or by a TableHandle, and one batch
// may mix the two (a name and a handle of the same table reach the same
// table, and the last operation on a key still wins). The batch keeps a
// copy of each handle it is given (not its name): its operations apply to
// that table, as every call through the handle does, so Database::Write
// answers NotFound ("table 'NAME' was dropped") if the table was dropped
// after the handle was opened, also when a new table of the same name
// exists by then, and InvalidArgument for a default handle or another
// database's (TableHandle); none of the batch is applied then either.
//
// A plain value: copy, move and reuse it (Clear) freely; one thread at a
// time, like a std::string.
class MVDB_EXPORT WriteBatch {
 public:
  // Sets `key` to `value` in `table`.
  void Put(std::string_view table, std::string_view key, std::string_view value);
  void Put(const TableHandle& table, std::string_view key, std::string_view value);
  // Removes `key` from `table` (nothing happens if it has no value).
  void Delete(std::string_view table, std::string_view key);
  void Delete(const TableHandle& table, std::string_view key);
  // Forgets every operation, and the handles it held (the memory is kept
  // for the next batch).
  void Clear();
  // How many Put and Delete calls the batch holds.
  size_t Count() const { return count_; }
  // The bytes the batch holds: about its keys, values and table names
  // (none for an operation through a handle) plus 13 bytes per operation.
  size_t ApproximateSize() const { return rep_.size(); }

 private:
  friend class Database;
  // The operations in order, each a kind byte (1 put, 2 delete; plus 4
  // when the table is a handle), the table's length (for a handle, its
  // index in handles_) and the lengths of key and value (4 bytes each,
  // little-endian), then the bytes of table (none for a handle), key and
  // value.
  std::string rep_;
  // The distinct handles the operations name, in the order of first use.
  std::vector<TableHandle> handles_;
  size_t count_ = 0;
};

class MVDB_EXPORT Database {
 public:
  // Opens the database in `dir` (creating it when options allow), taking
  // its lock first: Busy naming the holder's pid if another process (or
  // another Database of this one) has it open, with nothing changed. Then
  // recovers: the newest checkpoint plus every logged commit after it.
  // IOError or Corruption (naming the file and offset) if that fails;
  // InvalidArgument for a directory whose trees were written by the storage
  // engine alone (the interim demo program), which hold no versions.
  static Result<std::unique_ptr<Database>> Open(const std::string& dir,
                                                const Options& options = {});
  // Rolls back the transactions still open (their later calls answer
  // Aborted) and ends their iterators, then closes, dropping Close's error
  // (call Close to see it). Its transactions and iterators may outlive it.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Creates an empty table, durably (not part of any transaction).
  // InvalidArgument if the name is empty, longer than 1,024 bytes, exists,
  // or is the reserved "__mvdb_versioned".
  Status CreateTable(std::string_view name);
  // Removes a table and its rows, durably, in a transaction of its own
  // (Transaction::DropTable): first it waits until no other transaction
  // holds the table, i.e. until every transaction that has used it has
  // committed or rolled back; transactions that first use the table
  // meanwhile wait behind it. NotFound if there is none; LockTimeout after
  // Options::lock_timeout (unset: no limit); Deadlock if the wait would
  // close a cycle; Busy while an iterator over it is open (a Snapshot's,
  // or one of a transaction that failed, which gives its locks back at
  // once, and has not been rolled back yet: the others end with their
  // transaction, before its lock is given back). A thread must
  // not call it while a transaction of its own that used the table is open:
  // the drop would wait for that transaction (for ever without a lock
  // timeout); use that transaction's DropTable instead. Every handle on
  // the table answers NotFound from then on (TableHandle); a read through
  // a handle without a transaction (Get) that is under way is waited for.
  Status DropTable(std::string_view name);
  Status DropTable(const TableHandle& table);
  Result<std::vector<std::string>> ListTables();

  // A handle on table `name` (TableHandle), for calls that skip the lookup
  // by name. NotFound if there is no such table; InvalidArgument after
  // Close. Thread-safe.
  Result<TableHandle> OpenTable(std::string_view name);

  // Starts a transaction. Never returns null. On a closed database the
  // transaction is born ended: every call on it answers InvalidArgument
  // ("database DIR is closed"), its state() is kRolledBack and its id() 0;
  // so it is, answering InvalidArgument, with a TransactionOptions::snapshot
  // it cannot use (options.h).
  // A failed database (health()) begins transactions as usual and fails
  // their commits.
  std::unique_ptr<Transaction> Begin(const TransactionOptions& options = {});

  // A snapshot of what is committed now (see Snapshot), for reads shared
  // between readers and threads. InvalidArgument ("database DIR is
  // closed") after Close. Thread-safe.
  Result<Snapshot> GetSnapshot();

  // Reads the newest committed value of `key`, as a read-committed
  // transaction of that one read would, without making one (LevelDB's
  // DB::Get): it sees every commit acknowledged before the call and holds
  // no snapshot afterwards. NotFound when the key or the table is absent
  // (*value is then empty or unchanged). The value is copied once, as by
  // Transaction::Get. Thread-safe. Through a handle it takes no catalog
  // mutex (only a per-table one that keeps a concurrent DropTable out for
  // the read): NotFound when the table was dropped, InvalidArgument for a
  // handle that is not this database's (TableHandle).
  Status Get(std::string_view table, std::string_view key, std::string* value);
  Status Get(const TableHandle& table, std::string_view key, std::string* value);

  // Writes without a read: commits `batch` atomically as one read-committed
  // transaction of its own (one log record, group-committed like any
  // commit, durable under options.sync or Options::sync). It reads no
  // value first, but it is a writer like any other: it locks every table it
  // names (kRowExclusive) and every key it writes, in key order, waiting
  // for a transaction that holds one; and it installs a new version of each
  // key, so that
  //   - a snapshot-isolation transaction whose snapshot predates the batch
  //     and that writes (or GetForUpdate's) one of its keys afterwards fails
  //     with Conflict (PostgreSQL's 40001), even if it only read the key
  //     before the batch;
  //   - a read-committed transaction that waits for a key the batch holds
  //     goes on after it and sees the batch's value (GetForUpdate);
  //   - a batch that waits for a transaction's key goes on once that
  //     commits or rolls back, and writes over what it committed.
  // OK for an empty batch (nothing happens). NotFound if a table does not
  // exist (through a handle: was dropped, WriteBatch), InvalidArgument for
  // a handle not of this database, an empty or too long key, a value over
  // 64 MiB, or a batch whose keys, values and locks would take more than
  // Options::max_transaction_bytes of memory (as a transaction's writes
  // would); in each case none of the batch is applied. Deadlock and
  // LockTimeout as a transaction's write (retryable: nothing applied; run
  // it again); IOError if the database has failed. InvalidArgument after
  // Close. Thread-safe; batches on many threads commit in parallel.
  Status Write(const WriteBatch& batch, const CommitOptions& options = {});
  // A batch of one Put or one Delete (Write): a one-statement transaction.
  // Through a handle, with the handle's errors as in a batch.
  Status Put(std::string_view table, std::string_view key, std::string_view value,
             const CommitOptions& options = {});
  Status Put(const TableHandle& table, std::string_view key, std::string_view value,
             const CommitOptions& options = {});
  Status Delete(std::string_view table, std::string_view key, const CommitOptions& options = {});
  Status Delete(const TableHandle& table, std::string_view key, const CommitOptions& options = {});

  // Runs fn in a new transaction and commits it. When fn or the commit
  // fails with a retryable error, rolls back, sleeps a random backoff and
  // runs fn again in a new transaction, at most options.max_attempts times
  // in all; returns the last error. fn returning a non-retryable error ends
  // it at once (rolled back). fn must be safe to run more than once.
  // InvalidArgument after Close, without calling fn.
  Status Run(const std::function<Status(Transaction&)>& fn, const RunOptions& options = {});

  // Takes a checkpoint now (normally done in the background, see
  // Options::checkpoint_wal_bytes): writes every page changed since the
  // last one to the data file, syncs it and lets the log before it go, so
  // that a reopen replays less. It also makes durable every commit that
  // SyncMode kNormal or kOff acknowledged before the call. Not a copy of
  // the database (RocksDB's Checkpoint is one; this is its Flush).
  // InvalidArgument after Close; IOError if the database has failed.
  Status Flush();
  // Runs the version collector now, to the current watermark.
  Status CollectGarbage();
  // Checks the trees' invariants and checksums (mvdb check, live).
  Status CheckIntegrity(std::string* report);

  // Stops the background threads, checkpoints and releases the lock.
  // Returns the database's failure if it had one. Busy, changing nothing,
  // while a transaction is open (neither committed nor rolled back): end
  // it and call Close again. Later calls of the database (a second Close
  // included) fail with InvalidArgument ("database DIR is closed").
  Status Close();
  // OK, or the sticky failure (IOError) that commits return;
  // InvalidArgument after Close.
  Status health() const;

  // After Close: all zero, and empty lists.
  DatabaseStats stats() const;
  std::vector<TransactionInfo> ListTransactions() const;
  std::vector<LockInfo> ListLocks() const;
  // The table's B+tree, checked (checksums, order, links) while writes
  // wait: NotFound if there is no such table, Corruption if the check fails.
  // Through a handle (TableHandle): NotFound ("table 'NAME' was dropped")
  // for a dropped table, InvalidArgument for a handle not of this
  // database; no catalog mutex is taken, and a drop of the table waits
  // for the check (as for Database::Get) — holding the catalog meanwhile,
  // so calls that name tables by name wait for the check too.
  Result<TableInfo> DescribeTable(std::string_view table);
  Result<TableInfo> DescribeTable(const TableHandle& table);
  // Every version of `key` that is still kept, newest first. NotFound if
  // there is no such table; through a handle, as DescribeTable.
  Result<std::vector<VersionInfo>> ListVersions(std::string_view table, std::string_view key);
  Result<std::vector<VersionInfo>> ListVersions(const TableHandle& table, std::string_view key);

 private:
  friend class Transaction;
  friend class Iterator;
  friend class Snapshot;
  friend struct DatabaseInternal;  // opening with test hooks (db/internal_options.h)
  struct MVDB_HIDDEN Impl;
  Database();
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvdb
