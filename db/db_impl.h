// The state behind the public Database, Transaction, Snapshot and Iterator
// (include/mvdb/db.h): the storage engine, the transaction manager, and the
// catalog of tables. Internal to db/.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>

#include "db/internal_options.h"
#include "engine/engine.h"
#include "mvdb/db.h"
#include "txn/transaction.h"

namespace mvdb {

// An intrusive list of live objects (each has `live_prev`, `live_next` and
// `live_linked`): registering a transaction or an iterator allocates
// nothing, which keeps a short read cheap.
template <class T>
struct LiveList {
  T* head = nullptr;
  size_t size = 0;

  void Insert(T* item) {
    item->live_prev = nullptr;
    item->live_next = head;
    if (head != nullptr) head->live_prev = item;
    head = item;
    item->live_linked = true;
    ++size;
  }
  // Does nothing for an item that is not in the list.
  void Erase(T* item) {
    if (!item->live_linked) return;
    if (item->live_prev != nullptr) item->live_prev->live_next = item->live_next;
    if (item->live_next != nullptr) item->live_next->live_prev = item->live_prev;
    if (head == item) head = item->live_next;
    item->live_prev = item->live_next = nullptr;
    item->live_linked = false;
    --size;
  }
  bool empty() const { return size == 0; }
  // Unlinks every item, calling fn(item) on each first.
  template <class Fn>
  void Drain(Fn fn) {
    while (head != nullptr) {
      T* item = head;
      fn(item);
      Erase(item);
    }
  }
};

// One table: its id (never reused in a process: versions and row locks
// are named by it) and its tree. Shared by the catalog and the handles
// (TableHandle's hidden state is the Table itself), so it outlives its
// drop and its database while a handle holds it; `tree` is used only while
// the table is kept from being dropped (below) and not `dropped`.
struct TableHandle::State {
  uint64_t database = 0;  // Database::Impl::instance of the database that opened it
  TableId id = 0;
  std::string name;
  BTree* tree = nullptr;          // freed by the drop (or Close): never used once dropped
  std::atomic<int> iterators{0};  // open iterators; DropTable refuses while > 0
  // Set by the drop, never cleared (a new table of the same name is a new
  // Table). Read by a transaction after it took the table's lock (the drop
  // sets it holding kAccessExclusive, so the lock orders the two), and by
  // Database::Get under use_mu.
  std::atomic<bool> dropped{false};
  // Held shared by a read without a transaction through a handle
  // (Database::Impl::WithTable), exclusively by the drop while it frees
  // the tree: such a read has no table lock to keep the drop out.
  std::shared_mutex use_mu;

  TableRef ref() const { return TableRef{id, tree, &name}; }
};

// Reaches a TableHandle's state (the handle's friend, internal to db/).
struct TableHandleAccess {
  using State = TableHandle::State;
  static State* Get(const TableHandle& handle) { return handle.state_.get(); }
  static TableHandle Make(std::shared_ptr<State> table) {
    TableHandle handle;
    handle.state_ = std::move(table);
    return handle;
  }
};
using Table = TableHandleAccess::State;

// A table as a call names it: by name (found in the catalog under
// catalog_mu) or by a handle (its Table, used as it is). Every public call
// that takes a table has an overload for each and builds a TableArg from
// either; from then on the two share one path, Database::Impl::Resolve
// (in a transaction) or WithTable (without one). A new call taking a table
// (a Snapshot's Get, say) gets its handle overload with one
// line: pass TableArg(handle) where it passes TableArg(name).
struct TableArg {
  TableArg(std::string_view table_name)  // NOLINT(google-explicit-constructor)
      : name(table_name) {}
  explicit TableArg(const TableHandle& handle)
      : name(handle.name()), table(TableHandleAccess::Get(handle)), by_handle(true) {}

  std::string_view name;
  Table* table = nullptr;  // the handle's (null: a default handle)
  bool by_handle = false;
};

// One operation of a write batch (db/write_batch.cc), as views into its
// bytes.
struct BatchOpRef {
  bool is_delete = false;
  std::string_view key, value;
  size_t table_index = 0;  // into the batch's distinct tables (handles, then names)
};

struct Database::Impl final : Catalog {
  std::string dir;
  Options options;
  InternalOptions internal;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TxnManager> txns;
  // Set by Close under live_mu. Begin reads it there (so no transaction
  // registers after Close decided); Run checks it first, so it may race
  // with Close (db.h, Threading); the other calls must not, and read it as
  // a plain flag.
  std::atomic<bool> closed{false};

  // Liveness, so that misuse is a Status (db.h, "Lifetimes"): every
  // Transaction whose transaction has not ended (active or failed) is in
  // `open` from Begin to its Commit, Rollback or destruction; its open
  // iterators are in its own set. Close refuses with Busy while `open` is
  // not empty; the destructor ends each one (EndAll), detaching it from
  // this Impl so that its later calls answer Aborted instead of reaching
  // freed memory. A transaction that has ended holds no Txn and no
  // iterator state, so it may outlive the database. Snapshots
  // (GetSnapshot) are in `snapshots` from GetSnapshot until their last
  // copy (or iterator) goes; they too make Close Busy, and the destructor
  // detaches them (their registration given back, their iterators ended).
  std::mutex live_mu;
  LiveList<Transaction::Impl> open;    // guarded by live_mu
  LiveList<Snapshot::Impl> snapshots;  // guarded by live_mu

  // Which Database a handle belongs to: unique in the process (a reopened
  // directory, or a new Database at a freed one's address, gets another).
  const uint64_t instance = NextInstance();

  // The catalog. A transaction's operation on a table first takes the
  // table's lock (txn/lock_manager.h, by name, held to the transaction's
  // end), then finds the table under catalog_mu held shared (by name) or
  // checks that its handle's table was not dropped (no catalog mutex), and
  // works on the tree without the catalog mutex. DropTable takes the
  // table's lock in kAccessExclusive mode, so it waits (in the lock
  // manager, with deadlock detection and the lock timeout) until no other
  // transaction holds the table, and no operation of another transaction
  // can be using the tree when it drops it. catalog_mu itself is held only
  // briefly, and never while waiting for a lock: by CreateTable and the
  // drop exclusively, by lookups, commits (to name their tables),
  // Database::Get by name (for its read) and the collector (for a pass)
  // shared. Database::Get through a handle holds the table's use_mu
  // instead, which the drop takes after catalog_mu.
  mutable std::shared_timed_mutex catalog_mu;
  std::map<std::string, std::shared_ptr<Table>, std::less<>> tables;
  std::unordered_map<TableId, Table*> tables_by_id;
  TableId next_table_id = 1;

  // The background collector.
  std::mutex gc_mu;
  std::condition_variable gc_cv;
  bool gc_stopping = false;
  std::thread gc_thread;

  // The error of every operation naming a table that does not exist.
  static Status NoTable(std::string_view name) {
    return Status::NotFound("no table '" + std::string(name) + "'");
  }

  // NotFound for a handle whose table was dropped.
  static Status Dropped(std::string_view name) {
    return Status::NotFound("table '" + std::string(name) + "' was dropped");
  }
  static uint64_t NextInstance();

  // The one path from a table as a call names it to the Table, for a call
  // in transaction txn: locks the table in `mode` for txn (by name, held to
  // txn's end; a mode txn holds already costs a look at its own list,
  // Txn::LockTable), then finds it — by name under catalog_mu shared, or,
  // for a handle, by checking that its table was not dropped (no catalog
  // mutex, no lookup). NotFound (and the lock given back if it was new)
  // when there is no such table or the handle's was dropped;
  // InvalidArgument for a default handle or another database's (Check),
  // before any lock. Lock waits fail as LockTable's. The Table stays
  // usable until txn ends: the lock keeps the drop out.
  Result<Table*> Resolve(Txn* txn, const TableArg& table, TableLockMode mode);
  // Resolve by name (its name before handles).
  Result<Table*> LockAndFind(Txn* txn, std::string_view name, TableLockMode mode) {
    return Resolve(txn, TableArg(name), mode);
  }
  // For a call without a transaction (Database::Get, DescribeTable): runs
  // fn(Table&) with the table kept from being dropped meanwhile — by name
  // under catalog_mu shared, for a handle under its Table::use_mu shared
  // (after Check) — and returns what fn returns; NotFound as Resolve. fn
  // must not wait for a lock of the lock manager or another transaction;
  // it may take the engine's mutexes (DescribeTable's check takes
  // commit_mu), which the drop takes only after both of these.
  template <class Fn>
  Status WithTable(const TableArg& table, Fn&& fn);
  // Database::Get's work.
  Status GetLatest(const TableArg& table, std::string_view key, std::string* value);
  // InvalidArgument unless a handle's table belongs to this database (a
  // default handle, another database's, this directory's opened by an
  // earlier Database). OK for a name.
  Status Check(const TableArg& table) const;
  // Database::Write's work: `ops` in one read-committed transaction of its
  // own; `tables` are the distinct names and handles (each resolved once:
  // Resolve; a name and a handle of one table are two entries) that the ops
  // refer to by index. Reorders `ops` (into key order).
  Status WriteOps(std::span<BatchOpRef> ops, std::span<const TableArg> tables,
                  const CommitOptions& options);
  // Database::Put's (value) and Delete's (null) work: a batch of one.
  Status WriteOne(const TableArg& table, std::string_view key, const std::string_view* value,
                  const CommitOptions& options);
  // Database::DescribeTable's and ListVersions's work.
  Result<TableInfo> Describe(const TableArg& table);
  Result<std::vector<VersionInfo>> Versions(const TableArg& table, std::string_view key);
  // Drops `table`. REQUIRES: the caller's transaction holds its
  // kAccessExclusive lock, and it is not dropped.
  Status DropLocked(Table* table);

  // Catalog, for the transaction manager.
  std::optional<TableRef> Find(TableId id) const override;
  void LockShared() override { catalog_mu.lock_shared(); }
  bool TryLockShared() override { return catalog_mu.try_lock_shared(); }
  void UnlockShared() override { catalog_mu.unlock_shared(); }

  // Opens the engine and the catalog (Database::Open's work).
  Status Open();
  // The table named `name`, or null. REQUIRES: catalog_mu held.
  Table* Find(std::string_view name) const;
  // REQUIRES: catalog_mu held exclusively (or during Open).
  void AddTable(const std::string& name, BTree* tree);
  void GcLoop();
  void StopGc();
  // Rolls back every open transaction and ends its iterators, and
  // detaches every snapshot (the destructor's work when Close would be
  // Busy): their later calls answer Aborted, naming the database.
  void EndAll();
  // Database::Close's work; Busy while a transaction or a snapshot is open.
  Status Close();
};

template <class Fn>
Status Database::Impl::WithTable(const TableArg& table, Fn&& fn) {
  if (!table.by_handle) {
    std::shared_lock catalog(catalog_mu);
    Table* found = Find(table.name);
    if (found == nullptr) return NoTable(table.name);
    return fn(*found);
  }
  MVDB_RETURN_IF_ERROR(Check(table));
  std::shared_lock use(table.table->use_mu);
  if (table.table->dropped.load(std::memory_order_acquire)) return Dropped(table.name);
  return fn(*table.table);
}

struct Transaction::Impl {
  // Null once detached: the transaction was begun on a closed database or
  // rolled back by the database's destruction (`ended` then says which).
  Database::Impl* db = nullptr;
  // Null once the transaction has ended (committed or rolled back): its
  // iterators are ended with it and the Txn goes, so nothing of it depends
  // on the database any more. What the accessors answer then is kept here.
  std::unique_ptr<Txn> txn;
  uint64_t id = 0;
  IsolationLevel isolation = IsolationLevel::kSnapshot;
  bool read_only = false;
  TransactionState final_state = TransactionState::kRolledBack;
  Status ended;                            // what a call answers once txn is null
  Transaction::Impl* live_prev = nullptr;  // Database::Impl::open
  Transaction::Impl* live_next = nullptr;
  bool live_linked = false;
  // Its iterators still holding a TxnIterator (Iterator::Impl::owner is
  // this): ended when the transaction ends. One thread at a time uses a
  // transaction and its iterators (db.h), so no mutex.
  LiveList<Iterator::Impl> iterators;

  // The public calls that take a table, by name or handle (TableArg).
  // REQUIRES: txn (not ended). Write is Put (value) or Delete (null).
  Status Get(const TableArg& table, std::string_view key, std::string* value);
  Status GetForUpdate(const TableArg& table, std::string_view key, std::string* value,
                      const Iterator* read_by);
  Status Write(const TableArg& table, std::string_view key, const std::string_view* value);
  Status DropTable(const TableArg& table);
  // Also on an ended transaction: an iterator answering `ended`.
  std::unique_ptr<Iterator> NewIterator(const TableArg& table, const IteratorOptions& options);

  // After txn's Commit or Rollback (or a failure that ended it): ends the
  // iterators, keeps the final state, frees the Txn and leaves `open`.
  void AfterEnd();
  // Ends every iterator with `why` (their TxnIterators go while the Txn
  // still exists: their destructors release snapshots through it).
  void EndIterators(const Status& why);
};

// A shared snapshot (Database::GetSnapshot): a timestamp registered in the
// timeline, read by any number of threads at once. Every public Snapshot
// copy and every iterator over it holds it (shared_ptr); the last one to
// go gives the registration back and leaves Database::Impl::snapshots.
// What a read touches is fixed once made (db, ts, owner.ts) or atomic
// (owner.too_old), so reads take no mutex of the snapshot's; `mu` guards
// only the list of its iterators, which threads open and close at once.
struct Snapshot::Impl {
  // Null once detached by the database's destruction (`ended` then says so).
  Database::Impl* db = nullptr;
  uint64_t id = 0;
  Timestamp ts = 0;
  // The registration: counted by the watermark while registered; flagged
  // too_old (and unregistered) when the memory bound reclaims it.
  SnapshotOwner owner;
  Status ended;                         // what a call answers once db is null
  Snapshot::Impl* live_prev = nullptr;  // Database::Impl::snapshots
  Snapshot::Impl* live_next = nullptr;
  bool live_linked = false;
  std::mutex mu;
  LiveList<Iterator::Impl> iterators;  // guarded by mu: those holding a TxnIterator

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Unregisters and leaves the database's list (unless detached).
  ~Impl();
  // SnapshotTooOld once the memory bound reclaimed it, else OK.
  Status CheckReadable() const;
  // The destructor of the database's work (REQUIRES: live_mu held): ends
  // the iterators, unregisters, answers `why` from now on.
  void Detach(const Status& why);
  // Snapshot::Get's and NewIterator's work, by name or handle (TableArg).
  Status Get(const TableArg& table, std::string_view key, std::string* value) const;
  static std::unique_ptr<Iterator> NewIterator(const std::shared_ptr<Impl>& self,
                                               const TableArg& table,
                                               const IteratorOptions& options);
};

struct Iterator::Impl {
  Database::Impl* db = nullptr;
  Transaction::Impl* owner = nullptr;  // null once ended (or never opened)
  // The snapshot an iterator of Snapshot::NewIterator reads, kept alive
  // as long as the iterator (it is in the snapshot's `iterators` while
  // it holds a TxnIterator). Null for a transaction's iterator.
  std::shared_ptr<Snapshot::Impl> snapshot;
  Table* table = nullptr;  // null when it == null
  std::unique_ptr<TxnIterator> it;
  Status missing;  // status() while it is null: a missing table, or why it ended
  Iterator::Impl* live_prev = nullptr;  // Transaction::Impl or Snapshot::Impl::iterators
  Iterator::Impl* live_next = nullptr;
  bool live_linked = false;

  // Drops the iterator state (while its Txn exists) and answers `why`
  // from now on.
  void End(const Status& why);
};

}  // namespace mvdb
