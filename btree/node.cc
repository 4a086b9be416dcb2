// Slotted B+tree nodes. btree/node_format.md documents the bytes; this file
// keeps them. The invariants every node this code builds keeps, and that
// ValidateNode checks on every node read from disk:
//
//   1. The slot array [64, 64 + 6 * slot_count) lies below content_start,
//      and content_start <= kPageSize: slots grow up, cells grow down, and
//      the gap between them is free.
//   2. Every slot points at a cell wholly inside [content_start, kPageSize),
//      and no two cells overlap.
//   3. The cells' bytes plus fragmented_bytes equal kPageSize - content_start
//      exactly: every byte of the cell area is either in a cell or counted
//      as a hole. That is what lets FreeSpace() promise that compaction
//      really yields gap + fragmented bytes, so Insert can decide "fits" or
//      "does not fit" before it changes anything.
//   4. Keys strictly increase with the slot index (memcmp order, shorter
//      first on a tie), so LowerBound can stop at the first equal key.
//   5. A leaf cell with its slot takes at most kMaxInlineLeafCell bytes, an
//      inner cell at most InnerCellSize(kMaxKeySize). A leaf that cannot
//      take a new cell therefore holds at least four cells, and a
//      byte-balanced split leaves room for any cell in either half (the
//      argument is in node_format.md).
//   6. Every key is at least prefix_size bytes long and starts with the same
//      prefix_size bytes (0 in an empty node), and every slot's hint is
//      KeyHint(key, prefix_size). Hints are then ordered like the keys
//      (non-decreasing with the slot index), so for a target that starts
//      with the prefix, hint(target) < hint(key) implies target < key and
//      the reverse; only equal hints need the keys themselves. The prefix
//      may be shorter than the keys' longest common one (a Remove does not
//      lengthen it); an insert of a key outside it shortens it and rewrites
//      the hints, and compaction and splits lengthen it again.
//
// The accessors trust these invariants (they were checked once, when the
// page entered the buffer pool); only ValidateNode reads bytes it has not
// checked, and it reads nothing before checking its bounds.
#include "btree/node.h"

#include <boost/endian/conversion.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <string_view>

#include "btree/btree.h"
#include "buffer/page_access.h"
#include "common/coding.h"

namespace mvdb::btree {
namespace {

// Node header, offsets from the start of the page.
constexpr size_t kSlotCountOffset = kPageHeaderSize + 0;
constexpr size_t kContentStartOffset = kPageHeaderSize + 2;
constexpr size_t kFragmentedOffset = kPageHeaderSize + 4;
constexpr size_t kPrevLeafOffset = kPageHeaderSize + 8;
constexpr size_t kNextLeafOffset = kPageHeaderSize + 16;
constexpr size_t kPrefixSizeOffset = kPageHeaderSize + 6;
constexpr size_t kLeftmostChildOffset = kPageHeaderSize + 24;
constexpr size_t kSlotsOffset = kPageHeaderSize + kNodeHeaderSize;
// Slot fields, offsets from the start of the slot.
constexpr size_t kSlotCellOffset = 0;
constexpr size_t kSlotHintOffset = 2;
constexpr size_t kHintSize = 4;
constexpr size_t kCacheLine = 64;
// LowerBound prefetches slot arrays up to this size: a full leaf of small
// entries and a typical inner node.
constexpr size_t kPrefetchedSlotBytes = 1024;

// A binary search's probes depend on each other, so in a cold page each
// would wait for its own cache miss; asking for the whole slot array of
// `count` slots up front (a few lines in a leaf) lets the misses overlap.
// A prefetch never faults, so a torn count read optimistically is harmless.
inline void PrefetchSlots(const std::byte* page, size_t count) {
  const size_t slot_bytes = count * kSlotSize;
  if (slot_bytes > kPrefetchedSlotBytes) return;
  for (size_t line = 0; line < slot_bytes; line += kCacheLine) {
    __builtin_prefetch(page + kSlotsOffset + line);
  }
}
// The most slots a page can hold, empty cells aside; bounds ValidateNode's
// scratch array.
constexpr size_t kMaxSlots = (kPageSize - kSlotsOffset) / kSlotSize;

// Cell fields, offsets from the start of the cell.
constexpr size_t kCellKeyLenOffset = 0;
constexpr size_t kLeafFlagsOffset = 2;
constexpr size_t kLeafValueLenOffset = 3;
constexpr size_t kInnerChildOffset = 2;
constexpr uint8_t kLeafFlagOverflow = 0x01;
constexpr size_t kOverflowRefSize = 8;

uint16_t Load16(const std::byte* base, size_t offset) { return DecodeFixed16(base + offset); }
uint32_t Load32(const std::byte* base, size_t offset) { return DecodeFixed32(base + offset); }
uint64_t Load64(const std::byte* base, size_t offset) { return DecodeFixed64(base + offset); }
// Every store to a node goes through buffer/page_access.h with the page's
// own start as base: optimistic readers may be reading the page meanwhile.
void Store16(std::byte* page, size_t offset, size_t v) {
  page_access::Store16(page, offset, static_cast<uint16_t>(v));
}

size_t KeyOffsetInCell(bool leaf) { return leaf ? kLeafCellOverhead : kInnerCellOverhead; }

size_t SlotPosition(size_t i) { return kSlotsOffset + i * kSlotSize; }
size_t CellOffsetAt(const std::byte* page, size_t i) {
  return Load16(page, SlotPosition(i) + kSlotCellOffset);
}
uint32_t HintAt(const std::byte* page, size_t i) {
  return Load32(page, SlotPosition(i) + kSlotHintOffset);
}

// The key's bytes [prefix, prefix + 4) as a big-endian number, bytes past
// its end read as zero: so hints order like the keys' suffixes, except that
// a key and its extension by zero bytes tie (the full comparison decides).
uint32_t KeyHint(const char* key, size_t len, size_t prefix) {
  if (len >= prefix + kHintSize) {
    return boost::endian::load_big_u32(reinterpret_cast<const unsigned char*>(key + prefix));
  }
  uint32_t hint = 0;
  for (size_t j = 0; j < kHintSize; ++j) {
    hint <<= 8;
    if (prefix + j < len) {
      hint |= static_cast<uint8_t>(key[prefix + j]);
    }
  }
  return hint;
}

size_t CommonPrefixSize(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) {
    ++i;
  }
  return i;
}

// Key of slot i. Trusts the page.
std::string_view KeyAt(const std::byte* page, size_t i, bool leaf) {
  const size_t offset = CellOffsetAt(page, i);
  return {reinterpret_cast<const char*>(page + offset + KeyOffsetInCell(leaf)),
          Load16(page, offset + kCellKeyLenOffset)};
}

// memcmp order, a proper prefix first.
int CompareKeys(const std::byte* a, size_t a_len, std::string_view b) {
  const size_t common = std::min(a_len, b.size());
  if (common != 0) {
    const int c = std::memcmp(a, b.data(), common);
    if (c != 0) {
      return c;
    }
  }
  return a_len < b.size() ? -1 : (a_len > b.size() ? 1 : 0);
}

// Bytes of the cell at `offset`, slot excluded. Trusts the page.
size_t CellSize(const std::byte* page, size_t offset, bool leaf) {
  const size_t key_len = Load16(page, offset + kCellKeyLenOffset);
  if (!leaf) {
    return kInnerCellOverhead + key_len;
  }
  const bool overflow =
      (static_cast<uint8_t>(page[offset + kLeafFlagsOffset]) & kLeafFlagOverflow) != 0;
  const size_t value_bytes =
      overflow ? kOverflowRefSize : Load32(page, offset + kLeafValueLenOffset);
  return kLeafCellOverhead + key_len + value_bytes;
}

bool PageIsLeaf(const std::byte* page) {
  return page[page_header::kTypeOffset] == static_cast<std::byte>(PageType::kBTreeLeaf);
}

// Sets the node's prefix size and recomputes every slot's hint for it.
// REQUIRES: every key starts with the same `prefix` bytes (invariant 6).
void Rehint(std::byte* page, size_t prefix) {
  const bool leaf = PageIsLeaf(page);
  const size_t count = Load16(page, kSlotCountOffset);
  Store16(page, kPrefixSizeOffset, prefix);
  for (size_t i = 0; i < count; ++i) {
    const std::string_view key = KeyAt(page, i, leaf);
    page_access::Store32(page, SlotPosition(i) + kSlotHintOffset,
                         KeyHint(key.data(), key.size(), prefix));
  }
}

// Lengthens the prefix to all the keys share: the first and the last key's
// common prefix, which every key between them starts with too.
void RefreshPrefix(std::byte* page) {
  const bool leaf = PageIsLeaf(page);
  const size_t count = Load16(page, kSlotCountOffset);
  const size_t prefix =
      count == 0 ? 0 : CommonPrefixSize(KeyAt(page, 0, leaf), KeyAt(page, count - 1, leaf));
  if (prefix != Load16(page, kPrefixSizeOffset)) {
    Rehint(page, prefix);
  }
}

// Rewrites the cells of `page` contiguously at the end of the page in slot
// order, so the gap holds all free space. Keeps slot order and contents.
void CompactPage(std::byte* page) {
  const bool leaf = PageIsLeaf(page);
  const size_t count = Load16(page, kSlotCountOffset);
  const size_t old_start = Load16(page, kContentStartOffset);
  std::array<std::byte, kPageSize> copy{};
  std::memcpy(copy.data() + old_start, page + old_start, kPageSize - old_start);
  size_t start = kPageSize;
  for (size_t i = 0; i < count; ++i) {
    const size_t slot = SlotPosition(i) + kSlotCellOffset;
    const size_t offset = Load16(page, slot);
    const size_t size = CellSize(copy.data(), offset, leaf);
    start -= size;
    page_access::CopyIn(page, start, copy.data() + offset, size);
    Store16(page, slot, start);
  }
  Store16(page, kContentStartOffset, start);
  Store16(page, kFragmentedOffset, 0);
  RefreshPrefix(page);
}

// Makes room for a cell of `cell_size` bytes holding `key` at slot `index`,
// compacting when the gap is too small, and returns the page offset its
// bytes go to; 0, with nothing changed, when it does not fit. The slot gets
// its hint; a key outside the node's prefix shortens the prefix first.
size_t AllocateCell(std::byte* page, uint16_t index, size_t cell_size, std::string_view key) {
  const size_t count = Load16(page, kSlotCountOffset);
  assert(index <= count);
  const size_t slots_end = kSlotsOffset + count * kSlotSize;
  const size_t need = cell_size + kSlotSize;
  size_t start = Load16(page, kContentStartOffset);
  if (start - slots_end < need) {
    if (start - slots_end + Load16(page, kFragmentedOffset) < need) {
      return 0;
    }
    CompactPage(page);
    start = Load16(page, kContentStartOffset);
  }
  size_t prefix = Load16(page, kPrefixSizeOffset);
  if (prefix > 0 && count > 0) {
    const std::string_view shared = KeyAt(page, 0, PageIsLeaf(page)).substr(0, prefix);
    const size_t common = CommonPrefixSize(key, shared);
    if (common < prefix) {
      prefix = common;
      Rehint(page, prefix);
    }
  }
  start -= cell_size;
  const size_t slot = SlotPosition(index);
  page_access::Move(page, slot + kSlotSize, slot, (count - index) * kSlotSize);
  Store16(page, slot + kSlotCellOffset, start);
  page_access::Store32(page, slot + kSlotHintOffset, KeyHint(key.data(), key.size(), prefix));
  Store16(page, kSlotCountOffset, count + 1);
  Store16(page, kContentStartOffset, start);
  return start;
}

void InitNode(std::span<std::byte> page, PageType type, PageId leftmost_child) {
  std::byte* p = page.data();
  page_access::Store8(p, page_header::kTypeOffset, static_cast<uint8_t>(type));
  page_access::Fill(p, kPageHeaderSize, std::byte{0}, kPageSize - kPageHeaderSize);
  Store16(p, kContentStartOffset, kPageSize);
  page_access::Store64(p, kPrevLeafOffset, kInvalidPageId);
  page_access::Store64(p, kNextLeafOffset, kInvalidPageId);
  page_access::Store64(p, kLeftmostChildOffset, leftmost_child);
}

Status Corrupt(PageId id, const std::string& what, size_t offset) {
  return Status::Corruption("page " + std::to_string(id) + ": " + what + " at offset " +
                            std::to_string(offset));
}

std::string CellName(size_t slot) { return "cell of slot " + std::to_string(slot); }

// A child or overflow pointer must name some other, ordinary page.
bool IsPlausibleLink(PageId target, PageId self) {
  return target != kInvalidPageId && target != kMetaPageId && target != self;
}

}  // namespace

size_t LeafCellSize(size_t key_size, size_t value_size) {
  return kSlotSize + kLeafCellOverhead + key_size + value_size;
}

bool NeedsOverflow(size_t key_size, size_t value_size) {
  return LeafCellSize(key_size, value_size) > kMaxInlineLeafCell;
}

size_t OverflowLeafCellSize(size_t key_size) {
  return kSlotSize + kLeafCellOverhead + key_size + kOverflowRefSize;
}

size_t InnerCellSize(size_t key_size) { return kSlotSize + kInnerCellOverhead + key_size; }

// ---- ConstNode ----

bool ConstNode::is_leaf() const { return PageIsLeaf(page_.data()); }

uint16_t ConstNode::size() const { return Load16(page_.data(), kSlotCountOffset); }

std::string_view ConstNode::key(uint16_t i) const {
  const std::byte* p = page_.data();
  const size_t offset = Load16(p, kSlotsOffset + size_t{i} * kSlotSize);
  const size_t len = Load16(p, offset + kCellKeyLenOffset);
  return {reinterpret_cast<const char*>(p + offset + KeyOffsetInCell(is_leaf())), len};
}

uint16_t ConstNode::LowerBound(std::string_view target, bool* exact) const {
  const std::byte* p = page_.data();
  const size_t key_offset = KeyOffsetInCell(is_leaf());
  const size_t count = Load16(p, kSlotCountOffset);
  const size_t prefix = Load16(p, kPrefixSizeOffset);
  const uint32_t target_hint = KeyHint(target.data(), target.size(), prefix);
  PrefetchSlots(p, count);
  size_t lo = 0;
  size_t hi = count;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const uint32_t hint = HintAt(p, mid);
    int c = hint < target_hint ? -1 : (hint > target_hint ? 1 : 0);
    if (c == 0) {
      const std::byte* cell = p + CellOffsetAt(p, mid);
      c = CompareKeys(cell + key_offset, Load16(cell, kCellKeyLenOffset), target);
      if (c == 0) {
        // Keys are unique, so the first equal key is the lower bound.
        if (exact != nullptr) {
          *exact = true;
        }
        return static_cast<uint16_t>(mid);
      }
    }
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (exact != nullptr) {
    *exact = false;
  }
  if (prefix > 0 && count > 0) {
    // The hints compared the target's bytes after the prefix, which says
    // nothing unless the target starts with it (invariant 6); otherwise it
    // sorts before or after every key. Any key holds the prefix: take the
    // one ChildIndexFor reads next, so its cell is fetched once.
    const std::string_view shared = KeyAt(p, lo > 0 ? lo - 1 : 0, is_leaf()).substr(0, prefix);
    const int c = CompareKeys(reinterpret_cast<const std::byte*>(shared.data()), shared.size(),
                              target.substr(0, prefix));
    if (c != 0) {
      return static_cast<uint16_t>(c > 0 ? 0 : count);
    }
  }
  return static_cast<uint16_t>(lo);
}

size_t ConstNode::FreeSpace() const {
  const std::byte* p = page_.data();
  const size_t slots_end = kSlotsOffset + size_t{size()} * kSlotSize;
  return Load16(p, kContentStartOffset) - slots_end + Load16(p, kFragmentedOffset);
}

void ConstNode::CopyTo(std::span<std::byte> out) const {
  const std::byte* p = page_.data();
  const size_t slots_end = kSlotsOffset + size_t{size()} * kSlotSize;
  const size_t start = Load16(p, kContentStartOffset);
  if (slots_end > start || start > kPageSize || out.size() < kPageSize) {
    std::memcpy(out.data(), p, std::min(out.size(), kPageSize));
    return;
  }
  std::memcpy(out.data(), p, slots_end);
  std::memcpy(out.data() + start, p + start, kPageSize - start);
}

size_t ConstNode::UsedSpace() const { return kPageSize - kSlotsOffset - FreeSpace(); }

uint16_t ConstNode::prefix_size() const { return Load16(page_.data(), kPrefixSizeOffset); }

PageId ConstNode::next_leaf() const { return Load64(page_.data(), kNextLeafOffset); }
PageId ConstNode::prev_leaf() const { return Load64(page_.data(), kPrevLeafOffset); }

bool ConstNode::is_overflow(uint16_t i) const {
  const std::byte* p = page_.data();
  const size_t offset = Load16(p, kSlotsOffset + size_t{i} * kSlotSize);
  return (static_cast<uint8_t>(p[offset + kLeafFlagsOffset]) & kLeafFlagOverflow) != 0;
}

uint32_t ConstNode::value_size(uint16_t i) const {
  const std::byte* p = page_.data();
  const size_t offset = Load16(p, kSlotsOffset + size_t{i} * kSlotSize);
  return Load32(p, offset + kLeafValueLenOffset);
}

std::string_view ConstNode::inline_value(uint16_t i) const {
  const std::byte* p = page_.data();
  const size_t offset = Load16(p, kSlotsOffset + size_t{i} * kSlotSize);
  const size_t key_len = Load16(p, offset + kCellKeyLenOffset);
  return {reinterpret_cast<const char*>(p + offset + kLeafCellOverhead + key_len),
          Load32(p, offset + kLeafValueLenOffset)};
}

PageId ConstNode::overflow_page(uint16_t i) const {
  const std::byte* p = page_.data();
  const size_t offset = Load16(p, kSlotsOffset + size_t{i} * kSlotSize);
  const size_t key_len = Load16(p, offset + kCellKeyLenOffset);
  return Load64(p, offset + kLeafCellOverhead + key_len);
}

PageId ConstNode::leftmost_child() const { return Load64(page_.data(), kLeftmostChildOffset); }

PageId ConstNode::child(uint16_t i) const {
  const std::byte* p = page_.data();
  const size_t offset = Load16(p, kSlotsOffset + size_t{i} * kSlotSize);
  return Load64(p, offset + kInnerChildOffset);
}

PageId ConstNode::ChildFor(std::string_view target) const {
  const int index = ChildIndexFor(target);
  return index < 0 ? leftmost_child() : child(static_cast<uint16_t>(index));
}

int ConstNode::ChildIndexFor(std::string_view target) const {
  // Cell i's child holds [key i, key i+1): the last key <= target wins.
  bool exact = false;
  const int bound = LowerBound(target, &exact);
  return exact ? bound : bound - 1;
}

// ---- OptimisticNode ----

PageType OptimisticNode::type() const {
  return static_cast<PageType>(page_access::Load8(page_, page_header::kTypeOffset));
}

bool OptimisticNode::KeyAt(size_t i, bool leaf, size_t* offset, size_t* length) const {
  const size_t cell = page_access::Load16(page_, SlotPosition(i) + kSlotCellOffset);
  const size_t key_offset = cell + KeyOffsetInCell(leaf);
  if (cell < kSlotsOffset || key_offset > kPageSize) {
    return false;
  }
  const size_t key_len = page_access::Load16(page_, cell + kCellKeyLenOffset);
  if (key_len > kMaxKeySize || key_offset + key_len > kPageSize) {
    return false;
  }
  *offset = key_offset;
  *length = key_len;
  return true;
}

int OptimisticNode::CompareKey(size_t offset, size_t length, std::string_view target) const {
  const size_t common = std::min(length, target.size());
  // Eight bytes at a time, as big-endian numbers compare like the bytes.
  size_t done = 0;
  for (; done + 8 <= common; done += 8) {
    const uint64_t a = page_access::Load64(page_, offset + done);
    uint64_t b;
    std::memcpy(&b, target.data() + done, sizeof(b));
    if (a != b) {
      return boost::endian::endian_reverse(a) < boost::endian::endian_reverse(b) ? -1 : 1;
    }
  }
  for (; done < common; ++done) {
    const uint8_t a = page_access::Load8(page_, offset + done);
    const auto b = static_cast<uint8_t>(target[done]);
    if (a != b) {
      return a < b ? -1 : 1;
    }
  }
  return length < target.size() ? -1 : (length > target.size() ? 1 : 0);
}

bool OptimisticNode::LowerBound(std::string_view target, bool leaf, size_t* index,
                                bool* exact) const {
  const size_t count = page_access::Load16(page_, kSlotCountOffset);
  const size_t prefix = page_access::Load16(page_, kPrefixSizeOffset);
  if (SlotPosition(count) > kPageSize || prefix > kMaxKeySize) {
    return false;
  }
  const uint32_t target_hint = KeyHint(target.data(), target.size(), prefix);
  PrefetchSlots(page_, count);  // as ConstNode::LowerBound
  size_t lo = 0;
  size_t hi = count;
  *exact = false;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const uint32_t hint = page_access::Load32(page_, SlotPosition(mid) + kSlotHintOffset);
    int c = hint < target_hint ? -1 : (hint > target_hint ? 1 : 0);
    if (c == 0) {
      size_t offset = 0;
      size_t length = 0;
      if (!KeyAt(mid, leaf, &offset, &length)) {
        return false;
      }
      c = CompareKey(offset, length, target);
      if (c == 0) {
        *exact = true;
        *index = mid;
        return true;
      }
    }
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *index = lo;
  if (prefix > 0 && count > 0) {
    // As ConstNode::LowerBound: a target outside the prefix sorts before or
    // after every key.
    size_t offset = 0;
    size_t length = 0;
    if (!KeyAt(lo > 0 ? lo - 1 : 0, leaf, &offset, &length)) {
      return false;
    }
    const int c = CompareKey(offset, std::min(length, prefix), target.substr(0, prefix));
    if (c != 0) {
      *index = c > 0 ? 0 : count;
    }
  }
  return true;
}

bool OptimisticNode::ChildFor(std::string_view target, PageId* child) const {
  size_t bound = 0;
  bool exact = false;
  if (!LowerBound(target, /*leaf=*/false, &bound, &exact)) {
    return false;
  }
  // Cell i's child holds [key i, key i+1): the last key <= target wins.
  if (!exact && bound == 0) {
    *child = page_access::Load64(page_, kLeftmostChildOffset);
    return true;
  }
  const size_t i = exact ? bound : bound - 1;
  const size_t cell = page_access::Load16(page_, SlotPosition(i) + kSlotCellOffset);
  if (cell < kSlotsOffset || cell + kInnerChildOffset + sizeof(PageId) > kPageSize) {
    return false;
  }
  *child = page_access::Load64(page_, cell + kInnerChildOffset);
  return true;
}

bool OptimisticNode::Find(std::string_view target, Found* found) const {
  size_t i = 0;
  bool exact = false;
  if (!LowerBound(target, /*leaf=*/true, &i, &exact)) {
    return false;
  }
  *found = Found{};
  if (!exact) {
    return true;
  }
  size_t key_offset = 0;
  size_t key_len = 0;
  if (!KeyAt(i, /*leaf=*/true, &key_offset, &key_len)) {
    return false;
  }
  const size_t cell = key_offset - kLeafCellOverhead;
  const uint8_t flags = page_access::Load8(page_, cell + kLeafFlagsOffset);
  found->present = true;
  found->overflow = (flags & kLeafFlagOverflow) != 0;
  found->value_size = page_access::Load32(page_, cell + kLeafValueLenOffset);
  found->value_offset = key_offset + key_len;
  return found->overflow || uint64_t{found->value_offset} + found->value_size <= kPageSize;
}

// ---- Node ----

void Node::InitLeaf() { InitNode(mpage_, PageType::kBTreeLeaf, kInvalidPageId); }

void Node::InitInner(PageId leftmost_child) {
  InitNode(mpage_, PageType::kBTreeInner, leftmost_child);
}

void Node::set_next_leaf(PageId id) { page_access::Store64(mpage_.data(), kNextLeafOffset, id); }
void Node::set_prev_leaf(PageId id) { page_access::Store64(mpage_.data(), kPrevLeafOffset, id); }
void Node::set_leftmost_child(PageId id) {
  page_access::Store64(mpage_.data(), kLeftmostChildOffset, id);
}

void Node::set_child(uint16_t i, PageId id) {
  std::byte* p = mpage_.data();
  const size_t offset = Load16(p, kSlotsOffset + size_t{i} * kSlotSize);
  page_access::Store64(p, offset + kInnerChildOffset, id);
}

bool Node::InsertLeaf(uint16_t i, std::string_view key, std::string_view value) {
  assert(is_leaf() && !NeedsOverflow(key.size(), value.size()));
  std::byte* p = mpage_.data();
  const size_t cell = AllocateCell(p, i, kLeafCellOverhead + key.size() + value.size(), key);
  if (cell == 0) {
    return false;
  }
  Store16(p, cell + kCellKeyLenOffset, key.size());
  page_access::Store8(p, cell + kLeafFlagsOffset, 0);
  page_access::Store32(p, cell + kLeafValueLenOffset, static_cast<uint32_t>(value.size()));
  page_access::CopyIn(p, cell + kLeafCellOverhead, key.data(), key.size());
  page_access::CopyIn(p, cell + kLeafCellOverhead + key.size(), value.data(), value.size());
  return true;
}

bool Node::InsertLeafOverflow(uint16_t i, std::string_view key, uint32_t value_size,
                              PageId first_overflow) {
  assert(is_leaf());
  std::byte* p = mpage_.data();
  const size_t cell = AllocateCell(p, i, kLeafCellOverhead + key.size() + kOverflowRefSize, key);
  if (cell == 0) {
    return false;
  }
  Store16(p, cell + kCellKeyLenOffset, key.size());
  page_access::Store8(p, cell + kLeafFlagsOffset, kLeafFlagOverflow);
  page_access::Store32(p, cell + kLeafValueLenOffset, value_size);
  page_access::CopyIn(p, cell + kLeafCellOverhead, key.data(), key.size());
  page_access::Store64(p, cell + kLeafCellOverhead + key.size(), first_overflow);
  return true;
}

bool Node::InsertInner(uint16_t i, std::string_view key, PageId child) {
  assert(!is_leaf());
  std::byte* p = mpage_.data();
  const size_t cell = AllocateCell(p, i, kInnerCellOverhead + key.size(), key);
  if (cell == 0) {
    return false;
  }
  Store16(p, cell + kCellKeyLenOffset, key.size());
  page_access::Store64(p, cell + kInnerChildOffset, child);
  page_access::CopyIn(p, cell + kInnerCellOverhead, key.data(), key.size());
  return true;
}

void Node::Remove(uint16_t i) {
  std::byte* p = mpage_.data();
  const size_t count = size();
  assert(i < count);
  const size_t slot = kSlotsOffset + size_t{i} * kSlotSize;
  const size_t offset = Load16(p, slot);
  const size_t cell_size = CellSize(p, offset, is_leaf());
  page_access::Move(p, slot, slot + kSlotSize, (count - i - 1) * kSlotSize);
  Store16(p, kSlotCountOffset, count - 1);
  if (count == 1) {
    // Empty again: the whole cell area is gap, nothing is fragmented, and
    // no key holds a prefix any more (invariant 6).
    Store16(p, kContentStartOffset, kPageSize);
    Store16(p, kFragmentedOffset, 0);
    Store16(p, kPrefixSizeOffset, 0);
  } else if (offset == Load16(p, kContentStartOffset)) {
    // The lowest cell borders the gap: give its bytes to the gap directly.
    Store16(p, kContentStartOffset, offset + cell_size);
  } else {
    Store16(p, kFragmentedOffset, Load16(p, kFragmentedOffset) + cell_size);
  }
}

void Node::Compact() { CompactPage(mpage_.data()); }

std::string Node::MoveUpperHalfTo(uint16_t from, Node* right) {
  const bool leaf = is_leaf();
  const uint16_t count = size();
  assert(from < count && right->size() == 0 && right->is_leaf() == leaf);
  std::string separator(key(from));
  const std::byte* p = mpage_.data();
  uint16_t first_moved = from;
  if (!leaf) {
    right->set_leftmost_child(child(from));
    ++first_moved;
  }
  for (uint16_t j = first_moved; j < count; ++j) {
    const size_t offset = Load16(p, kSlotsOffset + size_t{j} * kSlotSize);
    const size_t cell_size = CellSize(p, offset, leaf);
    // `right` is empty and as large as this page, so every cell fits.
    const size_t cell = AllocateCell(right->mpage_.data(), right->size(), cell_size, key(j));
    assert(cell != 0);
    page_access::CopyIn(right->mpage_.data(), cell, p + offset, cell_size);
  }
  RefreshPrefix(right->mpage_.data());
  Store16(mpage_.data(), kSlotCountOffset, from);
  CompactPage(mpage_.data());  // also lengthens this node's prefix
  return separator;
}

uint16_t Node::SplitPoint() const {
  const std::byte* p = page_.data();
  const bool leaf = is_leaf();
  const uint16_t count = size();
  // The smallest split each kind allows; below it any answer is degenerate.
  if (count < (leaf ? 2 : 3)) {
    return count / 2;
  }
  std::array<uint16_t, kMaxSlots> bytes{};  // cell + slot, per cell
  size_t total = 0;
  for (uint16_t j = 0; j < count; ++j) {
    const size_t offset = Load16(p, kSlotsOffset + size_t{j} * kSlotSize);
    bytes[j] = static_cast<uint16_t>(CellSize(p, offset, leaf) + kSlotSize);
    total += bytes[j];
  }
  // Leaf: left = [0, from), right = [from, count). Inner: cell `from` goes
  // up to the parent, so right = (from, count). Both stay non-empty.
  const uint16_t last = leaf ? count - 1 : count - 2;
  uint16_t best = 1;
  size_t best_diff = SIZE_MAX;
  size_t left = 0;
  for (uint16_t from = 1; from <= last; ++from) {
    left += bytes[from - 1];
    const size_t right = total - left - (leaf ? 0 : bytes[from]);
    const size_t diff = left > right ? left - right : right - left;
    if (diff < best_diff) {
      best_diff = diff;
      best = from;
    }
  }
  return best;
}

// ---- ValidateNode ----

Status ValidateNode(std::span<const std::byte> page, PageId id) {
  if (page.size() != kPageSize) {
    return Corrupt(id, "node of " + std::to_string(page.size()) + " bytes", 0);
  }
  const std::byte* p = page.data();
  const auto type = static_cast<uint8_t>(p[page_header::kTypeOffset]);
  const bool leaf = type == static_cast<uint8_t>(PageType::kBTreeLeaf);
  if (!leaf && type != static_cast<uint8_t>(PageType::kBTreeInner)) {
    return Corrupt(id, "page type " + std::to_string(type) + " is not a B+tree node",
                   page_header::kTypeOffset);
  }
  const size_t count = Load16(p, kSlotCountOffset);
  const size_t start = Load16(p, kContentStartOffset);
  const size_t fragmented = Load16(p, kFragmentedOffset);
  const size_t slots_end = kSlotsOffset + count * kSlotSize;
  if (slots_end > kPageSize || slots_end > start) {
    return Corrupt(id, "slot count " + std::to_string(count) + " overlaps the cell area",
                   kSlotCountOffset);
  }
  if (start > kPageSize) {
    return Corrupt(id, "content start " + std::to_string(start) + " past the page end",
                   kContentStartOffset);
  }
  if (fragmented > kPageSize - start) {
    return Corrupt(id, "fragmented bytes " + std::to_string(fragmented) + " exceed the cell area",
                   kFragmentedOffset);
  }
  const size_t prefix = Load16(p, kPrefixSizeOffset);
  if (prefix > (count == 0 ? 0 : kMaxKeySize)) {
    return Corrupt(id, "prefix of " + std::to_string(prefix) + " bytes", kPrefixSizeOffset);
  }
  if (leaf) {
    if (Load64(p, kPrevLeafOffset) == id || Load64(p, kNextLeafOffset) == id) {
      return Corrupt(id, "leaf linked to itself", kPrevLeafOffset);
    }
  } else if (!IsPlausibleLink(Load64(p, kLeftmostChildOffset), id)) {
    return Corrupt(id, "bad leftmost child", kLeftmostChildOffset);
  }

  const size_t key_offset = KeyOffsetInCell(leaf);
  std::array<uint32_t, kMaxSlots> extents{};  // offset << 16 | size, per cell
  size_t cell_bytes = 0;
  const std::byte* prev_key = nullptr;
  size_t prev_key_len = 0;
  std::string_view shared;  // the prefix, as key 0 holds it
  for (size_t i = 0; i < count; ++i) {
    const size_t slot = SlotPosition(i);
    const size_t offset = Load16(p, slot + kSlotCellOffset);
    if (offset < start || offset + key_offset > kPageSize) {
      return Corrupt(id, "slot " + std::to_string(i) + " points outside the cell area", slot);
    }
    const size_t key_len = Load16(p, offset + kCellKeyLenOffset);
    if (key_len > kMaxKeySize) {
      return Corrupt(id, CellName(i) + ": key of " + std::to_string(key_len) + " bytes", offset);
    }
    size_t size = key_offset + key_len;
    if (leaf) {
      const auto flags = static_cast<uint8_t>(p[offset + kLeafFlagsOffset]);
      if ((flags & ~kLeafFlagOverflow) != 0) {
        return Corrupt(id, CellName(i) + ": unknown flags", offset + kLeafFlagsOffset);
      }
      const bool overflow = (flags & kLeafFlagOverflow) != 0;
      size += overflow ? kOverflowRefSize : size_t{Load32(p, offset + kLeafValueLenOffset)};
      if (size + kSlotSize > kMaxInlineLeafCell) {
        return Corrupt(id, CellName(i) + " larger than an inline cell may be", offset);
      }
      if (offset + size > kPageSize) {
        return Corrupt(id, CellName(i) + " runs past the page end", offset);
      }
      if (overflow && Load32(p, offset + kLeafValueLenOffset) > kMaxValueSize) {
        return Corrupt(id, CellName(i) + ": overflow value larger than any value may be",
                       offset + kLeafValueLenOffset);
      }
      if (overflow && !IsPlausibleLink(Load64(p, offset + key_offset + key_len), id)) {
        return Corrupt(id, CellName(i) + ": bad overflow page id", offset + key_offset + key_len);
      }
    } else {
      if (offset + size > kPageSize) {
        return Corrupt(id, CellName(i) + " runs past the page end", offset);
      }
      if (!IsPlausibleLink(Load64(p, offset + kInnerChildOffset), id)) {
        return Corrupt(id, CellName(i) + ": bad child page id", offset + kInnerChildOffset);
      }
    }
    const std::byte* key = p + offset + key_offset;
    const std::string_view key_view(reinterpret_cast<const char*>(key), key_len);
    if (i == 0) {
      shared = key_view.substr(0, prefix);
    }
    if (key_len < prefix || key_view.substr(0, prefix) != shared) {
      return Corrupt(id, "key of slot " + std::to_string(i) + " lacks the node's prefix", offset);
    }
    if (HintAt(p, i) != KeyHint(key_view.data(), key_len, prefix)) {
      return Corrupt(id, "hint of slot " + std::to_string(i) + " does not match its key",
                     slot + kSlotHintOffset);
    }
    if (prev_key != nullptr && CompareKeys(prev_key, prev_key_len, key_view) >= 0) {
      return Corrupt(id, "key of slot " + std::to_string(i) + " not above the key before it",
                     offset);
    }
    prev_key = key;
    prev_key_len = key_len;
    extents[i] = static_cast<uint32_t>((offset << 16) | size);
    cell_bytes += size;
  }

  std::sort(extents.begin(), extents.begin() + count);
  size_t end = start;
  for (size_t i = 0; i < count; ++i) {
    const size_t offset = extents[i] >> 16;
    if (offset < end) {
      return Corrupt(id, "cells overlap", offset);
    }
    end = offset + (extents[i] & 0xffff);
  }
  if (cell_bytes + fragmented != kPageSize - start) {
    return Corrupt(id,
                   "cells (" + std::to_string(cell_bytes) + " bytes) and fragmented bytes (" +
                       std::to_string(fragmented) + ") do not fill the cell area",
                   kFragmentedOffset);
  }
  return Status::OK();
}

}  // namespace mvdb::btree
