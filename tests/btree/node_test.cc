#include "btree/node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "btree/btree.h"
#include "common/coding.h"

namespace mvdb::btree {
namespace {

constexpr PageId kTestPageId = 7;
constexpr size_t kBodySize = kPageSize - kPageHeaderSize - kNodeHeaderSize;

uint64_t TestSeed() {
  const char* env = std::getenv("MVDB_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240601;
}

// One 8 KiB page image with a header naming kTestPageId.
struct PageImage {
  PageImage() { EncodeFixed64(bytes.data() + page_header::kPageIdOffset, kTestPageId); }
  Node node() { return Node(bytes); }
  Status Validate() const { return ValidateNode(bytes, kTestPageId); }
  void Set16(size_t offset, uint16_t v) { EncodeFixed16(bytes.data() + offset, v); }
  uint16_t Get16(size_t offset) const { return DecodeFixed16(bytes.data() + offset); }

  std::array<std::byte, kPageSize> bytes{};
};

// Slot i's position in the page (the layout is node_format.md's).
size_t SlotOffset(size_t i) { return kPageHeaderSize + kNodeHeaderSize + i * kSlotSize; }

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Inserts at the position LowerBound finds; false when it does not fit.
bool Put(Node& node, std::string_view key, std::string_view value) {
  bool exact = false;
  const uint16_t i = node.LowerBound(key, &exact);
  EXPECT_FALSE(exact) << "duplicate key in test";
  return node.InsertLeaf(i, key, value);
}

std::vector<std::string> Keys(const ConstNode& node) {
  std::vector<std::string> keys;
  for (uint16_t i = 0; i < node.size(); ++i) keys.emplace_back(node.key(i));
  return keys;
}

TEST(NodeTest, SizesAndThresholds) {
  EXPECT_EQ(LeafCellSize(3, 4), kSlotSize + kLeafCellOverhead + 7);
  EXPECT_EQ(OverflowLeafCellSize(3), kSlotSize + kLeafCellOverhead + 3 + 8);
  EXPECT_EQ(InnerCellSize(3), kSlotSize + kInnerCellOverhead + 3);
  const size_t max_value = kMaxInlineLeafCell - LeafCellSize(10, 0);
  EXPECT_FALSE(NeedsOverflow(10, max_value));
  EXPECT_TRUE(NeedsOverflow(10, max_value + 1));
  // Four maximal inline cells fit one leaf: the split guarantee.
  EXPECT_GE(kBodySize, 4 * kMaxInlineLeafCell);
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  EXPECT_EQ(leaf.FreeSpace(), kBodySize);
  for (char c = 'a'; c < 'e'; ++c) {
    ASSERT_TRUE(Put(leaf, std::string(10, c), std::string(max_value, c)));
  }
  EXPECT_TRUE(page.Validate().ok()) << page.Validate().ToString();
}

TEST(NodeTest, EmptyLeafHeader) {
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  EXPECT_TRUE(leaf.is_leaf());
  EXPECT_EQ(leaf.size(), 0);
  EXPECT_EQ(leaf.next_leaf(), kInvalidPageId);
  EXPECT_EQ(leaf.prev_leaf(), kInvalidPageId);
  EXPECT_EQ(ConstPageView(page.bytes).page_id(), kTestPageId);
  EXPECT_EQ(ConstPageView(page.bytes).type(), PageType::kBTreeLeaf);
  bool exact = true;
  EXPECT_EQ(leaf.LowerBound("x", &exact), 0);
  EXPECT_FALSE(exact);
  leaf.set_next_leaf(9);
  leaf.set_prev_leaf(5);
  EXPECT_EQ(leaf.next_leaf(), 9U);
  EXPECT_EQ(leaf.prev_leaf(), 5U);
  EXPECT_TRUE(page.Validate().ok());
}

TEST(NodeTest, RandomOrderInsertReadsBackSorted) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  std::map<std::string, std::string> model;
  while (true) {
    std::string key = RandomBytes(rng, 1 + rng() % 24);
    if (model.count(key) != 0) continue;
    std::string value = RandomBytes(rng, rng() % 40);
    if (!Put(leaf, key, value)) break;
    model.emplace(std::move(key), std::move(value));
  }
  ASSERT_GT(model.size(), 50U);
  ASSERT_EQ(leaf.size(), model.size());
  uint16_t i = 0;
  for (const auto& [key, value] : model) {
    EXPECT_EQ(leaf.key(i), key);
    EXPECT_FALSE(leaf.is_overflow(i));
    EXPECT_EQ(leaf.value_size(i), value.size());
    EXPECT_EQ(leaf.inline_value(i), value);
    ++i;
  }
  EXPECT_TRUE(page.Validate().ok()) << page.Validate().ToString();
}

TEST(NodeTest, LowerBoundMatchesStdSet) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // Bytes at the edges of the order: 0x00, 0xff and their neighbours, so
  // signed-char comparison or prefix handling would go wrong.
  const char alphabet[] = {'\x00', '\x01', '\x7f', '\x80', '\xfe', '\xff', 'a'};
  auto random_key = [&] {
    std::string key(rng() % 5, '\0');
    for (char& c : key) c = alphabet[rng() % sizeof(alphabet)];
    return key;
  };
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  std::set<std::string> keys = {"", std::string(1, '\0'), "\xff", "\xff\xff", "a", "ab"};
  for (int n = 0; n < 400; ++n) keys.insert(random_key());
  for (const std::string& key : keys) ASSERT_TRUE(Put(leaf, key, ""));
  ASSERT_TRUE(page.Validate().ok()) << page.Validate().ToString();
  ASSERT_EQ(Keys(leaf), std::vector<std::string>(keys.begin(), keys.end()));

  for (int n = 0; n < 5000; ++n) {
    std::string target = random_key();
    if (n % 3 == 0) target += std::string(rng() % 3, '\xff');
    const auto it = keys.lower_bound(target);
    bool exact = false;
    const uint16_t got = leaf.LowerBound(target, &exact);
    ASSERT_EQ(got, std::distance(keys.begin(), it)) << "target size " << target.size();
    ASSERT_EQ(exact, it != keys.end() && *it == target);
  }
  // Every stored key finds itself.
  for (uint16_t i = 0; i < leaf.size(); ++i) {
    bool exact = false;
    EXPECT_EQ(leaf.LowerBound(leaf.key(i), &exact), i);
    EXPECT_TRUE(exact);
  }
}

// Keys built to make the slot hints tie or mislead: shorter than the
// 4-byte hint, equal in their first 4 bytes (or in the 4 after the node's
// prefix) and different later, extensions by 0x00 (whose zero-padded hints
// tie with the shorter key's) and runs of 0xff.
std::vector<std::string> HintEdgeKeys() {
  std::vector<std::string> keys = {"",
                                   std::string(1, '\0'),
                                   std::string(2, '\0'),
                                   std::string(5, '\0'),
                                   "a",
                                   std::string("a\0", 2),
                                   std::string("a\0\0\0", 4),
                                   std::string("a\0\0\0\0", 5),
                                   "ab",
                                   "abc",
                                   "abcd",
                                   "abcd\x01",
                                   "abcdX",
                                   "abcdY",
                                   "abcdY\xff",
                                   "abce",
                                   "\xff",
                                   "\xff\xff\xff",
                                   "\xff\xff\xff\xff",
                                   "\xff\xff\xff\xff\xff"};
  for (int i = 0; i < 20; ++i) {
    keys.push_back("same-prefix-" + std::to_string(1000 + i));  // ties past byte 4
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// LowerBound against std::set for every stored key, every key's neighbours
// (a byte more or less) and a few outsiders.
void ExpectLowerBoundsMatch(const ConstNode& node, const std::vector<std::string>& sorted) {
  const std::set<std::string> keys(sorted.begin(), sorted.end());
  std::vector<std::string> targets = {"", std::string(1, '\0'), "0", "zzzz",
                                      "\xff\xff\xff\xff\xff\xff"};
  for (const std::string& key : sorted) {
    targets.push_back(key);
    targets.push_back(key + '\0');
    targets.push_back(key + '\xff');
    if (!key.empty()) {
      targets.push_back(key.substr(0, key.size() - 1));
      std::string bumped = key;
      bumped.back() = static_cast<char>(bumped.back() + 1);
      targets.push_back(bumped);
    }
  }
  for (const std::string& target : targets) {
    const auto it = keys.lower_bound(target);
    bool exact = false;
    ASSERT_EQ(node.LowerBound(target, &exact), std::distance(keys.begin(), it))
        << "target of " << target.size() << " bytes";
    ASSERT_EQ(exact, it != keys.end() && *it == target);
  }
}

TEST(NodeTest, HintsKeepTheOrderAtTheirEdges) {
  const std::vector<std::string> sorted = HintEdgeKeys();
  for (bool inner : {false, true}) {
    SCOPED_TRACE(inner ? "inner" : "leaf");
    // Inserted in a scrambled order, so slots and hints move around.
    std::vector<std::string> order = sorted;
    std::mt19937_64 rng(TestSeed());
    std::shuffle(order.begin(), order.end(), rng);
    PageImage page;
    Node node = page.node();
    inner ? node.InitInner(2) : node.InitLeaf();
    for (const std::string& key : order) {
      bool exact = false;
      const uint16_t i = node.LowerBound(key, &exact);
      ASSERT_FALSE(exact);
      ASSERT_TRUE(inner ? node.InsertInner(i, key, 3) : node.InsertLeaf(i, key, "v"));
    }
    ASSERT_TRUE(page.Validate().ok()) << page.Validate().ToString();
    ASSERT_EQ(Keys(node), sorted);
    ExpectLowerBoundsMatch(node, sorted);
  }
}

// A node whose keys share a long prefix gets hints of the bytes after it
// (after compaction or a split); a key outside it shortens it again.
TEST(NodeTest, SharedPrefixLengthensAndShortens) {
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) {
    keys.push_back("user/0000" + std::to_string(100 + 7 * i));
    ASSERT_TRUE(Put(leaf, keys.back(), "v"));
  }
  EXPECT_EQ(leaf.prefix_size(), 0);
  leaf.Compact();
  EXPECT_EQ(leaf.prefix_size(), 9);  // "user/0000", then 1, 2 or 3
  ASSERT_TRUE(page.Validate().ok()) << page.Validate().ToString();
  std::sort(keys.begin(), keys.end());
  ExpectLowerBoundsMatch(leaf, keys);

  // Targets outside the prefix sort before or after every key.
  bool exact = true;
  EXPECT_EQ(leaf.LowerBound("user/", &exact), 0);
  EXPECT_FALSE(exact);
  EXPECT_EQ(leaf.LowerBound("user/0001", &exact), leaf.size());
  EXPECT_EQ(leaf.LowerBound("a", &exact), 0);
  EXPECT_EQ(leaf.LowerBound("v", &exact), leaf.size());

  // A key that leaves the prefix after 5 bytes shortens it to 5, and one
  // that shares nothing to 0; the order holds throughout.
  for (const char* key : {"user/1", "apple"}) {
    keys.push_back(key);
    ASSERT_TRUE(Put(leaf, key, "v"));
    std::sort(keys.begin(), keys.end());
    ASSERT_TRUE(page.Validate().ok()) << page.Validate().ToString();
    ExpectLowerBoundsMatch(leaf, keys);
  }
  EXPECT_EQ(leaf.prefix_size(), 0);

  // A split gives each half the prefix of its own keys.
  PageImage right_page;
  Node right = right_page.node();
  right.InitLeaf();
  leaf.Remove(0);  // "apple"
  keys.erase(keys.begin());
  const uint16_t from = 10;
  leaf.MoveUpperHalfTo(from, &right);
  EXPECT_EQ(leaf.prefix_size(), 10);  // "user/0000100" to "user/0000163"
  EXPECT_EQ(right.prefix_size(), 5);  // "user/0000..." up to "user/1"
  ASSERT_TRUE(page.Validate().ok()) << page.Validate().ToString();
  ASSERT_TRUE(right_page.Validate().ok()) << right_page.Validate().ToString();
  ExpectLowerBoundsMatch(leaf, std::vector<std::string>(keys.begin(), keys.begin() + from));
  ExpectLowerBoundsMatch(right, std::vector<std::string>(keys.begin() + from, keys.end()));

  // Emptied, a node forgets its prefix.
  while (right.size() > 0) right.Remove(0);
  EXPECT_EQ(right.prefix_size(), 0);
  ASSERT_TRUE(right_page.Validate().ok());
}

TEST(NodeTest, FullLeafRejectsInsertUnchanged) {
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  int n = 0;
  while (Put(leaf, "key" + std::to_string(1000 + n), std::string(100, 'v'))) ++n;
  const auto before = page.bytes;
  EXPECT_FALSE(leaf.InsertLeaf(0, "a", std::string(100, 'v')));
  EXPECT_EQ(page.bytes, before);

  // Fragmented space counts, but only all of it together: after freeing a
  // cell, a cell one byte too large for gap + holes is refused unchanged,
  // and one exactly that large goes in (after compaction).
  leaf.Remove(3);
  leaf.Remove(10);
  const size_t free = leaf.FreeSpace();
  const size_t key_size = 4;
  const size_t fitting_value = free - LeafCellSize(key_size, 0);
  const auto with_holes = page.bytes;
  EXPECT_FALSE(leaf.InsertLeaf(0, "aaaa", std::string(fitting_value + 1, 'w')));
  EXPECT_EQ(page.bytes, with_holes);
  EXPECT_TRUE(leaf.InsertLeaf(0, "aaaa", std::string(fitting_value, 'w')));
  EXPECT_EQ(leaf.FreeSpace(), 0U);
  EXPECT_EQ(leaf.inline_value(0), std::string(fitting_value, 'w'));
  EXPECT_EQ(leaf.key(1), "key1000");
  EXPECT_TRUE(page.Validate().ok()) << page.Validate().ToString();
}

TEST(NodeTest, RemoveAndCompactReclaimExactly) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  std::map<std::string, std::string> model;
  for (int n = 0; n < 60; ++n) {
    std::string key = "k" + std::to_string(100 + n);
    std::string value = RandomBytes(rng, rng() % 80);
    const size_t free = leaf.FreeSpace();
    ASSERT_TRUE(Put(leaf, key, value));
    EXPECT_EQ(leaf.FreeSpace(), free - LeafCellSize(key.size(), value.size()));
    EXPECT_EQ(leaf.FreeSpace() + leaf.UsedSpace(), kBodySize);
    model.emplace(std::move(key), std::move(value));
  }
  while (model.size() > 10) {
    const uint16_t i = static_cast<uint16_t>(rng() % leaf.size());
    const std::string key(leaf.key(i));
    const size_t free = leaf.FreeSpace();
    leaf.Remove(i);
    EXPECT_EQ(leaf.FreeSpace(), free + LeafCellSize(key.size(), model[key].size()));
    model.erase(key);
    ASSERT_TRUE(page.Validate().ok()) << page.Validate().ToString();
  }
  const size_t free = leaf.FreeSpace();
  leaf.Compact();
  EXPECT_EQ(leaf.FreeSpace(), free);
  EXPECT_TRUE(page.Validate().ok()) << page.Validate().ToString();
  uint16_t i = 0;
  for (const auto& [key, value] : model) {
    EXPECT_EQ(leaf.key(i), key);
    EXPECT_EQ(leaf.inline_value(i++), value);
  }
  // After compaction the free space is one contiguous gap between the slot
  // array and content_start.
  EXPECT_EQ(page.Get16(kPageHeaderSize + 2) - SlotOffset(leaf.size()), free);
  EXPECT_EQ(page.Get16(kPageHeaderSize + 4), 0);
  while (leaf.size() > 0) leaf.Remove(0);
  EXPECT_EQ(leaf.FreeSpace(), kBodySize);
  EXPECT_TRUE(page.Validate().ok());
}

TEST(NodeTest, OverflowCells) {
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  ASSERT_TRUE(leaf.InsertLeafOverflow(0, "big", 1 << 20, 42));
  ASSERT_TRUE(leaf.InsertLeaf(0, "a", "small"));
  EXPECT_EQ(leaf.FreeSpace(), kBodySize - OverflowLeafCellSize(3) - LeafCellSize(1, 5));
  EXPECT_FALSE(leaf.is_overflow(0));
  EXPECT_TRUE(leaf.is_overflow(1));
  EXPECT_EQ(leaf.value_size(1), 1U << 20);
  EXPECT_EQ(leaf.overflow_page(1), 42U);
  EXPECT_EQ(leaf.key(1), "big");
  EXPECT_TRUE(page.Validate().ok()) << page.Validate().ToString();
  leaf.Remove(0);
  leaf.Compact();
  EXPECT_EQ(leaf.overflow_page(0), 42U);
  EXPECT_TRUE(page.Validate().ok());
}

// Fills a leaf with cells of mixed sizes (tiny to maximal inline) in random
// key order.
void FillMixed(Node& leaf, std::mt19937_64& rng, std::map<std::string, std::string>* model) {
  const size_t sizes[] = {0, 3, 40, 200, 900, kMaxInlineLeafCell - LeafCellSize(8, 0)};
  while (true) {
    std::string key = RandomBytes(rng, 8);
    std::string value(sizes[rng() % std::size(sizes)], 'v');
    if (!Put(leaf, key, value)) return;
    model->emplace(std::move(key), std::move(value));
  }
}

TEST(NodeTest, LeafSplitBalancesBytes) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 200; ++round) {
    PageImage left_page;
    PageImage right_page;
    Node left = left_page.node();
    Node right = right_page.node();
    left.InitLeaf();
    right.InitLeaf();
    std::map<std::string, std::string> model;
    FillMixed(left, rng, &model);
    const uint16_t count = left.size();
    ASSERT_GE(count, 4);
    const uint16_t from = left.SplitPoint();
    ASSERT_GE(from, 1);
    ASSERT_LT(from, count);
    const std::string separator = left.MoveUpperHalfTo(from, &right);
    ASSERT_EQ(left.size(), from);
    ASSERT_EQ(right.size(), count - from);
    EXPECT_EQ(separator, right.key(0));
    ASSERT_TRUE(left_page.Validate().ok()) << left_page.Validate().ToString();
    ASSERT_TRUE(right_page.Validate().ok()) << right_page.Validate().ToString();
    // Within one maximal cell of each other, so either half takes any cell.
    const size_t l = left.UsedSpace();
    const size_t r = right.UsedSpace();
    EXPECT_LE(l > r ? l - r : r - l, kMaxInlineLeafCell) << "round " << round;
    EXPECT_GE(left.FreeSpace(), kMaxInlineLeafCell);
    EXPECT_GE(right.FreeSpace(), kMaxInlineLeafCell);
    std::vector<std::string> keys = Keys(left);
    const std::vector<std::string> right_keys = Keys(right);
    keys.insert(keys.end(), right_keys.begin(), right_keys.end());
    std::vector<std::string> expected;
    for (const auto& [key, value] : model) expected.push_back(key);
    ASSERT_EQ(keys, expected);
    for (uint16_t i = 0; i < right.size(); ++i) {
      EXPECT_EQ(right.inline_value(i), model[std::string(right.key(i))]);
    }
  }
}

TEST(NodeTest, InnerChildLookup) {
  PageImage page;
  Node inner = page.node();
  inner.InitInner(100);
  EXPECT_FALSE(inner.is_leaf());
  EXPECT_EQ(inner.leftmost_child(), 100U);
  ASSERT_TRUE(inner.InsertInner(0, "d", 102));
  ASSERT_TRUE(inner.InsertInner(0, "b", 101));
  ASSERT_TRUE(inner.InsertInner(2, "f", 103));
  ASSERT_TRUE(page.Validate().ok()) << page.Validate().ToString();
  const std::pair<std::string, int> cases[] = {
      {"", -1}, {"a", -1}, {"azz", -1}, {"b", 0},     {"b\x00", 0}, {"c", 0},
      {"d", 1}, {"e", 1},  {"f", 2},    {"f\xff", 2}, {"\xff", 2},
  };
  for (const auto& [target, index] : cases) {
    EXPECT_EQ(inner.ChildIndexFor(target), index) << target;
    EXPECT_EQ(inner.ChildFor(target), index < 0 ? 100U : 101U + index) << target;
  }
  inner.set_child(1, 202);
  inner.set_leftmost_child(200);
  EXPECT_EQ(inner.ChildFor("e"), 202U);
  EXPECT_EQ(inner.ChildFor("a"), 200U);
  EXPECT_TRUE(page.Validate().ok());
}

TEST(NodeTest, InnerSplitPushesSeparatorUp) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  PageImage left_page;
  PageImage right_page;
  Node left = left_page.node();
  Node right = right_page.node();
  left.InitInner(1000);
  std::map<std::string, PageId> model;
  for (PageId child = 1001;; ++child) {
    std::string key = RandomBytes(rng, 1 + rng() % kMaxKeySize);
    bool exact = false;
    const uint16_t i = left.LowerBound(key, &exact);
    if (exact) continue;
    if (!left.InsertInner(i, key, child)) break;
    model.emplace(std::move(key), child);
  }
  ASSERT_TRUE(left_page.Validate().ok()) << left_page.Validate().ToString();
  const uint16_t count = left.size();
  ASSERT_GE(count, 7);
  const uint16_t from = left.SplitPoint();
  ASSERT_GE(from, 1);
  ASSERT_LE(from, count - 2);
  const std::string pushed(left.key(from));
  const PageId pushed_child = left.child(from);
  right.InitInner(kInvalidPageId);
  EXPECT_EQ(left.MoveUpperHalfTo(from, &right), pushed);
  EXPECT_EQ(left.size(), from);
  EXPECT_EQ(right.size(), count - from - 1);
  EXPECT_EQ(right.leftmost_child(), pushed_child);
  EXPECT_EQ(left.leftmost_child(), 1000U);
  ASSERT_TRUE(left_page.Validate().ok()) << left_page.Validate().ToString();
  ASSERT_TRUE(right_page.Validate().ok()) << right_page.Validate().ToString();
  EXPECT_LT(left.key(from - 1), pushed);
  EXPECT_GT(right.key(0), pushed);
  for (const auto& [key, child] : model) {
    const Node& side = key < pushed ? left : right;
    if (key == pushed) continue;
    EXPECT_EQ(side.ChildFor(key), child);
  }
}

// A valid leaf with a few cells, for the corruption tests below.
PageImage SmallLeaf() {
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  for (const char* key : {"apple", "banana", "cherry", "damson"}) {
    EXPECT_TRUE(Put(leaf, key, std::string(20, key[0])));
  }
  EXPECT_TRUE(page.Validate().ok());
  return page;
}

void ExpectCorrupt(const PageImage& page, std::string_view what) {
  const Status s = page.Validate();
  EXPECT_TRUE(s.IsCorruption()) << what << ": " << s.ToString();
  EXPECT_NE(s.message().find("page 7: "), std::string_view::npos) << s.ToString();
  EXPECT_NE(s.message().find(" at offset "), std::string_view::npos) << s.ToString();
}

TEST(NodeValidateTest, RejectsHandCraftedDamage) {
  const size_t slot_count = kPageHeaderSize;
  const size_t content_start = kPageHeaderSize + 2;
  const size_t fragmented = kPageHeaderSize + 4;
  const size_t prefix_size = kPageHeaderSize + 6;
  {
    PageImage page = SmallLeaf();
    page.Set16(slot_count, 5000);
    ExpectCorrupt(page, "slot count past the page");
  }
  {
    PageImage page = SmallLeaf();
    page.Set16(slot_count,
               static_cast<uint16_t>((page.Get16(content_start) - SlotOffset(0)) / kSlotSize + 1));
    ExpectCorrupt(page, "slot array into the cells");
  }
  for (size_t target :
       {size_t{10}, size_t{40}, SlotOffset(1), kPageSize - 3, kPageSize, size_t{0xffff}}) {
    PageImage page = SmallLeaf();
    page.Set16(SlotOffset(0), static_cast<uint16_t>(target));
    ExpectCorrupt(page, "slot pointing to " + std::to_string(target));
  }
  {
    // The first cell inserted sits at the page end; a longer key runs past it.
    PageImage page = SmallLeaf();
    const size_t last = kPageSize - LeafCellSize(5, 20) + kSlotSize;
    ASSERT_EQ(page.Get16(last), 5);
    page.Set16(last, 500);
    ExpectCorrupt(page, "key past the page");
  }
  {
    PageImage page = SmallLeaf();
    const uint16_t s0 = page.Get16(SlotOffset(0));
    page.Set16(SlotOffset(0), page.Get16(SlotOffset(1)));
    page.Set16(SlotOffset(1), s0);
    ExpectCorrupt(page, "unsorted keys");
  }
  {
    PageImage page = SmallLeaf();
    page.Set16(SlotOffset(1), page.Get16(SlotOffset(0)));
    ExpectCorrupt(page, "duplicate keys");
  }
  {
    PageImage page = SmallLeaf();
    page.Set16(fragmented, 1);
    ExpectCorrupt(page, "fragment count off by one");
  }
  {
    // A hint that disagrees with its key would misroute the search.
    PageImage page = SmallLeaf();
    const size_t hint = SlotOffset(2) + 2;
    EncodeFixed32(page.bytes.data() + hint, DecodeFixed32(page.bytes.data() + hint) + 1);
    ExpectCorrupt(page, "hint off by one");
  }
  {
    // SmallLeaf's keys share no prefix: claiming one is corrupt, and so is
    // a prefix longer than a key or present in an empty node.
    PageImage page = SmallLeaf();
    page.Set16(prefix_size, 1);
    ExpectCorrupt(page, "prefix the keys do not share");
    PageImage empty;
    empty.node().InitLeaf();
    empty.Set16(prefix_size, 1);
    ExpectCorrupt(empty, "prefix in an empty node");
  }
  {
    PageImage page = SmallLeaf();
    page.Set16(content_start, kPageSize + 1);
    ExpectCorrupt(page, "content start past the end");
  }
  {
    PageImage page = SmallLeaf();
    page.bytes[page_header::kTypeOffset] = std::byte{static_cast<uint8_t>(PageType::kOverflow)};
    ExpectCorrupt(page, "not a node");
  }
  {
    PageImage page = SmallLeaf();
    page.bytes[page.Get16(SlotOffset(2)) + 2] = std::byte{0x80};
    ExpectCorrupt(page, "unknown cell flags");
  }
  {
    PageImage page = SmallLeaf();
    Node(page.bytes).set_next_leaf(kTestPageId);
    ExpectCorrupt(page, "leaf linked to itself");
  }
  {
    PageImage page;
    Node inner = page.node();
    inner.InitInner(3);
    ASSERT_TRUE(inner.InsertInner(0, "m", 4));
    ASSERT_TRUE(page.Validate().ok());
    inner.set_child(0, kInvalidPageId);
    ExpectCorrupt(page, "inner child invalid");
    inner.set_child(0, 4);
    inner.set_leftmost_child(kTestPageId);
    ExpectCorrupt(page, "inner node its own child");
  }
  {
    const Status s = ValidateNode(std::span<const std::byte>(SmallLeaf().bytes).first(100), 7);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  }
}

TEST(NodeValidateTest, RejectsOverlappingCells) {
  // Cell "a"'s value holds the bytes of a well-formed cell with key "b".
  // Pointing slot 1 there keeps keys sorted and every cell in bounds; only
  // the overlap check can tell.
  std::string value(16, '\0');
  std::array<std::byte, kLeafCellOverhead + 1> inner_cell{};
  EncodeFixed16(inner_cell.data(), 1);
  inner_cell[kLeafCellOverhead] = std::byte{'b'};
  std::memcpy(value.data() + 4, inner_cell.data(), inner_cell.size());
  PageImage page;
  Node leaf = page.node();
  leaf.InitLeaf();
  ASSERT_TRUE(Put(leaf, "a", value));
  ASSERT_TRUE(Put(leaf, "c", "zz"));
  ASSERT_TRUE(page.Validate().ok());
  const size_t value_offset = page.Get16(SlotOffset(0)) + kLeafCellOverhead + 1;
  leaf.Remove(1);
  ASSERT_TRUE(leaf.InsertLeaf(1, "b", ""));  // the same size as the fake cell
  page.Set16(SlotOffset(1), static_cast<uint16_t>(value_offset + 4));
  ASSERT_EQ(leaf.key(1), "b");
  const Status s = page.Validate();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("overlap"), std::string_view::npos) << s.ToString();
}

// Flips random bytes of valid nodes; ValidateNode must never read out of
// bounds (run under ASan+UBSan), and whatever it accepts the accessors must
// read safely.
TEST(NodeValidateTest, RandomMutationsNeverCrash) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  PageImage leaf_page;
  std::map<std::string, std::string> model;
  Node leaf = leaf_page.node();
  leaf.InitLeaf();
  FillMixed(leaf, rng, &model);
  leaf.Remove(1);
  ASSERT_TRUE(leaf.InsertLeafOverflow(0, "", 100000, 55));
  PageImage inner_page;
  Node inner = inner_page.node();
  inner.InitInner(2);
  for (int n = 0; n < 200; ++n) {
    const std::string key = RandomBytes(rng, rng() % 12);
    bool exact = false;
    const uint16_t i = inner.LowerBound(key, &exact);
    if (!exact) {
      ASSERT_TRUE(inner.InsertInner(i, key, 10 + n));
    }
  }
  inner.Remove(3);
  ASSERT_TRUE(leaf_page.Validate().ok()) << leaf_page.Validate().ToString();
  ASSERT_TRUE(inner_page.Validate().ok()) << inner_page.Validate().ToString();

  int rejected = 0;
  for (int round = 0; round < 10000; ++round) {
    PageImage page = round % 2 == 0 ? leaf_page : inner_page;
    const size_t slots_end = SlotOffset(ConstNode(page.bytes).size());
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      // Half the flips hit the node header and slots, where they matter most.
      const size_t pos = rng() % 2 == 0 ? kPageHeaderSize + rng() % (slots_end - kPageHeaderSize)
                                        : rng() % kPageSize;
      page.bytes[pos] ^= static_cast<std::byte>(1 + rng() % 255);
    }
    if (!page.Validate().ok()) {
      ++rejected;
      continue;
    }
    // An accepted node's cells account for exactly its used space, and every
    // pointer it hands out is a real page id.
    const ConstNode node(page.bytes);
    size_t used = 0;
    for (uint16_t i = 0; i < node.size(); ++i) {
      used += kSlotSize + node.key(i).size();
      if (!node.is_leaf()) {
        used += kInnerCellOverhead;
        ASSERT_NE(node.child(i), kInvalidPageId);
      } else if (node.is_overflow(i)) {
        used += kLeafCellOverhead + 8;
        ASSERT_NE(node.overflow_page(i), kInvalidPageId);
      } else {
        used += kLeafCellOverhead + node.inline_value(i).size();
      }
    }
    ASSERT_LE(node.FreeSpace(), kBodySize);
    ASSERT_EQ(used, node.UsedSpace());
    ASSERT_LE(node.LowerBound(RandomBytes(rng, rng() % 6), nullptr), node.size());
  }
  EXPECT_GT(rejected, 5000);
}

}  // namespace
}  // namespace mvdb::btree
