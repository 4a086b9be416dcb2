// SELECT (executor.h): scan, filter, group and aggregate, order, limit, and
// FOR UPDATE's row locks.
//
// Without ORDER BY rows come in primary key order (the scan's), and groups
// in the order of their GROUP BY values. FOR UPDATE locks the rows in the
// order they are returned, as PostgreSQL's LockRows does below its Limit:
// the rows up to OFFSET + LIMIT, each re-checked against the WHERE on its
// newest version after the lock (read committed), and returned as that
// version.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "sql/executor.h"
#include "sql/key_codec.h"
#include "sql/parser.h"

namespace mvdb::sql {
namespace {

// One column of the result: a table column (from *) or an expression.
struct OutputColumn {
  const Expr* expr = nullptr;
  int column = -1;  // when expr is null
  std::string name;
  // ExprToUnqualifiedString of what it computes: ORDER BY and GROUP BY
  // expressions that match it are this column.
  std::string text;
};

// One ORDER BY key: a result column, or an expression over the row.
struct SortKey {
  int output = -1;
  const Expr* expr = nullptr;
  bool descending = false;
  bool nulls_first = false;
};

struct ResultRow {
  Candidate source;  // key empty without FROM or when grouped
  std::vector<Value> outputs;
  std::vector<Value> sort_values;
  std::vector<Value> distinct_on_values;
};

struct ValueLess {
  bool operator()(const Value& a, const Value& b) const { return CompareValues(a, b) < 0; }
};

struct Accumulator {
  std::set<Value, ValueLess> seen;  // the values so far of an aggregate with DISTINCT
  int64_t count = 0;
  bool saw_float = false;
  __int128 int_sum = 0;
  double float_sum = 0;
  Value extreme;  // min or max so far
};

struct TupleLess {
  bool operator()(const std::vector<Value>& a, const std::vector<Value>& b) const {
    for (size_t i = 0; i < a.size(); ++i) {
      const int order = CompareValues(a[i], b[i]);
      if (order != 0) return order < 0;
    }
    return false;
  }
};

std::string_view AggregateName(AggregateFunc func) {
  switch (func) {
    case AggregateFunc::kCount:
      return "count";
    case AggregateFunc::kSum:
      return "sum";
    case AggregateFunc::kMin:
      return "min";
    case AggregateFunc::kMax:
      return "max";
    case AggregateFunc::kAvg:
      return "avg";
  }
  return "?";
}

SqlStatus Accumulate(const Expr& aggregate, const EvalContext& context, Accumulator* acc) {
  if (aggregate.filter != nullptr) {
    MVDB_SQL_ASSIGN_OR_RETURN(const bool keep,
                              EvaluateCondition(*aggregate.filter, context, "FILTER"));
    if (!keep) return {};
  }
  if (aggregate.operands.empty()) {  // count(*)
    ++acc->count;
    return {};
  }
  MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*aggregate.operands[0], context));
  if (value.is_null()) return {};
  if (aggregate.distinct && !acc->seen.insert(value).second) return {};
  switch (aggregate.aggregate) {
    case AggregateFunc::kCount:
      break;
    case AggregateFunc::kSum:
    case AggregateFunc::kAvg:
      if (value.type() == TypeId::kInt) {
        acc->int_sum += value.int_value();
        acc->float_sum += static_cast<double>(value.int_value());
        if (aggregate.aggregate == AggregateFunc::kSum && !acc->saw_float &&
            (acc->int_sum > INT64_MAX || acc->int_sum < INT64_MIN)) {
          return MakeSqlError("22003", "bigint out of range");
        }
      } else if (value.type() == TypeId::kFloat) {
        acc->saw_float = true;
        acc->float_sum += value.float_value();
      } else {
        return MakeSqlError("42883", "function " + std::string(AggregateName(aggregate.aggregate)) +
                                         "(" + std::string(TypeName(value.type())) +
                                         ") does not exist");
      }
      break;
    case AggregateFunc::kMin:
    case AggregateFunc::kMax: {
      if (acc->extreme.is_null()) {
        acc->extreme = value;
        break;
      }
      const int order = CompareValues(value, acc->extreme);
      if ((aggregate.aggregate == AggregateFunc::kMin) == (order < 0) && order != 0) {
        acc->extreme = value;
      }
      break;
    }
  }
  ++acc->count;
  return {};
}

Value Finish(const Expr& aggregate, const Accumulator& acc) {
  switch (aggregate.aggregate) {
    case AggregateFunc::kCount:
      return Value::Int(acc.count);
    case AggregateFunc::kSum:
      if (acc.count == 0) return Value::Null();
      if (acc.saw_float) return Value::Float(acc.float_sum);
      return Value::Int(static_cast<int64_t>(acc.int_sum));
    case AggregateFunc::kAvg:
      if (acc.count == 0) return Value::Null();
      if (acc.saw_float) return Value::Float(acc.float_sum / static_cast<double>(acc.count));
      return Value::Float(static_cast<double>(acc.int_sum) / static_cast<double>(acc.count));
    case AggregateFunc::kMin:
    case AggregateFunc::kMax:
      return acc.extreme;
  }
  return Value::Null();
}

// What a grouped query may use outside aggregates: the GROUP BY
// expressions (by their ExprToUnqualifiedString), and every column of the
// table when the primary key's columns are all grouped (PostgreSQL's
// functional dependency).
struct Grouping {
  std::vector<std::string> texts;
  bool by_primary_key = false;
};

SqlError NotGrouped(const EvalContext& context, const std::string& column) {
  return MakeSqlError("42803", "column \"" + std::string(context.qualifier) + "." + column +
                                   "\" must appear in the GROUP BY clause or be used in an "
                                   "aggregate function");
}

// In a grouped query every column outside an aggregate must be part of a
// GROUP BY expression (42803).
SqlStatus CheckGrouped(const Expr& expr, const Grouping& grouping, const EvalContext& context) {
  if (expr.kind == ExprKind::kAggregate) return {};
  const std::string text = ExprToUnqualifiedString(expr);
  if (std::find(grouping.texts.begin(), grouping.texts.end(), text) != grouping.texts.end()) {
    return {};
  }
  if (expr.kind == ExprKind::kColumn) {
    if (grouping.by_primary_key) return {};
    return NotGrouped(context, expr.column);
  }
  for (const ExprPtr& operand : expr.operands) {
    MVDB_SQL_RETURN_IF_ERROR(CheckGrouped(*operand, grouping, context));
  }
  return {};
}

// The result column named `name`: -1 when none is, 42702 when several
// computing different things are.
SqlResult<int> OutputNamed(const std::vector<OutputColumn>& outputs, const std::string& name,
                           std::string_view clause) {
  int found = -1;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].name != name) continue;
    if (found >= 0 && outputs[found].text != outputs[i].text) {
      return MakeSqlError("42702", std::string(clause) + " \"" + name + "\" is ambiguous");
    }
    if (found < 0) found = static_cast<int>(i);
  }
  return found;
}

// The first result column computing `expr`, or -1.
int OutputComputing(const std::vector<OutputColumn>& outputs, const Expr& expr) {
  const std::string text = ExprToUnqualifiedString(expr);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].text == text) return static_cast<int>(i);
  }
  return -1;
}

int CompareSortValues(const std::vector<Value>& a, const std::vector<Value>& b,
                      const std::vector<SortKey>& keys) {
  for (size_t i = 0; i < keys.size(); ++i) {
    const Value& x = a[i];
    const Value& y = b[i];
    int order = 0;
    if (x.is_null() || y.is_null()) {
      if (x.is_null() && y.is_null()) continue;
      order = x.is_null() == keys[i].nulls_first ? -1 : 1;
    } else {
      order = CompareValues(x, y);
      if (keys[i].descending) order = -order;
    }
    if (order != 0) return order;
  }
  return 0;
}

}  // namespace

SqlResult<StatementResult> Executor::SelectStatement(const Select& select, Transaction& txn) {
  if (select.set_op != SetOp::kNone) return SetOperationStatement(select, txn);
  std::shared_ptr<const TableSchema> schema;
  if (!select.table.empty()) {
    MVDB_SQL_ASSIGN_OR_RETURN(schema, FindTable(select.table));
  }
  EvalContext context;
  context.table = schema.get();
  context.qualifier = select.table_alias.empty() ? select.table : select.table_alias;

  // The result's columns.
  std::vector<OutputColumn> outputs;
  std::vector<const Expr*> aggregates;
  for (const SelectItem& item : select.items) {
    if (item.is_star()) {
      if (!item.star_table.empty() && (schema == nullptr || item.star_table != context.qualifier)) {
        return UnknownQualifier(item.star_table, context);
      }
      if (schema == nullptr) {
        return MakeSqlError("42601", "SELECT * with no tables specified is not valid");
      }
      for (size_t i = 0; i < schema->columns.size(); ++i) {
        Expr column;
        column.kind = ExprKind::kColumn;
        column.column = schema->columns[i].name;
        outputs.push_back(OutputColumn{nullptr, static_cast<int>(i), schema->columns[i].name,
                                       ExprToUnqualifiedString(column)});
      }
      continue;
    }
    MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*item.expr, context, ExprPlace::kSelect, &aggregates));
    outputs.push_back(
        OutputColumn{item.expr.get(), -1, item.output_name, ExprToUnqualifiedString(*item.expr)});
  }
  const Expr* where = select.where.get();
  if (where != nullptr) {
    MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*where, context, ExprPlace::kWhere, nullptr));
  }

  // GROUP BY: an expression, or a result column's position.
  std::vector<const Expr*> group_exprs;
  std::vector<ExprPtr> star_groups;  // the columns of * that positions name
  for (const ExprPtr& expr : select.group_by) {
    const Expr* group = expr.get();
    if (group->kind == ExprKind::kLiteral && group->literal.type() == TypeId::kInt) {
      const int64_t position = group->literal.int_value();
      if (position < 1 || position > static_cast<int64_t>(outputs.size())) {
        return MakeSqlError(
            "42P10", "GROUP BY position " + std::to_string(position) + " is not in select list");
      }
      const OutputColumn& output = outputs[position - 1];
      group = output.expr;
      if (group == nullptr) {  // a column of *
        auto column = std::make_unique<Expr>();
        column->kind = ExprKind::kColumn;
        column->column = output.name;
        group = column.get();
        star_groups.push_back(std::move(column));
      }
    } else if (group->kind == ExprKind::kColumn && group->table.empty() &&
               (schema == nullptr || schema->ColumnIndex(group->column) < 0)) {
      // Not a table column: a result column's name (PostgreSQL tries the
      // table's columns first in GROUP BY, the result's first in ORDER BY).
      MVDB_SQL_ASSIGN_OR_RETURN(const int output, OutputNamed(outputs, group->column, "GROUP BY"));
      if (output >= 0) group = outputs[output].expr;
    }
    MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*group, context, ExprPlace::kGroupBy, nullptr));
    group_exprs.push_back(group);
  }
  const Expr* having = select.having.get();
  if (having != nullptr) {
    MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*having, context, ExprPlace::kSelect, &aggregates));
  }

  // An ORDER BY or DISTINCT ON item, as PostgreSQL resolves it: a
  // position, a result column's name (before a table column's), or an
  // expression, which is the result column computing the same or else is
  // computed apart (key.expr).
  const auto resolve = [&](const Expr& expr, std::string_view clause) -> SqlResult<SortKey> {
    SortKey key;
    if (expr.kind == ExprKind::kLiteral && expr.literal.type() == TypeId::kInt) {
      const int64_t position = expr.literal.int_value();
      if (position < 1 || position > static_cast<int64_t>(outputs.size())) {
        return MakeSqlError("42P10", std::string(clause) + " position " + std::to_string(position) +
                                         " is not in select list");
      }
      key.output = static_cast<int>(position - 1);
      return key;
    }
    if (expr.kind == ExprKind::kColumn && expr.table.empty()) {
      MVDB_SQL_ASSIGN_OR_RETURN(key.output, OutputNamed(outputs, expr.column, clause));
    }
    if (key.output < 0) {
      MVDB_SQL_RETURN_IF_ERROR(CheckExpr(expr, context, ExprPlace::kSelect, &aggregates));
      key.output = OutputComputing(outputs, expr);
    }
    if (key.output < 0) key.expr = &expr;
    return key;
  };
  std::vector<SortKey> sort_keys;
  for (const OrderItem& item : select.order_by) {
    MVDB_SQL_ASSIGN_OR_RETURN(SortKey key, resolve(*item.expr, "ORDER BY"));
    if (key.expr != nullptr && select.distinct) {
      return MakeSqlError("42P10",
                          "for SELECT DISTINCT, ORDER BY expressions must appear in select list");
    }
    key.descending = item.descending;
    key.nulls_first = item.nulls_first.value_or(item.descending);
    sort_keys.push_back(key);
  }

  // DISTINCT ON's expressions resolve as ORDER BY's, and must be what
  // ORDER BY starts with (in any order), as PostgreSQL requires.
  std::vector<SortKey> distinct_keys;
  for (const ExprPtr& item : select.distinct_on) {
    MVDB_SQL_ASSIGN_OR_RETURN(SortKey key, resolve(*item, "DISTINCT ON"));
    distinct_keys.push_back(key);
  }
  {
    const auto same = [](const SortKey& a, const SortKey& b) {
      if (a.output >= 0 || b.output >= 0) return a.output == b.output;
      return ExprToUnqualifiedString(*a.expr) == ExprToUnqualifiedString(*b.expr);
    };
    std::vector<bool> matched(distinct_keys.size(), false);
    size_t unmatched = distinct_keys.size();
    for (size_t i = 0; i < sort_keys.size() && unmatched > 0; ++i) {
      size_t d = 0;
      while (d < distinct_keys.size() && !same(sort_keys[i], distinct_keys[d])) ++d;
      if (d == distinct_keys.size()) {
        return MakeSqlError(
            "42P10", "SELECT DISTINCT ON expressions must match initial ORDER BY expressions");
      }
      if (!matched[d]) {
        matched[d] = true;
        --unmatched;
      }
    }
  }

  const bool grouped = !group_exprs.empty() || !aggregates.empty() || having != nullptr;
  if (grouped) {
    Grouping grouping;
    for (const Expr* expr : group_exprs) grouping.texts.push_back(ExprToUnqualifiedString(*expr));
    if (schema != nullptr && schema->has_primary_key()) {
      grouping.by_primary_key =
          std::all_of(schema->primary_key.begin(), schema->primary_key.end(), [&](int column) {
            Expr key;
            key.kind = ExprKind::kColumn;
            key.column = schema->columns[column].name;
            const std::string text = ExprToUnqualifiedString(key);
            return std::find(grouping.texts.begin(), grouping.texts.end(), text) !=
                   grouping.texts.end();
          });
    }
    for (const OutputColumn& output : outputs) {
      if (output.expr == nullptr) {
        const bool listed = std::find(grouping.texts.begin(), grouping.texts.end(), output.text) !=
                            grouping.texts.end();
        if (!listed && !grouping.by_primary_key) return NotGrouped(context, output.name);
        continue;
      }
      MVDB_SQL_RETURN_IF_ERROR(CheckGrouped(*output.expr, grouping, context));
    }
    if (having != nullptr) MVDB_SQL_RETURN_IF_ERROR(CheckGrouped(*having, grouping, context));
    for (const auto* keys : {&sort_keys, &distinct_keys}) {
      for (const SortKey& key : *keys) {
        if (key.expr != nullptr) {
          MVDB_SQL_RETURN_IF_ERROR(CheckGrouped(*key.expr, grouping, context));
        }
      }
    }
    if (select.for_update) {
      return MakeSqlError("0A000", group_exprs.empty()
                                       ? "FOR UPDATE is not allowed with aggregate functions"
                                       : "FOR UPDATE is not allowed with GROUP BY clause");
    }
  }

  if ((select.distinct || !distinct_keys.empty()) && select.for_update) {
    return MakeSqlError("0A000", "FOR UPDATE is not allowed with DISTINCT clause");
  }

  // The rows the WHERE keeps.
  std::vector<Candidate> candidates;
  std::unique_ptr<Iterator> reader;  // kept open for FOR UPDATE's re-checks
  AccessPath path;
  if (schema != nullptr) {
    path = PlanAccess(*schema, context.qualifier, where);
    MVDB_SQL_ASSIGN_OR_RETURN(candidates, ScanRows(txn, *schema, path, where, context, &reader));
    if (!select.for_update) reader.reset();
  } else {
    Candidate only;
    bool keep = true;
    if (where != nullptr) {
      MVDB_SQL_ASSIGN_OR_RETURN(keep, EvaluateCondition(*where, context));
    }
    if (keep) candidates.push_back(std::move(only));
  }

  // Outputs and sort values of one row (or group) in `row_context`.
  const auto make_row = [&](const EvalContext& row_context) -> SqlResult<ResultRow> {
    ResultRow result;
    for (const OutputColumn& output : outputs) {
      if (output.expr == nullptr) {
        result.outputs.push_back((*row_context.row)[output.column]);
      } else {
        MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*output.expr, row_context));
        result.outputs.push_back(std::move(value));
      }
    }
    for (const auto& [keys, values] : {std::pair(&sort_keys, &result.sort_values),
                                       std::pair(&distinct_keys, &result.distinct_on_values)}) {
      for (const SortKey& key : *keys) {
        if (key.output >= 0) {
          values->push_back(result.outputs[key.output]);
        } else {
          MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*key.expr, row_context));
          values->push_back(std::move(value));
        }
      }
    }
    return result;
  };

  std::vector<ResultRow> rows;
  if (grouped) {
    struct Group {
      std::vector<Value> first_row;
      std::vector<Accumulator> accumulators;
    };
    std::map<std::vector<Value>, Group, TupleLess> groups;
    for (Candidate& candidate : candidates) {
      EvalContext row_context = context;
      row_context.row = &candidate.row;
      std::vector<Value> group_key;
      for (const Expr* expr : group_exprs) {
        MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*expr, row_context));
        group_key.push_back(std::move(value));
      }
      auto [it, inserted] = groups.try_emplace(std::move(group_key));
      Group& group = it->second;
      if (inserted) {
        group.first_row = candidate.row;
        group.accumulators.resize(aggregates.size());
      }
      for (size_t i = 0; i < aggregates.size(); ++i) {
        MVDB_SQL_RETURN_IF_ERROR(Accumulate(*aggregates[i], row_context, &group.accumulators[i]));
      }
    }
    if (groups.empty() && group_exprs.empty()) {
      // Aggregates over no rows still make one row (count 0, sum NULL).
      Group& group = groups[{}];
      group.first_row.resize(schema == nullptr ? 0 : schema->columns.size());
      group.accumulators.resize(aggregates.size());
    }
    for (auto& [group_key, group] : groups) {
      std::unordered_map<const Expr*, Value> values;
      for (size_t i = 0; i < aggregates.size(); ++i) {
        values[aggregates[i]] = Finish(*aggregates[i], group.accumulators[i]);
      }
      EvalContext group_context = context;
      group_context.row = &group.first_row;
      group_context.aggregates = &values;
      if (having != nullptr) {
        MVDB_SQL_ASSIGN_OR_RETURN(const bool keep,
                                  EvaluateCondition(*having, group_context, "HAVING"));
        if (!keep) continue;
      }
      MVDB_SQL_ASSIGN_OR_RETURN(ResultRow row, make_row(group_context));
      rows.push_back(std::move(row));
    }
  } else {
    for (Candidate& candidate : candidates) {
      EvalContext row_context = context;
      row_context.row = &candidate.row;
      MVDB_SQL_ASSIGN_OR_RETURN(ResultRow row, make_row(row_context));
      row.source = std::move(candidate);
      rows.push_back(std::move(row));
    }
  }

  if (select.distinct) {
    // The first of each set of equal rows stays (every sort key is a result
    // column, so equal rows sort alike).
    std::set<std::vector<Value>, TupleLess> seen;
    std::erase_if(rows, [&](const ResultRow& row) { return !seen.insert(row.outputs).second; });
  }

  if (!sort_keys.empty()) {
    std::stable_sort(rows.begin(), rows.end(), [&](const ResultRow& a, const ResultRow& b) {
      return CompareSortValues(a.sort_values, b.sort_values, sort_keys) < 0;
    });
  }

  if (!distinct_keys.empty()) {
    // The first row of each set, in ORDER BY's order.
    std::set<std::vector<Value>, TupleLess> seen;
    std::erase_if(
        rows, [&](const ResultRow& row) { return !seen.insert(row.distinct_on_values).second; });
  }

  const size_t offset = static_cast<size_t>(select.offset.value_or(0));
  const size_t wanted = select.limit.has_value() ? offset + static_cast<size_t>(*select.limit)
                                                 : std::numeric_limits<size_t>::max();
  if (select.for_update && schema != nullptr) {
    std::vector<ResultRow> locked;
    for (ResultRow& row : rows) {
      if (locked.size() >= wanted) break;
      SqlResult<std::optional<std::vector<Value>>> locked_row =
          LockAndRecheck(txn, *schema, row.source, *reader, where, context);
      if (!locked_row.ok()) {
        SqlError error = locked_row.take_error();
        // PostgreSQL's row locking calls a deleted row an update, too.
        if (error.sqlstate == "40001") {
          error.message = "could not serialize access due to concurrent update";
        }
        return error;
      }
      const std::optional<std::vector<Value>>& current = locked_row.value();
      if (!current.has_value()) continue;
      EvalContext row_context = context;
      row_context.row = &*current;
      MVDB_SQL_ASSIGN_OR_RETURN(ResultRow fresh, make_row(row_context));
      locked.push_back(std::move(fresh));
    }
    rows = std::move(locked);
  }

  ResultSet result;
  for (const OutputColumn& output : outputs) {
    result.columns.push_back(output.name);
    result.types.push_back(output.expr == nullptr ? schema->columns[output.column].type
                                                  : InferType(*output.expr, context));
  }
  for (size_t i = offset; i < rows.size() && i < wanted; ++i) {
    result.rows.push_back(std::move(rows[i].outputs));
  }
  for (size_t c = 0; c < result.types.size(); ++c) {
    if (result.types[c] != TypeId::kNull) continue;
    for (const auto& row : result.rows) {
      if (!row[c].is_null()) {
        result.types[c] = row[c].type();
        break;
      }
    }
  }
  const std::string tag = "SELECT " + std::to_string(result.rows.size());
  return StatementResult{tag, std::move(result)};
}

}  // namespace mvdb::sql

namespace mvdb::sql {
namespace {

std::string_view SetOpName(SetOp op) {
  switch (op) {
    case SetOp::kUnion:
      return "UNION";
    case SetOp::kIntersect:
      return "INTERSECT";
    case SetOp::kExcept:
      return "EXCEPT";
    case SetOp::kNone:
      break;
  }
  return "?";
}

// The rows of `left` op `right`, as PostgreSQL combines them: without ALL
// each distinct row once (UNION: in either; INTERSECT: in both; EXCEPT:
// in the left only); with ALL, UNION keeps every row, INTERSECT a row as
// often as it is in both, EXCEPT as often as it is in the left more than
// in the right. Rows compare equal with NULLs equal. The left's rows come
// first, in their order.
std::vector<std::vector<Value>> CombineRows(SetOp op, bool all,
                                            std::vector<std::vector<Value>> left,
                                            std::vector<std::vector<Value>> right) {
  using Row = std::vector<Value>;
  std::vector<Row> rows;
  if (op == SetOp::kUnion) {
    rows = std::move(left);
    for (Row& row : right) rows.push_back(std::move(row));
    if (!all) {
      std::set<Row, TupleLess> seen;
      std::erase_if(rows, [&](const Row& row) { return !seen.insert(row).second; });
    }
    return rows;
  }
  std::map<Row, int64_t, TupleLess> in_right;
  for (Row& row : right) ++in_right[std::move(row)];
  std::set<Row, TupleLess> emitted;  // without ALL: each row once
  for (Row& row : left) {
    auto it = in_right.find(row);
    const bool matched = it != in_right.end() && it->second > 0;
    if (all && matched) --it->second;
    const bool keep = (op == SetOp::kIntersect) == matched;
    if (!keep || (!all && !emitted.insert(row).second)) continue;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

SqlResult<StatementResult> Executor::SetOperationStatement(const Select& select, Transaction& txn) {
  const std::string_view name = SetOpName(select.set_op);
  if (select.for_update || select.left->for_update || select.right->for_update) {
    return MakeSqlError("0A000", "FOR UPDATE is not allowed with UNION/INTERSECT/EXCEPT");
  }
  MVDB_SQL_ASSIGN_OR_RETURN(StatementResult left_result, SelectStatement(*select.left, txn));
  MVDB_SQL_ASSIGN_OR_RETURN(StatementResult right_result, SelectStatement(*select.right, txn));
  ResultSet left = std::move(*left_result.rows);
  ResultSet right = std::move(*right_result.rows);
  if (left.columns.size() != right.columns.size()) {
    return MakeSqlError(
        "42601", "each " + std::string(name) + " query must have the same number of columns");
  }
  // Each column's type: the two sides' common type (bigint and double
  // precision make double precision; other pairs must be equal).
  ResultSet result;
  result.columns = std::move(left.columns);
  for (size_t c = 0; c < result.columns.size(); ++c) {
    const TypeId a = left.types[c];
    const TypeId b = right.types[c];
    TypeId type = a == TypeId::kNull ? b : a;
    if (a != b && a != TypeId::kNull && b != TypeId::kNull) {
      const auto is_number = [](TypeId t) { return t == TypeId::kInt || t == TypeId::kFloat; };
      if (!is_number(a) || !is_number(b)) {
        return MakeSqlError("42804", std::string(name) + " types " + std::string(TypeName(a)) +
                                         " and " + std::string(TypeName(b)) + " cannot be matched");
      }
      type = TypeId::kFloat;
    }
    result.types.push_back(type);
    if (type != TypeId::kFloat) continue;
    for (auto* side : {&left.rows, &right.rows}) {
      for (std::vector<Value>& row : *side) {
        if (row[c].type() == TypeId::kInt) {
          row[c] = Value::Float(static_cast<double>(row[c].int_value()));
        }
      }
    }
  }
  std::vector<std::vector<Value>> rows =
      CombineRows(select.set_op, select.set_all, std::move(left.rows), std::move(right.rows));

  // ORDER BY of the whole: result columns only, by name or position.
  std::vector<SortKey> sort_keys;
  for (const OrderItem& item : select.order_by) {
    SortKey key;
    key.descending = item.descending;
    key.nulls_first = item.nulls_first.value_or(item.descending);
    const Expr& expr = *item.expr;
    if (expr.kind == ExprKind::kLiteral && expr.literal.type() == TypeId::kInt) {
      const int64_t position = expr.literal.int_value();
      if (position < 1 || position > static_cast<int64_t>(result.columns.size())) {
        return MakeSqlError(
            "42P10", "ORDER BY position " + std::to_string(position) + " is not in select list");
      }
      key.output = static_cast<int>(position - 1);
    } else if (expr.kind == ExprKind::kColumn && !expr.table.empty()) {
      return MakeSqlError("42P01", "missing FROM-clause entry for table \"" + expr.table + "\"");
    } else if (expr.kind == ExprKind::kColumn) {
      const auto it = std::find(result.columns.begin(), result.columns.end(), expr.column);
      if (it == result.columns.end()) {
        return MakeSqlError("42703", "column \"" + expr.column + "\" does not exist");
      }
      key.output = static_cast<int>(it - result.columns.begin());
    } else {
      return MakeSqlError("0A000", "invalid UNION/INTERSECT/EXCEPT ORDER BY clause");
    }
    sort_keys.push_back(key);
  }
  if (!sort_keys.empty()) {
    std::vector<std::vector<Value>> sort_values;
    std::vector<size_t> order(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      order[i] = i;
      std::vector<Value> values;
      for (const SortKey& key : sort_keys) values.push_back(rows[i][key.output]);
      sort_values.push_back(std::move(values));
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return CompareSortValues(sort_values[a], sort_values[b], sort_keys) < 0;
    });
    std::vector<std::vector<Value>> sorted;
    for (size_t i : order) sorted.push_back(std::move(rows[i]));
    rows = std::move(sorted);
  }
  const size_t offset = static_cast<size_t>(select.offset.value_or(0));
  const size_t wanted = select.limit.has_value() ? offset + static_cast<size_t>(*select.limit)
                                                 : std::numeric_limits<size_t>::max();
  for (size_t i = offset; i < rows.size() && i < wanted; ++i) {
    result.rows.push_back(std::move(rows[i]));
  }
  const std::string tag = "SELECT " + std::to_string(result.rows.size());
  return StatementResult{tag, std::move(result)};
}

}  // namespace mvdb::sql
