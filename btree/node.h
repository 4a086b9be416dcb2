// B+tree nodes: slotted pages, as views over a page's bytes.
//
// btree/node_format.md documents the bytes with an offset table; in short:
// after the 32-byte page header comes a node header, then an array of 6-byte
// slots growing up, sorted by key, and cells growing down from the end of
// the page. A slot holds the cell's offset and a 4-byte hint: the key's
// bytes just after the prefix all keys of the node share, as a big-endian
// number, so a binary search compares hints in the contiguous slot array
// and reads a cell only when two hints tie. Deleting a cell leaves a hole
// that is counted (fragmented bytes) and reclaimed by compaction when an
// insert needs it.
//
//   leaf cell:  key_len u16 | flags u8 | value_len u32 | key | value bytes
//               (flags bit 0 set: instead of the value, the id u64 of the
//               first overflow page; value_len is the whole value's length)
//   inner cell: key_len u16 | child u64 | key
//
// An inner node with n cells has n + 1 children: leftmost_child holds keys
// below cell 0's key; cell i's child holds keys >= key i and < key i+1.
//
// Views never trust the bytes blindly: ValidateNode checks every slot, cell
// bound and length once when a page enters the buffer pool, and the
// accessors below assume a validated page (or one this process built).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "buffer/page.h"
#include "mvdb/status.h"

namespace mvdb::btree {

inline constexpr size_t kNodeHeaderSize = 32;  // after the page header
inline constexpr size_t kSlotSize = 6;         // cell offset u16, key hint u32
// A leaf cell larger than this stores its value in overflow pages, so a
// leaf always holds at least four cells and a split always succeeds.
inline constexpr size_t kMaxInlineLeafCell =
    (kPageSize - kPageHeaderSize - kNodeHeaderSize) / 4 - kSlotSize;
inline constexpr size_t kLeafCellOverhead = 7;    // key_len + flags + value_len
inline constexpr size_t kInnerCellOverhead = 10;  // key_len + child

// Bytes a leaf cell for (key, value) takes, slot included, when the value is
// stored inline; and whether it must go to overflow pages instead.
size_t LeafCellSize(size_t key_size, size_t value_size);
bool NeedsOverflow(size_t key_size, size_t value_size);
// Bytes a leaf cell whose value lives in overflow pages takes, slot included.
size_t OverflowLeafCellSize(size_t key_size);
size_t InnerCellSize(size_t key_size);

// Checks that `page` (already checksum-verified, type leaf or inner) is a
// well-formed node: slot count, every slot and cell inside the page, cells
// not overlapping the slot array, lengths within bounds, keys strictly
// increasing. Corruption names the page and the offending offset.
Status ValidateNode(std::span<const std::byte> page, PageId id);

// Read-only access to either kind of node.
class ConstNode {
 public:
  explicit ConstNode(std::span<const std::byte> page) : page_(page) {}

  bool is_leaf() const;
  uint16_t size() const;  // number of cells
  std::string_view key(uint16_t i) const;
  // First slot whose key is >= target (size() if none); *exact tells
  // whether that key equals target. Reads cells only where hints tie, and
  // one more when the node's keys share a prefix and target is not in it.
  uint16_t LowerBound(std::string_view target, bool* exact) const;
  // Bytes still usable for new cells (contiguous gap plus fragmented).
  size_t FreeSpace() const;
  // Bytes of the body in use by slots and cells.
  size_t UsedSpace() const;
  // Bytes every key of the node starts with, as far as the hints know: the
  // hints are of the bytes after them (0 in an empty node).
  uint16_t prefix_size() const;

  // Leaf only.
  PageId next_leaf() const;  // kInvalidPageId at the right end
  PageId prev_leaf() const;  // kInvalidPageId at the left end
  bool is_overflow(uint16_t i) const;
  uint32_t value_size(uint16_t i) const;
  std::string_view inline_value(uint16_t i) const;  // REQUIRES: !is_overflow(i)
  PageId overflow_page(uint16_t i) const;           // REQUIRES: is_overflow(i)

  // Inner only.
  PageId leftmost_child() const;
  PageId child(uint16_t i) const;  // child of cell i
  // The child whose subtree holds `target`.
  PageId ChildFor(std::string_view target) const;
  // Index of the child pointer for `target`: -1 for leftmost_child, else the
  // cell index whose child it is.
  int ChildIndexFor(std::string_view target) const;

  std::span<const std::byte> bytes() const { return page_; }
  // Copies what a reader of the node looks at (page and node headers, slot
  // array, cell area) into `out` (kPageSize bytes), leaving the gap between
  // slots and cells as it was: a full leaf's bytes minus its free space. A
  // node whose header does not bound those regions is copied whole.
  void CopyTo(std::span<std::byte> out) const;

 protected:
  std::span<const std::byte> page_;
};

// Read-only access to a node read optimistically (buffer_pool.h, invariant
// 6): the bytes may change while it reads them. Every byte is read through
// buffer/page_access.h, and every offset and length read from the page is
// bounded before it is used, so a torn page can make a method return a
// wrong answer, never read outside the page or loop without end. A method
// returns false when what it read cannot be a well-formed node (torn or
// corrupt). Nothing it returns may be trusted before the caller validated
// the page's version.
class OptimisticNode {
 public:
  // REQUIRES: `page` is kPageSize bytes, 8-byte aligned (a buffer frame).
  explicit OptimisticNode(const std::byte* page) : page_(page) {}

  PageType type() const;
  // Inner nodes: the child whose subtree holds `target`.
  bool ChildFor(std::string_view target, PageId* child) const;

  // Leaves: where the value of `target` is, if present.
  struct Found {
    bool present = false;
    bool overflow = false;    // the value is in overflow pages
    size_t value_offset = 0;  // inline value: its page offset
    uint32_t value_size = 0;  // the whole value's length
  };
  bool Find(std::string_view target, Found* found) const;

 private:
  // The key of slot i: its page offset and length, bounded to the page.
  bool KeyAt(size_t i, bool leaf, size_t* offset, size_t* length) const;
  // memcmp order of the key at [offset, offset + length) against target.
  int CompareKey(size_t offset, size_t length, std::string_view target) const;
  bool LowerBound(std::string_view target, bool leaf, size_t* index, bool* exact) const;

  const std::byte* page_;
};

// Mutable access. Only a WritePageGuard hands out the bytes it needs.
class Node : public ConstNode {
 public:
  explicit Node(std::span<std::byte> page) : ConstNode(page), mpage_(page) {}

  // Formats an empty node (keeps the page header's id; sets type and node
  // header; links set to kInvalidPageId).
  void InitLeaf();
  void InitInner(PageId leftmost_child);

  void set_next_leaf(PageId id);
  void set_prev_leaf(PageId id);
  void set_leftmost_child(PageId id);
  void set_child(uint16_t i, PageId id);

  // Inserts a cell at slot i (callers find i with LowerBound). Return false,
  // changing nothing, when the cell does not fit even after compaction.
  // REQUIRES: key order is kept; leaf value inline fits (!NeedsOverflow).
  bool InsertLeaf(uint16_t i, std::string_view key, std::string_view value);
  bool InsertLeafOverflow(uint16_t i, std::string_view key, uint32_t value_size,
                          PageId first_overflow);
  bool InsertInner(uint16_t i, std::string_view key, PageId child);
  // Removes cell i, leaving a hole counted as fragmented space.
  void Remove(uint16_t i);
  // Rewrites the cells contiguously, reclaiming all fragmented space.
  void Compact();

  // Moves cells [from, size()) to the empty node `right` (same kind),
  // compacting this node. For an inner node, cell `from` is not copied: its
  // key is the separator to push up and its child becomes right's
  // leftmost_child. Returns the separator key for the parent: the first
  // key of `right` for leaves, cell from's key for inner nodes.
  std::string MoveUpperHalfTo(uint16_t from, Node* right);
  // A split point so both halves hold about the same number of bytes.
  uint16_t SplitPoint() const;

  std::span<std::byte> mutable_bytes() const { return mpage_; }

 private:
  std::span<std::byte> mpage_;
};

}  // namespace mvdb::btree
