// Database: opening a directory as a transactional store, the catalog of
// tables, the background version collector, Run's retries, statistics and
// inspection. The transaction protocol itself is txn/transaction.cc.
#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "btree/btree.h"
#include "btree/tree_store.h"  // StoreCheckReport
#include "buffer/buffer_pool.h"
#include "common/coding.h"
#include "common/logging.h"
#include "db/db_impl.h"

namespace mvdb {

namespace {

// An empty tree that marks a database written through this API: every
// table's entries are versions (mvcc/version_format.md). Not a table.
constexpr char kVersionedMarker[] = "__mvdb_versioned";

Status ClosedError(const std::string& dir) {
  return Status::InvalidArgument("database " + dir + " is closed");
}

}  // namespace

const char* IsolationLevelName(IsolationLevel level) {
  return level == IsolationLevel::kReadCommitted ? "read committed" : "snapshot";
}

const char* TransactionStateName(TransactionState state) {
  switch (state) {
    case TransactionState::kActive:
      return "active";
    case TransactionState::kFailed:
      return "failed";
    case TransactionState::kCommitted:
      return "committed";
    case TransactionState::kRolledBack:
      return "rolled back";
  }
  return "unknown";
}

std::optional<TableRef> Database::Impl::Find(TableId id) const {
  const auto it = tables_by_id.find(id);
  if (it == tables_by_id.end()) return std::nullopt;
  return it->second->ref();
}

Table* Database::Impl::Find(std::string_view name) const {
  const auto it = tables.find(name);
  return it == tables.end() ? nullptr : it->second.get();
}

void Database::Impl::AddTable(const std::string& name, BTree* tree) {
  auto table = std::make_shared<Table>();
  table->database = instance;
  table->id = next_table_id++;
  table->name = name;
  table->tree = tree;
  tables_by_id[table->id] = table.get();
  tables[name] = std::move(table);
}

uint64_t Database::Impl::NextInstance() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

Status Database::Impl::Check(const TableArg& table) const {
  if (!table.by_handle) return Status::OK();
  if (table.table == nullptr) return Status::InvalidArgument("the table handle names no table");
  if (table.table->database != instance) {
    return Status::InvalidArgument("table handle '" + table.table->name +
                                   "' belongs to another database");
  }
  return Status::OK();
}

// ---- table handles ----

TableHandle::TableHandle() = default;
TableHandle::~TableHandle() = default;
TableHandle::TableHandle(const TableHandle&) = default;
TableHandle& TableHandle::operator=(const TableHandle&) = default;
TableHandle::TableHandle(TableHandle&&) noexcept = default;
TableHandle& TableHandle::operator=(TableHandle&&) noexcept = default;

const std::string& TableHandle::name() const {
  static const std::string kNone;
  return state_ == nullptr ? kNone : state_->name;
}

Result<TableHandle> Database::OpenTable(std::string_view name) {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  std::shared_lock catalog(impl.catalog_mu);
  const auto it = impl.tables.find(name);
  if (it == impl.tables.end()) return Impl::NoTable(name);
  return TableHandleAccess::Make(it->second);
}

// ---- open and close ----

Database::Database() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<Database>> Database::Open(const std::string& dir, const Options& options) {
  return DatabaseInternal::Open(dir, options, InternalOptions{});
}

Result<std::unique_ptr<Database>> DatabaseInternal::Open(const std::string& dir,
                                                         const Options& options,
                                                         const InternalOptions& internal) {
  std::unique_ptr<Database> db(new Database());
  Database::Impl& impl = *db->impl_;
  impl.dir = dir;
  impl.options = options;
  impl.internal = internal;
  const Status opened = impl.Open();
  if (!opened.ok()) {
    impl.closed = true;  // nothing for the destructor to close
    if (impl.engine != nullptr) (void)impl.engine->Close();
    return opened;
  }
  impl.gc_thread = std::thread([raw = &impl] { raw->GcLoop(); });
  return db;
}

Status Database::Impl::Open() {
  EngineOptions engine_options;
  engine_options.create_if_missing = options.create_if_missing;
  engine_options.cache_mb = options.cache_mb;
  engine_options.sync = options.sync;
  engine_options.sync_interval = options.sync_interval;
  engine_options.checkpoint_wal_bytes = options.checkpoint_wal_bytes;
  engine_options.checkpoint_interval = options.checkpoint_interval;
  engine_options.wal_segment_bytes = options.wal_segment_bytes;
  engine_options.direct_io = options.direct_io;
  engine_options.fs = internal.file_system;
  engine_options.replay_apply = &TxnManager::ApplyReplayed;
  MVDB_ASSIGN_OR_RETURN(engine, Engine::Open(dir, engine_options));
  MVDB_ASSIGN_OR_RETURN(const std::vector<std::string> names, engine->ListTrees());
  // Trees written by the storage engine alone (the interim demo program)
  // hold plain values, which read as versions would be garbage: refuse them.
  const bool versioned = std::find(names.begin(), names.end(), kVersionedMarker) != names.end();
  if (!versioned && !names.empty()) {
    return Status::InvalidArgument(
        dir +
        " holds trees written without versions (by the storage engine alone, as the "
        "interim mvdb demo program does), which the transactional API cannot read");
  }
  if (!versioned) MVDB_RETURN_IF_ERROR(engine->CreateTree(kVersionedMarker));
  for (const std::string& name : names) {
    if (name == kVersionedMarker) continue;
    MVDB_ASSIGN_OR_RETURN(BTree * tree, engine->OpenTree(name));
    AddTable(name, tree);
  }
  txns = std::make_unique<TxnManager>(engine.get(), options, this,
                                      internal.unsafe_skip_write_conflict_check);
  return Status::OK();
}

Database::~Database() {
  if (impl_ == nullptr || impl_->closed) return;
  impl_->EndAll();  // Close would be Busy while a transaction is open
  const Status status = impl_->Close();
  if (!status.ok()) Log(LogLevel::kError, "closing " + impl_->dir + ": " + status.ToString());
}

void Database::Impl::EndAll() {
  std::lock_guard live(live_mu);
  snapshots.Drain([&](Snapshot::Impl* snapshot) {
    snapshot->Detach(Status::Aborted("database " + dir + " was destroyed with snapshot " +
                                     std::to_string(snapshot->id) + " open"));
  });
  open.Drain([&](Transaction::Impl* txn) {
    const Status why = Status::Aborted("database " + dir + " was destroyed with transaction " +
                                       std::to_string(txn->id) + " open: it was rolled back");
    txn->EndIterators(why);
    txn->txn.reset();  // rolls back
    txn->final_state = TransactionState::kRolledBack;
    txn->ended = why;
    txn->db = nullptr;
  });
}

void Database::Impl::GcLoop() {
  std::unique_lock lock(gc_mu);
  while (!gc_stopping) {
    gc_cv.wait_for(lock, options.gc_interval);
    if (gc_stopping) break;
    lock.unlock();
    {
      const Status collected = txns->Collect(0, /*wait=*/true);
      if (!collected.ok() && engine->health().ok()) {
        Log(LogLevel::kWarning, dir + ": version collection: " + collected.ToString());
      }
    }
    lock.lock();
  }
}

void Database::Impl::StopGc() {
  {
    std::lock_guard lock(gc_mu);
    gc_stopping = true;
  }
  gc_cv.notify_all();
  if (gc_thread.joinable()) gc_thread.join();
}

Status Database::Close() { return impl_->Close(); }

Status Database::Impl::Close() {
  {
    std::lock_guard live(live_mu);
    if (closed) return ClosedError(dir);
    if (!open.empty() || !snapshots.empty()) {
      // Counted from the tables, not the transactions' own sets, which
      // their threads may be changing (db.h, Threading).
      size_t iterators = 0;
      {
        std::shared_lock catalog(catalog_mu);
        for (const auto& [name, table] : tables) iterators += table->iterators.load();
      }
      if (snapshots.empty()) {
        return Status::Busy("database " + dir + " has " + std::to_string(open.size) +
                            " open transaction(s) and " + std::to_string(iterators) +
                            " open iterator(s): commit or roll them back, then close");
      }
      return Status::Busy("database " + dir + " has " + std::to_string(open.size) +
                          " open transaction(s), " + std::to_string(iterators) +
                          " open iterator(s) and " + std::to_string(snapshots.size) +
                          " open snapshot(s): end them (a snapshot ends when its last copy and "
                          "iterator are destroyed), then close");
    }
    closed = true;  // Begin answers a closed transaction from now on
  }
  StopGc();
  txns.reset();
  const Status status = engine->Close();
  tables.clear();
  tables_by_id.clear();
  return status;
}

Status Database::health() const {
  if (impl_->closed) return ClosedError(impl_->dir);
  return impl_->engine->health();
}

// ---- tables ----

Status Database::CreateTable(std::string_view name) {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  // catalog_mu is never held while waiting for a lock (db_impl.h).
  std::unique_lock catalog(impl.catalog_mu);
  if (impl.Find(name) != nullptr) {
    return Status::InvalidArgument("table '" + std::string(name) + "' exists already");
  }
  if (name == kVersionedMarker) {
    return Status::InvalidArgument("'" + std::string(name) + "' is reserved");
  }
  MVDB_RETURN_IF_ERROR(impl.engine->CreateTree(name));
  MVDB_ASSIGN_OR_RETURN(BTree * tree, impl.engine->OpenTree(name));
  impl.AddTable(std::string(name), tree);
  return Status::OK();
}

namespace {

// Database::DropTable's work: a transaction of its own, whose
// kAccessExclusive lock waits for every transaction holding the table
// (Transaction::DropTable).
template <class TableName>
Status DropInOwnTransaction(Database& db, const TableName& table) {
  std::unique_ptr<Transaction> txn = db.Begin();
  const Status dropped = txn->DropTable(table);
  if (!dropped.ok()) {
    (void)txn->Rollback();
    return dropped;
  }
  return txn->Commit();  // writes nothing: only releases the lock
}

}  // namespace

Status Database::DropTable(std::string_view name) {
  if (impl_->closed) return ClosedError(impl_->dir);
  return DropInOwnTransaction(*this, name);
}

Status Database::DropTable(const TableHandle& table) {
  if (impl_->closed) return ClosedError(impl_->dir);
  return DropInOwnTransaction(*this, table);
}

Status Database::Impl::DropLocked(Table* table) {
  std::unique_lock catalog(catalog_mu);  // held briefly by all others (db_impl.h)
  // Waits for the reads through a handle without a transaction (WithTable),
  // which hold no table lock; later ones find it dropped. The iterator
  // count is read holding both: a snapshot's iterator is counted under the
  // catalog (by name) or use_mu (by handle), shared.
  std::unique_lock use(table->use_mu);
  if (const int open = table->iterators.load(); open > 0) {
    return Status::Busy("table '" + table->name + "' has " + std::to_string(open) +
                        " open iterator(s)");
  }
  MVDB_RETURN_IF_ERROR(engine->DropTree(table->name));
  table->dropped.store(true, std::memory_order_release);
  use.unlock();
  txns->DropTable(table->id);
  tables_by_id.erase(table->id);
  tables.erase(tables.find(table->name));  // the last use of `table` here: it may go now
  return Status::OK();
}

Result<std::vector<std::string>> Database::ListTables() {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  std::shared_lock catalog(impl.catalog_mu);
  std::vector<std::string> names;
  for (const auto& [name, table] : impl.tables) names.push_back(name);
  return names;
}

// ---- transactions ----

std::unique_ptr<Transaction> Database::Begin(const TransactionOptions& options) {
  auto txn = std::make_unique<Transaction::Impl>();
  TransactionOptions resolved = options;
  if (options.snapshot != nullptr && !options.isolation.has_value()) {
    resolved.isolation = IsolationLevel::kSnapshot;  // options.h: whatever the default
  }
  txn->isolation = resolved.isolation.value_or(impl_->options.default_isolation);
  txn->read_only = options.read_only;
  Snapshot::Impl* at = options.snapshot == nullptr ? nullptr : options.snapshot->impl_.get();
  std::lock_guard live(impl_->live_mu);
  if (impl_->closed) {
    // Born ended: every call answers that the database is closed.
    txn->ended = ClosedError(impl_->dir);
  } else if (options.snapshot != nullptr && at == nullptr) {
    txn->ended = Status::InvalidArgument("TransactionOptions::snapshot is empty (moved from)");
  } else if (at != nullptr && at->db != impl_.get()) {
    txn->ended =
        Status::InvalidArgument("TransactionOptions::snapshot: snapshot " + std::to_string(at->id) +
                                " is not of database " + impl_->dir +
                                (at->db == nullptr ? " (its database was destroyed)" : ""));
  } else if (at != nullptr && txn->isolation != IsolationLevel::kSnapshot) {
    txn->ended = Status::InvalidArgument(
        "TransactionOptions::snapshot needs snapshot isolation, not read committed");
  } else {
    txn->db = impl_.get();
    txn->txn = impl_->txns->Begin(resolved);
    txn->id = txn->txn->id();
    txn->isolation = txn->txn->isolation();
    // Its own claim, beside the snapshot's (which may go first); failed
    // (SnapshotTooOld) if the snapshot was reclaimed.
    if (at != nullptr) (void)txn->txn->StartAt(&at->owner);
    impl_->open.Insert(txn.get());
  }
  return std::unique_ptr<Transaction>(new Transaction(std::move(txn)));
}

Status Database::Impl::GetLatest(const TableArg& table, std::string_view key, std::string* value) {
  if (closed) return ClosedError(dir);
  // No transaction, so no table lock: WithTable keeps the table from being
  // dropped for the one read.
  return WithTable(table, [&](const Table& found) {
    return txns->versions().ReadLatest(found.id, found.tree, key, value);
  });
}

Status Database::Get(std::string_view table, std::string_view key, std::string* value) {
  return impl_->GetLatest(TableArg(table), key, value);
}

Status Database::Get(const TableHandle& table, std::string_view key, std::string* value) {
  return impl_->GetLatest(TableArg(table), key, value);
}

Status Database::Run(const std::function<Status(Transaction&)>& fn, const RunOptions& options) {
  if (impl_->closed) return ClosedError(impl_->dir);
  thread_local std::minstd_rand random(std::random_device{}());
  Status last;
  for (int attempt = 0; attempt < std::max(1, options.max_attempts); ++attempt) {
    if (attempt > 0) {
      const int64_t cap = std::min<int64_t>(
          options.max_backoff.count(), options.initial_backoff.count() << std::min(attempt, 20));
      std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(cap, 0));
      std::this_thread::sleep_for(std::chrono::microseconds(pick(random)));
    }
    std::unique_ptr<Transaction> txn = Begin(options.transaction);
    last = fn(*txn);
    if (last.ok()) last = txn->Commit(options.commit);
    if (last.ok()) return last;
    if (txn->state() == TransactionState::kActive || txn->state() == TransactionState::kFailed) {
      (void)txn->Rollback();
    }
    // A failed transaction answers Aborted to fn's later calls; the cause
    // is what decides.
    if (!last.IsRetryable()) return last;
    // At a shared snapshot every attempt begins at the same one: a
    // Conflict or a reclaim would only come back (options.h).
    if (options.transaction.snapshot != nullptr && (last.IsConflict() || last.IsSnapshotTooOld())) {
      return last;
    }
  }
  return last;
}

// ---- maintenance ----

Status Database::Flush() {
  if (impl_->closed) return ClosedError(impl_->dir);
  return impl_->engine->Checkpoint();
}

Status Database::CollectGarbage() {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  return impl.txns->Collect(0, /*wait=*/true);
}

Status Database::CheckIntegrity(std::string* report) {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  Result<StoreCheckReport> checked = impl.engine->CheckTrees();
  if (!checked.ok()) {
    *report = checked.status().ToString();
    return checked.status();
  }
  *report = std::to_string(checked->trees.size()) + " trees, " +
            std::to_string(checked->page_count) + " pages (" + std::to_string(checked->free_pages) +
            " free): OK";
  return Status::OK();
}

// ---- statistics and inspection ----

DatabaseStats Database::stats() const {
  const Impl& impl = *impl_;
  DatabaseStats s;
  if (impl.closed) return s;
  const TxnManagerStats txn = impl.txns->stats();
  s.commits = txn.commits;
  s.read_only_commits = txn.read_only_commits;
  s.rollbacks = txn.rollbacks;
  s.aborts_conflict = txn.aborts_conflict;
  s.aborts_deadlock = txn.aborts_deadlock;
  s.aborts_lock_timeout = txn.aborts_lock_timeout;
  s.aborts_snapshot_too_old = txn.aborts_snapshot_too_old;
  s.aborts_other = txn.aborts_other;
  s.active_transactions = txn.active;
  {
    std::lock_guard live(impl_->live_mu);
    s.open_snapshots = impl_->snapshots.size;
  }
  s.lock_waits = impl.txns->locks().stats().waits;
  Timeline& timeline = impl.txns->timeline();
  s.visible_ts = timeline.visible();
  s.oldest_snapshot_ts = timeline.Watermark();
  s.oldest_snapshot_age_ms = timeline.oldest_age_ms();
  const VersionStoreStats versions = impl.txns->versions().stats();
  s.old_versions = versions.versions;
  s.old_version_bytes = versions.bytes;
  s.gc_backlog = versions.backlog;
  s.versions_reclaimed = versions.reclaimed;
  s.tombstones_removed = versions.tombstones_removed;
  const BufferPoolStats pool = impl.engine->pool_stats();
  s.cache_hits = pool.hits;
  s.cache_misses = pool.misses;
  const EngineStats engine = impl.engine->stats();
  s.wal_bytes = engine.wal_bytes;
  s.wal_fsyncs = engine.wal_fsyncs;
  s.wal_segments = engine.wal_segments;
  s.wal_next_lsn = impl.engine->next_lsn();
  s.checkpoints = engine.checkpoints;
  s.last_checkpoint_lsn = engine.last_checkpoint_lsn;
  s.io_backend = engine.io_backend;
  return s;
}

std::vector<TransactionInfo> Database::ListTransactions() const {
  if (impl_->closed) return {};
  return impl_->txns->ListTransactions();
}

std::vector<LockInfo> Database::ListLocks() const {
  const Impl& impl = *impl_;
  if (impl.closed) return {};
  std::vector<LockInfo> out;
  std::shared_lock catalog(impl.catalog_mu);
  for (LockManager::LockState& state : impl.txns->locks().Snapshot()) {
    const TableId id = DecodeFixed32(reinterpret_cast<const std::byte*>(state.name.data()));
    const auto table = impl.tables_by_id.find(id);
    LockInfo info;
    info.table = table == impl.tables_by_id.end() ? "(dropped)" : table->second->name;
    info.key = state.name.substr(4);
    info.holder = state.holder;
    info.waiters = std::move(state.waiters);
    out.push_back(std::move(info));
  }
  return out;
}

Result<TableInfo> Database::Impl::Describe(const TableArg& table) {
  if (closed) return ClosedError(dir);
  TreeCheckReport report;
  // The table kept from being dropped while the check runs (WithTable):
  // its tree is the engine's tree of its name meanwhile.
  MVDB_RETURN_IF_ERROR(WithTable(table, [&](const Table& found) -> Status {
    MVDB_ASSIGN_OR_RETURN(report, engine->CheckTree(found.name));
    return Status::OK();
  }));
  TableInfo info;
  info.height = report.height;
  info.leaf_pages = report.leaf_pages;
  info.inner_pages = report.inner_pages;
  info.overflow_pages = report.overflow_pages;
  info.entries = report.entries;
  info.leaf_fill = report.leaf_fill;
  return info;
}

Result<TableInfo> Database::DescribeTable(std::string_view table) {
  return impl_->Describe(TableArg(table));
}

Result<TableInfo> Database::DescribeTable(const TableHandle& table) {
  return impl_->Describe(TableArg(table));
}

Result<std::vector<VersionInfo>> Database::Impl::Versions(const TableArg& table,
                                                          std::string_view key) {
  if (closed) return ClosedError(dir);
  std::vector<VersionInfo> versions;
  MVDB_RETURN_IF_ERROR(WithTable(table, [&](const Table& found) -> Status {
    MVDB_ASSIGN_OR_RETURN(versions, txns->versions().ListVersions(found.id, found.tree, key));
    return Status::OK();
  }));
  return versions;
}

Result<std::vector<VersionInfo>> Database::ListVersions(std::string_view table,
                                                        std::string_view key) {
  return impl_->Versions(TableArg(table), key);
}

Result<std::vector<VersionInfo>> Database::ListVersions(const TableHandle& table,
                                                        std::string_view key) {
  return impl_->Versions(TableArg(table), key);
}

}  // namespace mvdb
