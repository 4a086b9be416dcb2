// BTree and TreeStore: the operations, cursors, splits, freeing, several
// trees in one file, reopening, and what corrupted pages do.
#include "btree/btree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "btree/btree_internal.h"
#include "btree/node.h"
#include "btree/overflow.h"
#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "io/file.h"

namespace mvdb {
namespace {

using testing::MakeValue;
using testing::NumberKey;

class BTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    fs_ = NewPosixFileSystem();
    path_ = dir_.File("data.mvdb");
    Reopen();
  }

  void Reopen(size_t cache_pages = 256) {
    if (store_ != nullptr) {
      ASSERT_TRUE(store_->Close().ok());
    }
    store_.reset();
    TreeStoreOptions options;
    options.cache_pages = cache_pages;
    auto opened = TreeStore::Open(fs_.get(), path_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  BTree* Tree(const std::string& name) {
    auto opened = store_->OpenTree(name);
    if (opened.ok()) return *opened;
    auto created = store_->CreateTree(name);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : nullptr;
  }

  uint64_t FreePages() {
    auto meta = store_->allocator()->ReadMeta();
    EXPECT_TRUE(meta.ok());
    return meta.ok() ? meta->free_pages : 0;
  }

  uint64_t PageCount() {
    auto meta = store_->allocator()->ReadMeta();
    EXPECT_TRUE(meta.ok());
    return meta.ok() ? meta->page_count : 0;
  }

  void ExpectStoreChecks() {
    auto report = store_->Check();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
  }

  TreeCheckReport CheckTree(BTree* tree) {
    TreeCheckReport report;
    const Status status = tree->Check(&report);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return report;
  }

  // The id of the leaf that holds (or would hold) `key`, found by walking
  // the pages the way the tree does.
  PageId LeafFor(BTree* tree, std::string_view key) {
    PageId id = tree->root();
    for (;;) {
      auto guard = store_->pool()->FetchRead(id);
      EXPECT_TRUE(guard.ok());
      if (!guard.ok()) return kInvalidPageId;
      const btree::ConstNode node(guard->data());
      if (node.is_leaf()) return id;
      id = node.ChildFor(key);
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<FileSystem> fs_;
  std::string path_;
  std::unique_ptr<TreeStore> store_;
};

TEST_F(BTreeTest, PutGetReplaceDelete) {
  BTree* tree = Tree("t");
  std::string value;
  EXPECT_TRUE(tree->Get("a", &value).IsNotFound());
  ASSERT_TRUE(tree->Put("a", "1").ok());
  ASSERT_TRUE(tree->Put("b", "2").ok());
  ASSERT_TRUE(tree->Get("a", &value).ok());
  EXPECT_EQ(value, "1");
  ASSERT_TRUE(tree->Put("a", "one").ok());
  ASSERT_TRUE(tree->Get("a", &value).ok());
  EXPECT_EQ(value, "one");
  ASSERT_TRUE(tree->Delete("a").ok());
  EXPECT_TRUE(tree->Get("a", &value).IsNotFound());
  EXPECT_TRUE(tree->Delete("a").IsNotFound());
  ASSERT_TRUE(tree->Get("b", &value).ok());
  EXPECT_EQ(value, "2");
  ExpectStoreChecks();
}

// Insert (the MVCC layer's blind writes): a new key goes in, through
// splits too; a present one is left alone and its value, inline or in
// overflow pages, is handed back; an overflow value offered for a present
// key leaves no pages behind.
TEST_F(BTreeTest, InsertAddsOnlyKeysThatAreNotThere) {
  BTree* tree = Tree("t");
  bool inserted = false;
  std::string existing;
  for (int i = 0; i < 2000; ++i) {  // many leaves
    ASSERT_TRUE(tree->Insert(NumberKey(i), MakeValue("v", i, 40), &inserted, &existing).ok());
    ASSERT_TRUE(inserted) << i;
  }
  ASSERT_TRUE(tree->Insert(NumberKey(7), "other", &inserted, &existing).ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(existing, MakeValue("v", 7, 40));
  std::string value;
  ASSERT_TRUE(tree->Get(NumberKey(7), &value).ok());
  EXPECT_EQ(value, MakeValue("v", 7, 40));  // unchanged

  const std::string big = MakeValue("big", 3, 100000);  // in overflow pages
  ASSERT_TRUE(tree->Insert("big", big, &inserted, &existing).ok());
  EXPECT_TRUE(inserted);
  const uint64_t pages = PageCount();
  const uint64_t free_before = FreePages();
  ASSERT_TRUE(tree->Insert("big", big + "x", &inserted, &existing).ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(existing, big);
  EXPECT_EQ(PageCount() - FreePages(), pages - free_before);  // the offered chain was freed
  EXPECT_EQ(CheckTree(tree).entries, 2001u);
  EXPECT_EQ(tree->Insert("", "v", &inserted, &existing).code(), StatusCode::kInvalidArgument);
  ExpectStoreChecks();
}

TEST_F(BTreeTest, GetSplitCopiesHeadAndRest) {
  BTree* tree = Tree("t");
  const std::string big = MakeValue("big", 3, 100000);  // in overflow pages
  ASSERT_TRUE(tree->Put("small", "0123456789").ok());
  ASSERT_TRUE(tree->Put("exact", "01234567").ok());
  ASSERT_TRUE(tree->Put("short", "0123").ok());
  ASSERT_TRUE(tree->Put("big", big).ok());
  std::array<char, 8> head{};
  std::string rest = "left over";
  ASSERT_TRUE(tree->GetSplit("small", head, &rest).ok());
  EXPECT_EQ(std::string_view(head.data(), head.size()), "01234567");
  EXPECT_EQ(rest, "89");
  ASSERT_TRUE(tree->GetSplit("exact", head, &rest).ok());
  EXPECT_EQ(std::string_view(head.data(), head.size()), "01234567");
  EXPECT_EQ(rest, "");
  ASSERT_TRUE(tree->GetSplit("big", head, &rest).ok());
  EXPECT_EQ(std::string_view(head.data(), head.size()), big.substr(0, 8));
  EXPECT_EQ(rest, big.substr(8));
  EXPECT_EQ(tree->GetSplit("short", head, &rest).code(), StatusCode::kCorruption);
  EXPECT_TRUE(tree->GetSplit("absent", head, &rest).IsNotFound());
  ASSERT_TRUE(tree->GetSplit("short", {}, &rest).ok());  // no head: as Get
  EXPECT_EQ(rest, "0123");
  EXPECT_EQ(tree->GetSplit("", head, &rest).code(), StatusCode::kInvalidArgument);
}

TEST_F(BTreeTest, EmptyValueLongKeyAndLimits) {
  BTree* tree = Tree("t");
  std::string value = "x";
  ASSERT_TRUE(tree->Put("empty", "").ok());
  ASSERT_TRUE(tree->Get("empty", &value).ok());
  EXPECT_EQ(value, "");

  const std::string long_key(kMaxKeySize, 'k');
  const std::string long_value = MakeValue(long_key, 1, 1500);
  ASSERT_TRUE(tree->Put(long_key, long_value).ok());
  ASSERT_TRUE(tree->Get(long_key, &value).ok());
  EXPECT_EQ(value, long_value);

  EXPECT_EQ(tree->Put(std::string(kMaxKeySize + 1, 'k'), "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree->Put("", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree->Get(std::string(kMaxKeySize + 1, 'k'), &value).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree->Put("big", std::string(kMaxValueSize + 1, 'v')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckTree(tree).entries, 2u);
  ExpectStoreChecks();
}

TEST_F(BTreeTest, ManyLongKeysMakeDeepInnerNodes) {
  BTree* tree = Tree("t");
  std::map<std::string, std::string> model;
  for (int i = 0; i < 600; ++i) {
    std::string key = std::string(900, 'p') + NumberKey(i * 7919 % 600);
    std::string value = MakeValue(key, 0, i % 50);
    ASSERT_TRUE(tree->Put(key, value).ok());
    model[key] = value;
  }
  const TreeCheckReport report = CheckTree(tree);
  EXPECT_EQ(report.entries, model.size());
  EXPECT_GE(report.height, 3u);
  std::string value;
  for (const auto& [key, expected] : model) {
    ASSERT_TRUE(tree->Get(key, &value).ok());
    EXPECT_EQ(value, expected);
  }
  ExpectStoreChecks();
}

TEST_F(BTreeTest, MegabyteValueUsesOverflowPagesAndFreesThem) {
  BTree* tree = Tree("t");
  const std::string big = MakeValue("big", 7, 1 << 20);
  ASSERT_TRUE(tree->Put("big", big).ok());
  std::string value;
  ASSERT_TRUE(tree->Get("big", &value).ok());
  EXPECT_EQ(value, big);
  TreeCheckReport report = CheckTree(tree);
  EXPECT_GE(report.overflow_pages, (1u << 20) / btree::kOverflowCapacity);
  ExpectStoreChecks();

  // Replacing it with a small value gives the chain back.
  const uint64_t free_before = FreePages();
  ASSERT_TRUE(tree->Put("big", "small").ok());
  EXPECT_GE(FreePages(), free_before + report.overflow_pages);
  EXPECT_EQ(CheckTree(tree).overflow_pages, 0u);
  ASSERT_TRUE(tree->Get("big", &value).ok());
  EXPECT_EQ(value, "small");

  // Overflow to overflow, then a delete.
  ASSERT_TRUE(tree->Put("big", big).ok());
  const std::string other = MakeValue("big", 8, 300000);
  ASSERT_TRUE(tree->Put("big", other).ok());
  ASSERT_TRUE(tree->Get("big", &value).ok());
  EXPECT_EQ(value, other);
  ExpectStoreChecks();
  ASSERT_TRUE(tree->Delete("big").ok());
  EXPECT_EQ(CheckTree(tree).overflow_pages, 0u);
  ExpectStoreChecks();
}

// Keys 0, 2, 4, ... 2 * (n - 1), so there is room between and around them.
class CursorTest : public BTreeTest {
 protected:
  static constexpr int kKeys = 3000;

  void SetUp() override {
    BTreeTest::SetUp();
    tree_ = Tree("t");
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(tree_->Put(NumberKey(2 * i), MakeValue(NumberKey(2 * i), 0, i % 120)).ok());
    }
    ASSERT_GE(CheckTree(tree_).leaf_pages, 10u);
  }

  BTree* tree_ = nullptr;
};

TEST_F(CursorTest, ForwardAndBackwardFullScans) {
  auto cursor = tree_->NewCursor();
  EXPECT_FALSE(cursor->Valid());
  int i = 0;
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next(), ++i) {
    ASSERT_EQ(cursor->key(), NumberKey(2 * i));
    ASSERT_EQ(cursor->value(), MakeValue(NumberKey(2 * i), 0, i % 120));
  }
  EXPECT_TRUE(cursor->status().ok());
  EXPECT_EQ(i, kKeys);
  i = kKeys - 1;
  for (cursor->SeekToLast(); cursor->Valid(); cursor->Prev(), --i) {
    ASSERT_EQ(cursor->key(), NumberKey(2 * i));
  }
  EXPECT_TRUE(cursor->status().ok());
  EXPECT_EQ(i, -1);
}

TEST_F(CursorTest, SeekAndSeekForPrev) {
  auto cursor = tree_->NewCursor();
  cursor->Seek(NumberKey(100));  // at a key
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(100));
  cursor->Seek(NumberKey(101));  // between keys
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(102));
  cursor->Seek("a");  // before the first
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(0));
  cursor->Seek(NumberKey(2 * kKeys));  // after the last
  EXPECT_FALSE(cursor->Valid());
  EXPECT_TRUE(cursor->status().ok());

  cursor->SeekForPrev(NumberKey(100));
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(100));
  cursor->SeekForPrev(NumberKey(101));
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(100));
  cursor->SeekForPrev("a");
  EXPECT_FALSE(cursor->Valid());
  cursor->SeekForPrev("z");
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(2 * (kKeys - 1)));
  // A prefix of the keys sorts before them all.
  cursor->SeekForPrev("k");
  EXPECT_FALSE(cursor->Valid());
}

TEST_F(CursorTest, MixedNextAndPrev) {
  auto cursor = tree_->NewCursor();
  cursor->Seek(NumberKey(1000));
  int at = 500;
  const int moves[] = {1, 1, -1, -1, -1, 1, -1, 1, 1, 1};
  for (int round = 0; round < 200; ++round) {
    const int move = moves[round % 10] * (round % 3 + 1);
    for (int step = 0; step < std::abs(move); ++step) {
      if (move > 0) {
        cursor->Next();
        ++at;
      } else {
        cursor->Prev();
        --at;
      }
      ASSERT_TRUE(cursor->Valid());
      ASSERT_EQ(cursor->key(), NumberKey(2 * at));
    }
  }
  cursor->SeekToFirst();
  cursor->Prev();
  EXPECT_FALSE(cursor->Valid());
  cursor->SeekToLast();
  cursor->Next();
  EXPECT_FALSE(cursor->Valid());
}

TEST_F(CursorTest, CursorKeptWhileTheSameThreadWrites) {
  auto cursor = tree_->NewCursor();
  cursor->Seek(NumberKey(1000));
  ASSERT_TRUE(cursor->Valid());
  // Delete the cursor's own key and the next few, insert one in between.
  for (int k = 1000; k <= 1010; k += 2) ASSERT_TRUE(tree_->Delete(NumberKey(k)).ok());
  ASSERT_TRUE(tree_->Put(NumberKey(1007), "new").ok());
  cursor->Next();
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(1007));
  EXPECT_EQ(cursor->value(), "new");
  cursor->Next();
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(1012));
  cursor->Prev();
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(1007));
  cursor->Prev();
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(998));

  // Empty whole leaves around the cursor (their pages are freed), then move.
  cursor->Seek(NumberKey(3000));
  for (int k = 2000; k < 4000; k += 2) {
    if (k != 3000) {
      ASSERT_TRUE(tree_->Delete(NumberKey(k)).ok());
    }
  }
  cursor->Next();
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(4000));
  cursor->Prev();
  cursor->Prev();
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), NumberKey(1998));
  ExpectStoreChecks();
}

// CursorMode::kLeafCopy: the same answers as a kLive cursor over a tree
// that does not change, overflow values included, both ways and mixed.
TEST_F(CursorTest, LeafCopyCursorScansLikeALiveOne) {
  for (int i = 5; i < kKeys; i += 97) {  // long values between short ones
    ASSERT_TRUE(tree_->Put(NumberKey(2 * i), MakeValue(NumberKey(2 * i), 1, 20000)).ok());
  }
  auto live = tree_->NewCursor();
  auto copy = tree_->NewCursor(CursorMode::kLeafCopy);
  std::vector<std::pair<std::string, std::string>> expected;
  for (live->SeekToFirst(); live->Valid(); live->Next()) {
    expected.emplace_back(live->key(), live->value());
  }
  ASSERT_EQ(expected.size(), static_cast<size_t>(kKeys));
  size_t i = 0;
  for (copy->SeekToFirst(); copy->Valid(); copy->Next(), ++i) {
    ASSERT_LT(i, expected.size());
    ASSERT_EQ(copy->key(), expected[i].first);
    ASSERT_EQ(copy->value(), expected[i].second);
  }
  EXPECT_TRUE(copy->status().ok());
  EXPECT_EQ(i, expected.size());
  i = expected.size();
  for (copy->SeekToLast(); copy->Valid(); copy->Prev()) {
    ASSERT_GT(i, 0u);
    --i;
    ASSERT_EQ(copy->key(), expected[i].first);
    ASSERT_EQ(copy->value(), expected[i].second);
  }
  EXPECT_TRUE(copy->status().ok());
  EXPECT_EQ(i, 0u);
  // Mixed moves from a seek: two forward, one back.
  std::mt19937 random(3);
  for (int round = 0; round < 50; ++round) {
    size_t at = random() % expected.size();
    copy->Seek(expected[at].first);
    for (int step = 0; step < 300 && copy->Valid(); ++step) {
      ASSERT_EQ(copy->key(), expected[at].first);
      ASSERT_EQ(copy->value(), expected[at].second);
      if (step % 3 == 2) {
        if (at == 0) break;
        copy->Prev();
        --at;
      } else {
        copy->Next();
        ++at;
      }
    }
    ASSERT_TRUE(copy->status().ok());
  }
}

// A kLeafCopy cursor kept while the same thread changes the tree: moves
// inside a copy show the leaf as copied, but keys come in strictly
// increasing order (decreasing backward), every key present for the whole
// scan is seen, and only keys that were present at some point are.
TEST_F(CursorTest, LeafCopyCursorKeepsItsPromisesWhileTheTreeChanges) {
  std::set<std::string> ever, always;
  for (int i = 0; i < kKeys; ++i) ever.insert(NumberKey(2 * i));
  always = ever;
  auto cursor = tree_->NewCursor(CursorMode::kLeafCopy);
  std::mt19937 random(5);
  for (const bool forward : {true, false}) {
    std::vector<std::string> seen;
    if (forward) {
      cursor->SeekToFirst();
    } else {
      cursor->SeekToLast();
    }
    for (int step = 0; cursor->Valid(); ++step) {
      seen.emplace_back(cursor->key());
      if (step % 40 == 0) {
        // Empty a run of keys (whole leaves go), and insert new ones.
        const int from = static_cast<int>(random() % (2 * kKeys));
        for (int k = from; k < from + 400; ++k) {
          const std::string key = NumberKey(k);
          if (k % 2 == 0) {
            if (tree_->Delete(key).ok()) always.erase(key);
          } else if (random() % 4 == 0) {
            ASSERT_TRUE(tree_->Put(key, "new").ok());
            ever.insert(key);
          }
        }
      }
      if (forward) {
        cursor->Next();
      } else {
        cursor->Prev();
      }
    }
    ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
    for (size_t i = 1; i < seen.size(); ++i) {
      ASSERT_TRUE(forward ? seen[i - 1] < seen[i] : seen[i - 1] > seen[i]) << i;
    }
    const std::set<std::string> seen_set(seen.begin(), seen.end());
    for (const std::string& key : always) EXPECT_TRUE(seen_set.count(key)) << key;
    for (const std::string& key : seen) EXPECT_TRUE(ever.count(key)) << key;
    // The next pass starts from what is in the tree now.
    std::set<std::string> now;
    auto live = tree_->NewCursor();
    for (live->SeekToFirst(); live->Valid(); live->Next()) now.emplace(live->key());
    always = now;
    ever = now;
  }
  ExpectStoreChecks();
}

TEST_F(BTreeTest, RootSplitKeepsTheRootPage) {
  BTree* tree = Tree("t");
  const PageId root = tree->root();
  EXPECT_EQ(CheckTree(tree).height, 1u);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(tree->Put(NumberKey(i * 7 % 20000), MakeValue(NumberKey(i), 0, 100)).ok());
  }
  EXPECT_EQ(tree->root(), root);
  const TreeCheckReport report = CheckTree(tree);
  EXPECT_GE(report.height, 2u);
  EXPECT_EQ(report.entries, 20000u);
  Reopen();
  auto reopened = store_->OpenTree("t");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->root(), root);
  EXPECT_EQ(CheckTree(*reopened).entries, 20000u);
}

TEST_F(BTreeTest, DrainToEmptyThenRegrowReusesPages) {
  BTree* tree = Tree("t");
  constexpr int kCount = 20000;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(tree->Put(NumberKey(i), MakeValue(NumberKey(i), 0, 100)).ok());
  }
  const TreeCheckReport full = CheckTree(tree);
  const uint64_t tree_pages = full.leaf_pages + full.inner_pages;
  const uint64_t pages_when_full = PageCount();
  const uint64_t free_when_full = FreePages();
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(tree->Delete(NumberKey((i * 7919) % kCount)).ok());
  }
  const TreeCheckReport empty = CheckTree(tree);
  EXPECT_EQ(empty.entries, 0u);
  EXPECT_EQ(empty.leaf_pages, 1u);  // the root, an empty leaf again
  EXPECT_EQ(empty.inner_pages, 0u);
  EXPECT_EQ(empty.height, 1u);
  EXPECT_EQ(FreePages(), free_when_full + tree_pages - 1);
  ExpectStoreChecks();

  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(tree->Put(NumberKey(i), MakeValue(NumberKey(i), 1, 100)).ok());
  }
  EXPECT_LT(FreePages(), free_when_full + tree_pages / 10);  // consumed again
  EXPECT_LE(PageCount(), pages_when_full + 1);               // the file did not grow
  EXPECT_EQ(CheckTree(tree).entries, static_cast<uint64_t>(kCount));
  ExpectStoreChecks();
}

TEST_F(BTreeTest, SeveralTreesInOneFileSurviveReopen) {
  const std::vector<std::string> names = {"alpha", "beta", "gamma"};
  for (size_t t = 0; t < names.size(); ++t) {
    BTree* tree = Tree(names[t]);
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(tree->Put(NumberKey(i), MakeValue(names[t] + NumberKey(i), t, 50)).ok());
    }
  }
  EXPECT_EQ(store_->CreateTree("beta").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateTree("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->OpenTree("delta").status().IsNotFound());
  Reopen();
  auto listed = store_->ListTrees();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, names);
  std::string value;
  for (size_t t = 0; t < names.size(); ++t) {
    auto tree = store_->OpenTree(names[t]);
    ASSERT_TRUE(tree.ok());
    for (int i = 0; i < 3000; i += 37) {
      ASSERT_TRUE((*tree)->Get(NumberKey(i), &value).ok());
      EXPECT_EQ(value, MakeValue(names[t] + NumberKey(i), t, 50));
    }
  }
  auto report = store_->Check();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->trees.size(), names.size());
  for (const auto& [name, tree_report] : report->trees) EXPECT_EQ(tree_report.entries, 3000u);
}

TEST_F(BTreeTest, DropTreeReturnsPagesToTheFreeList) {
  BTree* keep = Tree("keep");
  BTree* drop = Tree("drop");
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(keep->Put(NumberKey(i), "v").ok());
    ASSERT_TRUE(drop->Put(NumberKey(i), MakeValue(NumberKey(i), 0, i % 97 == 0 ? 20000 : 80)).ok());
  }
  const TreeCheckReport dropped = CheckTree(drop);
  const uint64_t free_before = FreePages();
  ASSERT_TRUE(store_->DropTree("drop").ok());
  EXPECT_EQ(FreePages(),
            free_before + dropped.leaf_pages + dropped.inner_pages + dropped.overflow_pages);
  EXPECT_TRUE(store_->OpenTree("drop").status().IsNotFound());
  EXPECT_TRUE(store_->DropTree("drop").IsNotFound());
  ExpectStoreChecks();
  Reopen();
  ExpectStoreChecks();
  EXPECT_EQ(CheckTree(Tree("keep")).entries, 5000u);
}

TEST_F(BTreeTest, ClearLeavesAnEmptyTree) {
  BTree* tree = Tree("t");
  for (int i = 0; i < 4000; ++i) ASSERT_TRUE(tree->Put(NumberKey(i), "value").ok());
  ASSERT_TRUE(tree->Clear().ok());
  EXPECT_EQ(CheckTree(tree).entries, 0u);
  ExpectStoreChecks();
  ASSERT_TRUE(tree->Put("again", "1").ok());
  std::string value;
  ASSERT_TRUE(tree->Get("again", &value).ok());
}

TEST_F(BTreeTest, BusyLeftSiblingLeavesAnEmptyLeafThatIsReusedAndLaterUnlinked) {
  BTree* tree = Tree("t");
  for (int i = 0; i < 3000; ++i)
    ASSERT_TRUE(tree->Put(NumberKey(i), MakeValue(NumberKey(i), 0, 80)).ok());
  const PageId leaf = LeafFor(tree, NumberKey(1500));
  std::vector<std::string> keys;
  PageId left = kInvalidPageId;
  {
    auto guard = store_->pool()->FetchRead(leaf);
    ASSERT_TRUE(guard.ok());
    const btree::ConstNode node(guard->data());
    left = node.prev_leaf();
    for (uint16_t i = 0; i < node.size(); ++i) keys.emplace_back(node.key(i));
  }
  ASSERT_NE(left, kInvalidPageId);
  const TreeCheckReport before = CheckTree(tree);
  {
    // Another "thread" reads the left sibling: the unlink must not wait.
    auto held = store_->pool()->FetchRead(left);
    ASSERT_TRUE(held.ok());
    for (const std::string& key : keys) ASSERT_TRUE(tree->Delete(key).ok());
  }
  const TreeCheckReport with_empty = CheckTree(tree);
  EXPECT_EQ(with_empty.leaf_pages, before.leaf_pages);  // still linked, empty
  ExpectStoreChecks();

  // Readers skip it both ways.
  auto cursor = tree->NewCursor();
  cursor->Seek(keys.front());
  ASSERT_TRUE(cursor->Valid());
  EXPECT_GT(cursor->key(), keys.back());
  cursor->Prev();
  ASSERT_TRUE(cursor->Valid());
  EXPECT_LT(cursor->key(), keys.front());
  cursor->SeekForPrev(keys.back());
  ASSERT_TRUE(cursor->Valid());
  EXPECT_LT(cursor->key(), keys.front());
  std::string value;
  EXPECT_TRUE(tree->Get(keys.front(), &value).IsNotFound());

  // An insert in its range fills it; emptying it again unlinks it.
  ASSERT_TRUE(tree->Put(keys[1], "back").ok());
  EXPECT_EQ(LeafFor(tree, keys[1]), leaf);
  ASSERT_TRUE(tree->Get(keys[1], &value).ok());
  EXPECT_EQ(value, "back");
  const uint64_t free_before = FreePages();
  ASSERT_TRUE(tree->Delete(keys[1]).ok());
  EXPECT_EQ(CheckTree(tree).leaf_pages, before.leaf_pages - 1);
  EXPECT_EQ(FreePages(), free_before + 1);
  ExpectStoreChecks();
}

// White-box: a page that left the tree while a cursor's hazard slot names it
// is freed only once the slot moves on (invariant 10 of btree.cc).
TEST_F(BTreeTest, RetiredPageWaitsForTheHazardThatNamesIt) {
  BTree* tree = Tree("t");
  BTree::Impl impl(store_->pool(), store_->allocator(), tree->root(), "white-box");
  PageId page = kInvalidPageId;
  {
    auto fresh = store_->allocator()->Allocate(PageType::kBTreeLeaf);
    ASSERT_TRUE(fresh.ok());
    btree::Node(fresh->mutable_data()).InitLeaf();
    page = fresh->id();
  }
  std::atomic<PageId> slot{page};
  impl.AddHazard(&slot);
  const uint64_t free_before = FreePages();
  const PageId retired[] = {page};
  ASSERT_TRUE(impl.Retire(retired).ok());
  EXPECT_EQ(FreePages(), free_before);  // deferred
  ASSERT_TRUE(impl.ReleaseDeferred().ok());
  EXPECT_EQ(FreePages(), free_before);  // still named
  slot.store(kInvalidPageId);
  ASSERT_TRUE(impl.ReleaseDeferred().ok());
  EXPECT_EQ(FreePages(), free_before + 1);
  impl.RemoveHazard(&slot);
  ExpectStoreChecks();
}

// ---- corruption ----

using testing::FlipByte;

// A cached page that is not what its parent promises (damaged in memory
// after it was validated): the optimistic lookup finds it malformed, sees
// that nothing changed it meanwhile, and the latched path reports
// Corruption naming the page, instead of a restart loop or a crash.
TEST_F(BTreeTest, MalformedCachedPageIsCorruptionForOptimisticLookups) {
  BTree* tree = Tree("t");
  for (int i = 0; i < 5000; ++i)
    ASSERT_TRUE(tree->Put(NumberKey(i), MakeValue(NumberKey(i), 0, 60)).ok());
  const std::string victim = NumberKey(2500);
  const PageId leaf = LeafFor(tree, victim);
  ASSERT_NE(leaf, tree->root());
  {
    auto guard = store_->pool()->FetchWrite(leaf);
    ASSERT_TRUE(guard.ok());
    guard->mutable_view().set_type(PageType::kOverflow);
  }
  std::string value;
  const Status get = tree->Get(victim, &value);
  EXPECT_TRUE(get.IsCorruption()) << get.ToString();
  EXPECT_NE(get.message().find("page " + std::to_string(leaf)), std::string::npos)
      << get.ToString();
  std::array<char, 8> head{};
  EXPECT_TRUE(tree->GetSplit(victim, head, &value).IsCorruption());
  EXPECT_TRUE(tree->Put(victim, "x").IsCorruption());
  {
    auto guard = store_->pool()->FetchWrite(leaf);
    ASSERT_TRUE(guard.ok());
    guard->mutable_view().set_type(PageType::kBTreeLeaf);
  }
  ASSERT_TRUE(tree->Get(victim, &value).ok());
  EXPECT_EQ(value, MakeValue(victim, 0, 60));
}

TEST_F(BTreeTest, FlippedByteInALeafIsCorruptionNamingFileAndPage) {
  BTree* tree = Tree("t");
  for (int i = 0; i < 5000; ++i)
    ASSERT_TRUE(tree->Put(NumberKey(i), MakeValue(NumberKey(i), 0, 60)).ok());
  const std::string victim = NumberKey(2500);
  const PageId leaf = LeafFor(tree, victim);
  ASSERT_NE(leaf, tree->root());
  ASSERT_TRUE(store_->Close().ok());
  store_.reset();
  Reopen();  // the leaf's location in the checkpoint just written
  auto offset = store_->page_store()->OffsetOf(leaf);
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  ASSERT_TRUE(store_->Close().ok());
  store_.reset();
  FlipByte(path_, *offset + kPageSize / 2);
  Reopen();
  tree = Tree("t");

  std::string value;
  const Status get = tree->Get(victim, &value);
  EXPECT_TRUE(get.IsCorruption()) << get.ToString();
  EXPECT_NE(get.message().find(path_), std::string::npos) << get.ToString();
  EXPECT_NE(get.message().find(std::to_string(leaf)), std::string::npos) << get.ToString();
  ASSERT_TRUE(tree->Get(NumberKey(0), &value).ok() || LeafFor(tree, NumberKey(0)) == leaf);

  auto cursor = tree->NewCursor();
  int seen = 0;
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) ++seen;
  EXPECT_TRUE(cursor->status().IsCorruption()) << cursor->status().ToString();
  EXPECT_LT(seen, 5000);

  auto report = store_->Check();
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsCorruption());
  EXPECT_NE(report.status().message().find(std::to_string(leaf)), std::string::npos)
      << report.status().ToString();
}

TEST_F(BTreeTest, WrongPageTypesReachedFromATreeAreCorruption) {
  BTree* tree = Tree("t");
  for (int i = 0; i < 20000; ++i)
    ASSERT_TRUE(tree->Put(NumberKey(i), MakeValue(NumberKey(i), 0, 100)).ok());
  ASSERT_GE(CheckTree(tree).height, 3u);
  // A free page: make one by draining a second tree.
  BTree* other = Tree("other");
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(other->Put(NumberKey(i), "x").ok());
  ASSERT_TRUE(other->Clear().ok());
  uint64_t free_page = kInvalidPageId;
  ASSERT_TRUE(store_->allocator()
                  ->ForEachFreePage([&](PageId id) {
                    free_page = id;
                    return Status::OK();
                  })
                  .ok());
  ASSERT_NE(free_page, kInvalidPageId);

  PageId inner = kInvalidPageId;
  PageId leaf = kInvalidPageId;
  {
    auto root = store_->pool()->FetchRead(tree->root());
    ASSERT_TRUE(root.ok());
    inner = btree::ConstNode(root->data()).leftmost_child();
    leaf = LeafFor(tree, NumberKey(19999));
  }
  {
    // The leftmost inner node's first child now names a free page.
    auto guard = store_->pool()->FetchWrite(inner);
    ASSERT_TRUE(guard.ok());
    btree::Node(guard->mutable_data()).set_leftmost_child(free_page);
  }
  std::string value;
  Status status = tree->Get(NumberKey(0), &value);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find(std::to_string(free_page)), std::string::npos);
  status = tree->Put(NumberKey(0), "x");
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  status = tree->Delete(NumberKey(0));
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  auto cursor = tree->NewCursor();
  cursor->SeekToFirst();
  EXPECT_TRUE(cursor->status().IsCorruption());
  TreeCheckReport report;
  EXPECT_TRUE(tree->Check(&report).IsCorruption());

  {
    // Now the root's first child is a leaf where an inner node belongs.
    auto guard = store_->pool()->FetchWrite(tree->root());
    ASSERT_TRUE(guard.ok());
    btree::Node(guard->mutable_data()).set_leftmost_child(leaf);
  }
  status = tree->Get(NumberKey(0), &value);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find(std::to_string(leaf)), std::string::npos);
  EXPECT_TRUE(tree->Check(&report).IsCorruption());
}

TEST_F(BTreeTest, CheckFindsBrokenSiblingLinksAndLeakedPages) {
  BTree* tree = Tree("t");
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(tree->Put(NumberKey(i), "value").ok());
  const PageId leaf = LeafFor(tree, NumberKey(2500));
  PageId old_next = kInvalidPageId;
  {
    auto guard = store_->pool()->FetchWrite(leaf);
    ASSERT_TRUE(guard.ok());
    btree::Node node(guard->mutable_data());
    old_next = node.next_leaf();
    node.set_next_leaf(kInvalidPageId);
  }
  TreeCheckReport report;
  const Status broken = tree->Check(&report);
  EXPECT_TRUE(broken.IsCorruption());
  EXPECT_NE(broken.message().find(std::to_string(leaf)), std::string::npos) << broken.ToString();
  {
    auto guard = store_->pool()->FetchWrite(leaf);
    ASSERT_TRUE(guard.ok());
    btree::Node(guard->mutable_data()).set_next_leaf(old_next);
  }
  ExpectStoreChecks();

  // A page allocated and never used, nor freed, is a leak.
  PageId leaked = kInvalidPageId;
  {
    auto guard = store_->allocator()->Allocate(PageType::kBTreeLeaf);
    ASSERT_TRUE(guard.ok());
    btree::Node(guard->mutable_data()).InitLeaf();
    leaked = guard->id();
  }
  auto check = store_->Check();
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.status().message().find("page " + std::to_string(leaked)), std::string::npos)
      << check.status().ToString();
  ASSERT_TRUE(store_->allocator()->Free(leaked).ok());
  ExpectStoreChecks();
}

}  // namespace
}  // namespace mvdb
