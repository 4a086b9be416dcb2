// Descents without latches: optimistic lock coupling over the buffer pool's
// frame versions (invariant 11 of the essay in btree.cc). Point lookups are
// optimistic all the way; the leaf searches of writers and cursors are
// optimistic down to the leaf's parent and latch from there.
#include <algorithm>
#include <string>

#include "btree/btree_internal.h"
#include "btree/node.h"
#include "buffer/page_access.h"

namespace mvdb {

using btree::OptimisticNode;

namespace {

// Attempts before giving up on the optimistic path for one lookup. A
// restart means a writer changed a page on the path meanwhile; after this
// many the lookup queues on the latches instead, so it always finishes.
constexpr int kOptimisticAttempts = 16;

void Pause(int attempt) {
  for (int i = 0; i < (1 << std::min(attempt, 6)); ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

// The descents to a leaf: optimistic attempts (restarting after a pause
// while writers change the path), the latched descent when an attempt
// cannot finish or after kOptimisticAttempts.
template <class Guard, class Optimistic, class Latched>
Result<Guard> OptimisticFirst(Optimistic optimistic, Latched latched) {
  using Attempt = decltype(optimistic(nullptr, nullptr));  // BTree::Impl::Attempt
  for (int attempt = 0; attempt < kOptimisticAttempts; ++attempt) {
    Guard leaf;
    Status status;
    switch (optimistic(&leaf, &status)) {
      case Attempt::kDone:
        if (!status.ok()) return status;
        return Result<Guard>(std::move(leaf));
      case Attempt::kLatched:
        return latched();
      case Attempt::kRestart:
        Pause(attempt);
        break;
    }
  }
  return latched();
}

}  // namespace

BTree::Impl::Attempt BTree::Impl::OptimisticChild(const OptimisticPage& parent, PageId parent_id,
                                                  std::string_view key, PageId* child) const {
  const OptimisticNode node(parent.data);
  if (node.type() != PageType::kBTreeInner || !node.ChildFor(key, child) || *child == parent_id ||
      *child == root || *child == kInvalidPageId) {
    // A torn read if the page changed meanwhile, corruption if not; the
    // latched path then reports it, naming the page.
    return parent.Validate() ? Attempt::kLatched : Attempt::kRestart;
  }
  return Attempt::kDone;
}

BTree::Impl::Attempt BTree::Impl::DescendOptimistic(std::string_view key, uint32_t stop_level,
                                                    OptimisticPage* page, PageId* id,
                                                    uint32_t* levels) {
  OptimisticStatus found = pool->ReadOptimistic(root, page);
  if (found != OptimisticStatus::kOk) {
    return found == OptimisticStatus::kMiss ? Attempt::kLatched : Attempt::kRestart;
  }
  // Stored only while the root's version is odd, so the root's validation
  // (as a parent, or as the last node) proves this was the height.
  *levels = height.load(std::memory_order_acquire);
  if (*levels == 0 || *levels > kMaxTreeHeight) {
    return Attempt::kLatched;  // not computed yet: the latched path does it
  }
  if (*levels < stop_level) {
    return Attempt::kLatched;  // the tree is too small for this descent
  }
  *id = root;
  for (uint32_t level = *levels; level > stop_level; --level) {
    PageId child = kInvalidPageId;
    if (const Attempt attempt = OptimisticChild(*page, *id, key, &child);
        attempt != Attempt::kDone) {
      return attempt;
    }
    OptimisticPage next;
    found = pool->ReadOptimistic(child, &next);
    // Lock coupling: the parent unchanged since it was read means `child`
    // was its child when the child's version was read; any change to the
    // child since then shows in that version.
    if (!page->Validate()) {
      return Attempt::kRestart;
    }
    if (found != OptimisticStatus::kOk) {
      return found == OptimisticStatus::kMiss ? Attempt::kLatched : Attempt::kRestart;
    }
    *page = next;
    *id = child;
  }
  return Attempt::kDone;
}

BTree::Impl::Attempt BTree::Impl::GetOptimistic(std::string_view key, std::span<char> head,
                                                std::string* rest, Status* status) {
  OptimisticPage page;
  PageId id = kInvalidPageId;
  uint32_t levels = 0;
  if (const Attempt attempt = DescendOptimistic(key, 1, &page, &id, &levels);
      attempt != Attempt::kDone) {
    return attempt;
  }
  const auto malformed = [&page] {
    return page.Validate() ? Attempt::kLatched : Attempt::kRestart;
  };
  const OptimisticNode leaf(page.data);
  OptimisticNode::Found value;
  if (leaf.type() != PageType::kBTreeLeaf || !leaf.Find(key, &value)) {
    return malformed();
  }
  if (!value.present) {
    if (!page.Validate()) {
      return Attempt::kRestart;
    }
    pool->CountOptimisticHits(levels);
    rest->clear();  // an earlier attempt may have copied a value into it
    *status = Status::NotFound("no such key");
    return Attempt::kDone;
  }
  if (value.overflow || value.value_size < head.size()) {
    // Overflow chains are read under the leaf latch (invariant 7); a value
    // shorter than the head is Corruption, reported by the latched path.
    return malformed();
  }
  page_access::CopyOut(page.data, value.value_offset, head.size(), head.data());
  const size_t rest_size = value.value_size - head.size();
  rest->resize(rest_size);
  page_access::CopyOut(page.data, value.value_offset + head.size(), rest_size, rest->data());
  if (!page.Validate()) {
    return Attempt::kRestart;
  }
  pool->CountOptimisticHits(levels);
  *status = Status::OK();
  return Attempt::kDone;
}

BTree::Impl::Attempt BTree::Impl::FindLeafSharedOptimistic(std::string_view key,
                                                           ReadPageGuard* leaf, Status* status) {
  OptimisticPage parent;
  PageId parent_id = kInvalidPageId;
  uint32_t levels = 0;
  if (const Attempt attempt = DescendOptimistic(key, 2, &parent, &parent_id, &levels);
      attempt != Attempt::kDone) {
    return attempt;
  }
  PageId child = kInvalidPageId;
  if (const Attempt attempt = OptimisticChild(parent, parent_id, key, &child);
      attempt != Attempt::kDone) {
    return attempt;
  }
  // Latched while holding nothing, so waiting cannot close a cycle. If the
  // parent is unchanged after the leaf is latched, `child` is the leaf for
  // `key` now, and stays so while the latch keeps splits and unlinks out.
  // Otherwise `child` may have left the tree; it is let go untouched.
  // `child` came from an unvalidated read: check it before any I/O for it.
  if (!parent.Validate()) {
    return Attempt::kRestart;
  }
  Result<ReadPageGuard> fetched = pool->FetchRead(child);
  if (!parent.Validate()) {
    return Attempt::kRestart;
  }
  if (!fetched.ok()) {
    *status = fetched.status();
    return Attempt::kDone;
  }
  pool->CountOptimisticHits(levels - 1);
  *status = ExpectNode(fetched->data(), child, /*leaf=*/true);
  *leaf = std::move(*fetched);
  return Attempt::kDone;
}

BTree::Impl::Attempt BTree::Impl::FindLeafExclusiveOptimistic(std::string_view key,
                                                              WritePageGuard* leaf,
                                                              Status* status) {
  OptimisticPage parent;
  PageId parent_id = kInvalidPageId;
  uint32_t levels = 0;
  if (const Attempt attempt = DescendOptimistic(key, 2, &parent, &parent_id, &levels);
      attempt != Attempt::kDone) {
    return attempt;
  }
  // A write guard marks its page dirty, so it must never be taken on a page
  // that may have left the tree: latch the parent shared (holding nothing,
  // so the wait cannot close a cycle) and check it is the image read; then
  // crab to the leaf as the latched descent does.
  Result<ReadPageGuard> latched_parent = pool->FetchRead(parent_id);
  if (!latched_parent.ok() || !parent.Validate()) {
    return latched_parent.ok() ? Attempt::kRestart : Attempt::kLatched;
  }
  Result<PageId> child = InnerChildFor(*latched_parent, key);
  if (!child.ok()) {
    *status = child.status();
    return Attempt::kDone;
  }
  Result<WritePageGuard> fetched = pool->FetchWrite(*child);
  latched_parent->Release();
  if (!fetched.ok()) {
    *status = fetched.status();
    return Attempt::kDone;
  }
  pool->CountOptimisticHits(levels - 1);
  *status = ExpectNode(fetched->data(), *child, /*leaf=*/true);
  *leaf = std::move(*fetched);
  return Attempt::kDone;
}

Status BTree::Impl::GetSplit(std::string_view key, std::span<char> head, std::string* rest) {
  for (int attempt = 0; attempt < kOptimisticAttempts; ++attempt) {
    Status status;
    switch (GetOptimistic(key, head, rest, &status)) {
      case Attempt::kDone:
        return status;
      case Attempt::kLatched:
        return GetSplitLatched(key, head, rest);
      case Attempt::kRestart:
        Pause(attempt);
        break;
    }
  }
  return GetSplitLatched(key, head, rest);
}

Result<ReadPageGuard> BTree::Impl::FindLeafShared(std::string_view key) {
  return OptimisticFirst<ReadPageGuard>(
      [&](ReadPageGuard* leaf, Status* status) {
        return FindLeafSharedOptimistic(key, leaf, status);
      },
      [&] { return FindLeafSharedLatched(key); });
}

Result<WritePageGuard> BTree::Impl::FindLeafExclusive(std::string_view key) {
  return OptimisticFirst<WritePageGuard>(
      [&](WritePageGuard* leaf, Status* status) {
        return FindLeafExclusiveOptimistic(key, leaf, status);
      },
      [&] { return FindLeafExclusiveLatched(key); });
}

}  // namespace mvdb
