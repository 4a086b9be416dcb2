// The state behind the public Database, Transaction and Iterator
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

// One table: its id (never reused in a process: versions and row locks
// are named by it) and its tree.
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

struct Table {
  TableId id = 0;
  std::string name;
  BTree* tree = nullptr;
  std::atomic<int> iterators{0};  // open iterators; DropTable refuses while > 0

  TableRef ref() const { return TableRef{id, tree, &name}; }
};

// One operation of a write batch (db/write_batch.cc), as views into its
// bytes.
struct BatchOpRef {
  bool is_delete = false;
  std::string_view key, value;
  size_t table_index = 0;  // into the batch's distinct table names
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
  // iterator state, so it may outlive the database.
  std::mutex live_mu;
  LiveList<Transaction::Impl> open;  // guarded by live_mu

  // The catalog. A transaction's operation on a table first takes the
  // table's lock (txn/lock_manager.h, by name, held to the transaction's
  // end), then finds the table under catalog_mu held shared, and works on
  // the tree without the catalog mutex. DropTable takes the table's lock in
  // kAccessExclusive mode, so it waits (in the lock manager, with deadlock
  // detection and the lock timeout) until no other transaction holds the
  // table, and no operation of another transaction can be using the tree
  // when it drops it. catalog_mu itself is held only briefly, and never
  // while waiting for a lock: by CreateTable and the drop exclusively, by
  // lookups, commits (to name their tables), Database::Get (for its read)
  // and the collector (for a pass) shared.
  mutable std::shared_timed_mutex catalog_mu;
  std::map<std::string, std::unique_ptr<Table>, std::less<>> tables;
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

  // Locks table `name` in `mode` for txn, then finds it: NotFound (and the
  // lock given back if it was new) when there is no such table.
  Result<Table*> LockAndFind(Txn* txn, std::string_view name, TableLockMode mode);
  // Database::Write's work: `ops` in one read-committed transaction of its
  // own; `tables` are the distinct table names they refer to by index.
  // Reorders `ops` (into key order).
  Status WriteOps(std::span<BatchOpRef> ops, std::span<const std::string_view> tables,
                  const CommitOptions& options);
  // Drops table `name`. REQUIRES: the caller's transaction holds its
  // kAccessExclusive lock.
  Status DropLocked(std::string_view name);

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
  // Rolls back every open transaction and ends its iterators (the
  // destructor's work when Close would be Busy): their later calls answer
  // Aborted, naming the database.
  void EndAll();
  // Database::Close's work; Busy while a transaction is open.
  Status Close();
};

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

  // After txn's Commit or Rollback (or a failure that ended it): ends the
  // iterators, keeps the final state, frees the Txn and leaves `open`.
  void AfterEnd();
  // Ends every iterator with `why` (their TxnIterators go while the Txn
  // still exists: their destructors release snapshots through it).
  void EndIterators(const Status& why);
};

struct Iterator::Impl {
  Database::Impl* db = nullptr;
  Transaction::Impl* owner = nullptr;  // null once ended (or never opened)
  Table* table = nullptr;              // null when it == null
  std::unique_ptr<TxnIterator> it;
  Status missing;  // status() while it is null: a missing table, or why it ended
  Iterator::Impl* live_prev = nullptr;  // Transaction::Impl::iterators
  Iterator::Impl* live_next = nullptr;
  bool live_linked = false;

  // Drops the iterator state (while its Txn exists) and answers `why`
  // from now on.
  void End(const Status& why);
};

}  // namespace mvdb
