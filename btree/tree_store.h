// TreeStore: a data file holding several named B+trees.
//
// It puts the layers together for one file: File -> PageStore -> BufferPool
// -> PageAllocator, plus the tree directory, a B+tree rooted at page 1 that
// maps each tree's name to its root page id. Root pages never move (a root
// split moves the root's content down, as SQLite does), so the directory
// changes only when a tree is created or dropped.
//
// Orderly close (Close, or destruction) writes back every dirty page and
// syncs, so a reopen sees everything. Surviving a crash is the WAL's job
// (wal/), not this class's.
//
// Threading: all methods may be called concurrently, except that Close and
// DropTree require that nobody is using the trees concerned.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "btree/btree.h"
#include "buffer/buffer_pool.h"
#include "buffer/page_allocator.h"
#include "io/file.h"
#include "mvdb/status.h"

namespace mvdb {

struct TreeStoreOptions {
  bool create_if_missing = true;
  size_t cache_pages = 4096;  // 32 MiB of 8 KiB pages
  size_t writeback_batch = 32;
};

// What TreeStore::Check found.
struct StoreCheckReport {
  uint64_t page_count = 0;
  uint64_t free_pages = 0;
  std::vector<std::pair<std::string, TreeCheckReport>> trees;
};

class TreeStore {
 public:
  // Opens (or creates) the data file at `path`. `fs` must outlive the store.
  static Result<std::unique_ptr<TreeStore>> Open(FileSystem* fs, const std::string& path,
                                                 const TreeStoreOptions& options);
  ~TreeStore();

  // InvalidArgument if the name is empty or exists already.
  Result<BTree*> CreateTree(std::string_view name);
  // NotFound if there is no such tree.
  Result<BTree*> OpenTree(std::string_view name);
  // Frees every page of the tree. NotFound if there is no such tree.
  // REQUIRES: no BTree* or cursor of it is in use.
  Status DropTree(std::string_view name);
  Result<std::vector<std::string>> ListTrees();

  // Writes back every dirty page and syncs.
  Status Flush();
  // Flush, then release the file. Further calls fail.
  Status Close();

  // Verifies every tree, the directory and the free list, and that every page
  // below page_count is used exactly once (by a tree, the free list or a
  // fixed page).
  Result<StoreCheckReport> Check();

  BufferPool* pool() { return pool_.get(); }
  PageAllocator* allocator() { return allocator_.get(); }

 private:
  TreeStore() = default;
  // The root page id the directory records for `name`, checked against the
  // file's size. REQUIRES: mu_ held.
  Result<PageId> RootOf(std::string_view name);

  std::unique_ptr<File> file_;
  std::unique_ptr<PageStore> page_store_;
  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<PageAllocator> allocator_;
  std::unique_ptr<BTree> directory_;
  std::mutex mu_;  // guards trees_
  std::map<std::string, std::unique_ptr<BTree>, std::less<>> trees_;
  bool closed_ = false;
};

}  // namespace mvdb
