// What a piece of memory really costs on the heap, for the limits that are
// promised in bytes (Options::max_version_bytes, max_transaction_bytes).
//
// Counting only the payload (a key's and a value's size) undercounts small
// entries several times over: every heap block carries the allocator's
// header and is rounded up, every container node has its links, a
// std::string of more than 15 characters is a block of its own. These
// functions model glibc's malloc (an 8-byte header, 16-byte granularity, a
// 32-byte minimum) and libstdc++'s containers; tests/mvcc checks the model
// against mallinfo2() in the Release build. Another allocator may round
// differently, which moves the real figure by a few percent, not by
// multiples.
#pragma once

#include <cstddef>
#include <string>

namespace mvdb::footprint {

// The heap block malloc hands out for a request of n bytes (0 for none).
constexpr size_t Allocation(size_t n) {
  if (n == 0) return 0;
  const size_t with_header = n + 8;
  const size_t rounded = (with_header + 15) & ~size_t{15};
  return rounded < 32 ? 32 : rounded;
}

// The block holding a std::string's characters: none while they fit in the
// object itself (15 characters in libstdc++), else capacity + 1 (the NUL).
constexpr size_t StringCharacters(size_t capacity) {
  return capacity <= 15 ? 0 : Allocation(capacity + 1);
}
inline size_t String(const std::string& s) { return StringCharacters(s.capacity()); }

// A node of a std::map (three links and a colour: 32 bytes) holding T.
template <typename T>
constexpr size_t MapNode() {
  return Allocation(32 + sizeof(T));
}

// A node of a std::unordered_map whose hash is cached (the next link, T,
// the hash: std::hash<std::string> is cached). Its bucket array is 8 bytes
// a bucket, about one bucket per element at the default load factor of 1.
template <typename T>
constexpr size_t HashNode() {
  return Allocation(8 + sizeof(T) + 8);
}
inline constexpr size_t kBucket = 8;

}  // namespace mvdb::footprint
