// SQL comparison operators (= <> < <= > >=, and IN and BETWEEN built on
// them) with PostgreSQL's casts between the numeric types: the one rule the
// executor's filters and the planner's key ranges both follow, so that an
// answer never depends on the access path.
//
// PostgreSQL has no operator comparing bigint with double precision: it
// casts the bigint to double precision (rounding to the nearest double), so
// 9007199254740993 = 9007199254740992.0 is true there. A numeric literal
// (1.5, 1e3: PostgreSQL's type numeric, which mvdb has no column type for)
// is compared with a bigint exactly (the bigint is cast to numeric) and
// with a double precision value as its nearest double (numeric is cast to
// double precision).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sql/ast.h"
#include "sql/expression.h"
#include "sql/value.h"

namespace mvdb::sql {

// One side of a comparison: a value and, when it comes from a numeric
// literal, the literal's text (Expr::numeric), which is its exact value;
// `value` then holds the nearest double.
struct Comparand {
  Value value;
  std::string_view numeric;
};

// The order of two non-NULL comparands (negative, zero, positive):
//   - bigint with bigint exactly; text with text byte-wise (the C
//     collation); boolean with boolean (false < true);
//   - double precision with double precision in PostgreSQL's float order
//     (-0 = 0; NaN equals NaN and is above every number, +Infinity too);
//   - bigint with double precision: the bigint cast to double precision,
//     then as above;
//   - a numeric literal with a bigint or another numeric literal: exactly,
//     by decimal value; with a double precision value: its nearest double;
//   - any other mix is 42883 "operator does not exist", naming `op`.
// REQUIRES: neither value is NULL.
SqlResult<int> CompareSql(std::string_view op, const Comparand& a, const Comparand& b);

// The comparand a constant is when compared with a value of type `type`: a
// literal's value (with its exact text if numeric; +5 is 5), or a text literal read
// as `type` (PostgreSQL's untyped literal, as WHERE reads it); nullopt for
// NULL, anything but a literal, and text that `type` cannot read. What the
// planner compares key columns with.
std::optional<Comparand> ConstantComparand(const Expr& expr, TypeId type);

// The exact text of a numeric literal (Expr::numeric), also under unary
// pluses (+1.5), else empty.
std::string_view NumericText(const Expr& expr);

// A numeric literal's text rounded to a bigint as PostgreSQL casts numeric
// to bigint (halves away from zero: 2.5 is 3, -2.5 is -3); nullopt when it
// is not such a number or the result is outside bigint.
std::optional<int64_t> RoundNumericToBigint(std::string_view decimal);

// The exact order of an integer and a decimal number written as SQL's
// numeric literals are ([-]digits[.digits][e[+-]digits]); nullopt when
// `decimal` is not such a number. Exposed for tests.
std::optional<int> CompareIntWithDecimal(int64_t i, std::string_view decimal);

}  // namespace mvdb::sql
