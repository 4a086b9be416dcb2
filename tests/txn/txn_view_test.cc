// What Get and iterators hand out (include/mvdb/db.h, issue 12): a value
// copied once into the caller's string, and iterator views into a copy of
// the leaf, valid until the next move. Values in the tree and in the
// version store (older versions an older snapshot sees), long values in
// overflow pages, scans across many leaves both ways, own writes merged
// in, and the stability rules db.h states.
#include <map>

#include "tests/txn/txn_test_util.h"

namespace mvdb {
namespace {

// Key i, zero-padded so that byte order is numeric order.
std::string NumKey(int i) {
  std::string key = std::to_string(i);
  return std::string(6 - key.size(), '0') + key;
}

// A value of `size` bytes that names its key and version, so a value
// from the wrong key or version cannot pass for the right one.
std::string LongValue(int key, int version, size_t size) {
  std::string value = "k" + std::to_string(key) + "v" + std::to_string(version) + ":";
  while (value.size() < size) value.push_back(static_cast<char>('a' + (value.size() * 7) % 26));
  value.resize(size);
  return value;
}

using Model = std::map<std::string, std::string>;

KeyValues Forward(const Model& model) { return KeyValues(model.begin(), model.end()); }
KeyValues Backward(const Model& model) { return KeyValues(model.rbegin(), model.rend()); }

class TxnViewTest : public TxnTest {
 protected:
  // Loads `count` keys (several leaves) in batches; every 50th value is
  // long enough for overflow pages. Returns the model.
  Model Load(int count, int version) {
    Model model;
    for (int start = 0; start < count; start += 500) {
      auto txn = db_->Begin();
      for (int i = start; i < std::min(count, start + 500); ++i) {
        const std::string value = LongValue(i, version, i % 50 == 7 ? 20000 : 100);
        EXPECT_TRUE(txn->Put(kTable, NumKey(i), value).ok());
        model[NumKey(i)] = value;
      }
      EXPECT_TRUE(txn->Commit().ok());
    }
    return model;
  }
};

TEST_F(TxnViewTest, GetCopiesIntoTheCallersStringFromTreeAndVersionStore) {
  CommitPut("k", std::string(300, 'x'));
  auto old_snapshot = Begin(kSnapshot);
  ASSERT_EQ(Read(*old_snapshot, "k"), std::string(300, 'x'));  // takes the snapshot
  CommitPut("k", "new");
  CommitPut("gone", "was here");
  auto middle = Begin(kSnapshot);
  ASSERT_EQ(Read(*middle, "gone"), "was here");
  CommitDelete("gone");

  // The tree holds "new"; the old snapshot's version is in the chain.
  std::string value = "leftover bytes that must not survive";
  ASSERT_TRUE(old_snapshot->Get(kTable, "k", &value).ok());
  EXPECT_EQ(value, std::string(300, 'x'));
  value = "leftover bytes that must not survive, longer than 300? no";
  auto now = Begin(kSnapshot);
  ASSERT_TRUE(now->Get(kTable, "k", &value).ok());
  EXPECT_EQ(value, "new");
  ASSERT_TRUE(db_->Get(kTable, "k", &value).ok());
  EXPECT_EQ(value, "new");

  // A tombstone in the tree: an older snapshot still reads the value from
  // the chain; a newer one gets NotFound with the string emptied or as it
  // was, never holding another version's bytes.
  ASSERT_TRUE(middle->Get(kTable, "gone", &value).ok());
  EXPECT_EQ(value, "was here");
  value = "mine";
  EXPECT_TRUE(now->Get(kTable, "gone", &value).IsNotFound());
  EXPECT_TRUE(value.empty() || value == "mine") << value;
  // A key put after the snapshot: too new, and no older version.
  CommitPut("later", "not for old snapshots");
  value = "mine";
  EXPECT_TRUE(old_snapshot->Get(kTable, "later", &value).IsNotFound());
  EXPECT_TRUE(value.empty() || value == "mine") << value;
  value = "mine";
  EXPECT_TRUE(db_->Get(kTable, "missing", &value).IsNotFound());
  EXPECT_TRUE(value.empty() || value == "mine") << value;
}

TEST_F(TxnViewTest, LongValuesInOverflowPagesReadWholeFromTreeAndChain) {
  const std::string first = LongValue(1, 1, 70000);
  const std::string second = LongValue(1, 2, 90000);
  CommitPut("big", first);
  auto old_snapshot = Begin(kSnapshot);
  ASSERT_EQ(Read(*old_snapshot, "big"), first);
  CommitPut("big", second);
  CommitPut("small", "s");
  EXPECT_EQ(Read(*old_snapshot, "big"), first);
  EXPECT_EQ(ReadLatest("big"), second);
  std::string value;
  ASSERT_TRUE(db_->Get(kTable, "big", &value).ok());
  EXPECT_EQ(value, second);

  auto it = old_snapshot->NewIterator(kTable);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"big", first}}));
  auto now = Begin(kSnapshot);
  auto it_now = now->NewIterator(kTable);
  it_now->SeekToLast();
  EXPECT_EQ(Drain(*it_now, /*forward=*/false), (KeyValues{{"small", "s"}, {"big", second}}));
}

TEST_F(TxnViewTest, ScansAcrossLeavesSeeTheSnapshotBothWays) {
  Model before = Load(3000, 1);
  auto reader = Begin(kSnapshot);
  ASSERT_EQ(Read(*reader, NumKey(0)), before[NumKey(0)]);  // the snapshot
  // After the snapshot: updates (some long), deletes of single keys and of
  // whole runs (leaves emptied and freed), inserts.
  Model after = before;
  {
    auto txn = db_->Begin();
    for (int i = 0; i < 3000; ++i) {
      const std::string key = NumKey(i);
      if (i % 3 == 0) {
        const std::string value = LongValue(i, 2, i % 300 == 0 ? 30000 : 120);
        ASSERT_TRUE(txn->Put(kTable, key, value).ok());
        after[key] = value;
      } else if (i % 7 == 1 || (i >= 1000 && i < 1400)) {
        ASSERT_TRUE(txn->Delete(kTable, key).ok());
        after.erase(key);
      }
    }
    for (int i = 3000; i < 3200; ++i) {
      ASSERT_TRUE(txn->Put(kTable, NumKey(i), LongValue(i, 2, 100)).ok());
      after[NumKey(i)] = LongValue(i, 2, 100);
    }
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto it = reader->NewIterator(kTable);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), Forward(before));
  it->SeekToLast();
  EXPECT_EQ(Drain(*it, /*forward=*/false), Backward(before));

  auto fresh = Begin(kReadCommitted);
  auto it_fresh = fresh->NewIterator(kTable);
  it_fresh->SeekToFirst();
  EXPECT_EQ(Drain(*it_fresh), Forward(after));
  it_fresh->SeekToLast();
  EXPECT_EQ(Drain(*it_fresh, /*forward=*/false), Backward(after));
}

TEST_F(TxnViewTest, ViewsStayUnchangedUntilTheNextMoveWhateverIsWritten) {
  Model model = Load(2000, 1);
  auto txn = Begin(kSnapshot);
  auto it = txn->NewIterator(kTable);
  it->Seek(NumKey(500));
  ASSERT_TRUE(it->Valid());
  it->Next();  // now inside a copy of the leaf
  ASSERT_TRUE(it->Valid());
  const std::string_view key = it->key();
  const std::string_view value = it->value();
  const std::string key_copy(key), value_copy(value);
  ASSERT_EQ(key_copy, NumKey(501));
  // Other transactions rewrite and delete the key and its whole leaf's
  // neighbourhood; this transaction writes the key itself.
  for (int i = 450; i < 560; ++i) {
    if (i == 501) continue;  // this transaction's own write below (no conflict)
    if (i % 2 == 0) {
      CommitPut(NumKey(i), LongValue(i, 9, 150));
    } else {
      CommitDelete(NumKey(i));
    }
  }
  ASSERT_TRUE(txn->Put(kTable, NumKey(501), "own").ok());
  EXPECT_EQ(key, key_copy);
  EXPECT_EQ(value, value_copy);
  // A view may be handed to the next move.
  it->Seek(it->key());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), NumKey(501));
  EXPECT_EQ(it->value(), "own");  // the move merges the own write
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), NumKey(502));
  EXPECT_EQ(it->value(), model[NumKey(502)]);  // the snapshot's version
  it->SeekForPrev(it->key());
  EXPECT_EQ(it->key(), NumKey(502));
}

TEST_F(TxnViewTest, OwnWritesMergeIntoScansAcrossLeavesBothWays) {
  Model model = Load(2500, 1);
  auto txn = Begin(kSnapshot);
  for (int i = 0; i < 2500; i += 11) {
    if (i % 2 == 0) {
      ASSERT_TRUE(txn->Delete(kTable, NumKey(i)).ok());
      model.erase(NumKey(i));
    } else {
      const std::string value = LongValue(i, 5, i % 3 == 0 ? 12000 : 64);
      ASSERT_TRUE(txn->Put(kTable, NumKey(i), value).ok());
      model[NumKey(i)] = value;
    }
  }
  for (int i = 0; i < 2500; i += 97) {  // keys between the tree's
    const std::string key = NumKey(i) + "+";
    ASSERT_TRUE(txn->Put(kTable, key, "between").ok());
    model[key] = "between";
  }
  CommitPut(NumKey(3), "after the snapshot");  // not seen
  auto it = txn->NewIterator(kTable);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), Forward(model));
  it->SeekToLast();
  EXPECT_EQ(Drain(*it, /*forward=*/false), Backward(model));
  // Changing direction in the middle, many times.
  it->Seek(NumKey(1200));
  std::vector<std::string> seen;
  for (int step = 0; step < 400 && it->Valid(); ++step) {
    seen.emplace_back(it->key());
    if (step % 5 == 4) {
      it->Prev();
    } else {
      it->Next();
    }
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  // Replayed on the model: the same keys.
  auto at = model.lower_bound(NumKey(1200));
  for (size_t step = 0; step < seen.size(); ++step) {
    ASSERT_NE(at, model.end());
    EXPECT_EQ(seen[step], at->first) << "step " << step;
    if (step % 5 == 4) {
      --at;
    } else {
      ++at;
    }
  }
}

TEST_F(TxnViewTest, ShortScansFromManyPlacesMatchTheModel) {
  Model model = Load(2000, 1);
  std::mt19937 random(12);
  TransactionOptions read_only;
  read_only.read_only = true;
  for (int round = 0; round < 300; ++round) {
    read_only.isolation = round % 2 == 0 ? kSnapshot : kReadCommitted;
    auto txn = db_->Begin(read_only);
    auto it = txn->NewIterator(kTable);
    const std::string from = NumKey(static_cast<int>(random() % 2100));
    const int want = 1 + static_cast<int>(random() % 100);
    it->Seek(from);
    auto at = model.lower_bound(from);
    for (int read = 0; read < want && at != model.end(); ++read, ++at) {
      ASSERT_TRUE(it->Valid()) << from << " +" << read;
      ASSERT_EQ(it->key(), at->first);
      ASSERT_EQ(it->value(), at->second);
      it->Next();
    }
    if (at == model.end()) EXPECT_FALSE(it->Valid());
    ASSERT_TRUE(it->status().ok());
    it.reset();
    ASSERT_TRUE(txn->Commit().ok());
  }
}

}  // namespace
}  // namespace mvdb
