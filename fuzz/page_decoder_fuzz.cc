// libFuzzer target: everything that decodes a data-file page read from disk
// (buffer/page.h, btree/node.h, btree/overflow.h, buffer/checkpoint_format.h),
// over arbitrary bytes.
//
// Each input is cut or zero-padded to one 8 KiB image and goes through:
//   1. VerifyPage as read (almost always a checksum mismatch), then on a
//      copy with the checksum fixed up, so mutations reach the version,
//      self-id and type checks. The expected id is the one the header
//      claims, so the page gets past that check too.
//   2. btree::ValidatePage (the buffer pool's validator) and ValidateNode,
//      unconditionally: they never look at the checksum. When ValidateNode
//      accepts, every accessor runs, and the node must keep the rules
//      node_format.md says were checked: keys strictly increasing, each
//      key found by LowerBound at its own slot, LowerBound equal to a
//      linear search for assorted targets, ChildIndexFor / ChildFor
//      agreeing with it, child and overflow ids not ~0, 0 or the page
//      itself, FreeSpace + UsedSpace = the body.
//   3. ValidateOverflowPage.
//   4. The checkpoint decoders: DecodeMeta on the image, and on a meta slot
//      encoded from the input's fields (so the range checks see arbitrary
//      values past the CRC); DecodeMapPage on the sealed copy when it passed
//      VerifyPage as a map page or map root.
// Besides the sanitizers' checks, a broken rule traps.
//
//   build-fuzz/bin/page_decoder_fuzz -max_total_time=60 /tmp/page-fuzz fuzz/corpus/page
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btree/node.h"
#include "btree/overflow.h"
#include "btree/validate.h"
#include "buffer/checkpoint_format.h"
#include "buffer/page.h"
#include "common/coding.h"

namespace {

using mvdb::kPageSize;
using mvdb::PageId;
using mvdb::PageType;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Index of the first key >= target, by a plain linear scan (the oracle).
uint16_t LinearLowerBound(const mvdb::btree::ConstNode& node, std::string_view target) {
  uint16_t i = 0;
  while (i < node.size() && node.key(i) < target) ++i;
  return i;
}

void CheckLookup(const mvdb::btree::ConstNode& node, std::string_view target) {
  bool exact = false;
  const uint16_t at = node.LowerBound(target, &exact);
  Check(at == LinearLowerBound(node, target));
  Check(exact == (at < node.size() && node.key(at) == target));
  if (node.is_leaf()) return;
  // The child for target: the last cell whose key is <= target, else the
  // leftmost child.
  const int index = node.ChildIndexFor(target);
  const int expect = exact ? at : at - 1;
  Check(index == expect);
  Check(node.ChildFor(target) == (index < 0 ? node.leftmost_child() : node.child(index)));
}

bool UsableChild(PageId child, PageId self) {
  return child != mvdb::kInvalidPageId && child != mvdb::kMetaPageId && child != self;
}

void ExerciseNode(std::span<const std::byte> page, PageId id) {
  const mvdb::btree::ConstNode node(page);
  const uint16_t n = node.size();
  Check(node.FreeSpace() + node.UsedSpace() ==
        kPageSize - mvdb::kPageHeaderSize - mvdb::btree::kNodeHeaderSize);
  const uint16_t prefix = node.prefix_size();
  for (uint16_t i = 0; i < n; ++i) {
    const std::string_view key = node.key(i);
    Check(key.size() >= prefix && key.substr(0, prefix) == node.key(0).substr(0, prefix));
    if (i > 0) Check(node.key(i - 1) < key);
    if (node.is_leaf()) {
      if (node.is_overflow(i)) {
        Check(UsableChild(node.overflow_page(i), id));
      } else {
        Check(node.inline_value(i).size() == node.value_size(i));
      }
    } else {
      Check(UsableChild(node.child(i), id));
    }
  }
  if (node.is_leaf()) {
    Check(node.next_leaf() != id && node.prev_leaf() != id);
  } else {
    Check(UsableChild(node.leftmost_child(), id));
  }

  // Targets: every key, its neighbours in key order, and strings around
  // the keys that share or break the node's prefix.
  std::vector<std::string> targets = {"", std::string(4, '\xff'), std::string(1, '\0')};
  for (uint16_t i = 0; i < n; ++i) {
    const std::string key(node.key(i));
    targets.push_back(key);
    targets.push_back(key + '\0');
    if (!key.empty()) {
      targets.push_back(key.substr(0, key.size() - 1));
      std::string below = key, above = key;
      below.back() = static_cast<char>(below.back() - 1);
      above.back() = static_cast<char>(above.back() + 1);
      targets.push_back(below);
      targets.push_back(above);
    }
    if (key.size() > prefix && prefix > 0) {
      std::string outside = key;
      outside[prefix - 1] = static_cast<char>(outside[prefix - 1] ^ 0x80);
      targets.push_back(outside);
    }
  }
  for (const std::string& target : targets) CheckLookup(node, target);
}

void CheckCheckpointMeta(std::span<const std::byte> page) {
  namespace ck = mvdb::checkpoint;
  (void)ck::DecodeMeta(page);
  // Fields taken from the input, sealed with a valid CRC.
  ck::Meta meta;
  const std::byte* p = page.data() + mvdb::kPageHeaderSize;
  meta.number = mvdb::DecodeFixed64(p);
  meta.lsn = mvdb::DecodeFixed64(p + 8);
  // Small counts are the interesting ones; keep most values in reach.
  meta.logical_pages = mvdb::DecodeFixed64(p + 16) % (1u << 24);
  meta.map_root = mvdb::DecodeFixed64(p + 24) % 4096;
  meta.map_pages = mvdb::DecodeFixed64(p + 32) % 4096;
  meta.slot_count = mvdb::DecodeFixed64(p + 40);
  if (page[mvdb::kPageHeaderSize + 48] != std::byte{0}) meta.slot_count %= 4096;
  std::vector<std::byte> slot(kPageSize);
  ck::EncodeMeta(meta, slot);
  mvdb::Result<ck::Meta> decoded = ck::DecodeMeta(slot);
  if (!decoded.ok()) return;
  Check(decoded->number == meta.number && decoded->lsn == meta.lsn &&
        decoded->slot_count == meta.slot_count);
  Check(decoded->slot_count >= ck::kMetaSlots);
  Check(decoded->map_pages == ck::MapPagesFor(decoded->logical_pages));
  Check(decoded->map_pages <= decoded->slot_count);
  Check(decoded->logical_pages == 0
            ? decoded->map_root == ck::kUnmapped
            : decoded->map_root >= ck::kMetaSlots && decoded->map_root < decoded->slot_count);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> page(kPageSize);
  std::memcpy(page.data(), data, std::min(size, kPageSize));
  const mvdb::ConstPageView view(page);
  const PageId id = view.page_id();
  const uint64_t offset = id < (~uint64_t{0} / kPageSize) ? id * kPageSize : 0;

  (void)mvdb::VerifyPage(page, id, "fuzz", offset);
  std::vector<std::byte> sealed = page;
  mvdb::SealPage(sealed);
  const bool verified = mvdb::VerifyPage(sealed, id, "fuzz", offset).ok();

  (void)mvdb::btree::ValidatePage(page, id);
  if (mvdb::btree::ValidateNode(page, id).ok()) {
    Check(view.type() == PageType::kBTreeLeaf || view.type() == PageType::kBTreeInner);
    ExerciseNode(page, id);
  }
  if (mvdb::btree::ValidateOverflowPage(page, id).ok()) {
    Check(view.type() == PageType::kOverflow);
    Check(mvdb::DecodeFixed32(page.data() + mvdb::kPageHeaderSize + 8) <=
          mvdb::btree::kOverflowCapacity);
  }

  CheckCheckpointMeta(page);
  if (verified && (view.type() == PageType::kPageMap || view.type() == PageType::kPageMapRoot)) {
    mvdb::Result<mvdb::checkpoint::MapPage> map =
        mvdb::checkpoint::DecodeMapPage(sealed, view.type(), view.generation());
    if (map.ok()) Check(map->entries.size() <= mvdb::checkpoint::kMapEntriesPerPage);
  }
  return 0;
}
