// Row and table locks, waits and deadlock detection: why a cycle of waits
// is always found, and found by one of its members.
//
//  1. A row lock entry exists while it is held or waited for. Its holder is
//     a transaction id, or 0 between a release and the wake-up of a waiter,
//     when the first waiter to run takes it (waiters race; PostgreSQL
//     queues them, which is fairer, and the difference shows only under
//     heavy contention on one key).
//  2. The wait-for graph has an edge T -> H while T waits for a lock H
//     holds, or (table locks) for a conflicting request H queued ahead of
//     T's. A transaction waits for one lock at a time and sets all its
//     edges at once. Edges are set and checked under graph_mu_, one
//     waiter at a time: the edges that close a cycle are checked after
//     every other edge of the cycle exists, so they see the cycle, and
//     their transaction is the victim (it fails with Deadlock and keeps no
//     edge).
//  3. An edge is kept true enough: a waiter woken by a change of its lock
//     (a release, a grant, a request leaving the queue, a timeout tick)
//     removes its edges, then either takes the lock or sets its edges anew,
//     checking again as in 2. An edge not yet updated points at a
//     transaction that has ended or been granted what it waited for; one
//     that ended never waits again (locks are released only at the end),
//     and one granted still blocks T if T's edge to it was right. So a
//     cycle of stale edges cannot form, and one of fresh edges is found by
//     2. (A transaction that jumps the queue, below, may block waiters that
//     had no edge to it; the grant wakes them, and they add the edge,
//     checking as in 2.)
//  4. Table locks follow PostgreSQL's lock queue: a request waits if it
//     conflicts with a mode another transaction holds or with a request
//     queued ahead of it, so a waiting DROP is not starved by a stream of
//     readers. A transaction that already holds the table in a mode that
//     a queued request conflicts with is put ahead of that request (it
//     would otherwise wait for a request that waits for it). Every change
//     of a table lock wakes all its waiters, and each grants itself when
//     nothing granted or ahead of it conflicts.
//  5. Lock order: a shard's mutex, then tables_mu_, then graph_mu_.
//     Deadlock detection holds only graph_mu_, so it never waits for a
//     shard.
//  6. PostgreSQL's soft deadlocks: a cycle that goes through a table
//     request waiting only because of the queue (nothing granted conflicts
//     with it) is broken as PostgreSQL's deadlock checker breaks it, by
//     moving that request to the front of its queue (it takes the lock
//     when it wakes), not by failing anyone. So a transaction that waits
//     for a row lock held by a reader queued behind a DROP, while the DROP
//     waits for the first transaction, lets the reader go first. Only a
//     cycle no such move breaks is a Deadlock.
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

size_t LockManager::ShardIndex(std::string_view name) {
  return std::hash<std::string_view>{}(name) % kShards;
}

void LockManager::GroupByShard(std::span<const std::string_view> names,
                               std::array<uint32_t, kShards + 1>* start,
                               std::vector<uint32_t>* order) {
  static_assert(kShards <= 256, "a shard index is kept in a byte");
  std::vector<uint8_t> shard_of(names.size());
  start->fill(0);
  for (size_t i = 0; i < names.size(); ++i) {
    shard_of[i] = static_cast<uint8_t>(ShardIndex(names[i]));
    ++(*start)[shard_of[i] + 1];
  }
  for (size_t s = 0; s < kShards; ++s) (*start)[s + 1] += (*start)[s];
  std::array<uint32_t, kShards> next;
  std::copy(start->begin(), start->end() - 1, next.begin());
  order->resize(names.size());
  for (size_t i = 0; i < names.size(); ++i)
    (*order)[next[shard_of[i]]++] = static_cast<uint32_t>(i);
}

bool LockManager::Reaches(const std::vector<TxnId>& from, TxnId target, TxnId skip) const {
  std::vector<TxnId> stack(from.begin(), from.end());
  std::unordered_map<TxnId, bool> seen;
  while (!stack.empty()) {
    const TxnId at = stack.back();
    stack.pop_back();
    if (at == target) return true;
    if (at == skip || !seen.emplace(at, true).second) continue;
    const auto next = waits_for_.find(at);
    if (next != waits_for_.end())
      stack.insert(stack.end(), next->second.begin(), next->second.end());
  }
  return false;
}

bool LockManager::StartWaiting(TxnId txn, const std::vector<TxnId>& blockers) {
  std::lock_guard lock(graph_mu_);
  waits_for_.erase(txn);
  if (Reaches(blockers, txn, 0)) return false;  // invariant 2
  waits_for_[txn] = blockers;
  return true;
}

bool LockManager::PromoteSoftWaiter(TxnId txn, const std::vector<TxnId>& blockers) {
  for (auto& [name, entry] : tables_) {
    for (size_t i = 1; i < entry.queue.size(); ++i) {
      const TableRequest request = entry.queue[i];
      // Only the queue holds it back: nothing granted conflicts.
      if (!TableBlockers(entry, request.txn, request.mode, 0).empty()) continue;
      {
        std::lock_guard graph(graph_mu_);
        if (request.txn != txn && Reaches(blockers, txn, request.txn)) continue;
        waits_for_.erase(request.txn);
      }
      entry.queue.erase(entry.queue.begin() + static_cast<ptrdiff_t>(i));
      entry.queue.insert(entry.queue.begin(), request);
      tables_changed_.notify_all();  // it takes the lock when it wakes
      return true;
    }
  }
  return false;
}

void LockManager::CountDeadlock() {
  std::lock_guard graph(graph_mu_);
  ++stats_.deadlocks;
}

void LockManager::CountWait() {
  std::lock_guard graph(graph_mu_);
  ++stats_.waits;
}

void LockManager::CountTimeout() {
  std::lock_guard graph(graph_mu_);
  ++stats_.timeouts;
}

void LockManager::StopWaiting(TxnId txn) {
  std::lock_guard lock(graph_mu_);
  waits_for_.erase(txn);
}

Status LockManager::Lock(TxnId txn, std::string_view name,
                         std::optional<std::chrono::milliseconds> timeout, bool* newly,
                         bool* waited) {
  *newly = false;
  *waited = false;
  Shard& shard = ShardOf(name);
  std::unique_lock lock(shard.mu);
  auto found = shard.locks.find(name);
  if (found == shard.locks.end()) found = shard.locks.emplace(std::string(name), Entry{}).first;
  Entry& entry = found->second;  // stays valid: entries are erased only when unused
  if (entry.holder == txn) return Status::OK();
  const auto deadline = timeout.has_value()
                            ? std::optional(std::chrono::steady_clock::now() + *timeout)
                            : std::nullopt;
  bool counted = false;
  while (entry.holder != 0 && entry.holder != txn) {
    const TxnId holder = entry.holder;
    if (!StartWaiting(txn, {holder})) {
      bool promoted = false;
      {
        std::lock_guard tables(tables_mu_);  // invariant 6
        promoted = PromoteSoftWaiter(txn, {holder});
      }
      if (promoted && StartWaiting(txn, {holder})) continue;
      CountDeadlock();
      if (entry.holder == 0 && entry.waiters.empty()) shard.locks.erase(shard.locks.find(name));
      return Status::Deadlock("transaction " + std::to_string(txn) + " waiting for transaction " +
                              std::to_string(holder) + " would close a cycle of lock waits");
    }
    if (!counted) {
      counted = true;
      *waited = true;
      CountWait();
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
      CountTimeout();
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

Status LockManager::LockMany(TxnId txn, std::span<const std::string_view> names,
                             std::optional<std::chrono::milliseconds> timeout,
                             std::span<uint8_t> newly) {
  // One name at a time, in order. Taking the free locks of a shard together
  // and handing back those past a busy one was tried and is wrong: a
  // transaction that began to wait for a lock handed back keeps its wait-for
  // edge until it wakes, and the caller, waiting next, would find that stale
  // edge closing a cycle (a false Deadlock). Invariant 3 holds only because
  // a lock is released at the end of its transaction, never before a wait.
  if (newly.size() != names.size()) {
    return Status::InvalidArgument("LockMany: " + std::to_string(names.size()) + " names but " +
                                   std::to_string(newly.size()) + " flags");
  }
  std::fill(newly.begin(), newly.end(), uint8_t{0});
  for (size_t i = 0; i < names.size(); ++i) {
    bool taken = false;
    bool waited = false;
    const Status locked = Lock(txn, names[i], timeout, &taken, &waited);
    newly[i] = taken ? 1 : 0;
    if (!locked.ok()) return locked;
  }
  return Status::OK();
}

void LockManager::UnlockMany(TxnId txn, std::span<const std::string_view> names) {
  std::array<uint32_t, kShards + 1> start;
  std::vector<uint32_t> order;
  GroupByShard(names, &start, &order);
  for (size_t s = 0; s < kShards; ++s) {
    if (start[s] == start[s + 1]) continue;
    Shard& shard = shards_[s];
    bool wake = false;
    {
      std::lock_guard lock(shard.mu);
      for (uint32_t k = start[s]; k < start[s + 1]; ++k) {
        const auto it = shard.locks.find(names[order[k]]);
        if (it == shard.locks.end() || it->second.holder != txn) continue;
        if (it->second.waiters.empty()) {
          shard.locks.erase(it);
        } else {
          it->second.holder = 0;
          wake = true;
        }
      }
    }
    if (wake) shard.released.notify_all();
  }
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

void LockManager::Unlock(TxnId txn, std::string_view name) {
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

// ---- table locks ----

namespace {

uint8_t Bit(TableLockMode mode) { return static_cast<uint8_t>(1u << static_cast<unsigned>(mode)); }

// PostgreSQL's conflict table (lock.c, LockConflicts) for the modes mvdb
// uses: bit m of kConflicts[n] is set when modes n and m conflict.
constexpr uint8_t kAS = 1u << 0, kRS = 1u << 1, kRX = 1u << 2, kS = 1u << 3, kAX = 1u << 4;
constexpr uint8_t kConflicts[] = {
    kAX,                        // AccessShare
    kAX,                        // RowShare
    kS | kAX,                   // RowExclusive
    kRX | kAX,                  // Share
    kAS | kRS | kRX | kS | kAX  // AccessExclusive
};

uint8_t ConflictMask(TableLockMode mode) { return kConflicts[static_cast<size_t>(mode)]; }

}  // namespace

bool LockManager::Conflicts(TableLockMode a, TableLockMode b) {
  return (ConflictMask(a) & Bit(b)) != 0;
}

uint8_t LockManager::TableEntry::HeldBy(TxnId txn) const {
  for (const auto& [holder, modes] : granted) {
    if (holder == txn) return modes;
  }
  return 0;
}

std::vector<TxnId> LockManager::TableBlockers(const TableEntry& entry, TxnId txn,
                                              TableLockMode mode, size_t at) {
  std::vector<TxnId> blockers;
  const uint8_t conflicts = ConflictMask(mode);
  for (const auto& [holder, modes] : entry.granted) {
    if (holder != txn && (modes & conflicts) != 0) blockers.push_back(holder);
  }
  for (size_t i = 0; i < at && i < entry.queue.size(); ++i) {
    const TableRequest& ahead = entry.queue[i];
    if (ahead.txn != txn && Conflicts(mode, ahead.mode) &&
        std::find(blockers.begin(), blockers.end(), ahead.txn) == blockers.end()) {
      blockers.push_back(ahead.txn);
    }
  }
  return blockers;
}

Status LockManager::LockTable(TxnId txn, const std::string& name, TableLockMode mode,
                              std::optional<std::chrono::milliseconds> timeout, bool* newly) {
  *newly = false;
  std::unique_lock lock(tables_mu_);
  TableEntry& entry = tables_[name];  // stays valid: erased only when unused
  const uint8_t held = entry.HeldBy(txn);
  if ((held & Bit(mode)) != 0) return Status::OK();
  // Invariant 4: where the request joins the queue.
  size_t at = entry.queue.size();
  if (held != 0) {
    for (size_t i = 0; i < entry.queue.size(); ++i) {
      if ((ConflictMask(entry.queue[i].mode) & held) != 0) {
        at = i;
        break;
      }
    }
  }
  const auto grant = [&] {
    for (auto& [holder, modes] : entry.granted) {
      if (holder == txn) {
        modes |= Bit(mode);
        *newly = true;
        return;
      }
    }
    entry.granted.emplace_back(txn, Bit(mode));
    *newly = true;
  };
  std::vector<TxnId> blockers = TableBlockers(entry, txn, mode, at);
  if (blockers.empty()) {
    grant();
    if (at < entry.queue.size()) tables_changed_.notify_all();  // went ahead of waiters
    return Status::OK();
  }
  entry.queue.insert(entry.queue.begin() + static_cast<ptrdiff_t>(at), TableRequest{txn, mode});
  tables_changed_.notify_all();  // the waiters behind may now wait for txn too (invariant 3)
  CountWait();
  // (A plain time point: GCC 12 warns falsely about an optional one.)
  const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::hours(0));
  const auto leave = [&] {
    StopWaiting(txn);
    const auto mine = std::find_if(entry.queue.begin(), entry.queue.end(),
                                   [&](const TableRequest& r) { return r.txn == txn; });
    entry.queue.erase(mine);
    if (entry.granted.empty() && entry.queue.empty()) {
      tables_.erase(name);
    } else {
      tables_changed_.notify_all();  // requests behind may go now
    }
  };
  bool timed_out = false;
  while (true) {
    const auto mine = std::find_if(entry.queue.begin(), entry.queue.end(),
                                   [&](const TableRequest& r) { return r.txn == txn; });
    blockers = TableBlockers(entry, txn, mode, static_cast<size_t>(mine - entry.queue.begin()));
    if (blockers.empty()) {
      StopWaiting(txn);
      entry.queue.erase(mine);
      grant();
      tables_changed_.notify_all();  // requests behind it may go too, or wait for it now
      return Status::OK();
    }
    if (timed_out) {
      const TxnId blocker = blockers.front();
      leave();
      CountTimeout();
      return Status::LockTimeout("transaction " + std::to_string(txn) + " waited longer than " +
                                 std::to_string(timeout->count()) + " ms for a table lock on '" +
                                 name + "' (transaction " + std::to_string(blocker) + ")");
    }
    if (!StartWaiting(txn, blockers)) {
      if (PromoteSoftWaiter(txn, blockers)) continue;  // invariant 6
      CountDeadlock();
      const TxnId blocker = blockers.front();
      leave();
      return Status::Deadlock("transaction " + std::to_string(txn) + " waiting for transaction " +
                              std::to_string(blocker) + " (table lock on '" + name +
                              "') would close a cycle of lock waits");
    }
    if (timeout.has_value()) {
      timed_out = tables_changed_.wait_until(lock, deadline) == std::cv_status::timeout;
    } else {
      tables_changed_.wait(lock);
    }
  }
}

void LockManager::UnlockTable(TxnId txn, const std::string& name, uint8_t modes) {
  std::lock_guard lock(tables_mu_);
  const auto it = tables_.find(name);
  if (it == tables_.end()) return;
  TableEntry& entry = it->second;
  const auto mine = std::find_if(entry.granted.begin(), entry.granted.end(),
                                 [&](const auto& g) { return g.first == txn; });
  if (mine == entry.granted.end()) return;
  mine->second &= static_cast<uint8_t>(~modes);
  if (mine->second == 0) entry.granted.erase(mine);
  if (entry.granted.empty() && entry.queue.empty()) {
    tables_.erase(it);
  } else {
    tables_changed_.notify_all();
  }
}

std::vector<LockManager::TableLockState> LockManager::TableSnapshot() const {
  std::vector<TableLockState> out;
  std::lock_guard lock(tables_mu_);
  for (const auto& [name, entry] : tables_) {
    TableLockState state;
    state.name = name;
    for (const auto& [holder, modes] : entry.granted) {
      for (unsigned m = 0; m <= static_cast<unsigned>(TableLockMode::kAccessExclusive); ++m) {
        if ((modes & (1u << m)) != 0) state.granted.emplace_back(holder, TableLockMode(m));
      }
    }
    for (const TableRequest& request : entry.queue)
      state.waiting.emplace_back(request.txn, request.mode);
    out.push_back(std::move(state));
  }
  std::sort(out.begin(), out.end(),
            [](const TableLockState& a, const TableLockState& b) { return a.name < b.name; });
  return out;
}

TxnId LockManager::WaitingFor(TxnId txn) const {
  std::lock_guard lock(graph_mu_);
  const auto it = waits_for_.find(txn);
  return it == waits_for_.end() || it->second.empty() ? 0 : it->second.front();
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
