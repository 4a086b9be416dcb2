// The buffer pool's concurrency protocol.
//
// Pieces: a fixed array of frames (each: a latch, an atomic pin count, a
// reference bit, a dirty bit, a write-back claim, the id of the page it
// holds, a hit counter, and kPageSize bytes); a page table of kShardCount
// shards, each a reader-writer spin lock (ShardLock) over an
// open-addressing map from page id to frame (PageTable in frame.h: no
// allocation per insert, a probe reads one cache line); a free-frame list;
// and an atomic clock hand. Nothing else is global, so a hit touches one
// shard and one frame, and the only shared line it writes is its shard's
// lock (the hit is counted in the frame).
//
// Invariants, and why they hold:
//
//  1. Pins are only taken while holding the shard lock of the page, and a
//     frame leaves the table only under that shard lock held exclusively
//     with its pin count checked to be zero (eviction), or by its own loader
//     or Discard marking it a zombie (below). So an evictor that sees zero
//     pins under the lock knows no thread can be about to use the frame.
//
//  2. A page is loaded by exactly one thread. The loader takes a frame it
//     owns (free list or eviction), latches it exclusively while nobody else
//     can see it, and only then publishes it in the table (re-checking under
//     the exclusive shard lock that no other thread published the page
//     first; the loser returns its frame). Other fetchers of the page find
//     the frame, pin it, and block on its latch until the load is over.
//
//  3. A failed load (I/O error, checksum, validator) caches nothing: still
//     holding the exclusive latch, the loader records the error in the frame,
//     removes it from the table and marks it a zombie. Waiters then get the
//     latch, see the error and return it; none ever sees the bytes. The
//     thread whose unpin brings a zombie's count to zero (pin count and
//     zombie flag share one atomic word, so exactly one thread does) puts
//     the frame on the free list. Discard uses the same zombie path, so a
//     frame is never reused while anything still holds a pin on it.
//
//  4. Eviction is CLOCK with second chance. The hand is an atomic counter;
//     a hit sets the frame's reference bit (a relaxed store, skipped when it
//     is already set); the sweep clears it and takes a frame whose bit is
//     clear, whose pin count is zero and which is clean. After two full turns
//     the bit is ignored, so a sweep ends; if a full turn finds every frame
//     pinned, the fetch fails with Busy instead of waiting, since the caller
//     may itself hold the pins that would have to go.
//
//  5. Dirty victims are never dropped: the sweep pins the dirty frames it
//     would have evicted (up to writeback_batch) and claims each for
//     write-back (the `writing` flag, set under the shard lock). Under
//     writeback_mu it copies each one under its shared latch into a private
//     aligned buffer, clears its dirty bit, and writes the batch with one
//     PageStore::WritePages. It does so even when the sweep also found a
//     clean victim, so cold dirty pages do not crowd out clean ones. A
//     writer who latches the page afterwards sets the dirty bit again, so
//     its change is written later. If the write fails the dirty bits are set
//     again, and the error goes to the fetch that needed a frame.
//
//  6. At most one write of a page is in flight: the claim is taken under the
//     shard lock before a page is copied and dropped after its write has
//     completed, and nobody claims a claimed frame. Otherwise a late write of
//     an older copy could land after a newer one. FlushAll waits for a claim
//     an eviction holds; Discard waits for any claim on the frame it drops,
//     so a page freed and reallocated cannot be overwritten by a stale copy.
//
//  7. Nobody waits for a latch while holding a claim on another frame:
//     Discard's caller may hold latches while it waits for a claim, so such a
//     wait could close a cycle. Eviction only try-locks latches (a latched
//     page is skipped: it is hot anyway); FlushAll try-locks a batch, then
//     waits for the pages it skipped one at a time, holding only that page's
//     claim (a caller of Discard on that very page holds no guard on it).
//
//  8. Memory is fixed at Create: capacity frames plus two write-back areas of
//     writeback_batch pages (one for eviction under writeback_mu, one for
//     FlushAll under flush_mu), all 4096-aligned for O_DIRECT. FlushAll has
//     its own because it may wait on a latch while filling it.
//
//  9. Checkpoint epochs (the checkpoint protocol is cow_page_store.cc's
//     essay). A frame going from clean to dirty records the pool's epoch;
//     write-back hands that epoch to the store with the image. AdvanceEpoch
//     runs while no page is being modified, so every frame dirty at that
//     moment holds exactly the state the checkpoint must capture: it is
//     owed. Write-before-modify keeps it so: a write guard (FetchWrite,
//     TryFetchWrite, NewPage on a cached page) that latches an owed frame
//     writes it back itself before handing out the guard, under its
//     exclusive latch, after claiming it as in invariant 6. If another
//     write-back holds the claim, the guard drops the latch and retries:
//     that holder may be FlushAll or WriteBackOwed waiting for this very
//     latch (invariant 7), and its copy is the owed image anyway.
//
// 10. Discard never drops an owed frame: the page was freed after the
//     checkpoint's moment, but the checkpoint still needs its image. The
//     frame stays cached and dirty until written; the page is free, so the
//     only guard ever taken on it again is NewPage, which writes it first.
//     A failed write-back puts the dirty bit and the epoch back, so the
//     image stays owed (a failed write leaves the store failed anyway).
//
// 11. Optimistic reads (buffer_pool.h, invariant 6; optimistic_read.cc).
//     Frame versions: a free frame is odd. Publish makes it odd (already
//     is), FinishLoad makes it even once the bytes are in; a write guard
//     (FetchWrite, TryFetchWrite, NewPage) makes it odd before handing out
//     the bytes and ReleaseWrite moves it to the next even value before the
//     latch is dropped; eviction (TryTakeVictim, EvictPinnedByCaller),
//     Unpublish and Discard make it odd under the shard lock before the
//     frame leaves the table, and it stays odd until its next load is
//     complete. Every change of bytes or identity therefore happens while
//     the version is odd, and only the frame's owner changes it (writers
//     hold a pin, so eviction cannot run beside them). The page id is
//     stored while the version is odd too, so a reader's check of it is
//     covered by the final validation. Reads find frames without the shard
//     lock through `hints`, a direct-mapped array from page id to frame
//     index that Publish and every slow probe fill in: a wrong or stale
//     hint names a frame whose page id differs, and costs one shared probe
//     of the table. Loads read into a staging buffer and copy the page in
//     with page_access stores (ReadIntoFrames), since a reader that took
//     the frame's version before it was evicted may still be copying it;
//     that copy is the price of readers that hold nothing.

#include <sys/mman.h>

#include "buffer/buffer_pool_impl.h"

namespace mvdb {

void BufferPool::Impl::PushFree(Frame* frame) {
  frame->dirty.store(false, std::memory_order_relaxed);
  frame->referenced.store(false, std::memory_order_relaxed);
  frame->pin_state.store(0, std::memory_order_release);
  std::lock_guard lock(free_mu);
  free_frames.push_back(frame);
  free_count.fetch_add(1, std::memory_order_release);
}

Frame* BufferPool::Impl::PopFree() {
  if (free_count.load(std::memory_order_acquire) == 0) return nullptr;
  Frame* frame = nullptr;
  size_t populate = 0;
  {
    std::lock_guard lock(free_mu);
    if (free_frames.empty()) return nullptr;
    frame = free_frames.back();
    free_frames.pop_back();
    free_count.fetch_sub(1, std::memory_order_release);
    const auto index = static_cast<size_t>(frame - frames.get());
    if (index >= fresh_frontier) {
      fresh_frontier = index + 1;
      // Half the window used: ask for the next half (once per half).
      if (populate_ahead != 0 && fresh_frontier + populate_ahead / 2 > populate_requested) {
        populate_requested = std::min(capacity, fresh_frontier + populate_ahead);
        populate = populate_requested;
      }
    }
  }
  if (populate != 0) RequestPopulate(populate);
  return frame;
}

void BufferPool::Impl::Unpin(Frame* frame) {
  const uint32_t before = frame->pin_state.fetch_sub(1, std::memory_order_acq_rel);
  if (before == (Frame::kZombie | 1)) PushFree(frame);
}

// Pins the frame caching `id`, or returns nullptr. Invariant 1.
Frame* BufferPool::Impl::PinCached(PageId id) {
  Shard& shard = ShardFor(id);
  std::shared_lock lock(shard.mu);
  Frame* frame = shard.table.Find(id);
  if (frame == nullptr) return nullptr;
  // The hit reads the frame's second line (the page's address) next: fetch
  // it while the pin waits for the first.
  __builtin_prefetch(reinterpret_cast<const char*>(frame) + 64);
  frame->pin_state.fetch_add(1, std::memory_order_acq_rel);
  frame->hits.fetch_add(1, std::memory_order_relaxed);
  return frame;
}

// Removes `frame` (holding `id`, pinned by the caller) from the table and
// makes it a zombie: the last unpin frees it. Invariant 3.
void BufferPool::Impl::Unpublish(Frame* frame, PageId id) {
  Shard& shard = ShardFor(id);
  std::unique_lock lock(shard.mu);
  BeginChange(frame);
  shard.table.Erase(id, frame);
  frame->page_id.store(kInvalidPageId, std::memory_order_release);
  frame->pin_state.fetch_or(Frame::kZombie, std::memory_order_acq_rel);
}

// Takes `frame` out of the table if it is clean and the caller's pin is the
// only one; the caller then owns it. Otherwise just drops the caller's pin.
bool BufferPool::Impl::EvictPinnedByCaller(Frame* frame) {
  const PageId id = frame->page_id.load(std::memory_order_acquire);
  if (id != kInvalidPageId) {
    Shard& shard = ShardFor(id);
    std::unique_lock lock(shard.mu);
    if (shard.table.Find(id) == frame && frame->pin_state.load(std::memory_order_acquire) == 1 &&
        !frame->dirty.load(std::memory_order_acquire)) {
      BeginChange(frame);
      shard.table.Erase(id, frame);
      frame->page_id.store(kInvalidPageId, std::memory_order_release);
      frame->pin_state.store(0, std::memory_order_release);
      evictions.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  Unpin(frame);
  return false;
}

// One step of the clock sweep. Returns true when the caller now owns
// `frame` (it was clean and unpinned and has left the table); may instead
// pin and claim a dirty frame into `batch`.
bool BufferPool::Impl::TryTakeVictim(Frame* frame, bool honour_reference, VictimBatch* batch) {
  if (frame->pins() != 0) return false;
  if (honour_reference && frame->referenced.load(std::memory_order_relaxed)) {
    frame->referenced.store(false, std::memory_order_relaxed);
    return false;
  }
  if (frame->dirty.load(std::memory_order_acquire)) {
    if (batch->size < writeback_batch &&
        ClaimForWriteback(frame, /*require_unpinned=*/true) == Claim::kClaimed) {
      batch->frames[batch->size++] = frame;
    }
    return false;
  }
  const PageId id = frame->page_id.load(std::memory_order_acquire);
  if (id == kInvalidPageId) return false;  // free, in transit, or a zombie
  Shard& shard = ShardFor(id);
  std::unique_lock lock(shard.mu);
  if (shard.table.Find(id) != frame || frame->pins() != 0 ||
      frame->dirty.load(std::memory_order_acquire)) {
    return false;
  }
  BeginChange(frame);
  shard.table.Erase(id, frame);
  frame->page_id.store(kInvalidPageId, std::memory_order_release);
  evictions.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// A frame owned by the caller: not in the table, unpinned, unlatched.
// Invariants 4 and 5.
Result<Frame*> BufferPool::Impl::AcquireFrame() {
  const size_t n = capacity;
  for (;;) {
    if (Frame* frame = PopFree()) return frame;
    VictimBatch batch;
    Frame* victim = nullptr;
    bool saw_unpinned = false;
    for (size_t step = 0; step < 3 * n && batch.size < writeback_batch; ++step) {
      if (step % n == 0 && step > 0 && (victim = PopFree()) != nullptr) break;
      Frame* frame = &frames[clock_hand.fetch_add(1, std::memory_order_relaxed) % n];
      // A frame pinned only by another thread's write-back frees up soon.
      if (frame->pins() == 0 || frame->writing.load(std::memory_order_relaxed)) {
        saw_unpinned = true;
      }
      if (TryTakeVictim(frame, /*honour_reference=*/step < 2 * n, &batch)) {
        victim = frame;
        break;
      }
    }
    if (batch.size > 0) {
      // Dirty frames the hand passed are victims too: write them now, or a
      // cold dirty page would outstay clean ones for ever.
      Status status;
      {
        VictimBatch skipped;  // latched by a writer: hot, and written later
        std::lock_guard lock(writeback_mu);
        status = WriteBack(batch, writeback_area.get(), &writeback_writes, &skipped);
      }
      if (!status.ok()) {
        for (size_t i = 0; i < batch.size; ++i) Unpin(batch.frames[i]);
        if (victim != nullptr) PushFree(victim);
        return status;
      }
      for (size_t i = 0; i < batch.size; ++i) {
        Frame* frame = batch.frames[i];
        if (victim == nullptr) {
          if (EvictPinnedByCaller(frame)) victim = frame;
        } else {
          Unpin(frame);  // clean now: the next miss finds it at once
        }
      }
    }
    if (victim != nullptr) return victim;
    if (batch.size > 0) continue;
    if (!saw_unpinned) {
      return Status::Busy("buffer pool exhausted: all " + std::to_string(n) + " frames pinned");
    }
    // Frames are in transit (another thread's load or write-back): let that
    // thread finish, then sweep again.
    std::this_thread::yield();
  }
}

// Latches `*frame` (owned by the caller) exclusively and publishes it as
// the frame of `id`, pinned once (invariant 2). Returns false when another
// frame holds `id` already: `*frame` goes back to the free list and is
// replaced by that frame, pinned but not latched.
bool BufferPool::Impl::Publish(PageId id, Frame** frame) {
  Frame* mine = *frame;
  BeginResidency(mine);
  BeginChange(mine);  // free frames are odd already; this is cheap insurance
  // Nobody else can see the frame, so this cannot fail; a try-lock also
  // tells ThreadSanitizer that it cannot wait, so the locks the caller holds
  // (say the allocator's mutex) are not ordered before this latch.
  const bool latched = mine->latch.try_lock();
  assert(latched);
  (void)latched;
  Shard& shard = ShardFor(id);
  std::unique_lock lock(shard.mu);
  Frame* winner = shard.table.Insert(id, mine);
  if (winner != mine) {
    winner->pin_state.fetch_add(1, std::memory_order_acq_rel);
    lock.unlock();
    mine->latch.unlock();
    PushFree(mine);
    *frame = winner;
    return false;
  }
  mine->pin_state.store(1, std::memory_order_release);
  mine->page_id.store(id, std::memory_order_release);
  SetHint(id, mine);
  mine->dirty.store(false, std::memory_order_relaxed);
  mine->referenced.store(true, std::memory_order_relaxed);
  return true;
}

// Runs the validator on a page the store returned and records the outcome
// in the frame, whose exclusive latch the caller holds. A failure leaves
// the table (invariant 3); the caller still unlatches and unpins.
void BufferPool::Impl::FinishLoad(Frame* frame, PageId id, Status result) {
  if (result.ok() && validator != nullptr) {
    Status valid = validator(frame->bytes(), id);
    if (!valid.ok()) {
      result = Status::Corruption(store->PageLocation(id) + ": " + std::string(valid.message()));
    }
  }
  if (result.ok()) {
    misses.fetch_add(1, std::memory_order_relaxed);
    EndChange(frame);  // loaded: optimistic readers may use it (invariant 11)
  } else {
    if (result.IsCorruption()) checksum_failures.fetch_add(1, std::memory_order_relaxed);
    Unpublish(frame, id);
  }
  frame->load_failed = !result.ok();
  frame->load_status = std::move(result);
}

// Pins the frame of `id`, loading the page on a miss, and latches it as
// `mode` asks (kTryExclusive: Busy rather than wait).
Result<Frame*> BufferPool::Impl::PinAndLatch(PageId id, LatchMode mode) {
  if (id == kInvalidPageId) return Status::InvalidArgument("buffer pool: invalid page id");
  Frame* frame = PinCached(id);
  if (frame == nullptr) {
    MVDB_ASSIGN_OR_RETURN(frame, AcquireFrame());
    if (Publish(id, &frame)) {
      PageRead read{id, frame->bytes(), Status::OK()};
      (void)ReadIntoFrames(std::span<PageRead>(&read, 1));  // read.result says it all
      FinishLoad(frame, id, std::move(read.result));
      if (!frame->load_status.ok()) {
        Status error = frame->load_status;
        frame->latch.unlock();
        Unpin(frame);
        return error;
      }
      if (mode == LatchMode::kShared || mode == LatchMode::kTryShared) {
        // std::shared_mutex cannot downgrade; a writer slipping in between
        // finds a fully loaded page, which is all a fetch promises.
        frame->latch.unlock();
        frame->latch.lock_shared();
      }
      return frame;
    }
    // Another thread published the page first: wait for it like a hit.
  }
  switch (mode) {
    case LatchMode::kShared:
      frame->latch.lock_shared();
      break;
    case LatchMode::kExclusive:
      frame->latch.lock();
      break;
    case LatchMode::kTryShared:
    case LatchMode::kTryExclusive: {
      const bool latched =
          mode == LatchMode::kTryShared ? frame->latch.try_lock_shared() : frame->latch.try_lock();
      if (!latched) {
        Unpin(frame);
        return Status::Busy("buffer pool: page " + std::to_string(id) + " is latched");
      }
      break;
    }
  }
  if (frame->load_failed) [[unlikely]] {
    // The load this fetch waited for failed (invariant 3).
    Status error = frame->load_status;
    Unlatch(frame, mode);
    Unpin(frame);
    return error;
  }
  MarkReferenced(frame);
  // Callers read the page header first and what follows it next: start
  // those misses now, while the caller finishes with the parent page.
  __builtin_prefetch(frame->data);
  __builtin_prefetch(frame->data + 64);
  return frame;
}

Result<std::unique_ptr<BufferPool>> BufferPool::Create(PageStore* store,
                                                       const BufferPoolOptions& options) {
  if (store == nullptr) return Status::InvalidArgument("buffer pool: no page store");
  if (options.capacity_pages < 16) {
    return Status::InvalidArgument("buffer pool: capacity_pages must be at least 16, got " +
                                   std::to_string(options.capacity_pages));
  }
  if (options.writeback_batch == 0) {
    return Status::InvalidArgument("buffer pool: writeback_batch must be at least 1");
  }
  auto impl = std::make_unique<Impl>();
  impl->store = store;
  impl->capacity = options.capacity_pages;
  // At most a quarter of the frames, so evictions running at once leave
  // frames to the threads that need them.
  impl->writeback_batch =
      std::min({options.writeback_batch, kMaxWritebackBatch, options.capacity_pages / 4});
  impl->validator = options.validator;
  impl->epoch.store(options.epoch, std::memory_order_relaxed);
  impl->loader_queue_limit = options.loader_queue_pages != 0
                                 ? options.loader_queue_pages
                                 : std::max<size_t>(1, options.capacity_pages / 4);

  impl->frame_memory = AllocateAligned(impl->capacity * kPageSize);
  impl->writeback_area = AllocateAligned(impl->writeback_batch * kPageSize);
  impl->flush_area = AllocateAligned(impl->writeback_batch * kPageSize);
  if (!impl->frame_memory || !impl->writeback_area || !impl->flush_area) {
    return Status::InvalidArgument("buffer pool: cannot allocate " +
                                   std::to_string(impl->capacity) + " frames");
  }
  // Frames are backed by transparent huge pages where the kernel offers
  // them on request (THP "madvise" mode): the first touch of each frame, a
  // page fault per 4 KiB otherwise (two per frame), took a quarter of a
  // batched load's time on a paravirtualised VM where a fault costs
  // microseconds (bench/README.md, "fillbatch"). Frames are handed out from
  // the start of the area (below), so a small database still commits about
  // what it uses, rounded up to 2 MiB. Advice only: ignore a refusal.
  (void)::madvise(impl->frame_memory.get(), impl->capacity * kPageSize, MADV_HUGEPAGE);
  // The first touch itself (a fault and the kernel zeroing the memory, a
  // sixth of a batched load's time with huge pages) is taken ahead by the
  // loader thread (RequestPopulate): 4 to 8 MiB past the highest frame
  // handed out, at most an eighth of the pool, so the memory committed
  // ahead of need stays small.
  impl->populate_ahead = std::min<size_t>((size_t{8} << 20) / kPageSize, impl->capacity / 8);
  impl->writeback_writes.reserve(impl->writeback_batch);
  impl->flush_writes.reserve(impl->writeback_batch);
  impl->frames = std::make_unique<Frame[]>(impl->capacity);
  impl->InitHints();
  impl->free_frames.reserve(impl->capacity);
  // Room for an even share of the pages; a shard that gets more grows.
  for (Shard& shard : impl->shards) shard.table.Reserve(2 * impl->capacity / kShardCount + 8);
  // Pushed in reverse so that frame 0 is handed out first.
  for (size_t i = impl->capacity; i-- > 0;) {
    Frame& frame = impl->frames[i];
    frame.data = impl->frame_memory.get() + i * kPageSize;
    impl->free_frames.push_back(&frame);
  }
  impl->free_count.store(impl->capacity);
  return std::unique_ptr<BufferPool>(new BufferPool(store, std::move(impl)));
}

BufferPool::BufferPool(PageStore* store, std::unique_ptr<Impl> impl)
    : store_(store), impl_(std::move(impl)) {}

BufferPool::~BufferPool() { impl_->StopLoader(); }

size_t BufferPool::capacity() const { return impl_->capacity; }

void BufferPool::ReleaseRead(Frame* frame) {
  frame->latch.unlock_shared();
  impl_->Unpin(frame);
}

void BufferPool::ReleaseWrite(Frame* frame) {
  EndChange(frame);
  frame->latch.unlock();
  impl_->Unpin(frame);
}

Result<ReadPageGuard> BufferPool::FetchRead(PageId id) {
  MVDB_ASSIGN_OR_RETURN(Frame * frame, impl_->PinAndLatch(id, LatchMode::kShared));
  return ReadPageGuard(this, frame, id);
}

Result<WritePageGuard> BufferPool::FetchWrite(PageId id) {
  MVDB_ASSIGN_OR_RETURN(Frame * frame, impl_->PinAndLatch(id, LatchMode::kExclusive));
  if (Status settled = impl_->SettleOwed(frame, id, /*try_only=*/false); !settled.ok()) {
    impl_->Unpin(frame);
    return settled;
  }
  impl_->MarkDirty(frame);
  BeginChange(frame);
  return WritePageGuard(this, frame, id);
}

Result<ReadPageGuard> BufferPool::TryFetchRead(PageId id) {
  MVDB_ASSIGN_OR_RETURN(Frame * frame, impl_->PinAndLatch(id, LatchMode::kTryShared));
  return ReadPageGuard(this, frame, id);
}

Result<WritePageGuard> BufferPool::TryFetchWrite(PageId id) {
  MVDB_ASSIGN_OR_RETURN(Frame * frame, impl_->PinAndLatch(id, LatchMode::kTryExclusive));
  if (Status settled = impl_->SettleOwed(frame, id, /*try_only=*/true); !settled.ok()) {
    impl_->Unpin(frame);
    return settled;
  }
  impl_->MarkDirty(frame);
  BeginChange(frame);
  return WritePageGuard(this, frame, id);
}

namespace {

void LatchFreePage(Frame* frame) {
  constexpr int kTries = 1000;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    if (frame->latch.try_lock()) return;
    std::this_thread::yield();
  }
  frame->latch.lock();
}

}  // namespace

Result<WritePageGuard> BufferPool::NewPage(PageId id, PageType type) {
  Impl* impl = impl_.get();
  if (id == kInvalidPageId) return Status::InvalidArgument("buffer pool: invalid page id");
  for (;;) {
    Frame* frame = impl->PinCached(id);
    if (frame == nullptr) {
      MVDB_ASSIGN_OR_RETURN(frame, impl->AcquireFrame());
      if (!impl->Publish(id, &frame)) {
        impl->Unpin(frame);  // somebody cached it after all: start over
        continue;
      }
      frame->load_failed = false;
      frame->load_status = Status::OK();
    } else {
      // The page is free (nothing reachable names it), so only a write-back
      // or a fetch that is about to find it freed can hold its latch, and
      // only for a moment. Callers hold the allocator's meta latch here while
      // tree code holds other frames' latches when it calls the allocator;
      // frames are reused for any page, so a blocking lock would order the
      // meta latch before every frame's latch for ThreadSanitizer. Try-locks
      // make no such edge; after many failed tries (a pathological wait) it
      // just blocks.
      LatchFreePage(frame);
      if (!frame->load_status.ok()) {
        // A failed load of the old content; that frame is leaving the table.
        frame->latch.unlock();
        impl->Unpin(frame);
        continue;
      }
      // A freed page can still be owed (invariant 10).
      if (Status settled = impl->SettleOwed(frame, id, /*try_only=*/false); !settled.ok()) {
        impl->Unpin(frame);
        return settled;
      }
    }
    BeginChange(frame);
    PageView(frame->bytes()).Format(id, type);
    impl->MarkDirty(frame);
    MarkReferenced(frame);
    return WritePageGuard(this, frame, id);
  }
}

Status BufferPool::Prefetch(std::span<const PageId> ids) {
  // Leave most frames to other threads: a prefetch is only a hint.
  size_t loaded = 0;
  return impl_->LoadMissing(ids, std::max<size_t>(1, impl_->capacity / 4), &loaded);
}

void BufferPool::Discard(PageId id) {
  Impl* impl = impl_.get();
  Shard& shard = impl->ShardFor(id);
  Frame* frame = nullptr;
  {
    std::unique_lock lock(shard.mu);
    frame = shard.table.Find(id);
    if (frame == nullptr) return;
    if (impl->IsOwed(frame)) return;  // invariant 10
    BeginChange(frame);
    shard.table.Erase(id, frame);
    frame->page_id.store(kInvalidPageId, std::memory_order_release);
    frame->dirty.store(false, std::memory_order_release);
    const uint32_t before = frame->pin_state.fetch_or(Frame::kZombie, std::memory_order_acq_rel);
    if ((before & Frame::kPinMask) == 0) {
      impl->PushFree(frame);
      return;
    }
  }
  // A write-back still holds it (invariant 6): wait until its copy of the
  // old content has landed, so it cannot overwrite a later owner's write.
  while (frame->writing.load(std::memory_order_acquire)) std::this_thread::yield();
}

BufferPoolStats BufferPool::stats() const {
  const Impl* impl = impl_.get();
  BufferPoolStats stats;
  stats.misses = impl->misses.load(std::memory_order_relaxed);
  stats.evictions = impl->evictions.load(std::memory_order_relaxed);
  stats.pages_written = impl->pages_written.load(std::memory_order_relaxed);
  stats.write_batches = impl->write_batches.load(std::memory_order_relaxed);
  stats.checksum_failures = impl->checksum_failures.load(std::memory_order_relaxed);
  stats.owed_writes_before_modify = impl->owed_writes.load(std::memory_order_relaxed);
  stats.capacity_pages = impl->capacity;
  for (const auto& counter : impl->optimistic_hits) {
    stats.hits += counter.n.load(std::memory_order_relaxed);
  }
  stats.read_ahead_requested = impl->read_ahead_requested.load(std::memory_order_relaxed);
  stats.read_ahead_loaded = impl->read_ahead_loaded.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(impl->loader_mu);
    stats.populated_frames = impl->populated;
  }
  for (size_t i = 0; i < impl->capacity; ++i) {
    const Frame& frame = impl->frames[i];
    stats.hits += frame.hits.load(std::memory_order_relaxed);
    if (frame.dirty.load(std::memory_order_relaxed) &&
        frame.page_id.load(std::memory_order_relaxed) != kInvalidPageId) {
      ++stats.dirty_pages;
    }
  }
  return stats;
}

}  // namespace mvdb
