// The SQL catalog: the schema of every SQL table, kept in memory for the
// executor and persisted as one row per table in the reserved mvdb table
// `__catalog` (sql/README.md, "The catalog"), written through transactions
// like any row, so DDL is crash-safe by the same log.
//
// A schema is immutable once published: DDL builds a new TableSchema and
// swaps it in, and a statement keeps the shared_ptr it started with. Rows
// carry the schema version they were written under (sql/row_codec.h); since
// the only schema change is ADD COLUMN, a row of an older version reads NULL
// for the columns it lacks.
//
// Threading: every method may be called from any thread. DDL that checks and
// then changes the catalog holds ddl_mutex() across both. A statement reads
// a table's schema only once it holds the table's lock (executor.cc), and
// DDL changes a schema only under a lock that conflicts with the users it
// matters to, so no statement works with a schema from before a change.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/db.h"
#include "sql/key_codec.h"
#include "sql/value.h"

namespace mvdb::sql {

// The mvdb table holding the catalog rows; SQL may not use the name.
inline constexpr char kCatalogTable[] = "__catalog";

struct ColumnSchema {
  std::string name;
  TypeId type = TypeId::kInt;
  int32_t max_length = -1;  // varchar(n): n; -1 when unbounded
  bool not_null = false;
};

// A secondary index (sql/README.md, "Tables on the key-value API"): the
// mvdb table IndexTableName(name) holds one entry per row version, key =
// the indexed columns then the row's stored key; a unique index also holds,
// under the key of the indexed values alone, a claim whose value is the
// stored key of the row that has them (sql/index.h).
struct IndexSchema {
  std::string name;          // unique among tables and indexes, as PostgreSQL's relations
  std::vector<int> columns;  // indices into the table's columns, in key order
  bool unique = false;
  // False while CREATE INDEX builds it: writers keep it, the planner does
  // not use it yet. Never persisted false.
  bool ready = true;
};

// The mvdb table of an index. The "__" prefix is reserved, so no SQL table
// can take the name, and index names are unique in the database.
inline std::string IndexTableName(std::string_view index) {
  return "__index/" + std::string(index);
}

struct TableSchema {
  std::string name;
  std::vector<ColumnSchema> columns;
  // Indices into `columns`, in key order. Empty: the table has no primary
  // key and its rows are keyed by a hidden 64-bit row id.
  std::vector<int> primary_key;
  uint32_t schema_version = 1;
  // The next hidden row id (tables without a primary key). Not persisted:
  // seeded at open from the largest key in the table, and shared by every
  // version of the schema.
  std::shared_ptr<std::atomic<int64_t>> next_row_id = std::make_shared<std::atomic<int64_t>>(1);
  std::vector<IndexSchema> indexes;  // in creation order

  bool has_primary_key() const { return !primary_key.empty(); }
  // The column's index, or -1.
  int ColumnIndex(std::string_view column) const;
  std::vector<TypeId> ColumnTypes() const;
  // The key codec's columns of the stored key (the hidden row id: one int).
  std::vector<KeyColumn> KeyColumns() const;
  // PostgreSQL's name of the primary key constraint: "<table>_pkey".
  std::string PrimaryKeyName() const { return name + "_pkey"; }
  // The index named `index`, or null.
  const IndexSchema* FindIndex(std::string_view index) const;
};

// The bytes of a catalog row, and back (Corruption when malformed).
std::string EncodeTableSchema(const TableSchema& schema);
Result<TableSchema> DecodeTableSchema(std::string_view bytes);

class Catalog {
 public:
  // Reads `__catalog` (creating it in a new database), drops the mvdb
  // tables a crash left without a catalog row and the rows whose table is
  // gone, and seeds the hidden row id counters.
  static Result<std::unique_ptr<Catalog>> Load(Database* db);

  // The table's current schema, or null.
  std::shared_ptr<const TableSchema> Find(std::string_view table) const;
  // Every table, by name.
  std::vector<std::shared_ptr<const TableSchema>> List() const;

  // Writes the schema's catalog row in its own transaction, then publishes
  // it (a new table or a new version of one). REQUIRES: ddl_mutex() held.
  Status Store(const TableSchema& schema);
  // Writes the schema's catalog row in `txn` (published by Publish once
  // the transaction has committed).
  static Status StoreIn(Transaction& txn, const TableSchema& schema);
  // Publishes a schema in memory only (an index being built, or its
  // removal after a failed build). REQUIRES: ddl_mutex() held.
  void Publish(const TableSchema& schema);
  // Deletes the table's catalog row and forgets it. REQUIRES: ddl_mutex().
  Status Remove(std::string_view table);

  // The table holding index `index`, or null.
  std::shared_ptr<const TableSchema> FindIndexTable(std::string_view index) const;
  // True when a table or an index has the name (one namespace, as
  // PostgreSQL's relations).
  bool RelationExists(std::string_view name) const;

  // Held by DDL from its checks to its changes; never across a lock wait
  // (a DDL statement takes its table lock first: executor.cc).
  std::mutex& ddl_mutex() { return ddl_mutex_; }

 private:
  explicit Catalog(Database* db) : db_(db) {}

  Database* db_;
  std::mutex ddl_mutex_;
  mutable std::shared_mutex mu_;  // guards tables_
  std::map<std::string, std::shared_ptr<const TableSchema>, std::less<>> tables_;
};

// The largest hidden row id stored in `table` (0 when empty), for seeding.
Result<int64_t> MaxRowId(Database* db, std::string_view table);

}  // namespace mvdb::sql
