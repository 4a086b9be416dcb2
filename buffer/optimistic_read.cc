// The buffer pool's optimistic hit path and how loads keep it race-free:
// invariant 6 of buffer_pool.h, invariant 11 of the essay in buffer_pool.cc.
#include "buffer/buffer_pool_impl.h"

namespace mvdb {

namespace {

// Which optimistic hit counter a thread adds to: spread over the slots so
// threads rarely share a counter's line.
size_t HitCounterSlot() {
  static std::atomic<size_t> next{0};
  thread_local const size_t slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

}  // namespace

void BufferPool::Impl::InitHints() {
  size_t slots = 64;
  while (slots < 2 * capacity) slots *= 2;
  hints = std::make_unique<std::atomic<uint32_t>[]>(slots);
  for (size_t i = 0; i < slots; ++i) hints[i].store(0, std::memory_order_relaxed);
  hint_shift = 64 - static_cast<unsigned>(std::countr_zero(slots));
}

OptimisticStatus BufferPool::ReadOptimistic(PageId id, OptimisticPage* page) {
  Impl* impl = impl_.get();
  const uint32_t hint = impl->hints[impl->HintSlot(id)].load(std::memory_order_relaxed);
  Frame* frame = nullptr;
  if (hint != 0 && hint <= impl->capacity) {
    frame = &impl->frames[hint - 1];
    // The caller reads the page header and the slots after it next: start
    // those misses now, beside the frame's own.
    const std::byte* bytes = impl->frame_memory.get() + (hint - 1) * kPageSize;
    __builtin_prefetch(bytes);
    __builtin_prefetch(bytes + 64);
  }
  // The version first, then the page id: both are what the version
  // protects, so a final Validate also proves the id was `id` throughout.
  uint64_t version = frame != nullptr ? frame->version.load(std::memory_order_acquire) : 1;
  if (frame == nullptr || frame->page_id.load(std::memory_order_acquire) != id) {
    // Stale or empty hint: ask the table (a shared probe) and fix the hint.
    Shard& shard = impl->ShardFor(id);
    {
      std::shared_lock lock(shard.mu);
      frame = shard.table.Find(id);
    }
    if (frame == nullptr) return OptimisticStatus::kMiss;
    impl->SetHint(id, frame);
    version = frame->version.load(std::memory_order_acquire);
    if (frame->page_id.load(std::memory_order_acquire) != id) return OptimisticStatus::kBusy;
  }
  if ((version & 1) != 0) return OptimisticStatus::kBusy;
  MarkReferenced(frame);
  page->data = frame->data;
  page->version_word = &frame->version;
  page->version = version;
  return OptimisticStatus::kOk;
}

void BufferPool::CountOptimisticHits(uint64_t pages) {
  impl_->optimistic_hits[HitCounterSlot() % impl_->optimistic_hits.size()].n.fetch_add(
      pages, std::memory_order_relaxed);
}

Status BufferPool::Impl::ReadIntoFrames(std::span<PageRead> reads) {
  // One staging page per thread covers the common single-page miss; a
  // batch (Prefetch) takes a buffer for itself.
  thread_local AlignedBuffer single;
  AlignedBuffer batch;
  std::byte* staging = nullptr;
  if (reads.size() == 1) {
    if (!single) single = AllocateAligned(kPageSize);
    staging = single.get();
  } else {
    batch = AllocateAligned(reads.size() * kPageSize);
    staging = batch.get();
  }
  if (staging == nullptr) {
    Status error = Status::IOError("buffer pool: cannot allocate a staging buffer for a read");
    for (PageRead& read : reads) read.result = error;
    return error;
  }
  std::span<std::byte> single_frame;
  std::vector<std::span<std::byte>> many_frames;
  if (reads.size() > 1) many_frames.reserve(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads.size() == 1) {
      single_frame = reads[i].data;
    } else {
      many_frames.push_back(reads[i].data);
    }
    reads[i].data = std::span<std::byte>(staging + i * kPageSize, kPageSize);
  }
  Status status = store->ReadPages(reads);
  for (size_t i = 0; i < reads.size(); ++i) {
    const std::span<std::byte> frame = reads.size() == 1 ? single_frame : many_frames[i];
    if (reads[i].result.ok()) page_access::CopyIn(frame.data(), 0, reads[i].data.data(), kPageSize);
    reads[i].data = frame;
  }
  return status;
}

}  // namespace mvdb
