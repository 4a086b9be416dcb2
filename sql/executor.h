// The executor: runs one parsed statement against the catalog and a
// transaction of the embedded API (sql/README.md, "Tables on the key-value
// API" and "Statements at each isolation level").
//
// Rows: a SQL table is the mvdb table of the same name; key = the primary
// key's columns through AppendCompositeKey (ascending), or a hidden int64
// row id; value = EncodeRow(schema version, columns).
//
// Planning is per statement and simple, in this order of preference:
// WHERE's conjuncts that fix every primary key column to a constant give a
// point lookup (an IN list on a one-column key gives several); equality on
// every column of a secondary index an index scan of that prefix (a unique
// index, then the one with most columns, first); comparisons of the first
// key column with constants a primary key range scan; comparisons of an
// index's first column an index range scan; anything else a full scan. The WHERE is always
// evaluated on every row the path yields, so the path only needs to hold
// every matching row.
//
// Writes follow PostgreSQL's READ COMMITTED: UPDATE, DELETE and SELECT ...
// FOR UPDATE find candidate rows with the statement's snapshot, then lock
// each (Transaction::GetForUpdate), which waits for a concurrent writer and
// returns the newest committed version; the WHERE is re-checked on it and
// the row skipped when it no longer matches or is gone (PostgreSQL's
// EvalPlanQual). At REPEATABLE READ the same GetForUpdate fails with
// Conflict for a row changed after the snapshot: 40001.
//
// Threading: an Executor is stateless apart from its pointers; one per
// session, used by that session's thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/db.h"
#include "sql/ast.h"
#include "sql/catalog.h"
#include "sql/expression.h"
#include "sql/session.h"

namespace mvdb::sql {

// The SqlError for a failed call of the embedded API (40001 for Conflict,
// 40P01 Deadlock, 55P03 LockTimeout, 58030 IOError, XX001 Corruption, 42P01
// for a table that vanished, ...). `table` names the table in messages.
SqlError StatusToSqlError(const Status& status, std::string_view table = {});

// True for the statements that change the catalog (run outside any
// transaction block's transaction).
bool IsDdl(const Statement& statement);
// "CREATE TABLE", "DROP INDEX", ... REQUIRES: IsDdl(statement).
std::string DdlName(const Statement& statement);

// How a statement reaches its rows.
struct AccessPath {
  enum class Kind { kFullScan, kPointLookup, kRangeScan, kIndexScan };
  Kind kind = Kind::kFullScan;
  std::vector<std::string> keys;     // kPointLookup: ascending, distinct
  std::optional<std::string> lower;  // kRangeScan, kIndexScan: inclusive
  std::optional<std::string> upper;  // kRangeScan, kIndexScan: exclusive
  std::string index;                 // kIndexScan: the index's name
};

// A row found by a scan: its stored key and its columns.
struct Candidate {
  std::string key;
  std::vector<Value> row;
};

class Executor {
 public:
  Executor(Database* db, Catalog* catalog) : db_(db), catalog_(catalog) {}

  // CREATE/DROP TABLE, CREATE/DROP INDEX, ALTER TABLE. `ddl` is the
  // statement's own transaction (not a block's: DDL is refused inside
  // one): it holds the table lock the statement takes (executor.cc) and
  // shows the statement's lock waits; the caller commits it if it is still
  // active afterwards, which releases the lock. REQUIRES: IsDdl(statement).
  SqlResult<StatementResult> ExecuteDdl(const Statement& statement, Transaction& ddl);
  // INSERT, SELECT, UPDATE, DELETE, EXPLAIN in `txn`, which first locks the
  // statement's table (TableLockMode) and only then reads its schema.
  // REQUIRES: one of those five statements.
  SqlResult<StatementResult> ExecuteDml(const Statement& statement, Transaction& txn);

  // The planner (exposed for EXPLAIN and tests).
  static AccessPath PlanAccess(const TableSchema& schema, std::string_view qualifier,
                               const Expr* where);
  static std::string DescribeAccess(const AccessPath& path, std::string_view table);

 private:
  SqlResult<StatementResult> CreateTableStatement(const CreateTable& create);
  SqlResult<StatementResult> DropTableStatement(const DropTable& drop, Transaction& ddl);
  SqlResult<StatementResult> CreateIndexStatement(const CreateIndex& create, Transaction& ddl);
  SqlResult<StatementResult> DropIndexStatement(const DropIndex& drop, Transaction& ddl);
  SqlResult<StatementResult> AddColumnStatement(const AddColumn& add, Transaction& ddl);

  SqlResult<StatementResult> SelectStatement(const Select& select, Transaction& txn);
  // UNION, INTERSECT, EXCEPT [ALL] (select.cc): both sides' rows, combined,
  // then the whole's ORDER BY, OFFSET and LIMIT.
  SqlResult<StatementResult> SetOperationStatement(const Select& select, Transaction& txn);
  SqlResult<StatementResult> InsertStatement(const Insert& insert, Transaction& txn);
  SqlResult<StatementResult> UpdateStatement(const Update& update, Transaction& txn);
  SqlResult<StatementResult> DeleteStatement(const Delete& del, Transaction& txn);
  SqlResult<StatementResult> ExplainStatement(const Explain& explain);

  // The table's schema, or 42P01.
  SqlResult<std::shared_ptr<const TableSchema>> FindTable(const std::string& table) const;

  Database* db_;
  Catalog* catalog_;
};

// The rows of `schema` on `path` (read at the transaction's snapshot, or a
// fresh one per call at read committed) for which `where` (may be null) is
// true, in key order. *reader receives the iterator the rows were read
// through (null when none was needed): LockAndRecheck needs it open.
SqlResult<std::vector<Candidate>> ScanRows(Transaction& txn, const TableSchema& schema,
                                           const AccessPath& path, const Expr* where,
                                           const EvalContext& context,
                                           std::unique_ptr<Iterator>* reader);

// The row's columns from its stored bytes (XX001 when damaged).
SqlResult<std::vector<Value>> DecodeStoredRow(const TableSchema& schema, std::string_view bytes);

// Locks the candidate's row and reads its newest version (GetForUpdate
// with `reader`, the iterator that read the candidate, still open);
// re-checks `where` on it when it changed. Returns the row to act on, or
// nullopt when the row is gone (deleted, even if a new row took its key
// since) or no longer matches.
SqlResult<std::optional<std::vector<Value>>> LockAndRecheck(
    Transaction& txn, const TableSchema& schema, const Candidate& candidate, const Iterator& reader,
    const Expr* where, const EvalContext& context);

}  // namespace mvdb::sql
