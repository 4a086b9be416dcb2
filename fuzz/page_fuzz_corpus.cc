// Writes the seed corpus of page_decoder_fuzz (fuzz/corpus/page/): valid
// page images of every type the data file holds, built with the code that
// writes them, so the fuzzer starts from pages its mutations can keep
// almost valid.
//
//   build-fuzz/bin/page_fuzz_corpus fuzz/corpus/page
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btree/btree.h"
#include "btree/node.h"
#include "btree/overflow.h"
#include "buffer/checkpoint_format.h"
#include "buffer/page.h"
#include "common/coding.h"

namespace {

using mvdb::kPageSize;
using mvdb::PageId;
using mvdb::PageType;
using Page = std::vector<std::byte>;
namespace bt = mvdb::btree;

bool Write(const std::string& dir, const std::string& name, const Page& page) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(page.data()), static_cast<std::streamsize>(page.size()));
  return out.good();
}

Page NewPage(PageId id, PageType type) {
  Page page(kPageSize);
  mvdb::PageView(page).Format(id, type);
  return page;
}

// Inserts (key, value) in key order; false if it does not fit.
bool Put(bt::Node* node, std::string_view key, std::string_view value) {
  bool exact = false;
  const uint16_t at = node->LowerBound(key, &exact);
  return !exact && node->InsertLeaf(at, key, value);
}

Page Leaf(PageId id, const std::vector<std::pair<std::string, std::string>>& entries) {
  Page page = NewPage(id, PageType::kBTreeLeaf);
  bt::Node node(page);
  node.InitLeaf();
  for (const auto& [key, value] : entries) Put(&node, key, value);
  return page;
}

std::string Key(const char* format, int i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, i);
  return buf;
}

Page Sealed(Page page) {
  mvdb::SealPage(page);
  return page;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;

  ok &= Write(dir, "zero_page", Page(kPageSize));

  std::vector<std::pair<std::string, std::string>> small;
  for (int i = 0; i < 24; ++i) small.emplace_back(Key("key%03d", i), std::string(i * 3, 'v'));
  Page leaf = Leaf(5, small);
  {
    bt::Node node(leaf);
    node.set_prev_leaf(4);
    node.set_next_leaf(9);
  }
  ok &= Write(dir, "leaf_small", Sealed(leaf));

  // Keys with a long shared prefix, then holes left by removes.
  std::vector<std::pair<std::string, std::string>> prefixed;
  for (int i = 0; i < 60; ++i) {
    prefixed.emplace_back(Key("users/0000000042/orders/%06d", i * 7), std::string(40, 'p'));
  }
  Page holes = Leaf(6, prefixed);
  {
    bt::Node node(holes);
    for (int i = 50; i >= 0; i -= 5) node.Remove(static_cast<uint16_t>(i));
  }
  ok &= Write(dir, "leaf_prefix_holes", Sealed(holes));

  // Inline values next to values in overflow pages.
  Page big = Leaf(7, {{"a", "short"}, {"m", std::string(1500, 'x')}});
  {
    bt::Node node(big);
    bool exact = false;
    node.InsertLeafOverflow(node.LowerBound("f", &exact), "f", 100000, 31);
    node.InsertLeafOverflow(node.LowerBound("z", &exact), "z", 5000, 40);
  }
  ok &= Write(dir, "leaf_overflow_refs", Sealed(big));

  // A leaf filled until the next insert fails, keys of binary bytes.
  Page full = NewPage(8, PageType::kBTreeLeaf);
  {
    bt::Node node(full);
    node.InitLeaf();
    for (int i = 0; Put(&node, std::string("\x00\xff", 2) + Key("%05d", i * 13 % 9973), "val");
         ++i) {
    }
  }
  ok &= Write(dir, "leaf_full", Sealed(full));

  Page empty = Leaf(12, {});
  ok &= Write(dir, "leaf_empty", Sealed(empty));

  Page inner = NewPage(20, PageType::kBTreeInner);
  {
    bt::Node node(inner);
    node.InitInner(21);
    for (int i = 0; i < 30; ++i) {
      node.InsertInner(static_cast<uint16_t>(i), Key("sep%04d", i * 10), 22 + i);
    }
  }
  ok &= Write(dir, "inner", Sealed(inner));

  Page long_keys = NewPage(60, PageType::kBTreeInner);
  {
    bt::Node node(long_keys);
    node.InitInner(61);
    node.InsertInner(0, std::string(mvdb::kMaxKeySize, 'k'), 62);
    node.InsertInner(1, std::string(mvdb::kMaxKeySize - 1, 'l'), 63);
  }
  ok &= Write(dir, "inner_long_keys", Sealed(long_keys));

  // An overflow page: next u64 | piece length u32 | piece.
  Page overflow = NewPage(31, PageType::kOverflow);
  mvdb::EncodeFixed64(overflow.data() + mvdb::kPageHeaderSize, 32);
  mvdb::EncodeFixed32(overflow.data() + mvdb::kPageHeaderSize + 8, bt::kOverflowCapacity);
  for (size_t i = 0; i < bt::kOverflowCapacity; ++i) {
    overflow[mvdb::kPageHeaderSize + bt::kOverflowHeaderSize + i] = static_cast<std::byte>(i);
  }
  ok &= Write(dir, "overflow_full", Sealed(overflow));
  Page overflow_end = NewPage(32, PageType::kOverflow);
  mvdb::EncodeFixed64(overflow_end.data() + mvdb::kPageHeaderSize, mvdb::kInvalidPageId);
  mvdb::EncodeFixed32(overflow_end.data() + mvdb::kPageHeaderSize + 8, 100);
  ok &= Write(dir, "overflow_last", Sealed(overflow_end));

  namespace ck = mvdb::checkpoint;
  Page meta(kPageSize);
  ck::EncodeMeta({.number = 7,
                  .lsn = 123456,
                  .logical_pages = 1500,
                  .map_root = 9,
                  .map_pages = ck::MapPagesFor(1500),
                  .slot_count = 2000},
                 meta);
  ok &= Write(dir, "checkpoint_meta", meta);

  std::vector<uint64_t> entries;
  for (uint64_t i = 0; i < 300; ++i) entries.push_back(i % 5 == 0 ? ck::kUnmapped : 100 + i);
  Page map(kPageSize);
  ck::EncodeMapPage(10, 7, 1020, entries, map);
  ok &= Write(dir, "checkpoint_map", map);
  Page root(kPageSize);
  const uint64_t map_pages[] = {10, 11};
  ck::EncodeMapRoot(9, 7, ck::kUnmapped, map_pages, root);
  ok &= Write(dir, "checkpoint_map_root", root);

  return ok ? 0 : 1;
}
