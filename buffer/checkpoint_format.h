// The bytes of a checkpoint: the two meta slots and the page-map pages.
// buffer/checkpoint_format.md documents them (offset tables, CRC rules, how
// the newest valid checkpoint is chosen); this file is the code for them.
// Only CowPageStore uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "buffer/page.h"
#include "mvdb/status.h"

namespace mvdb::checkpoint {

inline constexpr char kMetaMagic[8] = {'m', 'v', 'd', 'b', 'c', 'k', 'p', 't'};
inline constexpr uint32_t kFormatVersion = 1;
// Slots 0 and 1 of the data file are the meta slots.
inline constexpr uint64_t kMetaSlots = 2;
// A map page's body: first id u64 | count u32 | reserved u32 | u64 entries.
// A map root's body: next root u64 | count u32 | reserved u32 | u64 entries.
inline constexpr size_t kMapHeaderSize = 16;
inline constexpr size_t kMapEntriesPerPage = (kPageSize - kPageHeaderSize - kMapHeaderSize) / 8;
// Location 0 (a meta slot) in a map entry means "not mapped".
inline constexpr uint64_t kUnmapped = 0;

// One checkpoint as its meta slot describes it.
struct Meta {
  uint64_t number = 0;         // increases by one per checkpoint
  uint64_t lsn = 0;            // WAL position recovery replays from
  uint64_t logical_pages = 0;  // map entries: logical ids [0, logical_pages)
  uint64_t map_root = 0;       // slot of the first map root, 0 if no entries
  uint64_t map_pages = 0;      // map pages the roots list
  uint64_t slot_count = 0;     // slots [0, slot_count) hold everything referenced
};

inline uint64_t SlotOffset(uint64_t slot) { return slot * kPageSize; }
inline uint64_t MapPagesFor(uint64_t logical_pages) {
  return logical_pages / kMapEntriesPerPage + (logical_pages % kMapEntriesPerPage != 0 ? 1 : 0);
}

// Fills `slot` (kPageSize bytes) with `meta` and its CRC.
void EncodeMeta(const Meta& meta, std::span<std::byte> slot);
// Decodes and checks one meta slot. Corruption with the reason (the caller
// adds the file and offset): "empty" for an all-zero slot, a CRC mismatch
// for a torn or damaged one, or a field out of range.
Result<Meta> DecodeMeta(std::span<const std::byte> slot);

// Formats `page` as a map page (kPageMap) at `slot` for checkpoint
// `number`, holding `entries` for logical ids from `first_id`.
void EncodeMapPage(uint64_t slot, uint64_t number, uint64_t first_id,
                   std::span<const uint64_t> entries, std::span<std::byte> page);
// Formats `page` as a map root (kPageMapRoot) listing `map_pages`.
void EncodeMapRoot(uint64_t slot, uint64_t number, uint64_t next_root,
                   std::span<const uint64_t> map_pages, std::span<std::byte> page);

// A map page or root as read back. The checks (checksum, type, slot,
// checkpoint number, count) are done by DecodeMapPage.
struct MapPage {
  uint64_t first_or_next = 0;  // first logical id (map page) or next root
  std::vector<uint64_t> entries;
};
// REQUIRES: `page` passed VerifyPage for `slot`. Corruption naming what is
// wrong (the caller adds the file and offset).
Result<MapPage> DecodeMapPage(std::span<const std::byte> page, PageType type, uint64_t number);

}  // namespace mvdb::checkpoint
