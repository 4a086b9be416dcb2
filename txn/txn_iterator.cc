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
// A forward scan reads ahead: BTreeCursor::NextInLeaf copies the rest of
// the leaf under one latch (instead of a pin and latch per Next), and the
// copies are resolved one by one as the scan reaches them. That is right
// for a snapshot: each copy is the newest entry at the time of the copy,
// which is after the snapshot was taken, so resolving it against the
// snapshot gives what a later Next would have (the chain keeps what the
// snapshot needs). The transaction's own writes are still looked up at
// each move.
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
  DropAhead();
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
        tree_key_ = key;
        tree_val_ = tree_value_;
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
  ahead_limit_ = 8;
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

bool TxnIterator::CollectAhead(void* self, std::string_view key, std::string_view raw) {
  auto* it = static_cast<TxnIterator*>(self);
  if (it->options_.upper_bound.has_value() && key >= *it->options_.upper_bound) return false;
  if (it->ahead_end_ == it->ahead_.size()) it->ahead_.emplace_back();
  RawEntry& entry = it->ahead_[it->ahead_end_++];
  std::string& bytes = it->ahead_bytes_;
  entry.key_offset = static_cast<uint32_t>(bytes.size());
  entry.key_size = static_cast<uint32_t>(key.size());
  bytes.append(key);
  entry.raw_offset = static_cast<uint32_t>(bytes.size());
  entry.raw_size = static_cast<uint32_t>(raw.size());
  bytes.append(raw);
  return true;
}

bool TxnIterator::NextAhead() {
  while (ahead_next_ < ahead_end_) {
    const RawEntry& entry = ahead_[ahead_next_++];
    const std::string_view key(ahead_bytes_.data() + entry.key_offset, entry.key_size);
    const std::string_view raw(ahead_bytes_.data() + entry.raw_offset, entry.raw_size);
    // The common case, the tree's entry is the version the snapshot sees:
    // a view of the copy, not another copy.
    Result<EntryView> decoded = DecodeEntry(raw, key);
    if (decoded.ok() && !decoded->tombstone && decoded->ts <= snapshot_) {
      tree_key_ = key;  // ahead_bytes_ is kept until the next read-ahead
      tree_val_ = decoded->value;
      tree_valid_ = true;
      return true;
    }
    Result<bool> seen =
        txn_->manager()->versions().Resolve(table_.id, key, raw, snapshot_, &tree_value_);
    if (!seen.ok()) {
      Stop(seen.status());
      return true;
    }
    if (*seen) {
      tree_key_ = key;
      tree_val_ = tree_value_;
      tree_valid_ = true;
      return true;
    }
  }
  return false;
}

void TxnIterator::StepTree() {
  if (direction_ == Direction::kForward) {
    tree_valid_ = false;
    while (!NextAhead()) {
      DropAhead();
      const size_t read = cursor_->NextInLeaf(ahead_limit_, &CollectAhead, this);
      ahead_limit_ = std::min<size_t>(ahead_limit_ * 2, 64);
      if (read == 0) {
        cursor_->Next();  // the slow way: the leaf's end, a changed leaf, an overflow value
        SkipInvisibleTree();
        return;
      }
    }
    return;
  }
  cursor_->Prev();
  SkipInvisibleTree();
}

const Txn::Key* TxnIterator::NearestOwnWrite(std::string_view from, bool inclusive,
                                             std::string_view* key) const {
  // Keys the transaction only locked (GetForUpdate) are not writes: skip.
  const auto& keys = txn_->keys();
  if (keys.empty()) return nullptr;  // a read-only scan: no map probe per step
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
      key_ = tree_key_;
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
    key_ = own_key;
    // A copy: the transaction may overwrite its write while we rest here.
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
