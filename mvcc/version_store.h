// VersionStore: the versions of every key, which one a snapshot sees, and
// the collection of those no snapshot can see. The rules are the essay at
// the top of version_store.cc; the tree entry's bytes are
// mvcc/version_format.md.
//
// Where versions live: a table's B+tree holds, per key, the newest
// committed version (or one being committed) stamped with its commit
// timestamp, or a tombstone for a delete. Older versions that an open (or
// soon to be taken) snapshot may need live in memory, in a chain per key,
// newest first. Versions never reach the disk except as the tree's entry,
// so a database just opened has no chains.
//
// Threading: every method may be called from any thread. Install
// REQUIRES the key's row lock (txn/); ApplyReplayed runs in recovery alone.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mvcc/timeline.h"
#include "mvdb/db.h"  // VersionInfo
#include "mvdb/status.h"

namespace mvdb {

class BTree;
class Engine;

using TableId = uint32_t;

// A decoded tree entry (version_format.md).
struct EntryView {
  Timestamp ts = 0;
  bool tombstone = false;
  // The version starts a row: it does not continue the version before it
  // (version_format.md). Never set on a tombstone.
  bool new_row = false;
  std::string_view value;  // empty for a tombstone
};

// REQUIRES: 0 < ts < 2^62; new_row only without tombstone.
std::string EncodeEntry(Timestamp ts, bool tombstone, std::string_view value, bool new_row = false);
// Corruption (naming the key) if the bytes are not a valid entry.
Result<EntryView> DecodeEntry(std::string_view raw, std::string_view key);

struct VersionStoreStats {
  uint64_t versions = 0;  // old versions in chains
  // Their memory as the heap holds it (mvcc/footprint.h): values, chains,
  // the chains' table and the collection work items queued for them.
  uint64_t bytes = 0;
  uint64_t backlog = 0;  // collection work items not yet due or done
  uint64_t reclaimed = 0;
  uint64_t tombstones_removed = 0;
};

class VersionStore {
 public:
  // `recovered`: visible() when the database opened; a tombstone at or below
  // it may predate this process and have no work item.
  VersionStore(Timeline* timeline, Timestamp recovered)
      : timeline_(timeline), recovered_(recovered) {}

  // ---- reads ----

  // The value of `key` as the snapshot `snapshot` sees it: OK with *value,
  // or NotFound (then *value is empty). The value is copied once: from the
  // tree straight into *value (BTree::GetSplit, the header checked apart),
  // or from the chain. `newest_ts`, when not null, receives the timestamp of the
  // tree's entry (0 when the key has none): a writer's first-updater-wins
  // check compares it with its snapshot.
  Status Read(TableId table, BTree* tree, std::string_view key, Timestamp snapshot,
              std::string* value, Timestamp* newest_ts = nullptr);
  // The newest committed value: Read at visible(), read so that it needs no
  // registered snapshot (read committed's point reads).
  Status ReadLatest(TableId table, BTree* tree, std::string_view key, std::string* value);
  // Resolves a tree entry a cursor found: true with *value if the snapshot
  // sees a value for `key`, false if it sees none.
  Result<bool> Resolve(TableId table, std::string_view key, std::string_view raw_entry,
                       Timestamp snapshot, std::string* value);
  // Resolve without copying the tree's version: *value is a view into
  // raw_entry when the snapshot sees the entry itself, else into
  // *old_value, where the chain's version is copied.
  // The common case, a well-formed value at or below the snapshot, is
  // decided inline.
  Result<bool> ResolveInPlace(TableId table, std::string_view key, std::string_view raw_entry,
                              Timestamp snapshot, std::string_view* value, std::string* old_value) {
    if (raw_entry.size() >= kEntryHeaderSize) {
      const uint64_t word = LoadEntryHeader(raw_entry);
      const Timestamp ts = word & kEntryTsMask;
      if ((word & kEntryTombstoneBit) == 0 && ts != 0 && ts <= snapshot) {
        *value = raw_entry.substr(kEntryHeaderSize);
        return true;
      }
    }
    return ResolveInPlaceSlow(table, key, raw_entry, snapshot, value, old_value);
  }
  // Every kept version of `key`, newest first.
  Result<std::vector<VersionInfo>> ListVersions(TableId table, BTree* tree, std::string_view key);
  // What became of the row that snapshot `since` saw under `key`, given
  // `newest`, the key's tree entry: it lives on in `newest` when no version
  // committed after `since`, up to and including `newest`, ends it (a
  // tombstone) or starts another row (new_row). REQUIRES: the key's row
  // lock (no install of the key under way) and `since` registered, so every
  // version committed after it is still kept (invariant 3).
  enum class RowFate {
    kLivesOn,  // `newest` is a version of the row `since` saw
    kDeleted,  // that row was deleted (a new row may have taken the key since)
    kNoRow,    // `since` saw no row under the key
  };
  RowFate RowSince(TableId table, std::string_view key, const EntryView& newest, Timestamp since);

  // ---- writes (REQUIRE the engine's commit lock) ----

  // Makes `value` (nullopt: a delete) the entry of `key` at `ts`, after
  // moving the entry it replaces to the key's chain, and queues the work of
  // collecting that version once the watermark passes ts. A value starts a
  // new row (EntryView::new_row) when `new_row` says so (its writer deleted
  // the key first) or when it replaces no value (none, or a tombstone). `current`, when
  // not null, is the key's raw tree entry (nullopt: none) as the writer read
  // it after taking the key's row lock, which keeps it from changing (a
  // tombstone the collector removed meanwhile is still right to append);
  // null: Install reads it (a put tries BTree::Insert first, so a new key
  // costs one descent of the tree).
  Status Install(TableId table, BTree* tree, std::string_view key,
                 const std::optional<std::string_view>& value, Timestamp ts,
                 const std::optional<std::string>* current = nullptr, bool new_row = false);
  // Install of puts nobody read (a write batch's) to one tree, in increasing
  // key order, new_rows[i] as Install's new_row: the keys that are absent go
  // in with BTree::InsertRun (a latch a leaf, not a descent a key), each
  // present one through Install. REQUIRES the row lock of every key.
  Status InstallPuts(TableId table, BTree* tree, std::span<const std::string_view> keys,
                     std::span<const std::string_view> values, std::span<const uint8_t> new_rows,
                     Timestamp ts);
  // The raw tree entry of `key`, for Install's `current`.
  static Result<std::optional<std::string>> ReadEntry(BTree* tree, std::string_view key);
  // Recovery's apply: no snapshot exists, so a put writes the entry and a
  // delete removes the key.
  static Status ApplyReplayed(BTree* tree, std::string_view key,
                              const std::optional<std::string_view>& value, Timestamp ts);

  // ---- collection ----

  // How the collector keeps writers of a key out while it removes the
  // key's tombstone: the row lock every installer holds (txn/). Keys are
  // named as chains are (4-byte table id, then the key).
  struct KeyLocks {
    std::function<bool(const std::string& name)> try_lock;
    std::function<void(const std::string& name)> unlock;
  };
  // Does the collection work that is due at `watermark`, at most max_items
  // work items (0: all): trims chains of versions superseded at or below
  // the watermark and removes tombstones at or below it from the trees,
  // each under its key's lock (a tombstone whose key is locked is retried
  // at the next pass). `tree_of` maps a table to its tree, or null if it
  // was dropped. IOError or Corruption if a tree could not be changed.
  Status Collect(Timestamp watermark, size_t max_items, Engine* engine,
                 const std::function<BTree*(TableId)>& tree_of, const KeyLocks& locks);
  // Queues the removal of a tombstone found by a reader that no collection
  // work item covers (one that was in the tree when the database opened).
  void NoteStaleTombstone(TableId table, std::string_view key, Timestamp ts);
  // Forgets every version and work item of a dropped table.
  void DropTable(TableId table);

  VersionStoreStats stats() const;
  // stats().bytes, without its lock.
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct OldVersion {
    Timestamp ts = 0;
    Timestamp superseded_at = 0;  // the ts of the version that replaced it
    bool tombstone = false;
    bool new_row = false;  // EntryView::new_row
    std::string value;
  };
  // Oldest first (new versions are appended), so trimming erases a prefix.
  using Chain = std::vector<OldVersion>;
  // Chains are looked up by a string_view (no key is built on a read).
  // Not noexcept, as std::hash<std::string> is not: libstdc++ then caches
  // the hash in each node, which footprint::HashNode counts.
  struct ChainHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const {  // NOLINT(performance-noexcept-*)
      return std::hash<std::string_view>{}(key);
    }
  };
  using ChainMap = std::unordered_map<std::string, Chain, ChainHash, std::equal_to<>>;
  struct Shard {
    std::mutex mu;
    ChainMap chains;
    size_t buckets = 0;  // chains.bucket_count() as counted in bytes_
  };
  struct WorkItem {
    Timestamp due = 0;  // the watermark at which the item can be done
    std::string chain_key;
    bool tombstone = false;  // the item's version is a tombstone in the tree
  };
  static constexpr size_t kShards = 64;

  // The entry header (version_format.md), for ResolveInPlace's fast path.
  static constexpr size_t kEntryHeaderSize = 8;
  static constexpr uint64_t kEntryTombstoneBit = uint64_t{1} << 63;
  static constexpr uint64_t kEntryTsMask = ~(kEntryTombstoneBit | uint64_t{1} << 62);
  static uint64_t LoadEntryHeader(std::string_view raw) {
    uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | static_cast<uint8_t>(raw[i]);
    return word;  // little-endian (common/coding.h)
  }
  Result<bool> ResolveInPlaceSlow(TableId table, std::string_view key, std::string_view raw_entry,
                                  Timestamp snapshot, std::string_view* value,
                                  std::string* old_value);
  static constexpr size_t kChainKeyCapacity = 4 + 1024;  // table id, longest key
  static std::string ChainKey(TableId table, std::string_view key);
  // The same, built in *buffer (reads allocate nothing).
  static std::string_view ChainKey(TableId table, std::string_view key,
                                   std::array<char, kChainKeyCapacity>* buffer);
  Shard& ShardOf(std::string_view chain_key);
  // The newest chain version at or below snapshot: true with *value (or
  // tombstone), false if the chain has none (the key did not exist then).
  bool FindInChain(TableId table, std::string_view key, Timestamp snapshot, std::string* value,
                   bool* tombstone);
  // Which version a snapshot sees, given the tree entry's header: true if
  // it is the tree's own (its value is the caller's), or true with the
  // chain's version copied into *value, or false (none, or a tombstone).
  Result<bool> ResolveHeader(TableId table, std::string_view key, const EntryView& entry,
                             Timestamp snapshot, std::string* value);
  // Read's work: the tree's value into *value, resolved at snapshot.
  Status ReadCopied(TableId table, BTree* tree, std::string_view key, Timestamp snapshot,
                    std::string* value, Timestamp* newest_ts);
  // Removes the chain versions superseded at or below watermark; returns
  // whether the chain is now empty.
  bool Trim(std::string_view chain_key, Timestamp watermark);
  // The heap a chain takes besides its versions' values: its node in the
  // shard's table, the key, the vector of versions (by capacity).
  static uint64_t ChainBytes(const std::string& chain_key, const Chain& chain);
  // The heap a queued work item takes: its share of a deque block, its key.
  static uint64_t ItemBytes(const WorkItem& item);
  // Counts a change of the shard's bucket array. REQUIRES: shard.mu held.
  void CountBuckets(Shard& shard);
  // Adds (or, wrapping, subtracts) delta to bytes_.
  void AddBytes(int64_t delta) {
    bytes_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
  }
  // Collect's work on items taken off the queue: trims their chains and
  // removes the tombstones that are due.
  Status CollectItems(const std::vector<WorkItem>& due, Timestamp watermark, Engine* engine,
                      const std::function<BTree*(TableId)>& tree_of, const KeyLocks& locks);
  // Removes the tree's tombstone for item if it is still the one item
  // names, due at or below watermark. REQUIRES: the key's lock held.
  Status RemoveTombstone(BTree* tree, const WorkItem& item, Timestamp watermark);

  Timeline* timeline_;
  const Timestamp recovered_;
  std::array<Shard, kShards> shards_;
  mutable std::mutex queue_mu_;
  std::deque<WorkItem> queue_;              // nearly in due order (see the essay)
  std::vector<WorkItem> stale_tombstones_;  // guarded by queue_mu_
  std::atomic<uint64_t> versions_{0}, bytes_{0}, reclaimed_{0}, tombstones_removed_{0};
};

}  // namespace mvdb
