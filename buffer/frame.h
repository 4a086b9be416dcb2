// Frame and PageTable: one slot of the buffer pool, and the map from page
// ids to frames one shard of the page table keeps. Internal to buffer/: only
// the pool (buffer_pool.cc, whose opening essay gives the protocol, and
// optimistic_read.cc) and the page guards (page_guard.cc) look inside.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <thread>
#include <vector>

#include "buffer/page.h"
#include "mvdb/status.h"

namespace mvdb {

// The fields a latched hit touches first (latch, pin count) share the first
// cache line; the second holds what an optimistic hit reads (version, page
// id, reference bit) and the pointer to the bytes; the rest are for loads,
// eviction and write-back.
struct alignas(64) Frame {
  static constexpr uint32_t kZombie = 1u << 31;
  static constexpr uint32_t kPinMask = kZombie - 1;

  std::shared_mutex latch;
  // Pin count in the low 31 bits; kZombie once the frame left the table
  // while pinned (invariant 3).
  std::atomic<uint32_t> pin_state{0};
  // Whether the last load failed (load_status then says why); guarded by
  // the latch. A hit reads this instead of load_status, on the hot line.
  bool load_failed = false;
  std::atomic<bool> dirty{false};
  std::atomic<bool> writing{false};  // a write-back of this frame is in flight
  // The pool's checkpoint epoch when the frame was last dirtied from clean:
  // meaningful while `dirty` is set. Written under the exclusive latch.
  std::atomic<uint64_t> dirty_epoch{0};
  // The seqlock of optimistic readers (buffer_pool.h, invariant 6): odd
  // while the frame's bytes or the page it holds may change (free, loading,
  // a write guard alive), even while it holds page_id's complete bytes and
  // nobody may change them. Every change makes it odd first and moves it to
  // a new even value after, so a reader that saw the same even value before
  // and after reading saw one stable page. Starts odd: the frame is free.
  std::atomic<uint64_t> version{1};
  std::byte* data = nullptr;
  // The page held, kInvalidPageId when not in the table. Written only under
  // the page's shard lock; read without it by the clock sweep as a hint.
  std::atomic<PageId> page_id{kInvalidPageId};
  // CLOCK's reference bit, set by every hit (on this line, which an
  // optimistic hit reads anyway).
  std::atomic<bool> referenced{false};
  // Hits on this frame, summed by BufferPool::stats: a per-frame counter
  // lives on a line the hit writes anyway, unlike a shared one.
  std::atomic<uint64_t> hits{0};
  // Outcome of the last load; guarded by the latch.
  Status load_status;

  uint32_t pins() const { return pin_state.load(std::memory_order_acquire) & kPinMask; }
  std::span<std::byte> bytes() const { return std::span<std::byte>(data, kPageSize); }
};

// The lock of one page table shard: a reader-writer spin lock. Its
// critical sections are a few dozen instructions (a probe, a pin, an insert
// or erase) and never block on anything, so spinning beats std::shared_mutex,
// whose uncontended lock and unlock cost several times as many instructions
// on the hit path. Waiters yield after a short spin, since on a loaded
// machine the holder may have lost its core. Meets the standard
// SharedLockable requirements, so std::shared_lock and std::unique_lock work.
class ShardLock {
 public:
  void lock_shared() {
    for (int spins = 0;; ++spins) {
      uint32_t state = state_.load(std::memory_order_relaxed);
      if ((state & kWriter) == 0 &&
          state_.compare_exchange_weak(state, state + 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
      Backoff(spins);
    }
  }
  void unlock_shared() { state_.fetch_sub(1, std::memory_order_release); }

  void lock() {
    for (int spins = 0;; ++spins) {
      uint32_t state = 0;
      if (state_.compare_exchange_weak(state, kWriter, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
      Backoff(spins);
    }
  }
  void unlock() { state_.store(0, std::memory_order_release); }

 private:
  static constexpr uint32_t kWriter = 1u << 31;  // below it: the reader count

  static void Backoff(int spins) {
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }

  std::atomic<uint32_t> state_{0};
};

// One shard's page id -> frame map: open addressing with linear probing,
// an empty entry holding kInvalidPageId, deletion by backward shift (no
// tombstones, so probe sequences stay short after churn). A lookup reads
// one or two adjacent 16-byte entries; nothing allocates but growth, which
// doubles the array when it would be more than half full. Not synchronized:
// the shard's lock guards it.
class PageTable {
 public:
  // Sizes the array for `pages` entries at most half full.
  void Reserve(size_t pages) {
    size_t want = kMinSlots;
    while (want < 2 * pages) want *= 2;
    if (want > entries_.size()) Rehash(want);
  }

  Frame* Find(PageId id) const {
    if (entries_.empty()) return nullptr;
    for (size_t i = Home(id);; i = (i + 1) & mask_) {
      const Entry& entry = entries_[i];
      if (entry.id == id) return entry.frame;
      if (entry.id == kInvalidPageId) return nullptr;
    }
  }

  // Maps `id` to `frame` unless `id` is mapped already; returns the frame
  // `id` maps to afterwards. REQUIRES: id != kInvalidPageId.
  Frame* Insert(PageId id, Frame* frame) {
    if (2 * (size_ + 1) > entries_.size()) {
      Rehash(entries_.empty() ? kMinSlots : 2 * entries_.size());
    }
    size_t i = Home(id);
    for (; entries_[i].id != kInvalidPageId; i = (i + 1) & mask_) {
      if (entries_[i].id == id) return entries_[i].frame;
    }
    entries_[i] = Entry{id, frame};
    ++size_;
    return frame;
  }

  // Removes `id` if it maps to `frame`; returns whether it did.
  bool Erase(PageId id, const Frame* frame) {
    if (entries_.empty()) return false;
    size_t i = Home(id);
    for (; entries_[i].id != id; i = (i + 1) & mask_) {
      if (entries_[i].id == kInvalidPageId) return false;
    }
    if (entries_[i].frame != frame) return false;
    // Backward shift: move up every later entry of the run whose home is
    // not in (hole, j], so no lookup meets an empty entry before its key.
    size_t hole = i;
    for (size_t j = (i + 1) & mask_; entries_[j].id != kInvalidPageId; j = (j + 1) & mask_) {
      const size_t home = Home(entries_[j].id);
      const bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!stays) {
        entries_[hole] = entries_[j];
        hole = j;
      }
    }
    entries_[hole] = Entry{};
    --size_;
    return true;
  }

 private:
  struct Entry {
    PageId id = kInvalidPageId;
    Frame* frame = nullptr;
  };
  static constexpr size_t kMinSlots = 16;

  // Fibonacci hashing. The pool picks the shard from the top six bits of
  // the same product, so the bits below them choose the home entry.
  size_t Home(PageId id) const {
    return static_cast<size_t>(((id * 0x9E3779B97F4A7C15ull) << 6) >> shift_);
  }

  void Rehash(size_t slots) {
    std::vector<Entry> old(slots);
    old.swap(entries_);
    mask_ = slots - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(slots));
    size_ = 0;
    for (const Entry& entry : old) {
      if (entry.id != kInvalidPageId) Insert(entry.id, entry.frame);
    }
  }

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  size_t size_ = 0;
};

}  // namespace mvdb
