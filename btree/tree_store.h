// TreeStore: a data file holding several named B+trees.
//
// It puts the layers together for one file: File -> CowPageStore ->
// BufferPool -> PageAllocator, plus the tree directory, a B+tree rooted at
// page 1 that maps each tree's name to its root page id. Root pages never
// move (a root split moves the root's content down, as SQLite does), so the
// directory changes only when a tree is created or dropped.
//
// Durability: the data file always holds a consistent checkpoint
// (buffer/cow_page_store.h). Opening gives exactly the newest durable
// checkpoint, whatever was written after it; Checkpoint makes the current
// state the newest. Orderly close (Close, or destruction) checkpoints. What
// happened after the last checkpoint is the WAL's to replay (wal/).
//
// Every modification of a tree holds checkpoint_gate() shared (BTree does
// so itself); the database facade holds it around a whole write batch so a
// checkpoint sees all of a batch or none of it.
//
// Threading: all methods may be called concurrently, except that Close and
// DropTree require that nobody is using the trees concerned. Lock order:
// the gate before the store's mutex.
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
#include "buffer/checkpoint_gate.h"
#include "buffer/cow_page_store.h"
#include "buffer/page_allocator.h"
#include "io/file.h"
#include "mvdb/status.h"

namespace mvdb {

struct TreeStoreOptions {
  bool create_if_missing = true;
  size_t cache_pages = 4096;  // 32 MiB of 8 KiB pages
  size_t writeback_batch = 32;
  // Read and write the data file with O_DIRECT (bypassing the OS page
  // cache, so the buffer pool is the only cache). Open fails with the
  // file system's error where O_DIRECT is refused (tmpfs).
  bool direct_io = false;
  // Open the data file for reading only (for checks of a database on
  // read-only media): a store opened so must only be read, then
  // Abandon()ed. A file without a checkpoint is then NotFound instead of
  // being formatted. Implies !create_if_missing.
  bool read_only = false;
};

// What TreeStore::Check found.
struct StoreCheckReport {
  uint64_t page_count = 0;
  uint64_t free_pages = 0;
  // The page map (CowPageStore::Verify passed).
  uint64_t checkpoint_number = 0;
  uint64_t mapped_pages = 0;
  uint64_t slot_count = 0;
  uint64_t free_slots = 0;
  std::vector<std::pair<std::string, TreeCheckReport>> trees;
};

class TreeStore {
 public:
  // Opens (or creates) the data file at `path`: the newest durable
  // checkpoint in it. `fs` must outlive the store.
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

  // Takes a checkpoint of every tree as of one moment while writers go on
  // (CowPageStore::Checkpoint); `lsn` is where recovery will replay the WAL
  // from. REQUIRES: the calling thread does not hold checkpoint_gate().
  Result<CheckpointResult> Checkpoint(uint64_t lsn);
  // The same with the LSN chosen under the gate and the log made durable
  // before the meta slot (CheckpointHooks): the database facade's checkpoint.
  // REQUIRES: the calling thread does not hold checkpoint_gate().
  Result<CheckpointResult> Checkpoint(const CheckpointHooks& hooks);
  // A checkpoint at the LSN of the last one (nothing to replay changed).
  Status Flush();
  // Flush, then release the file. Further calls fail.
  Status Close();
  // Releases the file without a checkpoint, leaving the newest durable one
  // as a crash would. For a database that failed: the trees may then hold
  // changes whose log records were never made durable, and no checkpoint
  // may capture them. Further calls fail.
  void Abandon();

  // Verifies every tree, the directory and the free list, that every page
  // below page_count is used exactly once (by a tree, the free list or a
  // fixed page), and the page map (CowPageStore::Verify).
  Result<StoreCheckReport> Check();

  BufferPool* pool() { return pool_.get(); }
  PageAllocator* allocator() { return allocator_.get(); }
  CowPageStore* page_store() { return page_store_.get(); }
  CheckpointGate* checkpoint_gate() { return &gate_; }

 private:
  TreeStore() = default;
  // The root page id the directory records for `name`, checked against the
  // file's size. REQUIRES: mu_ held.
  Result<PageId> RootOf(std::string_view name);
  // Marks the store closed and releases every layer. REQUIRES: mu_ held.
  void ReleaseLocked();

  std::unique_ptr<File> file_;
  std::unique_ptr<CowPageStore> page_store_;
  CheckpointGate gate_;  // outlives the trees, which hold it
  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<PageAllocator> allocator_;
  std::unique_ptr<BTree> directory_;
  std::mutex mu_;  // guards trees_
  std::map<std::string, std::unique_ptr<BTree>, std::less<>> trees_;
  bool closed_ = false;
};

}  // namespace mvdb
