// Row locks, waits and deadlock detection: why a cycle of waits is always
// found, and found by exactly one of its members.
//
//  1. A lock entry exists while it is held or waited for. Its holder is a
//     transaction id, or 0 between a release and the wake-up of a waiter,
//     when the first waiter to run takes it (waiters race; PostgreSQL
//     queues them, which is fairer, and the difference shows only under
//     heavy contention on one key).
//  2. The wait-for graph has an edge T -> H while T waits for a lock H
//     holds. Each transaction waits for one lock at a time, so each node has
//     at most one outgoing edge and a cycle is found by following edges from
//     H. Edges are added and checked under graph_mu_, one at a time: the
//     edge that closes a cycle is checked after every other edge of the
//     cycle exists, so it sees the cycle, and its transaction is the victim
//     (it fails with Deadlock and adds no edge). No other member sees the
//     cycle, because its edge was added before the cycle closed.
//  3. An edge is kept true: a waiter woken by a release (or a timeout
//     tick) removes its edge, then either takes the lock or adds an edge to
//     the new holder, checking again as in 2. So a cycle is never formed
//     of stale edges, and one formed of fresh edges is found by 2.
//  4. Lock order: a shard's mutex, then graph_mu_. Deadlock detection
//     holds only graph_mu_, so it never waits for a shard.
#include "txn/lock_manager.h"

#include <algorithm>
#include <functional>

#include "common/coding.h"

namespace mvdb {

std::string LockManager::LockName(uint32_t table, std::string_view key) {
  std::string name;
  name.reserve(4 + key.size());  // one allocation
  name.resize(4);
  EncodeFixed32(reinterpret_cast<std::byte*>(name.data()), table);
  name.append(key);
  return name;
}

LockManager::Shard& LockManager::ShardOf(std::string_view name) {
  return shards_[std::hash<std::string_view>{}(name) % kShards];
}

bool LockManager::StartWaiting(TxnId txn, TxnId holder) {
  std::lock_guard lock(graph_mu_);
  // Invariant 2: follow the single outgoing edges from the holder.
  TxnId at = holder;
  for (size_t steps = 0; steps <= waits_for_.size(); ++steps) {
    if (at == txn) {
      ++stats_.deadlocks;
      return false;
    }
    const auto next = waits_for_.find(at);
    if (next == waits_for_.end()) break;
    at = next->second;
  }
  waits_for_[txn] = holder;
  return true;
}

void LockManager::StopWaiting(TxnId txn) {
  std::lock_guard lock(graph_mu_);
  waits_for_.erase(txn);
}

Status LockManager::Lock(TxnId txn, const std::string& name,
                         std::optional<std::chrono::milliseconds> timeout, bool* newly,
                         bool* waited) {
  *newly = false;
  *waited = false;
  Shard& shard = ShardOf(name);
  std::unique_lock lock(shard.mu);
  Entry& entry = shard.locks[name];  // stays valid: entries are erased only when unused
  if (entry.holder == txn) return Status::OK();
  const auto deadline = timeout.has_value()
                            ? std::optional(std::chrono::steady_clock::now() + *timeout)
                            : std::nullopt;
  bool counted = false;
  while (entry.holder != 0 && entry.holder != txn) {
    const TxnId holder = entry.holder;
    if (!StartWaiting(txn, holder)) {
      if (entry.holder == 0 && entry.waiters.empty()) shard.locks.erase(name);
      return Status::Deadlock("transaction " + std::to_string(txn) + " waiting for transaction " +
                              std::to_string(holder) + " would close a cycle of lock waits");
    }
    if (!counted) {
      counted = true;
      *waited = true;
      std::lock_guard graph(graph_mu_);
      ++stats_.waits;
    }
    entry.waiters.push_back(txn);
    bool timed_out = false;
    if (deadline.has_value()) {
      timed_out = shard.released.wait_until(lock, *deadline) == std::cv_status::timeout;
    } else {
      shard.released.wait(lock);
    }
    entry.waiters.erase(std::find(entry.waiters.begin(), entry.waiters.end(), txn));
    StopWaiting(txn);  // invariant 3
    if (timed_out && entry.holder != 0 && entry.holder != txn) {
      std::lock_guard graph(graph_mu_);
      ++stats_.timeouts;
      return Status::LockTimeout("transaction " + std::to_string(txn) + " waited longer than " +
                                 std::to_string(timeout->count()) +
                                 " ms for a lock held by transaction " +
                                 std::to_string(entry.holder));
    }
  }
  entry.holder = txn;
  *newly = true;
  return Status::OK();
}

bool LockManager::TryLock(TxnId txn, const std::string& name) {
  Shard& shard = ShardOf(name);
  std::lock_guard lock(shard.mu);
  const auto [it, inserted] = shard.locks.try_emplace(name);
  if (inserted) {
    it->second.holder = txn;
    return true;
  }
  return it->second.holder == txn;
}

void LockManager::Unlock(TxnId txn, const std::string& name) {
  Shard& shard = ShardOf(name);
  std::lock_guard lock(shard.mu);
  const auto it = shard.locks.find(name);
  if (it == shard.locks.end() || it->second.holder != txn) return;
  if (it->second.waiters.empty()) {
    shard.locks.erase(it);
  } else {
    it->second.holder = 0;
    shard.released.notify_all();
  }
}

TxnId LockManager::WaitingFor(TxnId txn) const {
  std::lock_guard lock(graph_mu_);
  const auto it = waits_for_.find(txn);
  return it == waits_for_.end() ? 0 : it->second;
}

std::vector<LockManager::LockState> LockManager::Snapshot() const {
  std::vector<LockState> out;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [name, entry] : shard.locks)
      out.push_back({name, entry.holder, entry.waiters});
  }
  std::sort(out.begin(), out.end(),
            [](const LockState& a, const LockState& b) { return a.name < b.name; });
  return out;
}

LockWaitStats LockManager::stats() const {
  std::lock_guard lock(graph_mu_);
  return stats_;
}

}  // namespace mvdb
