// mvdb behind mvdb-bench's EngineAdapter, through the public API only
// (include/mvdb/), the way an application would use it: one table "kv",
// one transaction per operation.
//
// The choices that matter for a fair comparison:
//  - Blind writes run at read committed: a second writer of a key waits
//    for the first and then writes, as in every peer; at snapshot
//    isolation it would fail with Conflict, which the peers' single-key
//    writes never do. Put is a transaction of one Put (the API's
//    transactional path); the batches (PutBatch, CommitBatch) are a
//    WriteBatch committed by Database::Write, as LevelDB's and RocksDB's
//    adapters use theirs.
//  - Get is Database::Get: the newest committed value, as a one-read
//    read-committed transaction would read it, without making one; no
//    locks, no snapshot kept after it (the peers' Get does the same).
//  - The table is opened once as a TableHandle (as RocksDB's column family
//    handle and LMDB's MDB_dbi are), and every measured call goes through
//    it: no catalog mutex, no lookup by name.
//  - Transfer locks the accounts in the order it is given (from, then to),
//    not in key order: two opposite transfers can deadlock, mvdb detects it
//    at once and the loser's Deadlock comes back as a retryable Conflict,
//    as the other engines' lost conflicts do.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine_adapter.h"
#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"

// The project version (CMakeLists.txt's project()) when the build passes it
// in, as shell/ does.
#ifndef MVDB_VERSION
#define MVDB_VERSION "main"
#endif

namespace mvdb::bench {
namespace {

constexpr std::string_view kTable = "kv";

// A retryable failure (Conflict, Deadlock, LockTimeout, SnapshotTooOld)
// becomes the Conflict the driver retries; anything else is kept.
Status MapRetryable(const Status& status) {
  if (status.ok() || !status.IsRetryable()) return status;
  return Status::Conflict(status.ToString());
}

TransactionOptions BlindWrite() {
  TransactionOptions options;
  options.isolation = IsolationLevel::kReadCommitted;
  return options;
}

// A read-only snapshot transaction and its iterator; the iterator is
// declared last so that it is destroyed first, as mvdb requires.
class MvdbCursor final : public Cursor {
 public:
  MvdbCursor(Database* db, const TableHandle& table) {
    TransactionOptions options;
    options.isolation = IsolationLevel::kSnapshot;
    options.read_only = true;
    txn_ = db->Begin(options);
    iterator_ = txn_->NewIterator(table);
  }

  void SeekToFirst() override { iterator_->SeekToFirst(); }
  void Seek(std::string_view key) override { iterator_->Seek(key); }
  bool Valid() const override { return iterator_->Valid(); }
  void Next() override { iterator_->Next(); }
  std::string_view key() const override { return iterator_->key(); }
  std::string_view value() const override { return iterator_->value(); }
  Status status() const override { return iterator_->status(); }

 private:
  std::unique_ptr<Transaction> txn_;
  std::unique_ptr<Iterator> iterator_;
};

class MvdbWorker final : public Worker {
 public:
  MvdbWorker(Database* db, TableHandle table) : db_(db), table_(std::move(table)) {}

  Status Put(std::string_view key, std::string_view value) override {
    std::unique_ptr<Transaction> txn = db_->Begin(BlindWrite());
    Status status = txn->Put(table_, key, value);
    if (status.ok()) status = txn->Commit();
    return MapRetryable(status);
  }

  Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    // Loading is not what is measured, and durability of the load is
    // irrelevant: hand the batch to the kernel whatever --sync says.
    CommitOptions commit;
    commit.sync = SyncMode::kOff;
    return Write(pairs, commit);
  }

  Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    return Write(pairs, CommitOptions{});
  }

  // Database::Get: the newest committed value, as a one-read read-committed
  // transaction, without making one (what the peers' Get does too).
  Status Get(std::string_view key, std::string* value) override {
    return MapRetryable(db_->Get(table_, key, value));
  }

  Result<std::unique_ptr<Cursor>> NewCursor() override {
    return std::unique_ptr<Cursor>(std::make_unique<MvdbCursor>(db_, table_));
  }

  // A WriteBatch (Database::Write): writes without a read, one commit.
  Status Write(const std::vector<std::pair<std::string, std::string>>& pairs,
               const CommitOptions& commit) {
    batch_.Clear();
    for (const auto& [key, value] : pairs) batch_.Put(kTable, key, value);
    return MapRetryable(db_->Write(batch_, commit));
  }

  Status ReadModifyWrite(std::string_view key, std::string_view value) override {
    TransactionOptions options;
    options.isolation = IsolationLevel::kSnapshot;
    std::unique_ptr<Transaction> txn = db_->Begin(options);
    std::string old;
    Status status = txn->Get(table_, key, &old);
    if (status.ok()) status = txn->Put(table_, key, value);
    if (status.ok()) status = txn->Commit();
    return MapRetryable(status);
  }

  Status Transfer(std::string_view from, std::string_view to, int64_t amount,
                  Isolation isolation) override {
    TransactionOptions options;
    const bool read_committed = isolation == Isolation::kReadCommitted;
    options.isolation = read_committed ? IsolationLevel::kReadCommitted : IsolationLevel::kSnapshot;
    std::unique_ptr<Transaction> txn = db_->Begin(options);
    // At read committed a plain Get would let two transfers read the same
    // balance and lose one update; GetForUpdate locks first. At snapshot
    // isolation first-updater-wins catches that at Put.
    auto read = [&](std::string_view key, std::string* value) {
      return read_committed ? txn->GetForUpdate(table_, key, value) : txn->Get(table_, key, value);
    };
    Status status = MoveBalance(
        from, to, amount, read,
        [&](std::string_view key, std::string_view value) { return txn->Put(table_, key, value); });
    if (status.ok()) status = txn->Commit();
    return MapRetryable(status);
  }

 private:
  Database* db_;
  const TableHandle table_;
  WriteBatch batch_;  // reused, as its bytes are
};

class MvdbAdapter final : public EngineAdapter {
 public:
  MvdbAdapter(std::unique_ptr<Database> db, TableHandle table, const Options& options)
      : db_(std::move(db)), table_(std::move(table)), options_(options) {}
  ~MvdbAdapter() override {
    if (db_ != nullptr) (void)db_->Close();
  }

  std::string name() const override { return "mvdb"; }
  std::string version() const override { return MVDB_VERSION; }
  std::string settings() const override {
    std::string sync = options_.sync == SyncMode::kFull
                           ? "full (group-committed fdatasync)"
                           : "off (kOff: written to the kernel, fsync'ed by checkpoints)";
    return "cache " + std::to_string(options_.cache_mb) +
           " MiB buffer pool, WAL on, sync per commit: " + sync + ", no compression, direct I/O " +
           (options_.direct_io ? std::string("on (data file; the log through the OS)")
                               : std::string("off (the OS page cache backs the buffer pool)")) +
           ", writes at read committed, reads read committed (cursors: snapshot), transfers "
           "at the level asked (read committed with GetForUpdate), one table";
  }
  bool has_transactions() const override { return true; }

  Result<std::unique_ptr<Worker>> NewWorker() override {
    return std::unique_ptr<Worker>(std::make_unique<MvdbWorker>(db_.get(), table_));
  }

  Status Close() override {
    if (db_ == nullptr) return Status::OK();
    Status status = db_->Close();
    db_.reset();
    return status;
  }

 private:
  std::unique_ptr<Database> db_;
  TableHandle table_;
  Options options_;
};

}  // namespace

Result<std::unique_ptr<EngineAdapter>> OpenMvdb(const EngineConfig& config) {
  Options options;
  options.cache_mb = std::max<size_t>(1, config.cache_bytes >> 20);
  options.sync = config.sync ? SyncMode::kFull : SyncMode::kOff;
  options.direct_io = config.direct_io;
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(config.dir, options));
  MVDB_ASSIGN_OR_RETURN(std::vector<std::string> tables, db->ListTables());
  if (std::find(tables.begin(), tables.end(), kTable) == tables.end()) {
    MVDB_RETURN_IF_ERROR(db->CreateTable(kTable));
  }
  MVDB_ASSIGN_OR_RETURN(TableHandle table, db->OpenTable(kTable));
  return std::unique_ptr<EngineAdapter>(
      std::make_unique<MvdbAdapter>(std::move(db), std::move(table), options));
}

}  // namespace mvdb::bench
