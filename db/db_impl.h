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

  TableRef ref() const { return TableRef{id, tree, &name}; }
};

struct Database::Impl {
  std::string dir;
  Options options;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TxnManager> txns;
  bool closed = false;

  // The catalog. Every operation on a table holds catalog_mu shared while
  // it uses the table's tree (lock waits included); CreateTable and
  // DropTable hold it exclusively, waiting at most kCatalogWait for running
  // operations before answering Busy, so a DDL call can never join a cycle
  // of waits that the lock manager cannot see.
  mutable std::shared_timed_mutex catalog_mu;
  std::map<std::string, std::unique_ptr<Table>, std::less<>> tables;
  std::unordered_map<TableId, Table*> tables_by_id;
  TableId next_table_id = 1;

  // The background collector.
  std::mutex gc_mu;
  std::condition_variable gc_cv;
  bool gc_stopping = false;
  std::thread gc_thread;

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
