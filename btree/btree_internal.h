// Internals shared by the files that implement BTree: btree.cc (lookups,
// inserts, splits), btree_delete.cc (deletes, unlinking empty nodes),
// cursor.cc and check.cc. Not part of any public interface.
//
// The latch protocol these follow is the essay at the top of btree.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btree/btree.h"
#include "btree/node.h"
#include "buffer/buffer_pool.h"
#include "buffer/page_allocator.h"
#include "mvdb/status.h"

namespace mvdb {

// Deeper than any tree of kPageSize pages and 1 KiB keys can grow; a deeper
// path is a cycle or garbage in the file.
inline constexpr uint32_t kMaxTreeHeight = 32;

// A leaf entry about to be stored: the value either inline or, when
// first_overflow is valid, in an overflow chain already written.
struct LeafCell {
  std::string_view key;
  std::string_view value;  // inline value; empty when in overflow pages
  uint32_t value_size = 0;
  PageId first_overflow = kInvalidPageId;

  bool overflow() const { return first_overflow != kInvalidPageId; }
  // Bytes the cell takes in a leaf, slot included.
  size_t SizeInLeaf() const;
};

// Inserts `cell` at slot i; false (changing nothing) when it does not fit.
bool InsertLeafCell(btree::Node* leaf, uint16_t i, const LeafCell& cell);
// Bytes leaf cell i takes, slot included.
size_t LeafCellSizeAt(const btree::ConstNode& leaf, uint16_t i);

// What a pessimistic descent prepares for, which decides when a node is safe
// (the change below it cannot reach it) and its ancestors can be released.
struct WriteIntent {
  bool insert = true;         // insert or replace; false: delete
  size_t leaf_cell_size = 0;  // insert: LeafCell::SizeInLeaf of the new cell
};

struct PendingInsert;  // btree.cc

struct BTree::Impl {
  Impl(BufferPool* pool_in, PageAllocator* allocator_in, PageId root_in, std::string name_in)
      : pool(pool_in), allocator(allocator_in), root(root_in), name(std::move(name_in)) {}

  BufferPool* const pool;
  PageAllocator* const allocator;
  const PageId root;
  const std::string name;

  // Levels from the root to the leaves (1: the root is a leaf); 0 until
  // first computed. Written only under the root's exclusive latch and read
  // under its latch, so a thread holding the root latch sees the height of
  // the tree it is about to descend.
  std::atomic<uint32_t> height{0};

  // Bumped, under the page's exclusive latch, every time a page leaves the
  // tree (an empty leaf or inner node unlinked, a root child pulled up).
  // A cursor that remembers a leaf id trusts it only while the epoch it saw
  // is unchanged (invariant 9 of the essay).
  std::atomic<uint64_t> free_epoch{0};

  // Hazard slots of the live cursors, and pages whose release waits for a
  // cursor to stop looking at them (invariant 10). Both under hazard_mu.
  std::mutex hazard_mu;
  std::vector<const std::atomic<PageId>*> hazards;
  std::vector<PageId> deferred_frees;

  // ---- helpers (btree.cc) ----
  // Corruption naming the data file, the page and what was wrong.
  Status Corrupt(PageId id, std::string_view what) const;
  // Corruption unless the page is a node of the expected kind.
  Status ExpectNode(std::span<const std::byte> page, PageId id, bool leaf) const;
  // The tree's height. REQUIRES: the caller holds the root latch (any mode)
  // and `root_page` is its bytes.
  Result<uint32_t> Height(std::span<const std::byte> root_page);
  // The child of inner node `guard` whose range holds `key`; Corruption if
  // the page is not an inner node or the pointer loops back.
  Result<PageId> InnerChildFor(const ReadPageGuard& guard, std::string_view key) const;
  // The leaf whose range holds `key`, latched shared: reached optimistically
  // down to its parent when it can (btree_get.cc), else by crabbing.
  Result<ReadPageGuard> FindLeafShared(std::string_view key);
  // Descends with shared latches all the way (invariant 4).
  Result<ReadPageGuard> FindLeafSharedLatched(std::string_view key);

  // ---- operations ----
  // Optimistic first (btree_get.cc), the latched path when that cannot
  // finish (a miss, an overflow value, a page that looks corrupt, or
  // writers that keep changing the path).
  Status GetSplit(std::string_view key, std::span<char> head, std::string* rest);
  Status GetSplitLatched(std::string_view key, std::span<char> head, std::string* rest);
  // With `only` (BTree::Insert): changes nothing when the key is present,
  // setting only->exists and copying its value into *only->existing.
  struct InsertOnly {
    bool exists = false;
    std::string* existing = nullptr;
  };
  Status Put(std::string_view key, std::string_view value, InsertOnly* only = nullptr);
  // BTree::InsertRun, the keys and values checked.
  Status InsertRun(std::span<const std::string_view> keys, std::span<const std::string_view> values,
                   size_t* done, std::string* existing);
  Status Delete(std::string_view key);  // btree_delete.cc

  // ---- page retirement (btree_delete.cc) ----
  // Frees pages that have left the tree (epoch already bumped), deferring
  // those a cursor may be about to latch.
  Status Retire(std::span<const PageId> ids);
  // Frees every deferred page no cursor is looking at any more.
  Status ReleaseDeferred();
  void AddHazard(const std::atomic<PageId>* slot);
  void RemoveHazard(const std::atomic<PageId>* slot);

 private:
  Status PutOptimistic(const LeafCell& cell, bool* stored, PageId* old_chain, InsertOnly* only);
  Status PutPessimistic(const LeafCell& cell, bool hold_all, bool* stored, bool* restart,
                        PageId* old_chain, InsertOnly* only);
  // Stores `cell` in `leaf` when it fits (replacing the key's old value;
  // with `only`, a present key is left alone and reported there).
  Status StoreInLeaf(WritePageGuard* leaf, const LeafCell& cell, bool* stored, PageId* old_chain,
                     InsertOnly* only);
  // A page for a split: a reserved one, or a new one when none is left.
  Result<WritePageGuard> TakeSpare(std::vector<WritePageGuard>* spares);
  // Inserts `cell` into path.back(), splitting nodes up the path (and the
  // root, if it is path[0]) as needed. Pages taken from `spares` stay
  // latched in `used` until the caller releases everything.
  Status SplitAndInsert(std::vector<WritePageGuard>* path, WritePageGuard* right_sibling,
                        std::vector<WritePageGuard>* spares, std::vector<WritePageGuard>* used,
                        const LeafCell& cell, PageId* old_chain);
  Status SplitRoot(WritePageGuard* root_guard, const PendingInsert& item,
                   std::vector<WritePageGuard>* spares, std::vector<WritePageGuard>* used);
  enum class Attempt { kDone, kRestart, kLatched };
  // Reads optimistically from the root down to the node `stop_level` levels
  // above the leaves (1: the leaf) on the way to `key`: *page is that node,
  // each page above it validated after its child's version was taken, the
  // node itself not yet validated. kDone when it got there.
  Attempt DescendOptimistic(std::string_view key, uint32_t stop_level, OptimisticPage* page,
                            PageId* id, uint32_t* levels);
  // Below a parent read optimistically: the child for `key` (unvalidated).
  Attempt OptimisticChild(const OptimisticPage& parent, PageId parent_id, std::string_view key,
                          PageId* child) const;
  Attempt FindLeafSharedOptimistic(std::string_view key, ReadPageGuard* leaf, Status* status);
  Attempt FindLeafExclusiveOptimistic(std::string_view key, WritePageGuard* leaf, Status* status);
  // One optimistic attempt at GetSplit; *status is set when kDone.
  Attempt GetOptimistic(std::string_view key, std::span<char> head, std::string* rest,
                        Status* status);
  Status DeleteOptimistic(std::string_view key, bool* done, PageId* old_chain);
  Status DeletePessimistic(std::string_view key, PageId* old_chain);
  Status PullUpRoot();
  // Exclusive latch on the leaf for `key`: optimistic down to the leaf's
  // parent, which is then latched shared while the leaf is latched
  // (btree_get.cc); or, when that cannot finish, by crabbing with shared
  // latches above the leaf.
  Result<WritePageGuard> FindLeafExclusive(std::string_view key);
  Result<WritePageGuard> FindLeafExclusiveLatched(std::string_view key);
  // Exclusive latches from the root down to the leaf for `key`, releasing
  // the ancestors of every node that is safe for `intent` (none released
  // when hold_all). path[0] is the highest node kept, path.back() the leaf.
  Status DescendExclusive(std::string_view key, const WriteIntent& intent, bool hold_all,
                          std::vector<WritePageGuard>* path);
  bool IsSafe(const btree::ConstNode& node, PageId id, std::string_view key,
              const WriteIntent& intent) const;
};

}  // namespace mvdb
