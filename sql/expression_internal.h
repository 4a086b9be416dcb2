// The helpers of expression evaluation that its two files share:
// expression.cc (operators, predicates, CheckExpr, Evaluate, InferType) and
// scalar.cc (CASE, coalesce, nullif, abs, CAST). Not for other users: the
// interface is expression.h.
#pragma once

#include <string>
#include <string_view>

#include "sql/ast.h"
#include "sql/expression.h"

namespace mvdb::sql::expression_internal {

SqlError OutOfRange();  // 22003 bigint out of range
// 42804 "argument of WHAT must be type boolean, not type T".
SqlError NotBoolean(std::string_view what, TypeId type);
bool IsNumeric(TypeId type);

// Text parsed as a value of `type`, as PostgreSQL's input functions do
// (22P02 when it does not read, 22003 out of range).
SqlResult<Value> ParseText(const std::string& text, TypeId type);

// PostgreSQL's untyped string literal: when one operand is a string
// literal and the other a non-text value, the literal takes that type.
SqlStatus UnifyLiteral(const Expr& left_expr, Value* left, const Expr& right_expr, Value* right);

// `a op b` for a comparison operator, with CompareSql's casts; NULL when
// either is NULL.
SqlResult<Value> Comparison(BinaryOp op, const Expr& a_expr, const Value& a, const Expr& b_expr,
                            const Value& b);

// The length of the UTF-8 character starting at s[i] (1 for a stray byte).
size_t CharLength(std::string_view s, size_t i);

// scalar.cc: the expression kinds kFunction, kCase and kCast.
// What CheckExpr checks of them before any row is read, as PostgreSQL
// does at parse time (argument types, result types that do not match).
SqlStatus CheckScalar(const Expr& expr, const EvalContext& context);
SqlResult<Value> EvaluateScalar(const Expr& expr, const EvalContext& context);
TypeId InferScalarType(const Expr& expr, const EvalContext& context);

}  // namespace mvdb::sql::expression_internal
