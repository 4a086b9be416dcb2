// The planner (executor.h): how a statement reaches its rows, from the
// conjuncts of its WHERE that compare key or index columns with constants.
//
// The path only has to hold every row the WHERE keeps, since the WHERE is
// evaluated on each row it yields; but a path that holds too few rows
// gives a wrong answer. So the bounds of `column op constant` come from
// CompareSql (sql/compare.h), the very comparison the WHERE is evaluated
// with: a constant of another type than the column (9007199254740993
// against a double precision key, 2.5 against a bigint key) is never
// converted here by a rule of the planner's own.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sql/compare.h"
#include "sql/executor.h"
#include "sql/key_codec.h"

namespace mvdb::sql {
namespace {

// The smallest key greater than every key starting with `prefix`, or
// nullopt when there is none (all 0xff).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// The table column `expr` names, or -1. +x is x for a number column (the
// sqllogictest corpus writes WHERE + col0 > 5).
int ColumnOf(const Expr& expr, const TableSchema& schema, std::string_view qualifier) {
  if (expr.kind == ExprKind::kUnary && expr.unary_op == UnaryOp::kPlus) {
    const int column = ColumnOf(*expr.operands[0], schema, qualifier);
    if (column < 0) return -1;
    const TypeId type = schema.columns[column].type;
    return type == TypeId::kInt || type == TypeId::kFloat ? column : -1;
  }
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

// The first index in [first, last] where `holds` is true, for a predicate
// that is false up to some index and true from there on; nullopt when it is
// false everywhere. 64 steps at most.
template <typename Predicate>
std::optional<uint64_t> FirstTrue(uint64_t first, uint64_t last, const Predicate& holds) {
  if (!holds(last)) return std::nullopt;
  while (first < last) {
    const uint64_t middle = first + (last - first) / 2;
    if (holds(middle)) {
      last = middle;
    } else {
      first = middle + 1;
    }
  }
  return first;
}

// The values of a bigint or double precision column numbered in their key
// order: index u is the u-th value, so a comparison with a constant is
// false-then-true along the indexes and its boundary can be searched for.
struct NumberDomain {
  uint64_t first = 0;
  uint64_t last = 0;
  bool is_float = false;

  static constexpr uint64_t kSignBit = uint64_t{1} << 63;
  // Doubles from -Infinity to +Infinity in the order of their key bits
  // (encoding_format.md: negative numbers' bits inverted, the sign bit set
  // on the others), then NaN as the last index.
  static constexpr uint64_t kMinusInfinity = ~uint64_t{0xFFF0000000000000};
  static constexpr uint64_t kNaN = uint64_t{0xFFF0000000000000} + 1;

  static NumberDomain For(TypeId type) {
    if (type == TypeId::kInt) return NumberDomain{0, ~uint64_t{0}, false};
    return NumberDomain{kMinusInfinity, kNaN, true};
  }

  Value At(uint64_t u) const {
    if (!is_float) return Value::Int(static_cast<int64_t>(u ^ kSignBit));
    if (u == kNaN) return Value::Float(std::numeric_limits<double>::quiet_NaN());
    return Value::Float(std::bit_cast<double>((u & kSignBit) != 0 ? u & ~kSignBit : ~u));
  }
};

std::string EncodeKey(const Value& value) {
  std::string encoded;
  AppendKey(value, false, &encoded);
  return encoded;
}

// What `column op constant` leaves of a key column's values, as bounds on
// their encoded keys (every key whose first value is v starts with
// AppendKey(v)).
struct KeyBounds {
  bool empty = false;                // no value of the column satisfies it
  std::optional<std::string> lower;  // inclusive
  std::optional<std::string> upper;  // exclusive
  std::optional<Value> point;        // kEqual: the one key value it allows
};

// The bounds of `column op constant` for a column of type `type`, derived
// from CompareSql itself, the comparison the WHERE is evaluated with, so
// the path holds exactly the rows the filter keeps (NULLs aside, which the
// filter drops): for bigint and double precision the boundaries are
// searched for with it, so a constant of another numeric type needs no
// conversion rule of its own here. nullopt when the planner cannot use the
// conjunct (a non-constant, NULL, types SQL does not compare).
std::optional<KeyBounds> BoundsFor(TypeId type, BinaryOp op, const Expr& constant_expr) {
  const std::optional<Comparand> constant = ConstantComparand(constant_expr, type);
  if (!constant.has_value()) return std::nullopt;
  // The keys where the column's values start to compare >= and > the
  // constant (nullopt: past every value), and the equal ones' single key.
  std::optional<std::string> ge;
  std::optional<std::string> gt;
  std::optional<Value> point;
  if (type == TypeId::kInt || type == TypeId::kFloat) {
    const NumberDomain domain = NumberDomain::For(type);
    SqlResult<int> probe = CompareSql("=", Comparand{domain.At(domain.first), {}}, *constant);
    if (!probe.ok()) return std::nullopt;
    const auto order = [&](uint64_t u) {
      SqlResult<int> result = CompareSql("=", Comparand{domain.At(u), {}}, *constant);
      return result.ok() ? result.value() : 0;  // cannot fail once the probe did not
    };
    const std::optional<uint64_t> first_ge =
        FirstTrue(domain.first, domain.last, [&](uint64_t u) { return order(u) >= 0; });
    const std::optional<uint64_t> first_gt =
        FirstTrue(domain.first, domain.last, [&](uint64_t u) { return order(u) > 0; });
    if (first_ge.has_value()) ge = EncodeKey(domain.At(*first_ge));
    if (first_gt.has_value()) gt = EncodeKey(domain.At(*first_gt));
    if (first_ge.has_value() && order(*first_ge) == 0) {
      // Equal values from *first_ge to the one before *first_gt: a point
      // when they all have one key (a double's -0 and 0 do).
      const uint64_t last_equal = first_gt.has_value() ? *first_gt - 1 : domain.last;
      if (EncodeKey(domain.At(last_equal)) == *ge) point = domain.At(*first_ge);
    }
  } else {
    // Booleans and text compare only with their own type, in key order.
    if (constant->value.type() != type) return std::nullopt;
    ge = EncodeKey(constant->value);
    gt = PrefixSuccessor(*ge);
    point = constant->value;
  }
  KeyBounds bounds;
  switch (op) {
    case BinaryOp::kEqual:
      bounds.empty = !ge.has_value() || ge == gt;
      bounds.lower = ge;
      bounds.upper = gt;
      if (!bounds.empty) bounds.point = point;
      break;
    case BinaryOp::kLess:
      bounds.upper = ge;
      break;
    case BinaryOp::kLessEqual:
      bounds.upper = gt;
      break;
    case BinaryOp::kGreater:
      bounds.empty = !gt.has_value();
      bounds.lower = gt;
      break;
    case BinaryOp::kGreaterEqual:
      bounds.empty = !ge.has_value();
      bounds.lower = ge;
      break;
    default:
      return std::nullopt;
  }
  return bounds;
}

// For each of `columns`, the constant a conjunct `column = constant` fixes
// it to, if any.
std::vector<std::optional<Value>> EqualConstants(const std::vector<const Expr*>& conjuncts,
                                                 const TableSchema& schema,
                                                 std::string_view qualifier,
                                                 const std::vector<int>& columns) {
  std::vector<std::optional<Value>> equal(columns.size());
  for (const Expr* conjunct : conjuncts) {
    if (conjunct->kind != ExprKind::kBinary || conjunct->binary_op != BinaryOp::kEqual) continue;
    for (int side = 0; side < 2; ++side) {
      const int column = ColumnOf(*conjunct->operands[side], schema, qualifier);
      for (size_t k = 0; k < columns.size(); ++k) {
        if (column != columns[k] || equal[k].has_value()) continue;
        const std::optional<KeyBounds> bounds =
            BoundsFor(schema.columns[column].type, BinaryOp::kEqual, *conjunct->operands[1 - side]);
        if (bounds.has_value()) equal[k] = bounds->point;
      }
    }
  }
  return equal;
}

bool AllFixed(const std::vector<std::optional<Value>>& equal) {
  return std::all_of(equal.begin(), equal.end(), [](const auto& v) { return v.has_value(); });
}

// Bounds on the keys whose first encoded value is `column`'s, from the
// conjuncts comparing that column with constants; false when there are none.
bool RangeOnColumn(const std::vector<const Expr*>& conjuncts, const TableSchema& schema,
                   std::string_view qualifier, int column, AccessPath* path) {
  const TypeId type = schema.columns[column].type;
  bool empty = false;
  const auto tighten = [&](const std::optional<KeyBounds>& bounds) {
    if (!bounds.has_value()) return false;
    empty = empty || bounds->empty;
    if (bounds->lower.has_value() && (!path->lower.has_value() || *bounds->lower > *path->lower)) {
      path->lower = bounds->lower;
    }
    if (bounds->upper.has_value() && (!path->upper.has_value() || *bounds->upper < *path->upper)) {
      path->upper = bounds->upper;
    }
    return true;
  };
  bool ranged = false;
  for (const Expr* conjunct : conjuncts) {
    if (conjunct->kind == ExprKind::kBinary) {
      for (int side = 0; side < 2; ++side) {
        if (ColumnOf(*conjunct->operands[side], schema, qualifier) != column) continue;
        const BinaryOp op = side == 0 ? conjunct->binary_op : Mirror(conjunct->binary_op);
        if (op != BinaryOp::kEqual && op != BinaryOp::kLess && op != BinaryOp::kLessEqual &&
            op != BinaryOp::kGreater && op != BinaryOp::kGreaterEqual) {
          continue;
        }
        if (tighten(BoundsFor(type, op, *conjunct->operands[1 - side]))) ranged = true;
      }
    } else if (conjunct->kind == ExprKind::kBetween && !conjunct->negated &&
               ColumnOf(*conjunct->operands[0], schema, qualifier) == column) {
      const bool low = tighten(BoundsFor(type, BinaryOp::kGreaterEqual, *conjunct->operands[1]));
      const bool high = tighten(BoundsFor(type, BinaryOp::kLessEqual, *conjunct->operands[2]));
      ranged = ranged || low || high;
    }
  }
  if (empty) {
    // No value satisfies every conjunct: a range no key is in.
    path->lower = std::string();
    path->upper = std::string();
  }
  return ranged;
}

// The best index whose every column WHERE fixes (a unique one, then the one
// with most columns), as an index scan of the prefix of those values.
std::optional<AccessPath> IndexPointPath(const std::vector<const Expr*>& conjuncts,
                                         const TableSchema& schema, std::string_view qualifier) {
  const IndexSchema* best = nullptr;
  std::string best_prefix;
  for (const IndexSchema& index : schema.indexes) {
    if (!index.ready) continue;
    const std::vector<std::optional<Value>> equal =
        EqualConstants(conjuncts, schema, qualifier, index.columns);
    if (!AllFixed(equal)) continue;
    if (best != nullptr && std::make_pair(best->unique, best->columns.size()) >=
                               std::make_pair(index.unique, index.columns.size())) {
      continue;
    }
    best = &index;
    best_prefix.clear();
    for (const auto& value : equal) AppendKey(*value, false, &best_prefix);
  }
  if (best == nullptr) return std::nullopt;
  AccessPath path;
  path.kind = AccessPath::Kind::kIndexScan;
  path.index = best->name;
  path.upper = PrefixSuccessor(best_prefix);
  path.lower = std::move(best_prefix);
  return path;
}

// The first index with a range on its first column.
std::optional<AccessPath> IndexRangePath(const std::vector<const Expr*>& conjuncts,
                                         const TableSchema& schema, std::string_view qualifier) {
  for (const IndexSchema& index : schema.indexes) {
    if (!index.ready) continue;
    AccessPath path;
    if (!RangeOnColumn(conjuncts, schema, qualifier, index.columns[0], &path)) continue;
    path.kind = AccessPath::Kind::kIndexScan;
    path.index = index.name;
    return path;
  }
  return std::nullopt;
}

}  // namespace

AccessPath Executor::PlanAccess(const TableSchema& schema, std::string_view qualifier,
                                const Expr* where) {
  AccessPath path;
  std::vector<const Expr*> conjuncts;
  Conjuncts(where, &conjuncts);
  if (!schema.has_primary_key()) {
    if (auto index = IndexPointPath(conjuncts, schema, qualifier)) return *index;
    if (auto index = IndexRangePath(conjuncts, schema, qualifier)) return *index;
    return path;
  }
  const std::vector<KeyColumn> key_columns = schema.KeyColumns();
  const int first = schema.primary_key[0];
  const TypeId first_type = schema.columns[first].type;

  const std::vector<std::optional<Value>> equal =
      EqualConstants(conjuncts, schema, qualifier, schema.primary_key);
  std::vector<Value> in_list;  // one-column key: the constants of `key IN (...)`
  bool has_in_list = false;
  for (const Expr* conjunct : conjuncts) {
    if (conjunct->kind == ExprKind::kInList && !conjunct->negated &&
        schema.primary_key.size() == 1 && !has_in_list &&
        ColumnOf(*conjunct->operands[0], schema, qualifier) == first) {
      std::vector<Value> values;
      for (size_t i = 1; i < conjunct->operands.size(); ++i) {
        const Expr& item = *conjunct->operands[i];
        const std::optional<KeyBounds> bounds = BoundsFor(first_type, BinaryOp::kEqual, item);
        // A NULL, or a constant no key value equals (2.5 for a bigint),
        // never matches; any other unusable constant spoils the list.
        if ((bounds.has_value() && bounds->empty) ||
            (item.kind == ExprKind::kLiteral && item.literal.is_null())) {
          has_in_list = true;
          continue;
        }
        if (!bounds.has_value() || !bounds->point.has_value()) {
          values.clear();
          has_in_list = false;
          break;
        }
        values.push_back(*bounds->point);
        has_in_list = true;
      }
      if (has_in_list) in_list = std::move(values);
    }
  }
  const bool all_equal = AllFixed(equal);
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
  if (auto index = IndexPointPath(conjuncts, schema, qualifier)) return *index;
  if (RangeOnColumn(conjuncts, schema, qualifier, first, &path)) {
    path.kind = AccessPath::Kind::kRangeScan;
    return path;
  }
  if (auto index = IndexRangePath(conjuncts, schema, qualifier)) return *index;
  return AccessPath{};
}

std::string Executor::DescribeAccess(const AccessPath& path, std::string_view table) {
  switch (path.kind) {
    case AccessPath::Kind::kPointLookup:
      return "Primary key point lookup on " + std::string(table);
    case AccessPath::Kind::kRangeScan:
      return "Primary key range scan on " + std::string(table);
    case AccessPath::Kind::kIndexScan:
      return "Index scan using " + path.index + " on " + std::string(table);
    case AccessPath::Kind::kFullScan:
      break;
  }
  return "Full scan on " + std::string(table);
}

}  // namespace mvdb::sql
