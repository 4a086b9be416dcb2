// BTree: one named, ordered map from byte-string keys to byte-string values,
// stored as a B+tree of slotted pages in the buffer pool.
//
// Keys are compared byte-wise (memcmp, shorter first on a tie), are 1 to
// kMaxKeySize bytes long, and are unique within a tree. Values are 0 to
// kMaxValueSize bytes; values too large to share a leaf with other entries
// are stored in a chain of overflow pages. The latch protocol (which latches
// are taken in which order, and why no thread can deadlock or see a torn
// page) is the essay at the top of btree.cc.
//
// Threading: every method may be called concurrently from many threads.
// A BTree object belongs to its TreeStore and lives until the store closes
// or the tree is dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/page.h"
#include "mvdb/status.h"

namespace mvdb {

class BufferPool;
class CheckpointGate;
class PageAllocator;
class BTreeCursor;

// How a cursor reads its leaves.
enum class CursorMode : uint8_t {
  // Every move latches the leaf again and sees the tree as it is then, so a
  // thread that writes between moves sees its writes. Each entry is copied
  // out (its key and value).
  kLive,
  // The cursor copies a leaf once (the used bytes of the page, under the
  // latch) and moves inside the copy without latching anything: entries
  // are views into the copy. A seek copies only the entry it lands on (a
  // scan of one entry copies no page); the first move after it copies the
  // leaf, and a scan copies each further leaf as it reaches it. A move
  // within the leaf sees the leaf as it was when copied, not writes made
  // since (BTreeCursor's ordering promises hold: a key present for the whole
  // scan was in the copy). For readers that resolve entries against a
  // snapshot taken before the copy (txn/txn_iterator.cc), for which a
  // newer copy is as good. An overflow value is read under the leaf's
  // latch when the cursor reaches its entry (a descent for its key).
  kLeafCopy,
};

inline constexpr size_t kMaxKeySize = 1024;
inline constexpr size_t kMaxValueSize = size_t{64} << 20;  // 64 MiB

// What Check found, for `mvdb check` and tests.
struct TreeCheckReport {
  uint64_t height = 0;
  uint64_t leaf_pages = 0;
  uint64_t inner_pages = 0;
  uint64_t overflow_pages = 0;
  uint64_t entries = 0;
  uint64_t key_bytes = 0;
  uint64_t value_bytes = 0;
  double leaf_fill = 0;  // average fraction of leaf bytes in use
};

class BTree {
 public:
  // Opens the tree whose (never moving) root page is `root`. When `gate` is
  // not null, every modification (Put, Delete, Clear, Destroy,
  // ReleaseDeferredPages) holds it shared, so a checkpoint never sees one
  // half done (buffer/checkpoint_gate.h); it must outlive the tree.
  BTree(BufferPool* pool, PageAllocator* allocator, PageId root, std::string name,
        CheckpointGate* gate = nullptr);
  ~BTree();

  // Formats `root` (a freshly allocated page) as an empty tree's root.
  static Status FormatRoot(BufferPool* pool, PageId root);

  const std::string& name() const { return name_; }
  PageId root() const { return root_; }

  // Inserts `key` or replaces its value. InvalidArgument if the key is empty
  // or longer than kMaxKeySize, or the value longer than kMaxValueSize.
  Status Put(std::string_view key, std::string_view value);
  // Put for a key that is not there yet, in one descent: inserts `key` with
  // `value` (*inserted true), or, when the key is present, changes nothing
  // and copies its value into *existing (*inserted false). Errors as Put.
  Status Insert(std::string_view key, std::string_view value, bool* inserted,
                std::string* existing);
  // Insert for a run of entries (keys[i], values[i]) in increasing key
  // order: inserts them from the first while each key is absent, and stops
  // at the first key that is present, copying its value into *existing.
  // *done is the number inserted (all of them, or the index of the present
  // key). Keys that follow one another in a leaf go in under one latch of
  // it, without a descent each, so a load in key order descends about once
  // a leaf; keys out of order are inserted correctly, each with its own
  // descent. Errors as Put (a key or value out of bounds is checked before
  // anything is inserted); on an error, *done entries are in the tree.
  // InvalidArgument if keys.size() != values.size(). REQUIRES: existing is
  // not null.
  Status InsertRun(std::span<const std::string_view> keys, std::span<const std::string_view> values,
                   size_t* done, std::string* existing);
  // Copies the value of `key` into *value. NotFound if absent.
  Status Get(std::string_view key, std::string* value);
  // Copies the value of `key` once, split in two: its first head.size()
  // bytes into `head`, the rest into *rest (assigned, reusing its capacity).
  // For callers that keep a fixed-size header in front of every value (the
  // MVCC layer's version) and check it without copying the value again.
  // NotFound if absent; Corruption if the value is shorter than `head`.
  // *rest is unspecified when the status is not OK.
  Status GetSplit(std::string_view key, std::span<char> head, std::string* rest);
  // Removes `key`. NotFound if absent.
  Status Delete(std::string_view key);

  // A cursor over the whole tree, initially not positioned (not Valid).
  // It holds no latch between calls, so it may be kept while the same
  // thread writes to the tree. `mode`: see CursorMode.
  // REQUIRES: destroyed before the tree.
  std::unique_ptr<BTreeCursor> NewCursor(CursorMode mode = CursorMode::kLive);

  // Verifies the tree: checksums of every page, key order within and across
  // pages, separator keys bounding their subtrees, sibling links, equal leaf
  // depth, every page reached once, overflow chains. Reports the first
  // violation as Corruption naming the page. Also adds every page id of the
  // tree to *pages_seen when it is not null (to check the free list).
  // Runs while writers are paused by the caller.
  Status Check(TreeCheckReport* report, std::vector<PageId>* pages_seen = nullptr);

  // Frees every page of the tree except the root, which is left empty.
  // REQUIRES: no concurrent use of the tree.
  Status Clear();
  // Frees every page including the root. REQUIRES: no concurrent use.
  Status Destroy();

  // Frees the pages that left the tree while a cursor was about to look at
  // them (their release is deferred until it has moved on). Deletes retry
  // this on their own; TreeStore::Close calls it so no page stays unfreed.
  Status ReleaseDeferredPages();

  // The implementation, in btree_internal.h; named here only so the files
  // of the tree (cursor.cc, check.cc) can reach it.
  struct Impl;

 private:
  friend class BTreeCursor;
  std::unique_ptr<Impl> impl_;
  PageId root_;
  std::string name_;
  CheckpointGate* gate_;
};

// A position in a BTree, moving in key order in both directions.
//
// key() and value() are valid until the next call that moves the cursor
// (they may be passed to that call, as in Seek(key())).
// Concurrent writers may change the tree between calls: a move then
// continues from the key the cursor was on (the next key greater, or for
// Prev smaller, than it), so a scan never returns a key twice or out of
// order, and sees every key that was present for the whole scan.
class BTreeCursor {
 public:
  virtual ~BTreeCursor() = default;

  virtual bool Valid() const = 0;
  // Not OK if a page could not be read; the cursor is then not Valid.
  virtual Status status() const = 0;

  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // First key >= target.
  virtual void Seek(std::string_view target) = 0;
  // Last key <= target.
  virtual void SeekForPrev(std::string_view target) = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  virtual void Prev() = 0;

  // REQUIRES: Valid().
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
};

}  // namespace mvdb
