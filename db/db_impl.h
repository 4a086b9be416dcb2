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
#include <string>
#include <thread>
#include <unordered_map>

#include "engine/engine.h"
#include "mvdb/db.h"
#include "txn/transaction.h"

namespace mvdb {

// One table: its id (never reused in a process: versions and row locks
// are named by it) and its tree.
struct Table {
  TableId id = 0;
  std::string name;
  BTree* tree = nullptr;
  std::atomic<int> iterators{0};  // open iterators; DropTable refuses while > 0

  TableRef ref() const { return TableRef{id, tree, &name}; }
};

struct Database::Impl final : Catalog {
  std::string dir;
  Options options;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TxnManager> txns;
  bool closed = false;

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
};

struct Transaction::Impl {
  Database::Impl* db = nullptr;
  std::unique_ptr<Txn> txn;
};

struct Iterator::Impl {
  Database::Impl* db = nullptr;
  Table* table = nullptr;  // null when the table did not exist
  std::unique_ptr<TxnIterator> it;
  Status missing;  // the status of an iterator over a missing table
};

}  // namespace mvdb
