// SQL comparison with PostgreSQL's numeric casts (compare.h).
//
// A numeric literal is compared exactly through its text: Decimal below is
// just enough of a decimal number to order two of them, and an integer
// against one, without rounding.
#include "sql/compare.h"

#include <algorithm>
#include <optional>
#include <string>

#include "sql/key_codec.h"

namespace mvdb::sql {
namespace {

// The exponent of a literal saturates here: far beyond any double, so such
// a literal is still ordered right against every integer and every other
// literal a statement can hold.
constexpr int64_t kMaxExponent = int64_t{1} << 40;

// ±0.d1d2...dn × 10^point, with d1 and dn not zero; zero has no digits.
struct Decimal {
  bool negative = false;
  std::string digits;
  int64_t point = 0;
};

std::optional<Decimal> ParseDecimal(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  Decimal decimal;
  if (i < n && (text[i] == '-' || text[i] == '+')) decimal.negative = text[i++] == '-';
  std::string digits;
  int64_t integer_digits = 0;
  bool seen_point = false;
  for (; i < n; ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      if (!seen_point) ++integer_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (digits.empty()) return std::nullopt;
  int64_t exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < n && (text[i] == '-' || text[i] == '+')) negative_exponent = text[i++] == '-';
    if (i == n) return std::nullopt;
    for (; i < n && text[i] >= '0' && text[i] <= '9'; ++i) {
      exponent = std::min(kMaxExponent, exponent * 10 + (text[i] - '0'));
    }
    if (negative_exponent) exponent = -exponent;
  }
  if (i != n) return std::nullopt;
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Decimal{};  // zero, whatever its sign
  const size_t last = digits.find_last_not_of('0');
  decimal.digits = digits.substr(first, last + 1 - first);
  decimal.point = integer_digits - static_cast<int64_t>(first) + exponent;
  return decimal;
}

int Sign(const Decimal& d) {
  if (d.digits.empty()) return 0;
  return d.negative ? -1 : 1;
}

int CompareDecimals(const Decimal& a, const Decimal& b) {
  const int sa = Sign(a);
  const int sb = Sign(b);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  int magnitude = 0;
  if (a.point != b.point) {
    magnitude = a.point < b.point ? -1 : 1;
  } else {
    // Normalised digits: a prefix is the smaller number, as in string order.
    const int c = a.digits.compare(b.digits);
    magnitude = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return sa < 0 ? -magnitude : magnitude;
}

double AsDouble(const Value& v) {
  return v.type() == TypeId::kInt ? static_cast<double>(v.int_value()) : v.float_value();
}

}  // namespace

namespace {

// +x is x: the number literal under unary pluses (PostgreSQL's +1.5 is
// numeric too), else `expr` itself.
const Expr& UnderPlus(const Expr& expr) {
  const Expr* e = &expr;
  while (e->kind == ExprKind::kUnary && e->unary_op == UnaryOp::kPlus) e = e->operands[0].get();
  const bool number = e->kind == ExprKind::kLiteral &&
                      (e->literal.type() == TypeId::kInt || e->literal.type() == TypeId::kFloat);
  return number ? *e : expr;
}

}  // namespace

std::string_view NumericText(const Expr& expr) {
  const Expr& e = UnderPlus(expr);
  return e.kind == ExprKind::kLiteral ? std::string_view(e.numeric) : std::string_view();
}

std::optional<int64_t> RoundNumericToBigint(std::string_view decimal) {
  const std::optional<Decimal> d = ParseDecimal(decimal);
  if (!d.has_value()) return std::nullopt;
  if (d->digits.empty() || d->point < 0) return 0;  // |d| < 0.1
  if (d->point > 19) return std::nullopt;           // |d| >= 10^19
  unsigned __int128 magnitude = 0;
  const auto digit = [&](int64_t i) {
    return i < static_cast<int64_t>(d->digits.size()) ? d->digits[i] - '0' : 0;
  };
  for (int64_t i = 0; i < d->point; ++i) magnitude = magnitude * 10 + digit(i);
  if (digit(d->point) >= 5) magnitude += 1;
  const unsigned __int128 limit = (unsigned __int128){1} << 63;  // |INT64_MIN|
  if (magnitude > limit || (magnitude == limit && !d->negative)) return std::nullopt;
  if (d->negative) return static_cast<int64_t>(-static_cast<__int128>(magnitude));
  return static_cast<int64_t>(magnitude);
}

std::optional<int> CompareIntWithDecimal(int64_t i, std::string_view decimal) {
  const std::optional<Decimal> d = ParseDecimal(decimal);
  if (!d.has_value()) return std::nullopt;
  return CompareDecimals(*ParseDecimal(std::to_string(i)), *d);
}

std::optional<Comparand> ConstantComparand(const Expr& given, TypeId type) {
  const Expr& expr = UnderPlus(given);
  if (expr.kind != ExprKind::kLiteral || expr.literal.is_null()) return std::nullopt;
  if (expr.literal.type() == TypeId::kText && type != TypeId::kText && type != TypeId::kNull) {
    ColumnSchema column;  // no varchar length: a constant is read, not stored
    column.type = type;
    SqlResult<Value> read = CoerceToColumn(expr.literal, column);
    if (!read.ok()) return std::nullopt;
    return Comparand{std::move(read).value(), {}};
  }
  return Comparand{expr.literal, expr.numeric};
}

SqlResult<int> CompareSql(std::string_view op, const Comparand& a, const Comparand& b) {
  const TypeId ta = a.value.type();
  const TypeId tb = b.value.type();
  const bool a_numeric = ta == TypeId::kFloat && !a.numeric.empty();
  const bool b_numeric = tb == TypeId::kFloat && !b.numeric.empty();
  // Exact comparisons: a numeric literal against an integer or another
  // numeric literal (PostgreSQL compares them as numeric).
  if (a_numeric && b_numeric) {
    const std::optional<Decimal> x = ParseDecimal(a.numeric);
    const std::optional<Decimal> y = ParseDecimal(b.numeric);
    if (x.has_value() && y.has_value()) return CompareDecimals(*x, *y);
  } else if (ta == TypeId::kInt && b_numeric) {
    if (auto order = CompareIntWithDecimal(a.value.int_value(), b.numeric)) return *order;
  } else if (a_numeric && tb == TypeId::kInt) {
    if (auto order = CompareIntWithDecimal(b.value.int_value(), a.numeric)) return -*order;
  }
  if (ta == tb && ta != TypeId::kNull) return CompareValues(a.value, b.value);
  const auto is_number = [](TypeId t) { return t == TypeId::kInt || t == TypeId::kFloat; };
  if (is_number(ta) && is_number(tb)) {
    // bigint with double precision: the bigint becomes a double first.
    return CompareValues(Value::Float(AsDouble(a.value)), Value::Float(AsDouble(b.value)));
  }
  return OperatorDoesNotExist(op, ta, tb);
}

}  // namespace mvdb::sql
