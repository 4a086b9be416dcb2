// PageAllocator: hands out page ids and takes freed ones back.
//
// It owns the meta page (page 0) and the free list, both documented in
// buffer/page_format.md. The free list is a chain of trunk pages, each
// holding up to kFreeListTrunkCapacity free page ids; freeing pushes onto the
// head trunk (a full trunk is replaced by the freed page itself as the new
// head trunk), allocating pops from it (an empty trunk is itself handed out).
// When the list is empty the file grows by one page.
//
// Invariants:
//   1. A page id is either reachable from a tree, on the free list, or one of
//      the fixed pages (meta, directory root) - never two of these.
//   2. page_count in the meta page is one past the highest id ever allocated.
//   3. All changes go through the buffer pool under the meta page's write
//      latch, so allocation is serialised (it is rare: splits and overflow).
//
// Threading: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "buffer/buffer_pool.h"
#include "mvdb/status.h"

namespace mvdb {

// The meta page body (page_format.md has the offset table).
inline constexpr char kMetaMagic[8] = {'m', 'v', 'd', 'b', 'd', 'a', 't', 'a'};
inline constexpr uint32_t kMetaFormatVersion = 1;

// A free-list trunk body: next trunk u64 | count u32 | count ids u64.
inline constexpr size_t kFreeListTrunkHeaderSize = 12;
inline constexpr size_t kFreeListTrunkCapacity =
    (kPageSize - kPageHeaderSize - kFreeListTrunkHeaderSize) / 8;

// Fields of the meta page body, as decoded.
struct MetaPage {
  uint64_t page_count = 0;  // ids [0, page_count) exist
  PageId freelist_head = kInvalidPageId;
  uint64_t free_pages = 0;                 // ids on the free list, trunks included
  PageId directory_root = kInvalidPageId;  // root page of the tree directory
};

class PageAllocator {
 public:
  // Formats page 0 as a meta page with page_count = `reserved_pages` (ids
  // below it are fixed pages the caller formats itself), an empty free list
  // and `directory_root`.
  static Result<std::unique_ptr<PageAllocator>> Create(BufferPool* pool, uint64_t reserved_pages,
                                                       PageId directory_root);
  // Reads and validates page 0 (magic, version, page size, bounds).
  // Corruption if it is not a valid meta page.
  static Result<std::unique_ptr<PageAllocator>> Open(BufferPool* pool);

  // A new page of `type`, formatted empty, write-latched.
  Result<WritePageGuard> Allocate(PageType type);
  // Returns `id` to the free list. REQUIRES: no guard on `id` is alive and
  // nothing references it any more.
  Status Free(PageId id);

  Result<MetaPage> ReadMeta();
  // Calls `fn` for every page id on the free list, trunks included.
  // Corruption if the chain is malformed (cycle, out-of-range id, bad trunk).
  // The ids are collected first, so `fn` may call back into the allocator.
  Status ForEachFreePage(const std::function<Status(PageId)>& fn);

 private:
  explicit PageAllocator(BufferPool* pool) : pool_(pool) {}

  BufferPool* pool_;
  std::mutex mu_;
};

}  // namespace mvdb
