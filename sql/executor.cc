// The executor's dispatch, DDL and scans (executor.h). The planner is in
// planner.cc, SELECT in select.cc; INSERT, UPDATE and DELETE in dml.cc.
//
// DDL runs in transactions of its own: the embedded API's
// CreateTable/DropTable are durable at once and not part of any
// transaction. PostgreSQL's DDL is transactional (a ROLLBACK undoes a
// CREATE TABLE); mvdb's is not, so the session refuses DDL inside a
// transaction block (25001) instead of letting a ROLLBACK keep it.
//
// Table locks (include/mvdb/db.h, TableLockMode), as PostgreSQL takes
// them: every data statement locks its table before it reads the schema
// (SELECT kAccessShare, FOR UPDATE kRowShare, INSERT/UPDATE/DELETE
// kRowExclusive), held to the end of its transaction. DROP TABLE, ALTER
// TABLE and DROP INDEX take kAccessExclusive on the table, so they wait
// for every transaction that has used it, and statements arriving later
// wait behind them and then read the new schema (or find no table: 42P01).
// CREATE INDEX takes kShare, as PostgreSQL's does: it waits for the
// transactions that wrote the table and keeps new writers out while it
// builds, and readers go on. mvdb needs no more than that: with no writer
// in flight the build's snapshot holds every row, and a writer that comes
// after it reads the schema only once it has its lock, so it keeps the
// index. A DDL statement takes its table lock before ddl_mutex, which is
// never held across a lock wait. The waits are the lock manager's (the
// lock timeout, deadlock detection, the session's waiting_for()).
#include "sql/executor.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "sql/index.h"
#include "sql/key_codec.h"
#include "sql/row_codec.h"

namespace mvdb::sql {
namespace {

SqlError UndefinedTable(std::string_view table) {
  return MakeSqlError("42P01", "relation \"" + std::string(table) + "\" does not exist");
}

}  // namespace

SqlError StatusToSqlError(const Status& status, std::string_view table) {
  const std::string message(status.message());
  switch (status.code()) {
    case StatusCode::kConflict: {
      // The API words it as PostgreSQL does (include/mvdb/db.h, Put).
      constexpr std::string_view kDelete = "could not serialize access due to concurrent delete";
      return MakeSqlError("40001", message.starts_with(kDelete)
                                       ? std::string(kDelete)
                                       : "could not serialize access due to concurrent update");
    }
    case StatusCode::kDeadlock:
      return MakeSqlError("40P01", "deadlock detected");
    case StatusCode::kLockTimeout:
      return MakeSqlError("55P03", "canceling statement due to lock timeout");
    case StatusCode::kSnapshotTooOld:
      return MakeSqlError("72000", "snapshot too old");
    case StatusCode::kIOError:
      return MakeSqlError("58030", "I/O error: " + message);
    case StatusCode::kCorruption:
      return MakeSqlError("XX001", "data corrupted: " + message);
    case StatusCode::kNotFound:
      return UndefinedTable(table);
    case StatusCode::kAborted:
      return MakeSqlError(
          "25P02",
          "current transaction is aborted, commands ignored until end of transaction block");
    case StatusCode::kBusy:
      return MakeSqlError("55006", "relation \"" + std::string(table) +
                                       "\" is being used by active queries: " + message);
    case StatusCode::kInvalidArgument:
      return MakeSqlError("54000", message);
    default:
      break;
  }
  return MakeSqlError("XX000", status.ToString());
}

bool IsDdl(const Statement& statement) {
  return std::holds_alternative<CreateTable>(statement.node) ||
         std::holds_alternative<DropTable>(statement.node) ||
         std::holds_alternative<CreateIndex>(statement.node) ||
         std::holds_alternative<DropIndex>(statement.node) ||
         std::holds_alternative<AddColumn>(statement.node);
}

std::string DdlName(const Statement& statement) {
  if (std::holds_alternative<CreateTable>(statement.node)) return "CREATE TABLE";
  if (std::holds_alternative<DropTable>(statement.node)) return "DROP TABLE";
  if (std::holds_alternative<CreateIndex>(statement.node)) return "CREATE INDEX";
  if (std::holds_alternative<DropIndex>(statement.node)) return "DROP INDEX";
  return "ALTER TABLE";
}

SqlResult<std::shared_ptr<const TableSchema>> Executor::FindTable(const std::string& table) const {
  std::shared_ptr<const TableSchema> schema = catalog_->Find(table);
  if (schema == nullptr) return UndefinedTable(table);
  return schema;
}

SqlResult<StatementResult> Executor::ExecuteDdl(const Statement& statement, Transaction& ddl) {
  if (const auto* create = std::get_if<CreateTable>(&statement.node)) {
    return CreateTableStatement(*create);
  }
  if (const auto* drop = std::get_if<DropTable>(&statement.node)) {
    return DropTableStatement(*drop, ddl);
  }
  if (const auto* index = std::get_if<CreateIndex>(&statement.node)) {
    return CreateIndexStatement(*index, ddl);
  }
  if (const auto* drop = std::get_if<DropIndex>(&statement.node)) {
    return DropIndexStatement(*drop, ddl);
  }
  // The last DDL statement (the caller checked IsDdl).
  return AddColumnStatement(std::get<AddColumn>(statement.node), ddl);
}

namespace {

using TableLock = std::pair<std::string, TableLockMode>;

// The tables a query reads and the locks it takes on them, appended to *locks.
void QueryLocks(const Select& select, std::vector<TableLock>* locks) {
  if (select.set_op != SetOp::kNone) {
    QueryLocks(*select.left, locks);
    QueryLocks(*select.right, locks);
    return;
  }
  if (select.table.empty()) return;
  locks->emplace_back(select.table,
                      select.for_update ? TableLockMode::kRowShare : TableLockMode::kAccessShare);
}

// The table a data statement other than SELECT and EXPLAIN writes, and
// the lock it takes on it.
std::optional<TableLock> StatementLock(const Statement& statement) {
  const StatementNode& node = statement.node;
  if (std::holds_alternative<Select>(node)) return std::nullopt;  // QueryLocks
  if (const auto* insert = std::get_if<Insert>(&node)) {
    return std::pair(insert->table, TableLockMode::kRowExclusive);
  }
  if (const auto* update = std::get_if<Update>(&node)) {
    return std::pair(update->table, TableLockMode::kRowExclusive);
  }
  if (const auto* del = std::get_if<Delete>(&node)) {
    return std::pair(del->table, TableLockMode::kRowExclusive);
  }
  return std::nullopt;
}

// Every table lock a data statement takes, in the order it takes them.
std::vector<TableLock> StatementLocks(const Statement& statement) {
  const Statement* inner = &statement;
  if (const auto* explain = std::get_if<Explain>(&statement.node)) inner = explain->statement.get();
  std::vector<TableLock> locks;
  if (const auto* select = std::get_if<Select>(&inner->node)) {
    QueryLocks(*select, &locks);
  } else if (auto lock = StatementLock(*inner)) {
    locks.push_back(std::move(*lock));
  }
  return locks;
}

// Locks `table` for a statement of `ddl`: NotFound is no error here (the
// caller's schema lookup answers 42P01 or IF EXISTS).
SqlStatus LockForStatement(Transaction& txn, const std::string& table, TableLockMode mode) {
  const Status locked = txn.LockTable(table, mode);
  if (!locked.ok() && !locked.IsNotFound()) return StatusToSqlError(locked, table);
  return {};
}

}  // namespace

SqlResult<StatementResult> Executor::ExecuteDml(const Statement& statement, Transaction& txn) {
  // The table lock before the statement reads any schema (the comment at
  // the top of this file).
  for (const auto& [table, mode] : StatementLocks(statement)) {
    MVDB_SQL_RETURN_IF_ERROR(LockForStatement(txn, table, mode));
  }
  if (const auto* select = std::get_if<Select>(&statement.node)) {
    return SelectStatement(*select, txn);
  }
  if (const auto* insert = std::get_if<Insert>(&statement.node)) {
    return InsertStatement(*insert, txn);
  }
  if (const auto* update = std::get_if<Update>(&statement.node)) {
    return UpdateStatement(*update, txn);
  }
  if (const auto* del = std::get_if<Delete>(&statement.node)) return DeleteStatement(*del, txn);
  // The last data statement (the session routes every other one elsewhere).
  return ExplainStatement(std::get<Explain>(statement.node));
}

SqlResult<StatementResult> Executor::CreateTableStatement(const CreateTable& create) {
  if (create.table.starts_with("__")) {
    return MakeSqlError("42939", "relation name \"" + create.table + "\" is reserved");
  }
  TableSchema schema;
  schema.name = create.table;
  for (const ColumnDef& def : create.columns) {
    if (schema.ColumnIndex(def.name) >= 0) {
      return MakeSqlError("42701", "column \"" + def.name + "\" specified more than once");
    }
    const bool in_key = std::find(create.primary_key.begin(), create.primary_key.end(), def.name) !=
                        create.primary_key.end();
    schema.columns.push_back(ColumnSchema{def.name, def.type, def.max_length,
                                          def.not_null || def.primary_key || in_key});
    // The primary key already makes its column unique.
    if (def.unique && !in_key) {
      IndexSchema index;
      index.name = create.table + "_" + def.name + "_key";  // PostgreSQL's name
      index.columns = {static_cast<int>(schema.columns.size() - 1)};
      index.unique = true;
      schema.indexes.push_back(std::move(index));
    }
  }
  for (const std::string& column : create.primary_key) {
    const int index = schema.ColumnIndex(column);
    if (index < 0) {
      return MakeSqlError("42703", "column \"" + column + "\" named in key does not exist");
    }
    if (std::find(schema.primary_key.begin(), schema.primary_key.end(), index) !=
        schema.primary_key.end()) {
      return MakeSqlError("42701",
                          "column \"" + column + "\" appears twice in primary key constraint");
    }
    schema.primary_key.push_back(index);
  }
  std::unique_lock ddl(catalog_->ddl_mutex());
  if (catalog_->RelationExists(create.table)) {
    return MakeSqlError("42P07", "relation \"" + create.table + "\" already exists");
  }
  for (const IndexSchema& index : schema.indexes) {
    if (catalog_->RelationExists(index.name)) {
      return MakeSqlError("42P07", "relation \"" + index.name + "\" already exists");
    }
  }
  // The mvdb tables first, then the catalog row that makes them a SQL table
  // (a crash in between leaves tables that Catalog::Load drops). The undo
  // lets ddl_mutex go first: another session's statement may have locked a
  // new table by its name (to find no SQL table), and the drop waits for it.
  std::vector<std::string> created;
  const auto undo = [&] {
    ddl.unlock();
    for (const std::string& name : created) (void)db_->DropTable(name);
  };
  Status status = db_->CreateTable(create.table);
  if (!status.ok()) return StatusToSqlError(status, create.table);
  created.push_back(create.table);
  for (const IndexSchema& index : schema.indexes) {
    status = db_->CreateTable(IndexTableName(index.name));
    if (!status.ok()) {
      undo();
      return StatusToSqlError(status, create.table);
    }
    created.push_back(IndexTableName(index.name));
  }
  status = catalog_->Store(schema);
  if (!status.ok()) {
    undo();
    return StatusToSqlError(status, create.table);
  }
  return StatementResult{"CREATE TABLE", std::nullopt};
}

SqlResult<StatementResult> Executor::DropTableStatement(const DropTable& drop, Transaction& ddl) {
  // Waits for every transaction using the table; later users wait for us.
  MVDB_SQL_RETURN_IF_ERROR(LockForStatement(ddl, drop.table, TableLockMode::kAccessExclusive));
  std::lock_guard ddl_lock(catalog_->ddl_mutex());
  const std::shared_ptr<const TableSchema> schema = catalog_->Find(drop.table);
  if (schema == nullptr) {
    if (drop.if_exists) return StatementResult{"DROP TABLE", std::nullopt};
    return UndefinedTable(drop.table);
  }
  // The table first. A crash before the catalog row goes is repaired at
  // open (catalog.cc).
  Status status = ddl.DropTable(drop.table);
  if (!status.ok() && !status.IsNotFound()) return StatusToSqlError(status, drop.table);
  status = catalog_->Remove(drop.table);
  if (!status.ok()) return StatusToSqlError(status, drop.table);
  // Its indexes last (nobody else can hold them: they are used only under
  // the table's lock); one left behind by a crash has no catalog row any
  // more and Catalog::Load drops it.
  for (const IndexSchema& index : schema->indexes) (void)ddl.DropTable(IndexTableName(index.name));
  return StatementResult{"DROP TABLE", std::nullopt};
}

SqlResult<StatementResult> Executor::CreateIndexStatement(const CreateIndex& create,
                                                          Transaction& ddl) {
  // kShare: waits for the table's writers and keeps new ones out until the
  // index is built and published; readers go on.
  MVDB_SQL_RETURN_IF_ERROR(LockForStatement(ddl, create.table, TableLockMode::kShare));
  std::unique_lock ddl_lock(catalog_->ddl_mutex());
  MVDB_SQL_ASSIGN_OR_RETURN(auto old_schema, FindTable(create.table));
  IndexSchema index;
  index.name = create.index;
  index.unique = create.unique;
  index.ready = false;
  for (const std::string& column : create.columns) {
    const int position = old_schema->ColumnIndex(column);
    if (position < 0) return MakeSqlError("42703", "column \"" + column + "\" does not exist");
    index.columns.push_back(position);
  }
  if (catalog_->RelationExists(create.index)) {
    return MakeSqlError("42P07", "relation \"" + create.index + "\" already exists");
  }
  const std::string index_table = IndexTableName(create.index);
  Status status = db_->CreateTable(index_table);
  if (!status.ok()) return StatusToSqlError(status, create.table);

  // Published not ready before the lock goes at the commit: a writer that
  // gets the table between the commit and the final publication keeps the
  // index, and no reader uses it before its entries are committed.
  TableSchema schema = *old_schema;
  schema.indexes.push_back(index);
  catalog_->Publish(schema);
  schema.indexes.back().ready = true;
  SqlStatus built = BuildIndex(ddl, schema, schema.indexes.back());
  if (built.ok()) {
    status = ddl.Commit();
    if (!status.ok()) built = StatusToSqlError(status, create.table);
  }
  if (!built.ok()) {
    catalog_->Publish(*old_schema);
    if (ddl.state() == TransactionState::kActive || ddl.state() == TransactionState::kFailed) {
      (void)ddl.Rollback();
    }
    ddl_lock.unlock();                  // the drop may wait: never under ddl_mutex
    (void)db_->DropTable(index_table);  // if that fails, Catalog::Load drops it
    return built.take_error();
  }
  catalog_->Publish(schema);
  return StatementResult{"CREATE INDEX", std::nullopt};
}

SqlResult<StatementResult> Executor::DropIndexStatement(const DropIndex& drop, Transaction& ddl) {
  std::shared_ptr<const TableSchema> owner = catalog_->FindIndexTable(drop.index);
  if (owner != nullptr) {
    MVDB_SQL_RETURN_IF_ERROR(LockForStatement(ddl, owner->name, TableLockMode::kAccessExclusive));
  }
  std::lock_guard ddl_lock(catalog_->ddl_mutex());
  const std::shared_ptr<const TableSchema> old_schema = catalog_->FindIndexTable(drop.index);
  if (old_schema == nullptr) {
    if (drop.if_exists) return StatementResult{"DROP INDEX", std::nullopt};
    return MakeSqlError("42704", "index \"" + drop.index + "\" does not exist");
  }
  if (owner == nullptr || old_schema->name != owner->name) {
    // The index moved to another table (dropped and created again) while
    // we waited: a rare race, answered as PostgreSQL answers a concurrent
    // change it cannot follow.
    return MakeSqlError("40001", "could not serialize access due to concurrent update");
  }
  TableSchema schema = *old_schema;
  std::erase_if(schema.indexes, [&](const IndexSchema& index) { return index.name == drop.index; });
  const Status status = catalog_->Store(schema);
  if (!status.ok()) return StatusToSqlError(status, schema.name);
  // No statement uses the index any more: they all hold the table's lock.
  // If the drop fails, Catalog::Load drops the table as nobody's index.
  (void)ddl.DropTable(IndexTableName(drop.index));
  return StatementResult{"DROP INDEX", std::nullopt};
}

SqlResult<StatementResult> Executor::AddColumnStatement(const AddColumn& add, Transaction& ddl) {
  MVDB_SQL_RETURN_IF_ERROR(LockForStatement(ddl, add.table, TableLockMode::kAccessExclusive));
  std::lock_guard ddl_lock(catalog_->ddl_mutex());
  MVDB_SQL_ASSIGN_OR_RETURN(auto old_schema, FindTable(add.table));
  if (old_schema->ColumnIndex(add.column.name) >= 0) {
    return MakeSqlError("42701", "column \"" + add.column.name + "\" of relation \"" + add.table +
                                     "\" already exists");
  }
  if (add.column.primary_key || add.column.unique) {
    return MakeSqlError("0A000", "feature not supported yet: ADD COLUMN with a constraint");
  }
  if (add.column.not_null) {
    // Every existing row would read NULL in the new column. (In `ddl`,
    // which holds the table: another transaction would wait for it.)
    auto it = ddl.NewIterator(add.table);
    it->SeekToFirst();
    const bool has_rows = it->Valid();
    const Status status = it->status();
    it.reset();
    if (!status.ok()) return StatusToSqlError(status, add.table);
    if (has_rows) {
      return MakeSqlError("23502", "column \"" + add.column.name + "\" of relation \"" + add.table +
                                       "\" contains null values");
    }
  }
  TableSchema schema = *old_schema;
  schema.columns.push_back(
      ColumnSchema{add.column.name, add.column.type, add.column.max_length, add.column.not_null});
  schema.schema_version += 1;
  const Status status = catalog_->Store(schema);
  if (!status.ok()) return StatusToSqlError(status, add.table);
  return StatementResult{"ALTER TABLE", std::nullopt};
}

SqlResult<std::vector<Value>> DecodeStoredRow(const TableSchema& schema, std::string_view bytes) {
  const std::vector<TypeId> types = schema.ColumnTypes();
  Result<DecodedRow> decoded = DecodeRow(bytes, types);
  if (!decoded.ok()) {
    return MakeSqlError("XX001", "data corrupted: row of \"" + schema.name +
                                     "\": " + std::string(decoded.status().message()));
  }
  return std::move(decoded.value().columns);
}

SqlResult<std::vector<Candidate>> ScanRows(Transaction& txn, const TableSchema& schema,
                                           const AccessPath& path, const Expr* where,
                                           const EvalContext& context,
                                           std::unique_ptr<Iterator>* reader) {
  reader->reset();
  if (path.kind == AccessPath::Kind::kIndexScan)
    return ScanIndex(txn, schema, path, where, context, reader);
  std::vector<Candidate> candidates;
  if (path.kind == AccessPath::Kind::kPointLookup && path.keys.empty()) return candidates;
  IteratorOptions options;
  if (path.kind == AccessPath::Kind::kRangeScan) {
    options.lower_bound = path.lower;
    options.upper_bound = path.upper;
    if (path.lower.has_value() && path.upper.has_value() && *path.lower >= *path.upper) {
      return candidates;
    }
  }
  // One iterator for the whole statement: at read committed it is the
  // statement's snapshot.
  std::unique_ptr<Iterator> it = txn.NewIterator(schema.name, options);
  const auto take = [&]() -> SqlStatus {
    MVDB_SQL_ASSIGN_OR_RETURN(std::vector<Value> row, DecodeStoredRow(schema, it->value()));
    if (where != nullptr) {
      EvalContext row_context = context;
      row_context.row = &row;
      MVDB_SQL_ASSIGN_OR_RETURN(const bool keep, EvaluateCondition(*where, row_context));
      if (!keep) return {};
    }
    candidates.push_back(Candidate{std::string(it->key()), std::move(row)});
    return {};
  };
  if (path.kind == AccessPath::Kind::kPointLookup) {
    for (const std::string& key : path.keys) {
      it->Seek(key);
      if (!it->Valid()) break;
      if (it->key() == key) MVDB_SQL_RETURN_IF_ERROR(take());
    }
  } else {
    for (it->SeekToFirst(); it->Valid(); it->Next()) MVDB_SQL_RETURN_IF_ERROR(take());
  }
  const Status status = it->status();
  if (!status.ok()) return StatusToSqlError(status, schema.name);
  *reader = std::move(it);
  return candidates;
}

SqlResult<std::optional<std::vector<Value>>> LockAndRecheck(
    Transaction& txn, const TableSchema& schema, const Candidate& candidate, const Iterator& reader,
    const Expr* where, const EvalContext& context) {
  std::string bytes;
  const Status status = txn.GetForUpdate(schema.name, candidate.key, &bytes, reader);
  // Deleted meanwhile, perhaps with a new row under its key since, which
  // is not the row the statement read (txn/transaction.cc, invariant 8).
  if (status.IsNotFound()) return std::optional<std::vector<Value>>();
  if (!status.ok()) return StatusToSqlError(status, schema.name);
  MVDB_SQL_ASSIGN_OR_RETURN(std::vector<Value> row, DecodeStoredRow(schema, bytes));
  if (row != candidate.row && where != nullptr) {
    // A concurrent writer committed a new version while we waited (read
    // committed): act on it only if it still matches.
    EvalContext row_context = context;
    row_context.row = &row;
    MVDB_SQL_ASSIGN_OR_RETURN(const bool keep, EvaluateCondition(*where, row_context));
    if (!keep) return std::optional<std::vector<Value>>();
  }
  return std::optional<std::vector<Value>>(std::move(row));
}

SqlResult<StatementResult> Executor::ExplainStatement(const Explain& explain) {
  const Statement& inner = *explain.statement;
  std::vector<std::string> lines;
  const auto access = [&](const std::string& table, const std::string& alias,
                          const Expr* where) -> SqlResult<std::string> {
    MVDB_SQL_ASSIGN_OR_RETURN(auto schema, FindTable(table));
    const AccessPath path = PlanAccess(*schema, alias.empty() ? table : alias, where);
    return DescribeAccess(path, table);
  };
  if (const auto* select = std::get_if<Select>(&inner.node)) {
    // A set operation names itself, and each query under it one level in.
    static constexpr std::string_view kSetOpNames[] = {"", "Union", "Intersect", "Except"};
    const std::function<SqlStatus(const Select&, const std::string&)> describe =
        [&](const Select& query, const std::string& indent) -> SqlStatus {
      if (query.set_op != SetOp::kNone) {
        lines.push_back(indent + std::string(kSetOpNames[static_cast<size_t>(query.set_op)]) +
                        (query.set_all ? " All" : ""));
        const std::string inner_indent = indent.empty() ? "  ->  " : "      " + indent;
        MVDB_SQL_RETURN_IF_ERROR(describe(*query.left, inner_indent));
        return describe(*query.right, inner_indent);
      }
      if (query.table.empty()) {
        lines.push_back(indent + "Result");
        return {};
      }
      MVDB_SQL_ASSIGN_OR_RETURN(std::string line,
                                access(query.table, query.table_alias, query.where.get()));
      lines.push_back(indent + line);
      return {};
    };
    MVDB_SQL_RETURN_IF_ERROR(describe(*select, ""));
  } else if (const auto* insert = std::get_if<Insert>(&inner.node)) {
    MVDB_SQL_ASSIGN_OR_RETURN(auto schema, FindTable(insert->table));
    lines.push_back("Insert on " + schema->name);
  } else if (const auto* update = std::get_if<Update>(&inner.node)) {
    MVDB_SQL_ASSIGN_OR_RETURN(std::string line, access(update->table, "", update->where.get()));
    lines.push_back("Update on " + update->table);
    lines.push_back("  ->  " + line);
  } else {
    // The parser lets EXPLAIN take only SELECT, INSERT, UPDATE or DELETE.
    const Delete& del = std::get<Delete>(inner.node);
    MVDB_SQL_ASSIGN_OR_RETURN(std::string line, access(del.table, "", del.where.get()));
    lines.push_back("Delete on " + del.table);
    lines.push_back("  ->  " + line);
  }
  ResultSet rows;
  rows.columns = {"QUERY PLAN"};
  rows.types = {TypeId::kText};
  for (std::string& line : lines) rows.rows.push_back({Value::Text(std::move(line))});
  return StatementResult{"EXPLAIN", std::move(rows)};
}

}  // namespace mvdb::sql
