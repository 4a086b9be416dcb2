// Options of a database, of a transaction and of a commit.
//
// Every field has a default that suits a first use; the comment of each says
// what it trades. Options are plain values: copy them freely.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "mvdb/export.h"

namespace mvdb {

class Snapshot;  // db.h

// When a commit is acknowledged (the mvdb program's --sync full|normal|off,
// docs/cli.md).
enum class SyncMode : uint8_t {
  kFull,    // on stable storage (group-committed fdatasync): survives power loss
  kNormal,  // handed to the kernel; fsync'ed in the background within sync_interval
  kOff,     // handed to the kernel; fsync'ed only by checkpoints and close
};

// What a transaction sees (PostgreSQL's levels of the same names).
enum class IsolationLevel : uint8_t {
  // Every read operation (a Get, GetForUpdate, or a new iterator) sees the
  // commits acknowledged before it started. A write waits for a concurrent
  // writer of the same key and then goes on from the newest version.
  kReadCommitted,
  // The whole transaction sees one snapshot, taken at its first operation
  // (PostgreSQL's REPEATABLE READ). A write to a key that another
  // transaction committed after the snapshot fails with Conflict: first
  // updater wins, so no update is lost.
  kSnapshot,
};

// "read committed" or "snapshot".
MVDB_EXPORT const char* IsolationLevelName(IsolationLevel level);

struct Options {
  // Open fails with NotFound when the directory does not exist and this is false.
  bool create_if_missing = true;
  // Buffer pool size. Data larger than this is read from disk as needed.
  //
  // The default, 256 MiB, is a product decision (bench/README.md, "Misses
  // and the default cache size", has the figures):
  //  - It holds the whole working set of a typical embedded database: the
  //    benchmark's 1M keys of 16+100 bytes take 179 MiB of pages after
  //    random inserts (they did not fit the old 64 MiB default, and point
  //    reads ran at 0.6x LevelDB's at that size).
  //  - It costs little when the database is small: frame memory is only
  //    reserved at Open, and the kernel commits it page by page as pages are
  //    read, so a 10 MiB database uses about 10 MiB; what Open does touch
  //    is the frames' bookkeeping, about 1.5 % of the size (4 MiB here).
  //  - Past it, a miss of a page the OS page cache holds is a copy from a
  //    mapping of the data file (no system call), which costs about what a
  //    LevelDB block-cache miss costs; only pages the kernel must read from
  //    the device cost a device read. A larger cache buys little beyond
  //    that but doubles the memory of each page cached in both places.
  //  - With direct_io there is no OS page cache behind the pool, so size it
  //    to the data, or to the memory the process may use (WiredTiger and
  //    InnoDB, which read with O_DIRECT, suggest about half of RAM).
  size_t cache_mb = 256;
  // The durability of a commit unless CommitOptions::sync overrides it.
  SyncMode sync = SyncMode::kFull;
  // kNormal's loss window: how long a commit may wait for its fsync.
  std::chrono::milliseconds sync_interval{100};
  // The isolation of transactions that do not ask for one.
  IsolationLevel default_isolation = IsolationLevel::kSnapshot;

  // How long a write (or GetForUpdate) waits for another transaction's row
  // lock before failing with LockTimeout. Unset: as long as it takes;
  // deadlocks are still detected at once.
  std::optional<std::chrono::milliseconds> lock_timeout;

  // Old versions kept for open snapshots may use this much memory. Past it,
  // the transactions holding the oldest snapshot are aborted with
  // SnapshotTooOld (retryable), oldest first, until the versions fit; a
  // Snapshot (Database::GetSnapshot) is reclaimed the same way, and its
  // reads answer SnapshotTooOld from then on.
  // Counted as the heap holds them (values, keys, chains, the collector's
  // work queue, allocator overhead), not only the values' bytes. A commit
  // that leaves them over the limit collects before it returns, so they
  // exceed it by at most what the commits under way install (each at most
  // its write set, max_transaction_bytes).
  size_t max_version_bytes = size_t{256} << 20;
  // A transaction's write set — every key it wrote or locked, with its
  // value and the tree entry read when it was locked — may use this much
  // memory, counted as max_version_bytes is. The Put, Delete or
  // GetForUpdate that would cross it fails at once with InvalidArgument
  // ("transaction is too large", SQLSTATE 54000 in SQL) and changes
  // nothing: the transaction stays active, to be rolled back or committed
  // with what it holds. The commit hands the values to its log record
  // without another copy of the write set, but the record and the log's
  // buffer hold one each, so a commit takes up to about three times this.
  // Capped at 1 GiB - 4, what one log record can carry, so that a
  // transaction that was allowed to write never fails at COMMIT for its
  // size. SQL's CREATE INDEX builds in one transaction, each entry (and
  // each unique claim) a few hundred bytes of write set, so at the default
  // an index over more than about half a million rows needs a larger limit.
  size_t max_transaction_bytes = size_t{256} << 20;
  // How often the background collector looks for versions no snapshot can
  // see. Commits also collect on their way out, so this bounds the delay
  // only when nothing commits.
  std::chrono::milliseconds gc_interval{20};

  // Checkpoints (see ARCHITECTURE.md): one starts when the log has grown
  // this much since the last, or this long has passed with changes.
  uint64_t checkpoint_wal_bytes = uint64_t{64} << 20;
  std::chrono::milliseconds checkpoint_interval{30000};
  uint64_t wal_segment_bytes = uint64_t{64} << 20;

  // Reads and writes the data file with O_DIRECT, so the buffer pool is the
  // only cache of its pages (the log is written through the OS as before).
  // For measuring with data larger than the cache; Open fails with an
  // IOError where the file system refuses O_DIRECT (tmpfs).
  bool direct_io = false;
};

struct TransactionOptions {
  // Unset: Options::default_isolation.
  std::optional<IsolationLevel> isolation;
  // Writes (Put, Delete, GetForUpdate) then fail with InvalidArgument.
  bool read_only = false;
  // Unset: Options::lock_timeout.
  std::optional<std::chrono::milliseconds> lock_timeout;
  // Begin the transaction at this shared snapshot (Database::GetSnapshot)
  // instead of one of its own (LevelDB's ReadOptions::snapshot): it reads
  // what the snapshot sees, and a write to a key committed after it fails
  // with Conflict, as at snapshot isolation. It keeps a claim of its own
  // on the snapshot's versions, so the Snapshot need only outlive Begin.
  // Snapshot isolation (an unset isolation means it here, whatever
  // Options::default_isolation says). Begin returns a transaction born
  // ended, every call answering InvalidArgument, for read committed, an
  // empty snapshot or one of another database (or of a destroyed one); if
  // the snapshot was reclaimed, its first call (or Commit) answers
  // SnapshotTooOld and fails it, as for any reclaimed transaction.
  // Database::Run begins every attempt at the same snapshot, so it returns
  // a Conflict or SnapshotTooOld there at once instead of retrying: for
  // reads.
  const Snapshot* snapshot = nullptr;
};

struct CommitOptions {
  // Unset: Options::sync.
  std::optional<SyncMode> sync;
};

// Bounds of an iterator: keys in [lower_bound, upper_bound).
struct IteratorOptions {
  std::optional<std::string> lower_bound;  // inclusive; unset: from the first key
  std::optional<std::string> upper_bound;  // exclusive; unset: to the last key
};

// Database::Run's retry policy.
struct RunOptions {
  TransactionOptions transaction;
  CommitOptions commit;
  // Attempts in all, the first included.
  int max_attempts = 10;
  // Sleep before the n-th retry: a random time in [0, min(max, initial * 2^n)].
  std::chrono::microseconds initial_backoff{100};
  std::chrono::microseconds max_backoff{50000};
};

}  // namespace mvdb
