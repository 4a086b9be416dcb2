// Timeline: commit timestamps, what every new snapshot sees, and the
// snapshots that are open.
//
// A commit's timestamp is its log record's LSN + 1, so timestamps follow
// log order and 0 means "before everything". A commit is *in flight* from
// the moment its record is appended (BeginCommit, under the engine's commit
// lock, hence in timestamp order) until it is durable (FinishCommit).
// visible() is the largest timestamp such that no commit at or below it is
// in flight: a snapshot taken now sees exactly the commits at or below it.
// Because visible() never passes an in-flight commit, a commit that
// finished early waits in FinishCommit for the earlier ones, and a snapshot
// never sees a later commit without an earlier one.
//
// Snapshots are registered with their owner's SnapshotOwner; the oldest
// registered snapshot (or visible() when there is none) is the watermark
// below which old versions are garbage (mvcc/version_store.h).
// Registration and reading visible() happen under one mutex, so a
// collector that computed the watermark never misses a snapshot taken at
// or after the value it read. The registered owners form a list through
// the owners themselves, oldest first: a snapshot registers at visible(),
// which never decreases, so appending keeps the order, and registering
// allocates nothing (a short read-only scan registers one). An owner is a
// transaction's snapshot, a read committed iterator's, or a shared
// Snapshot's (db/snapshot.cc), which many threads read at once: they read
// its ts and too_old only, never the list fields.
//
// Threading: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

namespace mvdb {

using Timestamp = uint64_t;

// One transaction's (or iterator's, or shared Snapshot's) claim on a
// snapshot.
struct SnapshotOwner {
  uint64_t txn_id = 0;
  // Set (under the timeline's mutex, then readable without it) when the
  // snapshot was reclaimed to bound memory: every read through it from then
  // on must fail with SnapshotTooOld, and any read that was under way when
  // it was set must be discarded (the owner checks after reading).
  std::atomic<bool> too_old{false};
  // Registered: ts, since when, and the neighbours in the timeline's list
  // (guarded by its mutex).
  bool registered = false;
  Timestamp ts = 0;
  std::chrono::steady_clock::time_point since;
  SnapshotOwner* older = nullptr;
  SnapshotOwner* newer = nullptr;
};

class Timeline {
 public:
  // Everything at or below `recovered` is visible (a database just opened).
  explicit Timeline(Timestamp recovered);

  Timestamp visible() const { return visible_.load(std::memory_order_acquire); }

  // REQUIRES: called in increasing ts order (under the engine's commit
  // lock), each ts greater than visible().
  void BeginCommit(Timestamp ts);
  // The commit at ts is durable: returns true once visible() >= ts, or
  // false if an earlier commit was abandoned (then it never will be).
  bool FinishCommit(Timestamp ts);
  // The commit at ts failed after BeginCommit (the engine has failed): it
  // stays in flight for good, so visible() never reaches it, and every
  // FinishCommit waiting behind it returns false.
  void AbandonCommit(Timestamp ts);

  // Registers owner's snapshot at visible() (or moves it there if already
  // registered) and returns it. Clears too_old.
  Timestamp Acquire(SnapshotOwner* owner);
  // Registers owner's snapshot at base's timestamp, beside it (a
  // transaction begun at a shared snapshot): false, registering nothing,
  // if base is not registered (it was reclaimed). REQUIRES: owner not
  // registered.
  bool AcquireAt(SnapshotOwner* owner, SnapshotOwner* base);
  // Unregisters (no-op if not registered or reclaimed).
  void Release(SnapshotOwner* owner);

  // The oldest registered snapshot, or visible() when there is none.
  Timestamp Watermark() const;
  // Registered snapshots and the age of the oldest, for statistics.
  size_t snapshot_count() const;
  double oldest_age_ms() const;

  // Reclaims the oldest snapshot: flags every owner registered at the
  // oldest timestamp too_old and unregisters them. Returns their
  // transaction ids; empty when no snapshot is older than visible() (then
  // reclaiming would free nothing).
  std::vector<uint64_t> ReclaimOldest();

 private:
  // A FinishCommit asleep until visible() reaches ts. Each sleeper has its
  // own condition variable and is woken alone when its turn comes: with one
  // shared one, every advance of visible() woke every sleeper (64
  // committers of one group commit woke each other ~64 times each).
  struct Waiter {
    std::condition_variable cv;
    bool woken = false;  // guarded by mu_
  };
  // Wakes the sleepers visible() has reached, and those behind an abandoned
  // commit (which never will be).
  // REQUIRES: mu_ held.
  void WakeLocked();

  mutable std::mutex mu_;
  std::multimap<Timestamp, Waiter*> waiters_;  // guarded by mu_
  std::atomic<Timestamp> visible_;
  // In-flight commits in ts order, each with whether it has finished.
  std::deque<std::pair<Timestamp, bool>> in_flight_;  // guarded by mu_
  Timestamp abandoned_ = 0;  // the first abandoned commit, 0 if none; guarded by mu_
  // Unlinks a registered owner. REQUIRES: mu_ held.
  void UnlinkLocked(SnapshotOwner* owner);

  // Registered snapshots, in ts order (oldest_ the watermark's); guarded by mu_.
  SnapshotOwner* oldest_ = nullptr;
  SnapshotOwner* newest_ = nullptr;
  size_t snapshot_count_ = 0;
};

}  // namespace mvdb
