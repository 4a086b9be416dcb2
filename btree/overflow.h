// Overflow chains: values too large to share a leaf with other entries.
//
// A large value is cut into pieces stored in a singly linked chain of
// overflow pages (format in btree/node_format.md):
//   next u64 (kInvalidPageId at the end) | piece length u32 | piece bytes
// The leaf cell keeps the whole value's length and the first page's id, so a
// reader knows how many bytes to expect and checks the chain delivers
// exactly that many (a short or long chain is Corruption).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/page.h"
#include "mvdb/status.h"

namespace mvdb {
class BufferPool;
class PageAllocator;
}  // namespace mvdb

namespace mvdb::btree {

// Bytes of value one overflow page carries.
inline constexpr size_t kOverflowHeaderSize = 12;
inline constexpr size_t kOverflowCapacity = kPageSize - kPageHeaderSize - kOverflowHeaderSize;

// Stores `value` in a new chain and returns its first page. On failure frees
// whatever it allocated.
Result<PageId> WriteOverflow(PageAllocator* allocator, std::string_view value);
// Appends the chain's `size` bytes to *out.
Status ReadOverflow(BufferPool* pool, PageId first, uint32_t size, std::string* out);
// Frees every page of the chain.
Status FreeOverflow(BufferPool* pool, PageAllocator* allocator, PageId first);
// Counts the chain's pages, checking it carries exactly `size` bytes; for Check.
Result<uint64_t> CheckOverflow(BufferPool* pool, PageId first, uint32_t size,
                               std::vector<PageId>* pages_seen);

// Checks one overflow page's own fields (type, piece length within the page,
// a next link that is not the page itself): the part of a chain's checks that
// needs no other page, for a PageValidator.
Status ValidateOverflowPage(std::span<const std::byte> page, PageId id);

}  // namespace mvdb::btree
