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
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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
};

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
