// PageStore: the one place that decides where a page lives on disk.
//
// The buffer pool knows pages only by PageId. It reads them through
// PageStore::ReadPages and writes dirty ones back through
// PageStore::WritePages; nothing else in mvdb touches the data file. That
// keeps the mapping from page id to file location in one class, so the
// durability layer can replace the identity mapping below with a
// copy-on-write one (a page id -> location map where write-back never
// overwrites a location the last checkpoint still references) without
// changing the pool.
//
// Invariants every PageStore keeps:
//   1. A page handed to WritePages is sealed (checksum computed) on a private
//      copy made by the caller; the store may modify that copy's header.
//   2. ReadPages verifies every page (checksum, self id, version) before
//      returning OK; a page that fails is a Corruption naming the file, the
//      page id and its byte offset, and the buffer is not used.
//   3. A page id the file does not reach yet reads as an all-zero (free)
//      page: it was allocated but never written back.
//
// Threading: all methods may be called concurrently from many threads.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "buffer/page.h"
#include "io/file.h"
#include "mvdb/status.h"

namespace mvdb {

// A page image to write: `data` is kPageSize bytes owned by the caller.
struct PageWrite {
  PageId id = kInvalidPageId;
  std::span<std::byte> data;
  // The checkpoint epoch the image belongs to: the pool's epoch when the
  // page was first dirtied after its last write-back. A copy-on-write store
  // decides from it whether the image is owed to a checkpoint in progress
  // (cow_page_store.h); the direct store ignores it.
  uint64_t epoch = 0;
};

// A page to read into `data` (kPageSize bytes owned by the caller).
struct PageRead {
  PageId id = kInvalidPageId;
  std::span<std::byte> data;
  Status result;  // set by ReadPages for every request
};

class PageStore {
 public:
  virtual ~PageStore() = default;

  // Reads and verifies every page, as one batch where the file system can.
  // Returns the first failure; each request's `result` says how it went.
  virtual Status ReadPages(std::span<PageRead> pages) = 0;
  // Seals and writes every page, as one batch where the file system can.
  virtual Status WritePages(std::span<PageWrite> pages) = 0;
  // Makes every completed WritePages durable.
  virtual Status Sync() = 0;

  // The path of the file behind the store, for messages.
  virtual const std::string& path() const = 0;

  // Where page `id` lives, for messages: "<path>: page <id> at offset <n>".
  // Only the store knows the location, so the pool asks it when it reports a
  // page that failed a check of its own (the PageValidator). The default
  // names no offset.
  virtual std::string PageLocation(PageId id) const;
};

// The identity mapping: page id N lives at byte offset N * kPageSize of one
// file, and is overwritten in place. `file` must outlive the store.
std::unique_ptr<PageStore> NewDirectPageStore(File* file);

}  // namespace mvdb
