// Deletes: removing entries, unlinking nodes that become empty, pulling a
// single child up into the root, and giving the pages back without ever
// freeing one a cursor is about to latch. The rules are invariants 6 to 10
// of the essay at the top of btree.cc; this file adds the details.
//
// Delete policy (free at empty):
//   - A leaf keeps its page while it holds at least one entry; underfull
//     leaves are not merged, their space is reused by later inserts in
//     their key range.
//   - A leaf whose last entry goes is unlinked: its parent loses the child
//     pointer (the neighbouring child's range widens to cover the gap), the
//     left and right siblings are linked to each other, and the page is
//     freed. The left sibling is latched with TryFetchWrite; if another
//     thread holds it the leaf is left empty and linked, which is a valid
//     state (the next insert in its range uses it).
//   - An inner node whose last child is unlinked is unlinked from its own
//     parent the same way (inner nodes have no sibling links), up to the
//     root; a root that loses its last child becomes an empty leaf.
//   - A root left with one child and no separator takes over that child's
//     body and frees it, so the tree gets shallower as it drains.
#include <algorithm>
#include <string>
#include <utility>

#include "btree/btree_internal.h"
#include "btree/node.h"
#include "btree/overflow.h"
#include "buffer/page_access.h"

namespace mvdb {

using btree::ConstNode;
using btree::Node;

Status BTree::Impl::Delete(std::string_view key) {
  bool done = false;
  PageId old_chain = kInvalidPageId;
  MVDB_RETURN_IF_ERROR(DeleteOptimistic(key, &done, &old_chain));
  if (!done) {
    MVDB_RETURN_IF_ERROR(DeletePessimistic(key, &old_chain));
  }
  // Nobody can reach the chain any more: readers read it under the leaf
  // latch that the removal held exclusively.
  if (old_chain != kInvalidPageId) {
    MVDB_RETURN_IF_ERROR(btree::FreeOverflow(pool, allocator, old_chain));
  }
  return Status::OK();
}

Status BTree::Impl::DeleteOptimistic(std::string_view key, bool* done, PageId* old_chain) {
  MVDB_ASSIGN_OR_RETURN(WritePageGuard guard, FindLeafExclusive(key));
  Node leaf(guard.mutable_data());
  bool exact = false;
  const uint16_t i = leaf.LowerBound(key, &exact);
  if (!exact) {
    return Status::NotFound("no such key");
  }
  if (guard.id() != root && leaf.size() < 2) {
    return Status::OK();  // would empty: pessimistic
  }
  *old_chain = leaf.is_overflow(i) ? leaf.overflow_page(i) : kInvalidPageId;
  leaf.Remove(i);
  *done = true;
  return Status::OK();
}

Status BTree::Impl::DeletePessimistic(std::string_view key, PageId* old_chain) {
  std::vector<WritePageGuard> path;
  MVDB_RETURN_IF_ERROR(
      DescendExclusive(key, WriteIntent{/*insert=*/false, 0}, /*hold_all=*/false, &path));
  WritePageGuard& leaf_guard = path.back();
  const PageId leaf_id = leaf_guard.id();
  Node leaf(leaf_guard.mutable_data());
  bool exact = false;
  const uint16_t i = leaf.LowerBound(key, &exact);
  if (!exact) {
    return Status::NotFound("no such key");
  }
  const PageId chain = leaf.is_overflow(i) ? leaf.overflow_page(i) : kInvalidPageId;
  if (leaf_id == root || leaf.size() >= 2) {
    leaf.Remove(i);
    *old_chain = chain;
    return Status::OK();
  }

  // The leaf empties. Latch its neighbours, left one without waiting.
  const PageId left = leaf.prev_leaf();
  const PageId right = leaf.next_leaf();
  WritePageGuard left_guard;
  if (left != kInvalidPageId) {
    Result<WritePageGuard> tried = pool->TryFetchWrite(left);
    if (!tried.ok()) {
      if (!tried.status().IsBusy()) {
        return tried.status();
      }
      leaf.Remove(i);  // give the unlink up: an empty leaf is a valid node
      *old_chain = chain;
      return Status::OK();
    }
    left_guard = std::move(*tried);
    MVDB_RETURN_IF_ERROR(ExpectNode(left_guard.data(), left, /*leaf=*/true));
    if (ConstNode(left_guard.data()).next_leaf() != leaf_id) {
      return Corrupt(left, "next link does not name its right sibling " + std::to_string(leaf_id));
    }
  }
  WritePageGuard right_guard;
  if (right != kInvalidPageId) {
    MVDB_ASSIGN_OR_RETURN(right_guard, pool->FetchWrite(right));
    MVDB_RETURN_IF_ERROR(ExpectNode(right_guard.data(), right, /*leaf=*/true));
    if (ConstNode(right_guard.data()).prev_leaf() != leaf_id) {
      return Corrupt(right, "prev link does not name its left sibling " + std::to_string(leaf_id));
    }
  }
  // Find every parent's pointer before changing anything. The key routed
  // the descent, so ChildIndexFor(key) names the child on the path.
  std::vector<int> child_index(path.size(), 0);
  for (size_t level = 0; level + 1 < path.size(); ++level) {
    const ConstNode parent(path[level].data());
    const int index = parent.ChildIndexFor(key);
    const PageId child = index < 0 ? parent.leftmost_child() : parent.child(index);
    if (child != path[level + 1].id()) {
      return Corrupt(path[level].id(), "child pointer changed under an exclusive latch");
    }
    child_index[level] = index;
  }

  // From here on nothing fails.
  leaf.Remove(i);
  *old_chain = chain;
  if (left_guard.valid()) {
    Node(left_guard.mutable_data()).set_next_leaf(right);
  }
  if (right_guard.valid()) {
    Node(right_guard.mutable_data()).set_prev_leaf(left);
  }
  std::vector<PageId> retired{leaf_id};
  bool root_has_one_child = false;
  for (size_t level = path.size() - 1; level-- > 0;) {
    Node parent(path[level].mutable_data());
    const bool is_root = path[level].id() == root;
    if (parent.size() == 0) {  // its only child goes: it empties as well
      if (is_root) {
        parent.InitLeaf();
        height.store(1, std::memory_order_release);
        break;
      }
      retired.push_back(path[level].id());
      continue;
    }
    const int index = child_index[level];
    if (index < 0) {
      parent.set_leftmost_child(parent.child(0));
      parent.Remove(0);
    } else {
      parent.Remove(static_cast<uint16_t>(index));
    }
    root_has_one_child = is_root && parent.size() == 0;
    break;
  }
  // Invariant 9: the epoch moves while the leaving pages are still latched.
  free_epoch.fetch_add(1, std::memory_order_seq_cst);
  path.clear();
  left_guard.Release();
  right_guard.Release();
  Status status = Retire(retired);
  if (root_has_one_child) {
    const Status pulled = PullUpRoot();
    if (status.ok()) {
      status = pulled;
    }
  }
  return status;
}

Status BTree::Impl::PullUpRoot() {
  for (;;) {
    MVDB_ASSIGN_OR_RETURN(WritePageGuard root_guard, pool->FetchWrite(root));
    MVDB_ASSIGN_OR_RETURN(const uint32_t levels, Height(root_guard.data()));
    const ConstNode node(root_guard.data());
    if (levels < 2 || node.size() != 0) {
      return Status::OK();
    }
    MVDB_RETURN_IF_ERROR(ExpectNode(root_guard.data(), root, /*leaf=*/false));
    const PageId child = node.leftmost_child();
    if (child == root) {
      return Corrupt(root, "child pointer loops back");
    }
    MVDB_ASSIGN_OR_RETURN(WritePageGuard child_guard, pool->FetchWrite(child));
    MVDB_RETURN_IF_ERROR(ExpectNode(child_guard.data(), child, /*leaf=*/levels == 2));
    const ConstNode child_node(child_guard.data());
    if (levels == 2 &&
        (child_node.prev_leaf() != kInvalidPageId || child_node.next_leaf() != kInvalidPageId)) {
      return Corrupt(child, "the only leaf of the tree has siblings");
    }
    const std::span<const std::byte> from = child_guard.data();
    const std::span<std::byte> to = root_guard.mutable_data();
    page_access::CopyIn(to.data(), kPageHeaderSize, from.data() + kPageHeaderSize,
                        kPageSize - kPageHeaderSize);
    root_guard.mutable_view().set_type(child_guard.view().type());
    height.store(levels - 1, std::memory_order_release);
    free_epoch.fetch_add(1, std::memory_order_seq_cst);
    child_guard.Release();
    root_guard.Release();
    const PageId retired[] = {child};
    MVDB_RETURN_IF_ERROR(Retire(retired));
  }
}

// ---- page retirement ----

Status BTree::Impl::Retire(std::span<const PageId> ids) {
  {
    std::lock_guard<std::mutex> lock(hazard_mu);
    deferred_frees.insert(deferred_frees.end(), ids.begin(), ids.end());
  }
  return ReleaseDeferred();
}

Status BTree::Impl::ReleaseDeferred() {
  std::vector<PageId> ready;
  {
    std::lock_guard<std::mutex> lock(hazard_mu);
    if (deferred_frees.empty()) {
      return Status::OK();
    }
    auto hazarded = [this](PageId id) {
      return std::any_of(hazards.begin(), hazards.end(), [id](const std::atomic<PageId>* slot) {
        return slot->load(std::memory_order_seq_cst) == id;
      });
    };
    auto keep = std::stable_partition(deferred_frees.begin(), deferred_frees.end(), hazarded);
    ready.assign(keep, deferred_frees.end());
    deferred_frees.erase(keep, deferred_frees.end());
  }
  for (size_t i = 0; i < ready.size(); ++i) {
    Status freed = allocator->Free(ready[i]);
    if (!freed.ok()) {
      // Keep what was not freed, so a later call (or Close) retries it.
      std::lock_guard<std::mutex> lock(hazard_mu);
      deferred_frees.insert(deferred_frees.end(), ready.begin() + i, ready.end());
      return freed;
    }
  }
  return Status::OK();
}

void BTree::Impl::AddHazard(const std::atomic<PageId>* slot) {
  std::lock_guard<std::mutex> lock(hazard_mu);
  hazards.push_back(slot);
}

void BTree::Impl::RemoveHazard(const std::atomic<PageId>* slot) {
  std::lock_guard<std::mutex> lock(hazard_mu);
  hazards.erase(std::remove(hazards.begin(), hazards.end(), slot), hazards.end());
}

}  // namespace mvdb
