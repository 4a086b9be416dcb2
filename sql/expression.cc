// Expression evaluation with PostgreSQL's semantics (expression.h).
//
// Types are checked as values are computed, except for the column and
// aggregate checks CheckExpr does up front; an untyped string literal
// ('12') takes the type of the other operand, as PostgreSQL resolves its
// "unknown" literals.
#include "sql/expression.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "sql/compare.h"
#include "sql/expression_internal.h"
#include "sql/key_codec.h"
#include "sql/parser.h"

namespace mvdb::sql {

SqlError UnknownQualifier(std::string_view qualifier, const EvalContext& context) {
  // The table's own name after it was given an alias, or another name.
  const bool aliased = context.table != nullptr && qualifier == context.table->name;
  return MakeSqlError("42P01", std::string(aliased ? "invalid reference to" : "missing") +
                                   " FROM-clause entry for table \"" + std::string(qualifier) +
                                   "\"");
}

SqlError OperatorDoesNotExist(std::string_view op, TypeId left, TypeId right) {
  return MakeSqlError("42883", "operator does not exist: " + std::string(TypeName(left)) + " " +
                                   std::string(op) + " " + std::string(TypeName(right)));
}

namespace expression_internal {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

SqlError OutOfRange() { return MakeSqlError("22003", "bigint out of range"); }
SqlError DivisionByZero() { return MakeSqlError("22012", "division by zero"); }

std::string_view OperatorText(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSubtract:
      return "-";
    case BinaryOp::kMultiply:
      return "*";
    case BinaryOp::kDivide:
      return "/";
    case BinaryOp::kModulo:
      return "%";
    case BinaryOp::kEqual:
      return "=";
    case BinaryOp::kNotEqual:
      return "<>";
    case BinaryOp::kLess:
      return "<";
    case BinaryOp::kLessEqual:
      return "<=";
    case BinaryOp::kGreater:
      return ">";
    case BinaryOp::kGreaterEqual:
      return ">=";
    case BinaryOp::kAnd:
      return "AND";
    case BinaryOp::kOr:
      return "OR";
  }
  return "?";
}

SqlError NotBoolean(std::string_view what, TypeId type) {
  return MakeSqlError("42804", "argument of " + std::string(what) +
                                   " must be type boolean, not type " +
                                   std::string(TypeName(type)));
}

bool IsNumeric(TypeId type) { return type == TypeId::kInt || type == TypeId::kFloat; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

SqlError InvalidInput(TypeId type, std::string_view text) {
  return MakeSqlError("22P02", "invalid input syntax for type " + std::string(TypeName(type)) +
                                   ": \"" + std::string(text) + "\"");
}

// Text parsed as a value of `type`, as PostgreSQL's input functions do.
SqlResult<Value> ParseText(const std::string& text, TypeId type) {
  const std::string_view trimmed = Trim(text);
  switch (type) {
    case TypeId::kInt: {
      std::string_view digits = trimmed;
      if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
      int64_t value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (digits.empty() || end != digits.data() + digits.size()) {
        if (ec == std::errc::result_out_of_range) {
          return MakeSqlError("22003", "value \"" + text + "\" is out of range for type bigint");
        }
        return InvalidInput(type, text);
      }
      if (ec == std::errc::result_out_of_range) {
        return MakeSqlError("22003", "value \"" + text + "\" is out of range for type bigint");
      }
      return Value::Int(value);
    }
    case TypeId::kFloat: {
      const std::string copy(trimmed);
      char* end = nullptr;
      errno = 0;
      const double value = std::strtod(copy.c_str(), &end);
      if (copy.empty() || end != copy.c_str() + copy.size()) return InvalidInput(type, text);
      if (errno == ERANGE && std::isinf(value)) {
        return MakeSqlError("22003", "\"" + text + "\" is out of range for type double precision");
      }
      return Value::Float(value);
    }
    case TypeId::kBool: {
      std::string lower;
      for (char c : trimmed) lower.push_back(static_cast<char>(std::tolower(c)));
      const auto prefix_of = [&](std::string_view word) {
        return !lower.empty() && word.starts_with(lower);
      };
      if (lower == "1" || prefix_of("true") || prefix_of("yes") || lower == "on") {
        return Value::Bool(true);
      }
      if (lower == "0" || prefix_of("false") || prefix_of("no") || lower == "off" ||
          lower == "of") {
        return Value::Bool(false);
      }
      return InvalidInput(type, text);
    }
    case TypeId::kText:
      return Value::Text(text);
    case TypeId::kNull:
      break;
  }
  return Value::Text(text);
}

// PostgreSQL's untyped string literal: when one operand is a string
// literal and the other a non-text value, the literal takes that type.
SqlStatus UnifyLiteral(const Expr& left_expr, Value* left, const Expr& right_expr, Value* right) {
  const auto adopt = [](const Expr& expr, Value* value, const Value& other) -> SqlStatus {
    if (expr.kind != ExprKind::kLiteral || value->type() != TypeId::kText) return {};
    if (other.is_null() || other.type() == TypeId::kText) return {};
    MVDB_SQL_ASSIGN_OR_RETURN(*value, ParseText(value->text_value(), other.type()));
    return {};
  };
  MVDB_SQL_RETURN_IF_ERROR(adopt(left_expr, left, *right));
  return adopt(right_expr, right, *left);
}

SqlResult<Value> Arithmetic(BinaryOp op, const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) {
    const TypeId other = a.is_null() ? b.type() : a.type();
    if (other == TypeId::kNull || IsNumeric(other)) return Value::Null();
    return OperatorDoesNotExist(OperatorText(op), a.type(), b.type());
  }
  if (!IsNumeric(a.type()) || !IsNumeric(b.type())) {
    return OperatorDoesNotExist(OperatorText(op), a.type(), b.type());
  }
  if (a.type() == TypeId::kInt && b.type() == TypeId::kInt) {
    const int64_t x = a.int_value();
    const int64_t y = b.int_value();
    int64_t result = 0;
    switch (op) {
      case BinaryOp::kAdd:
        if (__builtin_add_overflow(x, y, &result)) return OutOfRange();
        return Value::Int(result);
      case BinaryOp::kSubtract:
        if (__builtin_sub_overflow(x, y, &result)) return OutOfRange();
        return Value::Int(result);
      case BinaryOp::kMultiply:
        if (__builtin_mul_overflow(x, y, &result)) return OutOfRange();
        return Value::Int(result);
      case BinaryOp::kDivide:
        if (y == 0) return DivisionByZero();
        if (x == kInt64Min && y == -1) return OutOfRange();
        return Value::Int(x / y);
      case BinaryOp::kModulo:
        if (y == 0) return DivisionByZero();
        if (y == -1) return Value::Int(0);  // INT64_MIN % -1 would trap
        return Value::Int(x % y);
      default:
        break;
    }
    return OperatorDoesNotExist(OperatorText(op), a.type(), b.type());
  }
  const double x = a.type() == TypeId::kInt ? static_cast<double>(a.int_value()) : a.float_value();
  const double y = b.type() == TypeId::kInt ? static_cast<double>(b.int_value()) : b.float_value();
  double result = 0;
  switch (op) {
    case BinaryOp::kAdd:
      result = x + y;
      break;
    case BinaryOp::kSubtract:
      result = x - y;
      break;
    case BinaryOp::kMultiply:
      result = x * y;
      break;
    case BinaryOp::kDivide:
      if (y == 0) return DivisionByZero();
      result = x / y;
      break;
    default:
      return OperatorDoesNotExist(OperatorText(op), TypeId::kFloat, TypeId::kFloat);
  }
  if (std::isinf(result) && !std::isinf(x) && !std::isinf(y)) {
    return MakeSqlError("22003", "value out of range: overflow");
  }
  return Value::Float(result);
}

// `a op b` for the values of the operand expressions `a_expr` and `b_expr`
// (after UnifyLiteral), with CompareSql's casts.
SqlResult<Value> Comparison(BinaryOp op, const Expr& a_expr, const Value& a, const Expr& b_expr,
                            const Value& b) {
  if (a.is_null() || b.is_null()) return Value::Null();
  MVDB_SQL_ASSIGN_OR_RETURN(const int order,
                            CompareSql(OperatorText(op), Comparand{a, NumericText(a_expr)},
                                       Comparand{b, NumericText(b_expr)}));
  switch (op) {
    case BinaryOp::kEqual:
      return Value::Bool(order == 0);
    case BinaryOp::kNotEqual:
      return Value::Bool(order != 0);
    case BinaryOp::kLess:
      return Value::Bool(order < 0);
    case BinaryOp::kLessEqual:
      return Value::Bool(order <= 0);
    case BinaryOp::kGreater:
      return Value::Bool(order > 0);
    case BinaryOp::kGreaterEqual:
      return Value::Bool(order >= 0);
    default:
      break;
  }
  return OperatorDoesNotExist(OperatorText(op), a.type(), b.type());
}

// A boolean operand of AND, OR or NOT: true/false, or nullopt for NULL.
SqlResult<std::optional<bool>> TruthOf(const Value& value, std::string_view what) {
  if (value.is_null()) return std::optional<bool>();
  if (value.type() != TypeId::kBool) return NotBoolean(what, value.type());
  return std::optional<bool>(value.bool_value());
}

Value FromTruth(std::optional<bool> truth) {
  return truth.has_value() ? Value::Bool(*truth) : Value::Null();
}

SqlResult<Value> EvaluateLogic(const Expr& expr, const EvalContext& context) {
  const bool is_and = expr.binary_op == BinaryOp::kAnd;
  const std::string_view what = is_and ? "AND" : "OR";
  MVDB_SQL_ASSIGN_OR_RETURN(Value left_value, Evaluate(*expr.operands[0], context));
  MVDB_SQL_ASSIGN_OR_RETURN(std::optional<bool> left, TruthOf(left_value, what));
  // The short circuit: false AND x is false, true OR x is true.
  if (left.has_value() && *left != is_and) return Value::Bool(*left);
  MVDB_SQL_ASSIGN_OR_RETURN(Value right_value, Evaluate(*expr.operands[1], context));
  MVDB_SQL_ASSIGN_OR_RETURN(std::optional<bool> right, TruthOf(right_value, what));
  if (right.has_value() && *right != is_and) return Value::Bool(*right);
  if (!left.has_value() || !right.has_value()) return Value::Null();
  return Value::Bool(is_and);
}

SqlResult<int> ResolveColumn(const Expr& expr, const EvalContext& context) {
  if (!expr.table.empty() && (context.table == nullptr || expr.table != context.qualifier)) {
    return UnknownQualifier(expr.table, context);
  }
  const int index = context.table == nullptr ? -1 : context.table->ColumnIndex(expr.column);
  if (index < 0) {
    const std::string name = expr.table.empty() ? expr.column : expr.table + "." + expr.column;
    return MakeSqlError("42703", "column \"" + name + "\" does not exist");
  }
  return index;
}

SqlResult<Value> EvaluateInList(const Expr& expr, const EvalContext& context) {
  MVDB_SQL_ASSIGN_OR_RETURN(Value needle, Evaluate(*expr.operands[0], context));
  bool saw_null = needle.is_null();
  bool found = false;
  for (size_t i = 1; i < expr.operands.size() && !found; ++i) {
    MVDB_SQL_ASSIGN_OR_RETURN(Value item, Evaluate(*expr.operands[i], context));
    Value left = needle;
    MVDB_SQL_RETURN_IF_ERROR(UnifyLiteral(*expr.operands[0], &left, *expr.operands[i], &item));
    if (left.is_null() || item.is_null()) {
      saw_null = true;
      continue;
    }
    MVDB_SQL_ASSIGN_OR_RETURN(const int order,
                              CompareSql("=", Comparand{left, NumericText(*expr.operands[0])},
                                         Comparand{item, NumericText(*expr.operands[i])}));
    found = order == 0;
  }
  if (found) return Value::Bool(!expr.negated);
  if (saw_null) return Value::Null();
  return Value::Bool(expr.negated);
}

SqlResult<Value> EvaluateBetween(const Expr& expr, const EvalContext& context) {
  MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(*expr.operands[0], context));
  MVDB_SQL_ASSIGN_OR_RETURN(Value low, Evaluate(*expr.operands[1], context));
  MVDB_SQL_ASSIGN_OR_RETURN(Value high, Evaluate(*expr.operands[2], context));
  Value value_low = value;
  MVDB_SQL_RETURN_IF_ERROR(UnifyLiteral(*expr.operands[0], &value_low, *expr.operands[1], &low));
  Value value_high = value;
  MVDB_SQL_RETURN_IF_ERROR(UnifyLiteral(*expr.operands[0], &value_high, *expr.operands[2], &high));
  MVDB_SQL_ASSIGN_OR_RETURN(Value above, Comparison(BinaryOp::kGreaterEqual, *expr.operands[0],
                                                    value_low, *expr.operands[1], low));
  MVDB_SQL_ASSIGN_OR_RETURN(Value below, Comparison(BinaryOp::kLessEqual, *expr.operands[0],
                                                    value_high, *expr.operands[2], high));
  std::optional<bool> result;
  const auto truth = [](const Value& v) {
    return v.is_null() ? std::optional<bool>() : std::optional<bool>(v.bool_value());
  };
  const std::optional<bool> a = truth(above);
  const std::optional<bool> b = truth(below);
  if ((a.has_value() && !*a) || (b.has_value() && !*b)) {
    result = false;
  } else if (a.has_value() && b.has_value()) {
    result = true;
  }
  if (expr.negated && result.has_value()) result = !*result;
  return FromTruth(result);
}

SqlResult<Value> EvaluateLike(const Expr& expr, const EvalContext& context) {
  MVDB_SQL_ASSIGN_OR_RETURN(Value text, Evaluate(*expr.operands[0], context));
  MVDB_SQL_ASSIGN_OR_RETURN(Value pattern, Evaluate(*expr.operands[1], context));
  const std::string_view op = expr.negated ? "!~~" : "~~";
  if ((!text.is_null() && text.type() != TypeId::kText) ||
      (!pattern.is_null() && pattern.type() != TypeId::kText)) {
    return OperatorDoesNotExist(op, text.type(), pattern.type());
  }
  if (text.is_null() || pattern.is_null()) return Value::Null();
  MVDB_SQL_ASSIGN_OR_RETURN(const bool match, MatchLike(text.text_value(), pattern.text_value()));
  return Value::Bool(match != expr.negated);
}

// The length of the UTF-8 character starting at s[i] (1 for a stray byte).
size_t CharLength(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t length = 1;
  if (lead >= 0xf0) {
    length = 4;
  } else if (lead >= 0xe0) {
    length = 3;
  } else if (lead >= 0xc0) {
    length = 2;
  }
  return std::min(length, s.size() - i);
}

}  // namespace expression_internal

using namespace expression_internal;  // NOLINT(google-build-using-namespace): its helpers

std::string ValueToText(const Value& value) {
  switch (value.type()) {
    case TypeId::kNull:
      return "";
    case TypeId::kBool:
      return value.bool_value() ? "true" : "false";
    case TypeId::kInt:
      return std::to_string(value.int_value());
    case TypeId::kFloat: {
      const double d = value.float_value();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      char buffer[64];
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), d);
      return std::string(buffer, end);
    }
    case TypeId::kText:
      return value.text_value();
  }
  return "";
}

SqlResult<bool> MatchLike(std::string_view text, std::string_view pattern) {
  // Iterative matching with one backtrack point (the last %), moving by
  // whole UTF-8 characters so _ matches one character, not one byte.
  size_t t = 0;
  size_t p = 0;
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      size_t literal = p;
      if (pattern[p] == '\\') {
        if (p + 1 >= pattern.size()) {
          return MakeSqlError("22025", "LIKE pattern must not end with escape character");
        }
        literal = p + 1;
      }
      const size_t text_len = CharLength(text, t);
      if (pattern[p] == '_') {
        t += text_len;
        p += 1;
        continue;
      }
      const size_t pattern_len = CharLength(pattern, literal);
      if (text.substr(t, text_len) == pattern.substr(literal, pattern_len)) {
        t += text_len;
        p = literal + pattern_len;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    star_t += CharLength(text, star_t);
    t = star_t;
    p = star_p;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  if (p + 1 == pattern.size() && pattern[p] == '\\') {
    return MakeSqlError("22025", "LIKE pattern must not end with escape character");
  }
  return p == pattern.size();
}

SqlStatus CheckExpr(const Expr& expr, const EvalContext& context, ExprPlace place,
                    std::vector<const Expr*>* aggregates) {
  switch (expr.kind) {
    case ExprKind::kColumn: {
      MVDB_SQL_ASSIGN_OR_RETURN(const int index, ResolveColumn(expr, context));
      (void)index;
      return {};
    }
    case ExprKind::kAggregate: {
      switch (place) {
        case ExprPlace::kWhere:
          return MakeSqlError("42803", "aggregate functions are not allowed in WHERE");
        case ExprPlace::kGroupBy:
          return MakeSqlError("42803", "aggregate functions are not allowed in GROUP BY");
        case ExprPlace::kUpdateSet:
          return MakeSqlError("42803", "aggregate functions are not allowed in UPDATE");
        case ExprPlace::kValues:
          return MakeSqlError("42803", "aggregate functions are not allowed in VALUES");
        case ExprPlace::kSelect:
          break;
      }
      for (const ExprPtr& operand : expr.operands) {
        std::vector<const Expr*> nested;
        MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*operand, context, place, &nested));
        if (!nested.empty()) {
          return MakeSqlError("42803", "aggregate function calls cannot be nested");
        }
      }
      if (expr.filter != nullptr) {
        std::vector<const Expr*> nested;
        MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*expr.filter, context, place, &nested));
        if (!nested.empty()) {
          return MakeSqlError("42803", "aggregate functions are not allowed in FILTER");
        }
      }
      if (aggregates != nullptr) aggregates->push_back(&expr);
      return {};
    }
    case ExprKind::kUnary:
      MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*expr.operands[0], context, place, aggregates));
      if (expr.unary_op != UnaryOp::kNot) {
        // +x and -x take numbers only; PostgreSQL knows before any row.
        const Expr& operand = *expr.operands[0];
        const bool literal = operand.kind == ExprKind::kLiteral;
        if (literal && operand.literal.is_null() && expr.unary_op == UnaryOp::kNegate) {
          // PostgreSQL has several prefix minus operators and no way to
          // choose for NULL's unknown type (it has one prefix plus).
          return MakeSqlError("42725", "operator is not unique: - unknown");
        }
        const TypeId type = InferType(operand, context);
        if (type == TypeId::kBool || (type == TypeId::kText && !literal)) {
          return MakeSqlError("42883", std::string("operator does not exist: ") +
                                           (expr.unary_op == UnaryOp::kPlus ? "+ " : "- ") +
                                           std::string(TypeName(type)));
        }
      }
      return {};
    default:
      for (const ExprPtr& operand : expr.operands) {
        MVDB_SQL_RETURN_IF_ERROR(CheckExpr(*operand, context, place, aggregates));
      }
      return CheckScalar(expr, context);
  }
}

SqlResult<Value> Evaluate(const Expr& expr, const EvalContext& context) {
  switch (expr.kind) {
    case ExprKind::kLiteral:
      return expr.literal;
    case ExprKind::kColumn: {
      MVDB_SQL_ASSIGN_OR_RETURN(const int index, ResolveColumn(expr, context));
      if (context.row == nullptr) {
        return MakeSqlError("42703", "column \"" + expr.column + "\" does not exist");
      }
      return (*context.row)[index];
    }
    case ExprKind::kUnary: {
      MVDB_SQL_ASSIGN_OR_RETURN(Value operand, Evaluate(*expr.operands[0], context));
      if (expr.unary_op == UnaryOp::kNot) {
        MVDB_SQL_ASSIGN_OR_RETURN(std::optional<bool> truth, TruthOf(operand, "NOT"));
        return FromTruth(truth.has_value() ? std::optional<bool>(!*truth) : truth);
      }
      if (operand.is_null()) return operand;
      if (expr.unary_op == UnaryOp::kPlus) {
        if (IsNumeric(operand.type())) return operand;
        return MakeSqlError("42883",
                            "operator does not exist: + " + std::string(TypeName(operand.type())));
      }
      if (operand.type() == TypeId::kInt) {
        if (operand.int_value() == kInt64Min) return OutOfRange();
        return Value::Int(-operand.int_value());
      }
      if (operand.type() == TypeId::kFloat) return Value::Float(-operand.float_value());
      return MakeSqlError("42883",
                          "operator does not exist: - " + std::string(TypeName(operand.type())));
    }
    case ExprKind::kBinary: {
      if (expr.binary_op == BinaryOp::kAnd || expr.binary_op == BinaryOp::kOr) {
        return EvaluateLogic(expr, context);
      }
      MVDB_SQL_ASSIGN_OR_RETURN(Value left, Evaluate(*expr.operands[0], context));
      MVDB_SQL_ASSIGN_OR_RETURN(Value right, Evaluate(*expr.operands[1], context));
      MVDB_SQL_RETURN_IF_ERROR(UnifyLiteral(*expr.operands[0], &left, *expr.operands[1], &right));
      switch (expr.binary_op) {
        case BinaryOp::kAdd:
        case BinaryOp::kSubtract:
        case BinaryOp::kMultiply:
        case BinaryOp::kDivide:
        case BinaryOp::kModulo:
          return Arithmetic(expr.binary_op, left, right);
        default:
          return Comparison(expr.binary_op, *expr.operands[0], left, *expr.operands[1], right);
      }
    }
    case ExprKind::kIsNull: {
      MVDB_SQL_ASSIGN_OR_RETURN(Value operand, Evaluate(*expr.operands[0], context));
      return Value::Bool(operand.is_null() != expr.negated);
    }
    case ExprKind::kInList:
      return EvaluateInList(expr, context);
    case ExprKind::kBetween:
      return EvaluateBetween(expr, context);
    case ExprKind::kLike:
      return EvaluateLike(expr, context);
    case ExprKind::kAggregate: {
      if (context.aggregates != nullptr) {
        auto it = context.aggregates->find(&expr);
        if (it != context.aggregates->end()) return it->second;
      }
      return MakeSqlError("42803", "aggregate functions are not allowed here");
    }
    case ExprKind::kFunction:
    case ExprKind::kCase:
    case ExprKind::kCast:
      return EvaluateScalar(expr, context);
  }
  return MakeSqlError("XX000", "unknown expression kind");
}

SqlResult<bool> EvaluateCondition(const Expr& expr, const EvalContext& context,
                                  std::string_view clause) {
  MVDB_SQL_ASSIGN_OR_RETURN(Value value, Evaluate(expr, context));
  if (value.is_null()) return false;
  if (value.type() != TypeId::kBool) return NotBoolean(clause, value.type());
  return value.bool_value();
}

TypeId InferType(const Expr& expr, const EvalContext& context) {
  switch (expr.kind) {
    case ExprKind::kLiteral:
      return expr.literal.type();
    case ExprKind::kColumn: {
      const int index = context.table == nullptr ? -1 : context.table->ColumnIndex(expr.column);
      return index < 0 ? TypeId::kNull : context.table->columns[index].type;
    }
    case ExprKind::kUnary:
      return expr.unary_op == UnaryOp::kNot ? TypeId::kBool : InferType(*expr.operands[0], context);
    case ExprKind::kBinary:
      switch (expr.binary_op) {
        case BinaryOp::kAdd:
        case BinaryOp::kSubtract:
        case BinaryOp::kMultiply:
        case BinaryOp::kDivide:
        case BinaryOp::kModulo: {
          const TypeId left = InferType(*expr.operands[0], context);
          const TypeId right = InferType(*expr.operands[1], context);
          if (left == TypeId::kFloat || right == TypeId::kFloat) return TypeId::kFloat;
          if (left == TypeId::kInt || right == TypeId::kInt) return TypeId::kInt;
          return TypeId::kNull;
        }
        default:
          return TypeId::kBool;
      }
    case ExprKind::kIsNull:
    case ExprKind::kInList:
    case ExprKind::kBetween:
    case ExprKind::kLike:
      return TypeId::kBool;
    case ExprKind::kAggregate:
      switch (expr.aggregate) {
        case AggregateFunc::kCount:
          return TypeId::kInt;
        case AggregateFunc::kAvg:
          return TypeId::kFloat;
        default:
          return expr.operands.empty() ? TypeId::kNull : InferType(*expr.operands[0], context);
      }
    case ExprKind::kFunction:
    case ExprKind::kCase:
    case ExprKind::kCast:
      return InferScalarType(expr, context);
  }
  return TypeId::kNull;
}

SqlResult<Value> CoerceToColumn(Value value, const ColumnSchema& column, std::string_view numeric) {
  if (value.is_null()) return value;
  const auto mismatch = [&] {
    return MakeSqlError(
        "42804", "column \"" + column.name + "\" is of type " + std::string(TypeName(column.type)) +
                     " but expression is of type " + std::string(TypeName(value.type())));
  };
  if (value.type() != column.type) {
    switch (column.type) {
      case TypeId::kText:
        value = Value::Text(ValueToText(value));
        break;
      case TypeId::kFloat:
        if (value.type() == TypeId::kInt) {
          value = Value::Float(static_cast<double>(value.int_value()));
        } else if (value.type() == TypeId::kText) {
          MVDB_SQL_ASSIGN_OR_RETURN(value, ParseText(value.text_value(), TypeId::kFloat));
        } else {
          return mismatch();
        }
        break;
      case TypeId::kInt:
        if (value.type() == TypeId::kFloat && !numeric.empty()) {
          // numeric to bigint rounds halves away from zero, exactly.
          const std::optional<int64_t> rounded = RoundNumericToBigint(numeric);
          if (!rounded.has_value()) return OutOfRange();
          value = Value::Int(*rounded);
        } else if (value.type() == TypeId::kFloat) {
          // double precision to bigint rounds halves to even (rint).
          const double rounded = std::rint(value.float_value());
          // 2^63 is exactly representable; anything at or past it is out.
          if (std::isnan(rounded) || rounded < -9223372036854775808.0 ||
              rounded >= 9223372036854775808.0) {
            return OutOfRange();
          }
          value = Value::Int(static_cast<int64_t>(rounded));
        } else if (value.type() == TypeId::kText) {
          MVDB_SQL_ASSIGN_OR_RETURN(value, ParseText(value.text_value(), TypeId::kInt));
        } else {
          return mismatch();
        }
        break;
      case TypeId::kBool: {
        if (value.type() != TypeId::kText) return mismatch();
        MVDB_SQL_ASSIGN_OR_RETURN(value, ParseText(value.text_value(), TypeId::kBool));
        break;
      }
      case TypeId::kNull:
        return mismatch();
    }
  }
  if (column.type == TypeId::kText && column.max_length >= 0) {
    const std::string& text = value.text_value();
    // The byte offset where the character past the length starts.
    size_t end = 0;
    for (int32_t chars = 0; end < text.size() && chars < column.max_length; ++chars) {
      end += CharLength(text, end);
    }
    if (end < text.size()) {
      // PostgreSQL cuts a value whose excess is only spaces (' ', not tabs
      // or other white space) and refuses any other.
      if (text.find_first_not_of(' ', end) != std::string::npos) {
        return MakeSqlError("22001", "value too long for type character varying(" +
                                         std::to_string(column.max_length) + ")");
      }
      value = Value::Text(text.substr(0, end));
    }
  }
  return value;
}

}  // namespace mvdb::sql
