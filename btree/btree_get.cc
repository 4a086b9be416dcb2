// Point lookups without latches: optimistic lock coupling over the buffer
// pool's frame versions (invariant 11 of the essay in btree.cc).
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

}  // namespace

BTree::Impl::Attempt BTree::Impl::GetOptimistic(std::string_view key, std::span<char> head,
                                                std::string* rest, Status* status) {
  OptimisticPage page;
  OptimisticStatus found = pool->ReadOptimistic(root, &page);
  if (found != OptimisticStatus::kOk) {
    return found == OptimisticStatus::kMiss ? Attempt::kLatched : Attempt::kRestart;
  }
  // Written only while the root's version is odd, so the root's validation
  // below (as a parent, or as the leaf) proves this was the height.
  const uint32_t levels = height.load(std::memory_order_acquire);
  if (levels == 0 || levels > kMaxTreeHeight) {
    return Attempt::kLatched;  // not computed yet: the latched path does it
  }
  // Anything malformed is a torn read if the page changed meanwhile, and
  // corruption if not; the latched path then reports it, naming the page.
  const auto malformed = [&page] {
    return page.Validate() ? Attempt::kLatched : Attempt::kRestart;
  };
  PageId id = root;
  for (uint32_t level = levels; level > 1; --level) {
    const OptimisticNode node(page.data);
    PageId child = kInvalidPageId;
    if (node.type() != PageType::kBTreeInner || !node.ChildFor(key, &child) || child == id ||
        child == root || child == kInvalidPageId) {
      return malformed();
    }
    OptimisticPage next;
    found = pool->ReadOptimistic(child, &next);
    // Lock coupling: the parent unchanged since it was read means `child`
    // was its child when the child's version was read; any change to the
    // child since then shows in that version.
    if (!page.Validate()) {
      return Attempt::kRestart;
    }
    if (found != OptimisticStatus::kOk) {
      return found == OptimisticStatus::kMiss ? Attempt::kLatched : Attempt::kRestart;
    }
    page = next;
    id = child;
  }
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

}  // namespace mvdb
