#include "buffer/checkpoint_format.h"

#include <algorithm>
#include <cstring>

#include "common/coding.h"
#include "common/crc32c.h"

namespace mvdb::checkpoint {

namespace {

// Offsets inside a meta slot (checkpoint_format.md, "Meta slot").
namespace meta_slot {
constexpr size_t kChecksum = 0;
constexpr size_t kVersion = 4;
constexpr size_t kMagic = 8;
constexpr size_t kPageSizeField = 16;
constexpr size_t kNumber = 24;
constexpr size_t kLsn = 32;
constexpr size_t kLogicalPages = 40;
constexpr size_t kMapRoot = 48;
constexpr size_t kMapPages = 56;
constexpr size_t kSlotCount = 64;
}  // namespace meta_slot

// Offsets inside a map page or root body.
namespace map_body {
constexpr size_t kFirstOrNext = 0;
constexpr size_t kCount = 8;
constexpr size_t kEntries = kMapHeaderSize;
}  // namespace map_body

// Slots past this would overflow a file offset.
constexpr uint64_t kMaxSlots = UINT64_MAX / kPageSize;

uint32_t SlotChecksum(std::span<const std::byte> slot) {
  return crc32c::Value(slot.subspan(meta_slot::kChecksum + 4));
}

void EncodeMap(PageType type, uint64_t slot, uint64_t number, uint64_t first_or_next,
               std::span<const uint64_t> entries, std::span<std::byte> page) {
  PageView view(page);
  view.Format(slot, type);
  view.set_generation(number);
  std::byte* body = view.body().data();
  EncodeFixed64(body + map_body::kFirstOrNext, first_or_next);
  EncodeFixed32(body + map_body::kCount, static_cast<uint32_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    EncodeFixed64(body + map_body::kEntries + 8 * i, entries[i]);
  }
  SealPage(page);
}

}  // namespace

void EncodeMeta(const Meta& meta, std::span<std::byte> slot) {
  std::memset(slot.data(), 0, slot.size());
  std::byte* p = slot.data();
  EncodeFixed32(p + meta_slot::kVersion, kFormatVersion);
  std::memcpy(p + meta_slot::kMagic, kMetaMagic, sizeof(kMetaMagic));
  EncodeFixed32(p + meta_slot::kPageSizeField, static_cast<uint32_t>(kPageSize));
  EncodeFixed64(p + meta_slot::kNumber, meta.number);
  EncodeFixed64(p + meta_slot::kLsn, meta.lsn);
  EncodeFixed64(p + meta_slot::kLogicalPages, meta.logical_pages);
  EncodeFixed64(p + meta_slot::kMapRoot, meta.map_root);
  EncodeFixed64(p + meta_slot::kMapPages, meta.map_pages);
  EncodeFixed64(p + meta_slot::kSlotCount, meta.slot_count);
  EncodeFixed32(p + meta_slot::kChecksum, SlotChecksum(slot));
}

Result<Meta> DecodeMeta(std::span<const std::byte> slot) {
  if (slot.size() != kPageSize) {
    return Status::Corruption("meta slot of " + std::to_string(slot.size()) + " bytes");
  }
  const std::byte* p = slot.data();
  const uint32_t stored = DecodeFixed32(p + meta_slot::kChecksum);
  if (stored != SlotChecksum(slot)) {
    const bool empty =
        std::all_of(slot.begin(), slot.end(), [](std::byte b) { return b == std::byte{0}; });
    return Status::Corruption(empty ? "empty (never written)"
                                    : "checksum mismatch (torn or damaged meta write)");
  }
  if (std::memcmp(p + meta_slot::kMagic, kMetaMagic, sizeof(kMetaMagic)) != 0) {
    return Status::Corruption("bad magic (not an mvdb checkpointed data file)");
  }
  const uint32_t version = DecodeFixed32(p + meta_slot::kVersion);
  if (version != kFormatVersion) {
    return Status::Corruption("unsupported checkpoint format version " + std::to_string(version));
  }
  const uint32_t page_size = DecodeFixed32(p + meta_slot::kPageSizeField);
  if (page_size != kPageSize) {
    return Status::Corruption("page size " + std::to_string(page_size) + ", this build uses " +
                              std::to_string(kPageSize));
  }
  Meta meta;
  meta.number = DecodeFixed64(p + meta_slot::kNumber);
  meta.lsn = DecodeFixed64(p + meta_slot::kLsn);
  meta.logical_pages = DecodeFixed64(p + meta_slot::kLogicalPages);
  meta.map_root = DecodeFixed64(p + meta_slot::kMapRoot);
  meta.map_pages = DecodeFixed64(p + meta_slot::kMapPages);
  meta.slot_count = DecodeFixed64(p + meta_slot::kSlotCount);
  if (meta.slot_count < kMetaSlots || meta.slot_count > kMaxSlots) {
    return Status::Corruption("slot count " + std::to_string(meta.slot_count) + " out of range");
  }
  // Every map page needs a slot of its own, so the map cannot be larger.
  if (MapPagesFor(meta.logical_pages) > meta.slot_count) {
    return Status::Corruption("logical page count " + std::to_string(meta.logical_pages) +
                              " out of range for " + std::to_string(meta.slot_count) + " slots");
  }
  if (meta.map_pages != MapPagesFor(meta.logical_pages)) {
    return Status::Corruption("map page count " + std::to_string(meta.map_pages) + " for " +
                              std::to_string(meta.logical_pages) + " logical pages");
  }
  const bool needs_root = meta.logical_pages > 0;
  if (needs_root != (meta.map_root != kUnmapped) ||
      (needs_root && (meta.map_root < kMetaSlots || meta.map_root >= meta.slot_count))) {
    return Status::Corruption("map root slot " + std::to_string(meta.map_root) +
                              " out of range (slot count " + std::to_string(meta.slot_count) +
                              ", " + std::to_string(meta.logical_pages) + " logical pages)");
  }
  return meta;
}

void EncodeMapPage(uint64_t slot, uint64_t number, uint64_t first_id,
                   std::span<const uint64_t> entries, std::span<std::byte> page) {
  EncodeMap(PageType::kPageMap, slot, number, first_id, entries, page);
}

void EncodeMapRoot(uint64_t slot, uint64_t number, uint64_t next_root,
                   std::span<const uint64_t> map_pages, std::span<std::byte> page) {
  EncodeMap(PageType::kPageMapRoot, slot, number, next_root, map_pages, page);
}

Result<MapPage> DecodeMapPage(std::span<const std::byte> page, PageType type, uint64_t number) {
  const ConstPageView view(page);
  if (view.type() != type) {
    return Status::Corruption(std::string("expected a ") + PageTypeName(type) + " page, found " +
                              PageTypeName(view.type()));
  }
  if (view.generation() != number) {
    return Status::Corruption("written for checkpoint " + std::to_string(view.generation()) +
                              ", expected " + std::to_string(number) + " (stale map page)");
  }
  const std::byte* body = view.body().data();
  const uint32_t count = DecodeFixed32(body + map_body::kCount);
  if (count > kMapEntriesPerPage) {
    return Status::Corruption("entry count " + std::to_string(count) + " exceeds " +
                              std::to_string(kMapEntriesPerPage));
  }
  MapPage out;
  out.first_or_next = DecodeFixed64(body + map_body::kFirstOrNext);
  out.entries.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    out.entries[i] = DecodeFixed64(body + map_body::kEntries + 8 * size_t{i});
  }
  return out;
}

}  // namespace mvdb::checkpoint
