// Versions, visibility and garbage collection: why a snapshot always finds
// its version and why the collector never takes one a snapshot needs.
//
// Terms: a version's *ts* is its commit timestamp (timeline.h); a version
// is *superseded at* the ts of the next version of the same key. A snapshot
// S sees, for each key, the version with the largest ts <= S, and nothing
// if that version is a tombstone or there is none. W is the watermark
// (Timeline::Watermark): no registered snapshot is below it.
//
//  1. Install order. A key's tree entry is replaced only by Install, under
//     the writer's row lock (txn/), and the entry it replaces is appended to
//     the key's chain *before* the tree is changed. So at any moment, the tree entry followed by
//     the chain (newest first) is the key's whole history back to what collection removed, and a
//     reader that read an older tree entry finds the newer one's predecessor in the chain.
//  2. A new key has no chain: a snapshot below its first version's ts
//     finds the entry too new and the chain empty, and sees nothing, which
//     is right. A tombstone that is replaced is appended like any version,
//     so a snapshot between the delete and the next put sees nothing.
//  3. Collection keeps what snapshots need. A version superseded at s is
//     needed only by snapshots in [ts, s). Every registered snapshot is >=
//     W and every later one is >= visible() >= W, so a version superseded
//     at s <= W is needed by none, and only such versions are trimmed.
//     Chains are appended in ts order, so superseded_at grows along a
//     chain and trimming removes a prefix (oldest first).
//  4. A tombstone at ts <= W hides the key from every snapshot, so the
//     collector may remove it from the tree. It does so holding the key's
//     row lock (so no Install of the key is in progress; a key someone
//     holds is retried at the next pass) and only if the entry is still
//     that tombstone. The removal is not logged: it changes
//     no state a reader can see, and recovery's replay deletes keys
//     outright (there is no snapshot then).
//  5. Unregistered reads (ReadLatest, read committed's point reads) read
//     at V = visible(). The version they need is superseded after V, and
//     no collection trims it while visible() is still V; so the read is
//     retried if visible() moved while the chain was read.
//  6. A snapshot reclaimed to bound memory (Timeline::ReclaimOldest) is
//     flagged before it is unregistered, so a read that overlapped a trim
//     made possible by the reclaim sees the flag when its owner checks
//     after reading, and is discarded (db/transaction.cc).
//  7. Rows, not only keys. A key holds a sequence of rows: a value that
//     replaces a value continues its row; a tombstone ends it; a value that
//     replaces no value (none, or a tombstone) or whose writer deleted the
//     key earlier in the same transaction (the delete never became a
//     version) starts a new row and is flagged new_row. So the versions
//     after a snapshot S hold a tombstone or a new_row flag exactly when
//     the row S saw does not live on in the newest version, and as they
//     are all superseded after S, they are kept while S is registered
//     (3): RowSince walks them. This is what a read committed re-check
//     follows (PostgreSQL's update chain, txn/transaction.cc), and why a
//     delete and a re-insert under the same key are not an update.
//     Recovery does not restore the flag: no snapshot survives a restart,
//     and only versions after a snapshot are ever looked at.
//
// Work items: each Install that appends to a chain queues an item due at
// its ts (when W reaches it, the appended version is garbage). Installs
// of concurrent commits may queue out of ts order, so the queue is only
// nearly in due order: the collector pops the prefix that is due, and an
// item behind a later one waits a little longer, which delays its
// collection but never makes it early. Commits run a few items on their way out; a background
// thread runs the rest (db/database.cc).
//
// Memory. bytes_ is what the old versions hold on the heap as
// mvcc/footprint.h models glibc's malloc: each value's block, each chain's
// node, key and vector (by capacity), the chains' bucket arrays and the
// queued work items; counting only values and keys undercounted small
// versions three times over (issue 11, item 9). The counts change under the
// same lock as the containers. Trim shrinks a vector left at a quarter of its
// capacity and frees a shard's buckets when its last chain goes, so the
// count returns to 0. Collect takes due items off the queue 1,024 at a
// time: a pass over a large backlog holds a bounded number of them.
// The limit itself (Options::max_version_bytes) is enforced above, in
// TxnManager::Collect, by reclaiming the oldest snapshots, and a commit
// that leaves bytes_ over it waits for such a pass (txn/transaction.cc).
#include "mvcc/version_store.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "btree/btree.h"
#include "common/coding.h"
#include "engine/engine.h"
#include "mvcc/footprint.h"

namespace mvdb {

namespace {

constexpr uint64_t kTombstoneBit = uint64_t{1} << 63;
constexpr uint64_t kNewRowBit = uint64_t{1} << 62;
constexpr size_t kEntryHeader = 8;
constexpr size_t kTableIdBytes = 4;

void PutFixed64(char* p, uint64_t v) { EncodeFixed64(reinterpret_cast<std::byte*>(p), v); }
void PutFixed32(char* p, uint32_t v) { EncodeFixed32(reinterpret_cast<std::byte*>(p), v); }
uint64_t GetFixed64(const char* p) { return DecodeFixed64(reinterpret_cast<const std::byte*>(p)); }
uint32_t GetFixed32(const char* p) { return DecodeFixed32(reinterpret_cast<const std::byte*>(p)); }

}  // namespace

std::string EncodeEntry(Timestamp ts, bool tombstone, std::string_view value, bool new_row) {
  std::string out(kEntryHeader, '\0');
  PutFixed64(out.data(), ts | (tombstone ? kTombstoneBit : 0) | (new_row ? kNewRowBit : 0));
  out.append(value);
  return out;
}

namespace {

// The header word of an entry whose value has `value_size` bytes, checked
// (version_format.md); the value is filled in by the caller.
Result<EntryView> DecodeHeader(uint64_t word, size_t value_size) {
  EntryView view;
  view.ts = word & ~(kTombstoneBit | kNewRowBit);
  view.tombstone = (word & kTombstoneBit) != 0;
  view.new_row = (word & kNewRowBit) != 0;
  if (view.ts == 0 || (view.tombstone && (value_size != 0 || view.new_row))) {
    return Status::Corruption("version entry with " +
                              std::string(view.ts == 0      ? "timestamp 0"
                                          : value_size == 0 ? "a tombstone flagged as a new row"
                                                            : "a tombstone carrying a value"));
  }
  return view;
}

}  // namespace

Result<EntryView> DecodeEntry(std::string_view raw, std::string_view key) {
  if (raw.size() < kEntryHeader) {
    return Status::Corruption("version entry of key of " + std::to_string(key.size()) +
                              " bytes holds " + std::to_string(raw.size()) +
                              " bytes, less than its 8-byte header");
  }
  MVDB_ASSIGN_OR_RETURN(EntryView view,
                        DecodeHeader(GetFixed64(raw.data()), raw.size() - kEntryHeader));
  view.value = raw.substr(kEntryHeader);
  return view;
}

std::string VersionStore::ChainKey(TableId table, std::string_view key) {
  std::string out;
  out.reserve(kTableIdBytes + key.size());  // one allocation
  out.resize(kTableIdBytes);
  PutFixed32(out.data(), table);
  out.append(key);
  return out;
}

std::string_view VersionStore::ChainKey(TableId table, std::string_view key,
                                        std::array<char, kChainKeyCapacity>* buffer) {
  const size_t size = std::min(key.size(), kChainKeyCapacity - kTableIdBytes);
  PutFixed32(buffer->data(), table);
  std::memcpy(buffer->data() + kTableIdBytes, key.data(), size);
  return std::string_view(buffer->data(), kTableIdBytes + size);
}

VersionStore::Shard& VersionStore::ShardOf(std::string_view chain_key) {
  return shards_[std::hash<std::string_view>{}(chain_key) % kShards];
}

uint64_t VersionStore::ChainBytes(const std::string& chain_key, const Chain& chain) {
  return footprint::HashNode<std::pair<const std::string, Chain>>() + footprint::String(chain_key) +
         footprint::Allocation(chain.capacity() * sizeof(OldVersion));
}

uint64_t VersionStore::ItemBytes(const WorkItem& item) {
  // libstdc++'s deque holds its elements in blocks of 512 bytes.
  constexpr size_t kPerBlock = 512 / sizeof(WorkItem);
  return footprint::Allocation(512) / kPerBlock + footprint::String(item.chain_key);
}

void VersionStore::CountBuckets(Shard& shard) {
  const size_t buckets = shard.chains.bucket_count();
  // An empty table's single bucket is inside the object.
  const size_t counted = shard.chains.empty() && buckets <= 1 ? 0 : buckets;
  AddBytes(static_cast<int64_t>(footprint::Allocation(counted * footprint::kBucket)) -
           static_cast<int64_t>(footprint::Allocation(shard.buckets * footprint::kBucket)));
  shard.buckets = counted;
}

bool VersionStore::FindInChain(TableId table, std::string_view key, Timestamp snapshot,
                               std::string* value, bool* tombstone) {
  std::array<char, kChainKeyCapacity> buffer;  // no allocation on a read
  const std::string_view chain_key = ChainKey(table, key, &buffer);
  Shard& shard = ShardOf(chain_key);
  std::lock_guard lock(shard.mu);
  const auto it = shard.chains.find(chain_key);
  if (it == shard.chains.end()) return false;
  const Chain& chain = it->second;
  for (auto v = chain.rbegin(); v != chain.rend(); ++v) {
    if (v->ts <= snapshot) {
      *tombstone = v->tombstone;
      if (!v->tombstone) value->assign(v->value);  // the one copy of an old version
      return true;
    }
  }
  return false;
}

// ---- reads ----

Result<bool> VersionStore::ResolveHeader(TableId table, std::string_view key,
                                         const EntryView& entry, Timestamp snapshot,
                                         std::string* value) {
  if (entry.ts <= snapshot) {
    if (entry.tombstone) {
      if (entry.ts <= recovered_) NoteStaleTombstone(table, key, entry.ts);
      return false;
    }
    return true;  // the tree's version: the caller has its value
  }
  bool tombstone = false;
  if (!FindInChain(table, key, snapshot, value, &tombstone)) return false;  // invariant 2
  return !tombstone;
}

Result<bool> VersionStore::ResolveInPlaceSlow(TableId table, std::string_view key,
                                              std::string_view raw_entry, Timestamp snapshot,
                                              std::string_view* value, std::string* old_value) {
  static_assert(kEntryHeaderSize == kEntryHeader && kEntryTombstoneBit == kTombstoneBit &&
                kEntryTsMask == ~(kTombstoneBit | kNewRowBit));
  MVDB_ASSIGN_OR_RETURN(const EntryView entry, DecodeEntry(raw_entry, key));
  MVDB_ASSIGN_OR_RETURN(const bool seen, ResolveHeader(table, key, entry, snapshot, old_value));
  if (seen) *value = entry.ts <= snapshot ? entry.value : std::string_view(*old_value);
  return seen;
}

Result<bool> VersionStore::Resolve(TableId table, std::string_view key, std::string_view raw_entry,
                                   Timestamp snapshot, std::string* value) {
  std::string_view seen_value;
  MVDB_ASSIGN_OR_RETURN(const bool seen,
                        ResolveInPlaceSlow(table, key, raw_entry, snapshot, &seen_value, value));
  if (seen && seen_value.data() != value->data()) value->assign(seen_value);
  return seen;
}

Status VersionStore::ReadCopied(TableId table, BTree* tree, std::string_view key,
                                Timestamp snapshot, std::string* value, Timestamp* newest_ts) {
  // One copy: the tree's value lands in *value with its header split off
  // and checked in `head`; only a version from the chain replaces it.
  std::array<char, kEntryHeader> head;
  if (Status got = tree->GetSplit(key, head, value); !got.ok()) {
    value->clear();  // an earlier pass of the caller's loop may have filled it
    return got;
  }
  MVDB_ASSIGN_OR_RETURN(const EntryView entry,
                        DecodeHeader(GetFixed64(head.data()), value->size()));
  if (newest_ts != nullptr) *newest_ts = entry.ts;
  MVDB_ASSIGN_OR_RETURN(const bool present, ResolveHeader(table, key, entry, snapshot, value));
  if (present) return Status::OK();
  value->clear();  // not a version this snapshot sees
  return Status::NotFound("no visible version");
}

Status VersionStore::Read(TableId table, BTree* tree, std::string_view key, Timestamp snapshot,
                          std::string* value, Timestamp* newest_ts) {
  if (newest_ts != nullptr) *newest_ts = 0;
  return ReadCopied(table, tree, key, snapshot, value, newest_ts);
}

Status VersionStore::ReadLatest(TableId table, BTree* tree, std::string_view key,
                                std::string* value) {
  while (true) {  // invariant 5
    Timestamp newest = 0;
    const Timestamp visible = timeline_->visible();
    // visible() read before the tree: an entry newer than it is resolved
    // in the chain, as a snapshot at `visible` would.
    const Status read = ReadCopied(table, tree, key, visible, value, &newest);
    if (timeline_->visible() != visible) continue;
    return read;
  }
}

Result<std::vector<VersionInfo>> VersionStore::ListVersions(TableId table, BTree* tree,
                                                            std::string_view key) {
  std::vector<VersionInfo> out;
  std::string raw;
  const Status got = tree->Get(key, &raw);
  if (got.IsNotFound()) return out;
  MVDB_RETURN_IF_ERROR(got);
  MVDB_ASSIGN_OR_RETURN(const EntryView entry, DecodeEntry(raw, key));
  out.push_back({entry.ts, entry.tombstone, true, std::string(entry.value), entry.new_row});
  const std::string chain_key = ChainKey(table, key);
  Shard& shard = ShardOf(chain_key);
  std::lock_guard lock(shard.mu);
  if (const auto it = shard.chains.find(chain_key); it != shard.chains.end()) {
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
      out.push_back({v->ts, v->tombstone, false, v->value, v->new_row});
    }
  }
  return out;
}

VersionStore::RowFate VersionStore::RowSince(TableId table, std::string_view key,
                                             const EntryView& newest, Timestamp since) {
  // Walks the versions newest first down to the one `since` saw (invariant
  // 7); those after `since` are the tree's entry and the chain's newest
  // ones, all kept while `since` is registered (invariant 3).
  bool ended = false;  // a version after `since` ends or replaces the row
  const auto step = [&](Timestamp ts, bool tombstone, bool new_row) -> std::optional<RowFate> {
    if (ts <= since) {  // the version `since` saw
      if (tombstone) return RowFate::kNoRow;
      return ended ? RowFate::kDeleted : RowFate::kLivesOn;
    }
    ended = ended || tombstone || new_row;
    return std::nullopt;
  };
  if (const auto fate = step(newest.ts, newest.tombstone, newest.new_row)) return *fate;
  const std::string chain_key = ChainKey(table, key);
  Shard& shard = ShardOf(chain_key);
  std::lock_guard lock(shard.mu);
  if (const auto it = shard.chains.find(chain_key); it != shard.chains.end()) {
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
      if (const auto fate = step(v->ts, v->tombstone, v->new_row)) return *fate;
    }
  }
  return RowFate::kNoRow;  // the key's first version came after `since`
}

// ---- writes ----

Result<std::optional<std::string>> VersionStore::ReadEntry(BTree* tree, std::string_view key) {
  std::string raw;
  const Status got = tree->Get(key, &raw);
  if (got.IsNotFound()) return std::optional<std::string>();
  MVDB_RETURN_IF_ERROR(got);
  return std::optional<std::string>(std::move(raw));
}

Status VersionStore::Install(TableId table, BTree* tree, std::string_view key,
                             const std::optional<std::string_view>& value, Timestamp ts,
                             const std::optional<std::string>* current, bool new_row) {
  std::optional<std::string> read;
  if (current == nullptr && value.has_value()) {
    // Unread (a blind write): in one descent when the key is new, which
    // needs no chain (invariant 2) and starts a row (invariant 7);
    // otherwise the entry found is the one to replace.
    // A small entry is encoded into a buffer this thread reuses: a batched
    // load installs thousands of keys a commit, and each would otherwise
    // allocate its entry (Insert copies it into the leaf). A large one gets
    // its own, so no thread keeps a large buffer.
    constexpr size_t kReusedEntryMax = 4096;
    thread_local std::string reused;
    std::string large;
    std::string& entry = value->size() <= kReusedEntryMax ? reused : large;
    entry.assign(kEntryHeader, '\0');
    PutFixed64(entry.data(), ts | kNewRowBit);
    entry.append(*value);
    std::string existing;
    bool inserted = false;
    MVDB_RETURN_IF_ERROR(tree->Insert(key, entry, &inserted, &existing));
    if (inserted) return Status::OK();
    read = std::move(existing);
    current = &read;
  } else if (current == nullptr) {
    MVDB_ASSIGN_OR_RETURN(read, ReadEntry(tree, key));
    current = &read;
  }
  bool replaces_value = false;  // invariant 7
  if (current->has_value()) {
    const std::string& raw = **current;
    MVDB_ASSIGN_OR_RETURN(const EntryView old, DecodeEntry(raw, key));
    if (!value.has_value() && old.tombstone) return Status::OK();  // deleting nothing
    replaces_value = !old.tombstone;
    OldVersion version{old.ts, ts, old.tombstone, old.new_row, std::string(old.value)};
    std::string chain_key = ChainKey(table, key);
    {
      Shard& shard = ShardOf(chain_key);
      std::lock_guard lock(shard.mu);
      const auto [it, inserted] = shard.chains.try_emplace(chain_key);
      const int64_t before = inserted ? 0 : static_cast<int64_t>(ChainBytes(it->first, it->second));
      const int64_t value_bytes = static_cast<int64_t>(footprint::String(version.value));
      it->second.push_back(std::move(version));  // invariant 1: before the tree
      AddBytes(static_cast<int64_t>(ChainBytes(it->first, it->second)) - before + value_bytes);
      if (inserted) CountBuckets(shard);
    }
    versions_.fetch_add(1, std::memory_order_relaxed);
    WorkItem item{ts, std::move(chain_key), !value.has_value()};
    AddBytes(static_cast<int64_t>(ItemBytes(item)));
    std::lock_guard lock(queue_mu_);
    queue_.push_back(std::move(item));
  } else if (!value.has_value()) {
    return Status::OK();  // deleting a key that has no entry
  }
  if (!value.has_value()) return tree->Put(key, EncodeEntry(ts, true, {}));
  return tree->Put(key, EncodeEntry(ts, false, *value, new_row || !replaces_value));
}

Status VersionStore::InstallPuts(TableId table, BTree* tree, std::span<const std::string_view> keys,
                                 std::span<const std::string_view> values,
                                 std::span<const uint8_t> new_rows, Timestamp ts) {
  // The entries of a chunk of the run are encoded into a buffer this thread
  // reuses (a load commits thousands of keys a batch), at most about
  // kChunkBytes at a time so that no thread keeps a large one.
  constexpr size_t kChunkBytes = size_t{256} << 10;
  thread_local std::string buffer;
  std::vector<std::string_view> entries;
  std::string existing;
  size_t i = 0;
  while (i < keys.size()) {
    const size_t first = i;  // entries[k - first] is key k's
    size_t end = i;
    size_t bytes = 0;
    while (end < keys.size() &&
           (end == i || bytes + kEntryHeader + values[end].size() <= kChunkBytes)) {
      bytes += kEntryHeader + values[end].size();
      ++end;
    }
    std::string large;
    std::string& arena = bytes <= kChunkBytes ? buffer : large;
    arena.resize(bytes);
    entries.clear();
    char* at = arena.data();
    for (size_t k = i; k < end; ++k) {
      PutFixed64(at, ts | kNewRowBit);
      if (!values[k].empty()) std::memcpy(at + kEntryHeader, values[k].data(), values[k].size());
      entries.emplace_back(at, kEntryHeader + values[k].size());
      at += kEntryHeader + values[k].size();
    }
    while (i < end) {
      size_t done = 0;
      MVDB_RETURN_IF_ERROR(
          tree->InsertRun(keys.subspan(i, end - i),
                          std::span<const std::string_view>(entries).subspan(i - first, end - i),
                          &done, &existing));
      i += done;
      if (i == end) break;
      // keys[i] is present: replace its entry as any write does.
      const std::optional<std::string> current = std::move(existing);
      MVDB_RETURN_IF_ERROR(
          Install(table, tree, keys[i], values[i], ts, &current, new_rows[i] != 0));
      ++i;
    }
  }
  return Status::OK();
}

Status VersionStore::ApplyReplayed(BTree* tree, std::string_view key,
                                   const std::optional<std::string_view>& value, Timestamp ts) {
  if (value.has_value()) return tree->Put(key, EncodeEntry(ts, false, *value));
  const Status deleted = tree->Delete(key);
  return deleted.IsNotFound() ? Status::OK() : deleted;
}

// ---- collection ----

bool VersionStore::Trim(std::string_view chain_key, Timestamp watermark) {
  Shard& shard = ShardOf(chain_key);
  std::lock_guard lock(shard.mu);
  const auto it = shard.chains.find(chain_key);
  if (it == shard.chains.end()) return true;
  Chain& chain = it->second;
  size_t n = 0;
  int64_t freed = static_cast<int64_t>(ChainBytes(it->first, chain));
  while (n < chain.size() && chain[n].superseded_at <= watermark) {  // invariant 3
    freed += static_cast<int64_t>(footprint::String(chain[n].value));
    ++n;
  }
  if (n == 0) return chain.empty();
  chain.erase(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(n));
  versions_.fetch_sub(n, std::memory_order_relaxed);
  reclaimed_.fetch_add(n, std::memory_order_relaxed);
  if (!chain.empty()) {
    // A chain that was long under an old snapshot gives its room back.
    if (chain.size() <= chain.capacity() / 4) chain.shrink_to_fit();
    AddBytes(static_cast<int64_t>(ChainBytes(it->first, chain)) - freed);
    return false;
  }
  AddBytes(-freed);
  shard.chains.erase(it);
  if (shard.chains.empty()) {
    ChainMap().swap(shard.chains);  // frees the buckets
    CountBuckets(shard);
  }
  return true;
}

void VersionStore::NoteStaleTombstone(TableId table, std::string_view key, Timestamp ts) {
  std::lock_guard lock(queue_mu_);
  if (stale_tombstones_.size() < 4096)
    stale_tombstones_.push_back({ts, ChainKey(table, key), true});
}

Status VersionStore::Collect(Timestamp watermark, size_t max_items, Engine* engine,
                             const std::function<BTree*(TableId)>& tree_of, const KeyLocks& locks) {
  // In batches, so that a pass over a large backlog (after a reclaim, all
  // of it) holds a bounded number of items out of the queue at a time.
  constexpr size_t kBatch = 1024;
  size_t taken = 0;
  bool first = true;
  while (max_items == 0 || taken < max_items) {
    const size_t limit = max_items == 0 ? kBatch : std::min(kBatch, max_items - taken);
    std::vector<WorkItem> due;
    {
      std::lock_guard lock(queue_mu_);
      while (!queue_.empty() && queue_.front().due <= watermark && due.size() < limit) {
        AddBytes(-static_cast<int64_t>(ItemBytes(queue_.front())));
        due.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      taken += due.size();
      if (first) {  // once: those retried go back to the list for the next pass
        for (WorkItem& item : stale_tombstones_) due.push_back(std::move(item));
        stale_tombstones_.clear();
        first = false;
      }
    }
    if (due.empty()) break;
    MVDB_RETURN_IF_ERROR(CollectItems(due, watermark, engine, tree_of, locks));
  }
  return Status::OK();
}

Status VersionStore::CollectItems(const std::vector<WorkItem>& due, Timestamp watermark,
                                  Engine* engine, const std::function<BTree*(TableId)>& tree_of,
                                  const KeyLocks& locks) {
  std::vector<const WorkItem*> tombstones;
  for (const WorkItem& item : due) {
    const bool chain_empty = Trim(item.chain_key, watermark);
    if (item.tombstone && chain_empty) tombstones.push_back(&item);
  }
  if (tombstones.empty()) return Status::OK();
  std::vector<WorkItem> retry;
  const Status removed = engine->RunUnderCommitLock([&]() -> Status {  // invariant 4
    for (const WorkItem* item : tombstones) {
      const TableId table = GetFixed32(item->chain_key.data());
      BTree* tree = tree_of(table);
      if (tree == nullptr) continue;  // dropped
      if (!locks.try_lock(item->chain_key)) {
        retry.push_back(*item);  // a writer holds the key; it may install over it or not
        continue;
      }
      const Status status = RemoveTombstone(tree, *item, watermark);
      locks.unlock(item->chain_key);
      MVDB_RETURN_IF_ERROR(status);
    }
    return Status::OK();
  });
  if (!retry.empty()) {
    std::lock_guard lock(queue_mu_);
    for (WorkItem& item : retry) stale_tombstones_.push_back(std::move(item));
  }
  return removed;
}

Status VersionStore::RemoveTombstone(BTree* tree, const WorkItem& item, Timestamp watermark) {
  const std::string_view key = std::string_view(item.chain_key).substr(kTableIdBytes);
  std::string raw;
  const Status got = tree->Get(key, &raw);
  if (got.IsNotFound()) return Status::OK();
  MVDB_RETURN_IF_ERROR(got);
  MVDB_ASSIGN_OR_RETURN(const EntryView entry, DecodeEntry(raw, key));
  if (!entry.tombstone || entry.ts != item.due || entry.ts > watermark) return Status::OK();
  if (!Trim(item.chain_key, watermark)) return Status::OK();
  const Status deleted = tree->Delete(key);
  if (!deleted.ok() && !deleted.IsNotFound()) return deleted;
  tombstones_removed_.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

void VersionStore::DropTable(TableId table) {
  std::string prefix(kTableIdBytes, '\0');
  PutFixed32(prefix.data(), table);
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto it = shard.chains.begin(); it != shard.chains.end();) {
      if (!it->first.starts_with(prefix)) {
        ++it;
        continue;
      }
      int64_t freed = static_cast<int64_t>(ChainBytes(it->first, it->second));
      for (const OldVersion& v : it->second)
        freed += static_cast<int64_t>(footprint::String(v.value));
      versions_.fetch_sub(it->second.size(), std::memory_order_relaxed);
      AddBytes(-freed);
      it = shard.chains.erase(it);
    }
    if (shard.chains.empty()) {
      ChainMap().swap(shard.chains);
      CountBuckets(shard);
    }
  }
}

VersionStoreStats VersionStore::stats() const {
  VersionStoreStats s;
  s.versions = versions_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.reclaimed = reclaimed_.load(std::memory_order_relaxed);
  s.tombstones_removed = tombstones_removed_.load(std::memory_order_relaxed);
  std::lock_guard lock(queue_mu_);
  s.backlog = queue_.size() + stale_tombstones_.size();
  return s;
}

}  // namespace mvdb
