// LockManager: exclusive row locks held to the end of a transaction, waits
// with timeouts, and deadlock detection when a wait starts.
//
// A lock is named by a table id and a key. Only writers (and GetForUpdate)
// lock; readers never do, so only writers wait. The rules are the essay at
// the top of lock_manager.cc.
//
// Threading: every method may be called from any thread; one transaction
// calls Lock from one thread at a time.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mvdb/status.h"

namespace mvdb {

using TxnId = uint64_t;

struct LockWaitStats {
  uint64_t waits = 0;
  uint64_t deadlocks = 0;
  uint64_t timeouts = 0;
};

class LockManager {
 public:
  // The lock's name: 4-byte table id then the key (as VersionStore names
  // chains), built by the caller once per key.
  static std::string LockName(uint32_t table, std::string_view key);

  // Takes the lock `name` for txn, waiting while another transaction holds
  // it. OK once held (also if txn held it already; *newly is then false).
  // Deadlock if waiting would close a cycle of waits (txn is the victim);
  // LockTimeout after `timeout` (unset: no limit). `*waited` tells whether
  // it had to wait.
  Status Lock(TxnId txn, const std::string& name, std::optional<std::chrono::milliseconds> timeout,
              bool* newly, bool* waited);
  // Takes `name` for txn if nobody holds it or waits for it; never waits.
  bool TryLock(TxnId txn, const std::string& name);
  // Releases `name` if txn holds it and wakes its waiters.
  void Unlock(TxnId txn, const std::string& name);

  // The transaction txn waits for, or 0.
  TxnId WaitingFor(TxnId txn) const;
  struct LockState {
    std::string name;
    TxnId holder = 0;  // 0: released, a waiter is about to take it
    std::vector<TxnId> waiters;
  };
  std::vector<LockState> Snapshot() const;
  LockWaitStats stats() const;

 private:
  struct Entry {
    TxnId holder = 0;
    std::vector<TxnId> waiters;
  };
  struct Shard {
    mutable std::mutex mu;
    std::condition_variable released;
    std::unordered_map<std::string, Entry> locks;
  };
  static constexpr size_t kShards = 64;

  Shard& ShardOf(std::string_view name);
  // Records txn -> holder in the wait-for graph unless that closes a cycle;
  // returns false (recording nothing) if it would.
  bool StartWaiting(TxnId txn, TxnId holder);
  void StopWaiting(TxnId txn);

  std::array<Shard, kShards> shards_;
  mutable std::mutex graph_mu_;                 // after a shard's mutex
  std::unordered_map<TxnId, TxnId> waits_for_;  // guarded by graph_mu_
  LockWaitStats stats_;                         // guarded by graph_mu_
};

}  // namespace mvdb
