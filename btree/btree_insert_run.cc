// Runs of inserts in key order (BTree::InsertRun): a batched load's keys
// that follow one another in a leaf go in under one latch of it, taken
// once, instead of a descent each. The latch rules are invariant 6 of the
// essay at the top of btree.cc; this file adds why a key may stay.
#include <string>

#include "btree/btree_internal.h"
#include "btree/node.h"

namespace mvdb {

using btree::ConstNode;

// A run of inserts in key order (BTree::InsertRun). The leaf a descent
// found stays latched while the next key belongs to it, which its content
// shows without the parent: the run's keys increase, so the next key is
// above the previous one and therefore above the leaf's lower bound; it is
// below the upper bound when it is at most the leaf's last key, or when the
// leaf is the rightmost (it has none). While the latch is held no split
// can move that range. A next key past the last key of a leaf that has a
// right sibling, or out of order, releases the leaf and descends again; a
// key that needs overflow pages, or a leaf with no room (a split), takes
// Put's path.
Status BTree::Impl::InsertRun(std::span<const std::string_view> keys,
                              std::span<const std::string_view> values, size_t* done,
                              std::string* existing) {
  *done = 0;
  InsertOnly only{false, existing};
  size_t i = 0;
  const auto inline_cell = [&](size_t at) {
    return LeafCell{keys[at], values[at], static_cast<uint32_t>(values[at].size()), kInvalidPageId};
  };
  const auto fits_inline = [&](size_t at) {
    return !btree::NeedsOverflow(keys[at].size(), values[at].size());
  };
  while (i < keys.size()) {
    bool stored = false;
    if (fits_inline(i)) {
      MVDB_ASSIGN_OR_RETURN(WritePageGuard leaf, FindLeafExclusive(keys[i]));
      while (true) {
        PageId old_chain = kInvalidPageId;  // stays invalid: nothing is replaced
        MVDB_RETURN_IF_ERROR(StoreInLeaf(&leaf, inline_cell(i), &stored, &old_chain, &only));
        if (only.exists) {
          *done = i;
          return Status::OK();
        }
        if (!stored) break;  // no room: Put splits the leaf
        ++i;
        *done = i;
        if (i == keys.size() || !fits_inline(i) || keys[i] <= keys[i - 1]) break;
        const ConstNode node(leaf.data());
        const bool below_last = node.size() > 0 && keys[i] <= node.key(node.size() - 1);
        if (!below_last && node.next_leaf() != kInvalidPageId) break;
      }
    }
    if (!stored) {
      MVDB_RETURN_IF_ERROR(Put(keys[i], values[i], &only));
      if (only.exists) return Status::OK();
      ++i;
      *done = i;
    }
  }
  return Status::OK();
}

}  // namespace mvdb
