// ReadAhead: a cursor's read-ahead past the buffer pool.
//
// A scan that misses the pool would otherwise read one leaf at a time, each
// read a round trip the scan waits for. When a scan moves to a leaf that is
// not cached, ReadAhead reads the parent level (the inner nodes just above
// the leaves name the next leaves in key order) and asks the pool to load
// the next `window` leaves in one batch on its loader thread
// (BufferPool::StartLoads); the cursor's own fetch of each leaf then finds
// it loaded, or waits for the load under way. Once the cursor has used half
// a window, the next window is requested, continuing after the last leaf
// asked for, so the pool holds at most about one and a half windows ahead
// of the scan. It stops when a window finds every leaf cached (the scan has
// reached cached data) and starts again at the next miss.
//
// Only a hint, never a source of truth or of errors: the inner nodes are
// latched with TryFetchRead (never waiting, so the descent may run while
// the cursor holds its leaf latch, against the latch order), anything odd
// (a page that is busy, damaged, not an inner node, a tree that changed)
// just ends the attempt, and a leaf id that is stale by the time it is
// loaded costs one wasted read. The cursor's fetches alone decide what the
// scan returns and report errors.
//
// Threading: one ReadAhead per cursor, used by the cursor's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "btree/btree.h"
#include "buffer/page.h"

namespace mvdb::btree {

class ReadAhead {
 public:
  // Leaves requested per window: at most kMaxWindow and a sixteenth of the
  // pool (no read-ahead in a pool of fewer than 32 frames).
  static constexpr size_t kMaxWindow = 64;

  ReadAhead() = default;
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // A forward scan is leaving leaf `current`, whose last key is `last_key`,
  // for its right sibling `next`.
  void OnForwardLeaf(BTree::Impl* tree, PageId current, std::string_view last_key, PageId next);
  // A backward scan is leaving leaf `current`, whose first key is
  // `first_key`, for the leaf before it.
  void OnBackwardLeaf(BTree::Impl* tree, PageId current, std::string_view first_key);

 private:
  // Requests the window of leaves after (forward) or before the leaf that
  // holds `key`; false when none of them needed loading.
  bool Request(BTree::Impl* tree, std::string_view key, bool forward);
  bool InWindow(PageId id) const;

  int direction_ = 0;  // +1 forward, -1 backward, 0 not yet known
  bool active_ = false;
  size_t countdown_ = 0;          // leaf moves before the next window is requested
  size_t idle_moves_ = 0;         // backward: moves since the last look
  std::string resume_;            // a key of the last leaf requested
  std::vector<PageId> window_;    // the leaves of the current window
  std::vector<PageId> previous_;  // and of the window before it
};

}  // namespace mvdb::btree
