// TxnIterator: a table as one transaction sees it, in both directions.
//
// Two sources are merged: the tree, through a BTreeCursor whose entries are
// resolved against the iterator's snapshot (VersionStore::Resolve: entries
// too new are replaced by their chain's version, tombstones and keys the
// snapshot does not see are skipped), and the transaction's own writes
// (a std::map, looked up afresh at each move, so writes made after the
// iterator was created are seen too). An own write of a key hides the
// tree's version of it; an own delete hides the key.
//
// While moving forward the cursor rests on the first entry the snapshot
// sees after the current key (or on it, when the current key came from the
// tree); moving backward, symmetrically. A change of direction re-seeks the
// cursor from the current key.
#include <iterator>
#include <utility>

#include "btree/btree.h"
#include "txn/transaction.h"

namespace mvdb {

namespace {

// Greater than every key of a table (keys are at most 1,024 bytes).
const std::string& AfterAllKeys() {
  static const std::string after(kMaxKeySize + 1, '\xff');
  return after;
}

}  // namespace

TxnIterator::TxnIterator(Txn* txn, const TableRef& table, const IteratorOptions& options)
    : txn_(txn),
      table_(table),
      options_(options),
      prefix_(LockManager::LockName(table.id, "")),
      cursor_(table.tree->NewCursor()) {
  Result<Timestamp> snapshot = txn_->SnapshotForIterator(&owner_);
  if (!snapshot.ok()) {
    Stop(snapshot.status());
    return;
  }
  snapshot_ = *snapshot;
  check_owner_ = txn_->isolation() == IsolationLevel::kSnapshot ? nullptr : &owner_;
}

TxnIterator::~TxnIterator() { txn_->ReleaseIteratorSnapshot(&owner_); }

bool TxnIterator::Begin() {
  if (!status_.ok()) return false;
  const Status readable = txn_->CheckReadable(check_owner_);
  if (!readable.ok()) {
    Stop(readable.code() == StatusCode::kInvalidArgument
             ? Status::Aborted("the iterator's transaction has ended")
             : readable);
    return false;
  }
  return true;
}

void TxnIterator::Stop(Status status) {
  valid_ = false;
  status_ = std::move(status);
}

bool TxnIterator::InBounds(std::string_view key) const {
  return (!options_.lower_bound.has_value() || key >= *options_.lower_bound) &&
         (!options_.upper_bound.has_value() || key < *options_.upper_bound);
}

void TxnIterator::SkipInvisibleTree() {
  const bool forward = direction_ == Direction::kForward;
  tree_valid_ = false;
  while (cursor_->Valid()) {
    const std::string_view key = cursor_->key();
    const bool below = options_.lower_bound.has_value() && key < *options_.lower_bound;
    const bool above = options_.upper_bound.has_value() && key >= *options_.upper_bound;
    if ((forward && above) || (!forward && below)) return;  // past the bound: exhausted
    if (!below && !above) {
      Result<bool> seen = txn_->manager()->versions().Resolve(table_.id, key, cursor_->value(),
                                                              snapshot_, &tree_value_);
      if (!seen.ok()) {
        Stop(seen.status());
        return;
      }
      if (*seen) {
        tree_valid_ = true;
        return;
      }
    }
    if (forward) {
      cursor_->Next();
    } else {
      cursor_->Prev();
    }
  }
  if (!cursor_->status().ok()) Stop(cursor_->status());
}

void TxnIterator::SeekTreeForward(std::string_view from, bool inclusive) {
  direction_ = Direction::kForward;
  cursor_->Seek(from);
  if (!inclusive && cursor_->Valid() && cursor_->key() == from) cursor_->Next();
  SkipInvisibleTree();
}

void TxnIterator::SeekTreeBackward(std::string_view from, bool inclusive) {
  direction_ = Direction::kBackward;
  cursor_->SeekForPrev(from);
  if (!inclusive && cursor_->Valid() && cursor_->key() == from) cursor_->Prev();
  SkipInvisibleTree();
}

void TxnIterator::StepTree() {
  if (direction_ == Direction::kForward) {
    cursor_->Next();
  } else {
    cursor_->Prev();
  }
  SkipInvisibleTree();
}

const Txn::Key* TxnIterator::NearestOwnWrite(std::string_view from, bool inclusive,
                                             std::string_view* key) const {
  // Keys the transaction only locked (GetForUpdate) are not writes: skip.
  const auto& keys = txn_->keys();
  const std::string probe = prefix_ + std::string(from);
  auto own = keys.end();
  if (direction_ == Direction::kForward) {
    own = inclusive ? keys.lower_bound(probe) : keys.upper_bound(probe);
    while (own != keys.end() && !own->second.written) ++own;
  } else {
    own = inclusive ? keys.upper_bound(probe) : keys.lower_bound(probe);
    do {
      own = own == keys.begin() ? keys.end() : std::prev(own);
    } while (own != keys.end() && !own->second.written);
  }
  if (own == keys.end() || !own->first.starts_with(prefix_)) return nullptr;
  *key = std::string_view(own->first).substr(prefix_.size());
  return InBounds(*key) ? &own->second : nullptr;
}

void TxnIterator::Resolve(std::string from, bool inclusive) {
  const bool forward = direction_ == Direction::kForward;
  while (status_.ok()) {
    std::string_view own_key;
    const Txn::Key* own = NearestOwnWrite(from, inclusive, &own_key);
    if (own == nullptr && !tree_valid_) break;
    const bool own_first =
        own != nullptr &&
        (!tree_valid_ || (forward ? own_key <= cursor_->key() : own_key >= cursor_->key()));
    if (!own_first) {
      key_ = cursor_->key();
      value_ = tree_value_;
      from_tree_ = true;
      valid_ = true;
      return;
    }
    // An own write of a key hides the tree's version of it.
    if (tree_valid_ && own_key == cursor_->key()) StepTree();
    if (own->is_delete) {
      from = std::string(own_key);
      inclusive = false;
      continue;
    }
    key_ = own_key;
    value_ = own->value;
    from_tree_ = false;
    valid_ = true;
    return;
  }
  valid_ = false;
}

void TxnIterator::Seek(std::string_view target) {
  if (!Begin()) return;
  std::string from(target);
  if (options_.lower_bound.has_value() && from < *options_.lower_bound)
    from = *options_.lower_bound;
  SeekTreeForward(from, true);
  Resolve(std::move(from), true);
  (void)Begin();  // a read that overlapped a reclaim is discarded
}

void TxnIterator::SeekToFirst() { Seek(""); }

void TxnIterator::SeekForPrev(std::string_view target) {
  if (options_.upper_bound.has_value() && target >= *options_.upper_bound) {
    SeekToLast();
    return;
  }
  if (!Begin()) return;
  SeekTreeBackward(target, true);
  Resolve(std::string(target), true);
  (void)Begin();
}

void TxnIterator::SeekToLast() {
  if (!Begin()) return;
  if (options_.upper_bound.has_value()) {
    SeekTreeBackward(*options_.upper_bound, false);
    Resolve(*options_.upper_bound, false);
  } else {
    direction_ = Direction::kBackward;
    cursor_->SeekToLast();
    SkipInvisibleTree();
    Resolve(AfterAllKeys(), true);
  }
  (void)Begin();
}

void TxnIterator::Next() {
  if (!valid_ || !Begin()) return;
  if (direction_ == Direction::kBackward) {
    SeekTreeForward(key_, false);
  } else if (from_tree_) {
    StepTree();
  }
  Resolve(key_, false);
  (void)Begin();
}

void TxnIterator::Prev() {
  if (!valid_ || !Begin()) return;
  if (direction_ == Direction::kForward) {
    SeekTreeBackward(key_, false);
  } else if (from_tree_) {
    StepTree();
  }
  Resolve(key_, false);
  (void)Begin();
}

}  // namespace mvdb
