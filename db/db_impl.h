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

// One table: its id (never reused in a process: versions and locks are
// named by it) and its tree.
struct Table {
  TableId id = 0;
  std::string name;
  BTree* tree = nullptr;
  std::atomic<int> iterators{0};  // open iterators; DropTable refuses while > 0
  // Operations using the tree now (lock waits included); DropTable waits
  // for them to finish. Raised only under the catalog mutex.
  std::atomic<int> users{0};

  TableRef ref() const { return TableRef{id, tree, &name}; }
};

struct Database::Impl final : Catalog {
  std::string dir;
  Options options;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TxnManager> txns;
  bool closed = false;

  // The catalog. An operation on a table finds it under catalog_mu held
  // shared and raises its `users` count, then works on the tree without the
  // catalog mutex, so a long lock wait holds up no other table's DDL.
  // CreateTable and DropTable hold catalog_mu exclusively; DropTable waits
  // up to kCatalogWait for the table's users to finish, then answers Busy,
  // so a drop can never join a cycle of waits the lock manager cannot see.
  // Commits hold it shared only to name their tables, the collector for a
  // pass (it maps table ids to trees); neither waits for a row lock.
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

  // A table in use by one operation: found by name and kept from being
  // dropped until destroyed. Empty (false) if there is no such table.
  class TableUse {
   public:
    TableUse(Impl* db, std::string_view name);
    ~TableUse() {
      if (table_ != nullptr) table_->users.fetch_sub(1, std::memory_order_release);
    }
    TableUse(const TableUse&) = delete;
    TableUse& operator=(const TableUse&) = delete;
    explicit operator bool() const { return table_ != nullptr; }
    Table* operator->() const { return table_; }
    Table* get() const { return table_; }

   private:
    Table* table_ = nullptr;
  };

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
