// mvdb-bench's adapter for LevelDB from Debian's libleveldb-dev: the
// classic LSM-tree with a write-ahead log and no transactions, kept as the
// reference point for random writes.
//
// Fairness (bench/README.md repeats it): the block cache is
// config.cache_bytes (an LRU cache of our own, deleted after the DB),
// compression is off, a 10-bit bloom filter (as RocksDB's: without one a
// Get reads a block of every level that may hold the key), the log is on and each commit's record
// is written to the kernel before it returns (fsync'ed when config.sync). The write buffer stays at
// its default of 4 MiB, outside the cache budget. LevelDB has no direct I/O, so the OS page cache
// still helps it when the data outgrows the cache.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>
#include <leveldb/write_batch.h>

#include "engine_adapter.h"

namespace mvdb::bench {
namespace {

leveldb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

std::string_view ToView(const leveldb::Slice& s) { return {s.data(), s.size()}; }

Status FromLevel(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  const std::string msg = "leveldb: " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  return Status::IOError(msg);
}

// A cursor on a snapshot taken at creation, released when the cursor goes.
class LevelCursor final : public Cursor {
 public:
  explicit LevelCursor(leveldb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {
    leveldb::ReadOptions ro;
    ro.snapshot = snapshot_;
    iter_.reset(db_->NewIterator(ro));
  }
  ~LevelCursor() override {
    iter_.reset();  // the iterator must go before its snapshot
    db_->ReleaseSnapshot(snapshot_);
  }

  void SeekToFirst() override { iter_->SeekToFirst(); }
  void Seek(std::string_view key) override { iter_->Seek(ToSlice(key)); }
  bool Valid() const override { return iter_->Valid(); }
  void Next() override { iter_->Next(); }
  std::string_view key() const override { return ToView(iter_->key()); }
  std::string_view value() const override { return ToView(iter_->value()); }
  Status status() const override { return FromLevel(iter_->status()); }

 private:
  leveldb::DB* db_;
  const leveldb::Snapshot* snapshot_;
  std::unique_ptr<leveldb::Iterator> iter_;
};

// The DB is thread-safe and every method is one LevelDB call, so a Worker
// keeps nothing but its write options.
class LevelWorker final : public Worker {
 public:
  LevelWorker(leveldb::DB* db, bool sync) : db_(db) { write_options_.sync = sync; }

  Status Put(std::string_view key, std::string_view value) override {
    return FromLevel(db_->Put(write_options_, ToSlice(key), ToSlice(value)));
  }

  Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    leveldb::WriteBatch batch;
    for (const auto& [k, v] : pairs) batch.Put(k, v);
    return FromLevel(db_->Write(leveldb::WriteOptions(), &batch));
  }

  Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    batch_.Clear();
    for (const auto& [k, v] : pairs) batch_.Put(k, v);
    return FromLevel(db_->Write(write_options_, &batch_));
  }

  Status Get(std::string_view key, std::string* value) override {
    return FromLevel(db_->Get(leveldb::ReadOptions(), ToSlice(key), value));
  }

  Result<std::unique_ptr<Cursor>> NewCursor() override {
    return std::unique_ptr<Cursor>(std::make_unique<LevelCursor>(db_));
  }

  Status ReadModifyWrite(std::string_view key, std::string_view value) override {
    std::string old;
    Status s = Get(key, &old);
    if (!s.ok() && !s.IsNotFound()) return s;
    return Put(key, value);
  }

  Status Transfer(std::string_view, std::string_view, int64_t, Isolation) override {
    return Status::NotSupported("leveldb: no multi-key transactions");
  }

 private:
  leveldb::DB* db_;
  leveldb::WriteOptions write_options_;
  leveldb::WriteBatch batch_;  // CommitBatch's, reused as its bytes are
};

// Whether a level of "leveldb.stats" (rows "level files size-MB ...")
// scores 1 or more, as VersionSet::Finalize computes it (kL0_CompactionTrigger
// 4 files; MaxBytesForLevel 10 MiB at level 1, ten times more per level).
bool NeedsCompaction(const std::string& stats) {
  std::istringstream in(stats);
  std::string row;
  while (std::getline(in, row)) {
    std::istringstream fields(row);
    int level = 0;
    int files = 0;
    double mib = 0;
    if (!(fields >> level >> files >> mib)) continue;  // a heading
    if (level == 0 && files >= 4) return true;
    // The size is printed rounded to whole MiB: a level just under its
    // limit may show the limit itself, which LevelDB does not compact.
    if (level >= 1 && level <= 5 && mib > 10 * std::pow(10.0, level - 1)) return true;
  }
  return false;
}

class LevelAdapter final : public EngineAdapter {
 public:
  LevelAdapter(const EngineConfig& config, leveldb::DB* db, std::unique_ptr<leveldb::Cache> cache,
               std::unique_ptr<const leveldb::FilterPolicy> filter)
      : config_(config), db_(db), cache_(std::move(cache)), filter_(std::move(filter)) {}
  ~LevelAdapter() override { static_cast<void>(Close()); }

  std::string name() const override { return "leveldb"; }
  std::string version() const override {
    return std::to_string(leveldb::kMajorVersion) + "." + std::to_string(leveldb::kMinorVersion);
  }
  std::string settings() const override {
    return "cache " + std::to_string(config_.cache_bytes >> 20) +
           " MiB LRU block cache; compression none; 10-bit bloom filter; log on, " +
           (config_.sync ? "fsync per commit" : "written to the kernel per commit, not synced") +
           "; write buffer 4 MiB default; max_open_files default; no direct I/O (OS page cache "
           "helps); no transactions (read-modify-write is Get then Put); Debian build keeps "
           "asserts";
  }
  bool has_transactions() const override { return false; }

  Result<std::unique_ptr<Worker>> NewWorker() override {
    if (db_ == nullptr) return Status::InvalidArgument("leveldb: closed");
    return std::unique_ptr<Worker>(std::make_unique<LevelWorker>(db_, config_.sync));
  }

  // LevelDB says nothing of its pending compactions; this reads the files
  // and sizes of each level from "leveldb.stats" every 100 ms and returns
  // once no level would be compacted as VersionSet::Finalize scores them:
  // level 0 under its trigger of 4 files, level L (1 to 5) under
  // 10^L MiB. Gives up after kSettleSeconds with Busy rather than hang.
  Status WaitForBackgroundWork() override {
    if (db_ == nullptr) return Status::InvalidArgument("leveldb: closed");
    constexpr int kSettleSeconds = 120;
    for (int poll = 0; poll < kSettleSeconds * 10; ++poll) {
      std::string stats;
      if (!db_->GetProperty("leveldb.stats", &stats)) {
        return Status::IOError("leveldb: no leveldb.stats");
      }
      if (!NeedsCompaction(stats)) return Status::OK();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::Busy("leveldb: compactions still due after " + std::to_string(kSettleSeconds) +
                        " s");
  }

  // LevelDB has no Close that reports errors; deleting the DB waits for
  // background compaction and closes the files. The cache goes after it.
  Status Close() override {
    delete db_;
    db_ = nullptr;
    cache_.reset();
    filter_.reset();
    return Status::OK();
  }

 private:
  EngineConfig config_;
  leveldb::DB* db_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
};

}  // namespace

Result<std::unique_ptr<EngineAdapter>> OpenLevelDb(const EngineConfig& config) {
  std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(config.cache_bytes));
  leveldb::Options options;
  options.create_if_missing = true;
  options.compression = leveldb::kNoCompression;
  options.block_cache = cache.get();
  std::unique_ptr<const leveldb::FilterPolicy> filter(leveldb::NewBloomFilterPolicy(10));
  options.filter_policy = filter.get();
  leveldb::DB* db = nullptr;
  MVDB_RETURN_IF_ERROR(FromLevel(leveldb::DB::Open(options, config.dir, &db)));
  return std::unique_ptr<EngineAdapter>(
      std::make_unique<LevelAdapter>(config, db, std::move(cache), std::move(filter)));
}

}  // namespace mvdb::bench
