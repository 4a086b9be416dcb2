// The B+tree: lookups, inserts and splits, and the latch protocol that lets
// many threads use one tree at once. Deletes are in btree_delete.cc, cursors
// in cursor.cc, Check/Clear/Destroy in check.cc; all follow this essay.
//
// Latch protocol
// ==============
//
// Every page is reached through the buffer pool and changed only under its
// exclusive latch; it is read under its latch (shared or exclusive) or, by
// point lookups, optimistically with no latch at all (invariant 11); see
// buffer_pool.h. There is no tree-wide lock. The invariants, and why they
// hold:
//
//  1. Shape. All leaves are at the same depth; `height` (levels, 1 when the
//     root is a leaf) changes only under the root's exclusive latch (root
//     split, root collapse, pull-up) and is read under the root's latch, so
//     a thread that latched the root knows how many levels it will descend
//     and checks every page on the way has the expected type: an inner page
//     above the last level, a leaf at it. Anything else (a leaf where an
//     inner node belongs, a free page reached from a tree) is Corruption
//     naming the page, never a crash.
//
//  2. The root page never moves. A root split copies the root's body into a
//     new left child, moves the upper half of it to a new right child and
//     turns the root into an inner node with one separator (SQLite's way),
//     so the directory's root ids stay valid forever.
//
//  3. Latch order. Tree pages are ordered by depth, then left to right
//     within a depth; overflow pages of a leaf cell come after every tree
//     page, and the allocator's pages (meta page, free-list trunks) after
//     everything. A thread blocks on a latch only when that latch comes
//     after every latch it holds: parent before child, left before right,
//     leaf before its overflow chain. Against the order a thread may only
//     try (BufferPool::TryFetchWrite, which never waits) and must give up
//     when the try fails. A cycle of waiting threads would need some thread
//     to wait for a latch ordered before one it holds, so there is none:
//     the protocol cannot deadlock. Fresh pages (just allocated, reachable
//     from nowhere yet) are outside the order: nobody else can wait on them.
//
//  4. Latched readers crab. A cursor, and Get's latched path, reach a leaf
//     through FindLeafShared: optimistic down to the leaf's parent
//     (invariant 11); when that cannot finish, FindLeafSharedLatched
//     latches the root shared, then each child shared before releasing
//     its parent. A leaf's right sibling is latched before the leaf is
//     released. Prev across a leaf boundary never latches
//     right to left: it descends again from the root for the last key below
//     the leaf's first key (cursor.cc). A cursor reading copies of leaves
//     (CursorMode::kLeafCopy) holds no latch while it moves inside a copy
//     and reaches the next leaf through the copy's sibling link, trusted
//     only as a remembered leaf is (9, 10).
//
//  5. No half-made split is visible. A split changes, under exclusive
//     latches held from the first change to the last, every page whose
//     bytes change: the node split, its new right half, the old right
//     sibling (whose prev link now names the new page) and the parent
//     receiving the separator. A reader reaches a node only by crabbing
//     from its parent or its left sibling, whose latch it holds while
//     latching the node; so it sees the parent and child (or the two
//     siblings) either both before or both after the split, and a new page
//     only once it is complete.
//
//  6. Writers are optimistic first. Put and Delete read down to the leaf's
//     parent optimistically (invariant 11), latch the parent shared and
//     check it is still the image they read, and latch the leaf
//     exclusively under it (as crabbing would; when the optimistic part
//     cannot finish they crab down with shared latches). When the
//     change stays inside the leaf (the cell fits; the leaf keeps at least
//     one entry) that is all. Otherwise they release everything and descend
//     again with exclusive latches, releasing every ancestor as soon as the
//     current node is safe: for an insert, it has room for one more cell of
//     the largest possible size; for a delete, it keeps at least one child
//     or entry. The latches kept are exactly those a split or an unlink
//     may touch. When a node judged safe turns out not to be (a leaf with
//     less room than estimated), nothing has changed yet and the operation
//     restarts holding every latch from the root. InsertRun (a run of keys
//     in increasing order) keeps the leaf it reached latched for the next
//     keys while they provably belong to it (btree_insert_run.cc) and fit;
//     it holds no other latch meanwhile, and releases the leaf before any
//     other path (a split, an overflow chain, a key out of order).
//
//  7. Splits cannot fail halfway. Before the first byte changes, a
//     pessimistic insert allocates one page for every node that may split
//     (two for the root) and latches the leaf's right sibling; what is left
//     over is freed afterwards. Overflow chains are written before any
//     latch is taken and freed after every latch is released, which is safe
//     because a reader holds the leaf's latch while reading a chain.
//
//  8. Deletes free at empty (Johnson and Shasha). A leaf whose last entry is
//     deleted is unlinked from its parent and both siblings and its page is
//     freed; an inner node left without children goes the same way, up to
//     the root, which then becomes an empty leaf again. A root left with a
//     single child pulls that child's body up (height shrinks). Unlinking
//     needs the left sibling's latch against the order, so it is taken with
//     TryFetchWrite; when that is busy the unlink is given up and the empty
//     leaf stays in place. An empty leaf is a legal node: readers skip it,
//     inserts in its key range fill it, and it is unlinked when it empties
//     again. Underfull leaves are not merged: space is reused by inserts in
//     their range, and a drained tree gives every page back.
//
//  9. Page reuse is visible to cursors. A cursor holds no latch between
//     calls, only a copy of its entry and the leaf id it came from. Every
//     page leaves the tree with `free_epoch` bumped while its exclusive
//     latch is held. A cursor trusts its remembered leaf only if the epoch,
//     read after latching that leaf, equals the one it read when it was
//     positioned: a change means the leaf may have been freed, and the
//     cursor seeks again from its key instead.
//
// 10. Freed pages are never latched. A cursor publishes the leaf id in its
//     hazard slot before checking the epoch and keeps it until it releases
//     the latch. A page that left the tree is freed only once no hazard
//     slot names it (otherwise it waits in `deferred_frees`); since the
//     freer bumps the epoch before scanning the slots, either it sees the
//     hazard or the cursor sees the new epoch (both are seq_cst). So no
//     cursor ever latches a page while it is free or reused elsewhere.
//     An optimistic descent (invariant 11) may latch a page shared that
//     has just left the tree: it then holds no other latch, finds the
//     parent it came from changed, and lets the page go untouched.
//
// 11. Lookups are optimistic (btree_get.cc; optimistic lock coupling, Leis
//     et al.). Get and GetSplit take no latch, pin or lock on a pool hit:
//     BufferPool::ReadOptimistic hands out a frame's bytes and its version,
//     which is odd while a write guard on it is alive and moves to a new
//     value on every change, eviction, Discard or reuse (buffer_pool.h,
//     invariant 6). Writers are unchanged: they hold exclusive latches, and
//     a write guard's lifetime is what bumps the version.
//     What is read optimistically: in the root and each inner node the type
//     byte, slot count, prefix size, the hints and keys the binary search
//     touches and the chosen child pointer; the tree's `height`, which is
//     stored only under the root's exclusive latch, so while the root's
//     version is odd; in the leaf the same search, then the cell's flags,
//     value length and value bytes (copied into the caller's buffers).
//     What is validated when: a child's version is taken before its parent
//     is validated, so an unchanged parent proves the child pointer was
//     current when the child's version was read; from then on every change
//     to the child (a split, an unlink, its eviction and reuse for another
//     page) moves that version. The leaf is validated after the value was
//     copied and before anything is returned, NotFound included. The root
//     is validated as a parent (or as the leaf), which also proves `height`.
//     Any failed validation restarts the lookup from the root.
//     Why a torn read is never returned and never crashes the reader: every
//     byte is read with atomic word loads through buffer/page_access.h, and
//     every writer of cached page bytes (nodes, overflow pages, the
//     allocator's pages, page headers, loads into frames) stores through the
//     same layer, so overlapping a writer is no data race. Every offset and
//     length decoded from an unvalidated page is bounded before use
//     (btree::OptimisticNode: the slot array inside the page, each cell's
//     key inside the page and at most kMaxKeySize, an inline value inside
//     the page); the descent takes at most `height` <= kMaxTreeHeight steps
//     and a binary search ends whatever it reads. So a torn page can lead
//     the reader to a wrong child or a wrong answer, never outside pool
//     memory (frames are never unmapped) and never into an endless loop,
//     and the final validation then fails. A bounds check that fails on a
//     page that still validates means the page is corrupt.
//     Descents for writers and cursors (FindLeafExclusive, FindLeafShared)
//     are optimistic down to the leaf's parent. A cursor then latches the
//     leaf shared while holding nothing and validates the parent: if it is
//     unchanged the leaf was its child at that moment and the leaf latch
//     keeps it so (splits and unlinks need it exclusively). A writer may
//     not take a write guard (which marks the page dirty) on a page that
//     may have left the tree, so it latches the parent shared, checks the
//     version is the one it read (the latch freezes it), and crabs.
//     What is left to the latched descents (FindLeafSharedLatched,
//     FindLeafExclusiveLatched): a miss (it loads
//     the page), a value in overflow pages (read under the leaf latch,
//     invariant 7), a page that looks malformed yet validated (the latched
//     path reports Corruption naming the file and page), a tree whose
//     height is not known yet, and a lookup that writers made restart 16
//     times (it then waits on the latches, so it always finishes).
#include "btree/btree.h"

#include <algorithm>
#include <string>
#include <utility>

#include "btree/btree_internal.h"
#include "btree/node.h"
#include "btree/overflow.h"
#include "buffer/checkpoint_gate.h"
#include "buffer/page_access.h"

namespace mvdb {

using btree::ConstNode;
using btree::Node;

size_t LeafCell::SizeInLeaf() const {
  return overflow() ? btree::OverflowLeafCellSize(key.size())
                    : btree::LeafCellSize(key.size(), value.size());
}

bool InsertLeafCell(Node* leaf, uint16_t i, const LeafCell& cell) {
  return cell.overflow()
             ? leaf->InsertLeafOverflow(i, cell.key, cell.value_size, cell.first_overflow)
             : leaf->InsertLeaf(i, cell.key, cell.value);
}

size_t LeafCellSizeAt(const ConstNode& leaf, uint16_t i) {
  const size_t key_size = leaf.key(i).size();
  return leaf.is_overflow(i) ? btree::OverflowLeafCellSize(key_size)
                             : btree::LeafCellSize(key_size, leaf.value_size(i));
}

// An entry waiting to be inserted while splits propagate upwards: the leaf
// cell at the bottom, then a separator and the new right node it leads to.
struct PendingInsert {
  bool leaf = true;
  LeafCell cell;
  std::string separator;
  PageId child = kInvalidPageId;

  std::string_view key() const {
    if (leaf) {
      return cell.key;
    }
    return separator;
  }
};

namespace {

bool InsertPending(Node* node, const PendingInsert& item) {
  bool exact = false;
  const uint16_t i = node->LowerBound(item.key(), &exact);
  if (exact) {
    return false;  // the old cell was removed first; separators are unique
  }
  return item.leaf ? InsertLeafCell(node, i, item.cell)
                   : node->InsertInner(i, item.separator, item.child);
}

// Moves the upper half of `left` into the empty page `right`, links leaves
// (and the old right sibling, if latched) and returns the separator.
// `incoming` is the key the split makes room for: one past every key of the
// node (an insert in key order — a sequential load, increasing ids) splits
// off only the last cell, so the left page stays full instead of half empty
// for good (SQLite's balance_quick, PostgreSQL's rightmost-page split).
std::string SplitNode(Node* left, PageId left_id, Node* right, PageId right_id,
                      WritePageGuard* right_sibling, std::string_view incoming) {
  const bool leaf = left->is_leaf();
  if (leaf) {
    right->InitLeaf();
  } else {
    right->InitInner(kInvalidPageId);
  }
  const PageId next = leaf ? left->next_leaf() : kInvalidPageId;
  const uint16_t count = left->size();
  uint16_t from = left->SplitPoint();
  if (count >= (leaf ? 2 : 3) && left->key(count - 1) < incoming) {
    from = leaf ? count - 1 : count - 2;  // leaf: the last cell moves; inner: it and one goes up
  }
  std::string separator = left->MoveUpperHalfTo(from, right);
  if (leaf) {
    right->set_prev_leaf(left_id);
    right->set_next_leaf(next);
    left->set_next_leaf(right_id);
    if (right_sibling != nullptr && right_sibling->valid()) {
      Node(right_sibling->mutable_data()).set_prev_leaf(right_id);
    }
  }
  return separator;
}

}  // namespace

// ---- helpers ----

Status BTree::Impl::Corrupt(PageId id, std::string_view what) const {
  return Status::Corruption(pool->store()->path() + ": page " + std::to_string(id) + " at offset " +
                            std::to_string(id * kPageSize) + " (tree '" + name +
                            "'): " + std::string(what));
}

Status BTree::Impl::ExpectNode(std::span<const std::byte> page, PageId id, bool leaf) const {
  const PageType want = leaf ? PageType::kBTreeLeaf : PageType::kBTreeInner;
  const PageType got = ConstPageView(page).type();
  if (got == want) [[likely]] {
    return Status::OK();
  }
  return Corrupt(
      id, std::string("expected a ") + PageTypeName(want) + " page, found " + PageTypeName(got));
}

Result<uint32_t> BTree::Impl::Height(std::span<const std::byte> root_page) {
  const uint32_t known = height.load(std::memory_order_acquire);
  if (known != 0) {
    return known;
  }
  // Walk the leftmost path; the caller's root latch keeps the height still.
  uint32_t levels = 1;
  ReadPageGuard guard;
  std::span<const std::byte> page = root_page;
  PageId id = root;
  for (;;) {
    const PageType type = ConstPageView(page).type();
    if (type == PageType::kBTreeLeaf) {
      break;
    }
    MVDB_RETURN_IF_ERROR(ExpectNode(page, id, /*leaf=*/false));
    if (levels >= kMaxTreeHeight) {
      return Corrupt(id, "tree deeper than any valid tree");
    }
    const PageId child = ConstNode(page).leftmost_child();
    if (child == root || child == id) {
      return Corrupt(id, "child pointer loops back");
    }
    MVDB_ASSIGN_OR_RETURN(ReadPageGuard next, pool->FetchRead(child));
    guard = std::move(next);
    page = guard.data();
    id = child;
    ++levels;
  }
  height.store(levels, std::memory_order_release);
  return levels;
}

Result<PageId> BTree::Impl::InnerChildFor(const ReadPageGuard& guard, std::string_view key) const {
  MVDB_RETURN_IF_ERROR(ExpectNode(guard.data(), guard.id(), /*leaf=*/false));
  const PageId child = ConstNode(guard.data()).ChildFor(key);
  if (child == guard.id() || child == root) {
    return Corrupt(guard.id(), "child pointer loops back");
  }
  return child;
}

Result<ReadPageGuard> BTree::Impl::FindLeafSharedLatched(std::string_view key) {
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, pool->FetchRead(root));
  MVDB_ASSIGN_OR_RETURN(const uint32_t levels, Height(guard.data()));
  for (uint32_t level = levels; level > 1; --level) {
    MVDB_ASSIGN_OR_RETURN(const PageId child, InnerChildFor(guard, key));
    MVDB_ASSIGN_OR_RETURN(ReadPageGuard next, pool->FetchRead(child));
    guard = std::move(next);
  }
  MVDB_RETURN_IF_ERROR(ExpectNode(guard.data(), guard.id(), /*leaf=*/true));
  return Result<ReadPageGuard>(std::move(guard));
}

Result<WritePageGuard> BTree::Impl::FindLeafExclusiveLatched(std::string_view key) {
  for (;;) {
    MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, pool->FetchRead(root));
    MVDB_ASSIGN_OR_RETURN(const uint32_t levels, Height(guard.data()));
    if (levels == 1) {
      // The root is the leaf: latch it again, exclusively, and make sure it
      // did not split in between.
      guard.Release();
      MVDB_ASSIGN_OR_RETURN(WritePageGuard leaf, pool->FetchWrite(root));
      MVDB_ASSIGN_OR_RETURN(const uint32_t now, Height(leaf.data()));
      if (now != 1) {
        continue;
      }
      MVDB_RETURN_IF_ERROR(ExpectNode(leaf.data(), root, /*leaf=*/true));
      return Result<WritePageGuard>(std::move(leaf));
    }
    for (uint32_t level = levels; level > 2; --level) {
      MVDB_ASSIGN_OR_RETURN(const PageId child, InnerChildFor(guard, key));
      MVDB_ASSIGN_OR_RETURN(ReadPageGuard next, pool->FetchRead(child));
      guard = std::move(next);
    }
    MVDB_ASSIGN_OR_RETURN(const PageId child, InnerChildFor(guard, key));
    MVDB_ASSIGN_OR_RETURN(WritePageGuard leaf, pool->FetchWrite(child));
    guard.Release();
    MVDB_RETURN_IF_ERROR(ExpectNode(leaf.data(), child, /*leaf=*/true));
    return Result<WritePageGuard>(std::move(leaf));
  }
}

bool BTree::Impl::IsSafe(const ConstNode& node, PageId id, std::string_view key,
                         const WriteIntent& intent) const {
  if (intent.insert) {
    if (!node.is_leaf()) {
      return node.FreeSpace() >= btree::InnerCellSize(kMaxKeySize);
    }
    bool exact = false;
    const uint16_t i = node.LowerBound(key, &exact);
    const size_t room = node.FreeSpace() + (exact ? LeafCellSizeAt(node, i) : 0);
    return room >= intent.leaf_cell_size;
  }
  if (!node.is_leaf()) {
    return node.size() >= 1;  // keeps a child after losing one
  }
  if (id == root) {
    return true;  // the root is never unlinked
  }
  bool exact = false;
  node.LowerBound(key, &exact);
  return !exact || node.size() >= 2;
}

Status BTree::Impl::DescendExclusive(std::string_view key, const WriteIntent& intent, bool hold_all,
                                     std::vector<WritePageGuard>* path) {
  path->clear();
  MVDB_ASSIGN_OR_RETURN(WritePageGuard top, pool->FetchWrite(root));
  MVDB_ASSIGN_OR_RETURN(const uint32_t levels, Height(top.data()));
  path->push_back(std::move(top));
  for (uint32_t level = levels;; --level) {
    const PageId id = path->back().id();
    MVDB_RETURN_IF_ERROR(ExpectNode(path->back().data(), id, /*leaf=*/level == 1));
    const ConstNode node(path->back().data());
    if (!hold_all && path->size() > 1 && IsSafe(node, id, key, intent)) {
      path->erase(path->begin(), path->end() - 1);  // releases the ancestors
    }
    if (level == 1) {
      return Status::OK();
    }
    const PageId child = node.ChildFor(key);
    for (const WritePageGuard& held : *path) {
      if (held.id() == child) {
        return Corrupt(id, "child pointer loops back");
      }
    }
    if (child == root) {
      return Corrupt(id, "child pointer loops back");
    }
    MVDB_ASSIGN_OR_RETURN(WritePageGuard next, pool->FetchWrite(child));
    path->push_back(std::move(next));
  }
}

Result<WritePageGuard> BTree::Impl::TakeSpare(std::vector<WritePageGuard>* spares) {
  if (spares->empty()) {
    // Only when a node had less room than it reported; allocating under
    // tree latches is within the order (invariant 3), just unplanned.
    MVDB_ASSIGN_OR_RETURN(WritePageGuard fresh, allocator->Allocate(PageType::kBTreeLeaf));
    Node(fresh.mutable_data()).InitLeaf();
    return Result<WritePageGuard>(std::move(fresh));
  }
  WritePageGuard fresh = std::move(spares->back());
  spares->pop_back();
  return Result<WritePageGuard>(std::move(fresh));
}

// ---- Get (the latched path; the optimistic one is in btree_get.cc) ----

Status BTree::Impl::GetSplitLatched(std::string_view key, std::span<char> head, std::string* rest) {
  MVDB_ASSIGN_OR_RETURN(const ReadPageGuard leaf, FindLeafShared(key));
  const ConstNode node(leaf.data());
  bool exact = false;
  const uint16_t i = node.LowerBound(key, &exact);
  if (!exact) {
    return Status::NotFound("no such key");
  }
  if (node.value_size(i) < head.size()) {
    return Corrupt(leaf.id(), "value of " + std::to_string(node.value_size(i)) +
                                  " bytes is shorter than its " + std::to_string(head.size()) +
                                  "-byte header");
  }
  if (node.is_overflow(i)) {
    // Read under the leaf latch: a writer frees a chain only after it
    // removed the cell under the exclusive latch (invariant 7). Large values
    // are rare; the header is cut off the chain's copy.
    rest->clear();
    MVDB_RETURN_IF_ERROR(
        btree::ReadOverflow(pool, node.overflow_page(i), node.value_size(i), rest));
    std::copy_n(rest->data(), head.size(), head.data());
    rest->erase(0, head.size());
    return Status::OK();
  }
  const std::string_view inline_value = node.inline_value(i);
  std::copy_n(inline_value.data(), head.size(), head.data());
  rest->assign(inline_value.data() + head.size(), inline_value.size() - head.size());
  return Status::OK();
}

// ---- Put ----

Status BTree::Impl::StoreInLeaf(WritePageGuard* guard, const LeafCell& cell, bool* stored,
                                PageId* old_chain, InsertOnly* only) {
  *stored = false;
  Node leaf(guard->mutable_data());
  bool exact = false;
  const uint16_t i = leaf.LowerBound(cell.key, &exact);
  if (exact && only != nullptr) {
    only->exists = true;
    if (!leaf.is_overflow(i)) {
      only->existing->assign(leaf.inline_value(i));
      return Status::OK();
    }
    // Under the latch, as GetSplitLatched reads a chain (invariant 7).
    only->existing->clear();
    return btree::ReadOverflow(pool, leaf.overflow_page(i), leaf.value_size(i), only->existing);
  }
  const size_t room = leaf.FreeSpace() + (exact ? LeafCellSizeAt(leaf, i) : 0);
  if (room < cell.SizeInLeaf()) {
    return Status::OK();
  }
  if (!exact) {
    *stored = InsertLeafCell(&leaf, i, cell);
    return Status::OK();
  }
  // Keep the old cell, to put it back if the new one does not fit after all.
  LeafCell old{cell.key,
               {},
               leaf.value_size(i),
               leaf.is_overflow(i) ? leaf.overflow_page(i) : kInvalidPageId};
  std::string old_value;
  if (!old.overflow()) {
    old_value.assign(leaf.inline_value(i));
    old.value = old_value;
  }
  leaf.Remove(i);
  if (InsertLeafCell(&leaf, i, cell)) {
    *stored = true;
    *old_chain = old.first_overflow;
    return Status::OK();
  }
  if (!InsertLeafCell(&leaf, i, old)) {
    return Corrupt(guard->id(), "leaf has less room than it reports");
  }
  return Status::OK();
}

Status BTree::Impl::PutOptimistic(const LeafCell& cell, bool* stored, PageId* old_chain,
                                  InsertOnly* only) {
  MVDB_ASSIGN_OR_RETURN(WritePageGuard leaf, FindLeafExclusive(cell.key));
  return StoreInLeaf(&leaf, cell, stored, old_chain, only);
}

Status BTree::Impl::SplitRoot(WritePageGuard* root_guard, const PendingInsert& item,
                              std::vector<WritePageGuard>* spares,
                              std::vector<WritePageGuard>* used) {
  MVDB_ASSIGN_OR_RETURN(WritePageGuard left_guard, TakeSpare(spares));
  MVDB_ASSIGN_OR_RETURN(WritePageGuard right_guard, TakeSpare(spares));
  // The root's body moves to the left child; the root's page stays put.
  const std::span<const std::byte> from = root_guard->data();
  const std::span<std::byte> to = left_guard.mutable_data();
  page_access::CopyIn(to.data(), kPageHeaderSize, from.data() + kPageHeaderSize,
                      kPageSize - kPageHeaderSize);
  left_guard.mutable_view().set_type(root_guard->view().type());
  Node left(to);
  Node right(right_guard.mutable_data());
  const std::string separator = SplitNode(&left, left_guard.id(), &right, right_guard.id(),
                                          /*right_sibling=*/nullptr, item.key());
  if (left.is_leaf()) {
    left.set_prev_leaf(kInvalidPageId);
    right.set_next_leaf(kInvalidPageId);
  }
  Node new_root(root_guard->mutable_data());
  new_root.InitInner(left_guard.id());
  if (!new_root.InsertInner(0, separator, right_guard.id())) {
    return Corrupt(root, "a fresh root has no room for one separator");
  }
  height.store(height.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  Node* target = item.key() < separator ? &left : &right;
  if (!InsertPending(target, item)) {
    return Corrupt(root, "no room for a key after a root split");
  }
  used->push_back(std::move(left_guard));
  used->push_back(std::move(right_guard));
  return Status::OK();
}

Status BTree::Impl::SplitAndInsert(std::vector<WritePageGuard>* path, WritePageGuard* right_sibling,
                                   std::vector<WritePageGuard>* spares,
                                   std::vector<WritePageGuard>* used, const LeafCell& cell,
                                   PageId* old_chain) {
  PendingInsert item;
  item.cell = cell;
  PageId replaced_chain = kInvalidPageId;
  {
    Node leaf(path->back().mutable_data());
    bool exact = false;
    const uint16_t i = leaf.LowerBound(cell.key, &exact);
    if (exact) {
      replaced_chain = leaf.is_overflow(i) ? leaf.overflow_page(i) : kInvalidPageId;
      leaf.Remove(i);
    }
  }
  for (size_t level = path->size(); level-- > 0;) {
    WritePageGuard& guard = (*path)[level];
    Node node(guard.mutable_data());
    if (InsertPending(&node, item)) {
      *old_chain = replaced_chain;
      return Status::OK();
    }
    if (guard.id() == root) {
      MVDB_RETURN_IF_ERROR(SplitRoot(&guard, item, spares, used));
      *old_chain = replaced_chain;
      return Status::OK();
    }
    if (level == 0) {
      return Corrupt(guard.id(), "inner node has less room than it reports");
    }
    MVDB_ASSIGN_OR_RETURN(WritePageGuard fresh, TakeSpare(spares));
    Node right(fresh.mutable_data());
    std::string separator =
        SplitNode(&node, guard.id(), &right, fresh.id(),
                  level + 1 == path->size() ? right_sibling : nullptr, item.key());
    Node* target = item.key() < separator ? &node : &right;
    if (!InsertPending(target, item)) {
      return Corrupt(guard.id(), "no room for a key after a split");
    }
    item.leaf = false;
    item.separator = std::move(separator);
    item.child = fresh.id();
    used->push_back(std::move(fresh));
  }
  return Corrupt(root, "split ran past the root");
}

Status BTree::Impl::PutPessimistic(const LeafCell& cell, bool hold_all, bool* stored, bool* restart,
                                   PageId* old_chain, InsertOnly* only) {
  *restart = false;
  const WriteIntent intent{/*insert=*/true, cell.SizeInLeaf()};
  std::vector<WritePageGuard> path;
  MVDB_RETURN_IF_ERROR(DescendExclusive(cell.key, intent, hold_all, &path));
  MVDB_RETURN_IF_ERROR(StoreInLeaf(&path.back(), cell, stored, old_chain, only));
  if (*stored || (only != nullptr && only->exists)) {
    return Status::OK();
  }
  const bool leaf_is_root = path.back().id() == root;
  if (path.size() == 1 && !leaf_is_root) {
    *restart = true;  // judged safe, yet no room: nothing changed, retry holding all
    return Status::OK();
  }

  // Phase 1: everything that may fail, before the first byte changes.
  size_t needed = 0;
  for (size_t level = path.size(); level-- > 0;) {
    const bool may_split = level + 1 == path.size() || !IsSafe(ConstNode(path[level].data()),
                                                               path[level].id(), cell.key, intent);
    if (!may_split) {
      break;
    }
    needed += path[level].id() == root ? 2 : 1;
  }
  std::vector<WritePageGuard> spares;
  Status status;
  while (status.ok() && spares.size() < needed) {
    Result<WritePageGuard> fresh = allocator->Allocate(PageType::kBTreeLeaf);
    if (!fresh.ok()) {
      status = fresh.status();
      break;
    }
    Node(fresh->mutable_data()).InitLeaf();  // a valid node, should it be freed unused
    spares.push_back(std::move(*fresh));
  }
  WritePageGuard right_sibling;
  const PageId right = leaf_is_root ? kInvalidPageId : ConstNode(path.back().data()).next_leaf();
  if (status.ok() && right != kInvalidPageId) {
    Result<WritePageGuard> sibling = pool->FetchWrite(right);
    if (!sibling.ok()) {
      status = sibling.status();
    } else {
      right_sibling = std::move(*sibling);
      status = ExpectNode(right_sibling.data(), right, /*leaf=*/true);
      if (status.ok() && ConstNode(right_sibling.data()).prev_leaf() != path.back().id()) {
        status = Corrupt(
            right, "prev link does not name its left sibling " + std::to_string(path.back().id()));
      }
    }
  }

  // Phase 2: the changes.
  std::vector<WritePageGuard> used;
  if (status.ok()) {
    status = SplitAndInsert(&path, &right_sibling, &spares, &used, cell, old_chain);
    *stored = status.ok();
  }
  path.clear();
  right_sibling.Release();
  used.clear();
  for (WritePageGuard& spare : spares) {
    const PageId id = spare.id();
    spare.Release();
    const Status freed = allocator->Free(id);
    if (status.ok()) {
      status = freed;
    }
  }
  return status;
}

Status BTree::Impl::Put(std::string_view key, std::string_view value, InsertOnly* only) {
  LeafCell cell{key, value, static_cast<uint32_t>(value.size()), kInvalidPageId};
  if (btree::NeedsOverflow(key.size(), value.size())) {
    MVDB_ASSIGN_OR_RETURN(cell.first_overflow, btree::WriteOverflow(allocator, value));
    cell.value = {};
  }
  bool stored = false;
  bool restart = false;
  PageId old_chain = kInvalidPageId;
  const auto present = [only] { return only != nullptr && only->exists; };
  Status status = PutOptimistic(cell, &stored, &old_chain, only);
  if (status.ok() && !stored && !present()) {
    status = PutPessimistic(cell, /*hold_all=*/false, &stored, &restart, &old_chain, only);
  }
  if (status.ok() && !stored && !present() && restart) {
    status = PutPessimistic(cell, /*hold_all=*/true, &stored, &restart, &old_chain, only);
  }
  if (status.ok() && !stored && !present()) {
    status = Corrupt(root, "no room for a cell even holding every latch");
  }
  if (!stored) {
    if (cell.overflow()) {
      // The chain is referenced by nothing; the first error is the one to report.
      (void)btree::FreeOverflow(pool, allocator, cell.first_overflow);
    }
    return status;
  }
  // Freed after every latch is released (invariant 7); the cell is stored
  // whatever happens here, so an error only leaks the old chain.
  if (old_chain != kInvalidPageId) {
    MVDB_RETURN_IF_ERROR(btree::FreeOverflow(pool, allocator, old_chain));
  }
  return status;
}

// ---- BTree ----

BTree::BTree(BufferPool* pool, PageAllocator* allocator, PageId root, std::string name,
             CheckpointGate* gate)
    : impl_(std::make_unique<Impl>(pool, allocator, root, name)),
      root_(root),
      name_(std::move(name)),
      gate_(gate) {}

BTree::~BTree() = default;

Status BTree::FormatRoot(BufferPool* pool, PageId root) {
  MVDB_ASSIGN_OR_RETURN(WritePageGuard guard, pool->NewPage(root, PageType::kBTreeLeaf));
  Node(guard.mutable_data()).InitLeaf();
  return Status::OK();
}

namespace {

Status CheckKey(std::string_view key) {
  if (key.empty()) {
    return Status::InvalidArgument("empty key");
  }
  if (key.size() > kMaxKeySize) {
    return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                   " bytes is longer than the limit of " +
                                   std::to_string(kMaxKeySize));
  }
  return Status::OK();
}

Status CheckKeyValue(std::string_view key, std::string_view value) {
  MVDB_RETURN_IF_ERROR(CheckKey(key));
  if (value.size() > kMaxValueSize) {
    return Status::InvalidArgument("value of " + std::to_string(value.size()) +
                                   " bytes is longer than the limit of " +
                                   std::to_string(kMaxValueSize));
  }
  return Status::OK();
}

}  // namespace

Status BTree::Put(std::string_view key, std::string_view value) {
  MVDB_RETURN_IF_ERROR(CheckKeyValue(key, value));
  const CheckpointGate::SharedHold hold = CheckpointGate::HoldShared(gate_);
  return impl_->Put(key, value);
}

Status BTree::Insert(std::string_view key, std::string_view value, bool* inserted,
                     std::string* existing) {
  *inserted = false;
  MVDB_RETURN_IF_ERROR(CheckKeyValue(key, value));
  const CheckpointGate::SharedHold hold = CheckpointGate::HoldShared(gate_);
  Impl::InsertOnly only{false, existing};
  MVDB_RETURN_IF_ERROR(impl_->Put(key, value, &only));
  *inserted = !only.exists;
  return Status::OK();
}

Status BTree::InsertRun(std::span<const std::string_view> keys,
                        std::span<const std::string_view> values, size_t* done,
                        std::string* existing) {
  *done = 0;
  if (keys.size() != values.size()) {
    return Status::InvalidArgument("InsertRun: " + std::to_string(keys.size()) + " keys but " +
                                   std::to_string(values.size()) + " values");
  }
  for (size_t i = 0; i < keys.size(); ++i) MVDB_RETURN_IF_ERROR(CheckKeyValue(keys[i], values[i]));
  const CheckpointGate::SharedHold hold = CheckpointGate::HoldShared(gate_);
  return impl_->InsertRun(keys, values, done, existing);
}

Status BTree::Get(std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ERROR(CheckKey(key));
  return impl_->GetSplit(key, {}, value);
}

Status BTree::GetSplit(std::string_view key, std::span<char> head, std::string* rest) {
  MVDB_RETURN_IF_ERROR(CheckKey(key));
  return impl_->GetSplit(key, head, rest);
}

Status BTree::Delete(std::string_view key) {
  MVDB_RETURN_IF_ERROR(CheckKey(key));
  const CheckpointGate::SharedHold hold = CheckpointGate::HoldShared(gate_);
  return impl_->Delete(key);
}

}  // namespace mvdb
