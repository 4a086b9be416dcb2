// Batched loads for the buffer pool: Prefetch (the caller waits) and
// StartLoads (read-ahead: the pool's loader thread does the work).
//
// A load here is the miss path of a fetch, done for several pages at once:
// take a frame (AcquireFrame), latch it exclusively and publish it
// (Publish, invariant 2 of buffer_pool.cc), then read every published page
// with one PageStore::ReadPages, which the io_uring backend submits as one
// batch, and finish each (FinishLoad: validator, or unpublish on failure,
// invariant 3). Until its load is over, a page is in the table latched
// exclusively, so a fetch that wants it pins the frame and waits on the
// latch exactly as for another thread's miss: read-ahead adds no state a
// fetch must know about.
//
// Why a thread. A latch (std::shared_mutex) must be released by the
// thread that took it, so the thread that publishes a page must be the one
// that finishes its load. Letting the scan itself submit and come back for
// the completions would leave frames latched by a thread that may be
// blocked elsewhere, or make every fetch able to reap other pages'
// completions. One loader per pool keeps the protocol as it was: it takes
// only try-locks on other frames (through eviction, invariant 7), holds no
// latch while it waits for work, and so cannot join a deadlock. Its queue
// is bounded (loader_queue_pages); what does not fit is dropped, since a
// hint must never hold a scan up.
//
// Errors. Read-ahead reports nothing: a page that fails (an I/O error, a
// checksum, the validator) leaves the table as any failed load does, so
// the fetch that needs it reads it again and returns the Corruption (with
// the file and page) itself; a page that loads is exactly what a fetch
// would have loaded. Ids of pages freed or reused since the caller read
// them load what the store holds for them now, which a fetch would see
// too; Discard handles a page being loaded like any pinned page (zombie).
//
// Fresh frames. The same thread also takes the kernel's first-touch fault
// and zeroing of the frames about to be handed out for the first time
// (RequestPopulate, asked by PopFree half a window ahead): madvise with
// MADV_POPULATE_WRITE, which writes no byte, so it needs no latch and
// nothing a reader sees changes.
#include <system_error>

#include <sys/mman.h>

#include "buffer/buffer_pool_impl.h"

namespace mvdb {

Status BufferPool::Impl::LoadMissing(std::span<const PageId> ids, size_t limit, size_t* loaded) {
  *loaded = 0;
  limit = std::min(ids.size(), limit);
  // Pages are read kLoadChunk at a time: one io_uring batch each, and no
  // more than that many frame latches held by this thread at once (a
  // latch is held from Publish to FinishLoad; ThreadSanitizer's deadlock
  // detector also tracks at most 64 locks held by one thread).
  constexpr size_t kLoadChunk = 32;
  std::vector<Frame*> loading;
  std::vector<PageRead> reads;
  loading.reserve(std::min(limit, kLoadChunk));
  reads.reserve(std::min(limit, kLoadChunk));
  Status first_error;
  const auto finish = [&] {
    if (!reads.empty()) (void)ReadIntoFrames(reads);  // per-page results below
    for (size_t i = 0; i < loading.size(); ++i) {
      Frame* frame = loading[i];
      FinishLoad(frame, reads[i].id, std::move(reads[i].result));
      if (frame->load_status.ok()) {
        ++*loaded;
      } else if (first_error.ok()) {
        first_error = frame->load_status;
      }
      frame->latch.unlock();
      Unpin(frame);
    }
    loading.clear();
    reads.clear();
  };
  size_t taken = 0;
  for (PageId id : ids) {
    if (taken >= limit) break;
    if (id == kInvalidPageId) continue;
    {
      Shard& shard = ShardFor(id);
      std::shared_lock lock(shard.mu);
      if (shard.table.Find(id) != nullptr) continue;
    }
    auto frame_or = AcquireFrame();
    if (!frame_or.ok()) {
      if (!frame_or.status().IsBusy()) first_error = frame_or.status();
      break;
    }
    Frame* frame = *frame_or;
    if (!Publish(id, &frame)) {
      Unpin(frame);  // cached meanwhile
      continue;
    }
    ++taken;
    loading.push_back(frame);
    reads.push_back(PageRead{id, frame->bytes(), Status::OK()});
    if (loading.size() == kLoadChunk) finish();
  }
  finish();
  return first_error;
}

void BufferPool::Impl::LoaderLoop() {
  std::vector<PageId> batch;
  for (;;) {
    size_t populate_from = 0;
    size_t populate_end = 0;
    {
      std::unique_lock lock(loader_mu);
      loader_cv.wait(lock, [this] {
        return loader_stop || !loader_queue.empty() || populate_to > populate_done;
      });
      if (loader_stop) return;
      batch.clear();
      batch.swap(loader_queue);
      populate_from = populate_done;
      populate_end = populate_to;
      loader_busy = true;
    }
    // Faults the memory in without writing a byte of it, so no thread can
    // see a change, even in a frame handed out meanwhile (the range is
    // mostly frames no one has had yet). Advice only: a kernel without
    // MADV_POPULATE_WRITE (before Linux 5.14) refuses it, and the first
    // touch then faults as before (populated_frames does not count them).
    const bool populated_now =
        populate_end > populate_from &&
        ::madvise(frame_memory.get() + populate_from * kPageSize,
                  (populate_end - populate_from) * kPageSize, MADV_POPULATE_WRITE) == 0;
    size_t loaded = 0;
    // Errors stay with the pages (see above); a fetch reports them.
    if (!batch.empty()) (void)LoadMissing(batch, std::max<size_t>(1, capacity / 4), &loaded);
    read_ahead_loaded.fetch_add(loaded, std::memory_order_relaxed);
    {
      std::lock_guard lock(loader_mu);
      loader_busy = false;
      if (populate_end > populate_from) {
        populate_done = std::max(populate_done, populate_end);
        if (populated_now) populated += populate_end - populate_from;
      }
    }
    loader_idle_cv.notify_all();
  }
}

void BufferPool::Impl::StopLoader() {
  {
    std::lock_guard lock(loader_mu);
    loader_stop = true;
  }
  loader_cv.notify_all();
  loader_idle_cv.notify_all();
  if (loader.joinable()) loader.join();
}

void BufferPool::StartLoads(std::span<const PageId> ids) {
  Impl* impl = impl_.get();
  impl->read_ahead_requested.fetch_add(ids.size(), std::memory_order_relaxed);
  bool queued = false;
  {
    std::lock_guard lock(impl->loader_mu);
    if (impl->loader_stop) return;
    for (PageId id : ids) {
      if (impl->loader_queue.size() >= impl->loader_queue_limit) break;
      if (id == kInvalidPageId) continue;
      impl->loader_queue.push_back(id);
      queued = true;
    }
    if (queued && !impl->EnsureLoaderLocked()) {
      impl->loader_queue.clear();  // no thread: the hint is dropped
      return;
    }
  }
  if (queued) impl->loader_cv.notify_one();
}

bool BufferPool::Impl::EnsureLoaderLocked() {
  if (loader.joinable()) return true;
  try {
    loader = std::thread([this] { LoaderLoop(); });
  } catch (const std::system_error&) {
    return false;
  }
  return true;
}

void BufferPool::Impl::RequestPopulate(size_t upto) {
  {
    std::lock_guard lock(loader_mu);
    if (loader_stop || upto <= populate_to) return;
    populate_to = upto;
    if (!EnsureLoaderLocked()) {
      populate_to = populate_done;  // no thread: the first touches fault as before
      return;
    }
  }
  loader_cv.notify_one();
}

void BufferPool::WaitForStartedLoads() {
  Impl* impl = impl_.get();
  std::unique_lock lock(impl->loader_mu);
  impl->loader_idle_cv.wait(lock, [impl] {
    return impl->loader_stop || (impl->loader_queue.empty() && !impl->loader_busy &&
                                 impl->populate_done == impl->populate_to);
  });
}

bool BufferPool::IsCached(PageId id) {
  Shard& shard = impl_->ShardFor(id);
  std::shared_lock lock(shard.mu);
  return shard.table.Find(id) != nullptr;
}

}  // namespace mvdb
