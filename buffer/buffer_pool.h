// BufferPool: a fixed set of page frames caching a PageStore.
//
// The protocol, in numbered invariants (the essay with the reasons is at the
// top of buffer_pool.cc):
//   1. A frame's content is changed only under its exclusive latch, and
//      read under its latch (shared or exclusive) or optimistically
//      (invariant 6). Guards are the only way to hold a latch: a
//      ReadPageGuard holds it shared, a WritePageGuard exclusive, and only a
//      WritePageGuard hands out mutable bytes.
//   2. A guard also holds a pin. A pinned frame is never evicted or reused,
//      so a guard's bytes stay valid until the guard is released.
//   3. A page is cached in at most one frame. The page table maps page ids to
//      frames; it is sharded, so lookups on different pages do not share a
//      lock, and eviction (CLOCK, second chance) does not serialise hits.
//   4. A dirty frame is written back before its frame is reused. Write-back
//      copies the page under a shared latch, so readers proceed during I/O;
//      dirty victims are written in batches through PageStore::WritePages.
//   5. Checkpoint epochs: every dirty frame records the epoch it was dirtied
//      in. AdvanceEpoch closes an epoch; a page dirtied before is "owed" to
//      that checkpoint, and is written back as it was at that moment before
//      any guard may change it again (write-before-modify).
//   6. Optimistic reads (ReadOptimistic) take no latch, pin or lock on a
//      hit. Each frame has a version (a seqlock): odd while its bytes or the
//      page it holds may change (free, loading, a WritePageGuard alive),
//      moved to a new even value after every change. Eviction, Discard and
//      a failed load make it odd before the frame leaves the page table, so
//      a reader that sees the same even version before and after reading
//      (OptimisticPage::Validate) read one stable image of the page it
//      asked for, and otherwise must discard what it read. Frames are never
//      unmapped, so reading one that changed meanwhile is memory-safe; all
//      reads and all writes of cached page bytes go through
//      buffer/page_access.h (atomic word accesses), so they are not data
//      races either. Loads copy pages into frames the same way.
//
// Latch order (callers must follow it to stay free of deadlock): take
// latches top-down (parent before child) and left-to-right (left sibling
// before right sibling). Against that order only TryFetchWrite and
// TryFetchRead may be used, which never wait for a latch.
//
// Threading: every method may be called from any thread. Guards are
// move-only and must be released on the thread that took them (the latches
// follow the rules of std::shared_mutex).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "buffer/page.h"
#include "buffer/page_store.h"
#include "mvdb/status.h"

namespace mvdb {

class BufferPool;
struct Frame;

// A cached page read without latch or pin (invariant 6). The bytes may
// change under the reader at any moment: read them only through
// buffer/page_access.h loads, bound every offset decoded from them before
// use, and trust nothing read until Validate() returned true afterwards.
struct OptimisticPage {
  const std::byte* data = nullptr;  // kPageSize bytes, 8-byte aligned
  const std::atomic<uint64_t>* version_word = nullptr;
  uint64_t version = 0;

  // True when nothing changed the page since ReadOptimistic: every load
  // made before this call read the page as it was then.
  bool Validate() const { return version_word->load(std::memory_order_acquire) == version; }
};

enum class OptimisticStatus {
  kOk,
  kBusy,  // cached, but being changed (a write guard is alive): retry
  kMiss,  // not cached: take the latched path, which loads it
};

// Shared access to a cached page. Move-only; releases on destruction.
class ReadPageGuard {
 public:
  ReadPageGuard() = default;
  ReadPageGuard(ReadPageGuard&& other) noexcept;
  ReadPageGuard& operator=(ReadPageGuard&& other) noexcept;
  ReadPageGuard(const ReadPageGuard&) = delete;
  ReadPageGuard& operator=(const ReadPageGuard&) = delete;
  ~ReadPageGuard() { Release(); }

  bool valid() const { return frame_ != nullptr; }
  PageId id() const { return id_; }
  // kPageSize bytes, valid until Release.
  std::span<const std::byte> data() const;
  ConstPageView view() const { return ConstPageView(data()); }
  // Drops the latch and the pin. Idempotent.
  void Release();

 private:
  friend class BufferPool;
  ReadPageGuard(BufferPool* pool, Frame* frame, PageId id) : pool_(pool), frame_(frame), id_(id) {}

  BufferPool* pool_ = nullptr;
  Frame* frame_ = nullptr;
  PageId id_ = kInvalidPageId;
};

// Exclusive access to a cached page; the only way to change page bytes.
// Taking one marks the page dirty.
class WritePageGuard {
 public:
  WritePageGuard() = default;
  WritePageGuard(WritePageGuard&& other) noexcept;
  WritePageGuard& operator=(WritePageGuard&& other) noexcept;
  WritePageGuard(const WritePageGuard&) = delete;
  WritePageGuard& operator=(const WritePageGuard&) = delete;
  ~WritePageGuard() { Release(); }

  bool valid() const { return frame_ != nullptr; }
  PageId id() const { return id_; }
  std::span<const std::byte> data() const;
  std::span<std::byte> mutable_data();
  ConstPageView view() const { return ConstPageView(data()); }
  PageView mutable_view() { return PageView(mutable_data()); }
  void Release();

 private:
  friend class BufferPool;
  WritePageGuard(BufferPool* pool, Frame* frame, PageId id) : pool_(pool), frame_(frame), id_(id) {}

  BufferPool* pool_ = nullptr;
  Frame* frame_ = nullptr;
  PageId id_ = kInvalidPageId;
};

// Checks the structure of a page read from the store, after its checksum
// passed. Lets the layers above validate each page once per load instead of
// on every access. A non-OK result (Corruption) is returned by the fetch,
// prefixed with the file, page id and offset, and the page is not cached.
using PageValidator = Status (*)(std::span<const std::byte> page, PageId id);

struct BufferPoolOptions {
  // Number of frames (kPageSize bytes each). At least 16.
  size_t capacity_pages = 1024;
  // How many dirty victims eviction writes back in one batch (also the
  // batch size of FlushAll). At least 1; capped at 256 and at a quarter of
  // capacity_pages, so concurrent evictions leave frames for other threads.
  size_t writeback_batch = 32;
  PageValidator validator = nullptr;
  // The checkpoint epoch the pool starts in (CowPageStore::write_epoch()).
  uint64_t epoch = 0;
  // StartLoads keeps at most this many pages waiting for the loader thread
  // (0: a quarter of capacity_pages, as many as one batch may load).
  size_t loader_queue_pages = 0;
};

struct BufferPoolStats {
  uint64_t hits = 0;
  uint64_t misses = 0;  // pages read from the store
  uint64_t evictions = 0;
  uint64_t pages_written = 0;  // pages written back
  uint64_t write_batches = 0;  // WritePages calls
  uint64_t checksum_failures = 0;
  size_t capacity_pages = 0;
  size_t dirty_pages = 0;
  // Owed pages a writer had to write back before changing them.
  uint64_t owed_writes_before_modify = 0;
  // StartLoads: pages it was asked for, and of those the ones it read (the
  // rest were cached already, dropped, or failed to load).
  uint64_t read_ahead_requested = 0;
  uint64_t read_ahead_loaded = 0;
  // Frames, from the start of the pool's memory, that the loader thread has
  // had the kernel make resident ahead of their first use (the fault and
  // zeroing taken off the thread that needs a fresh frame); 0 where the
  // kernel refuses MADV_POPULATE_WRITE.
  uint64_t populated_frames = 0;
};

class BufferPool {
 public:
  // `store` must outlive the pool.
  static Result<std::unique_ptr<BufferPool>> Create(PageStore* store,
                                                    const BufferPoolOptions& options);
  // Does not write back dirty pages: call FlushAll first to keep them.
  // REQUIRES: no guard is alive.
  ~BufferPool();

  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Pins and latches page `id`, reading it from the store on a miss.
  // Errors: Corruption when the page fails verification (nothing is cached),
  // IOError from the store, Busy when every frame is pinned.
  Result<ReadPageGuard> FetchRead(PageId id);
  Result<WritePageGuard> FetchWrite(PageId id);
  // As FetchWrite, but never waits for the latch: Busy if another guard holds
  // it. A way to latch against the latch order.
  Result<WritePageGuard> TryFetchWrite(PageId id);
  // As FetchRead, but Busy instead of waiting while the page is latched
  // exclusively (a write guard, or another thread's load): for moving
  // against the latch order, e.g. a cursor stepping to the left sibling.
  Result<ReadPageGuard> TryFetchRead(PageId id);
  // A write guard on page `id` whose bytes are formatted as an empty page of
  // `type` (PageView::Format) without reading the store: for pages just
  // allocated. REQUIRES: nobody else uses `id` (it was free).
  Result<WritePageGuard> NewPage(PageId id, PageType type);
  // Reads the pages not cached yet in one batch, so later fetches hit.
  // Best effort: stops early when frames run out. Errors as FetchRead.
  Status Prefetch(std::span<const PageId> ids);
  // Starts an optimistic read of page `id` (invariant 6): on a hit, fills
  // *page without taking any latch, pin or lock (a lock-free probe of the
  // page-table hints, checked against the frame's own page id and
  // version; a stale hint costs one shared probe of the table). Never
  // loads, never waits.
  OptimisticStatus ReadOptimistic(PageId id, OptimisticPage* page);
  // Adds `pages` optimistic hits to stats().hits (callers count once per
  // operation rather than per page, to keep the hit path free of shared
  // counters).
  void CountOptimisticHits(uint64_t pages);
  // Read-ahead: starts loading the pages of `ids` that are not cached, as
  // one batch on the pool's loader thread, and returns without waiting. A
  // fetch of such a page meanwhile waits for its load, as it waits for
  // another thread's (invariant 2 of the essay). Only a hint: pages are
  // dropped when more than loader_queue_pages are waiting or frames run
  // out; a page that fails to load (I/O error, Corruption) is not cached
  // and nothing is reported, so the fetch that needs it reads it again and
  // reports the error itself. Ids of pages freed or reused meanwhile are
  // harmless: they load what the store holds for them, as a fetch would.
  void StartLoads(std::span<const PageId> ids);
  // Returns once every page StartLoads queued before the call has been
  // loaded, found cached, dropped or failed, and the fresh frames asked for
  // ahead of use have been asked of the kernel (those it made resident are
  // BufferPoolStats::populated_frames): for tests and for shutdown.
  void WaitForStartedLoads();
  // Whether page `id` is cached now (it may be evicted the next moment).
  bool IsCached(PageId id);
  // Drops page `id` from the cache without writing it (it was freed).
  // REQUIRES: no guard on `id` is alive.
  void Discard(PageId id);

  // Writes back every dirty page (in batches) and syncs the store.
  Status FlushAll();

  // Checkpoint support (the protocol is in buffer/cow_page_store.cc).
  // The current epoch: pages dirtied now carry it in PageWrite::epoch.
  uint64_t epoch() const;
  // Closes the current epoch E and returns it; pages dirtied from now on
  // carry E + 1, and every page dirty now is owed to checkpoint E: the next
  // write guard on it first writes it back (or waits for a write-back in
  // flight), and eviction writes it with epoch E.
  // REQUIRES: no page is being modified (the caller holds the
  // CheckpointGate exclusively) and the previous epoch's owed pages are all
  // written (WriteBackOwed returned OK).
  uint64_t AdvanceEpoch();
  // Writes back (in batches, without syncing) every page owed to a
  // checkpoint of epoch <= `epoch`, waiting for write-backs of such pages
  // already in flight. Other dirty pages stay dirty.
  Status WriteBackOwed(uint64_t epoch);

  BufferPoolStats stats() const;
  size_t capacity() const;
  PageStore* store() const { return store_; }

 private:
  friend class ReadPageGuard;
  friend class WritePageGuard;
  struct Impl;

  BufferPool(PageStore* store, std::unique_ptr<Impl> impl);
  void ReleaseRead(Frame* frame);
  void ReleaseWrite(Frame* frame);

  PageStore* store_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvdb
