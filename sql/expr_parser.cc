// The expression half of the parser (parser_internal.h): precedence
// climbing over the operators of docs/sql.md, aggregates, number
// literals, and ExprToString, which prints a tree so that it parses back to
// the same tree. parser.cc has the statements and the essay on errors and
// depth.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "sql/parser_internal.h"

namespace mvdb::sql {

using namespace parser_internal;  // NOLINT(google-build-using-namespace): this file implements it

namespace parser_internal {

// --- Expressions ------------------------------------------------------------

ExprPtr Parser::MakeNode(ExprKind kind, const SourcePos& pos, std::vector<ExprPtr> operands) {
  auto node = std::make_unique<Expr>();
  node->kind = kind;
  node->pos = pos;
  for (const ExprPtr& operand : operands)
    node->height = std::max(node->height, operand->height + 1);
  node->operands = std::move(operands);
  if (node->height > kMaxExpressionDepth) {
    Fail("54001",
         "stack depth limit exceeded: expression nested more than " +
             std::to_string(kMaxExpressionDepth) + " levels deep",
         pos);
    return nullptr;
  }
  return node;
}

bool Parser::ParseExprList(std::vector<ExprPtr>* out) {
  do {
    ExprPtr e = ParseExpr(0);
    if (e == nullptr) return false;
    out->push_back(std::move(e));
  } while (AcceptOp(","));
  return true;
}

ExprPtr Parser::ParseExpr(int min_prec) {
  struct DepthGuard {
    int& depth;
    ~DepthGuard() { --depth; }
  } guard{++depth_};
  if (depth_ > kMaxExpressionDepth) {
    Fail("54001",
         "stack depth limit exceeded: expression nested more than " +
             std::to_string(kMaxExpressionDepth) + " levels deep",
         Peek().pos);
    return nullptr;
  }
  ExprPtr left = ParsePrefix();
  int last_nonassociative = 0;
  while (left != nullptr) {
    const PositionedToken& t = Peek();
    int prec = 0;
    if (t.token.kind == TokenKind::kOperator) {
      const std::string& op = t.token.text;
      if (op == "+" || op == "-") {
        prec = kPrecAdditive;
      } else if (op == "*" || op == "/" || op == "%") {
        prec = kPrecMultiplicative;
      } else if (op == "=" || op == "<>" || op == "<" || op == "<=" || op == ">" || op == ">=") {
        prec = kPrecComparison;
      } else if (op == "::") {
        prec = kPrecCast;
      }
    } else if (t.token.kind == TokenKind::kIdentifier) {
      const std::string& word = t.token.text;
      if (word == "or") {
        prec = kPrecOr;
      } else if (word == "and") {
        prec = kPrecAnd;
      } else if (word == "is") {
        prec = kPrecIs;
      } else if (word == "between" || word == "in" || word == "like") {
        prec = kPrecPattern;
      } else if (word == "not" &&
                 (IsWord(Peek(1), "between") || IsWord(Peek(1), "in") || IsWord(Peek(1), "like"))) {
        prec = kPrecPattern;
      }
    }
    if (prec == 0 || prec < min_prec) break;
    if (IsNonAssociative(prec) && prec == last_nonassociative) {
      SyntaxError(t);
      return nullptr;
    }
    last_nonassociative = IsNonAssociative(prec) ? prec : 0;
    left = ParseInfix(std::move(left), prec);
  }
  return left;
}

ExprPtr Parser::ParseInfix(ExprPtr left, int prec) {
  const PositionedToken& op_token = Advance();
  const SourcePos pos = op_token.pos;
  const std::string& op = op_token.token.text;
  if (op == "::") return ParseCastType(std::move(left), pos);
  if (op_token.token.kind == TokenKind::kOperator || op == "and" || op == "or") {
    static const std::pair<std::string_view, BinaryOp> kBinaryOps[] = {
        {"+", BinaryOp::kAdd},       {"-", BinaryOp::kSubtract},      {"*", BinaryOp::kMultiply},
        {"/", BinaryOp::kDivide},    {"%", BinaryOp::kModulo},        {"=", BinaryOp::kEqual},
        {"<>", BinaryOp::kNotEqual}, {"<", BinaryOp::kLess},          {"<=", BinaryOp::kLessEqual},
        {">", BinaryOp::kGreater},   {">=", BinaryOp::kGreaterEqual}, {"and", BinaryOp::kAnd},
        {"or", BinaryOp::kOr},
    };
    BinaryOp binary_op = BinaryOp::kAdd;
    for (const auto& [spelling, code] : kBinaryOps) {
      if (spelling == op) binary_op = code;
    }
    // Left-associative operators bind a right operand one level tighter;
    // comparisons (non-associative) do the same, which leaves a second
    // comparison to ParseExpr's check.
    ExprPtr right = ParseExpr(prec + 1);
    if (right == nullptr) return nullptr;
    std::vector<ExprPtr> operands;
    operands.push_back(std::move(left));
    operands.push_back(std::move(right));
    ExprPtr node = MakeNode(ExprKind::kBinary, pos, std::move(operands));
    if (node != nullptr) node->binary_op = binary_op;
    return node;
  }
  if (op == "is") {
    const bool negated = AcceptWord("not");
    if (!AcceptWord("null")) {
      SyntaxError(Peek());
      return nullptr;
    }
    std::vector<ExprPtr> operands;
    operands.push_back(std::move(left));
    ExprPtr node = MakeNode(ExprKind::kIsNull, pos, std::move(operands));
    if (node != nullptr) node->negated = negated;
    return node;
  }
  // [NOT] BETWEEN, IN, LIKE.
  const bool negated = op == "not";
  const std::string& word = negated ? Advance().token.text : op;
  std::vector<ExprPtr> operands;
  operands.push_back(std::move(left));
  ExprKind kind;
  if (word == "between") {
    kind = ExprKind::kBetween;
    ExprPtr low = ParseExpr(kPrecAdditive);
    if (low == nullptr || !ExpectWord("and")) return nullptr;
    ExprPtr high = ParseExpr(kPrecAdditive);
    if (high == nullptr) return nullptr;
    operands.push_back(std::move(low));
    operands.push_back(std::move(high));
  } else if (word == "in") {
    kind = ExprKind::kInList;
    if (!ExpectOp("(")) return nullptr;
    if (!ParseExprList(&operands) || !ExpectOp(")")) return nullptr;
  } else {
    kind = ExprKind::kLike;
    ExprPtr pattern = ParseExpr(kPrecAdditive);
    if (pattern == nullptr) return nullptr;
    operands.push_back(std::move(pattern));
  }
  ExprPtr node = MakeNode(kind, pos, std::move(operands));
  if (node != nullptr) node->negated = negated;
  return node;
}

ExprPtr Parser::ParseNumber(const PositionedToken& token, bool negative, const SourcePos& pos) {
  const std::string text = (negative ? "-" : "") + token.token.text;
  auto node = std::make_unique<Expr>();
  node->kind = ExprKind::kLiteral;
  node->pos = pos;
  if (token.token.kind == TokenKind::kInteger) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      Fail("22003", "value \"" + text + "\" is out of range for type bigint", pos);
      return nullptr;
    }
    node->literal = Value::Int(value);
  } else {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
      Fail("22003", "\"" + text + "\" is out of range for type double precision", pos);
      return nullptr;
    }
    node->literal = Value::Float(value);
    node->numeric = text;
  }
  return node;
}

ExprPtr Parser::ParsePrefix() {
  const PositionedToken& t = Peek();
  auto literal = [&](Value value) {
    Advance();
    auto node = std::make_unique<Expr>();
    node->kind = ExprKind::kLiteral;
    node->pos = t.pos;
    node->literal = std::move(value);
    return node;
  };
  switch (t.token.kind) {
    case TokenKind::kInteger:
    case TokenKind::kFloat: {
      ExprPtr node = ParseNumber(t, false, t.pos);
      if (node != nullptr) Advance();
      return node;
    }
    case TokenKind::kString:
      return literal(Value::Text(t.token.text));
    case TokenKind::kOperator:
      if (t.token.text == "(") {
        Advance();
        ExprPtr inner = ParseExpr(0);
        if (inner == nullptr || !ExpectOp(")")) return nullptr;
        return inner;
      }
      if (t.token.text == "-" || t.token.text == "+") {
        const bool minus = t.token.text == "-";
        Advance();
        const PositionedToken& next = Peek();
        // -5 is the literal -5, as in PostgreSQL's grammar; that is also
        // how the smallest bigint can be written at all. Not when a cast
        // follows: -5::text is -('5'::text) (the cast binds tighter), an
        // error. +5 stays an operator, as in PostgreSQL (ORDER BY +1 sorts
        // by a constant; ORDER BY 1 by the first column).
        if (minus &&
            (next.token.kind == TokenKind::kInteger || next.token.kind == TokenKind::kFloat) &&
            !IsOp(Peek(1), "::")) {
          ExprPtr node = ParseNumber(next, true, t.pos);
          if (node != nullptr) Advance();
          return node;
        }
        ExprPtr operand = ParseExpr(kPrecUnaryMinus);
        if (operand == nullptr) return nullptr;
        std::vector<ExprPtr> operands;
        operands.push_back(std::move(operand));
        ExprPtr node = MakeNode(ExprKind::kUnary, t.pos, std::move(operands));
        if (node != nullptr) node->unary_op = minus ? UnaryOp::kNegate : UnaryOp::kPlus;
        return node;
      }
      break;
    case TokenKind::kIdentifier: {
      const std::string& word = t.token.text;
      if (word == "true") return literal(Value::Bool(true));
      if (word == "false") return literal(Value::Bool(false));
      if (word == "null") return literal(Value::Null());
      if (word == "case") return ParseCase();
      if (word == "cast") {
        Advance();
        if (!ExpectOp("(")) return nullptr;
        ExprPtr operand = ParseExpr(0);
        if (operand == nullptr || !ExpectWord("as")) return nullptr;
        ExprPtr node = ParseCastType(std::move(operand), t.pos);
        if (node == nullptr || !ExpectOp(")")) return nullptr;
        return node;
      }
      if (word == "not") {
        Advance();
        ExprPtr operand = ParseExpr(kPrecNot);
        if (operand == nullptr) return nullptr;
        std::vector<ExprPtr> operands;
        operands.push_back(std::move(operand));
        ExprPtr node = MakeNode(ExprKind::kUnary, t.pos, std::move(operands));
        if (node != nullptr) node->unary_op = UnaryOp::kNot;
        return node;
      }
      if (IsReserved(word)) break;
      [[fallthrough]];
    }
    case TokenKind::kQuotedIdentifier: {
      if (IsOp(Peek(1), "(")) return ParseFunction();
      auto node = std::make_unique<Expr>();
      node->kind = ExprKind::kColumn;
      node->pos = t.pos;
      node->column = Advance().token.text;
      if (AcceptOp(".")) {
        node->table = std::move(node->column);
        if (!ParseName(&node->column)) return nullptr;
      }
      return node;
    }
    default:
      break;
  }
  SyntaxError(t);
  return nullptr;
}

ExprPtr Parser::ParseCase() {
  const SourcePos pos = Advance().pos;  // CASE
  std::vector<ExprPtr> operands;
  bool has_operand = false;
  if (!IsWord(Peek(), "when")) {
    ExprPtr operand = ParseExpr(0);
    if (operand == nullptr) return nullptr;
    operands.push_back(std::move(operand));
    has_operand = true;
  }
  if (!IsWord(Peek(), "when")) {
    SyntaxError(Peek());
    return nullptr;
  }
  while (AcceptWord("when")) {
    ExprPtr when = ParseExpr(0);
    if (when == nullptr || !ExpectWord("then")) return nullptr;
    ExprPtr then = ParseExpr(0);
    if (then == nullptr) return nullptr;
    operands.push_back(std::move(when));
    operands.push_back(std::move(then));
  }
  bool has_else = false;
  if (AcceptWord("else")) {
    ExprPtr otherwise = ParseExpr(0);
    if (otherwise == nullptr) return nullptr;
    operands.push_back(std::move(otherwise));
    has_else = true;
  }
  if (!ExpectWord("end")) return nullptr;
  ExprPtr node = MakeNode(ExprKind::kCase, pos, std::move(operands));
  if (node != nullptr) {
    node->case_operand = has_operand;
    node->case_else = has_else;
  }
  return node;
}

ExprPtr Parser::ParseCastType(ExprPtr operand, const SourcePos& pos) {
  // PostgreSQL's own name of each spelling (what names a result column).
  static const std::pair<std::string_view, std::string_view> kInternalNames[] = {
      {"int", "int4"},        {"integer", "int4"},      {"bigint", "int8"},   {"text", "text"},
      {"varchar", "varchar"}, {"character", "varchar"}, {"boolean", "bool"},  {"bool", "bool"},
      {"double", "float8"},   {"float", "float8"},      {"float8", "float8"}, {"real", "float4"},
  };
  const std::string spelling = Peek().token.text;
  ColumnDef type;
  if (!ParseType(&type)) return nullptr;
  std::vector<ExprPtr> operands;
  operands.push_back(std::move(operand));
  ExprPtr node = MakeNode(ExprKind::kCast, pos, std::move(operands));
  if (node == nullptr) return nullptr;
  node->cast_type = type.type;
  node->cast_length = type.max_length;
  for (const auto& [written, internal] : kInternalNames) {
    if (written == spelling) node->cast_type_name = internal;
  }
  return node;
}

ExprPtr Parser::ParseFunction() {
  const PositionedToken& name_token = Advance();
  const std::string& name = name_token.token.text;
  Advance();  // (
  if (name == "coalesce" || name == "nullif" || name == "abs") {
    // Not aggregates: coalesce(e, ...) and nullif(a, b) are grammar of
    // their own in PostgreSQL (another form is a syntax error), abs an
    // ordinary function (CheckExpr in sql/expression.cc checks its
    // arguments, knowing their types).
    std::vector<ExprPtr> args;
    const bool ordinary = name == "abs";
    if (ordinary) AcceptWord("all");
    if (!ordinary || !IsOp(Peek(), ")")) {
      do {
        ExprPtr arg = ParseExpr(0);
        if (arg == nullptr) return nullptr;
        args.push_back(std::move(arg));
        if (name == "nullif" && args.size() == 1 && !ExpectOp(",")) return nullptr;
      } while (name == "nullif" ? args.size() < 2 : AcceptOp(","));
    }
    if (!ExpectOp(")")) return nullptr;
    ExprPtr node = MakeNode(ExprKind::kFunction, name_token.pos, std::move(args));
    if (node != nullptr) {
      node->function = name == "coalesce" ? ScalarFunc::kCoalesce
                       : name == "nullif" ? ScalarFunc::kNullif
                                          : ScalarFunc::kAbs;
    }
    return node;
  }
  static const std::pair<std::string_view, AggregateFunc> kAggregates[] = {
      {"count", AggregateFunc::kCount}, {"sum", AggregateFunc::kSum}, {"min", AggregateFunc::kMin},
      {"max", AggregateFunc::kMax},     {"avg", AggregateFunc::kAvg},
  };
  const auto* found = std::find_if(std::begin(kAggregates), std::end(kAggregates),
                                   [&](const auto& entry) { return entry.first == name; });
  std::vector<ExprPtr> args;
  bool star = false;
  // count(ALL x) is count(x); ALL and DISTINCT take an argument
  // (count(ALL *) is a syntax error, as in PostgreSQL).
  const bool distinct = AcceptWord("distinct");
  const bool all = !distinct && AcceptWord("all");
  if (!all && !distinct && AcceptOp("*")) {
    star = true;
  } else if (all || distinct || !IsOp(Peek(), ")")) {
    if (!ParseExprList(&args)) return nullptr;
  }
  if (!ExpectOp(")")) return nullptr;
  const bool fits = found != std::end(kAggregates) &&
                    (star ? found->second == AggregateFunc::kCount : args.size() == 1);
  if (!fits) {
    // PostgreSQL names the argument types, which are not known yet here.
    std::string message = "function " + name;
    if (found == std::end(kAggregates)) {
      message += " does not exist";
    } else if (star || args.empty()) {
      message += star ? "(*) does not exist" : "() does not exist";
    } else {
      message += " with " + std::to_string(args.size()) + " arguments does not exist";
    }
    Fail("42883", message, name_token.pos);
    return nullptr;
  }
  ExprPtr filter;
  if (IsWord(Peek(), "filter") && IsOp(Peek(1), "(")) {
    Advance();
    Advance();
    if (!ExpectWord("where")) return nullptr;
    filter = ParseExpr(0);
    if (filter == nullptr || !ExpectOp(")")) return nullptr;
  }
  ExprPtr node = MakeNode(ExprKind::kAggregate, name_token.pos, std::move(args));
  if (node == nullptr) return nullptr;
  node->aggregate = found->second;
  node->distinct = distinct;
  if (filter != nullptr) {
    node->height = std::max(node->height, filter->height + 1);
    node->filter = std::move(filter);
    if (node->height > kMaxExpressionDepth) {
      Fail("54001",
           "stack depth limit exceeded: expression nested more than " +
               std::to_string(kMaxExpressionDepth) + " levels deep",
           name_token.pos);
      return nullptr;
    }
  }
  return node;
}

}  // namespace parser_internal

namespace {

// --- Printing ---------------------------------------------------------------

std::string QuoteName(const std::string& name) {
  bool plain =
      !name.empty() && !IsReserved(name) && ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_');
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) {
      plain = false;
    }
  }
  if (plain) return name;
  std::string quoted = "\"";
  for (char c : name) {
    quoted.push_back(c);
    if (c == '"') quoted.push_back('"');
  }
  return quoted + "\"";
}

}  // namespace

std::string LiteralToString(const Value& value) {
  switch (value.type()) {
    case TypeId::kNull:
      return "NULL";
    case TypeId::kBool:
      return value.bool_value() ? "TRUE" : "FALSE";
    case TypeId::kInt:
      return std::to_string(value.int_value());
    case TypeId::kFloat: {
      // Not a number and the infinities as PostgreSQL spells them, which a
      // float column takes.
      const double f = value.float_value();
      if (std::isnan(f)) return "'NaN'";
      if (std::isinf(f)) return f > 0 ? "'Infinity'" : "'-Infinity'";
      std::array<char, 64> buffer;
      auto [end, ec] =
          std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.float_value());
      std::string text(buffer.data(), end);
      // Keep it a float literal when read back: 1 would be an integer.
      if (text.find_first_of(".e") == std::string::npos) text += ".0";
      return text;
    }
    case TypeId::kText: {
      std::string quoted = "'";
      for (char c : value.text_value()) {
        quoted.push_back(c);
        if (c == '\'') quoted.push_back('\'');
      }
      return quoted + "'";
    }
  }
  return "NULL";
}

namespace {

std::string ExprText(const Expr& expr, bool qualified) {
  auto operand = [&](size_t i) { return ExprText(*expr.operands[i], qualified); };
  const std::string not_word = expr.negated ? " NOT" : "";
  switch (expr.kind) {
    case ExprKind::kLiteral:
      return LiteralToString(expr.literal);
    case ExprKind::kColumn:
      return (expr.table.empty() || !qualified ? "" : QuoteName(expr.table) + ".") +
             QuoteName(expr.column);
    case ExprKind::kUnary: {
      std::string inner = operand(0);
      // A literal operand keeps its parentheses, else -(5) would read back
      // as the literal -5.
      if (expr.operands[0]->kind == ExprKind::kLiteral) inner = "(" + inner + ")";
      static constexpr std::array<std::string_view, 3> kSpellings = {"(- ", "(NOT ", "(+ "};
      return std::string(kSpellings[static_cast<size_t>(expr.unary_op)]) + inner + ")";
    }
    case ExprKind::kBinary: {
      static constexpr std::array<std::string_view, 13> kSpellings = {
          "+", "-", "*", "/", "%", "=", "<>", "<", "<=", ">", ">=", "AND", "OR"};
      return "(" + operand(0) + " " + std::string(kSpellings[static_cast<size_t>(expr.binary_op)]) +
             " " + operand(1) + ")";
    }
    case ExprKind::kIsNull:
      return "(" + operand(0) + " IS" + not_word + " NULL)";
    case ExprKind::kInList: {
      std::string text = "(" + operand(0) + not_word + " IN (";
      for (size_t i = 1; i < expr.operands.size(); ++i) {
        if (i > 1) text += ", ";
        text += operand(i);
      }
      return text + "))";
    }
    case ExprKind::kBetween:
      return "(" + operand(0) + not_word + " BETWEEN " + operand(1) + " AND " + operand(2) + ")";
    case ExprKind::kLike:
      return "(" + operand(0) + not_word + " LIKE " + operand(1) + ")";
    case ExprKind::kFunction: {
      std::string text = std::string(ScalarFuncName(expr.function)) + "(";
      for (size_t i = 0; i < expr.operands.size(); ++i) {
        if (i > 0) text += ", ";
        text += operand(i);
      }
      return text + ")";
    }
    case ExprKind::kCase: {
      std::string text = "CASE";
      size_t i = 0;
      if (expr.case_operand) text += " " + operand(i++);
      const size_t branches_end = expr.operands.size() - (expr.case_else ? 1 : 0);
      for (; i + 1 < branches_end; i += 2) {
        text += " WHEN " + operand(i) + " THEN " + operand(i + 1);
      }
      if (expr.case_else) text += " ELSE " + operand(expr.operands.size() - 1);
      return text + " END";
    }
    case ExprKind::kCast: {
      std::string type;
      switch (expr.cast_type) {
        case TypeId::kInt:
          type = "bigint";
          break;
        case TypeId::kFloat:
          type = "double precision";
          break;
        case TypeId::kBool:
          type = "boolean";
          break;
        default:
          type =
              expr.cast_length >= 0 ? "varchar(" + std::to_string(expr.cast_length) + ")" : "text";
          break;
      }
      return "CAST(" + operand(0) + " AS " + type + ")";
    }
    case ExprKind::kAggregate: {
      static constexpr std::array<std::string_view, 5> kNames = {"count", "sum", "min", "max",
                                                                 "avg"};
      return std::string(kNames[static_cast<size_t>(expr.aggregate)]) + "(" +
             (expr.distinct ? "DISTINCT " : "") + (expr.operands.empty() ? "*" : operand(0)) + ")" +
             (expr.filter == nullptr ? ""
                                     : " FILTER (WHERE " + ExprText(*expr.filter, qualified) + ")");
    }
  }
  return "?";
}

}  // namespace

std::string_view ScalarFuncName(ScalarFunc function) {
  switch (function) {
    case ScalarFunc::kCoalesce:
      return "coalesce";
    case ScalarFunc::kNullif:
      return "nullif";
    case ScalarFunc::kAbs:
      return "abs";
  }
  return "?";
}

std::string ExprToString(const Expr& expr) { return ExprText(expr, true); }

std::string ExprToUnqualifiedString(const Expr& expr) { return ExprText(expr, false); }

}  // namespace mvdb::sql
