// Write-back: copying dirty pages under shared latches and writing them in
// batches (invariants 4 to 7 of the essay at the top of buffer_pool.cc),
// FlushAll, and the checkpoint epochs that decide which images a checkpoint
// is owed and who writes them (invariants 9 and 10).
#include <thread>

#include "buffer/buffer_pool_impl.h"

namespace mvdb {

// Under the shard lock: pins `frame` and claims it for write-back if it
// still holds its page and no other write-back has it. Invariant 6.
Claim BufferPool::Impl::ClaimForWriteback(Frame* frame, bool require_unpinned) {
  const PageId id = frame->page_id.load(std::memory_order_acquire);
  if (id == kInvalidPageId) return Claim::kGone;
  Shard& shard = ShardFor(id);
  std::unique_lock lock(shard.mu);
  if (shard.table.Find(id) != frame) return Claim::kGone;
  if (require_unpinned && frame->pins() != 0) return Claim::kBusy;
  if (frame->writing.load(std::memory_order_acquire)) return Claim::kBusy;
  frame->pin_state.fetch_add(1, std::memory_order_acq_rel);
  frame->writing.store(true, std::memory_order_release);
  return Claim::kClaimed;
}

// Copies each frame of `batch` that is still dirty into `area` and writes
// them with one WritePages. Releases the claims, not the pins. With
// `skipped` null it waits for each latch (only for a batch of one, see
// invariant 7); otherwise it skips latched frames and lists them there.
Status BufferPool::Impl::WriteBack(const VictimBatch& batch, std::byte* area,
                                   std::vector<PageWrite>* writes, VictimBatch* skipped,
                                   uint64_t max_epoch) {
  writes->clear();
  std::array<Frame*, kMaxWritebackBatch> copied{};
  for (size_t i = 0; i < batch.size; ++i) {
    Frame* frame = batch.frames[i];
    if (skipped == nullptr) {
      frame->latch.lock_shared();
    } else if (!frame->latch.try_lock_shared()) {
      skipped->frames[skipped->size++] = frame;
      continue;
    }
    const uint64_t dirty_epoch = frame->dirty_epoch.load(std::memory_order_relaxed);
    if (frame->dirty.load(std::memory_order_acquire) && dirty_epoch <= max_epoch) {
      std::byte* copy = area + writes->size() * kPageSize;
      std::memcpy(copy, frame->data, kPageSize);
      frame->dirty.store(false, std::memory_order_release);
      copied[writes->size()] = frame;
      writes->push_back(PageWrite{frame->page_id.load(std::memory_order_relaxed),
                                  std::span<std::byte>(copy, kPageSize), dirty_epoch});
    }
    frame->latch.unlock_shared();
  }
  Status status;
  if (!writes->empty()) {
    status = store->WritePages(*writes);
    write_batches.fetch_add(1, std::memory_order_relaxed);
    if (status.ok()) {
      pages_written.fetch_add(writes->size(), std::memory_order_relaxed);
    } else {
      // Keep the data: the pages stay dirty and are written again later.
      for (size_t i = 0; i < writes->size(); ++i) {
        // Invariant 10: the older epoch wins if a writer dirtied it again.
        Frame* frame = copied[i];
        uint64_t epoch_back = (*writes)[i].epoch;
        if (frame->dirty.load(std::memory_order_acquire)) {
          epoch_back = std::min(epoch_back, frame->dirty_epoch.load(std::memory_order_relaxed));
        }
        frame->dirty_epoch.store(epoch_back, std::memory_order_relaxed);
        frame->dirty.store(true, std::memory_order_release);
      }
      status = status.WithContext("buffer pool write-back");
    }
  }
  for (size_t i = 0; i < batch.size; ++i) {
    batch.frames[i]->writing.store(false, std::memory_order_release);
  }
  return status;
}

bool BufferPool::Impl::IsOwed(const Frame* frame) const {
  return frame->dirty.load(std::memory_order_acquire) &&
         frame->dirty_epoch.load(std::memory_order_relaxed) < epoch.load(std::memory_order_acquire);
}

// REQUIRES: the exclusive latch, and no owed image (SettleOwed ran).
void BufferPool::Impl::MarkDirty(Frame* frame) {
  if (!frame->dirty.load(std::memory_order_relaxed)) {
    frame->dirty_epoch.store(epoch.load(std::memory_order_acquire), std::memory_order_relaxed);
  }
  frame->dirty.store(true, std::memory_order_release);
}

// Writes the page of `frame` as it is, under the caller's exclusive latch.
// REQUIRES: the caller claimed the frame (ClaimForWriteback); the claim and
// its pin are released here.
Status BufferPool::Impl::WriteLatched(Frame* frame, PageId id) {
  AlignedBuffer copy = AllocateAligned(kPageSize);
  Status status;
  if (!copy) {
    status = Status::IOError("buffer pool: cannot allocate a write-back buffer");
  } else {
    std::memcpy(copy.get(), frame->data, kPageSize);
    const uint64_t dirty_epoch = frame->dirty_epoch.load(std::memory_order_relaxed);
    frame->dirty.store(false, std::memory_order_release);
    PageWrite write{id, std::span<std::byte>(copy.get(), kPageSize), dirty_epoch};
    status = store->WritePages(std::span<PageWrite>(&write, 1));
    write_batches.fetch_add(1, std::memory_order_relaxed);
    if (status.ok()) {
      pages_written.fetch_add(1, std::memory_order_relaxed);
      owed_writes.fetch_add(1, std::memory_order_relaxed);
    } else {
      frame->dirty.store(true, std::memory_order_release);
      status = status.WithContext("buffer pool write-before-modify");
    }
  }
  frame->writing.store(false, std::memory_order_release);
  Unpin(frame);
  return status;
}

// Write-before-modify (invariant 9). REQUIRES: the caller pinned `frame`,
// which holds `id`, and latched it exclusively. Returns OK with the latch
// still held and nothing owed; otherwise the latch is released (Busy when
// `try_only` and the latch was taken meanwhile).
Status BufferPool::Impl::SettleOwed(Frame* frame, PageId id, bool try_only) {
  while (IsOwed(frame)) {
    const Claim claim = ClaimForWriteback(frame, /*require_unpinned=*/false);
    if (claim == Claim::kClaimed) {
      Status status = WriteLatched(frame, id);
      if (!status.ok()) frame->latch.unlock();
      return status;
    }
    if (claim == Claim::kGone) return Status::OK();  // left the table: nothing to owe
    // Another write-back has it, and may be waiting for this latch.
    frame->latch.unlock();
    std::this_thread::yield();
    if (!try_only) {
      frame->latch.lock();
    } else if (!frame->latch.try_lock()) {
      return Status::Busy("buffer pool: page " + std::to_string(id) + " is latched");
    }
  }
  return Status::OK();
}

Status BufferPool::FlushAll() {
  MVDB_RETURN_IF_ERROR(impl_->WriteDirty(UINT64_MAX));
  return store_->Sync();
}

uint64_t BufferPool::epoch() const { return impl_->epoch.load(std::memory_order_acquire); }

uint64_t BufferPool::AdvanceEpoch() { return impl_->epoch.fetch_add(1, std::memory_order_acq_rel); }

Status BufferPool::WriteBackOwed(uint64_t epoch) { return impl_->WriteDirty(epoch); }

// Writes back every page dirtied in an epoch <= `max_epoch`.
Status BufferPool::Impl::WriteDirty(uint64_t max_epoch) {
  Impl* impl = this;
  std::lock_guard flush_lock(impl->flush_mu);
  size_t next = 0;
  while (next < impl->capacity) {
    VictimBatch batch;
    for (; next < impl->capacity && batch.size < impl->writeback_batch; ++next) {
      Frame* frame = &impl->frames[next];
      // A frame another thread is writing back may carry an image this
      // flush must see land (for a checkpoint, one owed to it): claiming it
      // waits for that write.
      if (!frame->writing.load(std::memory_order_acquire) &&
          (!frame->dirty.load(std::memory_order_acquire) ||
           frame->dirty_epoch.load(std::memory_order_relaxed) > max_epoch)) {
        continue;
      }
      Claim claim;
      while ((claim = impl->ClaimForWriteback(frame, /*require_unpinned=*/false)) == Claim::kBusy) {
        std::this_thread::yield();  // an eviction is writing it: let that land first
      }
      if (claim == Claim::kClaimed) batch.frames[batch.size++] = frame;
    }
    VictimBatch skipped;
    Status status =
        impl->WriteBack(batch, impl->flush_area.get(), &impl->flush_writes, &skipped, max_epoch);
    for (size_t i = 0; i < batch.size; ++i) impl->Unpin(batch.frames[i]);
    MVDB_RETURN_IF_ERROR(status);
    // The pages a guard held: wait for each alone (invariant 7).
    for (size_t i = 0; i < skipped.size; ++i) {
      Frame* frame = skipped.frames[i];
      VictimBatch single;
      Claim claim;
      while ((claim = impl->ClaimForWriteback(frame, /*require_unpinned=*/false)) == Claim::kBusy) {
        std::this_thread::yield();
      }
      if (claim != Claim::kClaimed) continue;  // discarded or evicted meanwhile
      single.frames[single.size++] = frame;
      status =
          impl->WriteBack(single, impl->flush_area.get(), &impl->flush_writes, nullptr, max_epoch);
      impl->Unpin(frame);
      MVDB_RETURN_IF_ERROR(status);
    }
  }
  return Status::OK();
}

}  // namespace mvdb
