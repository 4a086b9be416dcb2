// Overflow chains. btree/node_format.md documents the page bytes. The
// invariants, and why they hold:
//
//   1. A value of n bytes is stored in max(1, ceil(n / kOverflowCapacity))
//      pages, and every piece but the last is full. The chain's shape is
//      therefore a function of n alone, which lets a reader that knows n
//      (from the leaf cell) check every piece length exactly, and lets even
//      a reader that does not (FreeOverflow) reject a short piece in the
//      middle of a chain.
//   2. The writer latches at most two pages at once (the page it fills and
//      the next one, whose id it links to), so a value of any size pins at
//      most two frames, and it hands pages out in chain order, so a chain
//      written into a growing file lies in ascending page ids.
//   3. Readers trust nothing: every page must be an overflow page, every
//      piece length must fit the page and the bytes still expected, the
//      chain must end exactly when the value does, and no page may be
//      visited twice. Any violation is Corruption naming the page, so a bad
//      chain cannot loop a reader or make it read outside a page.
//   4. FreeOverflow checks the whole chain before freeing any page of it: a
//      corrupt link stops the free before it could hand back a page that
//      belongs to some other structure.
#include "btree/overflow.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_set>
#include <utility>

#include "btree/btree.h"
#include "buffer/buffer_pool.h"
#include "buffer/page_access.h"
#include "buffer/page_allocator.h"
#include "common/coding.h"

namespace mvdb::btree {
namespace {

constexpr size_t kNextOffset = kPageHeaderSize;
constexpr size_t kPieceLengthOffset = kPageHeaderSize + 8;
constexpr size_t kPieceOffset = kPageHeaderSize + kOverflowHeaderSize;
// No value is larger than this many pages; a longer chain is garbage.
constexpr uint64_t kMaxChainPages =
    (uint64_t{UINT32_MAX} + kOverflowCapacity - 1) / kOverflowCapacity;

Status Corrupt(PageId id, const std::string& what, size_t offset) {
  return Status::Corruption("page " + std::to_string(id) + ": overflow chain: " + what +
                            " at offset " + std::to_string(offset));
}

uint64_t PagesFor(uint64_t size) {
  return std::max<uint64_t>(1, (size + kOverflowCapacity - 1) / kOverflowCapacity);
}

// Walks the chain from `first`, checking each page (invariant 3), and calls
// `on_page(id, piece)` for each while the page is latched. With
// `expected_size` every piece length is checked exactly; without it, only
// the shape of invariant 1.
template <typename OnPage>
Status WalkChain(BufferPool* pool, PageId first, std::optional<uint32_t> expected_size,
                 OnPage&& on_page) {
  if (first == kInvalidPageId || first == kMetaPageId) {
    return Corrupt(first, "no chain can start at this page", 0);
  }
  std::unordered_set<PageId> visited;
  uint64_t remaining = expected_size.value_or(0);
  PageId id = first;
  while (true) {
    if (!visited.insert(id).second) {
      return Corrupt(id, "page visited twice (the chain loops)", kNextOffset);
    }
    if (visited.size() > kMaxChainPages) {
      return Corrupt(id, "longer than any value", kNextOffset);
    }
    MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, pool->FetchRead(id));
    const std::span<const std::byte> page = guard.data();
    MVDB_RETURN_IF_ERROR(ValidateOverflowPage(page, id));
    const PageId next = DecodeFixed64(page.data() + kNextOffset);
    const uint32_t length = DecodeFixed32(page.data() + kPieceLengthOffset);
    const bool last = next == kInvalidPageId;
    if (expected_size.has_value()) {
      const uint64_t expected = std::min<uint64_t>(remaining, kOverflowCapacity);
      if (length != expected) {
        return Corrupt(id,
                       "piece of " + std::to_string(length) + " bytes where " +
                           std::to_string(expected) + " are due",
                       kPieceLengthOffset);
      }
      remaining -= length;
      if (last && remaining > 0) {
        return Corrupt(id, "ends " + std::to_string(remaining) + " bytes short", kNextOffset);
      }
      if (!last && remaining == 0) {
        return Corrupt(id, "goes on past the value's end to page " + std::to_string(next),
                       kNextOffset);
      }
    } else if (!last && length != kOverflowCapacity) {
      return Corrupt(id, "short piece of " + std::to_string(length) + " bytes before the end",
                     kPieceLengthOffset);
    }
    on_page(id, page.subspan(kPieceOffset, length));
    if (last) {
      return Status::OK();
    }
    id = next;
  }
}

void FillPage(WritePageGuard& guard, std::string_view piece, PageId next) {
  // Through page_access: the frame may be read by an optimistic tree reader
  // holding a stale id of the page (it fails validation, but must not race).
  std::byte* page = guard.mutable_data().data();
  page_access::Store64(page, kNextOffset, next);
  page_access::Store32(page, kPieceLengthOffset, static_cast<uint32_t>(piece.size()));
  page_access::CopyIn(page, kPieceOffset, piece.data(), piece.size());
}

}  // namespace

Status ValidateOverflowPage(std::span<const std::byte> page, PageId id) {
  if (page.size() != kPageSize) {
    return Corrupt(id, "page of " + std::to_string(page.size()) + " bytes", 0);
  }
  const auto type = static_cast<PageType>(page[page_header::kTypeOffset]);
  if (type != PageType::kOverflow) {
    return Corrupt(id, std::string("expected an overflow page, found ") + PageTypeName(type),
                   page_header::kTypeOffset);
  }
  const uint32_t length = DecodeFixed32(page.data() + kPieceLengthOffset);
  if (length > kOverflowCapacity) {
    return Corrupt(id, "piece of " + std::to_string(length) + " bytes", kPieceLengthOffset);
  }
  const PageId next = DecodeFixed64(page.data() + kNextOffset);
  if (next == id || next == kMetaPageId) {
    return Corrupt(id, "bad next page " + std::to_string(next), kNextOffset);
  }
  return Status::OK();
}

Result<PageId> WriteOverflow(PageAllocator* allocator, std::string_view value) {
  if (value.size() > UINT32_MAX) {
    return Status::InvalidArgument("overflow value of " + std::to_string(value.size()) +
                                   " bytes exceeds 4 GiB");
  }
  const uint64_t pages = PagesFor(value.size());
  std::vector<PageId> allocated;
  allocated.reserve(pages);
  // Frees the pages allocated so far; the caller sees `status`. A page that
  // cannot be freed as well stays allocated and unreferenced, which the
  // store's Check reports as a leak: better than losing the first error.
  auto fail = [&](Status status) {
    for (PageId id : allocated) {
      if (!allocator->Free(id).ok()) {
        break;
      }
    }
    return status;
  };
  Result<WritePageGuard> current = allocator->Allocate(PageType::kOverflow);
  if (!current.ok()) {
    return current.status();
  }
  allocated.push_back(current->id());
  for (uint64_t k = 0; k < pages; ++k) {
    const std::string_view piece = value.substr(k * kOverflowCapacity, kOverflowCapacity);
    if (k + 1 == pages) {
      FillPage(*current, piece, kInvalidPageId);
      break;
    }
    // Invariant 2: the next page is allocated while this one is still
    // latched, so its id can be linked in before this page is let go.
    Result<WritePageGuard> next = allocator->Allocate(PageType::kOverflow);
    if (!next.ok()) {
      current->Release();
      return fail(next.status());
    }
    allocated.push_back(next->id());
    FillPage(*current, piece, next->id());
    current = std::move(next);
  }
  current->Release();
  return allocated.front();
}

Status ReadOverflow(BufferPool* pool, PageId first, uint32_t size, std::string* out) {
  const size_t old_size = out->size();
  out->reserve(old_size + std::min<size_t>(size, kMaxValueSize));
  Status status = WalkChain(pool, first, size, [out](PageId, std::span<const std::byte> piece) {
    out->append(reinterpret_cast<const char*>(piece.data()), piece.size());
  });
  if (!status.ok()) {
    out->resize(old_size);
  }
  return status;
}

Status FreeOverflow(BufferPool* pool, PageAllocator* allocator, PageId first) {
  std::vector<PageId> pages;
  MVDB_RETURN_IF_ERROR(
      WalkChain(pool, first, std::nullopt,
                [&pages](PageId id, std::span<const std::byte>) { pages.push_back(id); }));
  for (PageId id : pages) {
    MVDB_RETURN_IF_ERROR(allocator->Free(id));
  }
  return Status::OK();
}

Result<uint64_t> CheckOverflow(BufferPool* pool, PageId first, uint32_t size,
                               std::vector<PageId>* pages_seen) {
  uint64_t count = 0;
  MVDB_RETURN_IF_ERROR(
      WalkChain(pool, first, size, [&count, pages_seen](PageId id, std::span<const std::byte>) {
        ++count;
        if (pages_seen != nullptr) pages_seen->push_back(id);
      }));
  return count;
}

}  // namespace mvdb::btree
