// Timeline (timeline.h): in-flight commits, visible(), snapshots.
#include "mvcc/timeline.h"

#include <algorithm>

namespace mvdb {

namespace {
constexpr int kFinishSpins = 64;
}  // namespace

Timeline::Timeline(Timestamp recovered) : visible_(recovered) {}

void Timeline::BeginCommit(Timestamp ts) {
  std::lock_guard lock(mu_);
  in_flight_.emplace_back(ts, false);
}

void Timeline::AbandonCommit(Timestamp ts) {
  std::lock_guard lock(mu_);
  if (abandoned_ == 0 || ts < abandoned_) abandoned_ = ts;
  WakeLocked();
}

void Timeline::WakeLocked() {
  const Timestamp visible = visible_.load(std::memory_order_relaxed);
  // In ts order: those visible() reached come first, those behind an
  // abandoned commit last.
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    const bool reached = it->first <= visible;
    if (!reached && (abandoned_ == 0 || it->first <= abandoned_)) {
      if (abandoned_ == 0) break;
      ++it;
      continue;
    }
    it->second->woken = true;
    it->second->cv.notify_one();
    it = waiters_.erase(it);
  }
}

bool Timeline::FinishCommit(Timestamp ts) {
  std::unique_lock lock(mu_);
  const auto it = std::lower_bound(in_flight_.begin(), in_flight_.end(), std::make_pair(ts, false));
  if (it != in_flight_.end() && it->first == ts) it->second = true;
  bool advanced = false;
  while (!in_flight_.empty() && in_flight_.front().second) {
    visible_.store(in_flight_.front().first, std::memory_order_release);
    in_flight_.pop_front();
    advanced = true;
  }
  if (advanced) WakeLocked();
  auto done = [&] {
    return visible_.load(std::memory_order_relaxed) >= ts || (abandoned_ != 0 && abandoned_ < ts);
  };
  // The commits ahead are usually a microsecond or two from finishing: a
  // lone waiter looks a few times before sleeping, as being woken costs
  // more. When others already sleep, this is a crowd (many committers on
  // few cores) and spinning would only take the CPU from those it waits
  // for.
  if (!done() && waiters_.empty()) {
    lock.unlock();
    for (int spin = 0; spin < kFinishSpins && visible_.load(std::memory_order_acquire) < ts;
         ++spin) {
      for (int i = 0; i < 16; ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
    lock.lock();
  }
  if (!done()) {
    Waiter waiter;
    waiters_.emplace(ts, &waiter);
    waiter.cv.wait(lock, [&] { return waiter.woken; });
  }
  return visible_.load(std::memory_order_relaxed) >= ts;
}

Timestamp Timeline::Acquire(SnapshotOwner* owner) {
  const auto now = std::chrono::steady_clock::now();  // outside the mutex
  std::lock_guard lock(mu_);
  if (owner->registered) UnlinkLocked(owner);
  owner->too_old.store(false, std::memory_order_relaxed);
  owner->ts = visible_.load(std::memory_order_relaxed);
  owner->since = now;
  // visible() never decreases, so the newest snapshot goes at the end.
  owner->older = newest_;
  owner->newer = nullptr;
  if (newest_ != nullptr) {
    newest_->newer = owner;
  } else {
    oldest_ = owner;
  }
  newest_ = owner;
  ++snapshot_count_;
  owner->registered = true;
  return owner->ts;
}

bool Timeline::AcquireAt(SnapshotOwner* owner, SnapshotOwner* base) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (!base->registered) return false;
  owner->too_old.store(false, std::memory_order_relaxed);
  owner->ts = base->ts;
  owner->since = now;
  // Right after base: whatever follows it is at least as new, so the
  // list stays in ts order. base is registered, so the watermark is at
  // most its ts and nothing owner needs has been collected.
  owner->older = base;
  owner->newer = base->newer;
  (base->newer != nullptr ? base->newer->older : newest_) = owner;
  base->newer = owner;
  ++snapshot_count_;
  owner->registered = true;
  return true;
}

void Timeline::UnlinkLocked(SnapshotOwner* owner) {
  (owner->older != nullptr ? owner->older->newer : oldest_) = owner->newer;
  (owner->newer != nullptr ? owner->newer->older : newest_) = owner->older;
  owner->older = owner->newer = nullptr;
  owner->registered = false;
  --snapshot_count_;
}

void Timeline::Release(SnapshotOwner* owner) {
  std::lock_guard lock(mu_);
  if (!owner->registered) return;
  UnlinkLocked(owner);
}

Timestamp Timeline::Watermark() const {
  std::lock_guard lock(mu_);
  const Timestamp visible = visible_.load(std::memory_order_relaxed);
  return oldest_ == nullptr ? visible : std::min(visible, oldest_->ts);
}

size_t Timeline::snapshot_count() const {
  std::lock_guard lock(mu_);
  return snapshot_count_;
}

double Timeline::oldest_age_ms() const {
  std::lock_guard lock(mu_);
  if (oldest_ == nullptr) return 0;
  std::chrono::steady_clock::time_point oldest = oldest_->since;
  for (const SnapshotOwner* owner = oldest_; owner != nullptr && owner->ts == oldest_->ts;
       owner = owner->newer) {
    oldest = std::min(oldest, owner->since);
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - oldest)
      .count();
}

std::vector<uint64_t> Timeline::ReclaimOldest() {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> victims;
  if (oldest_ == nullptr) return victims;
  const Timestamp oldest = oldest_->ts;
  if (oldest >= visible_.load(std::memory_order_relaxed)) return victims;
  while (oldest_ != nullptr && oldest_->ts == oldest) {
    SnapshotOwner* owner = oldest_;
    owner->too_old.store(true, std::memory_order_release);
    UnlinkLocked(owner);
    victims.push_back(owner->txn_id);
  }
  return victims;
}

}  // namespace mvdb
