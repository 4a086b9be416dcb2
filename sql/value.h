// Value: one SQL value of the subset mvdb speaks (docs/sql.md):
// NULL, boolean, 64-bit integer, double precision float, text.
//
// Integers are exact and overflow is an error (22003), floats follow IEEE
// 754 with PostgreSQL's total order for sorting (NaN greater than every
// number, -0 equal to 0), text compares byte-wise (the C collation).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mvdb::sql {

// Column types. kNull is the type of the NULL literal only.
enum class TypeId : uint8_t { kNull = 0, kBool = 1, kInt = 2, kFloat = 3, kText = 4 };

// "boolean", "bigint", "double precision", "text" (PostgreSQL's names), or
// "unknown" for kNull.
std::string_view TypeName(TypeId type);

class Value {
 public:
  Value() = default;  // NULL
  static Value Null() { return Value(); }
  static Value Bool(bool b) { return Value(Rep(std::in_place_index<1>, b)); }
  static Value Int(int64_t i) { return Value(Rep(std::in_place_index<2>, i)); }
  static Value Float(double d) { return Value(Rep(std::in_place_index<3>, d)); }
  static Value Text(std::string s) { return Value(Rep(std::in_place_index<4>, std::move(s))); }

  TypeId type() const { return static_cast<TypeId>(rep_.index()); }
  bool is_null() const { return rep_.index() == 0; }
  // REQUIRES: the matching type().
  bool bool_value() const { return std::get<1>(rep_); }
  int64_t int_value() const { return std::get<2>(rep_); }
  double float_value() const { return std::get<3>(rep_); }
  const std::string& text_value() const { return std::get<4>(rep_); }

  friend bool operator==(const Value& a, const Value& b) { return a.rep_ == b.rep_; }

 private:
  using Rep = std::variant<std::monostate, bool, int64_t, double, std::string>;
  explicit Value(Rep rep) : rep_(std::move(rep)) {}
  Rep rep_;
};

}  // namespace mvdb::sql
