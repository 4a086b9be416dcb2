// The executor's dispatch, DDL, planner and scans (executor.h). SELECT is
// in select.cc; INSERT, UPDATE and DELETE in dml.cc.
//
// DDL runs in its own transactions even inside a transaction block: the
// embedded API's CreateTable/DropTable are durable at once and not part of
// any transaction. PostgreSQL's DDL is transactional (a ROLLBACK undoes a
// CREATE TABLE); mvdb's is not, and a ROLLBACK after it keeps the change.
#include "sql/executor.h"

#include <algorithm>
#include <set>

#include "sql/key_codec.h"
#include "sql/row_codec.h"

namespace mvdb::sql {
namespace {

SqlError UndefinedTable(std::string_view table) {
  return MakeSqlError("42P01", "relation \"" + std::string(table) + "\" does not exist");
}

// The smallest key greater than every key starting with `prefix`, or
// nullopt when there is none (all 0xff).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// A literal converted exactly to a key column's type, or nullopt when it
// cannot be (then the planner does not use it).
std::optional<Value> KeyConstant(const Expr& expr, TypeId type) {
  if (expr.kind != ExprKind::kLiteral || expr.literal.is_null()) return std::nullopt;
  const Value& value = expr.literal;
  if (value.type() == type) return value;
  if (type == TypeId::kFloat && value.type() == TypeId::kInt) {
    return Value::Float(static_cast<double>(value.int_value()));
  }
  if (value.type() == TypeId::kText) {
    ColumnSchema column;
    column.type = type;
    SqlResult<Value> parsed = CoerceToColumn(value, column);
    if (parsed.ok()) return std::move(parsed).value();
  }
  return std::nullopt;
}

// The table column `expr` names, or -1.
int ColumnOf(const Expr& expr, const TableSchema& schema, std::string_view qualifier) {
  if (expr.kind != ExprKind::kColumn) return -1;
  if (!expr.table.empty() && expr.table != qualifier) return -1;
  return schema.ColumnIndex(expr.column);
}

void Conjuncts(const Expr* expr, std::vector<const Expr*>* out) {
  if (expr == nullptr) return;
  if (expr->kind == ExprKind::kBinary && expr->binary_op == BinaryOp::kAnd) {
    Conjuncts(expr->operands[0].get(), out);
    Conjuncts(expr->operands[1].get(), out);
    return;
  }
  out->push_back(expr);
}

BinaryOp Mirror(BinaryOp op) {
  switch (op) {
    case BinaryOp::kLess:
      return BinaryOp::kGreater;
    case BinaryOp::kLessEqual:
      return BinaryOp::kGreaterEqual;
    case BinaryOp::kGreater:
      return BinaryOp::kLess;
    case BinaryOp::kGreaterEqual:
      return BinaryOp::kLessEqual;
    default:
      return op;
  }
}

}  // namespace

SqlError StatusToSqlError(const Status& status, std::string_view table) {
  const std::string message(status.message());
  switch (status.code()) {
    case StatusCode::kConflict:
      return MakeSqlError("40001", "could not serialize access due to concurrent update");
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

SqlResult<std::shared_ptr<const TableSchema>> Executor::FindTable(const std::string& table) const {
  std::shared_ptr<const TableSchema> schema = catalog_->Find(table);
  if (schema == nullptr) return UndefinedTable(table);
  return schema;
}

SqlResult<StatementResult> Executor::ExecuteDdl(const Statement& statement) {
  if (const auto* create = std::get_if<CreateTable>(&statement.node)) {
    return CreateTableStatement(*create);
  }
  if (const auto* drop = std::get_if<DropTable>(&statement.node)) return DropTableStatement(*drop);
  if (const auto* index = std::get_if<CreateIndex>(&statement.node)) {
    return CreateIndexStatement(*index);
  }
  if (const auto* drop = std::get_if<DropIndex>(&statement.node)) {
    // No index can exist yet (CREATE INDEX answers 0A000), so this is
    // PostgreSQL's answer for a missing index.
    if (drop->if_exists) return StatementResult{"DROP INDEX", std::nullopt};
    return MakeSqlError("42704", "index \"" + drop->index + "\" does not exist");
  }
  if (const auto* add = std::get_if<AddColumn>(&statement.node)) return AddColumnStatement(*add);
  return MakeSqlError("XX000", "not a DDL statement");
}

SqlResult<StatementResult> Executor::ExecuteDml(const Statement& statement, Transaction& txn) {
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
  if (const auto* explain = std::get_if<Explain>(&statement.node)) {
    return ExplainStatement(*explain);
  }
  return MakeSqlError("XX000", "not a data statement");
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
    if (def.unique && !in_key) {
      return MakeSqlError("0A000", "UNIQUE constraints are not supported yet");
    }
    schema.columns.push_back(ColumnSchema{def.name, def.type, def.max_length,
                                          def.not_null || def.primary_key || in_key});
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
  std::lock_guard ddl(catalog_->ddl_mutex());
  if (catalog_->Find(create.table) != nullptr) {
    return MakeSqlError("42P07", "relation \"" + create.table + "\" already exists");
  }
  Status status = db_->CreateTable(create.table);
  if (!status.ok()) return StatusToSqlError(status, create.table);
  status = catalog_->Store(schema);
  if (!status.ok()) {
    (void)db_->DropTable(create.table);
    return StatusToSqlError(status, create.table);
  }
  return StatementResult{"CREATE TABLE", std::nullopt};
}

SqlResult<StatementResult> Executor::DropTableStatement(const DropTable& drop) {
  std::lock_guard ddl(catalog_->ddl_mutex());
  if (catalog_->Find(drop.table) == nullptr) {
    if (drop.if_exists) return StatementResult{"DROP TABLE", std::nullopt};
    return UndefinedTable(drop.table);
  }
  // The table first: if it is busy nothing has changed. A crash before the
  // catalog row goes is repaired at open (catalog.cc).
  Status status = db_->DropTable(drop.table);
  if (!status.ok() && !status.IsNotFound()) return StatusToSqlError(status, drop.table);
  status = catalog_->Remove(drop.table);
  if (!status.ok()) return StatusToSqlError(status, drop.table);
  return StatementResult{"DROP TABLE", std::nullopt};
}

SqlResult<StatementResult> Executor::CreateIndexStatement(const CreateIndex& create) {
  MVDB_SQL_ASSIGN_OR_RETURN(auto schema, FindTable(create.table));
  for (const std::string& column : create.columns) {
    if (schema->ColumnIndex(column) < 0) {
      return MakeSqlError("42703", "column \"" + column + "\" does not exist");
    }
  }
  // Honest rather than silent: secondary indexes (sql/README.md) are not
  // built yet.
  return MakeSqlError("0A000", "feature not supported yet: CREATE INDEX");
}

SqlResult<StatementResult> Executor::AddColumnStatement(const AddColumn& add) {
  std::lock_guard ddl(catalog_->ddl_mutex());
  MVDB_SQL_ASSIGN_OR_RETURN(auto old_schema, FindTable(add.table));
  if (old_schema->ColumnIndex(add.column.name) >= 0) {
    return MakeSqlError("42701", "column \"" + add.column.name + "\" of relation \"" + add.table +
                                     "\" already exists");
  }
  if (add.column.primary_key || add.column.unique) {
    return MakeSqlError("0A000", "feature not supported yet: ADD COLUMN with a constraint");
  }
  if (add.column.not_null) {
    // Every existing row would read NULL in the new column.
    auto txn = db_->Begin();
    auto it = txn->NewIterator(add.table);
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

AccessPath Executor::PlanAccess(const TableSchema& schema, std::string_view qualifier,
                                const Expr* where) {
  AccessPath path;
  if (!schema.has_primary_key()) return path;
  std::vector<const Expr*> conjuncts;
  Conjuncts(where, &conjuncts);
  const std::vector<KeyColumn> key_columns = schema.KeyColumns();
  const int first = schema.primary_key[0];
  const TypeId first_type = schema.columns[first].type;

  std::vector<std::optional<Value>> equal(schema.primary_key.size());
  std::vector<Value> in_list;  // one-column key: the constants of `key IN (...)`
  bool has_in_list = false;
  for (const Expr* conjunct : conjuncts) {
    if (conjunct->kind == ExprKind::kBinary && conjunct->binary_op == BinaryOp::kEqual) {
      for (int side = 0; side < 2; ++side) {
        const int column = ColumnOf(*conjunct->operands[side], schema, qualifier);
        for (size_t k = 0; k < schema.primary_key.size(); ++k) {
          if (column != schema.primary_key[k] || equal[k].has_value()) continue;
          equal[k] = KeyConstant(*conjunct->operands[1 - side], schema.columns[column].type);
        }
      }
    }
    if (conjunct->kind == ExprKind::kInList && !conjunct->negated &&
        schema.primary_key.size() == 1 && !has_in_list &&
        ColumnOf(*conjunct->operands[0], schema, qualifier) == first) {
      std::vector<Value> values;
      for (size_t i = 1; i < conjunct->operands.size(); ++i) {
        std::optional<Value> value = KeyConstant(*conjunct->operands[i], first_type);
        if (!value.has_value()) {
          // A NULL never matches; any other unusable constant spoils the list.
          if (conjunct->operands[i]->kind == ExprKind::kLiteral &&
              conjunct->operands[i]->literal.is_null()) {
            continue;
          }
          values.clear();
          has_in_list = false;
          break;
        }
        values.push_back(*value);
        has_in_list = true;
      }
      if (has_in_list) in_list = std::move(values);
    }
  }
  const bool all_equal =
      std::all_of(equal.begin(), equal.end(), [](const auto& v) { return v.has_value(); });
  if (all_equal || has_in_list) {
    std::vector<std::vector<Value>> tuples;
    if (all_equal) {
      std::vector<Value> tuple;
      for (const auto& value : equal) tuple.push_back(*value);
      tuples.push_back(std::move(tuple));
    } else {
      for (const Value& value : in_list) tuples.push_back({value});
    }
    std::set<std::string> keys;
    for (const auto& tuple : tuples) {
      std::string key;
      if (AppendCompositeKey(tuple, key_columns, &key).ok()) keys.insert(std::move(key));
    }
    path.kind = AccessPath::Kind::kPointLookup;
    path.keys.assign(keys.begin(), keys.end());
    return path;
  }

  // Range on the first key column. Bounds are on the encoded first column:
  // every key whose first column is v starts with AppendKey(v).
  const auto tighten_lower = [&](std::string key) {
    if (!path.lower.has_value() || key > *path.lower) path.lower = std::move(key);
  };
  const auto tighten_upper = [&](std::optional<std::string> key) {
    if (!key.has_value()) return;
    if (!path.upper.has_value() || *key < *path.upper) path.upper = std::move(key);
  };
  const auto bound = [&](BinaryOp op, const Value& value) {
    std::string encoded;
    AppendKey(value, false, &encoded);
    switch (op) {
      case BinaryOp::kEqual:
        tighten_lower(encoded);
        tighten_upper(PrefixSuccessor(encoded));
        break;
      case BinaryOp::kGreater:
      case BinaryOp::kGreaterEqual:
        tighten_lower(encoded);  // > v still starts at v's keys: WHERE drops them
        break;
      case BinaryOp::kLess:
        tighten_upper(encoded);
        break;
      case BinaryOp::kLessEqual:
        tighten_upper(PrefixSuccessor(encoded));
        break;
      default:
        break;
    }
  };
  bool ranged = false;
  for (const Expr* conjunct : conjuncts) {
    if (conjunct->kind == ExprKind::kBinary) {
      for (int side = 0; side < 2; ++side) {
        if (ColumnOf(*conjunct->operands[side], schema, qualifier) != first) continue;
        const BinaryOp op = side == 0 ? conjunct->binary_op : Mirror(conjunct->binary_op);
        if (op == BinaryOp::kNotEqual || op == BinaryOp::kAnd || op == BinaryOp::kOr) continue;
        if (op != BinaryOp::kEqual && op != BinaryOp::kLess && op != BinaryOp::kLessEqual &&
            op != BinaryOp::kGreater && op != BinaryOp::kGreaterEqual) {
          continue;
        }
        std::optional<Value> value = KeyConstant(*conjunct->operands[1 - side], first_type);
        if (!value.has_value()) continue;
        bound(op, *value);
        ranged = true;
      }
    } else if (conjunct->kind == ExprKind::kBetween && !conjunct->negated &&
               ColumnOf(*conjunct->operands[0], schema, qualifier) == first) {
      std::optional<Value> low = KeyConstant(*conjunct->operands[1], first_type);
      std::optional<Value> high = KeyConstant(*conjunct->operands[2], first_type);
      if (low.has_value()) bound(BinaryOp::kGreaterEqual, *low);
      if (high.has_value()) bound(BinaryOp::kLessEqual, *high);
      ranged = ranged || low.has_value() || high.has_value();
    }
  }
  if (ranged) path.kind = AccessPath::Kind::kRangeScan;
  return path;
}

std::string Executor::DescribeAccess(const AccessPath& path, std::string_view table) {
  switch (path.kind) {
    case AccessPath::Kind::kPointLookup:
      return "Primary key point lookup on " + std::string(table);
    case AccessPath::Kind::kRangeScan:
      return "Primary key range scan on " + std::string(table);
    case AccessPath::Kind::kFullScan:
      break;
  }
  return "Full scan on " + std::string(table);
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
                                           const EvalContext& context) {
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
  return candidates;
}

SqlResult<std::optional<std::vector<Value>>> LockAndRecheck(Transaction& txn,
                                                            const TableSchema& schema,
                                                            const Candidate& candidate,
                                                            const Expr* where,
                                                            const EvalContext& context) {
  std::string bytes;
  const Status status = txn.GetForUpdate(schema.name, candidate.key, &bytes);
  if (status.IsNotFound()) return std::optional<std::vector<Value>>();  // deleted meanwhile
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
    if (select->table.empty()) {
      lines.push_back("Result");
    } else {
      MVDB_SQL_ASSIGN_OR_RETURN(std::string line,
                                access(select->table, select->table_alias, select->where.get()));
      lines.push_back(std::move(line));
    }
  } else if (const auto* insert = std::get_if<Insert>(&inner.node)) {
    MVDB_SQL_ASSIGN_OR_RETURN(auto schema, FindTable(insert->table));
    lines.push_back("Insert on " + schema->name);
  } else if (const auto* update = std::get_if<Update>(&inner.node)) {
    MVDB_SQL_ASSIGN_OR_RETURN(std::string line, access(update->table, "", update->where.get()));
    lines.push_back("Update on " + update->table);
    lines.push_back("  ->  " + line);
  } else if (const auto* del = std::get_if<Delete>(&inner.node)) {
    MVDB_SQL_ASSIGN_OR_RETURN(std::string line, access(del->table, "", del->where.get()));
    lines.push_back("Delete on " + del->table);
    lines.push_back("  ->  " + line);
  } else {
    return MakeSqlError("42601", "EXPLAIN takes SELECT, INSERT, UPDATE or DELETE");
  }
  ResultSet rows;
  rows.columns = {"QUERY PLAN"};
  rows.types = {TypeId::kText};
  for (std::string& line : lines) rows.rows.push_back({Value::Text(std::move(line))});
  return StatementResult{"EXPLAIN", std::move(rows)};
}

}  // namespace mvdb::sql
