// BTree::Check, Clear and Destroy: walks over a whole tree.
//
// Check descends depth first with one shared latch at a time (the caller
// pauses writers), carrying the key range [lower, upper) every node must
// respect, and verifies: page types by level, equal leaf depth, keys
// strictly increasing inside and across pages and inside their separators'
// range, both sibling links of every leaf against the key order, overflow
// chains carrying exactly the value's length, and that no page is reached
// twice. Checksums and cell bounds were verified when each page entered the
// buffer pool (PageStore and btree::ValidatePage). Allowed and not errors:
// empty leaves left when an unlink was given up, and inner nodes with one
// child (see btree_delete.cc).
#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "btree/btree.h"
#include "btree/btree_internal.h"
#include "btree/node.h"
#include "btree/overflow.h"
#include "buffer/checkpoint_gate.h"

namespace mvdb {

using btree::ConstNode;
using btree::Node;

namespace {

struct Bounds {
  const std::string* lower = nullptr;  // inclusive; null: no bound
  const std::string* upper = nullptr;  // exclusive; null: no bound
};

class TreeWalk {
 public:
  TreeWalk(BTree::Impl* tree, TreeCheckReport* report) : tree_(tree), report_(report) {}

  Status Visit(PageId id, uint32_t depth, Bounds bounds);
  Status Finish();
  std::vector<PageId>& pages() { return pages_; }

 private:
  Status VisitLeaf(const ReadPageGuard& guard, uint32_t depth);

  BTree::Impl* const tree_;
  TreeCheckReport* const report_;
  std::vector<PageId> pages_;  // every page of the tree, overflow pages included
  std::unordered_set<PageId> nodes_seen_;
  uint32_t leaf_depth_ = 0;
  PageId last_leaf_ = kInvalidPageId;
  PageId last_leaf_next_ = kInvalidPageId;
  std::string last_key_;
  uint64_t used_leaf_bytes_ = 0;
};

Status TreeWalk::Visit(PageId id, uint32_t depth, Bounds bounds) {
  if (depth > kMaxTreeHeight) {
    return tree_->Corrupt(id, "tree deeper than any valid tree");
  }
  if (!nodes_seen_.insert(id).second) {
    return tree_->Corrupt(id, "page reached twice");
  }
  pages_.push_back(id);
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, tree_->pool->FetchRead(id));
  const PageType type = guard.view().type();
  if (type != PageType::kBTreeLeaf && type != PageType::kBTreeInner) {
    return tree_->Corrupt(
        id, std::string("expected a tree node, found a ") + PageTypeName(type) + " page");
  }
  const ConstNode node(guard.data());
  for (uint16_t i = 0; i < node.size(); ++i) {
    const std::string_view key = node.key(i);
    if (i > 0 && !(node.key(i - 1) < key)) {
      return tree_->Corrupt(id, "keys out of order at slot " + std::to_string(i));
    }
    if ((bounds.lower != nullptr && key < *bounds.lower) ||
        (bounds.upper != nullptr && !(key < *bounds.upper))) {
      return tree_->Corrupt(id, "key at slot " + std::to_string(i) +
                                    " lies outside the range its parent's separators give");
    }
  }
  if (type == PageType::kBTreeLeaf) {
    return VisitLeaf(guard, depth);
  }

  ++report_->inner_pages;
  std::vector<PageId> children;
  std::vector<std::string> separators;
  children.push_back(node.leftmost_child());
  for (uint16_t i = 0; i < node.size(); ++i) {
    children.push_back(node.child(i));
    separators.emplace_back(node.key(i));
  }
  guard.Release();
  for (size_t c = 0; c < children.size(); ++c) {
    Bounds child_bounds;
    child_bounds.lower = c == 0 ? bounds.lower : &separators[c - 1];
    child_bounds.upper = c == separators.size() ? bounds.upper : &separators[c];
    MVDB_RETURN_IF_ERROR(Visit(children[c], depth + 1, child_bounds));
  }
  return Status::OK();
}

Status TreeWalk::VisitLeaf(const ReadPageGuard& guard, uint32_t depth) {
  const PageId id = guard.id();
  const ConstNode node(guard.data());
  if (leaf_depth_ == 0) {
    leaf_depth_ = depth;
  }
  if (depth != leaf_depth_) {
    return tree_->Corrupt(id, "leaf at depth " + std::to_string(depth) + ", others at depth " +
                                  std::to_string(leaf_depth_));
  }
  if (node.prev_leaf() != last_leaf_) {
    return tree_->Corrupt(id, "prev link is " + std::to_string(node.prev_leaf()) +
                                  ", the leaf before it is " + std::to_string(last_leaf_));
  }
  if (last_leaf_ != kInvalidPageId && last_leaf_next_ != id) {
    return tree_->Corrupt(last_leaf_, "next link is " + std::to_string(last_leaf_next_) +
                                          ", the leaf after it is " + std::to_string(id));
  }
  for (uint16_t i = 0; i < node.size(); ++i) {
    const std::string_view key = node.key(i);
    if (report_->entries > 0 && !(last_key_ < key)) {
      return tree_->Corrupt(id, "first key not above the previous leaf's keys");
    }
    ++report_->entries;
    report_->key_bytes += key.size();
    report_->value_bytes += node.value_size(i);
    if (node.is_overflow(i)) {
      MVDB_ASSIGN_OR_RETURN(
          const uint64_t chain_pages,
          btree::CheckOverflow(tree_->pool, node.overflow_page(i), node.value_size(i), &pages_));
      report_->overflow_pages += chain_pages;
    }
  }
  if (node.size() > 0) {
    last_key_.assign(node.key(node.size() - 1));
  }
  ++report_->leaf_pages;
  used_leaf_bytes_ += node.UsedSpace();
  last_leaf_ = id;
  last_leaf_next_ = node.next_leaf();
  return Status::OK();
}

Status TreeWalk::Finish() {
  if (last_leaf_next_ != kInvalidPageId) {
    return tree_->Corrupt(last_leaf_,
                          "the last leaf has a next link to " + std::to_string(last_leaf_next_));
  }
  report_->height = leaf_depth_;
  const uint32_t known = tree_->height.load(std::memory_order_acquire);
  if (known != 0 && known != leaf_depth_) {
    return tree_->Corrupt(tree_->root, "leaves at depth " + std::to_string(leaf_depth_) +
                                           ", but the tree's height is " + std::to_string(known));
  }
  constexpr double kLeafCapacity = kPageSize - kPageHeaderSize - btree::kNodeHeaderSize;
  report_->leaf_fill = report_->leaf_pages == 0 ? 0
                                                : static_cast<double>(used_leaf_bytes_) /
                                                      (kLeafCapacity * report_->leaf_pages);
  // Overflow pages are not in nodes_seen_: a chain shared by two cells, or
  // crossing into a node, shows up here.
  std::vector<PageId> sorted = pages_;
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice != sorted.end()) {
    return tree_->Corrupt(*twice, "page used twice in the tree");
  }
  return Status::OK();
}

// Every node of the tree, children before their parent, and the first page
// of every overflow chain; Corruption if a page is reached twice.
Status CollectPages(BTree::Impl* tree, PageId id, uint32_t depth, std::unordered_set<PageId>* seen,
                    std::vector<PageId>* nodes, std::vector<std::pair<PageId, uint32_t>>* chains) {
  if (depth > kMaxTreeHeight) {
    return tree->Corrupt(id, "tree deeper than any valid tree");
  }
  if (!seen->insert(id).second) {
    return tree->Corrupt(id, "page reached twice");
  }
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, tree->pool->FetchRead(id));
  const PageType type = guard.view().type();
  const ConstNode node(guard.data());
  if (type == PageType::kBTreeLeaf) {
    for (uint16_t i = 0; i < node.size(); ++i) {
      if (node.is_overflow(i)) {
        chains->emplace_back(node.overflow_page(i), node.value_size(i));
      }
    }
  } else if (type == PageType::kBTreeInner) {
    std::vector<PageId> children{node.leftmost_child()};
    for (uint16_t i = 0; i < node.size(); ++i) {
      children.push_back(node.child(i));
    }
    guard.Release();
    for (const PageId child : children) {
      MVDB_RETURN_IF_ERROR(CollectPages(tree, child, depth + 1, seen, nodes, chains));
    }
  } else {
    return tree->Corrupt(
        id, std::string("expected a tree node, found a ") + PageTypeName(type) + " page");
  }
  nodes->push_back(id);
  return Status::OK();
}

// Frees every page of the tree; the root too when `keep_root` is false, else
// the root becomes an empty leaf. REQUIRES: no concurrent use.
Status FreeAll(BTree::Impl* tree, bool keep_root) {
  MVDB_RETURN_IF_ERROR(tree->ReleaseDeferred());
  std::unordered_set<PageId> seen;
  std::vector<PageId> nodes;
  std::vector<std::pair<PageId, uint32_t>> chains;
  // Collect everything first, so a corrupt tree frees nothing twice.
  MVDB_RETURN_IF_ERROR(CollectPages(tree, tree->root, 1, &seen, &nodes, &chains));
  {
    MVDB_ASSIGN_OR_RETURN(WritePageGuard root, tree->pool->FetchWrite(tree->root));
    Node(root.mutable_data()).InitLeaf();
    tree->height.store(1, std::memory_order_release);
    tree->free_epoch.fetch_add(1, std::memory_order_seq_cst);
  }
  for (const auto& [first, size] : chains) {
    MVDB_RETURN_IF_ERROR(btree::FreeOverflow(tree->pool, tree->allocator, first));
  }
  for (const PageId id : nodes) {
    if (id == tree->root && keep_root) {
      continue;
    }
    MVDB_RETURN_IF_ERROR(tree->allocator->Free(id));
  }
  return Status::OK();
}

}  // namespace

Status BTree::Check(TreeCheckReport* report, std::vector<PageId>* pages_seen) {
  *report = TreeCheckReport();
  TreeWalk walk(impl_.get(), report);
  MVDB_RETURN_IF_ERROR(walk.Visit(root_, 1, Bounds()));
  MVDB_RETURN_IF_ERROR(walk.Finish());
  if (pages_seen != nullptr) {
    pages_seen->insert(pages_seen->end(), walk.pages().begin(), walk.pages().end());
    // Pages waiting for a cursor to look away still belong to this tree.
    std::lock_guard<std::mutex> lock(impl_->hazard_mu);
    pages_seen->insert(pages_seen->end(), impl_->deferred_frees.begin(),
                       impl_->deferred_frees.end());
  }
  return Status::OK();
}

Status BTree::Clear() {
  const CheckpointGate::SharedHold hold = CheckpointGate::HoldShared(gate_);
  return FreeAll(impl_.get(), /*keep_root=*/true);
}

Status BTree::Destroy() {
  const CheckpointGate::SharedHold hold = CheckpointGate::HoldShared(gate_);
  return FreeAll(impl_.get(), /*keep_root=*/false);
}

Status BTree::ReleaseDeferredPages() {
  const CheckpointGate::SharedHold hold = CheckpointGate::HoldShared(gate_);
  return impl_->ReleaseDeferred();
}

}  // namespace mvdb
