// CASE, coalesce, nullif, abs and CAST with PostgreSQL's semantics
// (expression_internal.h).
//
// Result types. CASE and coalesce return the common type of their result
// expressions, found as PostgreSQL's select_common_type finds it: untyped
// string literals and NULL take no part, the others must be of one
// category (numbers, text, boolean; else 42804 "CASE types boolean and
// bigint cannot be matched"), and a bigint meeting a double precision
// makes the result double precision. CASE looks at its ELSE first, as
// PostgreSQL does, which decides which type a message names first. A
// value is converted to the common type as it is returned (a bigint to
// double precision; an untyped literal read as the type, 22P02 when it
// does not read).
//
// Casts are PostgreSQL's explicit casts between mvdb's types: numbers to
// bigint round (a numeric literal half away from zero, a double precision
// half to even), text reads as the type, anything prints as text, a bigint
// and a boolean convert both ways (PostgreSQL's int4 <-> bool, mvdb's
// integers being one type), double precision and boolean do not (42846).
#include <cmath>
#include <limits>
#include <vector>

#include "sql/compare.h"
#include "sql/expression_internal.h"
#include "sql/parser.h"

namespace mvdb::sql::expression_internal {
namespace {

// A string literal: PostgreSQL's type "unknown", resolved by context.
bool IsUntypedLiteral(const Expr& expr) {
  return expr.kind == ExprKind::kLiteral && expr.literal.type() == TypeId::kText;
}

// The expressions whose values a CASE or coalesce returns, in the order
// PostgreSQL resolves their type (a CASE's ELSE first).
std::vector<const Expr*> ResultExprs(const Expr& expr) {
  std::vector<const Expr*> results;
  if (expr.kind == ExprKind::kCase) {
    if (expr.case_else) results.push_back(expr.operands.back().get());
    const size_t end = expr.operands.size() - (expr.case_else ? 1 : 0);
    for (size_t i = expr.case_operand ? 2 : 1; i < end; i += 2) {
      results.push_back(expr.operands[i].get());
    }
  } else {
    for (const ExprPtr& operand : expr.operands) results.push_back(operand.get());
  }
  return results;
}

enum class Category { kNone, kNumber, kText, kBool };

Category CategoryOf(TypeId type) {
  switch (type) {
    case TypeId::kInt:
    case TypeId::kFloat:
      return Category::kNumber;
    case TypeId::kText:
      return Category::kText;
    case TypeId::kBool:
      return Category::kBool;
    case TypeId::kNull:
      break;
  }
  return Category::kNone;
}

// The common type of a CASE's or coalesce's results (kNull: only NULLs).
SqlResult<TypeId> CommonType(const Expr& expr, const EvalContext& context) {
  const std::string_view construct = expr.kind == ExprKind::kCase ? "CASE" : "COALESCE";
  TypeId common = TypeId::kNull;
  bool untyped = false;
  for (const Expr* result : ResultExprs(expr)) {
    if (IsUntypedLiteral(*result)) {
      untyped = true;
      continue;
    }
    const TypeId type = InferType(*result, context);
    if (type == TypeId::kNull || type == common) continue;
    if (common == TypeId::kNull) {
      common = type;
    } else if (CategoryOf(type) != CategoryOf(common)) {
      return MakeSqlError("42804", std::string(construct) + " types " +
                                       std::string(TypeName(common)) + " and " +
                                       std::string(TypeName(type)) + " cannot be matched");
    } else {
      common = TypeId::kFloat;  // bigint and double precision
    }
  }
  if (common == TypeId::kNull && untyped) return TypeId::kText;
  return common;
}

// `value`, computed by `result`, one of the results of `whole`, in the
// common type of them all.
SqlResult<Value> InCommonType(Value value, const Expr& result, const Expr& whole,
                              const EvalContext& context) {
  const bool convertible =
      value.type() == TypeId::kInt || (value.type() == TypeId::kText && IsUntypedLiteral(result));
  if (!convertible) return value;
  MVDB_SQL_ASSIGN_OR_RETURN(const TypeId common, CommonType(whole, context));
  if (common == TypeId::kFloat && value.type() == TypeId::kInt) {
    return Value::Float(static_cast<double>(value.int_value()));
  }
  if (value.type() == TypeId::kText && common != TypeId::kText && common != TypeId::kNull) {
    return ParseText(value.text_value(), common);
  }
  return value;
}

SqlResult<Value> EvaluateCase(const Expr& expr, const EvalContext& context) {
  Value subject;
  size_t i = 0;
  if (expr.case_operand) {
    MVDB_SQL_ASSIGN_OR_RETURN(subject, Evaluate(*expr.operands[0], context));
    i = 1;
  }
  const size_t end = expr.operands.size() - (expr.case_else ? 1 : 0);
  for (; i + 1 < end; i += 2) {
    const Expr& when_expr = *expr.operands[i];
    MVDB_SQL_ASSIGN_OR_RETURN(Value when, Evaluate(when_expr, context));
    bool hit = false;
    if (expr.case_operand) {
      // CASE x WHEN v is x = v.
      Value left = subject;
      MVDB_SQL_RETURN_IF_ERROR(UnifyLiteral(*expr.operands[0], &left, when_expr, &when));
      MVDB_SQL_ASSIGN_OR_RETURN(
          Value equal, Comparison(BinaryOp::kEqual, *expr.operands[0], left, when_expr, when));
      hit = !equal.is_null() && equal.bool_value();
    } else {
      if (IsUntypedLiteral(when_expr)) {
        MVDB_SQL_ASSIGN_OR_RETURN(when, ParseText(when.text_value(), TypeId::kBool));
      }
      if (!when.is_null() && when.type() != TypeId::kBool) {
        return NotBoolean("CASE/WHEN", when.type());
      }
      hit = !when.is_null() && when.bool_value();
    }
    if (hit) {
      const Expr& then = *expr.operands[i + 1];
      MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(then, context));
      return InCommonType(std::move(value), then, expr, context);
    }
  }
  if (!expr.case_else) return Value::Null();
  const Expr& otherwise = *expr.operands.back();
  MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(otherwise, context));
  return InCommonType(std::move(value), otherwise, expr, context);
}

SqlError NoSuchFunction(const Expr& expr, const EvalContext& context) {
  std::string types;
  for (const ExprPtr& operand : expr.operands) {
    if (!types.empty()) types += ", ";
    types += TypeName(InferType(*operand, context));
  }
  return MakeSqlError("42883", "function " + std::string(ScalarFuncName(expr.function)) + "(" +
                                   types + ") does not exist");
}

SqlResult<Value> EvaluateFunction(const Expr& expr, const EvalContext& context) {
  switch (expr.function) {
    case ScalarFunc::kCoalesce:
      for (const ExprPtr& operand : expr.operands) {
        MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*operand, context));
        if (!value.is_null()) return InCommonType(std::move(value), *operand, expr, context);
      }
      return Value::Null();
    case ScalarFunc::kNullif: {
      MVDB_SQL_ASSIGN_OR_RETURN(Value left, Evaluate(*expr.operands[0], context));
      MVDB_SQL_ASSIGN_OR_RETURN(Value right, Evaluate(*expr.operands[1], context));
      MVDB_SQL_RETURN_IF_ERROR(UnifyLiteral(*expr.operands[0], &left, *expr.operands[1], &right));
      MVDB_SQL_ASSIGN_OR_RETURN(Value equal, Comparison(BinaryOp::kEqual, *expr.operands[0], left,
                                                        *expr.operands[1], right));
      if (!equal.is_null() && equal.bool_value()) return Value::Null();
      return left;
    }
    case ScalarFunc::kAbs: {
      if (expr.operands.size() != 1) return NoSuchFunction(expr, context);
      MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*expr.operands[0], context));
      if (value.is_null()) return value;
      if (IsUntypedLiteral(*expr.operands[0])) {
        // PostgreSQL resolves abs(unknown) to the numbers' preferred type.
        MVDB_SQL_ASSIGN_OR_RETURN(value, ParseText(value.text_value(), TypeId::kFloat));
      }
      if (value.type() == TypeId::kInt) {
        if (value.int_value() == std::numeric_limits<int64_t>::min()) return OutOfRange();
        return Value::Int(value.int_value() < 0 ? -value.int_value() : value.int_value());
      }
      if (value.type() == TypeId::kFloat) return Value::Float(std::fabs(value.float_value()));
      return MakeSqlError(
          "42883", "function abs(" + std::string(TypeName(value.type())) + ") does not exist");
    }
  }
  return MakeSqlError("XX000", "unknown function");
}

SqlError CannotCast(TypeId from, TypeId to) {
  return MakeSqlError("42846", "cannot cast type " + std::string(TypeName(from)) + " to " +
                                   std::string(TypeName(to)));
}

// A value to text as a cast prints it; a numeric literal keeps the digits
// it was written with (1.50::text is '1.50'), as PostgreSQL's numeric.
std::string CastText(const Value& value, const Expr& operand) {
  const std::string_view numeric = NumericText(operand);
  if (!numeric.empty() && numeric.find_first_of("eE") == std::string_view::npos) {
    return std::string(numeric);
  }
  return ValueToText(value);
}

SqlResult<Value> EvaluateCast(const Expr& expr, const EvalContext& context) {
  const Expr& operand = *expr.operands[0];
  MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(operand, context));
  if (value.is_null()) return value;
  if (value.type() == expr.cast_type && expr.cast_type != TypeId::kText) return value;
  switch (expr.cast_type) {
    case TypeId::kInt:
      if (value.type() == TypeId::kBool) return Value::Int(value.bool_value() ? 1 : 0);
      if (value.type() == TypeId::kText) return ParseText(value.text_value(), TypeId::kInt);
      {
        ColumnSchema column;  // the conversions of a store into a bigint column
        column.type = TypeId::kInt;
        return CoerceToColumn(std::move(value), column, NumericText(operand));
      }
    case TypeId::kFloat:
      if (value.type() == TypeId::kInt) return Value::Float(static_cast<double>(value.int_value()));
      if (value.type() == TypeId::kText) return ParseText(value.text_value(), TypeId::kFloat);
      return CannotCast(value.type(), TypeId::kFloat);
    case TypeId::kBool:
      if (value.type() == TypeId::kInt) return Value::Bool(value.int_value() != 0);
      if (value.type() == TypeId::kText) return ParseText(value.text_value(), TypeId::kBool);
      return CannotCast(value.type(), TypeId::kBool);
    case TypeId::kText: {
      std::string text = CastText(value, operand);
      if (expr.cast_length >= 0) {
        // An explicit cast to varchar(n) cuts what is longer, silently.
        size_t end = 0;
        for (int32_t chars = 0; end < text.size() && chars < expr.cast_length; ++chars) {
          end += CharLength(text, end);
        }
        text.resize(end);
      }
      return Value::Text(std::move(text));
    }
    case TypeId::kNull:
      break;
  }
  return CannotCast(value.type(), expr.cast_type);
}

}  // namespace

SqlStatus CheckScalar(const Expr& expr, const EvalContext& context) {
  switch (expr.kind) {
    case ExprKind::kCase: {
      MVDB_SQL_ASSIGN_OR_RETURN(const TypeId common, CommonType(expr, context));
      (void)common;
      if (expr.case_operand) return {};
      const size_t end = expr.operands.size() - (expr.case_else ? 1 : 0);
      for (size_t i = 0; i + 1 < end; i += 2) {
        if (IsUntypedLiteral(*expr.operands[i])) continue;
        const TypeId type = InferType(*expr.operands[i], context);
        if (type != TypeId::kBool && type != TypeId::kNull) return NotBoolean("CASE/WHEN", type);
      }
      return {};
    }
    case ExprKind::kFunction:
      if (expr.function == ScalarFunc::kCoalesce) {
        MVDB_SQL_ASSIGN_OR_RETURN(const TypeId common, CommonType(expr, context));
        (void)common;
      } else if (expr.function == ScalarFunc::kAbs) {
        if (expr.operands.size() != 1) return NoSuchFunction(expr, context);
        const TypeId type = InferType(*expr.operands[0], context);
        const bool untyped = IsUntypedLiteral(*expr.operands[0]);
        if ((type == TypeId::kText && !untyped) || type == TypeId::kBool) {
          return NoSuchFunction(expr, context);
        }
      }
      return {};
    case ExprKind::kCast: {
      if (IsUntypedLiteral(*expr.operands[0])) return {};
      const TypeId from = InferType(*expr.operands[0], context);
      const bool impossible = (from == TypeId::kFloat && expr.cast_type == TypeId::kBool) ||
                              (from == TypeId::kBool && expr.cast_type == TypeId::kFloat);
      if (impossible) return CannotCast(from, expr.cast_type);
      return {};
    }
    default:
      return {};
  }
}

SqlResult<Value> EvaluateScalar(const Expr& expr, const EvalContext& context) {
  switch (expr.kind) {
    case ExprKind::kCase:
      return EvaluateCase(expr, context);
    case ExprKind::kFunction:
      return EvaluateFunction(expr, context);
    case ExprKind::kCast:
      return EvaluateCast(expr, context);
    default:
      break;
  }
  return MakeSqlError("XX000", "not a scalar expression");
}

TypeId InferScalarType(const Expr& expr, const EvalContext& context) {
  switch (expr.kind) {
    case ExprKind::kCase: {
      SqlResult<TypeId> common = CommonType(expr, context);
      return common.ok() ? common.value() : TypeId::kNull;
    }
    case ExprKind::kFunction:
      if (expr.function == ScalarFunc::kCoalesce) {
        SqlResult<TypeId> common = CommonType(expr, context);
        return common.ok() ? common.value() : TypeId::kNull;
      }
      if (expr.operands.empty()) return TypeId::kNull;
      if (expr.function == ScalarFunc::kAbs && IsUntypedLiteral(*expr.operands[0])) {
        return TypeId::kFloat;
      }
      return InferType(*expr.operands[0], context);
    case ExprKind::kCast:
      return expr.cast_type;
    default:
      return TypeId::kNull;
  }
}

}  // namespace mvdb::sql::expression_internal
