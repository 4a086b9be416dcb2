// Expression evaluation for the executor: SQL errors as values (SqlStatus,
// SqlResult), the row an expression sees (EvalContext), evaluation with
// PostgreSQL's semantics (three-valued logic, exact bigint arithmetic that
// fails with 22003 on overflow, 22012 on division by zero, comparisons
// with PostgreSQL's numeric casts (sql/compare.h), LIKE), and the conversions a
// value goes through on its way into a column.
//
// Threading: pure functions over their arguments.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "sql/ast.h"
#include "sql/catalog.h"
#include "sql/session.h"
#include "sql/value.h"

namespace mvdb::sql {

inline SqlError MakeSqlError(std::string sqlstate, std::string message) {
  return SqlError{std::move(sqlstate), std::move(message)};
}

// OK, or the SqlError a statement fails with.
class [[nodiscard]] SqlStatus {
 public:
  SqlStatus() = default;
  SqlStatus(SqlError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return !error_.has_value(); }
  // REQUIRES: !ok().
  const SqlError& error() const { return *error_; }
  SqlError&& take_error() { return std::move(*error_); }

 private:
  std::optional<SqlError> error_;
};

// A value or the SqlError that prevented it.
template <typename T>
class [[nodiscard]] SqlResult {
 public:
  SqlResult(T value) : rep_(std::in_place_index<0>, std::move(value)) {}         // NOLINT
  SqlResult(SqlError error) : rep_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return rep_.index() == 0; }
  T& value() & { return std::get<0>(rep_); }
  T&& value() && { return std::get<0>(std::move(rep_)); }
  const SqlError& error() const { return std::get<1>(rep_); }
  SqlError&& take_error() { return std::get<1>(std::move(rep_)); }

 private:
  std::variant<T, SqlError> rep_;
};

#define MVDB_SQL_RETURN_IF_ERROR(expr)                                \
  do {                                                                \
    auto mvdb_sql_status_ = (expr);                                   \
    if (!mvdb_sql_status_.ok()) return mvdb_sql_status_.take_error(); \
  } while (0)

#define MVDB_SQL_ASSIGN_OR_RETURN(lhs, expr) \
  MVDB_SQL_ASSIGN_OR_RETURN_IMPL_(MVDB_CONCAT_(mvdb_sql_result_, __LINE__), lhs, expr)
#define MVDB_SQL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.take_error();               \
  lhs = std::move(tmp).value()

// What an expression sees while it is evaluated.
struct EvalContext {
  const TableSchema* table = nullptr;  // null: no FROM (or VALUES)
  std::string_view qualifier;          // the name column qualifiers use (alias or table)
  const std::vector<Value>* row = nullptr;
  // In a grouped query, the current group's aggregate values by node.
  const std::unordered_map<const Expr*, Value>* aggregates = nullptr;
};

// Where an expression appears, for the placement rules of aggregates.
enum class ExprPlace { kWhere, kSelect, kGroupBy, kUpdateSet, kValues };

// Checks before any row is read that every column exists (42703, 42P01 for
// an unknown qualifier) and that aggregates appear only where allowed
// (42803), as PostgreSQL does at plan time. Appends the aggregate nodes
// found to *aggregates when it is not null.
SqlStatus CheckExpr(const Expr& expr, const EvalContext& context, ExprPlace place,
                    std::vector<const Expr*>* aggregates);

// 42P01 for a column qualifier that names no table of the query: "missing
// FROM-clause entry for table "x"", or "invalid reference to ..." when it
// is the table's name but the query calls the table by an alias.
SqlError UnknownQualifier(std::string_view qualifier, const EvalContext& context);

// 42883 "operator does not exist: left op right".
SqlError OperatorDoesNotExist(std::string_view op, TypeId left, TypeId right);

// Evaluates `expr` over context.row.
SqlResult<Value> Evaluate(const Expr& expr, const EvalContext& context);

// Evaluates a WHERE (or HAVING, `clause`) condition: true keeps the row,
// false or NULL drops it; a non-boolean is 42804.
SqlResult<bool> EvaluateCondition(const Expr& expr, const EvalContext& context,
                                  std::string_view clause = "WHERE");

// The type `expr` produces, or kNull when unknown before evaluation.
TypeId InferType(const Expr& expr, const EvalContext& context);

// `value` converted for storing in `column` of `table`: the assignment
// casts PostgreSQL applies (bigint <-> double precision, text parsed into
// other types with 22P02 on bad input, anything into text), 42804 for a
// type that does not convert, 22001 past a varchar's length unless the
// characters past it are all spaces (then it is cut to the length, as
// PostgreSQL does). NULL stays NULL (the NOT NULL check is the caller's).
// `numeric` is the exact text of the numeric literal `value` comes from, if
// any (NumericText in sql/compare.h): PostgreSQL rounds numeric to bigint
// halves away from zero (2.5 is 3), double precision halves to even (2).
SqlResult<Value> CoerceToColumn(Value value, const ColumnSchema& column,
                                std::string_view numeric = {});

// The value as PostgreSQL prints it in text (t/f for booleans is the
// output format; this is the cast to text: true/false).
std::string ValueToText(const Value& value);

// LIKE with % (any string) and _ (one character), backslash escaping the
// next character.
SqlResult<bool> MatchLike(std::string_view text, std::string_view pattern);

}  // namespace mvdb::sql
