#include "buffer/page_allocator.h"

#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "buffer/page_access.h"
#include "common/coding.h"

namespace mvdb {
namespace {

// Offsets inside the meta page body (after the common page header).
namespace meta_body {
constexpr size_t kMagic = 0;
constexpr size_t kVersion = 8;
constexpr size_t kPageSizeField = 12;
constexpr size_t kPageCount = 16;
constexpr size_t kFreelistHead = 24;
constexpr size_t kFreePages = 32;
constexpr size_t kDirectoryRoot = 40;
}  // namespace meta_body

// Offsets inside a free-list trunk body.
namespace trunk_body {
constexpr size_t kNext = 0;
constexpr size_t kCount = 8;
constexpr size_t kIds = kFreeListTrunkHeaderSize;
}  // namespace trunk_body

// Ids past this would overflow a file offset; page_count never reaches it.
constexpr uint64_t kMaxPageCount = UINT64_MAX / kPageSize;

Status MetaCorruption(const BufferPool* pool, const std::string& what) {
  return Status::Corruption(pool->store()->PageLocation(kMetaPageId) + ": meta page: " + what);
}

Result<MetaPage> DecodeMeta(const BufferPool* pool, std::span<const std::byte> page) {
  const ConstPageView view(page);
  if (view.type() != PageType::kMeta) {
    return MetaCorruption(pool,
                          std::string("page type is ") + PageTypeName(view.type()) + ", not meta");
  }
  const std::byte* body = view.body().data();
  if (std::memcmp(body + meta_body::kMagic, kMetaMagic, sizeof(kMetaMagic)) != 0) {
    return MetaCorruption(pool, "bad magic (not an mvdb data file)");
  }
  const uint32_t version = DecodeFixed32(body + meta_body::kVersion);
  if (version != kMetaFormatVersion) {
    return MetaCorruption(pool, "unsupported format version " + std::to_string(version));
  }
  const uint32_t page_size = DecodeFixed32(body + meta_body::kPageSizeField);
  if (page_size != kPageSize) {
    return MetaCorruption(pool, "page size " + std::to_string(page_size) + ", this build uses " +
                                    std::to_string(kPageSize));
  }
  MetaPage meta;
  meta.page_count = DecodeFixed64(body + meta_body::kPageCount);
  meta.freelist_head = DecodeFixed64(body + meta_body::kFreelistHead);
  meta.free_pages = DecodeFixed64(body + meta_body::kFreePages);
  meta.directory_root = DecodeFixed64(body + meta_body::kDirectoryRoot);
  const std::string count = std::to_string(meta.page_count);
  if (meta.page_count == 0 || meta.page_count > kMaxPageCount) {
    return MetaCorruption(pool, "page_count " + count + " out of range");
  }
  if (meta.freelist_head != kInvalidPageId &&
      (meta.freelist_head == kMetaPageId || meta.freelist_head >= meta.page_count)) {
    return MetaCorruption(pool, "freelist_head " + std::to_string(meta.freelist_head) +
                                    " out of range (page_count " + count + ")");
  }
  if (meta.free_pages >= meta.page_count ||
      (meta.freelist_head == kInvalidPageId) != (meta.free_pages == 0)) {
    return MetaCorruption(pool, "free_pages " + std::to_string(meta.free_pages) +
                                    " inconsistent with freelist_head and page_count " + count);
  }
  if (meta.directory_root != kInvalidPageId &&
      (meta.directory_root == kMetaPageId || meta.directory_root >= meta.page_count)) {
    return MetaCorruption(pool, "directory_root " + std::to_string(meta.directory_root) +
                                    " out of range (page_count " + count + ")");
  }
  return meta;
}

// The stores below go through page_access: these pages are cached frames,
// which optimistic tree readers holding a stale page id may be reading.
void EncodeMeta(std::span<std::byte> page, const MetaPage& meta) {
  std::byte* p = page.data();
  constexpr size_t kBody = kPageHeaderSize;
  page_access::CopyIn(p, kBody + meta_body::kMagic, kMetaMagic, sizeof(kMetaMagic));
  page_access::Store32(p, kBody + meta_body::kVersion, kMetaFormatVersion);
  page_access::Store32(p, kBody + meta_body::kPageSizeField, static_cast<uint32_t>(kPageSize));
  page_access::Store64(p, kBody + meta_body::kPageCount, meta.page_count);
  page_access::Store64(p, kBody + meta_body::kFreelistHead, meta.freelist_head);
  page_access::Store64(p, kBody + meta_body::kFreePages, meta.free_pages);
  page_access::Store64(p, kBody + meta_body::kDirectoryRoot, meta.directory_root);
}

// A trunk's header fields, checked against the meta page.
struct Trunk {
  PageId next = kInvalidPageId;
  uint32_t count = 0;
};

Status TrunkCorruption(const BufferPool* pool, PageId id, const std::string& what) {
  return Status::Corruption(pool->store()->PageLocation(id) + ": free-list trunk: " + what);
}

// A page id stored in the free list may name any page but the meta page
// and the directory root, and must exist.
bool IsFreeableId(const MetaPage& meta, PageId id) {
  return id != kMetaPageId && id != meta.directory_root && id < meta.page_count;
}

Result<Trunk> DecodeTrunk(const BufferPool* pool, const MetaPage& meta, PageId id,
                          std::span<const std::byte> page) {
  const ConstPageView view(page);
  if (view.type() != PageType::kFreeListTrunk) {
    return TrunkCorruption(pool, id, std::string("page type is ") + PageTypeName(view.type()));
  }
  const std::byte* body = view.body().data();
  Trunk trunk;
  trunk.next = DecodeFixed64(body + trunk_body::kNext);
  trunk.count = DecodeFixed32(body + trunk_body::kCount);
  if (trunk.count > kFreeListTrunkCapacity) {
    return TrunkCorruption(pool, id,
                           "count " + std::to_string(trunk.count) + " exceeds capacity " +
                               std::to_string(kFreeListTrunkCapacity));
  }
  if (trunk.next != kInvalidPageId && !IsFreeableId(meta, trunk.next)) {
    return TrunkCorruption(pool, id,
                           "next trunk " + std::to_string(trunk.next) +
                               " out of range (page_count " + std::to_string(meta.page_count) +
                               ")");
  }
  return trunk;
}

PageId TrunkEntry(std::span<const std::byte> page, uint32_t i) {
  return DecodeFixed64(page.data() + kPageHeaderSize + trunk_body::kIds + size_t{8} * i);
}

void SetTrunkEntry(std::span<std::byte> page, uint32_t i, PageId id) {
  page_access::Store64(page.data(), kPageHeaderSize + trunk_body::kIds + size_t{8} * i, id);
}

void SetTrunkHeader(std::span<std::byte> page, const Trunk& trunk) {
  page_access::Store64(page.data(), kPageHeaderSize + trunk_body::kNext, trunk.next);
  page_access::Store32(page.data(), kPageHeaderSize + trunk_body::kCount, trunk.count);
}

// Trunk pages are latched only under mu_, so their latch is free but for a
// moment while a write-back copies the page. Latching them with a try-lock
// first, rather than a blocking fetch, keeps ThreadSanitizer from ordering
// mu_ before the latch: an emptied trunk is handed out as a tree page
// without leaving the cache, and tree code holds such pages while it calls
// Allocate. After many failed tries (a pathological wait) it just blocks.
constexpr int kTrunkLatchTries = 1000;

Result<WritePageGuard> LatchTrunkForWrite(BufferPool* pool, PageId id) {
  for (int attempt = 0; attempt < kTrunkLatchTries; ++attempt) {
    Result<WritePageGuard> guard = pool->TryFetchWrite(id);
    if (guard.ok() || !guard.status().IsBusy()) return guard;
    std::this_thread::yield();
  }
  return pool->FetchWrite(id);
}

Result<ReadPageGuard> LatchTrunkForRead(BufferPool* pool, PageId id) {
  for (int attempt = 0; attempt < kTrunkLatchTries; ++attempt) {
    Result<ReadPageGuard> guard = pool->TryFetchRead(id);
    if (guard.ok() || !guard.status().IsBusy()) return guard;
    std::this_thread::yield();
  }
  return pool->FetchRead(id);
}

}  // namespace

Result<std::unique_ptr<PageAllocator>> PageAllocator::Create(BufferPool* pool,
                                                             uint64_t reserved_pages,
                                                             PageId directory_root) {
  if (reserved_pages == 0 || reserved_pages > kMaxPageCount) {
    return Status::InvalidArgument("page allocator: reserved_pages must count the meta page");
  }
  if (directory_root != kInvalidPageId &&
      (directory_root == kMetaPageId || directory_root >= reserved_pages)) {
    return Status::InvalidArgument("page allocator: directory_root must be a reserved page");
  }
  MVDB_ASSIGN_OR_RETURN(WritePageGuard guard, pool->NewPage(kMetaPageId, PageType::kMeta));
  MetaPage meta;
  meta.page_count = reserved_pages;
  meta.directory_root = directory_root;
  EncodeMeta(guard.mutable_data(), meta);
  return std::unique_ptr<PageAllocator>(new PageAllocator(pool));
}

Result<std::unique_ptr<PageAllocator>> PageAllocator::Open(BufferPool* pool) {
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, pool->FetchRead(kMetaPageId));
  MVDB_RETURN_IF_ERROR(DecodeMeta(pool, guard.data()).status());
  return std::unique_ptr<PageAllocator>(new PageAllocator(pool));
}

Result<MetaPage> PageAllocator::ReadMeta() {
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, pool_->FetchRead(kMetaPageId));
  return DecodeMeta(pool_, guard.data());
}

Result<WritePageGuard> PageAllocator::Allocate(PageType type) {
  std::lock_guard lock(mu_);
  MVDB_ASSIGN_OR_RETURN(WritePageGuard meta_guard, pool_->FetchWrite(kMetaPageId));
  MVDB_ASSIGN_OR_RETURN(MetaPage meta, DecodeMeta(pool_, meta_guard.data()));

  if (meta.freelist_head == kInvalidPageId) {
    if (meta.page_count >= kMaxPageCount) {
      return Status::InvalidArgument("page allocator: the data file has no page ids left");
    }
    // The new page is formatted before the meta page changes, so a failure
    // (Busy) leaves the file as it was.
    MVDB_ASSIGN_OR_RETURN(WritePageGuard page, pool_->NewPage(meta.page_count, type));
    ++meta.page_count;
    EncodeMeta(meta_guard.mutable_data(), meta);
    return page;
  }

  const PageId head = meta.freelist_head;
  MVDB_ASSIGN_OR_RETURN(WritePageGuard trunk_guard, LatchTrunkForWrite(pool_, head));
  MVDB_ASSIGN_OR_RETURN(Trunk trunk, DecodeTrunk(pool_, meta, head, trunk_guard.data()));
  if (trunk.count == 0) {
    // An empty trunk is handed out itself; the next trunk becomes the head.
    meta.freelist_head = trunk.next;
    --meta.free_pages;
    if ((meta.freelist_head == kInvalidPageId) != (meta.free_pages == 0)) {
      return MetaCorruption(
          pool_, "free_pages disagrees with the free-list chain at trunk " + std::to_string(head));
    }
    trunk_guard.mutable_view().Format(head, type);
    EncodeMeta(meta_guard.mutable_data(), meta);
    return trunk_guard;
  }
  const PageId id = TrunkEntry(trunk_guard.data(), trunk.count - 1);
  if (!IsFreeableId(meta, id) || id == head) {
    return TrunkCorruption(pool_, head,
                           "entry " + std::to_string(trunk.count - 1) + " is page " +
                               std::to_string(id) + ", out of range (page_count " +
                               std::to_string(meta.page_count) + ")");
  }
  if (meta.free_pages < 2) {
    return MetaCorruption(pool_, "free_pages " + std::to_string(meta.free_pages) + " but trunk " +
                                     std::to_string(head) + " holds entries");
  }
  MVDB_ASSIGN_OR_RETURN(WritePageGuard page, pool_->NewPage(id, type));
  --trunk.count;
  SetTrunkHeader(trunk_guard.mutable_data(), trunk);
  --meta.free_pages;
  EncodeMeta(meta_guard.mutable_data(), meta);
  return page;
}

Status PageAllocator::Free(PageId id) {
  std::lock_guard lock(mu_);
  MVDB_ASSIGN_OR_RETURN(WritePageGuard meta_guard, pool_->FetchWrite(kMetaPageId));
  MVDB_ASSIGN_OR_RETURN(MetaPage meta, DecodeMeta(pool_, meta_guard.data()));
  if (!IsFreeableId(meta, id) || id == meta.freelist_head) {
    return Status::InvalidArgument("page allocator: cannot free page " + std::to_string(id) +
                                   " (page_count " + std::to_string(meta.page_count) + ")");
  }
  pool_->Discard(id);

  if (meta.freelist_head != kInvalidPageId) {
    const PageId head = meta.freelist_head;
    MVDB_ASSIGN_OR_RETURN(WritePageGuard trunk_guard, LatchTrunkForWrite(pool_, head));
    MVDB_ASSIGN_OR_RETURN(Trunk trunk, DecodeTrunk(pool_, meta, head, trunk_guard.data()));
    if (trunk.count < kFreeListTrunkCapacity) {
      SetTrunkEntry(trunk_guard.mutable_data(), trunk.count, id);
      ++trunk.count;
      SetTrunkHeader(trunk_guard.mutable_data(), trunk);
      ++meta.free_pages;
      EncodeMeta(meta_guard.mutable_data(), meta);
      return Status::OK();
    }
  }
  // No trunk, or the head trunk is full: the freed page becomes the new head.
  MVDB_ASSIGN_OR_RETURN(WritePageGuard trunk_guard, pool_->NewPage(id, PageType::kFreeListTrunk));
  SetTrunkHeader(trunk_guard.mutable_data(), Trunk{meta.freelist_head, 0});
  meta.freelist_head = id;
  ++meta.free_pages;
  EncodeMeta(meta_guard.mutable_data(), meta);
  return Status::OK();
}

Status PageAllocator::ForEachFreePage(const std::function<Status(PageId)>& fn) {
  std::vector<PageId> ids;
  {
    std::lock_guard lock(mu_);
    MVDB_ASSIGN_OR_RETURN(ReadPageGuard meta_guard, pool_->FetchRead(kMetaPageId));
    MVDB_ASSIGN_OR_RETURN(MetaPage meta, DecodeMeta(pool_, meta_guard.data()));
    meta_guard.Release();
    std::unordered_set<PageId> seen;
    // Every id is checked before it is followed or counted, and the walk
    // stops once it has seen more ids than free_pages, so a cycle ends it.
    auto note = [&](PageId trunk_id, PageId id, const char* what) -> Status {
      if (!IsFreeableId(meta, id)) {
        return TrunkCorruption(pool_, trunk_id,
                               std::string(what) + " " + std::to_string(id) +
                                   " out of range (page_count " + std::to_string(meta.page_count) +
                                   ")");
      }
      if (!seen.insert(id).second) {
        return TrunkCorruption(
            pool_, trunk_id,
            std::string(what) + " " + std::to_string(id) + " is already on the free list (cycle)");
      }
      if (seen.size() > meta.free_pages) {
        return MetaCorruption(pool_, "the free list holds more than free_pages " +
                                         std::to_string(meta.free_pages) + " pages");
      }
      ids.push_back(id);
      return Status::OK();
    };
    PageId previous = kMetaPageId;
    for (PageId trunk_id = meta.freelist_head; trunk_id != kInvalidPageId;) {
      MVDB_RETURN_IF_ERROR(note(previous, trunk_id, "trunk"));
      MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, LatchTrunkForRead(pool_, trunk_id));
      MVDB_ASSIGN_OR_RETURN(Trunk trunk, DecodeTrunk(pool_, meta, trunk_id, guard.data()));
      for (uint32_t i = 0; i < trunk.count; ++i) {
        MVDB_RETURN_IF_ERROR(note(trunk_id, TrunkEntry(guard.data(), i), "entry"));
      }
      previous = trunk_id;
      trunk_id = trunk.next;
    }
    if (seen.size() != meta.free_pages) {
      return MetaCorruption(pool_, "free_pages is " + std::to_string(meta.free_pages) +
                                       " but the free list holds " + std::to_string(seen.size()));
    }
  }
  for (PageId id : ids) MVDB_RETURN_IF_ERROR(fn(id));
  return Status::OK();
}

}  // namespace mvdb
