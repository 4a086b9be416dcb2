// mvdb-bench's adapters for RocksDB from Debian's librocksdb-dev: "rocksdb"
// (the plain rocksdb::DB, one write per WriteBatch, no transactions) and
// "rocksdb-txn" (a pessimistic TransactionDB, every write in a transaction,
// so transfers can be compared with mvdb's). Both open the same options so
// the two rows differ only by the transaction layer.
//
// Fairness (bench/README.md repeats it): the block cache is
// config.cache_bytes and index blocks are charged to it, compression is off
// on every level, the WAL is on and written to the kernel per commit (synced
// when config.sync), and both LSM peers get a 10-bit bloom filter — what
// anyone running them for point reads configures (without one, a Get
// reads a block of every overlapping level-0 file). Memtables (64 MiB by
// default) sit outside the cache budget, as LevelDB's and mvdb's write
// buffers do.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include "engine_adapter.h"

namespace mvdb::bench {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

std::string_view ToView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// RocksDB's "try again" statuses (a write conflict found against the
// snapshot, a lock wait that timed out, a deadlock victim) become Conflict,
// which the driver counts as an abort and retries; the rest keep their kind
// where mvdb has one.
Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  const std::string msg = "rocksdb: " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsDeadlock()) {
    return Status::Conflict(msg);
  }
  return Status::IOError(msg);
}

std::string RocksVersion() {
  return std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
         std::to_string(ROCKSDB_PATCH);
}

rocksdb::Options MakeOptions(const EngineConfig& config) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kNoCompression;
  options.compression_per_level.clear();
  options.bottommost_compression = rocksdb::kNoCompression;
  options.max_background_jobs = 2;  // the machine's 2 cores; IncreaseParallelism not called
  options.use_direct_reads = config.direct_io;
  options.use_direct_io_for_flush_and_compaction = config.direct_io;
  options.manual_wal_flush =
      false;  // each commit's WAL record reaches the kernel before it returns

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(config.cache_bytes);
  table.cache_index_and_filter_blocks = true;  // index and filter blocks count against the budget
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // as LevelDB's
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

std::string Settings(const EngineConfig& config, bool txn) {
  std::string s = "cache " + std::to_string(config.cache_bytes >> 20) +
                  " MiB LRU block cache (index and filter blocks in it); compression none; "
                  "10-bit bloom filter; "
                  "WAL on, " +
                  (config.sync ? std::string("fsync per commit")
                               : std::string("written to the kernel per commit, not synced")) +
                  "; direct I/O " + (config.direct_io ? "reads+flush+compaction" : "off") +
                  "; memtable 64 MiB default; max_background_jobs 2; Debian build keeps asserts";
  if (txn) {
    s += "; pessimistic TransactionDB, lock_timeout 1000 ms, deadlock detection on; "
         "SI = set_snapshot + GetForUpdate (Busy on write conflict); "
         "RC = GetForUpdate of the newest after locking";
  } else {
    s += "; no transactions (read-modify-write is Get then Put)";
  }
  return s;
}

// A cursor on a snapshot taken at creation, released when the cursor goes.
class RocksCursor final : public Cursor {
 public:
  explicit RocksCursor(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    iter_.reset(db_->NewIterator(ro));
  }
  ~RocksCursor() override {
    iter_.reset();  // the iterator must go before its snapshot
    db_->ReleaseSnapshot(snapshot_);
  }

  void SeekToFirst() override { iter_->SeekToFirst(); }
  void Seek(std::string_view key) override { iter_->Seek(ToSlice(key)); }
  bool Valid() const override { return iter_->Valid(); }
  void Next() override { iter_->Next(); }
  std::string_view key() const override { return ToView(iter_->key()); }
  std::string_view value() const override { return ToView(iter_->value()); }
  Status status() const override { return FromRocks(iter_->status()); }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
  std::unique_ptr<rocksdb::Iterator> iter_;
};

// The plain DB: every method is a single RocksDB call; the DB is
// thread-safe, so a Worker holds no state of its own.
class RocksWorker final : public Worker {
 public:
  RocksWorker(rocksdb::DB* db, bool sync) : db_(db) { write_options_.sync = sync; }

  Status Put(std::string_view key, std::string_view value) override {
    return FromRocks(db_->Put(write_options_, ToSlice(key), ToSlice(value)));
  }

  Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    rocksdb::WriteBatch batch;
    for (const auto& [k, v] : pairs) {
      MVDB_RETURN_IF_ERROR(FromRocks(batch.Put(k, v)));
    }
    return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch));
  }

  Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    batch_.Clear();
    for (const auto& [k, v] : pairs) {
      MVDB_RETURN_IF_ERROR(FromRocks(batch_.Put(k, v)));
    }
    return FromRocks(db_->Write(write_options_, &batch_));
  }

  Status Get(std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), ToSlice(key), value));
  }

  Result<std::unique_ptr<Cursor>> NewCursor() override {
    return std::unique_ptr<Cursor>(std::make_unique<RocksCursor>(db_));
  }

  Status ReadModifyWrite(std::string_view key, std::string_view value) override {
    std::string old;
    Status s = Get(key, &old);
    if (!s.ok() && !s.IsNotFound()) return s;
    return Put(key, value);
  }

  Status Transfer(std::string_view, std::string_view, int64_t, Isolation) override {
    return Status::NotSupported("rocksdb: the plain DB has no transactions (use rocksdb-txn)");
  }

 private:
  rocksdb::DB* db_;
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteBatch batch_;  // CommitBatch's, reused as its bytes are
};

// The TransactionDB: writes go through a pessimistic transaction that this
// Worker reuses (BeginTransaction with old_txn) so the loop allocates none.
class RocksTxnWorker final : public Worker {
 public:
  RocksTxnWorker(rocksdb::TransactionDB* db, bool sync) : db_(db) {
    write_options_.sync = sync;
    txn_options_.deadlock_detect = true;
    txn_options_.lock_timeout = 1000;
  }
  ~RocksTxnWorker() override { delete txn_; }

  Status Put(std::string_view key, std::string_view value) override {
    rocksdb::Transaction* txn = Begin(write_options_, /*snapshot=*/false);
    rocksdb::Status s = txn->Put(ToSlice(key), ToSlice(value));
    return Finish(txn, s);
  }

  Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    rocksdb::Transaction* txn = Begin(rocksdb::WriteOptions(), /*snapshot=*/false);
    rocksdb::Status s;
    for (const auto& [k, v] : pairs) {
      s = txn->Put(k, v);
      if (!s.ok()) break;
    }
    return Finish(txn, s);
  }

  // One transaction of all the puts, as a TransactionDB user would load.
  Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    rocksdb::Transaction* txn = Begin(write_options_, /*snapshot=*/false);
    rocksdb::Status s;
    for (const auto& [k, v] : pairs) {
      s = txn->Put(k, v);
      if (!s.ok()) break;
    }
    return Finish(txn, s);
  }

  Status Get(std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), ToSlice(key), value));
  }

  Result<std::unique_ptr<Cursor>> NewCursor() override {
    return std::unique_ptr<Cursor>(std::make_unique<RocksCursor>(db_));
  }

  Status ReadModifyWrite(std::string_view key, std::string_view value) override {
    rocksdb::Transaction* txn = Begin(write_options_, /*snapshot=*/false);
    std::string old;
    rocksdb::Status s = txn->GetForUpdate(rocksdb::ReadOptions(), ToSlice(key), &old);
    if (s.ok() || s.IsNotFound()) s = txn->Put(ToSlice(key), ToSlice(value));
    return Finish(txn, s);
  }

  Status Transfer(std::string_view from, std::string_view to, int64_t amount,
                  Isolation isolation) override {
    const bool snapshot = isolation == Isolation::kSnapshot;
    rocksdb::Transaction* txn = Begin(write_options_, snapshot);
    // Under SI the reads see the transaction's snapshot and GetForUpdate
    // fails with Busy when a key changed after it; under RC they see the
    // newest value once the lock is held.
    rocksdb::ReadOptions ro;
    if (snapshot) ro.snapshot = txn->GetSnapshot();
    std::string from_value;
    std::string to_value;
    rocksdb::Status s = txn->GetForUpdate(ro, ToSlice(from), &from_value);
    if (s.ok()) s = txn->GetForUpdate(ro, ToSlice(to), &to_value);
    if (s.ok()) {
      EncodeBalance(DecodeBalance(from_value) - amount, &from_value);
      EncodeBalance(DecodeBalance(to_value) + amount, &to_value);
      s = txn->Put(ToSlice(from), from_value);
    }
    if (s.ok()) s = txn->Put(ToSlice(to), to_value);
    return Finish(txn, s);
  }

 private:
  rocksdb::Transaction* Begin(const rocksdb::WriteOptions& wo, bool snapshot) {
    txn_options_.set_snapshot = snapshot;
    txn_ = db_->BeginTransaction(wo, txn_options_, txn_);
    return txn_;
  }

  // Commits when every step succeeded; otherwise (or when the commit
  // fails) rolls back so the reused transaction holds no locks.
  Status Finish(rocksdb::Transaction* txn, rocksdb::Status s) {
    if (s.ok()) s = txn->Commit();
    if (!s.ok()) txn->Rollback().PermitUncheckedError();
    return FromRocks(s);
  }

  rocksdb::TransactionDB* db_;
  rocksdb::WriteOptions write_options_;
  rocksdb::TransactionOptions txn_options_;
  rocksdb::Transaction* txn_ = nullptr;
};

class RocksAdapter final : public EngineAdapter {
 public:
  RocksAdapter(const EngineConfig& config, rocksdb::DB* db, rocksdb::TransactionDB* txn_db)
      : config_(config), db_(db), txn_db_(txn_db) {}
  ~RocksAdapter() override { static_cast<void>(Close()); }

  std::string name() const override { return txn_db_ ? "rocksdb-txn" : "rocksdb"; }
  std::string version() const override { return RocksVersion(); }
  std::string settings() const override { return Settings(config_, txn_db_ != nullptr); }
  bool has_transactions() const override { return txn_db_ != nullptr; }

  Result<std::unique_ptr<Worker>> NewWorker() override {
    if (db_ == nullptr) return Status::InvalidArgument("rocksdb: closed");
    if (txn_db_)
      return std::unique_ptr<Worker>(std::make_unique<RocksTxnWorker>(txn_db_, config_.sync));
    return std::unique_ptr<Worker>(std::make_unique<RocksWorker>(db_, config_.sync));
  }

  // Polls RocksDB's own counters every 100 ms until no flush or compaction
  // is running or pending (7.8 has no WaitForCompact); gives up after
  // kSettleSeconds with Busy rather than hang a run.
  Status WaitForBackgroundWork() override {
    if (db_ == nullptr) return Status::InvalidArgument("rocksdb: closed");
    constexpr int kSettleSeconds = 120;
    for (int poll = 0; poll < kSettleSeconds * 10; ++poll) {
      uint64_t busy = 0;
      for (const char* property :
           {"rocksdb.mem-table-flush-pending", "rocksdb.compaction-pending",
            "rocksdb.num-running-flushes", "rocksdb.num-running-compactions"}) {
        uint64_t value = 0;
        if (!db_->GetIntProperty(property, &value)) {
          return Status::IOError(std::string("rocksdb: no property ") + property);
        }
        busy += value;
      }
      if (busy == 0) return Status::OK();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::Busy("rocksdb: compactions still running after " +
                        std::to_string(kSettleSeconds) + " s");
  }

  Status Close() override {
    if (db_ == nullptr) return Status::OK();
    Status s = FromRocks(db_->Close());
    delete db_;  // a TransactionDB is a DB; txn_db_ points at the same object
    db_ = nullptr;
    txn_db_ = nullptr;
    return s;
  }

 private:
  EngineConfig config_;
  rocksdb::DB* db_;
  rocksdb::TransactionDB* txn_db_;
};

}  // namespace

Result<std::unique_ptr<EngineAdapter>> OpenRocksDb(const EngineConfig& config) {
  rocksdb::DB* db = nullptr;
  MVDB_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(MakeOptions(config), config.dir, &db)));
  return std::unique_ptr<EngineAdapter>(std::make_unique<RocksAdapter>(config, db, nullptr));
}

Result<std::unique_ptr<EngineAdapter>> OpenRocksDbTxn(const EngineConfig& config) {
  rocksdb::TransactionDB* db = nullptr;
  rocksdb::TransactionDBOptions txn_db_options;  // defaults: 1000 ms lock timeout
  MVDB_RETURN_IF_ERROR(FromRocks(
      rocksdb::TransactionDB::Open(MakeOptions(config), txn_db_options, config.dir, &db)));
  return std::unique_ptr<EngineAdapter>(std::make_unique<RocksAdapter>(config, db, db));
}

}  // namespace mvdb::bench
