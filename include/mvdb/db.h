// mvdb's embedded API: a transactional key-value store of named tables.
//
//   auto db = mvdb::Database::Open("bank.db").value();   // or check .ok()
//   (void)db->CreateTable("accounts");
//   mvdb::Status s = db->Run([](mvdb::Transaction& txn) {
//     std::string balance;
//     MVDB_RETURN_IF_ERROR(txn.GetForUpdate("accounts", "alice", &balance));
//     return txn.Put("accounts", "alice", "42");
//   });
//
// Model. A database is a directory (data file, write-ahead log, lock file)
// that one process at a time may open. It holds tables: ordered maps from
// byte-string keys (1 to 1,024 bytes) to byte-string values (up to 64 MiB),
// compared byte-wise. All reads and writes go through transactions, and a
// transaction's writes to several tables commit atomically: after a crash,
// every acknowledged commit is there and nothing of any other.
//
// Concurrency. Many transactions run at once on many threads. Reads never
// wait: a transaction reads the snapshot its isolation level gives it
// (options.h, IsolationLevel) plus its own writes. A write takes a lock on
// its key held to the end of the transaction; a second writer of the key
// waits for the first. When the first commits, the waiter fails with
// Conflict at snapshot isolation and goes on with the newest version at read
// committed; when the first rolls back, the waiter goes on. Deadlocks are
// detected when a wait starts, and the transaction whose wait would close
// the cycle fails with Deadlock.
//
// Errors (mvdb/status.h). Conflict, Deadlock, LockTimeout and
// SnapshotTooOld are retryable (Status::IsRetryable): they end the
// transaction's usefulness — every later call but Rollback returns Aborted
// and Commit rolls back — and running the whole transaction again may
// succeed; Database::Run does so. NotFound from a read is an answer, not a
// failure, and leaves the transaction usable, as does InvalidArgument. An
// IOError from a commit means the database has failed (health() says so):
// every later commit is refused until it is reopened, which recovers every
// acknowledged commit. Corruption names a damaged page: the operations that
// need it fail, the rest of the database goes on working, and `mvdb check`
// reports the damage.
//
// Threading. A Database may be used from any number of threads at once.
// A Transaction, and its iterators, belong to one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/options.h"
#include "mvdb/status.h"

namespace mvdb {

class Database;
class Transaction;

// A position in one table as a transaction sees it: the snapshot the
// iterator was created with (read committed: taken at NewIterator), merged
// with the transaction's own writes as they are at each move, within the
// bounds of its IteratorOptions.
//
// key() and value() are valid until the next move or the iterator's
// destruction. An iterator must be destroyed before its transaction. Once
// the transaction has committed or rolled back, moves leave the iterator
// not Valid with status Aborted.
class Iterator {
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
  // REQUIRES: Valid().
  void Next();
  void Prev();
  std::string_view key() const;
  std::string_view value() const;
  // OK, or why the iterator stopped: IOError/Corruption reading a page,
  // SnapshotTooOld, Aborted (the transaction ended).
  Status status() const;

 private:
  friend class Transaction;
  struct Impl;
  explicit Iterator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class TransactionState : uint8_t {
  kActive,  // may read and write
  kFailed,  // a retryable error ended it: only Rollback (or destruction) is useful
  kCommitted,
  kRolledBack,
};

const char* TransactionStateName(TransactionState state);

// A transaction. Made by Database::Begin; rolls back on destruction unless
// it committed. REQUIRES: destroyed before its Database.
class Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Unique within the process; larger for later Begins.
  uint64_t id() const;
  IsolationLevel isolation() const;
  TransactionState state() const;
  bool read_only() const;

  // Copies the value of `key` in `table` into *value. NotFound if the key
  // has no value in what this transaction sees (or there is no such table).
  // Never waits for a lock.
  Status Get(std::string_view table, std::string_view key, std::string* value);

  // Locks `key` as a write would (waiting for another holder, Deadlock,
  // LockTimeout), then reads it: at snapshot isolation the snapshot's
  // version, failing with Conflict if a newer one was committed after the
  // snapshot; at read committed the newest committed version. The lock is
  // taken even when the answer is NotFound, and held until the end.
  Status GetForUpdate(std::string_view table, std::string_view key, std::string* value);

  // Sets `key` to `value` in the transaction's writes, after locking the key
  // (as GetForUpdate). At snapshot isolation, Conflict if another
  // transaction committed a change to the key after the snapshot.
  // InvalidArgument for an empty or too long key or value, a read-only
  // transaction, or a write that would take the transaction's writes past
  // Options::max_transaction_bytes (also for Delete and GetForUpdate; the
  // transaction is left as it was), or NotFound for a table that does not
  // exist.
  Status Put(std::string_view table, std::string_view key, std::string_view value);
  // Removes `key` (no error if it has no value), with Put's locking and
  // errors.
  Status Delete(std::string_view table, std::string_view key);

  // An iterator over `table` (see Iterator). NotFound-status iterator if the
  // table does not exist. REQUIRES: destroyed before this transaction.
  std::unique_ptr<Iterator> NewIterator(std::string_view table,
                                        const IteratorOptions& options = {});

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
  struct Impl;
  explicit Transaction(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
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
  uint64_t aborts_snapshot_too_old = 0;
  uint64_t aborts_other = 0;  // commit failed for another reason (I/O, dropped table)
  uint64_t lock_waits = 0;    // waits started for another transaction's lock
  uint64_t active_transactions = 0;
  uint64_t visible_ts = 0;          // the newest commit every new snapshot sees
  uint64_t oldest_snapshot_ts = 0;  // the GC watermark (visible_ts when no snapshot is open)
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
};

class Database {
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
  // Close, dropping its error (call Close to see it).
  // REQUIRES: every Transaction of this database has been destroyed.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Creates an empty table, durably (not part of any transaction).
  // InvalidArgument if the name is empty, longer than 1,024 bytes, exists,
  // or is the reserved "__mvdb_versioned".
  Status CreateTable(std::string_view name);
  // Removes a table and its rows, durably. NotFound if there is none; Busy
  // while an iterator over it is open, or if an operation on it (one waiting
  // for a row lock, say) is still running after 2 seconds. A transaction
  // that wrote to it and commits later fails with NotFound.
  Status DropTable(std::string_view name);
  Result<std::vector<std::string>> ListTables();

  // Starts a transaction. Never fails: a failed database fails its commits.
  std::unique_ptr<Transaction> Begin(const TransactionOptions& options = {});

  // Reads the newest committed value of `key`, as a read-committed
  // transaction of that one read would, without making one (LevelDB's
  // DB::Get): it sees every commit acknowledged before the call and holds
  // no snapshot afterwards. NotFound when the key or the table is absent.
  // Thread-safe.
  Status Get(std::string_view table, std::string_view key, std::string* value);

  // Runs fn in a new transaction and commits it. When fn or the commit
  // fails with a retryable error, rolls back, sleeps a random backoff and
  // runs fn again in a new transaction, at most options.max_attempts times
  // in all; returns the last error. fn returning a non-retryable error ends
  // it at once (rolled back). fn must be safe to run more than once.
  Status Run(const std::function<Status(Transaction&)>& fn, const RunOptions& options = {});

  // Takes a checkpoint now (normally done in the background).
  Status Checkpoint();
  // Runs the version collector now, to the current watermark.
  Status CollectGarbage();
  // Checks the trees' invariants and checksums (mvdb check, live).
  Status CheckIntegrity(std::string* report);

  // Stops the background threads, checkpoints and releases the lock.
  // Returns the database's failure if it had one. REQUIRES: no Transaction
  // alive. Later calls fail with InvalidArgument.
  Status Close();
  // OK, or the sticky failure (IOError) that commits return.
  Status health() const;

  DatabaseStats stats() const;
  std::vector<TransactionInfo> ListTransactions() const;
  std::vector<LockInfo> ListLocks() const;
  // The table's B+tree, checked (checksums, order, links) while writes
  // wait: NotFound if there is no such table, Corruption if the check fails.
  Result<TableInfo> DescribeTable(std::string_view table);
  // Every version of `key` that is still kept, newest first. NotFound if
  // there is no such table.
  Result<std::vector<VersionInfo>> ListVersions(std::string_view table, std::string_view key);

 private:
  friend class Transaction;
  friend class Iterator;
  struct Impl;
  Database();
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvdb
