// The page: the unit the buffer pool caches and the data file stores.
//
// Every page starts with the same 32-byte header; the rest (the body) belongs
// to whoever owns the page type (the B+tree, the free list, the meta page).
// buffer/page_format.md documents the bytes; this file is the code for them.
//
//   offset size field
//   0      4    checksum: CRC32C of bytes [4, kPageSize)
//   4      1    page type (PageType)
//   5      1    header format version (kPageFormatVersion)
//   6      2    reserved, zero
//   8      8    page id: the page's own id, so a misdirected write or read
//               is caught as corruption
//   16     8    LSN of the last log record applied to the page (0 until the
//               WAL uses it)
//   24     8    write generation: the checkpoint epoch the image was written
//               for (set by the copy-on-write store; 0 elsewhere)
//
// The checksum is set when a page is written back (never while it is
// cached) and verified when it is read; see PageStore.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/coding.h"
#include "mvdb/status.h"

namespace mvdb {

// 8 KiB: see page_format.md for why.
inline constexpr size_t kPageSize = 8192;
inline constexpr size_t kPageHeaderSize = 32;
inline constexpr uint8_t kPageFormatVersion = 1;

using PageId = uint64_t;
inline constexpr PageId kInvalidPageId = ~PageId{0};
// Page 0 is the meta page; page 1 is the root of the tree directory.
inline constexpr PageId kMetaPageId = 0;

enum class PageType : uint8_t {
  kFree = 0,  // never written, or freed (content meaningless)
  kMeta = 1,
  kFreeListTrunk = 2,
  kBTreeLeaf = 3,
  kBTreeInner = 4,
  kOverflow = 5,
  // The checkpoint's page map (buffer/checkpoint_format.md). Their header's
  // page id is their physical slot, not a logical page id.
  kPageMap = 6,
  kPageMapRoot = 7,
};

// Returns a printable name ("meta", "btree-leaf", ...), or "unknown".
const char* PageTypeName(PageType type);

namespace page_header {
inline constexpr size_t kChecksumOffset = 0;
inline constexpr size_t kTypeOffset = 4;
inline constexpr size_t kVersionOffset = 5;
inline constexpr size_t kPageIdOffset = 8;
inline constexpr size_t kLsnOffset = 16;
inline constexpr size_t kGenerationOffset = 24;
}  // namespace page_header

// Read-only view of a page's header. Does not own the bytes.
class ConstPageView {
 public:
  explicit ConstPageView(std::span<const std::byte> bytes) : bytes_(bytes) {}

  PageType type() const { return static_cast<PageType>(bytes_[page_header::kTypeOffset]); }
  PageId page_id() const { return DecodeFixed64(bytes_.data() + page_header::kPageIdOffset); }
  uint64_t lsn() const { return DecodeFixed64(bytes_.data() + page_header::kLsnOffset); }
  uint64_t generation() const {
    return DecodeFixed64(bytes_.data() + page_header::kGenerationOffset);
  }
  uint32_t stored_checksum() const {
    return DecodeFixed32(bytes_.data() + page_header::kChecksumOffset);
  }
  std::span<const std::byte> bytes() const { return bytes_; }
  std::span<const std::byte> body() const { return bytes_.subspan(kPageHeaderSize); }

 private:
  std::span<const std::byte> bytes_;
};

// Writable view of a page's header.
class PageView {
 public:
  explicit PageView(std::span<std::byte> bytes) : bytes_(bytes) {}

  // Zeroes the page and writes a fresh header for `id` of `type`.
  void Format(PageId id, PageType type);

  // The setters and Format store through buffer/page_access.h (a cached
  // page may be read optimistically while its writer changes it).
  void set_type(PageType type);
  void set_lsn(uint64_t lsn);
  void set_generation(uint64_t generation);
  std::span<std::byte> bytes() const { return bytes_; }
  std::span<std::byte> body() const { return bytes_.subspan(kPageHeaderSize); }
  ConstPageView view() const { return ConstPageView(bytes_); }

 private:
  std::span<std::byte> bytes_;
};

// CRC32C of bytes [4, kPageSize) of a page.
uint32_t ComputePageChecksum(std::span<const std::byte> page);

// Writes the checksum into bytes [0, 4). REQUIRES: page.size() == kPageSize.
void SealPage(std::span<std::byte> page);

// Checks a page image read for `expected_id`: checksum, format version,
// self id and a known type. A page of all zero bytes (never written) is
// valid and reads as a free page. On failure returns Corruption whose
// message names `file`, the page id and its byte offset `file_offset`.
Status VerifyPage(std::span<const std::byte> page, PageId expected_id, const std::string& file,
                  uint64_t file_offset);

}  // namespace mvdb
