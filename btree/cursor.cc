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
// A kLeafCopy cursor (btree.h, CursorMode) copies a leaf's used bytes,
// under the latch, into a page buffer and then moves inside the copy
// without latching: key() and value() are views into it. It copies lazily:
// a seek lands by copying its one entry, as a kLive cursor does, so a scan
// that reads a single entry copies no page; the first move from there
// latches the leaf again (trusted as Step trusts it) and copies it. A scan
// that goes on lands on each further leaf by copying it at once. It leaves
// a copy forward in one place, NextLeaf, through the copy's sibling link,
// trusted as the remembered leaf is (hazard, epoch; invariant 10), and
// backward by the descent below. A key present for the whole scan was in
// the leaf when it was copied (a split moves keys to the right of the
// leaf, behind the copy's last key, and a leaf that leaves the tree bumps
// the epoch), so the promises of BTreeCursor hold with copies too. An
// overflow value is read only under the leaf's latch (invariant 7 of
// btree.cc): reaching an overflow entry inside a copy, the cursor seeks its
// key again, which latches the leaf and reads the chain. Page buffers are
// kept for the next cursor of the thread: a cursor per short scan would
// otherwise allocate 8 KiB each time.
//
// Forward moves crab to the right sibling (left to right is the latch
// order). Backward moves that leave a leaf descend again, looking for the
// last key below a bound: at each inner node they take the last child whose
// separator is below the bound and note that separator as the leaf's lower
// bound; when the leaf holds nothing below the bound (it may be empty, or
// its keys were deleted) they search again below that lower bound. Bounds
// strictly decrease, so the search ends.
#include <array>
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

// A kLeafCopy cursor's copy of a leaf.
struct LeafCopy {
  alignas(64) std::array<std::byte, kPageSize> page;
};

// One spare copy buffer per thread, for the thread's next cursor.
thread_local std::unique_ptr<LeafCopy> spare_copy;

class TreeCursor final : public BTreeCursor {
 public:
  TreeCursor(BTree::Impl* tree, CursorMode mode)
      : tree_(tree), copy_mode_(mode == CursorMode::kLeafCopy) {
    tree_->AddHazard(&hazard_);
  }
  ~TreeCursor() override {
    tree_->RemoveHazard(&hazard_);
    if (copy_ != nullptr && spare_copy == nullptr) spare_copy = std::move(copy_);
  }

  TreeCursor(const TreeCursor&) = delete;
  TreeCursor& operator=(const TreeCursor&) = delete;

  bool Valid() const override { return valid_; }
  Status status() const override { return status_; }

  void SeekToFirst() override { Finish(SeekFrom(std::string_view(), /*after=*/false, false)); }
  void SeekToLast() override { Finish(SeekBefore(std::string(), /*unbounded=*/true, false)); }
  void Seek(std::string_view target) override {
    Finish(SeekFrom(target, /*after=*/false, /*copy_leaf=*/false));
  }
  void SeekForPrev(std::string_view target) override {
    // The last key <= target is the last key < target + "\0".
    std::string bound(target);
    bound.push_back('\0');
    Finish(SeekBefore(std::move(bound), /*unbounded=*/false, /*copy_leaf=*/false));
  }
  void Next() override {
    if (valid_) {
      Finish(copy_mode_ ? StepCopying(/*forward=*/true) : Step(/*forward=*/true));
    }
  }
  void Prev() override {
    if (valid_) {
      Finish(copy_mode_ ? StepCopying(/*forward=*/false) : Step(/*forward=*/false));
    }
  }

  std::string_view key() const override { return key_view_; }
  std::string_view value() const override { return value_view_; }

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

  // kLive: re-latches the remembered leaf and steps there.
  Status Step(bool forward);
  // kLeafCopy: steps inside the copy (making it first if the cursor landed
  // by a seek), leaving it at its ends.
  Status StepCopying(bool forward);
  // kLeafCopy: copies the remembered leaf if the cursor's entry is still
  // where it was (*copied), as Step trusts it.
  Status CopyRememberedLeaf(bool* copied);
  // kLeafCopy: from the copy's last entry to the first entry of the leaves
  // to its right.
  Status NextLeaf();
  // `copy_leaf`: a kLeafCopy cursor lands by copying the leaf (a scan that
  // goes on), not only the entry (a seek).
  Status SeekFrom(std::string_view target, bool after, bool copy_leaf);
  Status SeekBefore(std::string bound, bool unbounded, bool copy_leaf);
  // From slot `i` of `leaf`, the first entry at or after it, crabbing right
  // past the end of a leaf. `floor` is a key every entry found must exceed
  // once the cursor has left `leaf` (and at once when `moved`).
  Status SettleForward(ReadPageGuard leaf, uint16_t i, std::string_view floor, bool copy_leaf,
                       bool moved = false);
  // Lands on entry i of the latched leaf: copies the entry (key_, value_),
  // or with copy_leaf (kLeafCopy only) the leaf, and an overflow value.
  Status Load(const ReadPageGuard& leaf, uint16_t i, bool copy_leaf);
  // The copy buffer, made (or taken from the thread's spare) on first use.
  std::span<std::byte> CopyBuffer() {
    if (copy_ == nullptr) {
      copy_ = spare_copy != nullptr ? std::move(spare_copy) : std::make_unique<LeafCopy>();
    }
    return copy_->page;
  }
  btree::ConstNode CopiedNode() const { return btree::ConstNode(copy_->page); }

  BTree::Impl* const tree_;
  const bool copy_mode_;
  std::unique_ptr<LeafCopy> copy_;  // kLeafCopy: the leaf the cursor is in
  bool in_copy_ = false;            // the cursor's entry is slot_ of copy_
  std::atomic<PageId> hazard_{kInvalidPageId};
  Status status_;
  bool valid_ = false;
  std::string key_;    // the entry, when not a view into copy_
  std::string value_;  // its value, or an overflow value
  std::string_view key_view_, value_view_;
  PageId leaf_ = kInvalidPageId;
  uint16_t slot_ = 0;
  uint64_t epoch_ = 0;
  btree::ReadAhead read_ahead_;  // read_ahead.h
};

Status TreeCursor::Load(const ReadPageGuard& leaf, uint16_t i, bool copy_leaf) {
  const ConstNode node(leaf.data());
  if (node.is_overflow(i)) {
    value_.clear();  // read under the leaf's latch (invariant 7)
    MVDB_RETURN_IF_ERROR(
        btree::ReadOverflow(tree_->pool, node.overflow_page(i), node.value_size(i), &value_));
    value_view_ = value_;
  } else if (!(copy_mode_ && copy_leaf)) {
    value_.assign(node.inline_value(i));
    value_view_ = value_;
  }
  if (copy_mode_ && copy_leaf) {
    node.CopyTo(CopyBuffer());
    const ConstNode copied = CopiedNode();
    key_view_ = copied.key(i);
    if (!copied.is_overflow(i)) value_view_ = copied.inline_value(i);
    in_copy_ = true;
  } else {
    key_.assign(node.key(i));
    key_view_ = key_;
    in_copy_ = false;
  }
  leaf_ = leaf.id();
  slot_ = i;
  // Read under the leaf's latch: if the leaf leaves the tree later, the
  // bump comes after this read (invariant 9).
  epoch_ = tree_->free_epoch.load(std::memory_order_seq_cst);
  valid_ = true;
  return Status::OK();
}

Status TreeCursor::SettleForward(ReadPageGuard leaf, uint16_t i, std::string_view floor,
                                 bool copy_leaf, bool moved) {
  for (;;) {
    const ConstNode node(leaf.data());
    if (i < node.size()) {
      // A leaf reached through a sibling link holds only keys above the
      // one the move started from; anything else is a broken link.
      if (moved && !(floor < node.key(i))) {
        return tree_->Corrupt(leaf.id(), "sibling link leads to smaller keys");
      }
      return Load(leaf, i, copy_leaf);
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

Status TreeCursor::SeekFrom(std::string_view target, bool after, bool copy_leaf) {
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard leaf, tree_->FindLeafShared(target));
  bool exact = false;
  uint16_t i = ConstNode(leaf.data()).LowerBound(target, &exact);
  if (after && exact) {
    ++i;
  }
  return SettleForward(std::move(leaf), i, target, copy_leaf);
}

Status TreeCursor::SeekBefore(std::string bound, bool unbounded, bool copy_leaf) {
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
      return Load(guard, static_cast<uint16_t>(index), copy_leaf);
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
          node.key(slot_) == key_view_) {
        if (forward) {
          return SettleForward(std::move(leaf), slot_ + 1, key_view_, /*copy_leaf=*/false);
        }
        if (slot_ > 0) {
          return Load(leaf, slot_ - 1, /*copy_leaf=*/false);
        }
      }
    }
  }
  if (forward) {
    return SeekFrom(key_view_, /*after=*/true, /*copy_leaf=*/false);
  }
  read_ahead_.OnBackwardLeaf(tree_, leaf_, key_view_);
  return SeekBefore(std::string(key_view_), /*unbounded=*/false, /*copy_leaf=*/false);
}

Status TreeCursor::CopyRememberedLeaf(bool* copied) {
  *copied = false;
  HazardScope hazard(&hazard_, leaf_);
  if (tree_->free_epoch.load(std::memory_order_seq_cst) != epoch_) return Status::OK();
  MVDB_ASSIGN_OR_RETURN(ReadPageGuard leaf, tree_->pool->FetchRead(leaf_));
  const ConstNode node(leaf.data());
  // The same checks as Step's: the leaf is still in the tree and the
  // cursor's entry is still where it was.
  if (tree_->free_epoch.load(std::memory_order_seq_cst) != epoch_ ||
      ConstPageView(leaf.data()).type() != PageType::kBTreeLeaf || slot_ >= node.size() ||
      node.key(slot_) != key_view_) {
    return Status::OK();
  }
  node.CopyTo(CopyBuffer());
  in_copy_ = true;
  *copied = true;
  return Status::OK();
}

Status TreeCursor::StepCopying(bool forward) {
  if (!in_copy_) {
    bool copied = false;
    MVDB_RETURN_IF_ERROR(CopyRememberedLeaf(&copied));
    if (!copied) {  // the leaf changed: the slow way, from the key
      if (forward) return SeekFrom(key_view_, /*after=*/true, /*copy_leaf=*/true);
      return SeekBefore(std::string(key_view_), /*unbounded=*/false, /*copy_leaf=*/true);
    }
  }
  const ConstNode node = CopiedNode();
  if (forward ? slot_ + 1 >= node.size() : slot_ == 0) {
    if (forward) return NextLeaf();
    read_ahead_.OnBackwardLeaf(tree_, leaf_, key_view_);
    return SeekBefore(std::string(key_view_), /*unbounded=*/false, /*copy_leaf=*/true);
  }
  const uint16_t i = forward ? slot_ + 1 : slot_ - 1;
  if (node.is_overflow(i)) {
    // Its chain may be freed once the leaf changes: read it under the
    // latch. (Moving backward, the key may be gone by now: then the last
    // key below the current one.)
    if (forward) return SeekFrom(node.key(i), /*after=*/false, /*copy_leaf=*/false);
    return SeekBefore(std::string(key_view_), /*unbounded=*/false, /*copy_leaf=*/false);
  }
  slot_ = i;
  key_view_ = node.key(i);
  value_view_ = node.inline_value(i);
  return Status::OK();
}

Status TreeCursor::NextLeaf() {
  const PageId next = CopiedNode().next_leaf();
  if (next == kInvalidPageId) {
    valid_ = false;
    return Status::OK();
  }
  // The copy is about to be overwritten: the key every later entry must
  // exceed, kept apart.
  key_.assign(key_view_);
  key_view_ = key_;
  // The cursor is about to leave leaf leaf_ for its right sibling `next`:
  // past the pool, the next leaves are asked for here (read_ahead.h).
  read_ahead_.OnForwardLeaf(tree_, leaf_, key_, next);
  {
    // `next` was read from the copy: it is the sibling while no page has
    // left the tree since the copy (the epoch), and stays one while latched.
    HazardScope hazard(&hazard_, next);
    if (next != leaf_ && next != tree_->root &&
        tree_->free_epoch.load(std::memory_order_seq_cst) == epoch_) {
      MVDB_ASSIGN_OR_RETURN(ReadPageGuard right, tree_->pool->FetchRead(next));
      if (tree_->free_epoch.load(std::memory_order_seq_cst) == epoch_ &&
          ConstPageView(right.data()).type() == PageType::kBTreeLeaf) {
        MVDB_RETURN_IF_ERROR(tree_->ExpectNode(right.data(), next, /*leaf=*/true));
        return SettleForward(std::move(right), 0, key_, /*copy_leaf=*/true, /*moved=*/true);
      }
    }
  }
  return SeekFrom(key_, /*after=*/true, /*copy_leaf=*/true);
}

}  // namespace

std::unique_ptr<BTreeCursor> BTree::NewCursor(CursorMode mode) {
  return std::make_unique<TreeCursor>(impl_.get(), mode);
}

}  // namespace mvdb
