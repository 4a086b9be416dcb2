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
//
// Entries are not copied: the cursor copies each leaf once
// (CursorMode::kLeafCopy) and key() and value() are views into that copy,
// the version header checked in place (VersionStore::ResolveInPlace); only
// a version from a chain is copied (into tree_value_), and an own write
// (into own_key_, own_value_, as the transaction may overwrite it). That is
// right for a snapshot: the copy of a leaf is the newest state of its
// entries at the time of the copy, which is after the snapshot was taken,
// so resolving an entry against the snapshot gives what a fresh read
// would (the chain keeps what the snapshot needs: mvcc/version_store.cc,
// invariants 1 and 3). The transaction's own writes are still looked up at
// each move. A view of the cursor's lives until its next move (btree.h);
// a move of the iterator may take several (skipping invisible entries), so
// it starts from a copy of the key when own writes are merged or the
// direction changes (MoveFrom).
#include <algorithm>
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
      manager_(txn->manager()),
      table_(table),
      options_(options),
      prefix_(LockManager::LockName(table.id, "")),
      cursor_(table.tree->NewCursor(CursorMode::kLeafCopy)) {
  Result<Timestamp> snapshot = txn_->SnapshotForIterator(&owner_);
  if (!snapshot.ok()) {
    Stop(snapshot.status());
    return;
  }
  snapshot_ = *snapshot;
  check_owner_ = txn_->isolation() == IsolationLevel::kSnapshot ? nullptr : &owner_;
}

TxnIterator::TxnIterator(TxnManager* manager, const TableRef& table, const IteratorOptions& options,
                         const SnapshotOwner* snapshot)
    : txn_(nullptr),
      manager_(manager),
      table_(table),
      options_(options),
      snapshot_(snapshot->ts),
      cursor_(table.tree->NewCursor(CursorMode::kLeafCopy)),
      check_owner_(snapshot) {
  (void)Begin();  // a snapshot reclaimed already stops it at once
}

TxnIterator::~TxnIterator() {
  if (txn_ != nullptr) txn_->ReleaseIteratorSnapshot(&owner_);
}

bool TxnIterator::Begin() {
  if (!status_.ok()) return false;
  if (txn_ == nullptr) {  // a shared snapshot's: only its reclaim stops it
    if (!check_owner_->too_old.load(std::memory_order_acquire)) return true;
    Stop(SnapshotReclaimed(check_owner_->ts));
    return false;
  }
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
  VersionStore& versions = manager_->versions();
  while (cursor_->Valid()) {
    const std::string_view key = cursor_->key();
    const bool below = options_.lower_bound.has_value() && key < *options_.lower_bound;
    const bool above = options_.upper_bound.has_value() && key >= *options_.upper_bound;
    if ((forward && above) || (!forward && below)) return;  // past the bound: exhausted
    if (!below && !above) {
      Result<bool> seen = versions.ResolveInPlace(table_.id, key, cursor_->value(), snapshot_,
                                                  &tree_val_, &tree_value_);
      if (!seen.ok()) {
        Stop(seen.status());
        return;
      }
      if (*seen) {
        tree_key_ = key;
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
  if (!HasOwnWrites()) return nullptr;  // a read-only scan: no map probe per step
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

// `from` may be key_ itself: it is not read after key_ changes.
void TxnIterator::Resolve(std::string_view from, bool inclusive) {
  const bool forward = direction_ == Direction::kForward;
  while (status_.ok()) {
    std::string_view own_key;
    const Txn::Key* own = NearestOwnWrite(from, inclusive, &own_key);
    if (own == nullptr && !tree_valid_) break;
    const bool own_first =
        own != nullptr && (!tree_valid_ || (forward ? own_key <= tree_key_ : own_key >= tree_key_));
    if (!own_first) {
      key_ = tree_key_;  // views into the cursor's copy (or tree_value_)
      value_ = tree_val_;
      from_tree_ = true;
      valid_ = true;
      return;
    }
    // An own write of a key hides the tree's version of it.
    if (tree_valid_ && own_key == tree_key_) StepTree();
    if (own->is_delete) {
      from = own_key;  // the write set does not change while we move
      inclusive = false;
      continue;
    }
    // Copies: the transaction may overwrite its write while we rest here
    // (and its keys go when it ends).
    own_key_.assign(own_key);
    key_ = own_key_;
    own_value_ = own->value;
    value_ = own_value_;
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
  Resolve(from, true);
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
  Resolve(target, true);
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

std::string_view TxnIterator::MoveFrom(Direction direction) {
  // The moves below may take the cursor several leaves on (past entries the
  // snapshot does not see), after which key_ would be gone; Resolve reads
  // `from` only to merge own writes, and a change of direction re-seeks.
  if (direction_ == direction && !HasOwnWrites()) return key_;
  from_key_.assign(key_);
  return from_key_;
}

void TxnIterator::Next() {
  if (!valid_ || !Begin()) return;
  const std::string_view from = MoveFrom(Direction::kForward);
  if (direction_ == Direction::kBackward) {
    SeekTreeForward(from, false);
  } else if (from_tree_) {
    StepTree();
  }
  Resolve(from, false);
  (void)Begin();
}

void TxnIterator::Prev() {
  if (!valid_ || !Begin()) return;
  const std::string_view from = MoveFrom(Direction::kBackward);
  if (direction_ == Direction::kForward) {
    SeekTreeBackward(from, false);
  } else if (from_tree_) {
    StepTree();
  }
  Resolve(from, false);
  (void)Begin();
}

}  // namespace mvdb
