// Frame: one slot of the buffer pool. Internal to buffer/: only the pool
// (buffer_pool.cc, whose opening essay gives the protocol) and the page
// guards (page_guard.cc) look inside.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <span>

#include "buffer/page.h"
#include "mvdb/status.h"

namespace mvdb {

struct alignas(64) Frame {
  static constexpr uint32_t kZombie = 1u << 31;
  static constexpr uint32_t kPinMask = kZombie - 1;

  std::shared_mutex latch;
  // Pin count in the low 31 bits; kZombie once the frame left the table
  // while pinned (invariant 3).
  std::atomic<uint32_t> pin_state{0};
  std::atomic<bool> referenced{false};
  std::atomic<bool> dirty{false};
  std::atomic<bool> writing{false};  // a write-back of this frame is in flight
  // The page held, kInvalidPageId when not in the table. Written only under
  // the page's shard lock; read without it by the clock sweep as a hint.
  std::atomic<PageId> page_id{kInvalidPageId};
  std::byte* data = nullptr;
  // Outcome of the last load; guarded by the latch.
  Status load_status;

  uint32_t pins() const { return pin_state.load(std::memory_order_acquire) & kPinMask; }
  std::span<std::byte> bytes() const { return std::span<std::byte>(data, kPageSize); }
};

}  // namespace mvdb
