// BTreeCursor: an ordered position in a tree that holds no latch between
// calls (invariants 4, 9 and 10 of the essay in btree.cc).
//
// A cursor keeps a copy of its entry, the id of the leaf it came from, the
// slot, and the tree's free epoch read while that leaf was latched. To move
// it first tries the remembered leaf: publish the id as a hazard, check the
// epoch, latch the leaf shared, check the epoch again and that the slot
// still holds the remembered key, then step. Any doubt sends it the slow
// way, a descent from the root for the first key after (or the last key
// before) the remembered one, which is always correct, so a concurrent
// writer can only make a move slower, never wrong.
//
// Forward moves crab to the right sibling (left to right is the latch
// order). Backward moves that leave a leaf descend again, looking for the
// last key below a bound: at each inner node they take the last child whose
// separator is below the bound and note that separator as the leaf's lower
// bound; when the leaf holds nothing below the bound (it may be empty, or
// its keys were deleted) they search again below that lower bound. Bounds
// strictly decrease, so the search ends.
#include <memory>
#include <string>
#include <utility>

#include "btree/btree.h"
#include "btree/btree_internal.h"
#include "btree/node.h"
#include "btree/overflow.h"
#include "btree/read_ahead.h"

namespace mvdb {

using btree::ConstNode;

namespace {

class TreeCursor final : public BTreeCursor {
 public:
  explicit TreeCursor(BTree::Impl* tree) : tree_(tree) { tree_->AddHazard(&hazard_); }
  ~TreeCursor() override { tree_->RemoveHazard(&hazard_); }

  TreeCursor(const TreeCursor&) = delete;
  TreeCursor& operator=(const TreeCursor&) = delete;

  bool Valid() const override { return valid_; }
  Status status() const override { return status_; }

  void SeekToFirst() override { Finish(SeekFrom(std::string_view(), /*after=*/false)); }
  void SeekToLast() override { Finish(SeekBefore(std::string(), /*unbounded=*/true)); }
  void Seek(std::string_view target) override { Finish(SeekFrom(target, /*after=*/false)); }
  void SeekForPrev(std::string_view target) override {
    // The last key <= target is the last key < target + "\0".
    std::string bound(target);
    bound.push_back('\0');
    Finish(SeekBefore(std::move(bound), /*unbounded=*/false));
  }
  void Next() override {
    if (valid_) {
      Finish(Step(/*forward=*/true));
    }
  }
  void Prev() override {
    if (valid_) {
      Finish(Step(/*forward=*/false));
    }
  }

  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  size_t NextInLeaf(size_t max, Visitor visit, void* context) override;

 private:
  // Clears the hazard slot when the latch it protected has been released.
  class HazardScope {
   public:
    HazardScope(std::atomic<PageId>* slot, PageId id) : slot_(slot) {
      slot_->store(id, std::memory_order_seq_cst);
    }
    ~HazardScope() { slot_->store(kInvalidPageId, std::memory_order_release); }
    HazardScope(const HazardScope&) = delete;
    HazardScope& operator=(const HazardScope&) = delete;

   private:
    std::atomic<PageId>* slot_;
  };

  void Finish(const Status& status) {
    status_ = status;
    if (!status.ok()) {
      valid_ = false;
    }
  }

  Status Step(bool forward);
  Status SeekFrom(std::string_view target, bool after);
  Status SeekBefore(std::string bound, bool unbounded);
  // From slot `i` of `leaf`, the first entry at or after it, crabbing right
  // past the end of a leaf. `floor` is a key every entry found must exceed.
  Status SettleForward(ReadPageGuard leaf, uint16_t i, std::string_view floor);
  // Copies entry i of the latched leaf (and its overflow value).
  Status Load(const ReadPageGuard& leaf, uint16_t i);

  BTree::Impl* const tree_;
  std::atomic<PageId> hazard_{kInvalidPageId};
  Status status_;
  bool valid_ = false;
  std::string key_;
  std::string value_;
  PageId leaf_ = kInvalidPageId;
  uint16_t slot_ = 0;
  uint64_t epoch_ = 0;
  btree::ReadAhead read_ahead_;  // read_ahead.h
};

Status TreeCursor::Load(const ReadPageGuard& leaf, uint16_t i) {
  const ConstNode node(leaf.data());
  if (node.is_overflow(i)) {
    value_.clear();
    MVDB_RETURN_IF_ERROR(
        btree::ReadOverflow(tree_->pool, node.overflow_page(i), node.value_size(i), &value_));
  } else {
    value_.assign(node.inline_value(i));
  }
  key_.assign(node.key(i));
  leaf_ = leaf.id();
  slot_ = i;
  // Read under the leaf's latch: if the leaf leaves the tree later, the
  // bump comes after this read (invariant 9).
  epoch_ = tree_->free_epoch.load(std::memory_order_seq_cst);
  valid_ = true;
  return Status::OK();
}

Status TreeCursor::SettleForward(ReadPageGuard leaf, uint16_t i, std::string_view floor) {
  bool moved = false;
  for (;;) {
    const ConstNode node(leaf.data());
    if (i < node.size()) {
      // A leaf reached through a sibling link holds only keys above the
      // one the move started from; anything else is a broken link.
      if (moved && !(floor < node.key(i))) {
        return tree_->Corrupt(leaf.id(), "sibling link leads to smaller keys");
      }
      return Load(leaf, i);
    }
    const PageId next = node.next_leaf();
    if (next == kInvalidPageId) {
      valid_ = false;
      return Status::OK();
    }
    if (next == leaf.id() || next == tree_->root) {
      return tree_->Corrupt(leaf.id(), "next link loops back");
    }
    read_ahead_.OnForwardLeaf(tree_, leaf.id(), node.size() > 0 ? node.key(node.size() - 1) : floor,
                              next);
    MVDB_ASSIGN_OR_RETURN(ReadPageGuard right, tree_->pool->FetchRead(next));
    MVDB_RETURN_IF_ERROR(tree_->ExpectNode(right.data(), next, /*leaf=*/true));
    leaf = std::move(right);  // latched the right one before releasing this one
    i = 0;
    moved = true;
  }
}

Status TreeCursor::SeekFrom(std::string_view target, bool after) {
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard leaf, tree_->FindLeafShared(target));
  bool exact = false;
  uint16_t i = ConstNode(leaf.data()).LowerBound(target, &exact);
  if (after && exact) {
    ++i;
  }
  return SettleForward(std::move(leaf), i, target);
}

Status TreeCursor::SeekBefore(std::string bound, bool unbounded) {
  for (;;) {
    MVDB_ASSIGN_OR_RETURN(ReadPageGuard guard, tree_->pool->FetchRead(tree_->root));
    MVDB_ASSIGN_OR_RETURN(const uint32_t levels, tree_->Height(guard.data()));
    bool have_lower = false;
    std::string lower;  // every key of the leaf reached is >= lower
    for (uint32_t level = levels; level > 1; --level) {
      MVDB_RETURN_IF_ERROR(tree_->ExpectNode(guard.data(), guard.id(), /*leaf=*/false));
      const ConstNode node(guard.data());
      bool exact = false;
      const int index =
          unbounded ? node.size() - 1 : static_cast<int>(node.LowerBound(bound, &exact)) - 1;
      if (index >= 0) {
        lower.assign(node.key(static_cast<uint16_t>(index)));
        have_lower = true;
      }
      const PageId child =
          index < 0 ? node.leftmost_child() : node.child(static_cast<uint16_t>(index));
      if (child == guard.id() || child == tree_->root) {
        return tree_->Corrupt(guard.id(), "child pointer loops back");
      }
      MVDB_ASSIGN_OR_RETURN(ReadPageGuard next, tree_->pool->FetchRead(child));
      guard = std::move(next);
    }
    MVDB_RETURN_IF_ERROR(tree_->ExpectNode(guard.data(), guard.id(), /*leaf=*/true));
    const ConstNode leaf(guard.data());
    bool exact = false;
    const int index =
        unbounded ? leaf.size() - 1 : static_cast<int>(leaf.LowerBound(bound, &exact)) - 1;
    if (index >= 0) {
      return Load(guard, static_cast<uint16_t>(index));
    }
    if (!have_lower) {
      valid_ = false;
      return Status::OK();
    }
    bound = std::move(lower);  // strictly below the old bound
    unbounded = false;
  }
}

Status TreeCursor::Step(bool forward) {
  {
    HazardScope hazard(&hazard_, leaf_);
    if (tree_->free_epoch.load(std::memory_order_seq_cst) == epoch_) {
      MVDB_ASSIGN_OR_RETURN(ReadPageGuard leaf, tree_->pool->FetchRead(leaf_));
      const ConstNode node(leaf.data());
      // The page was in the tree when latched only if the epoch still holds;
      // a root that split since is an inner page now.
      if (tree_->free_epoch.load(std::memory_order_seq_cst) == epoch_ &&
          ConstPageView(leaf.data()).type() == PageType::kBTreeLeaf && slot_ < node.size() &&
          node.key(slot_) == key_) {
        if (forward) {
          return SettleForward(std::move(leaf), slot_ + 1, key_);
        }
        if (slot_ > 0) {
          return Load(leaf, slot_ - 1);
        }
      }
    }
  }
  if (forward) {
    return SeekFrom(key_, /*after=*/true);
  }
  read_ahead_.OnBackwardLeaf(tree_, leaf_, key_);
  return SeekBefore(key_, /*unbounded=*/false);
}

size_t TreeCursor::NextInLeaf(size_t max, Visitor visit, void* context) {
  if (!valid_) return 0;
  HazardScope hazard(&hazard_, leaf_);
  // The same checks as Step: the leaf is still in the tree and the cursor's
  // entry is still where it was.
  if (tree_->free_epoch.load(std::memory_order_seq_cst) != epoch_) return 0;
  Result<ReadPageGuard> fetched = tree_->pool->FetchRead(leaf_);
  if (!fetched.ok()) return 0;  // Next() meets the error again and reports it
  const ReadPageGuard& leaf = *fetched;
  const ConstNode node(leaf.data());
  if (tree_->free_epoch.load(std::memory_order_seq_cst) != epoch_ ||
      ConstPageView(leaf.data()).type() != PageType::kBTreeLeaf || slot_ >= node.size() ||
      node.key(slot_) != key_) {
    return 0;
  }
  size_t visited = 0;
  uint16_t i = slot_ + 1;
  for (; visited < max && i < node.size(); ++i, ++visited) {
    if (node.is_overflow(i) || !visit(context, node.key(i), node.inline_value(i))) break;
  }
  if (visited > 0) {
    const Status loaded = Load(leaf, static_cast<uint16_t>(i - 1));  // inline: cannot fail
    if (!loaded.ok()) Finish(loaded);
  }
  return visited;
}

}  // namespace

std::unique_ptr<BTreeCursor> BTree::NewCursor() {
  return std::make_unique<TreeCursor>(impl_.get());
}

}  // namespace mvdb
