// Internals of the buffer pool shared by buffer_pool.cc (frames, eviction,
// loads), write_back.cc (batched write-back, flushes, checkpoint epochs)
// and optimistic_read.cc (latch-free hits, loads through a staging page).
// The protocol they keep is the essay at the top of buffer_pool.cc.
#pragma once

#include "buffer/buffer_pool.h"

#include "buffer/frame.h"
#include "buffer/page_access.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#if defined(__SANITIZE_THREAD__)
#define MVDB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MVDB_TSAN 1
#endif
#endif
#ifdef MVDB_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace mvdb {

namespace buffer_internal {

constexpr size_t kShardCount = 64;
constexpr size_t kMaxWritebackBatch = 256;
constexpr size_t kIoAlignment = 4096;

struct AlignedFree {
  void operator()(std::byte* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<std::byte, AlignedFree>;

inline AlignedBuffer AllocateAligned(size_t bytes) {
  return AlignedBuffer(static_cast<std::byte*>(std::aligned_alloc(kIoAlignment, bytes)));
}

struct alignas(64) Shard {
  ShardLock mu;
  PageTable table;
};

// Frames a sweep or FlushAll pinned and claimed for write-back.
struct VictimBatch {
  std::array<Frame*, kMaxWritebackBatch> frames{};
  size_t size = 0;
};

enum class Claim { kClaimed, kGone, kBusy };
enum class LatchMode { kShared, kExclusive, kTryShared, kTryExclusive };

inline void MarkReferenced(Frame* frame) {
  if (!frame->referenced.load(std::memory_order_relaxed)) {
    frame->referenced.store(true, std::memory_order_relaxed);
  }
}

// A latch orders the page a frame holds, not the frame: a frame holding a
// parent now may hold a child later. ThreadSanitizer orders mutexes by
// address, so across residencies it would see inversions the latch order
// rules out. Telling it the latch is new for each residency keeps its
// deadlock detector meaningful. REQUIRES: the caller owns the frame.
inline void BeginResidency(Frame* frame) {
#ifdef MVDB_TSAN
  __tsan_mutex_destroy(&frame->latch, 0);
#else
  (void)frame;
#endif
}

// The frame's bytes or identity are about to change: optimistic readers
// must not trust what they read from now on (invariant 11). Idempotent.
// REQUIRES: the caller owns the frame (exclusive latch, or it is unpinned
// and out of readers' reach as in eviction, or the caller is its loader).
inline void BeginChange(Frame* frame) { frame->version.fetch_or(1, std::memory_order_acq_rel); }
// The change is complete: readers may trust the frame again.
// REQUIRES: BeginChange by the same owner, no EndChange since.
inline void EndChange(Frame* frame) { frame->version.fetch_add(1, std::memory_order_release); }

inline void Unlatch(Frame* frame, LatchMode mode) {
  if (mode == LatchMode::kShared || mode == LatchMode::kTryShared) {
    frame->latch.unlock_shared();
  } else {
    frame->latch.unlock();
  }
}

}  // namespace buffer_internal

// Only buffer_pool.cc, write_back.cc and optimistic_read.cc include this header.
using namespace buffer_internal;  // NOLINT(google-build-using-namespace)

struct BufferPool::Impl {
  PageStore* store = nullptr;
  size_t capacity = 0;
  size_t writeback_batch = 0;
  PageValidator validator = nullptr;

  AlignedBuffer frame_memory;
  std::unique_ptr<Frame[]> frames;
  std::array<Shard, kShardCount> shards;

  std::mutex free_mu;
  std::vector<Frame*> free_frames;  // reserved to capacity at Create
  std::atomic<size_t> free_count{0};
  // Fresh frames made resident ahead of use (read_ahead_loader.cc,
  // RequestPopulate). Frames are handed out from the start of the area, so
  // the frames past the highest one handed out are the next to be touched
  // for the first time; the loader thread asks the kernel to fault them in
  // (and zero them) a window ahead, off the path of the thread that needs
  // the frame.
  size_t fresh_frontier = 0;      // guarded by free_mu: 1 + the highest frame handed out
  size_t populate_requested = 0;  // guarded by free_mu: frames asked of the loader so far
  size_t populate_ahead = 0;      // the window, in frames; 0: never populate

  std::atomic<uint64_t> clock_hand{0};
  std::atomic<uint64_t> epoch{0};  // invariant 9

  std::mutex writeback_mu;  // guards writeback_area and writeback_writes
  AlignedBuffer writeback_area;
  std::vector<PageWrite> writeback_writes;
  std::mutex flush_mu;  // guards flush_area and flush_writes
  AlignedBuffer flush_area;
  std::vector<PageWrite> flush_writes;

  // Lock-free page-table hints for optimistic reads (invariant 11): slot
  // HintSlot(id) holds 1 + the index of the frame that last held `id`, or 0.
  // Only a hint: a reader trusts it after checking the frame's own page id
  // and version, so a stale or overwritten slot costs a locked probe.
  std::unique_ptr<std::atomic<uint32_t>[]> hints;
  unsigned hint_shift = 64;

  // Hits of optimistic readers, counted by the caller per operation, in
  // per-thread-ish slots so the hot path shares no counter line.
  struct alignas(64) HitCounter {
    std::atomic<uint64_t> n{0};
  };
  std::array<HitCounter, 16> optimistic_hits;

  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> evictions{0};
  std::atomic<uint64_t> pages_written{0};
  std::atomic<uint64_t> write_batches{0};
  std::atomic<uint64_t> checksum_failures{0};
  std::atomic<uint64_t> owed_writes{0};

  // Read-ahead (read_ahead_loader.cc): StartLoads queues ids, the loader
  // thread (started by the first StartLoads or RequestPopulate, the latter
  // from PopFree, possibly while the caller holds page latches: the thread
  // takes none of theirs) loads them in batches, and makes fresh frames
  // resident ahead of use.
  mutable std::mutex loader_mu;            // guards what follows up to `loader` (exclusive)
  std::condition_variable loader_cv;       // work queued, or stop
  std::condition_variable loader_idle_cv;  // the loader finished a batch
  std::vector<PageId> loader_queue;
  size_t populate_to = 0;    // frames [0, populate_to) wanted resident
  size_t populate_done = 0;  // frames [0, populate_done) handled by the loader
  uint64_t populated = 0;    // of those, frames the kernel made resident
  bool loader_stop = false;
  bool loader_busy = false;  // a batch is being loaded
  std::thread loader;
  size_t loader_queue_limit = 1;
  std::atomic<uint64_t> read_ahead_requested{0};
  std::atomic<uint64_t> read_ahead_loaded{0};

  Shard& ShardFor(PageId id) {
    // Fibonacci hashing spreads sequential ids (a scan) over all shards.
    return shards[(id * 0x9E3779B97F4A7C15ull) >> 58];
  }

  size_t HintSlot(PageId id) const {
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ull) >> hint_shift);
  }
  void SetHint(PageId id, const Frame* frame) {
    hints[HintSlot(id)].store(static_cast<uint32_t>(frame - frames.get()) + 1,
                              std::memory_order_relaxed);
  }
  // Reads pages from the store into frames: through a staging buffer whose
  // bytes are copied in with page_access stores, since an optimistic reader
  // holding the frame's former identity may still be reading it.
  Status ReadIntoFrames(std::span<PageRead> reads);
  // Sizes and clears `hints` for `capacity` frames.
  void InitHints();

  void PushFree(Frame* frame);
  Frame* PopFree();
  void Unpin(Frame* frame);
  Frame* PinCached(PageId id);
  void Unpublish(Frame* frame, PageId id);
  Claim ClaimForWriteback(Frame* frame, bool require_unpinned);
  Status WriteBack(const VictimBatch& batch, std::byte* area, std::vector<PageWrite>* writes,
                   VictimBatch* skipped, uint64_t max_epoch = UINT64_MAX);
  Status WriteDirty(uint64_t max_epoch);
  bool IsOwed(const Frame* frame) const;
  void MarkDirty(Frame* frame);
  Status WriteLatched(Frame* frame, PageId id);
  Status SettleOwed(Frame* frame, PageId id, bool try_only);
  bool EvictPinnedByCaller(Frame* frame);
  bool TryTakeVictim(Frame* frame, bool honour_reference, VictimBatch* batch);
  Result<Frame*> AcquireFrame();
  bool Publish(PageId id, Frame** frame);
  void FinishLoad(Frame* frame, PageId id, Status result);
  Result<Frame*> PinAndLatch(PageId id, LatchMode mode);
  // Reads the pages of `ids` not cached, at most `limit`, as one batch
  // (Prefetch and the loader thread). Returns the first error and, in
  // *loaded, how many pages it read.
  Status LoadMissing(std::span<const PageId> ids, size_t limit, size_t* loaded);
  void LoaderLoop();
  void StopLoader();
  // Starts the loader thread unless it runs. REQUIRES: loader_mu held.
  // False if no thread could be started.
  bool EnsureLoaderLocked();
  // Asks the loader to make frames [0, upto) resident (PopFree's window).
  void RequestPopulate(size_t upto);
};

static_assert(kShardCount == 64, "ShardFor keeps the top 6 bits of the hash");

}  // namespace mvdb
