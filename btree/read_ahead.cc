#include "btree/read_ahead.h"

#include <algorithm>

#include "btree/btree_internal.h"
#include "btree/node.h"
#include "buffer/buffer_pool.h"

namespace mvdb::btree {

namespace {

// Gathers leaf ids in key order (or reverse) from the inner levels.
struct Collector {
  BTree::Impl* tree;
  bool forward;
  size_t max;
  std::vector<PageId>* out;
  std::string* last_low;  // lower bound of the last leaf gathered
};

// Gathers from inner node `guard`, `level` levels above the leaves plus one
// (2: its children are leaves), whose keys are all >= `low`. With `at_key`
// it starts at the child holding `key` (skipping that child's leaf at the
// bottom); otherwise at its first child (forward) or last (backward).
// False when it had to stop early (a page busy, damaged or not an inner
// node): what it gathered so far is still in key order.
bool Collect(Collector& c, const ReadPageGuard& guard, uint32_t level, std::string_view key,
             bool at_key, std::string_view low) {
  if (ConstPageView(guard.data()).type() != PageType::kBTreeInner) return false;
  const ConstNode node(guard.data());
  const int n = node.size();
  const int step = c.forward ? 1 : -1;
  const auto child = [&](int i) {
    return i < 0 ? node.leftmost_child() : node.child(static_cast<uint16_t>(i));
  };
  const auto low_of = [&](int i) { return i < 0 ? low : node.key(static_cast<uint16_t>(i)); };
  int j = at_key ? node.ChildIndexFor(key) : (c.forward ? -1 : n - 1);
  if (level == 2) {
    if (at_key) j += step;
    for (; j >= -1 && j < n && c.out->size() < c.max; j += step) {
      c.out->push_back(child(j));
      c.last_low->assign(low_of(j));
    }
    return true;
  }
  for (bool first = true; j >= -1 && j < n && c.out->size() < c.max; j += step, first = false) {
    const PageId id = child(j);
    if (id == guard.id() || id == c.tree->root) return false;
    // Shared latches, top-down, and never waiting: safe while the cursor
    // holds its leaf.
    Result<ReadPageGuard> next = c.tree->pool->TryFetchRead(id);
    if (!next.ok()) return false;
    if (!Collect(c, *next, level - 1, key, at_key && first, low_of(j))) return false;
  }
  return true;
}

}  // namespace

bool ReadAhead::InWindow(PageId id) const {
  return std::find(window_.begin(), window_.end(), id) != window_.end() ||
         std::find(previous_.begin(), previous_.end(), id) != previous_.end();
}

bool ReadAhead::Request(BTree::Impl* tree, std::string_view key, bool forward) {
  BufferPool* pool = tree->pool;
  const size_t window = std::min(kMaxWindow, pool->capacity() / 16);
  if (window < 2) return false;
  std::vector<PageId> leaves;
  std::string last_low;
  {
    Result<ReadPageGuard> root = pool->TryFetchRead(tree->root);
    if (!root.ok()) return false;
    // Read under the root latch, as the height's comment requires; 0 while
    // nobody has computed it, 1 when the root is the only leaf.
    const uint32_t levels = tree->height.load(std::memory_order_acquire);
    if (levels < 2 || levels > kMaxTreeHeight) return false;
    leaves.reserve(window);
    Collector collector{tree, forward, window, &leaves, &last_low};
    (void)Collect(collector, *root, levels, key, /*at_key=*/true, std::string_view());
  }
  if (leaves.empty()) return false;
  std::vector<PageId> missing;
  missing.reserve(leaves.size());
  for (PageId id : leaves) {
    if (!pool->IsCached(id)) missing.push_back(id);
  }
  previous_ = std::move(window_);
  window_ = std::move(leaves);
  resume_ = std::move(last_low);
  if (missing.empty()) return false;
  pool->StartLoads(missing);
  countdown_ = std::max<size_t>(1, window_.size() / 2);
  return true;
}

void ReadAhead::OnForwardLeaf(BTree::Impl* tree, PageId current, std::string_view last_key,
                              PageId next) {
  if (direction_ != 1) {
    direction_ = 1;
    active_ = false;
  }
  // A cursor that jumped elsewhere (a seek) left the window behind.
  if (active_ && !InWindow(current)) active_ = false;
  if (active_) {
    if (countdown_ > 1) {
      --countdown_;
      return;
    }
    active_ = Request(tree, resume_, /*forward=*/true);
    return;
  }
  if (tree->pool->IsCached(next)) return;
  active_ = Request(tree, last_key, /*forward=*/true);
}

void ReadAhead::OnBackwardLeaf(BTree::Impl* tree, PageId current, std::string_view first_key) {
  if (direction_ != -1) {
    direction_ = -1;
    active_ = false;
    idle_moves_ = 0;
  }
  if (active_ && !InWindow(current)) active_ = false;
  if (active_) {
    if (countdown_ > 1) {
      --countdown_;
      return;
    }
    active_ = Request(tree, resume_, /*forward=*/false);
    return;
  }
  // The leaf before is not known without a descent, which Request does:
  // while the scan stays in cached data, look only every few leaves.
  if (idle_moves_ > 0) {
    --idle_moves_;
    return;
  }
  active_ = Request(tree, first_key, /*forward=*/false);
  if (!active_) idle_moves_ = 8;
}

}  // namespace mvdb::btree
