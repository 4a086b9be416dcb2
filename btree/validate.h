// The buffer pool's page validator for files holding B+trees.
//
// TreeStore::Open installs ValidatePage as BufferPoolOptions::validator, so
// every page is checked once, when it enters the cache, after its checksum
// passed. The tree code can then use its views without re-checking bounds;
// what it still checks on every access is the page type it expects.
#pragma once

#include <cstddef>
#include <span>

#include "buffer/page.h"
#include "mvdb/status.h"

namespace mvdb::btree {

// Leaf and inner pages: ValidateNode. Overflow pages: ValidateOverflowPage
// (piece length within the page, no link to itself). Other types: OK (the
// allocator checks its own pages). A PageValidator (buffer_pool.h).
Status ValidatePage(std::span<const std::byte> page, PageId id);

}  // namespace mvdb::btree
