// The syntax tree the parser (sql/parser.h) builds: one Statement per SQL
// statement of the subset in docs/sql.md.
//
// The tree is what was written, resolved only as far as the grammar can:
// names are folded (unquoted identifiers to lower case), types mapped to
// TypeId, literals turned into Values, negative numeric literals folded.
// Whether a table or column exists, whether types fit, whether an aggregate
// may appear where it does: all of that is the executor's to check.
//
// Every expression node keeps where it came from, so errors found later can
// point at the source as PostgreSQL does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sql/value.h"

namespace mvdb::sql {

// A place in the statement text: byte offset, and 1-based line and column
// (the column counts UTF-8 characters, as PostgreSQL's positions do).
struct SourcePos {
  uint32_t offset = 0;
  uint32_t line = 1;
  uint32_t column = 1;
};

// The parser refuses expressions nested deeper than this (SQLSTATE 54001),
// so every recursive walk of a tree it returns (evaluation, printing,
// destruction) stays within a small, known stack depth.
inline constexpr int kMaxExpressionDepth = 1000;
// Set operations and parenthesized queries nest at most this deep (a
// Select's height, and the parser's recursion through parentheses): every
// pass over a query (locking, running, EXPLAIN, destruction) recurses once
// a level, with frames much larger than an expression's.
inline constexpr int kMaxQueryDepth = 100;

enum class ExprKind : uint8_t {
  kLiteral,    // literal
  kColumn,     // [table.]column
  kUnary,      // unary_op operands[0]
  kBinary,     // operands[0] binary_op operands[1]
  kIsNull,     // operands[0] IS [NOT] NULL
  kInList,     // operands[0] [NOT] IN (operands[1], ...)
  kBetween,    // operands[0] [NOT] BETWEEN operands[1] AND operands[2]
  kLike,       // operands[0] [NOT] LIKE operands[1]
  kAggregate,  // aggregate(operands[0]), or count(*) with no operand
  kFunction,   // function(operands...): coalesce, nullif, abs
  kCase,       // CASE [operand] WHEN w THEN t ... [ELSE e] END (Expr::case_*)
  kCast,       // CAST(operands[0] AS type), operands[0]::type (Expr::cast_*)
};

enum class UnaryOp : uint8_t { kNegate, kNot, kPlus };

enum class BinaryOp : uint8_t {
  kAdd,
  kSubtract,
  kMultiply,
  kDivide,
  kModulo,
  kEqual,
  kNotEqual,  // <> and !=
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kAnd,
  kOr,
};

enum class AggregateFunc : uint8_t { kCount, kSum, kMin, kMax, kAvg };

// The scalar functions (ExprKind::kFunction).
enum class ScalarFunc : uint8_t { kCoalesce, kNullif, kAbs };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// One expression node. Which fields mean something depends on `kind` (see
// ExprKind); the others keep their defaults.
struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  // Where the node starts; for a binary operator, IS, IN, BETWEEN and LIKE,
  // where the operator is (where PostgreSQL points, e.g. for 22012).
  SourcePos pos;
  // 1 for a leaf, else 1 + the tallest operand; never above
  // kMaxExpressionDepth.
  int height = 1;

  Value literal;  // kLiteral
  // kLiteral of a numeric constant with a point or an exponent (1.5, -2e3):
  // the text as written, its exact value (PostgreSQL's type numeric), while
  // `literal` holds the nearest double. Comparisons with integers use the
  // exact value (CompareSql in sql/compare.h); empty for other literals.
  std::string numeric;
  std::string table;   // kColumn: the qualifier, empty when none
  std::string column;  // kColumn
  UnaryOp unary_op = UnaryOp::kNegate;
  BinaryOp binary_op = BinaryOp::kAdd;
  AggregateFunc aggregate = AggregateFunc::kCount;
  bool distinct = false;  // kAggregate: count(DISTINCT e), sum(DISTINCT e), ...
  // kAggregate: the condition of FILTER (WHERE filter), null when none. Not
  // an operand (count(*) has none), but counted in `height`.
  std::unique_ptr<Expr> filter;
  ScalarFunc function = ScalarFunc::kCoalesce;  // kFunction
  // kCase: the operands are [x of CASE x WHEN ..., when case_operand], then
  // each WHEN and its THEN, then [the ELSE, when case_else].
  bool case_operand = false;
  bool case_else = false;
  // kCast: the type (a varchar's length in cast_length, else -1), and its
  // name as PostgreSQL knows it (int4, int8, float8, varchar, ...), which
  // names a result column: SELECT 1::bigint is "int8".
  TypeId cast_type = TypeId::kNull;
  int32_t cast_length = -1;
  std::string cast_type_name;
  bool negated = false;  // NOT IN, NOT BETWEEN, NOT LIKE, IS NOT NULL
  std::vector<ExprPtr> operands;
};

// Isolation levels as PostgreSQL parses them; like PostgreSQL, the executor
// runs READ UNCOMMITTED as READ COMMITTED, and decides what SERIALIZABLE is.
enum class IsolationLevel : uint8_t {
  kReadUncommitted,
  kReadCommitted,
  kRepeatableRead,
  kSerializable,
};

struct ColumnDef {
  std::string name;
  TypeId type = TypeId::kInt;
  // varchar(n): n; -1 when the type has no length (the executor may
  // enforce it as PostgreSQL does, 22001).
  int32_t max_length = -1;
  bool primary_key = false;  // written as a column constraint
  bool not_null = false;     // written; PRIMARY KEY implies it too
  bool unique = false;
  SourcePos pos;
};

// CREATE TABLE table (columns..., [PRIMARY KEY (a, b)])
struct CreateTable {
  std::string table;
  std::vector<ColumnDef> columns;
  // The primary key's columns in key order, from the column constraint or
  // the table constraint (at most one of them: else 42P16); empty when the
  // table has none (it gets a hidden row id).
  std::vector<std::string> primary_key;
};

struct DropTable {
  std::string table;
  bool if_exists = false;
};

// CREATE [UNIQUE] INDEX index ON table (columns)
struct CreateIndex {
  std::string index;
  std::string table;
  std::vector<std::string> columns;
  bool unique = false;
};

struct DropIndex {
  std::string index;
  bool if_exists = false;
};

// ALTER TABLE table ADD [COLUMN] column
struct AddColumn {
  std::string table;
  ColumnDef column;
};

// INSERT INTO table [(columns)] VALUES (row), (row), ...
struct Insert {
  std::string table;
  std::vector<std::string> columns;  // empty: the table's columns in order
  std::vector<std::vector<ExprPtr>> rows;
};

struct SelectItem {
  ExprPtr expr;  // null for * and t.*
  // The result column's name (docs/sql.md, as PostgreSQL names
  // them): the alias; else the column's name, the aggregate's function name,
  // "bool" for TRUE/FALSE; else "?column?". Empty for *.
  std::string output_name;
  std::string star_table;  // t.*: the qualifier; empty for a bare *
  bool is_star() const { return expr == nullptr; }
};

struct OrderItem {
  ExprPtr expr;
  bool descending = false;
  // NULLS FIRST / NULLS LAST when written; by default NULLs sort last
  // ascending and first descending.
  std::optional<bool> nulls_first;
};

enum class SetOp : uint8_t { kNone, kUnion, kIntersect, kExcept };

// SELECT [ALL | DISTINCT] items [FROM table [alias]] [WHERE e]
// [GROUP BY e, ...] [HAVING e] [ORDER BY ...] [LIMIT n] [OFFSET m]
// [FOR UPDATE]; or a set operation, `left` UNION | INTERSECT | EXCEPT
// [ALL] `right`, whose ORDER BY, LIMIT and OFFSET apply to the whole
// result (its other fields, items to having, stay empty).
struct Select {
  SetOp set_op = SetOp::kNone;
  bool set_all = false;  // UNION ALL, INTERSECT ALL, EXCEPT ALL
  std::unique_ptr<Select> left;
  std::unique_ptr<Select> right;
  int height = 1;  // 1 + the larger of left's and right's (kMaxQueryDepth)

  bool distinct = false;  // SELECT DISTINCT: duplicate result rows removed
  // SELECT DISTINCT ON (e, ...): the first row (in ORDER BY order) of each
  // set of rows equal in these expressions; `distinct` stays false.
  std::vector<ExprPtr> distinct_on;
  std::vector<SelectItem> items;
  std::string table;  // empty: no FROM (SELECT 1 + 1)
  std::string table_alias;
  ExprPtr where;  // null when absent
  std::vector<ExprPtr> group_by;
  ExprPtr having;  // null when absent
  std::vector<OrderItem> order_by;
  std::optional<int64_t> limit;  // absent: no LIMIT, or LIMIT ALL
  std::optional<int64_t> offset;
  bool for_update = false;
};

struct Assignment {
  std::string column;
  ExprPtr value;
  SourcePos pos;  // of the column name
};

// UPDATE table SET column = e, ... [WHERE e]
struct Update {
  std::string table;
  std::vector<Assignment> assignments;
  ExprPtr where;
};

// DELETE FROM table [WHERE e]
struct Delete {
  std::string table;
  ExprPtr where;
};

struct Statement;

// EXPLAIN statement (a SELECT, INSERT, UPDATE or DELETE)
struct Explain {
  std::unique_ptr<Statement> statement;
};

// BEGIN [TRANSACTION|WORK] / START TRANSACTION, [ISOLATION LEVEL L]
struct Begin {
  std::optional<IsolationLevel> isolation;
};

struct Commit {};    // COMMIT [WORK|TRANSACTION], END
struct Rollback {};  // ROLLBACK [WORK|TRANSACTION], ABORT

// SET TRANSACTION ISOLATION LEVEL L (this transaction), or
// SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL L (the
// session's default for new transactions).
struct SetIsolation {
  IsolationLevel level = IsolationLevel::kReadCommitted;
  bool session_default = false;
};

// SHOW name (SHOW TRANSACTION ISOLATION LEVEL is SHOW
// transaction_isolation); the executor knows which names exist (42704).
struct Show {
  std::string name;
};

using StatementNode =
    std::variant<CreateTable, DropTable, CreateIndex, DropIndex, AddColumn, Insert, Select, Update,
                 Delete, Explain, Begin, Commit, Rollback, SetIsolation, Show>;

struct Statement {
  StatementNode node;
  SourcePos pos;     // of the first token
  std::string text;  // the statement's source, without the ';'
};

}  // namespace mvdb::sql
