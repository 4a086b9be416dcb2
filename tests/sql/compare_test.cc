// CompareSql and the numeric literal helpers (sql/compare.h): PostgreSQL's
// casts between bigint, double precision and numeric literals. The
// expectations are PostgreSQL 15's answers to the same comparisons
// (SELECT 9007199254740993 = 9007199254740992::float8 and so on, in psql).
#include "sql/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mvdb::sql {
namespace {

int Order(const Comparand& a, const Comparand& b) {
  SqlResult<int> order = CompareSql("=", a, b);
  EXPECT_TRUE(order.ok());
  return order.ok() ? order.value() : 99;
}

Comparand Int(int64_t i) { return Comparand{Value::Int(i), {}}; }
Comparand Float(double d) { return Comparand{Value::Float(d), {}}; }
// A numeric literal: the nearest double and the exact text.
Comparand Numeric(std::string_view text) {
  return Comparand{Value::Float(std::stod(std::string(text))), text};
}

TEST(CompareSqlTest, BigintAgainstDoubleIsCastToDouble) {
  constexpr int64_t kTwo53 = int64_t{1} << 53;
  EXPECT_EQ(Order(Int(kTwo53 + 1), Float(9007199254740992.0)), 0);
  EXPECT_EQ(Order(Float(9007199254740992.0), Int(kTwo53 + 1)), 0);
  EXPECT_EQ(Order(Int(std::numeric_limits<int64_t>::max()), Float(9223372036854775808.0)), 0);
  EXPECT_LT(Order(Int(1), Float(std::nan(""))), 0);
  EXPECT_LT(Order(Int(std::numeric_limits<int64_t>::max()),
                  Float(std::numeric_limits<double>::infinity())),
            0);
  EXPECT_EQ(Order(Int(0), Float(-0.0)), 0);
}

TEST(CompareSqlTest, NumericLiteralAgainstBigintIsExact) {
  constexpr int64_t kTwo53 = int64_t{1} << 53;
  EXPECT_EQ(Order(Int(kTwo53 + 1), Numeric("9007199254740993.0")), 0);
  EXPECT_LT(Order(Int(kTwo53), Numeric("9007199254740993.0")), 0);
  EXPECT_GT(Order(Numeric("9007199254740993.0"), Int(kTwo53)), 0);
  EXPECT_LT(Order(Int(2), Numeric("2.5")), 0);
  EXPECT_GT(Order(Int(3), Numeric("2.5")), 0);
  EXPECT_EQ(Order(Int(1000), Numeric("1e3")), 0);
  EXPECT_EQ(Order(Int(0), Numeric("-0.0")), 0);
  EXPECT_LT(Order(Int(std::numeric_limits<int64_t>::max()), Numeric("9223372036854775807.5")), 0);
  EXPECT_GT(Order(Int(std::numeric_limits<int64_t>::min()), Numeric("-9223372036854775808.5")), 0);
  EXPECT_LT(Order(Int(std::numeric_limits<int64_t>::max()), Numeric("1e19")), 0);
  EXPECT_GT(Order(Int(std::numeric_limits<int64_t>::min()), Numeric("-1e19")), 0);
  EXPECT_LT(Order(Int(0), Numeric("1e-300")), 0);
  // Two numeric literals: exact too.
  EXPECT_GT(Order(Numeric("9007199254740993.0"), Numeric("9007199254740992.0")), 0);
  EXPECT_EQ(Order(Numeric("1.50"), Numeric("15e-1")), 0);
}

TEST(CompareSqlTest, NumericLiteralAgainstDoubleIsItsNearestDouble) {
  EXPECT_EQ(Order(Float(9007199254740992.0), Numeric("9007199254740993.0")), 0);
  EXPECT_EQ(Order(Float(0.1), Numeric("0.1")), 0);
  EXPECT_GT(Order(Float(std::nan("")), Numeric("1e308")), 0);
}

TEST(CompareSqlTest, OtherMixesAreNotComparable) {
  SqlResult<int> order = CompareSql("<", Int(1), Comparand{Value::Text("1"), {}});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.error().sqlstate, "42883");
  EXPECT_EQ(order.error().message, "operator does not exist: bigint < text");
  EXPECT_FALSE(CompareSql("=", Comparand{Value::Bool(true), {}}, Int(1)).ok());
}

TEST(CompareSqlTest, CompareIntWithDecimal) {
  EXPECT_EQ(CompareIntWithDecimal(5, "5"), 0);
  EXPECT_EQ(CompareIntWithDecimal(5, "+5.000"), 0);
  EXPECT_EQ(CompareIntWithDecimal(5, "0.5e1"), 0);
  EXPECT_EQ(CompareIntWithDecimal(-5, "-4.9"), -1);
  EXPECT_EQ(CompareIntWithDecimal(0, "0.000"), 0);
  EXPECT_EQ(CompareIntWithDecimal(1, "1e-999999999999999999999"), 1);
  EXPECT_EQ(CompareIntWithDecimal(1, "1e999999999999999999999"), -1);
  EXPECT_EQ(CompareIntWithDecimal(1, "1e"), std::nullopt);
  EXPECT_EQ(CompareIntWithDecimal(1, "."), std::nullopt);
  EXPECT_EQ(CompareIntWithDecimal(1, "1x"), std::nullopt);
}

TEST(CompareSqlTest, RoundNumericToBigintRoundsHalvesAwayFromZero) {
  EXPECT_EQ(RoundNumericToBigint("2.5"), 3);
  EXPECT_EQ(RoundNumericToBigint("-2.5"), -3);
  EXPECT_EQ(RoundNumericToBigint("2.49999"), 2);
  EXPECT_EQ(RoundNumericToBigint("0.5"), 1);
  EXPECT_EQ(RoundNumericToBigint("0.05"), 0);
  EXPECT_EQ(RoundNumericToBigint("-0.0"), 0);
  EXPECT_EQ(RoundNumericToBigint("1e3"), 1000);
  EXPECT_EQ(RoundNumericToBigint("9223372036854775807.4"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(RoundNumericToBigint("9223372036854775807.5"), std::nullopt);
  EXPECT_EQ(RoundNumericToBigint("-9223372036854775808.4"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(RoundNumericToBigint("-9223372036854775808.5"), std::nullopt);
  EXPECT_EQ(RoundNumericToBigint("1e19"), std::nullopt);
  EXPECT_EQ(RoundNumericToBigint("1e-400"), 0);
}

}  // namespace
}  // namespace mvdb::sql
