// INSERT, UPDATE and DELETE (executor.h): values converted to the column
// types, NOT NULL and primary key uniqueness checked as PostgreSQL does,
// and rows written through the transaction, each after its row lock, with
// their secondary index entries (sql/index.h) in the same transaction.
#include <algorithm>
#include <set>

#include "sql/compare.h"
#include "sql/executor.h"
#include "sql/index.h"
#include "sql/key_codec.h"
#include "sql/row_codec.h"

namespace mvdb::sql {
namespace {

SqlError NotNullViolation(const TableSchema& schema, const ColumnSchema& column) {
  return MakeSqlError("23502", "null value in column \"" + column.name + "\" of relation \"" +
                                   schema.name + "\" violates not-null constraint");
}

SqlError UniqueViolation(const TableSchema& schema) {
  return MakeSqlError("23505", "duplicate key value violates unique constraint \"" +
                                   schema.PrimaryKeyName() + "\"");
}

SqlStatus CheckNotNull(const TableSchema& schema, const std::vector<Value>& row) {
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (schema.columns[i].not_null && row[i].is_null()) {
      return NotNullViolation(schema, schema.columns[i]);
    }
  }
  return {};
}

// The stored key of a row of a table with a primary key.
SqlResult<std::string> PrimaryKeyOf(const TableSchema& schema, const std::vector<Value>& row) {
  std::vector<Value> tuple;
  for (int index : schema.primary_key) tuple.push_back(row[index]);
  std::string key;
  const Status status = AppendCompositeKey(tuple, schema.KeyColumns(), &key);
  if (!status.ok()) return MakeSqlError("XX000", std::string(status.message()));
  return key;
}

// Claims `key` for a new row: locks it (waiting for a concurrent inserter,
// as PostgreSQL's unique check waits) and fails with 23505 when a row is
// there. At REPEATABLE READ a key committed after the snapshot is a
// Conflict in the API; PostgreSQL reports the unique violation.
SqlStatus ClaimKey(Transaction& txn, const TableSchema& schema, const std::string& key) {
  std::string existing;
  const Status status = txn.GetForUpdate(schema.name, key, &existing);
  if (status.ok() || status.IsConflict()) return UniqueViolation(schema);
  if (status.IsNotFound()) return {};
  return StatusToSqlError(status, schema.name);
}

SqlStatus Write(Transaction& txn, const TableSchema& schema, const std::string& key,
                const std::vector<Value>& row) {
  const Status status = txn.Put(schema.name, key, EncodeRow(schema.schema_version, row));
  if (!status.ok()) return StatusToSqlError(status, schema.name);
  return {};
}

}  // namespace

SqlResult<StatementResult> Executor::InsertStatement(const Insert& insert, Transaction& txn) {
  MVDB_SQL_ASSIGN_OR_RETURN(auto schema, FindTable(insert.table));
  std::vector<int> targets;
  if (insert.columns.empty()) {
    for (size_t i = 0; i < schema->columns.size(); ++i) targets.push_back(static_cast<int>(i));
  } else {
    for (const std::string& column : insert.columns) {
      const int index = schema->ColumnIndex(column);
      if (index < 0) {
        return MakeSqlError("42703", "column \"" + column + "\" of relation \"" + schema->name +
                                         "\" does not exist");
      }
      if (std::find(targets.begin(), targets.end(), index) != targets.end()) {
        return MakeSqlError("42701", "column \"" + column + "\" specified more than once");
      }
      targets.push_back(index);
    }
  }
  const EvalContext values_context;  // VALUES sees no columns
  for (const auto& values : insert.rows) {
    if (values.size() > targets.size()) {
      return MakeSqlError("42601", "INSERT has more expressions than target columns");
    }
    if (values.size() < targets.size() && !insert.columns.empty()) {
      return MakeSqlError("42601", "INSERT has more target columns than expressions");
    }
    for (const ExprPtr& value : values) {
      MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*value, values_context, ExprPlace::kValues, nullptr));
    }
  }
  int64_t inserted = 0;
  for (const auto& values : insert.rows) {
    // Columns not given are NULL (mvdb has no DEFAULT clauses).
    std::vector<Value> row(schema->columns.size());
    for (size_t i = 0; i < values.size(); ++i) {
      MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*values[i], values_context));
      MVDB_SQL_ASSIGN_OR_RETURN(
          row[targets[i]],
          CoerceToColumn(std::move(value), schema->columns[targets[i]], NumericText(*values[i])));
    }
    MVDB_SQL_RETURN_IF_ERROR(CheckNotNull(*schema, row));
    std::string key;
    if (schema->has_primary_key()) {
      MVDB_SQL_ASSIGN_OR_RETURN(key, PrimaryKeyOf(*schema, row));
      MVDB_SQL_RETURN_IF_ERROR(ClaimKey(txn, *schema, key));
    } else {
      AppendKey(Value::Int(schema->next_row_id->fetch_add(1)), false, &key);
    }
    MVDB_SQL_RETURN_IF_ERROR(Write(txn, *schema, key, row));
    MVDB_SQL_RETURN_IF_ERROR(MaintainIndexes(db_, txn, *schema, nullptr, {}, &row, key));
    ++inserted;
  }
  return StatementResult{"INSERT 0 " + std::to_string(inserted), std::nullopt};
}

SqlResult<StatementResult> Executor::UpdateStatement(const Update& update, Transaction& txn) {
  MVDB_SQL_ASSIGN_OR_RETURN(auto schema, FindTable(update.table));
  EvalContext context;
  context.table = schema.get();
  context.qualifier = schema->name;
  std::vector<int> targets;
  for (const Assignment& assignment : update.assignments) {
    const int index = schema->ColumnIndex(assignment.column);
    if (index < 0) {
      return MakeSqlError("42703", "column \"" + assignment.column + "\" of relation \"" +
                                       schema->name + "\" does not exist");
    }
    if (std::find(targets.begin(), targets.end(), index) != targets.end()) {
      return MakeSqlError("42601",
                          "multiple assignments to same column \"" + assignment.column + "\"");
    }
    targets.push_back(index);
    MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*assignment.value, context, ExprPlace::kUpdateSet, nullptr));
  }
  const Expr* where = update.where.get();
  if (where != nullptr)
    MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*where, context, ExprPlace::kWhere, nullptr));

  const AccessPath path = PlanAccess(*schema, schema->name, where);
  std::unique_ptr<Iterator> reader;  // open until the re-checks are done
  MVDB_SQL_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                            ScanRows(txn, *schema, path, where, context, &reader));
  int64_t updated = 0;
  for (const Candidate& candidate : candidates) {
    MVDB_SQL_ASSIGN_OR_RETURN(std::optional<std::vector<Value>> current,
                              LockAndRecheck(txn, *schema, candidate, *reader, where, context));
    if (!current.has_value()) continue;
    EvalContext row_context = context;
    row_context.row = &*current;
    // Every SET expression sees the old row, as in PostgreSQL.
    std::vector<Value> row = *current;
    for (size_t i = 0; i < targets.size(); ++i) {
      const Expr& expr = *update.assignments[i].value;
      MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(expr, row_context));
      MVDB_SQL_ASSIGN_OR_RETURN(
          row[targets[i]],
          CoerceToColumn(std::move(value), schema->columns[targets[i]], NumericText(expr)));
    }
    MVDB_SQL_RETURN_IF_ERROR(CheckNotNull(*schema, row));
    std::string key = candidate.key;
    if (schema->has_primary_key()) {
      MVDB_SQL_ASSIGN_OR_RETURN(key, PrimaryKeyOf(*schema, row));
      if (key != candidate.key) {
        // The row moves to a new key: that key must be free, as for INSERT.
        MVDB_SQL_RETURN_IF_ERROR(ClaimKey(txn, *schema, key));
        const Status status = txn.Delete(schema->name, candidate.key);
        if (!status.ok()) return StatusToSqlError(status, schema->name);
      }
    }
    MVDB_SQL_RETURN_IF_ERROR(Write(txn, *schema, key, row));
    MVDB_SQL_RETURN_IF_ERROR(
        MaintainIndexes(db_, txn, *schema, &*current, candidate.key, &row, key));
    ++updated;
  }
  return StatementResult{"UPDATE " + std::to_string(updated), std::nullopt};
}

SqlResult<StatementResult> Executor::DeleteStatement(const Delete& del, Transaction& txn) {
  MVDB_SQL_ASSIGN_OR_RETURN(auto schema, FindTable(del.table));
  EvalContext context;
  context.table = schema.get();
  context.qualifier = schema->name;
  const Expr* where = del.where.get();
  if (where != nullptr)
    MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*where, context, ExprPlace::kWhere, nullptr));
  const AccessPath path = PlanAccess(*schema, schema->name, where);
  std::unique_ptr<Iterator> reader;  // open until the re-checks are done
  MVDB_SQL_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                            ScanRows(txn, *schema, path, where, context, &reader));
  int64_t deleted = 0;
  for (const Candidate& candidate : candidates) {
    MVDB_SQL_ASSIGN_OR_RETURN(std::optional<std::vector<Value>> current,
                              LockAndRecheck(txn, *schema, candidate, *reader, where, context));
    if (!current.has_value()) continue;
    const Status status = txn.Delete(schema->name, candidate.key);
    if (!status.ok()) return StatusToSqlError(status, schema->name);
    MVDB_SQL_RETURN_IF_ERROR(
        MaintainIndexes(db_, txn, *schema, &*current, candidate.key, nullptr, {}));
    ++deleted;
  }
  return StatementResult{"DELETE " + std::to_string(deleted), std::nullopt};
}

}  // namespace mvdb::sql
