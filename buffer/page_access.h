// Page bytes that optimistic readers may look at while a writer changes
// them, accessed so that the program stays free of data races in the C++
// memory model (the protocol is in buffer_pool.h, invariant 6).
//
// A cached page is read by optimistic readers that hold no latch (BTree
// lookups): they copy what they need and then check the frame's version,
// retrying when it moved. Their reads overlap the writes of a writer holding
// the exclusive latch, so both sides must be atomic. Every access here is an
// atomic access to an aligned 8-byte word through std::atomic_ref: readers
// load words with acquire, writers store words with release (a narrower
// field is merged into its word; the writer holds the exclusive latch, so no
// other thread stores to the word meanwhile). Acquire/release per word is
// the seqlock recipe that needs no fences: a reader that sees any byte of a
// writer's change also sees the version the writer bumped before it, so its
// validation fails (Boehm, "Can seqlocks get along with programming language
// memory models?", 2012). On x86-64 these are plain moves.
//
// Every page bytes writer that a reader may overlap (node.cc, overflow
// pages, the allocator's pages, page headers, loads into frames) goes
// through the Store/Copy/Fill functions below. Pages in buffers that are not
// 8-byte aligned (scratch pages in tests) are never read optimistically;
// for them the writers fall back to plain copies, so the words touched never
// reach outside the buffer.
//
// Readers (Load*, CopyOut) REQUIRE an 8-byte aligned page and an in-page
// range; they do not check either: callers bound every offset first.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mvdb::page_access {

static_assert(std::endian::native == std::endian::little,
              "page fields are little-endian and assembled from little-endian words");

inline constexpr size_t kWord = 8;

inline bool WordAligned(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & (kWord - 1)) == 0;
}

inline uint64_t LoadWord(const std::byte* word) {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(const_cast<std::byte*>(word)))
      .load(std::memory_order_acquire);
}

inline void StoreWord(std::byte* word, uint64_t value) {
  std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(word))
      .store(value, std::memory_order_release);
}

// The n (1..8) bytes at page + offset as a little-endian number.
inline uint64_t LoadLE(const std::byte* page, size_t offset, size_t n) {
  const size_t in_word = offset & (kWord - 1);
  const std::byte* word = page + (offset - in_word);
  uint64_t value = LoadWord(word) >> (8 * in_word);
  if (in_word + n > kWord) {
    value |= LoadWord(word + kWord) << (64 - 8 * in_word);
  }
  return n == kWord ? value : value & ((uint64_t{1} << (8 * n)) - 1);
}

inline uint8_t Load8(const std::byte* page, size_t offset) {
  return static_cast<uint8_t>(LoadLE(page, offset, 1));
}
inline uint16_t Load16(const std::byte* page, size_t offset) {
  return static_cast<uint16_t>(LoadLE(page, offset, 2));
}
inline uint32_t Load32(const std::byte* page, size_t offset) {
  return static_cast<uint32_t>(LoadLE(page, offset, 4));
}
inline uint64_t Load64(const std::byte* page, size_t offset) { return LoadLE(page, offset, 8); }

// Copies n bytes at page + offset to `out` (private memory).
inline void CopyOut(const std::byte* page, size_t offset, size_t n, void* out) {
  auto* dst = static_cast<std::byte*>(out);
  size_t pos = offset;
  const size_t end = offset + n;
  while (pos < end) {
    const size_t in_word = pos & (kWord - 1);
    const uint64_t word = LoadWord(page + (pos - in_word));
    const size_t take = std::min(kWord - in_word, end - pos);
    std::memcpy(dst, reinterpret_cast<const std::byte*>(&word) + in_word, take);
    dst += take;
    pos += take;
  }
}

// Writes n bytes from `src` (private memory) at page + offset.
// REQUIRES: the caller holds the page's exclusive latch (or owns the page).
inline void CopyIn(std::byte* page, size_t offset, const void* src, size_t n) {
  if (n == 0) return;
  const auto* from = static_cast<const std::byte*>(src);
  if (!WordAligned(page)) [[unlikely]] {
    std::memcpy(page + offset, from, n);
    return;
  }
  size_t pos = offset;
  const size_t end = offset + n;
  while (pos < end) {
    const size_t in_word = pos & (kWord - 1);
    std::byte* word = page + (pos - in_word);
    const size_t take = std::min(kWord - in_word, end - pos);
    uint64_t value;
    if (take == kWord) {
      std::memcpy(&value, from, kWord);
    } else {
      value = LoadWord(word);
      std::memcpy(reinterpret_cast<std::byte*>(&value) + in_word, from, take);
    }
    StoreWord(word, value);
    from += take;
    pos += take;
  }
}

// Stores the low n (1..8) bytes of `value`, little-endian, at page + offset.
inline void StoreLE(std::byte* page, size_t offset, uint64_t value, size_t n) {
  const size_t in_word = offset & (kWord - 1);
  if (in_word + n <= kWord && WordAligned(page)) [[likely]] {
    // One word: merge the field into it (most node fields).
    std::byte* word = page + (offset - in_word);
    const uint64_t mask = (n == kWord ? ~uint64_t{0} : ((uint64_t{1} << (8 * n)) - 1))
                          << (8 * in_word);
    StoreWord(word, (LoadWord(word) & ~mask) | ((value << (8 * in_word)) & mask));
    return;
  }
  CopyIn(page, offset, &value, n);
}
inline void Store8(std::byte* page, size_t offset, uint8_t v) { StoreLE(page, offset, v, 1); }
inline void Store16(std::byte* page, size_t offset, uint16_t v) { StoreLE(page, offset, v, 2); }
inline void Store32(std::byte* page, size_t offset, uint32_t v) { StoreLE(page, offset, v, 4); }
inline void Store64(std::byte* page, size_t offset, uint64_t v) { StoreLE(page, offset, v, 8); }

// Sets n bytes at page + offset to `value`.
inline void Fill(std::byte* page, size_t offset, std::byte value, size_t n) {
  uint64_t pattern;
  std::memset(&pattern, static_cast<int>(value), sizeof(pattern));
  if (!WordAligned(page)) [[unlikely]] {
    std::memset(page + offset, static_cast<int>(value), n);
    return;
  }
  const size_t end = offset + n;
  const size_t head_end = std::min(end, (offset + kWord - 1) & ~(kWord - 1));
  CopyIn(page, offset, &pattern, head_end - offset);
  size_t pos = head_end;
  for (; pos + kWord <= end; pos += kWord) StoreWord(page + pos, pattern);
  if (pos < end) CopyIn(page, pos, &pattern, end - pos);
}

// Moves n bytes within the page from offset `from` to offset `to`; the
// ranges may overlap. REQUIRES: the exclusive latch (its plain reads of the
// page race with no writer).
inline void Move(std::byte* page, size_t to, size_t from, size_t n) {
  if (n == 0 || to == from) return;
  std::byte scratch[1024];
  if (n <= sizeof(scratch)) {
    std::memcpy(scratch, page + from, n);
    CopyIn(page, to, scratch, n);
    return;
  }
  // Chunks in the order that never overwrites bytes still to be read.
  if (to < from) {
    for (size_t done = 0; done < n;) {
      const size_t take = std::min(n - done, sizeof(scratch));
      std::memcpy(scratch, page + from + done, take);
      CopyIn(page, to + done, scratch, take);
      done += take;
    }
  } else {
    for (size_t left = n; left > 0;) {
      const size_t take = std::min(left, sizeof(scratch));
      left -= take;
      std::memcpy(scratch, page + from + left, take);
      CopyIn(page, to + left, scratch, take);
    }
  }
}

}  // namespace mvdb::page_access
