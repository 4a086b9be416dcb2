// Checkpoints of the storage engine and the background thread that takes
// them (engine.cc's essay, invariant 3, says why the LSN is read under the
// exclusive gate and the log synced before the meta slot).
//
// The background thread wakes when the log has grown by
// EngineOptions::checkpoint_wal_bytes since the last checkpoint, when
// checkpoint_interval has passed with changes, and, while kNormal commits
// are unsynced, every sync_interval to fdatasync them (the Wal's own
// background sync serves only Wal::Commit, and the facade appends and waits
// separately to keep the fsync outside the gate). Close stops it before the
// final checkpoint.
#include <algorithm>
#include <chrono>
#include <string>

#include "common/logging.h"
#include "engine/engine_impl.h"

namespace mvdb {

Status Engine::Impl::RunCheckpoint() {
  std::lock_guard serial(checkpoint_mu);
  MVDB_RETURN_IF_ERROR(Health());
  Lsn lsn = 0;
  uint64_t last_plus_one = 0;
  CheckpointHooks hooks;
  hooks.lsn_at_gate = [&] {
    // Exclusive gate: every appended record is applied, none is half done.
    lsn = wal->next_lsn();
    last_plus_one = last_appended_plus_one.load(std::memory_order_acquire);
    return lsn;
  };
  hooks.before_meta = [&](uint64_t) {
    // Records appended before this Open were made durable by Wal::Open.
    return last_plus_one == 0 ? wal->health() : wal->Sync(last_plus_one - 1);
  };
  Result<CheckpointResult> done = store->Checkpoint(hooks);
  if (!done.ok()) return Fail(done.status().WithContext("checkpoint"));
  last_checkpoint_lsn.store(lsn);
  checkpoints.fetch_add(1, std::memory_order_relaxed);
  // Commits that asked for a checkpoint while this one ran measured the log
  // against the previous checkpoint, and their request must not be lost:
  // clear it, then judge the growth since this checkpoint's LSN here. A
  // commit appends before it reads last_checkpoint_lsn and sets the flag, so
  // one whose request this store erases has already moved next_lsn.
  checkpoint_wanted.store(false);
  if (wal->next_lsn() - lsn >= options.checkpoint_wal_bytes) checkpoint_wanted.store(true);
  // Not sticky: the segments stay and the next checkpoint removes them.
  const Status removed = wal->RemoveSegmentsBefore(lsn);
  if (!removed.ok()) {
    Log(LogLevel::kWarning, dir + ": removing log segments before LSN " + std::to_string(lsn) +
                                ": " + removed.ToString());
  }
  return removed;
}

void Engine::Impl::AfterCommit(Lsn lsn, SyncMode mode) {
  const bool grown = wal->next_lsn() - last_checkpoint_lsn.load() >= options.checkpoint_wal_bytes;
  const bool first_to_see = grown && !checkpoint_wanted.exchange(true);
  if (mode != SyncMode::kNormal && !first_to_see) return;
  if (!options.background_checkpoints) return;
  {
    std::lock_guard lock(background_mu);
    if (mode == SyncMode::kNormal) {
      normal_unsynced_plus_one = std::max(normal_unsynced_plus_one, lsn + 1);
    }
  }
  background_cv.notify_one();
}

void Engine::Impl::StartBackground() {
  background = std::thread([this] { BackgroundLoop(); });
}

void Engine::Impl::StopBackground() {
  {
    std::lock_guard lock(background_mu);
    stopping = true;
  }
  background_cv.notify_all();
  if (background.joinable()) background.join();
}

void Engine::Impl::BackgroundLoop() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_checkpoint = Clock::now();
  bool sync_scheduled = false;  // kNormal commits wait for sync_due
  Clock::time_point sync_due;
  std::unique_lock lock(background_mu);
  while (!stopping) {
    if (!sync_scheduled && normal_unsynced_plus_one > 0) {
      sync_scheduled = true;
      sync_due = Clock::now() + options.sync_interval;
    }
    Clock::time_point wake = last_checkpoint + options.checkpoint_interval;
    if (sync_scheduled) wake = std::min(wake, sync_due);
    background_cv.wait_until(lock, wake, [&] {
      // A failed engine checkpoints no more; without the check a wanted
      // checkpoint would keep the thread spinning.
      return stopping || (checkpoint_wanted.load(std::memory_order_relaxed) && !failed) ||
             (!sync_scheduled && normal_unsynced_plus_one > 0);
    });
    if (stopping) break;
    if (!sync_scheduled && normal_unsynced_plus_one > 0) continue;  // schedule it first
    uint64_t to_sync = 0;
    if (sync_scheduled && Clock::now() >= sync_due) {
      to_sync = normal_unsynced_plus_one;
      normal_unsynced_plus_one = 0;
      sync_scheduled = false;
    }
    lock.unlock();
    if (to_sync > 0 && !failed) {
      const Status synced = wal->Sync(to_sync - 1);
      if (!synced.ok()) (void)Fail(synced);
    }
    const Clock::time_point now = Clock::now();
    const bool interval_passed = now >= last_checkpoint + options.checkpoint_interval;
    const bool changed = wal->next_lsn() > last_checkpoint_lsn.load(std::memory_order_relaxed);
    if (!failed &&
        (checkpoint_wanted.load(std::memory_order_relaxed) || (interval_passed && changed))) {
      const Status status = RunCheckpoint();
      if (!status.ok()) {
        Log(LogLevel::kWarning, dir + ": background checkpoint: " + status.ToString());
      }
      last_checkpoint = Clock::now();
    } else if (interval_passed) {
      last_checkpoint = now;  // nothing changed: the interval starts again
    }
    lock.lock();
  }
}

}  // namespace mvdb
