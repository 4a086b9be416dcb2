#include "buffer/page.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "buffer/page_access.h"
#include "common/crc32c.h"

namespace mvdb {

const char* PageTypeName(PageType type) {
  switch (type) {
    case PageType::kFree:
      return "free";
    case PageType::kMeta:
      return "meta";
    case PageType::kFreeListTrunk:
      return "freelist-trunk";
    case PageType::kBTreeLeaf:
      return "btree-leaf";
    case PageType::kBTreeInner:
      return "btree-inner";
    case PageType::kOverflow:
      return "overflow";
    case PageType::kPageMap:
      return "page-map";
    case PageType::kPageMapRoot:
      return "page-map-root";
  }
  return "unknown";
}

// Through page_access: a cached frame may be read optimistically meanwhile.
void PageView::Format(PageId id, PageType type) {
  std::byte* p = bytes_.data();
  page_access::Fill(p, 0, std::byte{0}, bytes_.size());
  page_access::Store8(p, page_header::kTypeOffset, static_cast<uint8_t>(type));
  page_access::Store8(p, page_header::kVersionOffset, kPageFormatVersion);
  page_access::Store64(p, page_header::kPageIdOffset, id);
}

void PageView::set_type(PageType type) {
  page_access::Store8(bytes_.data(), page_header::kTypeOffset, static_cast<uint8_t>(type));
}

void PageView::set_lsn(uint64_t lsn) {
  page_access::Store64(bytes_.data(), page_header::kLsnOffset, lsn);
}

void PageView::set_generation(uint64_t generation) {
  page_access::Store64(bytes_.data(), page_header::kGenerationOffset, generation);
}

uint32_t ComputePageChecksum(std::span<const std::byte> page) {
  return crc32c::Value(page.subspan(page_header::kChecksumOffset + 4));
}

void SealPage(std::span<std::byte> page) {
  EncodeFixed32(page.data() + page_header::kChecksumOffset, ComputePageChecksum(page));
}

namespace {

bool IsAllZero(std::span<const std::byte> page) {
  return std::all_of(page.begin(), page.end(), [](std::byte b) { return b == std::byte{0}; });
}

Status PageCorruption(const std::string& file, PageId id, uint64_t offset,
                      const std::string& what) {
  char prefix[96];
  std::snprintf(prefix, sizeof(prefix), ": page %" PRIu64 " at offset %" PRIu64 ": ", id, offset);
  return Status::Corruption(file + prefix + what);
}

bool IsKnownType(uint8_t type) { return type <= static_cast<uint8_t>(PageType::kPageMapRoot); }

}  // namespace

Status VerifyPage(std::span<const std::byte> page, PageId expected_id, const std::string& file,
                  uint64_t file_offset) {
  if (page.size() != kPageSize) {
    return PageCorruption(file, expected_id, file_offset,
                          "page image is " + std::to_string(page.size()) + " bytes, expected " +
                              std::to_string(kPageSize));
  }
  const ConstPageView view(page);
  const uint32_t stored = view.stored_checksum();
  const uint32_t computed = ComputePageChecksum(page);
  if (stored != computed) {
    // Only checked on a mismatch: a page that was allocated but never written
    // back reads as zeros, and the CRC of zeros is not zero.
    if (IsAllZero(page)) return Status::OK();
    char what[80];
    std::snprintf(what, sizeof(what),
                  "checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")", stored,
                  computed);
    return PageCorruption(file, expected_id, file_offset, what);
  }
  const auto version = static_cast<uint8_t>(page[page_header::kVersionOffset]);
  if (version != kPageFormatVersion) {
    return PageCorruption(file, expected_id, file_offset,
                          "unsupported page format version " + std::to_string(version));
  }
  if (view.page_id() != expected_id) {
    return PageCorruption(
        file, expected_id, file_offset,
        "page header claims id " + std::to_string(view.page_id()) + " (misdirected write or read)");
  }
  const auto type = static_cast<uint8_t>(page[page_header::kTypeOffset]);
  if (!IsKnownType(type)) {
    return PageCorruption(file, expected_id, file_offset,
                          "unknown page type " + std::to_string(type));
  }
  return Status::OK();
}

}  // namespace mvdb
